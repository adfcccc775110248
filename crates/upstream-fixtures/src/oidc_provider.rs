//! `oidc-provider` (npm, OpenID Certified) as an independent upstream: a launcher for
//! `tests/browser/idp/upstream-idp.mjs` and a driver for its development login pages.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const STDERR_KEPT: usize = 8000;

/// A confidential client of the provider (`client_secret_basic`, authorization code only).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl OidcClient {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> OidcClient {
        OidcClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
        }
    }
}

/// `node tests/browser/idp/upstream-idp.mjs`, killed on drop.
///
/// Accounts: any login is the subject, any password is accepted; the email is the login
/// without `+unverified`, `email_verified` is false when the login contains `+unverified`,
/// `groups` is `["users"]` plus `"admin"` when it contains `+admin`. Scopes `openid`,
/// `email`, `profile` (name, preferred_username, groups, extra claims), `groups`. PKCE is
/// required; the callback carries `iss`; the ID token has no email (userinfo has it).
pub struct OidcProvider {
    issuer: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

fn browser_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

impl OidcProvider {
    /// Start the provider with these clients, on 127.0.0.1 and a free port.
    ///
    /// # Panics
    /// When `node` or `tests/browser/node_modules/oidc-provider` is missing (run `npm ci`
    /// in tests/browser), or when the provider does not print its listening line within 20 s.
    pub async fn start(clients: Vec<OidcClient>) -> OidcProvider {
        OidcProvider::start_with_extra_claims(clients, Map::new()).await
    }

    /// As [`OidcProvider::start`], with claims added to every account (scope `profile`).
    pub async fn start_with_extra_claims(
        clients: Vec<OidcClient>,
        extra_claims: Map<String, Value>,
    ) -> OidcProvider {
        let dir = browser_tests_dir();
        let script = dir.join("idp/upstream-idp.mjs");
        let module = dir.join("node_modules/oidc-provider/package.json");
        assert!(
            module.is_file(),
            "{} is missing: run `npm ci` in {} (the federation tests need oidc-provider)",
            module.display(),
            dir.display()
        );
        let config = json!({
            "port": 0,
            "host": "127.0.0.1",
            "clients": clients,
            "extraClaims": extra_claims,
        });
        let mut child = match Command::new("node")
            .arg(&script)
            .arg(config.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(err) => panic!(
                "cannot run `node {}`: {err}: install Node.js (20 or later) and run `npm ci` in {}",
                script.display(),
                dir.display()
            ),
        };

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_pipe = child.stderr.take().expect("stderr piped");
        let stderr_task = tokio::spawn({
            let stderr = stderr.clone();
            async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr_pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
                    kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if kept.len() > STDERR_KEPT {
                        let mut cut = kept.len() - STDERR_KEPT;
                        while !kept.is_char_boundary(cut) {
                            cut += 1;
                        }
                        kept.drain(..cut);
                    }
                }
            }
        });

        let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
        let first = tokio::time::timeout(STARTUP_TIMEOUT, lines.next_line()).await;
        let issuer = match &first {
            Ok(Ok(Some(line))) => line.strip_prefix("listening ").map(str::to_owned),
            _ => None,
        };
        let Some(issuer) = issuer else {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), stderr_task).await;
            let why = match first {
                Err(_) => format!("no `listening` line within {STARTUP_TIMEOUT:?}"),
                Ok(Ok(Some(line))) => format!("unexpected first line {line:?}"),
                Ok(Ok(None)) => "the process exited before listening".to_owned(),
                Ok(Err(err)) => format!("reading its stdout: {err}"),
            };
            let stderr = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
            panic!(
                "oidc-provider ({}): {why}\nstderr:\n{stderr}",
                script.display()
            );
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        OidcProvider {
            issuer,
            child,
            stderr,
        }
    }

    /// `http://127.0.0.1:<port>`; discovery is under `/.well-known/openid-configuration`,
    /// the authorization endpoint is `/auth`, the token endpoint `/token`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The last 8000 bytes the process wrote to stderr (for failure messages).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Sign in at oidc-provider through its development login and consent pages, over plain
/// HTTP with a cookie jar and no automatic redirects, and return the URL the provider
/// finally redirects to: the client's `redirect_uri` with `code`, `state` and `iss` (or an
/// `error`).
///
/// `authorization_url` is the full authorization request the RP built (it must carry
/// `redirect_uri`); `login` becomes the subject (see [`OidcProvider`] for the `+unverified`
/// and `+admin` tags).
///
/// # Panics
/// On an unexpected answer, with the hops so far.
pub async fn oidc_provider_sign_in(authorization_url: &str, login: &str) -> String {
    let start = Url::parse(authorization_url).expect("authorization URL");
    let redirect_uri = start
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("the authorization URL has no redirect_uri");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");

    let mut trail: Vec<String> = Vec::new();
    let mut next = start;
    for _ in 0..12 {
        let response = client
            .get(next.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {next}: {e}\nhops:\n{}", trail.join("\n")));
        let status = response.status();
        trail.push(format!("GET {next} -> {status}"));
        let response = if status == StatusCode::OK && next.path().starts_with("/interaction/") {
            let page = response.text().await.expect("interaction page");
            let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
                vec![("prompt", "login"), ("login", login), ("password", "x")]
            } else if page.contains(r#"name="prompt" value="consent""#) {
                vec![("prompt", "consent")]
            } else {
                panic!(
                    "interaction page without a login or consent form at {next}:\n{page}\nhops:\n{}",
                    trail.join("\n")
                );
            };
            let response = client
                .post(next.clone())
                .form(&form)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {next}: {e}\nhops:\n{}", trail.join("\n")));
            trail.push(format!(
                "POST {next} prompt={} -> {}",
                form[0].1,
                response.status()
            ));
            response
        } else {
            response
        };
        let status = response.status();
        if !status.is_redirection() {
            let body = response.text().await.unwrap_or_default();
            panic!(
                "oidc-provider answered {status} instead of a redirect:\n{body}\nhops:\n{}",
                trail.join("\n")
            );
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("redirect without Location\nhops:\n{}", trail.join("\n")))
            .to_owned();
        let target = next
            .join(&location)
            .unwrap_or_else(|e| panic!("Location {location:?}: {e}"));
        if target.as_str().starts_with(&redirect_uri) {
            return target.into();
        }
        next = target;
    }
    panic!("too many hops:\n{}", trail.join("\n"));
}
