//! What the servers share: the listener, random values, PKCE and client credentials.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request to a token endpoint, as received: its form and its HTTP Basic credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The form parameters in order, percent-decoded.
    pub form: Vec<(String, String)>,
    /// `Authorization: Basic` credentials (client id, secret), decoded per RFC 6749 §2.3.1
    /// (base64, then form-urlencoding), or `None` when the header was absent or another scheme.
    pub basic_auth: Option<(String, String)>,
    /// The `Accept` header, if any.
    pub accept: Option<String>,
}

impl TokenRequest {
    /// The first value of form parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client authenticated with `client_secret_basic`.
    pub fn used_basic_auth(&self) -> bool {
        self.basic_auth.is_some()
    }
}

/// A server task on 127.0.0.1:0; aborted on drop.
pub(crate) struct Server {
    task: JoinHandle<()>,
}

impl Server {
    /// Bind 127.0.0.1 on a port of the system's choice; returns the listener and its base URL.
    pub(crate) async fn bind() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        (listener, format!("http://{addr}"))
    }

    pub(crate) fn serve(listener: TcpListener, router: Router) -> Server {
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server { task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// 256 random bits, base64url.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A short random identifier (key ids).
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 6];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
/// The same syntax holds for a `code_challenge` (§4.2).
pub(crate) fn valid_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Parse a form or query string; `Err(name)` when a parameter appears twice
/// (RFC 6749 §3.1 and §3.2: "MUST NOT be included more than once").
pub(crate) fn parse_unique(input: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(input) {
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(k.into_owned());
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

pub(crate) fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `Authorization: Basic` per RFC 6749 §2.3.1: base64 of `id:secret`, each part
/// form-urlencoded. `Ok(None)` without the header or with another scheme; `Err` when malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ()> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// `application/x-www-form-urlencoded` decoding of one value ('+' is a space).
fn form_decode(value: &str) -> String {
    // Raw '&' and '=' are not separators here.
    let escaped = value.replace('&', "%26").replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// A bearer token from `Authorization: <one of schemes> <token>` (case-insensitive scheme).
pub(crate) fn bearer<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (schemes.iter().any(|s| scheme.eq_ignore_ascii_case(s)) && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let raw = STANDARD.encode("my+client%3A1:p%C3%A4ss+w%2Bord");
        headers.insert(AUTHORIZATION, format!("Basic {raw}").parse().unwrap());
        assert_eq!(
            basic_credentials(&headers),
            Ok(Some(("my client:1".into(), "päss w+ord".into())))
        );
    }
}
