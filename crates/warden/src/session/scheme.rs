//! How a session scheme is named: in the OpenAPI document and in its cookies.

/// The names of a cookie session scheme, like [`ApiKeyScheme`](crate::ApiKeyScheme) for
/// API keys: they are types so that the OpenAPI document, written before any request,
/// names the same cookie the extractors read.
///
/// Both cookie names must start with `__Host-` (checked by
/// [`Sessions::new`](super::Sessions::new)). A browser accepts such a cookie only if it
/// is `Secure`, has `Path=/` and no `Domain` (RFC 6265bis §4.1.3.2), so it is bound to
/// this exact origin: a sibling subdomain or a plain-HTTP response (an active network
/// attacker) can neither set nor overwrite it, which rules out planting a session id
/// (session fixation) or a CSRF cookie from next door.
///
/// Over plain HTTP during development
/// ([`SessionConfig::insecure_http`](super::SessionConfig::insecure_http)) browsers refuse
/// `__Host-` cookies, so the prefix is dropped there (`__Host-session` becomes `session`);
/// the OpenAPI document keeps naming the production cookie.
///
/// ```
/// use warden::session::{Session, SessionScheme};
///
/// struct Console;
/// impl SessionScheme for Console {
///     const SCHEME_NAME: &'static str = "ConsoleSession";
///     const COOKIE_NAME: &'static str = "__Host-console";
///     const CSRF_COOKIE_NAME: &'static str = "__Host-console-csrf";
/// }
///
/// async fn dashboard(session: Session<String, Console>) -> String {
///     session.data().clone()
/// }
/// ```
pub trait SessionScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The session cookie (`HttpOnly`): `__Host-` and a cookie-name token.
    const COOKIE_NAME: &'static str;
    /// The cookie carrying the anti-CSRF token, readable by the page's scripts so they can
    /// echo it in [`CSRF_HEADER`](super::CSRF_HEADER): `__Host-` and a token.
    const CSRF_COOKIE_NAME: &'static str = "__Host-csrf";
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The default scheme: `SessionCookie` in the document, cookies `__Host-session` and
/// `__Host-csrf` (`session` and `csrf` over plain HTTP in development).
///
/// ```
/// use warden::session::{DefaultSession, SessionScheme};
///
/// assert_eq!(DefaultSession::COOKIE_NAME, "__Host-session");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultSession;

impl SessionScheme for DefaultSession {
    const SCHEME_NAME: &'static str = "SessionCookie";
    const COOKIE_NAME: &'static str = "__Host-session";
    const DESCRIPTION: Option<&'static str> = Some(
        "The session cookie set by logging in (named `session` when served over plain HTTP \
         in development). Unsafe methods also need a same-origin request or the \
         `X-CSRF-Token` header.",
    );
}

/// `__Host-`, the cookie-name prefix of RFC 6265bis §4.1.3.2.
pub(crate) const HOST_PREFIX: &str = "__Host-";

/// Whether `name` is `__Host-` followed by an RFC 9110 token (what a cookie name may be).
pub(crate) fn is_host_cookie_name(name: &str) -> bool {
    name.strip_prefix(HOST_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#'
                            | b'$'
                            | b'%'
                            | b'&'
                            | b'\''
                            | b'*'
                            | b'+'
                            | b'-'
                            | b'.'
                            | b'^'
                            | b'_'
                            | b'`'
                            | b'|'
                            | b'~'
                    )
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names() {
        assert!(is_host_cookie_name("__Host-session"));
        assert!(is_host_cookie_name("__Host-a.b_c-d"));
        assert!(!is_host_cookie_name("session"));
        assert!(!is_host_cookie_name("__Host-"));
        assert!(!is_host_cookie_name("__host-session"));
        assert!(!is_host_cookie_name("__Host-a=b"));
        assert!(!is_host_cookie_name("__Host-a b"));
        assert!(!is_host_cookie_name("__Host-a;b"));
    }
}
