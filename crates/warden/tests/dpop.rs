//! DPoP-bound tokens at a resource server built on `warden` (RFC 9449 §7), over real HTTP:
//! the proof checks of §4.3 one by one, the binding, replays (in memory and through Redis
//! shared by two instances), server nonces, the challenges and the OpenAPI document.
//!
//! Redis tests are skipped with a message when Redis is unreachable, or fail when `CI=true`.

use std::hash::BuildHasher;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use http::Method;
use serde_json::{Value, json};
use warden::dpop::{DPoP, DPoPVerifier, MemoryReplayStore, Nonces, ProofKey, RedisReplayStore};
use warden::jwt::{
    Algorithm, Claims, Confirmation, Issuer, Jwt, KeyRing, NoClaims, SigningKey, Validation,
    Verifier,
};
use warden::openapi::ApiRouter;
use warden::{Auth, Either, HttpBearer, scope};

const PUBLIC_URL: &str = "https://api.example.com";
const ISSUER: &str = "https://auth.example.com";

scope!(Items = "items");
scope!(Admin = "admin");

#[derive(Clone, FromRef)]
struct AppState {
    verifier: Verifier,
    dpop: DPoPVerifier,
}

type Bound = Jwt<NoClaims, DPoP>;
type BoundOrBearer = Jwt<NoClaims, Either<DPoP, HttpBearer>>;

#[utoipa::path(get, path = "/items", responses((status = 200, description = "the caller")))]
async fn items(token: Auth<Bound, Items>) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

async fn admin(_: Auth<Bound, Admin>) -> &'static str {
    "admin"
}

async fn either(token: Auth<BoundOrBearer>) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

async fn bearer(token: Auth<Jwt>) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

struct Api {
    base: String,
    http: reqwest::Client,
    issuer: Issuer,
}

impl Api {
    async fn start(dpop: DPoPVerifier) -> Self {
        let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let issuer = Issuer::new(ring.clone(), ISSUER);
        let verifier = Verifier::with_ring(
            ring,
            Validation::new()
                .issuer(ISSUER)
                .audience("api")
                .access_tokens(),
        );
        Self::serve(issuer, AppState { verifier, dpop }).await
    }

    async fn serve(issuer: Issuer, state: AppState) -> Self {
        let app = Router::new()
            .route("/items", get(items).post(items))
            .route("/admin", get(admin))
            .route("/either", get(either))
            .route("/bearer", get(bearer))
            .nest("/v1", Router::new().route("/items", get(items)))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            http: reqwest::Client::new(),
            issuer,
        }
    }

    /// An access token for alice with `scope`, bound to `jkt` when given.
    fn token(&self, scope: &str, jkt: Option<&str>) -> String {
        let claims: Claims = Claims {
            sub: Some("alice".into()),
            aud: "api".into(),
            scope: Some(scope.into()),
            cnf: jkt.map(|jkt| Confirmation {
                jkt: Some(jkt.into()),
                ..Confirmation::default()
            }),
            ..Claims::default()
        };
        self.issuer.access_token(&claims, 300).unwrap()
    }

    /// GET `path` with `Authorization: DPoP token` and the given proofs.
    async fn dpop(&self, path: &str, token: &str, proofs: &[&str]) -> reqwest::Response {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("DPoP {token}"));
        for proof in proofs {
            request = request.header("dpop", *proof);
        }
        request.send().await.unwrap()
    }
}

fn htu(path: &str) -> String {
    format!("{PUBLIC_URL}{path}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn www(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
fn refused(response: &reqwest::Response, error: &str) {
    assert_eq!(response.status(), 401, "{:?}", www(response));
    let challenges = www(response);
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("DPoP ") && c.contains(&format!("error=\"{error}\""))),
        "{challenges:?} should carry {error}"
    );
}

/// The claims of a valid proof for GET /items with `token`, to be altered by a test.
fn claims_for(token: &str, path: &str) -> Value {
    use base64::Engine;
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        token.as_bytes(),
    ));
    json!({ "jti": uuid(), "htm": "GET", "htu": htu(path), "iat": now(), "ath": ath })
}

