//! The session and anti-CSRF cookies: reading them from a request, writing them at login,
//! clearing them at logout.

use std::fmt;

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use cookie::{Cookie, SameSite};
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::id::SESSION_ID_LEN;
use super::{SessionError, SessionId};
use crate::parse::Defect;

/// The most session cookies of one name looked at when rotating or destroying sessions.
const MAX_SESSION_COOKIES: usize = 4;

/// Calls `found` with each value of cookie `name` in the request's `Cookie` headers.
/// Unparseable pairs and headers are skipped, as a browser would never send them.
fn each_value<'h>(headers: &'h HeaderMap, name: &str, mut found: impl FnMut(&'h str) -> bool) {
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() == name && !found(value.trim()) {
                return;
            }
        }
    }
}

/// The session id in cookie `name`: `Ok(None)` when there is no such cookie (or it is
/// empty), an error when it is not a well-formed id (too long, wrong characters) or is sent
/// twice — two cookies of one name mean one was planted (only possible without the
/// `__Host-` prefix), and neither is trusted.
pub(crate) fn session_id(headers: &HeaderMap, name: &str) -> Result<Option<SessionId>, Defect> {
    let mut result = Ok(None);
    let mut seen = 0usize;
    each_value(headers, name, |value| {
        seen += 1;
        result = if seen > 1 {
            Err("session cookie repeated")
        } else if value.is_empty() {
            Ok(None)
        } else if value.len() > SESSION_ID_LEN {
            Err("session cookie too long")
        } else {
            SessionId::parse(value)
                .map(Some)
                .ok_or("session cookie malformed")
        };
        seen == 1 // stop at the second
    });
    result
}

/// Every well-formed id in cookie `name` (at most a few): what a login or logout destroys.
pub(crate) fn all_session_ids(headers: &HeaderMap, name: &str) -> Vec<SessionId> {
    let mut ids = Vec::new();
    each_value(headers, name, |value| {
        if let Some(id) = SessionId::parse(value) {
            ids.push(id);
        }
        ids.len() < MAX_SESSION_COOKIES
    });
    ids
}

/// The names and attributes the cookies are written with.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) session_name: String,
    pub(crate) csrf_name: String,
    pub(crate) secure: bool,
    /// `Max-Age` of the session cookie, in seconds, when persistent.
    pub(crate) max_age: Option<u64>,
}

impl CookieSettings {
    /// `name=value; HttpOnly?; SameSite=Lax; Secure; Path=/` (+ `Max-Age`). Never a `Domain`:
    /// a host-only cookie, as the `__Host-` prefix requires (RFC 6265bis §4.1.3.2).
    /// `SameSite=Lax` keeps the cookie off cross-site subrequests and cross-site POSTs
    /// (RFC 6265bis §5.6.7) while a link from another site still arrives logged in.
    fn build<'c>(&self, name: &'c str, value: &'c str, http_only: bool) -> Cookie<'c> {
        Cookie::build((name, value))
            .http_only(http_only)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .build()
    }

    fn header(cookie: &Cookie<'_>) -> Result<HeaderValue, SessionError> {
        HeaderValue::try_from(cookie.to_string())
            .map_err(|_| SessionError::Config("cookie not a valid header value"))
    }

    pub(crate) fn login(&self, id: &SessionId, csrf_token: &str) -> Result<LoggedIn, SessionError> {
        let mut session = self.build(&self.session_name, id.as_str(), true);
        let mut csrf = self.build(&self.csrf_name, csrf_token, false);
        if let Some(seconds) = self.max_age {
            let age = cookie::time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
            session.set_max_age(age);
            csrf.set_max_age(age);
        }
        Ok(LoggedIn {
            cookies: [Self::header(&session)?, Self::header(&csrf)?],
            csrf_token: csrf_token.to_owned(),
        })
    }

    pub(crate) fn logout(&self) -> Result<LoggedOut, SessionError> {
        let mut session = self.build(&self.session_name, "", true);
        let mut csrf = self.build(&self.csrf_name, "", false);
        session.make_removal();
        csrf.make_removal();
        Ok(LoggedOut {
            cookies: [Self::header(&session)?, Self::header(&csrf)?],
        })
    }
}

fn no_store() -> HeaderValue {
    HeaderValue::from_static("no-store")
}

/// A started session: the `Set-Cookie` headers for the session id and the anti-CSRF
/// token, and `Cache-Control: no-store` so no cache keeps a response that sets them.
///
/// Add it to the login response (`(logged_in, Redirect::to("/"))`), or answer it alone
/// (204). [`csrf_token`](Self::csrf_token) is also in the readable CSRF cookie; a JSON
/// login may return it in its body for clients that keep no cookies of their own.
///
/// ```
/// use axum::http::HeaderMap;
/// use axum::response::{IntoResponse, Redirect};
/// use warden::session::{MemoryStore, SessionConfig, Sessions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions: Sessions = Sessions::new(MemoryStore::new(), SessionConfig::new())?;
/// let logged_in = sessions.login(&HeaderMap::new(), &"alice").await?;
/// let response = (logged_in, Redirect::to("/")).into_response();
/// let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
/// assert!(cookies[0].to_str()?.starts_with("__Host-session="));
/// assert!(cookies[0].to_str()?.contains("HttpOnly"));
/// # Ok(()) }
/// ```
#[must_use = "the session cookie reaches the browser only if this is part of the response"]
pub struct LoggedIn {
    cookies: [HeaderValue; 2],
    csrf_token: String,
}

