//! Security required by a whole router (`ApiRouter::require`), served on 127.0.0.1: enforced
//! on every route — added before or after `require`, nested, undocumented, added after
//! `with_state` — answering exactly what the extractor answers in a handler, and documented
//! on every operation, AND'ed with the handler's own requirement; public routes stay public.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use warden::openapi::ApiRouter;
use warden::{
    ApiKeyHeader, ApiKeyScheme, Auth, Denied, Either, HttpBasic, OAuth2Bearer, OAuth2Flow,
    OAuth2Scheme, Principal, SecurityScopes, routes, scope,
};

struct Key;
impl ApiKeyScheme for Key {
    const SCHEME_NAME: &'static str = "ApiKey";
    const NAME: &'static str = "X-API-Key";
}

struct Oauth2;
impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
    const SCOPES: &'static [(&'static str, &'static str)] = &[("me", "Me"), ("items", "Items")];
}

scope!(Me = "me");
scope!(Items = "items");

/// Tokens and the scopes they grant.
#[derive(Clone)]
struct AppState {
    tokens: Arc<HashMap<&'static str, Vec<&'static str>>>,
}

fn state() -> AppState {
    AppState {
        tokens: Arc::new(HashMap::from([
            ("t-me", vec!["me"]),
            ("t-items", vec!["items"]),
            ("t-all", vec!["me", "items"]),
        ])),
    }
}

struct User {
    scopes: Vec<&'static str>,
}

impl Principal<AppState> for User {
    type Credentials = OAuth2Bearer<Oauth2>;

    async fn authenticate(
        bearer: OAuth2Bearer<Oauth2>,
        _: &SecurityScopes,
        state: &AppState,
    ) -> Result<Self, Denied> {
        match state.tokens.get(bearer.token.as_str()) {
            Some(scopes) => Ok(User {
                scopes: scopes.clone(),
            }),
            None => Err(Denied::InvalidCredentials),
        }
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(&scope)
    }
}

macro_rules! plain {
    ($($name:ident $path:literal;)*) => {
        $(
            #[utoipa::path(get, path = $path, responses((status = 200, description = "ok")))]
            async fn $name() -> &'static str {
                stringify!($name)
            }
        )*
    };
}

plain! {
    early "/early";
    late "/late";
    stats "/stats";
    nested_plain "/plain";
    after_state "/after-state";
    health "/health";
}

/// Explicitly public: `security: []`.
#[utoipa::path(get, path = "/open", security(), responses((status = 200, description = "ok")))]
async fn open() -> &'static str {
    "open"
}

/// Needs `items` on top of the router's `me`.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "ok")))]
async fn items(_: Auth<User, Items>) -> &'static str {
    "items"
}

/// The handler-level equivalent of the router's requirement, to compare answers with.
#[utoipa::path(get, path = "/reference", responses((status = 200, description = "ok")))]
async fn reference(_: Auth<User, Me>) -> &'static str {
    "reference"
}

/// `/health`, `/open`, `/reference` public; `/api/…` behind `Auth<User, Me>`, and
/// `/api/admin/…` also behind an API key.
fn api() -> ApiRouter {
    let state = state();
    let admin = ApiRouter::<AppState>::new()
        .routes(routes!(stats))
        .require::<ApiKeyHeader<Key>>(); // after its routes
    let plain = ApiRouter::<AppState>::new().routes(routes!(nested_plain));
    let protected = ApiRouter::<AppState>::new()
        .routes(routes!(early)) // before `require`
        .require_with_state::<Auth<User, Me>>(state.clone())
        .routes(routes!(late)) // after
        .routes(routes!(items))
        .route("/hidden", get(|| async { "hidden" })) // undocumented
        .nest("/admin", admin)
        .nest("/nested", plain)
        .with_state(state.clone())
        .routes(routes!(after_state)); // after `with_state`
    ApiRouter::<AppState>::new()
        .routes(routes!(health))
        .routes(routes!(open))
        .routes(routes!(reference))
        .with_state(state)
        .nest("/api", protected)
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn document(router: ApiRouter) -> Value {
    let (_, openapi) = router.split_for_parts();
    serde_json::to_value(openapi).unwrap()
}

/// Status, `WWW-Authenticate` values and body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    challenges: Vec<String>,
    body: String,
}