fn uuid() -> String {
    format!(
        "{:032x}",
        std::collections::hash_map::RandomState::new().hash_one(SystemTime::now())
    )
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_passes_and_the_proof_cannot_be_replayed() {
    let api = Api::start(DPoPVerifier::new(PUBLIC_URL).unwrap()).await;
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = ProofKey::generate(alg).unwrap();
        let token = api.token("items", Some(key.jkt()));
        let proof = key
            .proof(&Method::GET, &htu("/items"), Some(&token), None)
            .unwrap();
        let response = api.dpop("/items", &token, &[&proof]).await;
        assert_eq!(response.status(), 200, "{alg}: {:?}", www(&response));
        assert_eq!(response.text().await.unwrap(), "alice");
        // The same proof again (captured on the wire): refused.
        refused(
            &api.dpop("/items", &token, &[&proof]).await,
            "invalid_dpop_proof",
        );
        // A fresh proof: fine again.
        let proof = key
            .proof(&Method::GET, &htu("/items"), Some(&token), None)
            .unwrap();
        assert_eq!(api.dpop("/items", &token, &[&proof]).await.status(), 200);
    }
    // `Ed25519`, the fully-specified name of RFC 9864 that openid-client 6 sends, is EdDSA.
    let key = ProofKey::generate(Algorithm::EdDSA).unwrap();
    let token = api.token("items", Some(key.jkt()));
    let mut header = key.header();
    header["alg"] = json!("Ed25519");
    let proof = key
        .sign_jws(&header, &claims_for(&token, "/items"))
        .unwrap();
    assert_eq!(api.dpop("/items", &token, &[&proof]).await.status(), 200);
}

