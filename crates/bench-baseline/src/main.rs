//! `bench-baseline`: the load-test targets of `scripts/bench`.
//!
//! One axum server, built with the same axum and tokio (and the same settings: the default
//! multi-threaded runtime, `axum::serve` with connect info) as `warden serve`, serving
//!
//! - `GET /hello`: a bare JSON route, the baseline every ratio is measured against;
//! - `GET /bearer-eddsa`, `GET /bearer-hs256`: `Auth<Jwt, Bench>`, a bearer JWT (EdDSA or
//!   HS256, keys generated at start) with the scope `bench` required, with the verifier's
//!   default cache of verified tokens; `GET /bearer-eddsa-uncached` and
//!   `GET /bearer-hs256-uncached`: the same with the cache off, so every request checks the
//!   signature;
//! - `GET /api-key`: `ApiKeyHeader` (`X-API-Key`), compared in constant time;
//! - `GET /basic`: `HttpBasic`, compared in constant time;
//! - `GET /dpop-es256`, `GET /dpop-eddsa`: `Auth<Jwt<NoClaims, DPoP>, Bench>` (issue 15), an
//!   EdDSA access token bound (`cnf.jkt`) to an ES256 or an Ed25519 proof key, verified with
//!   the default token cache as on `/bearer-eddsa`, and a fresh DPoP proof per request checked
//!   against `http://ADDR` + the path, its `jti` recorded in an in-memory replay store sized
//!   for a whole run (2,000,000 proofs).
//!
//! ```sh
//! bench-baseline [--bind 127.0.0.1:0] [--secrets FILE]
//! ```
//!
//! It prints `listening on http://ADDR` first, and writes the credentials the load generator
//! needs to `FILE` (mode 0600) as shell assignments: `EDDSA_TOKEN`, `HS256_TOKEN`, `API_KEY`,
//! `BASIC_AUTH` (the `Authorization` header value), and for each DPoP route its bound token
//! and proof key (PKCS#8 PEM): `DPOP_ES256_TOKEN`, `DPOP_ES256_KEY`, `DPOP_EDDSA_TOKEN`,
//! `DPOP_EDDSA_KEY`. `bench-proofs` makes the proofs from them, just before the load (a proof
//! is accepted once, within 300 s of its `iat`). Benchmark use only: the secrets are generated
//! per run and the process keeps nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use warden::dpop::{DPoP, DPoPVerifier, MemoryReplayStore, ProofKey};
use warden::jwt::{
    Algorithm, Claims, Confirmation, Issuer, Jwt, KeyRing, NoClaims, SigningKey, Validation,
    Verifier,
};
use warden::{
    ApiKeyHeader, ApiKeyScheme, Auth, BasicScheme, Denied, HttpBasic, Principal, SecurityScopes,
    scope,
};

scope!(Bench = "bench");

const ISSUER: &str = "bench-baseline";

#[derive(Clone, FromRef)]
struct JwtState {
    verifier: Verifier,
}

/// What the DPoP routes verify: the bound token (`verifier`) and its proof (`dpop`).
#[derive(Clone, FromRef)]
struct DPoPState {
    verifier: Verifier,
    dpop: DPoPVerifier,
}

/// How many proofs the DPoP routes' replay store holds: every proof of a full run (each is
/// remembered for its 300 s window plus the minute of clock skew, and a full store refuses).
const REPLAY_CAPACITY: usize = 2_000_000;

#[derive(Clone)]
struct Secrets {
    api_key: Arc<str>,
    username: Arc<str>,
    password: Arc<str>,
}

struct KeyHeader;

impl ApiKeyScheme for KeyHeader {
    const SCHEME_NAME: &'static str = "APIKeyHeader";
    const NAME: &'static str = "X-API-Key";
}

struct KeyHolder;

impl Principal<Secrets> for KeyHolder {
    type Credentials = ApiKeyHeader<KeyHeader>;

