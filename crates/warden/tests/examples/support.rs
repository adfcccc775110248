//! Starts an example binary on a free loopback port and talks to it over real HTTP.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

/// A running example; killed when dropped.
pub struct Example {
    child: Child,
    pub base: String,
    pub client: reqwest::Client,
}

/// `target/<profile>/examples/<name>`, next to this test binary's `deps/` folder.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    profile_dir.join("examples").join(name)
}

impl Example {
    /// Starts example `name` with `env`, waiting for its `listening on` line.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let path = binary(name);
        assert!(
            path.exists(),
            "{} is missing: build the examples first (`cargo test` does)",
            path.display()
        );
        assert_fresh(name, &path);
        let mut child = Command::new(&path)
            .env("WARDEN_BIND", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the example never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} did not report its address within 30 s"));
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line}"))
            .to_owned();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self {
            child,
            base,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// The example's OpenAPI document.
    pub async fn openapi(&self) -> Value {
        let response = self
            .get("/openapi.json")
            .send()
            .await
            .expect("openapi.json");
        assert_eq!(response.status(), 200);
        response.json().await.expect("openapi.json is JSON")
    }
}

/// Refuses to test a binary older than its sources: `cargo test --test examples` alone does
/// not rebuild the examples, and testing stale code would prove nothing.
fn assert_fresh(name: &str, binary: &std::path::Path) {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(binary) else {
        return;
    };
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut sources = vec![examples.join(format!("{name}.rs"))];
    if let Ok(common) = std::fs::read_dir(examples.join("common")) {
        sources.extend(common.flatten().map(|e| e.path()));
    }
    for source in sources {
        if modified(&source).is_some_and(|changed| changed > built) {
            panic!(
                "{} is older than {}: run `cargo build -p warden --examples` (or plain `cargo test`)",
                binary.display(),
                source.display()
            );
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status, `WWW-Authenticate` values and JSON body of a response.
pub struct Answer {
    pub status: u16,
    pub challenges: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub async fn answer(response: Result<Response, reqwest::Error>) -> Answer {
    let response = response.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let challenges = headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ASCII challenge").to_owned())
        .collect();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        challenges,
        headers,
        body,
    }
}

/// `security` of `method path` and the document's `securitySchemes`.
pub fn security(doc: &Value, path: &str, method: &str) -> Value {
    doc["paths"][path][method]["security"].clone()
}

/// A random secret for the example under test.
pub fn secret() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// `username:password` as a Basic header value, from raw bytes.
pub fn basic(raw: &[u8]) -> reqwest::header::HeaderValue {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    reqwest::header::HeaderValue::from_str(&format!("Basic {encoded}")).expect("ASCII")
}