#[tokio::test]
async fn a_stolen_bound_token_is_useless_without_its_key() {
    let api = Api::start(DPoPVerifier::new(PUBLIC_URL).unwrap()).await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let token = api.token("items", Some(key.jkt()));
    // As a bearer token, on a bearer-only route and on a route taking both (RFC 9449 §7.2).
    for path in ["/bearer", "/either"] {
        let response = api
            .http
            .get(format!("{}{path}", api.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    // With a proof from the thief's own key: the token is not bound to it.
    let thief = ProofKey::generate(Algorithm::ES256).unwrap();
    let proof = thief
        .proof(&Method::GET, &htu("/items"), Some(&token), None)
        .unwrap();
    refused(
        &api.dpop("/items", &token, &[&proof]).await,
        "invalid_token",
    );
    // A proof of the right key made for another token does not carry this token's hash.
    let other = api.token("items other", Some(key.jkt()));
    assert_ne!(other, token);
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&other), None)
        .unwrap();
    refused(
        &api.dpop("/items", &token, &[&proof]).await,
        "invalid_dpop_proof",
    );
    // An unbound token sent with the DPoP scheme proves nothing.
    let unbound = api.token("items", None);
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&unbound), None)
        .unwrap();
    refused(
        &api.dpop("/items", &unbound, &[&proof]).await,
        "invalid_token",
    );
    // The unbound token is still a fine bearer token where bearer tokens are taken.
    let response = api
        .http
        .get(format!("{}/either", api.base))
        .bearer_auth(&unbound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_proof_must_match_the_request() {
    let api = Api::start(DPoPVerifier::new(PUBLIC_URL).unwrap()).await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let token = api.token("items", Some(key.jkt()));
    let proof = |method: &Method, url: &str| key.proof(method, url, Some(&token), None).unwrap();
    // Another method, another path, another host, another scheme, another port.
    for wrong in [
        proof(&Method::POST, &htu("/items")),
        proof(&Method::GET, &htu("/admin")),
        proof(&Method::GET, "https://evil.example.com/items"),
        proof(&Method::GET, "http://api.example.com/items"),
        proof(&Method::GET, "https://api.example.com:8443/items"),
        proof(&Method::GET, &htu("/items/")),
        proof(&Method::GET, &htu("//items")),
        // The URL the server actually listens on: the configured public URL is what counts.
        proof(&Method::GET, &format!("{}/items", api.base)),
    ] {
        refused(
            &api.dpop("/items", &token, &[&wrong]).await,
            "invalid_dpop_proof",
        );
    }
    // The `Host` header does not choose what `htu` is compared with.
    let evil = proof(&Method::GET, "https://evil.example.com/items");
    let response = api
        .http
        .get(format!("{}/items", api.base))
        .header("host", "evil.example.com")
        .header("x-forwarded-host", "evil.example.com")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Equivalent forms of the right URI pass (RFC 3986 §6.2.2, §6.2.3), query ignored.
    for right in [
        "HTTPS://API.EXAMPLE.COM/items",
        "https://api.example.com:443/items",
        "https://api.example.com/%69tems",
        "https://api.example.com/x/../items?page=2",
    ] {
        let response = api
            .dpop("/items?page=2", &token, &[&proof(&Method::GET, right)])
            .await;
        assert_eq!(response.status(), 200, "{right}");
    }
    // A nested router: the proof names the full path the client called.
    let response = api
        .dpop(
            "/v1/items",
            &token,
            &[&proof(&Method::GET, &htu("/v1/items"))],
        )
        .await;
    assert_eq!(response.status(), 200);
    refused(
        &api.dpop("/v1/items", &token, &[&proof(&Method::GET, &htu("/items"))])
            .await,
        "invalid_dpop_proof",
    );
    // POST is checked as POST.
    let response = api
        .http
        .post(format!("{}/items", api.base))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof(&Method::POST, &htu("/items")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn forged_and_malformed_proofs_are_refused_with_a_401() {
    let api = Api::start(DPoPVerifier::new(PUBLIC_URL).unwrap()).await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let token = api.token("items", Some(key.jkt()));
    let good_header = key.header();
    let sign = |header: &Value, claims: &Value| key.sign_jws(header, claims).unwrap();
    let with = |field: &str, value: Value| {
        let mut header = good_header.clone();
        header[field] = value;
        header
    };
    let claims = || claims_for(&token, "/items");
    let without = |claim: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        c
    };
    let mut private = good_header["jwk"].clone();
    private["d"] = json!("AAAA");
    let hs_key = ProofKey::generate(Algorithm::HS256);
    assert!(hs_key.is_err(), "an HMAC key cannot make proofs");
    let rsa = ProofKey::generate(Algorithm::RS256).unwrap();
    let rsa_token = api.token("items", Some(rsa.jkt()));
    let cases: Vec<(&str, String)> = vec![
        ("typ JWT", sign(&with("typ", json!("JWT")), &claims())),
        ("no typ", {
            let mut h = good_header.clone();
            h.as_object_mut().unwrap().remove("typ");
            sign(&h, &claims())
        }),
        ("alg none", {
            let proof = sign(&with("alg", json!("none")), &claims());
            format!("{}.", proof.rsplit_once('.').unwrap().0)
        }),
        ("alg HS256", sign(&with("alg", json!("HS256")), &claims())),
        (
            "alg of another key type",
            sign(&with("alg", json!("EdDSA")), &claims()),
        ),
        ("private jwk", sign(&with("jwk", private), &claims())),
        ("no jwk", {
            let mut h = good_header.clone();
            h.as_object_mut().unwrap().remove("jwk");
            sign(&h, &claims())
        }),
        (
            "jwk of another key",
            sign(&with("jwk", json!(rsa.jwk())), &claims()),
        ),
        ("crit", sign(&with("crit", json!(["exp"])), &claims())),
        ("no jti", sign(&good_header, &without("jti"))),
        ("no htm", sign(&good_header, &without("htm"))),
        ("no htu", sign(&good_header, &without("htu"))),
        ("no iat", sign(&good_header, &without("iat"))),
        ("no ath", sign(&good_header, &without("ath"))),
        ("old iat", {
            let mut c = claims();
            c["iat"] = json!(now() - 301);
            sign(&good_header, &c)
        }),
        ("future iat", {
            let mut c = claims();
            c["iat"] = json!(now() + 120);
            sign(&good_header, &c)
        }),
        ("iat not a number", {
            let mut c = claims();
            c["iat"] = json!("now");
            sign(&good_header, &c)
        }),
        ("huge jti", {
            let mut c = claims();
            c["jti"] = json!("j".repeat(300));
            sign(&good_header, &c)
        }),
        ("bad signature", {
            let proof = sign(&good_header, &claims());
            let (input, _) = proof.rsplit_once('.').unwrap();
            let other = sign(&good_header, &claims());
            format!("{input}.{}", other.rsplit_once('.').unwrap().1)
        }),
        ("not a JWS", "not-a-jws".into()),
        (
            "four segments",
            format!("{}.x", sign(&good_header, &claims())),
        ),
        ("oversized", "a".repeat(5000)),
        ("RS256 not accepted by the default scheme", {
            let mut c = claims_for(&rsa_token, "/items");
            c["htm"] = json!("GET");
            rsa.sign_jws(&rsa.header(), &c).unwrap()
        }),
    ];
    for (case, proof) in cases {
        let response = api.dpop("/items", &token, &[&proof]).await;
        assert_eq!(response.status(), 401, "{case}");
        assert!(
            www(&response)[0].contains("invalid_dpop_proof")
                || www(&response)[0].contains("invalid_token"),
            "{case}: {:?}",
            www(&response)
        );
    }
    // Two DPoP headers, or none, or an empty one.
    let p1 = key
        .proof(&Method::GET, &htu("/items"), Some(&token), None)
        .unwrap();
    let p2 = key
        .proof(&Method::GET, &htu("/items"), Some(&token), None)
        .unwrap();
    refused(
        &api.dpop("/items", &token, &[&p1, &p2]).await,
        "invalid_dpop_proof",
    );
    refused(&api.dpop("/items", &token, &[]).await, "invalid_dpop_proof");
    refused(
        &api.dpop("/items", &token, &[""]).await,
        "invalid_dpop_proof",
    );
    // A token that is not token68: malformed, 400.
    let response = api.dpop("/items", "not a token", &[&p1]).await;
    assert_eq!(response.status(), 400);
    // Nothing above was a replay: the first good proof still passes.
    assert_eq!(api.dpop("/items", &token, &[&p1]).await.status(), 200);
}

#[tokio::test]
async fn challenges_name_the_scheme_and_its_algorithms() {
    let api = Api::start(DPoPVerifier::new(PUBLIC_URL).unwrap()).await;
    let response = api
        .http
        .get(format!("{}/items", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(www(&response), [r#"DPoP algs="ES256 Ed25519 EdDSA""#]);
    let response = api
        .http
        .get(format!("{}/either", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        www(&response),
        [r#"DPoP algs="ES256 Ed25519 EdDSA""#, "Bearer"]
    );
    // A valid bound token without the scope: 403 insufficient_scope, in the DPoP challenge.
    let key = ProofKey::generate(Algorithm::EdDSA).unwrap();
    let token = api.token("items", Some(key.jkt()));
    let proof = key
        .proof(&Method::GET, &htu("/admin"), Some(&token), None)
        .unwrap();
    let response = api.dpop("/admin", &token, &[&proof]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        www(&response),
        [r#"DPoP error="insufficient_scope", scope="admin", algs="ES256 Ed25519 EdDSA""#]
    );
}

#[tokio::test]
async fn with_server_nonces_a_proof_without_the_current_nonce_is_sent_back_with_one() {
    let api = Api::start(
        DPoPVerifier::new(PUBLIC_URL)
            .unwrap()
            .nonces(Nonces::random()),
    )
    .await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let token = api.token("items", Some(key.jkt()));
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&token), None)
        .unwrap();
    let response = api.dpop("/items", &token, &[&proof]).await;
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    refused(&response, "use_dpop_nonce");
    // A made-up nonce is refused the same way.
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&token), Some("made-up"))
        .unwrap();
    refused(
        &api.dpop("/items", &token, &[&proof]).await,
        "use_dpop_nonce",
    );
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&token), Some(&nonce))
        .unwrap();
    assert_eq!(api.dpop("/items", &token, &[&proof]).await.status(), 200);
}

#[tokio::test]
async fn the_memory_replay_store_is_shared_by_clones_of_the_verifier() {
    // Two routers over one verifier (e.g. two services in one process): a proof used on one
    // is refused on the other.
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let verifier = Verifier::with_ring(ring.clone(), Validation::new().audience("api"));
    let dpop = DPoPVerifier::new(PUBLIC_URL)
        .unwrap()
        .replay_store(MemoryReplayStore::new(1000));
    let state = AppState { verifier, dpop };
    let one = Api::serve(Issuer::new(ring.clone(), ISSUER), state.clone()).await;
    let two = Api::serve(Issuer::new(ring, ISSUER), state).await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let token = one.token("items", Some(key.jkt()));
    let proof = key
        .proof(&Method::GET, &htu("/items"), Some(&token), None)
        .unwrap();
    assert_eq!(one.dpop("/items", &token, &[&proof]).await.status(), 200);
    refused(
        &two.dpop("/items", &token, &[&proof]).await,
        "invalid_dpop_proof",
    );
}

#[tokio::test]
async fn the_openapi_document_names_the_dpop_scheme() {
    let (_, openapi) = ApiRouter::<AppState>::new()
        .routes(warden::routes!(items))
        .split_for_parts();
    let json = warden::openapi::to_json(&openapi);
    let scheme = &json["components"]["securitySchemes"]["DPoP"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "DPoP");
    assert_eq!(scheme["x-dpop-algs"], "ES256 Ed25519 EdDSA");
    assert!(scheme.get("x-warden-http-scheme").is_none());
    assert_eq!(
        json["paths"]["/items"]["get"]["security"],
        json!([{"DPoP": ["items"]}])
    );
}

mod redis_store {
    use super::*;

    const REDIS_URL: &str = "redis://127.0.0.1:6379";

    /// A fresh key prefix, or `None` (skip) when Redis is unreachable; with `CI=true` an
    /// unreachable Redis fails the test.
    async fn prefix_or_skip(test: &str) -> Option<String> {
        let connect = async {
            let client = redis::Client::open(REDIS_URL)?;
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        let error = match tokio::time::timeout(Duration::from_secs(3), connect).await {
            Ok(Ok(_)) => return Some(format!("warden-test:{test}:{}:", uuid())),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 3 s".to_owned(),
        };
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("Redis at {REDIS_URL} is unreachable and CI=true: {error}");
        }
        eprintln!("skipping {test}: Redis at {REDIS_URL} is unreachable ({error})");
        None
    }

    #[tokio::test]
    async fn two_instances_sharing_redis_refuse_a_proof_replayed_to_the_other() {
        let Some(prefix) = prefix_or_skip("dpop-replay").await else {
            return;
        };
        let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let instance = |prefix: String| AppState {
            verifier: Verifier::with_ring(ring.clone(), Validation::new().audience("api")),
            dpop: DPoPVerifier::new(PUBLIC_URL)
                .unwrap()
                .replay_store(RedisReplayStore::open(REDIS_URL, prefix).unwrap()),
        };
        let one = Api::serve(Issuer::new(ring.clone(), ISSUER), instance(prefix.clone())).await;
        let two = Api::serve(Issuer::new(ring.clone(), ISSUER), instance(prefix.clone())).await;
        let key = ProofKey::generate(Algorithm::ES256).unwrap();
        let token = one.token("items", Some(key.jkt()));
        let proof = key
            .proof(&Method::GET, &htu("/items"), Some(&token), None)
            .unwrap();
        assert_eq!(one.dpop("/items", &token, &[&proof]).await.status(), 200);
        refused(
            &two.dpop("/items", &token, &[&proof]).await,
            "invalid_dpop_proof",
        );
        refused(
            &one.dpop("/items", &token, &[&proof]).await,
            "invalid_dpop_proof",
        );
        // Racing the same fresh proof to both instances: exactly one wins.
        let proof = key
            .proof(&Method::GET, &htu("/items"), Some(&token), None)
            .unwrap();
        let proofs = [proof.as_str()];
        let (a, b) = tokio::join!(
            one.dpop("/items", &token, &proofs),
            two.dpop("/items", &token, &proofs)
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401]);
        // The keys expire by themselves, and are removed here.
        let client = redis::Client::open(REDIS_URL).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(keys.len(), 2, "one key per accepted proof");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&keys[0])
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 360_000, "{ttl}");
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_redis_refuses_proofs_with_503() {
        let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let state = AppState {
            verifier: Verifier::with_ring(ring.clone(), Validation::new().audience("api")),
            // Nothing listens on port 1.
            dpop: DPoPVerifier::new(PUBLIC_URL).unwrap().replay_store(
                RedisReplayStore::open("redis://127.0.0.1:1", "x:")
                    .unwrap()
                    .with_timeout(Duration::from_millis(300)),
            ),
        };
        let api = Api::serve(Issuer::new(ring, ISSUER), state).await;
        let key = ProofKey::generate(Algorithm::ES256).unwrap();
        let token = api.token("items", Some(key.jkt()));
        let proof = key
            .proof(&Method::GET, &htu("/items"), Some(&token), None)
            .unwrap();
        let response = api.dpop("/items", &token, &[&proof]).await;
        assert_eq!(response.status(), 503, "a replay cache never fails open");
        assert!(response.headers().contains_key("retry-after"));
    }
}
