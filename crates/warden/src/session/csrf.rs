//! Cross-site request forgery: which unsafe requests are let through.
//!
//! Browsers attach cookies to requests that other sites trigger, so a cookie alone does not
//! say the user meant the request. The check, run by [`SessionLayer`](super::SessionLayer)
//! on every request with an unsafe method (anything but `GET`, `HEAD`, `OPTIONS`; RFC 9110
//! §9.2.1), in this order:
//!
//! 1. `Origin` is one of [`SessionConfig::allow_origin`](super::SessionConfig::allow_origin)'s
//!    origins: let through (a front end of yours on another origin).
//! 2. `Sec-Fetch-Site` is present (every current browser sends it; W3C Fetch Metadata
//!    Request Headers §2.4, and the header cannot be set by page scripts): `same-origin`
//!    or `none` (the user typed or bookmarked it) is let through, `same-site`,
//!    `cross-site` or anything else is refused. `same-site` is refused on purpose: a
//!    sibling subdomain is another application.
//! 3. Else, `Origin` is present (browsers without Fetch Metadata send it on every POST):
//!    it must be the request's own origin (the configured scheme, `https` unless
//!    [`insecure_http`](super::SessionConfig::insecure_http), and the `Host`); `null` and
//!    anything else is refused. This is OWASP's "Verifying Origin With Standard Headers",
//!    the fallback the CSRF Prevention Cheat Sheet requires next to Fetch Metadata.
//! 4. Else (neither header: a very old browser, or not a browser at all) the request must
//!    carry the session's anti-CSRF token in [`CSRF_HEADER`] when it carries a live
//!    session cookie (OWASP's synchronizer token pattern: a random per-session token kept in
//!    the session record, compared in constant time). The token reaches clients in the
//!    readable `__Host-csrf` cookie set at login (JavaScript echoes it: the double-submit
//!    delivery, but checked against the server's copy, so a planted cookie is worthless)
//!    and through [`Session::csrf_token`](super::Session::csrf_token). A request with no
//!    session cookie carries no authority to forge and is let through.
//!
//! This is the algorithm of Go's `net/http.CrossOriginProtection` (steps 1–3) with a token
//! instead of a pass for step 4. It runs before any handler, so handlers need no CSRF code,
//! and it covers login forms too (login CSRF: a forged login into the attacker's account).
//! `SameSite=Lax` on the session cookie is a second line for browsers that support it.
//!
//! A refusal is `403 {"detail": "CSRF check failed"}`, whatever the reason (logged at
//! debug level).

use http::header::{HOST, ORIGIN};
use http::request::Parts;
use http::{HeaderMap, Method};

use super::config::normalize_origin;

/// The header that carries the anti-CSRF token: `X-CSRF-Token`.
pub const CSRF_HEADER: &str = "x-csrf-token";

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Longest `Origin` or `Sec-Fetch-Site` considered; longer is refused.
const MAX_HEADER_LEN: usize = 512;

/// What the header checks concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Refuse(&'static str),
    /// Neither `Sec-Fetch-Site` nor `Origin`: the token decides.
    NeedToken,
}

/// Whether `method` is safe (RFC 9110 §9.2.1) and therefore never checked. `TRACE` is
/// safe too, but has no business reaching an application: it is checked like `POST`.
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The one value of header `name`, if sent once, bounded and visible ASCII.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, &'static str> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("header repeated");
    }
    if value.len() > MAX_HEADER_LEN {
        return Err("header too long");
    }
    value
        .to_str()
        .map(|v| Some(v.trim()))
        .map_err(|_| "header not ASCII")
}

