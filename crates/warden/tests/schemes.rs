//! Every scheme extractor and combinator, served on 127.0.0.1 and documented: the cases the
//! examples do not cover (Digest, OpenID Connect, the authorization-code and
//! client-credentials flows, AND of two schemes, optional credentials, scheme-name clashes).

use axum::Router;
use serde_json::{Value, json};
use warden::openapi::{ApiRouter, Undocumented};
use warden::{
    ApiKeyHeader, ApiKeyScheme, AuthError, BearerScheme, Either, HttpBasic, HttpBearer, HttpDigest,
    OAuth2Bearer, OAuth2Flow, OAuth2Scheme, OpenIdConnect, OpenIdConnectScheme, routes,
};

struct Partner;
impl ApiKeyScheme for Partner {
    const SCHEME_NAME: &'static str = "PartnerKey";
    const NAME: &'static str = "X-Partner-Key";
}

struct Jwt;
impl BearerScheme for Jwt {
    const SCHEME_NAME: &'static str = "JWT";
    const BEARER_FORMAT: Option<&'static str> = Some("JWT");
    const DESCRIPTION: Option<&'static str> = Some("An access token");
}

struct Corporate;
impl OpenIdConnectScheme for Corporate {
    const SCHEME_NAME: &'static str = "Corporate";
    const URL: &'static str = "https://id.example.com/.well-known/openid-configuration";
}

struct Machines;
impl OAuth2Scheme for Machines {
    const SCHEME_NAME: &'static str = "Machines";
    const FLOWS: &'static [OAuth2Flow] = &[
        OAuth2Flow::authorization_code(
            "https://id.example.com/authorize",
            "https://id.example.com/token",
        )
        .with_refresh_url("https://id.example.com/refresh"),
        OAuth2Flow::client_credentials("https://id.example.com/token"),
    ];
    const SCOPES: &'static [(&'static str, &'static str)] = &[("reports:read", "Read reports")];
}

#[utoipa::path(get, path = "/digest", responses((status = 200, description = "ok")))]
async fn digest(d: HttpDigest) -> String {
    d.credentials
}

#[utoipa::path(get, path = "/oidc", responses((status = 200, description = "ok")))]
async fn oidc(t: OpenIdConnect<Corporate>) -> String {
    t.token
}

#[utoipa::path(get, path = "/machines", responses((status = 200, description = "ok")))]
async fn machines(t: OAuth2Bearer<Machines>) -> String {
    t.token
}

/// Both a partner key and a JWT: AND, one requirement object.
#[utoipa::path(get, path = "/both", responses((status = 200, description = "ok")))]
async fn both(key: ApiKeyHeader<Partner>, jwt: HttpBearer<Jwt>) -> String {
    format!("{}|{}", key.key, jwt.token)
}

/// Anonymous or with a JWT.
#[utoipa::path(get, path = "/maybe", responses((status = 200, description = "ok")))]
async fn maybe(jwt: Option<HttpBearer<Jwt>>) -> String {
    jwt.map_or_else(|| "anonymous".into(), |j| j.token)
}

/// Basic, or (key and JWT).
#[utoipa::path(get, path = "/mixed", responses((status = 200, description = "ok")))]
async fn mixed(
    who: Either<HttpBasic, ApiKeyHeader<Partner>>,
    _jwt: Result<HttpBearer<Jwt>, AuthError>,
    _uri: Undocumented<http::Uri>,
) -> &'static str {
    match who {
        Either::Left(_) => "basic",
        Either::Right(_) => "key",
    }
}

fn api() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(digest))
        .routes(routes!(oidc))
        .routes(routes!(machines))
        .routes(routes!(both))
        .routes(routes!(maybe))
        .routes(routes!(mixed))
}

fn document() -> Value {
    let (_, openapi) = api().split_for_parts();
    serde_json::to_value(openapi).unwrap()
}