    async fn authenticate(
        key: ApiKeyHeader<KeyHeader>,
        _: &SecurityScopes,
        secrets: &Secrets,
    ) -> Result<Self, Denied> {
        if warden::constant_time_eq(key.key.as_bytes(), secrets.api_key.as_bytes()) {
            Ok(KeyHolder)
        } else {
            Err(Denied::InvalidCredentials)
        }
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

struct Login;

impl BasicScheme for Login {
    const SCHEME_NAME: &'static str = "HTTPBasic";
    const REALM: Option<&'static str> = Some("bench");
}

struct BasicUser;

impl Principal<Secrets> for BasicUser {
    type Credentials = HttpBasic<Login>;

    async fn authenticate(
        credentials: HttpBasic<Login>,
        _: &SecurityScopes,
        secrets: &Secrets,
    ) -> Result<Self, Denied> {
        if credentials.matches(&secrets.username, &secrets.password) {
            Ok(BasicUser)
        } else {
            Err(Denied::InvalidCredentials)
        }
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

async fn bearer(token: Auth<Jwt, Bench>) -> Json<Value> {
    Json(json!({"sub": token.claims.sub}))
}

async fn dpop(token: Auth<Jwt<NoClaims, DPoP>, Bench>) -> Json<Value> {
    Json(json!({"sub": token.claims.sub}))
}

async fn api_key(_: Auth<KeyHolder>) -> Json<Value> {
    Json(json!({"message": "hello"}))
}

async fn basic(_: Auth<BasicUser>) -> Json<Value> {
    Json(json!({"message": "hello"}))
}

/// A verifier for `key`'s tokens and one such token with the scope `bench`, valid a day:
/// `path` verifies with the default verified-token cache, `{path}-uncached` verifies the
/// signature on every request.
fn jwt_route(alg: Algorithm, path: &str) -> Result<(Router, String), Box<dyn std::error::Error>> {
    let ring = KeyRing::new(SigningKey::generate(alg)?);
    let issuer = Issuer::new(ring.clone(), ISSUER);
    let claims: Claims = Claims {
        sub: Some("bench".into()),
        scope: Some("bench".into()),
        ..Claims::default()
    };
    let token = issuer.access_token(&claims, 24 * 3600)?;
    let verifier = Verifier::with_ring(ring, Validation::new().issuer(ISSUER).access_tokens());
    let uncached = verifier.clone().cache_capacity(0);
    let router = Router::new()
        .route(path, get(bearer))
        .with_state(JwtState { verifier })
        .merge(
            Router::new()
                .route(&format!("{path}-uncached"), get(bearer))
                .with_state(JwtState { verifier: uncached }),
        );
    Ok((router, token))
}

/// `/dpop-es256` and `/dpop-eddsa` for requests to `public_url`, and the shell assignments of
/// each route's bound token and proof key.
fn dpop_routes(public_url: &str) -> Result<(Router, String), Box<dyn std::error::Error>> {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
    let issuer = Issuer::new(ring.clone(), ISSUER);
    let state = DPoPState {
        verifier: Verifier::with_ring(ring, Validation::new().issuer(ISSUER).access_tokens()),
        dpop: DPoPVerifier::new(public_url)?.replay_store(MemoryReplayStore::new(REPLAY_CAPACITY)),
    };
    let mut router = Router::new();
    let mut credentials = String::new();
    for (alg, name) in [(Algorithm::ES256, "ES256"), (Algorithm::EdDSA, "EDDSA")] {
        let signing = SigningKey::generate(alg)?;
        let pem = signing.to_pkcs8_pem().ok_or("no PKCS#8 for a proof key")?;
        let key = ProofKey::from_signing_key(signing)?;
        let claims: Claims = Claims {
            sub: Some("bench".into()),
            scope: Some("bench".into()),
            cnf: Some(Confirmation {
                jkt: Some(key.jkt().into()),
                ..Confirmation::default()
            }),
            ..Claims::default()
        };
        let token = issuer.access_token(&claims, 24 * 3600)?;
        router = router.route(&format!("/dpop-{}", name.to_lowercase()), get(dpop));
        credentials.push_str(&format!(
            "DPOP_{name}_TOKEN='{token}'\nDPOP_{name}_KEY='{pem}'\n"
        ));
    }
    Ok((router.with_state(state), credentials))
}

fn random_hex(bytes: usize) -> Result<String, Box<dyn std::error::Error>> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| "no randomness")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn basic_header(username: &str, password: &str) -> String {
    use std::fmt::Write;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{username}:{password}");
    let mut out = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut bind: SocketAddr = "127.0.0.1:0".parse()?;
    let mut secrets_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().ok_or("--bind needs ADDR")?.parse()?,
            "--secrets" => secrets_file = Some(args.next().ok_or("--secrets needs FILE")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    let (eddsa, eddsa_token) = jwt_route(Algorithm::EdDSA, "/bearer-eddsa")?;
    let (hs256, hs256_token) = jwt_route(Algorithm::HS256, "/bearer-hs256")?;
    let secrets = Secrets {
        api_key: random_hex(32)?.into(),
        username: "bench".into(),
        password: random_hex(16)?.into(),
    };
    let basic_auth = basic_header(&secrets.username, &secrets.password);
    // Bound first: the DPoP routes check each proof's `htu` against the URL served.
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (dpop, dpop_credentials) = dpop_routes(&format!("http://{addr}"))?;
    let credentials = format!(
        "EDDSA_TOKEN='{eddsa_token}'\nHS256_TOKEN='{hs256_token}'\nAPI_KEY='{}'\nBASIC_AUTH='{basic_auth}'\n{dpop_credentials}",
        secrets.api_key
    );
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/api-key", get(api_key))
        .route("/basic", get(basic))
        .with_state(secrets)
        .merge(eddsa)
        .merge(hs256)
        .merge(dpop);

    if let Some(path) = secrets_file {
        write_private(&path, &credentials)?;
    }
    println!("listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn write_private(path: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