async fn call(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.text().await.unwrap();
    Answer {
        status,
        challenges,
        body,
    }
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn start(router: ApiRouter) -> Self {
        let (router, _) = router.split_for_parts();
        Self {
            base: serve(router).await,
            http: reqwest::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    async fn with_token(&self, path: &str, token: &str) -> Answer {
        call(self.get(path).bearer_auth(token)).await
    }
}

const PROTECTED: [&str; 6] = [
    "/api/early",
    "/api/late",
    "/api/hidden",
    "/api/nested/plain",
    "/api/after-state",
    "/api/admin/stats",
];

#[tokio::test]
async fn every_route_of_the_router_is_enforced() {
    let c = Client::start(api()).await;
    for path in PROTECTED.into_iter().chain(["/api/items"]) {
        let a = call(c.get(path)).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.challenges, ["Bearer"], "{path}");
        assert_eq!(a.body, r#"{"detail":"Not authenticated"}"#, "{path}");
    }
    for path in &PROTECTED[..5] {
        let a = c.with_token(path, "t-me").await;
        assert_eq!(a.status, 200, "{path}");
    }
    assert_eq!(c.with_token("/api/hidden", "t-me").await.body, "hidden");
}

#[tokio::test]
async fn public_routes_stay_public() {
    let c = Client::start(api()).await;
    for path in ["/health", "/open"] {
        assert_eq!(call(c.get(path)).await.status, 200, "{path}");
    }
    // The fallback is not guarded (axum's route_layer): an unknown path stays 404.
    assert_eq!(call(c.get("/api/nowhere")).await.status, 404);
    // A wrong method on a protected path: 401 first, then 405.
    let post = |token: Option<&str>| {
        let r = c.http.post(format!("{}/api/late", c.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    };
    assert_eq!(call(post(None)).await.status, 401);
    assert_eq!(call(post(Some("t-me"))).await.status, 405);
}

#[tokio::test]
async fn the_router_answers_exactly_as_the_handler_extractor() {
    let c = Client::start(api()).await;
    let cases: [(&str, Option<&str>); 5] = [
        ("nothing", None),
        ("malformed", Some("Bearer a b")),
        ("unknown token", Some("Bearer nope")),
        ("missing scope", Some("Bearer t-items")),
        ("granted", Some("Bearer t-me")),
    ];
    for (case, authorization) in cases {
        let request = |path: &str| match authorization {
            Some(value) => c.get(path).header("authorization", value),
            None => c.get(path),
        };
        let router = call(request("/api/late")).await;
        let handler = call(request("/reference")).await;
        assert_eq!(router.status, handler.status, "{case}");
        assert_eq!(router.challenges, handler.challenges, "{case}");
        if router.status != 200 {
            assert_eq!(router.body, handler.body, "{case}");
        }
    }
    let a = c.with_token("/api/late", "t-items").await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.challenges,
        [r#"Bearer error="insufficient_scope", scope="me""#]
    );
    let a = c.with_token("/api/late", "nope").await;
    assert_eq!(a.status, 401);
    assert_eq!(a.challenges, [r#"Bearer error="invalid_token""#]);
    let a = call(c.get("/api/late").header("authorization", "Bearer a b")).await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn router_and_handler_requirements_are_both_checked() {
    let c = Client::start(api()).await;
    // The router's `me` first, then the handler's `items`.
    let a = c.with_token("/api/items", "t-items").await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.challenges,
        [r#"Bearer error="insufficient_scope", scope="me""#]
    );
    let a = c.with_token("/api/items", "t-me").await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.challenges,
        [r#"Bearer error="insufficient_scope", scope="items""#]
    );
    assert_eq!(c.with_token("/api/items", "t-all").await.status, 200);

    // Nested: the outer router's requirement runs first, then the nested router's own.
    let a = call(c.get("/api/admin/stats").header("x-api-key", "k")).await;
    assert_eq!((a.status, a.challenges), (401, vec!["Bearer".to_owned()]));
    let a = c.with_token("/api/admin/stats", "t-me").await;
    assert_eq!((a.status, a.challenges), (401, vec!["APIKey".to_owned()]));
    let a = call(
        c.get("/api/admin/stats")
            .bearer_auth("t-me")
            .header("x-api-key", "k"),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "stats"));
}

#[test]
fn every_operation_documents_the_requirement() {
    let doc = document(api());
    let security = |path: &str| doc["paths"][path]["get"]["security"].clone();
    for path in [
        "/api/early",
        "/api/late",
        "/api/nested/plain",
        "/api/after-state",
    ] {
        assert_eq!(security(path), json!([{"OAuth2": ["me"]}]), "{path}");
    }
    // Scopes of one scheme merged, the router's first.
    assert_eq!(security("/api/items"), json!([{"OAuth2": ["me", "items"]}]));
    // AND with the nested router's own requirement: one requirement object.
    assert_eq!(
        security("/api/admin/stats"),
        json!([{"ApiKey": [], "OAuth2": ["me"]}])
    );
    assert_eq!(security("/reference"), json!([{"OAuth2": ["me"]}]));
    // Public: no `security` at all, or the explicit empty list the handler declared.
    assert!(doc["paths"]["/health"]["get"].get("security").is_none());
    assert_eq!(security("/open"), json!([]));
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        let responses = &item["get"]["responses"];
        assert!(responses["401"].is_object(), "{path}: 401 documented");
        assert!(responses["403"].is_object(), "{path}: 403 documented");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(
        schemes.keys().collect::<Vec<_>>(),
        ["ApiKey", "OAuth2"],
        "the required schemes are declared"
    );
}

#[utoipa::path(get, path = "/basic", responses((status = 200, description = "ok")))]
async fn basic(_: HttpBasic) -> &'static str {
    "basic"
}

#[tokio::test]
async fn merging_into_a_protected_router_protects() {
    let public = ApiRouter::new().routes(routes!(health));
    let router = || {
        ApiRouter::new()
            .require::<ApiKeyHeader<Key>>()
            .merge(ApiRouter::new().routes(routes!(health)))
    };
    let doc = document(router());
    assert_eq!(
        doc["paths"]["/health"]["get"]["security"],
        json!([{"ApiKey": []}])
    );
    let c = Client::start(router()).await;
    assert_eq!(call(c.get("/health")).await.status, 401);
    assert_eq!(
        call(c.get("/health").header("x-api-key", "k")).await.status,
        200
    );
    // The other way round, the public router stays public.
    let doc = document(public.merge(ApiRouter::new().require::<ApiKeyHeader<Key>>()));
    assert!(doc["paths"]["/health"]["get"].get("security").is_none());
}

#[tokio::test]
async fn order_of_several_requirements() {
    // A tuple: checked in order, one requirement object.
    let tuple = || {
        ApiRouter::new()
            .require::<(ApiKeyHeader<Key>, HttpBasic)>()
            .routes(routes!(health))
    };
    assert_eq!(
        document(tuple())["paths"]["/health"]["get"]["security"],
        json!([{"ApiKey": [], "HTTPBasic": []}])
    );
    let c = Client::start(tuple()).await;
    assert_eq!(call(c.get("/health")).await.challenges, ["APIKey"]);
    let a = call(c.get("/health").header("x-api-key", "k")).await;
    assert_eq!(a.challenges, [r#"Basic charset="UTF-8""#]);
    let a = call(
        c.get("/health")
            .header("x-api-key", "k")
            .basic_auth("u", Some("p")),
    )
    .await;
    assert_eq!(a.status, 200);

    // Two calls: like layers, the last one runs first.
    let layered = ApiRouter::new()
        .routes(routes!(health))
        .require::<ApiKeyHeader<Key>>()
        .require::<HttpBasic>();
    let c = Client::start(layered).await;
    assert_eq!(
        call(c.get("/health")).await.challenges,
        [r#"Basic charset="UTF-8""#]
    );
}

#[tokio::test]
async fn optional_and_alternative_requirements() {
    // Optional key, then the handler's own Basic.
    let optional = || {
        ApiRouter::new()
            .require::<Option<ApiKeyHeader<Key>>>()
            .routes(routes!(basic))
    };
    assert_eq!(
        document(optional())["paths"]["/basic"]["get"]["security"],
        json!([{"ApiKey": [], "HTTPBasic": []}, {"HTTPBasic": []}])
    );
    let c = Client::start(optional()).await;
    let a = call(c.get("/basic").basic_auth("u", Some("p"))).await;
    assert_eq!(
        a.status, 200,
        "no key: the optional requirement lets it through"
    );
    let a = call(
        c.get("/basic")
            .basic_auth("u", Some("p"))
            .header("x-api-key", "k".repeat(2000)),
    )
    .await;
    assert_eq!(
        (a.status, a.challenges),
        (401, vec!["APIKey".to_owned()]),
        "a malformed key is still refused"
    );

    // Either: alternatives, each AND'ed with the handler's.
    let either = ApiRouter::new()
        .require::<Either<ApiKeyHeader<Key>, HttpBasic>>()
        .routes(routes!(health));
    assert_eq!(
        document(either)["paths"]["/health"]["get"]["security"],
        json!([{"ApiKey": []}, {"HTTPBasic": []}])
    );
}

struct OtherKey;
impl ApiKeyScheme for OtherKey {
    const SCHEME_NAME: &'static str = "ApiKey";
    const NAME: &'static str = "X-Other-Key";
}

#[utoipa::path(get, path = "/key", responses((status = 200, description = "ok")))]
async fn key(_: ApiKeyHeader<Key>) {}

#[test]
#[should_panic(expected = "declared twice")]
fn a_required_scheme_cannot_reuse_a_name() {
    let _ = ApiRouter::<()>::new()
        .routes(routes!(key))
        .require::<ApiKeyHeader<OtherKey>>();
}