async fn serve() -> String {
    let (router, _): (Router, _) = api().split_for_parts();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

#[test]
fn schemes_are_documented_as_declared() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["HTTPDigest"],
        json!({"type": "http", "scheme": "digest"})
    );
    assert_eq!(
        schemes["Corporate"],
        json!({"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com/.well-known/openid-configuration"})
    );
    assert_eq!(
        schemes["JWT"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token"})
    );
    assert_eq!(
        schemes["Machines"],
        json!({"type": "oauth2", "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://id.example.com/authorize",
                "tokenUrl": "https://id.example.com/token",
                "refreshUrl": "https://id.example.com/refresh",
                "scopes": {"reports:read": "Read reports"}
            },
            "clientCredentials": {
                "tokenUrl": "https://id.example.com/token",
                "scopes": {"reports:read": "Read reports"}
            }
        }})
    );
}

#[test]
fn requirements_follow_the_signature() {
    let doc = document();
    let security = |path: &str| doc["paths"][path]["get"]["security"].clone();
    assert_eq!(security("/digest"), json!([{"HTTPDigest": []}]));
    assert_eq!(security("/both"), json!([{"JWT": [], "PartnerKey": []}]));
    assert_eq!(security("/maybe"), json!([{"JWT": []}, {}]));
    assert_eq!(
        security("/mixed"),
        json!([{"HTTPBasic": [], "JWT": []}, {"JWT": [], "PartnerKey": []}])
    );
    assert!(doc["paths"]["/maybe"]["get"]["responses"]["401"].is_object());
}

#[tokio::test]
async fn combinators_behave_as_documented() {
    let base = serve().await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}"));

    let r = get("/both")
        .header("x-partner-key", "k")
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "k|t");
    let r = get("/both").bearer_auth("t").send().await.unwrap();
    assert_eq!(r.status(), 401, "AND: one of two is not enough");
    assert_eq!(r.headers()["www-authenticate"], "APIKey");

    let r = get("/maybe").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "anonymous");
    let r = get("/maybe").bearer_auth("tok").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "tok");
    let r = get("/maybe")
        .header("authorization", "Bearer a b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "optional credentials that were sent broken are refused"
    );

    let r = get("/mixed")
        .basic_auth("u", Some("p"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "basic");
    let r = get("/mixed").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let challenges: Vec<_> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(challenges, [r#"Basic charset="UTF-8""#, "APIKey"]);
}

#[tokio::test]
async fn digest_and_oidc_extract_only_their_own_scheme() {
    let base = serve().await;
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{base}/digest"))
        .header("authorization", r#"Digest username="u", nonce="n""#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"username="u", nonce="n""#);
    let r = client
        .get(format!("{base}/digest"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Digest");

    let r = client
        .get(format!("{base}/oidc"))
        .bearer_auth("id.tok.en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "id.tok.en");
    let r = client.get(format!("{base}/machines")).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["www-authenticate"].to_str().unwrap()
        ),
        (401, "Bearer")
    );
}

struct ClashA;
impl ApiKeyScheme for ClashA {
    const SCHEME_NAME: &'static str = "Key";
    const NAME: &'static str = "X-A";
}
struct ClashB;
impl ApiKeyScheme for ClashB {
    const SCHEME_NAME: &'static str = "Key";
    const NAME: &'static str = "X-B";
}

#[utoipa::path(get, path = "/a", responses((status = 200, description = "ok")))]
async fn clash_a(_: ApiKeyHeader<ClashA>) {}

#[utoipa::path(get, path = "/b", responses((status = 200, description = "ok")))]
async fn clash_b(_: ApiKeyHeader<ClashB>) {}

#[test]
#[should_panic(expected = "security scheme name `Key` is declared twice")]
fn two_schemes_cannot_share_a_name() {
    let _ = ApiRouter::<()>::new()
        .routes(routes!(clash_a))
        .routes(routes!(clash_b));
}

#[test]
fn one_scheme_may_be_used_by_many_routes() {
    #[utoipa::path(get, path = "/c", responses((status = 200, description = "ok")))]
    async fn again(_: ApiKeyHeader<ClashA>) {}
    let (_, doc) = ApiRouter::<()>::new()
        .routes(routes!(clash_a))
        .routes(routes!(again))
        .split_for_parts();
    assert_eq!(doc.components.unwrap().security_schemes.len(), 1);
}