/// The request's own origin: the configured scheme and the `Host` (or, in HTTP/2, the
/// `:authority`), without the scheme's default port.
fn own_origin(parts: &Parts, secure: bool) -> Option<String> {
    let host = match parts.headers.get(HOST) {
        Some(host) => host.to_str().ok()?,
        None => parts.uri.authority()?.as_str(),
    };
    let scheme = if secure { "https" } else { "http" };
    let default_port = if secure { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    normalize_origin(&format!("{scheme}://{host}"))
}

/// Steps 1–3 of the module documentation, for an unsafe request.
pub(crate) fn check_headers(parts: &Parts, allowed: &[String], secure: bool) -> Verdict {
    let origin = match single(&parts.headers, ORIGIN.as_str()) {
        Ok(origin) => origin,
        Err(defect) => return Verdict::Refuse(defect),
    };
    let origin = origin.map(|o| (o, normalize_origin(o)));
    if let Some((_, Some(normalized))) = &origin
        && allowed.iter().any(|a| a == normalized)
    {
        return Verdict::Allow;
    }
    match single(&parts.headers, SEC_FETCH_SITE) {
        Err(defect) => return Verdict::Refuse(defect),
        Ok(Some(site)) => {
            return if site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")
            {
                Verdict::Allow
            } else {
                Verdict::Refuse("Sec-Fetch-Site is not same-origin")
            };
        }
        Ok(None) => {}
    }
    match origin {
        None => Verdict::NeedToken,
        Some((_, None)) => Verdict::Refuse("Origin is null or not an origin"),
        Some((_, Some(normalized))) => {
            if own_origin(parts, secure).is_some_and(|own| own == normalized) {
                Verdict::Allow
            } else {
                Verdict::Refuse("Origin is another origin")
            }
        }
    }
}

/// The token in [`CSRF_HEADER`], if sent once and of a plausible size.
pub(crate) fn header_token(headers: &HeaderMap) -> Option<&str> {
    single(headers, CSRF_HEADER)
        .ok()
        .flatten()
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/x");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn check(headers: &[(&str, &str)]) -> Verdict {
        let allowed = vec!["https://admin.example.com".to_owned()];
        check_headers(&parts("POST", headers), &allowed, true)
    }

    #[test]
    fn safe_methods() {
        assert!(is_safe(&Method::GET) && is_safe(&Method::HEAD) && is_safe(&Method::OPTIONS));
        for m in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::TRACE,
        ] {
            assert!(!is_safe(&m), "{m}");
        }
        assert!(!is_safe(&Method::from_bytes(b"PROPFIND").unwrap()));
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(check(&[("sec-fetch-site", "same-origin")]), Verdict::Allow);
        assert_eq!(check(&[("sec-fetch-site", "none")]), Verdict::Allow);
        for site in ["same-site", "cross-site", "bogus"] {
            assert!(
                matches!(check(&[("sec-fetch-site", site)]), Verdict::Refuse(_)),
                "{site}"
            );
        }
        // A same-origin verdict wins over a stale Origin; a cross-site one over a matching Host.
        assert!(matches!(
            check(&[
                ("sec-fetch-site", "cross-site"),
                ("host", "app.example.com"),
                ("origin", "https://app.example.com")
            ]),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn allowed_origins_pass_even_cross_site() {
        assert_eq!(
            check(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://admin.example.com")
            ]),
            Verdict::Allow
        );
        assert_eq!(
            check(&[("origin", "https://ADMIN.example.com")]),
            Verdict::Allow
        );
    }

    #[test]
    fn origin_fallback_compares_with_host() {
        let host = ("host", "app.example.com");
        assert_eq!(
            check(&[host, ("origin", "https://app.example.com")]),
            Verdict::Allow
        );
        assert_eq!(
            check(&[
                ("host", "app.example.com:443"),
                ("origin", "https://app.example.com")
            ]),
            Verdict::Allow
        );
        for origin in [
            "http://app.example.com",
            "https://evil.example",
            "null",
            "https://app.example.com:8443",
        ] {
            assert!(
                matches!(check(&[host, ("origin", origin)]), Verdict::Refuse(_)),
                "{origin}"
            );
        }
        let insecure = check_headers(
            &parts(
                "POST",
                &[
                    ("host", "localhost:8000"),
                    ("origin", "http://localhost:8000"),
                ],
            ),
            &[],
            false,
        );
        assert_eq!(insecure, Verdict::Allow);
    }

    #[test]
    fn neither_header_needs_the_token_and_repeats_are_refused() {
        assert_eq!(check(&[("host", "app.example.com")]), Verdict::NeedToken);
        let twice = parts(
            "POST",
            &[
                ("origin", "https://a.example"),
                ("origin", "https://a.example"),
            ],
        );
        assert!(matches!(
            check_headers(&twice, &[], true),
            Verdict::Refuse(_)
        ));
        let long = "x".repeat(MAX_HEADER_LEN + 1);
        assert!(matches!(
            check(&[("sec-fetch-site", &long)]),
            Verdict::Refuse(_)
        ));
    }
}