impl LoggedIn {
    /// The new session's anti-CSRF token, for [`CSRF_HEADER`](super::CSRF_HEADER).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoggedIn([redacted])")
    }
}

impl IntoResponseParts for LoggedIn {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let headers = res.headers_mut();
        for cookie in self.cookies {
            headers.append(SET_COOKIE, cookie);
        }
        headers.insert(CACHE_CONTROL, no_store());
        Ok(res)
    }
}

impl IntoResponse for LoggedIn {
    fn into_response(self) -> Response {
        (self, StatusCode::NO_CONTENT).into_response()
    }
}

/// An ended session: `Set-Cookie` headers that delete both cookies (empty, `Max-Age=0`, with
/// the attributes they were set with, so the browser replaces them), and
/// `Cache-Control: no-store`. Add it to the logout response, or answer it alone (204).
///
/// ```
/// use axum::http::HeaderMap;
/// use axum::response::IntoResponse;
/// use warden::session::{MemoryStore, SessionConfig, Sessions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions: Sessions = Sessions::new(MemoryStore::new(), SessionConfig::new())?;
/// let response = sessions.logout(&HeaderMap::new()).await?.into_response();
/// assert_eq!(response.status(), 204);
/// assert!(response.headers()["set-cookie"].to_str()?.contains("Max-Age=0"));
/// # Ok(()) }
/// ```
#[must_use = "the cookies are cleared only if this is part of the response"]
#[derive(Debug)]
pub struct LoggedOut {
    cookies: [HeaderValue; 2],
}

impl IntoResponseParts for LoggedOut {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let headers = res.headers_mut();
        for cookie in self.cookies {
            headers.append(SET_COOKIE, cookie);
        }
        headers.insert(CACHE_CONTROL, no_store());
        Ok(res)
    }
}

impl IntoResponse for LoggedOut {
    fn into_response(self) -> Response {
        (self, StatusCode::NO_CONTENT).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_one_well_formed_id() {
        let id = SessionId::generate().unwrap();
        let h = headers(&[&format!("a=1; s={}; b=2", id.as_str())]);
        assert_eq!(session_id(&h, "s").unwrap().unwrap().key(), id.key());
        assert!(session_id(&headers(&["a=1"]), "s").unwrap().is_none());
        assert!(session_id(&headers(&["s="]), "s").unwrap().is_none());
        assert!(session_id(&HeaderMap::new(), "s").unwrap().is_none());
    }

    #[test]
    fn refuses_malformed_long_and_repeated() {
        let id = SessionId::generate().unwrap();
        assert!(session_id(&headers(&["s=abc"]), "s").is_err());
        assert!(session_id(&headers(&[&format!("s={}", "A".repeat(5000))]), "s").is_err());
        let twice = format!("s={0}; s={0}", id.as_str());
        assert!(session_id(&headers(&[&twice]), "s").is_err());
        let split = [format!("s={}", id.as_str()), "s=x".to_owned()];
        assert!(session_id(&headers(&[&split[0], &split[1]]), "s").is_err());
    }

    #[test]
    fn all_ids_skips_garbage_and_is_bounded() {
        let ids: Vec<_> = (0..6).map(|_| SessionId::generate().unwrap()).collect();
        let value = ids
            .iter()
            .map(|id| format!("s={}", id.as_str()))
            .chain(["s=junk".to_owned()])
            .collect::<Vec<_>>()
            .join("; ");
        let found = all_session_ids(&headers(&[&value]), "s");
        assert_eq!(found.len(), MAX_SESSION_COOKIES);
        assert_eq!(found[0].key(), ids[0].key());
    }

    #[test]
    fn cookie_attributes() {
        let settings = CookieSettings {
            session_name: "__Host-session".into(),
            csrf_name: "__Host-csrf".into(),
            secure: true,
            max_age: None,
        };
        let id = SessionId::generate().unwrap();
        let login = settings.login(&id, "tok").unwrap();
        let session = login.cookies[0].to_str().unwrap();
        assert_eq!(
            session,
            format!(
                "__Host-session={}; HttpOnly; SameSite=Lax; Secure; Path=/",
                id.as_str()
            )
        );
        assert_eq!(
            login.cookies[1].to_str().unwrap(),
            "__Host-csrf=tok; SameSite=Lax; Secure; Path=/"
        );
        let logout = settings.logout().unwrap();
        let cleared = logout.cookies[0].to_str().unwrap();
        assert!(
            cleared
                .starts_with("__Host-session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0")
        );
    }
}
