//! Reading credentials out of a request: the `Authorization` header, a named header, a query
//! parameter or a cookie. Every reader bounds what it accepts and never panics.

use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;

/// The longest `Authorization` header value accepted (8 KiB). Access tokens with many claims
/// stay well below; anything longer is refused before it is decoded.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// The longest API key accepted, in bytes.
pub const MAX_API_KEY_LEN: usize = 1024;

/// A defect in how credentials were sent. The text is fixed: it never contains request data.
pub(crate) type Defect = &'static str;

/// Returns the credentials of an `Authorization: <scheme> <credentials>` header.
///
/// `Ok(None)` when there is no header or it names another scheme (so that alternatives can be
/// tried), or when the credentials part is empty (as FastAPI treats it). The scheme is compared
/// case-insensitively (RFC 9110 §11.1) and the credentials are trimmed.
pub(crate) fn authorization<'a>(parts: &'a Parts, scheme: &str) -> Result<Option<&'a str>, Defect> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one Authorization header");
    }
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err("Authorization header too long");
    }
    let value = value
        .to_str()
        .map_err(|_| "Authorization header is not visible ASCII")?;
    let value = value.trim_start();
    let (name, credentials) = match value.split_once(' ') {
        Some((name, rest)) => (name, rest.trim()),
        None => (value.trim_end(), ""),
    };
    if !name.eq_ignore_ascii_case(scheme) || credentials.is_empty() {
        return Ok(None);
    }
    Ok(Some(credentials))
}

/// Whether `token` matches RFC 6750 §2.1 `b64token`:
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The value of header `name` (any case). `Ok(None)` when absent or empty.
pub(crate) fn header<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, Defect> {
    let mut values = parts.headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("header repeated");
    }
    if value.len() > MAX_API_KEY_LEN {
        return Err("header value too long");
    }
    let value = value
        .to_str()
        .map_err(|_| "header value is not visible ASCII")?
        .trim();
    Ok((!value.is_empty()).then_some(value))
}

/// The value of query parameter `name`, percent-decoded. `Ok(None)` when absent or empty.
/// A parameter given twice is refused rather than guessed at (parameter pollution).
pub(crate) fn query(parts: &Parts, name: &str) -> Result<Option<String>, Defect> {
    let Some(query) = parts.uri.query() else {
        return Ok(None);
    };
    let mut found: Option<String> = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err("query parameter repeated");
        }
        if value.len() > MAX_API_KEY_LEN {
            return Err("query parameter too long");
        }
        found = Some(value.into_owned());
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// The value of cookie `name`. `Ok(None)` when absent or empty. When several cookies share the
/// name, the first wins: user agents send the most specific path first (RFC 6265 §5.4).
pub(crate) fn cookie(parts: &Parts, name: &str) -> Result<Option<String>, Defect> {
    for header in parts.headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for parsed in cookie::Cookie::split_parse(header) {
            let Ok(parsed) = parsed else {
                continue;
            };
            if parsed.name() != name {
                continue;
            }
            let value = parsed.value();
            if value.len() > MAX_API_KEY_LEN {
                return Err("cookie too long");
            }
            return Ok((!value.is_empty()).then(|| value.to_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(headers: &[(&str, &[u8])], uri: &str) -> Parts {
        let mut builder = Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn authorization_scheme_is_case_insensitive_and_trimmed() {
        let p = parts(&[("authorization", b"bEaReR   abc  ")], "/");
        assert_eq!(authorization(&p, "Bearer"), Ok(Some("abc")));
    }

    #[test]
    fn authorization_other_scheme_or_empty_is_absent() {
        let p = parts(&[("authorization", b"Basic abc")], "/");
        assert_eq!(authorization(&p, "Bearer"), Ok(None));
        let p = parts(&[("authorization", b"Bearer")], "/");
        assert_eq!(authorization(&p, "Bearer"), Ok(None));
        let p = parts(&[("authorization", b"Bearer    ")], "/");
        assert_eq!(authorization(&p, "Bearer"), Ok(None));
        let p = parts(&[], "/");
        assert_eq!(authorization(&p, "Bearer"), Ok(None));
    }

    #[test]
    fn authorization_defects() {
        let p = parts(
            &[
                ("authorization", b"Bearer a"),
                ("authorization", b"Bearer b"),
            ],
            "/",
        );
        assert!(authorization(&p, "Bearer").is_err());
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_LEN));
        let p = parts(&[("authorization", long.as_bytes())], "/");
        assert!(authorization(&p, "Bearer").is_err());
        let p = parts(&[("authorization", b"Bearer \xff\xfe")], "/");
        assert!(authorization(&p, "Bearer").is_err());
    }

    #[test]
    fn b64token_grammar() {
        assert!(is_b64token("abc.DEF-_~+/=="));
        assert!(!is_b64token("==="));
        assert!(!is_b64token("a b"));
        assert!(!is_b64token("a=b"));
        assert!(!is_b64token("a,b"));
    }

    #[test]
    fn query_decodes_and_refuses_repeats() {
        let p = parts(&[], "/?a=1&api_key=k%2By&b=2");
        assert_eq!(query(&p, "api_key"), Ok(Some("k+y".into())));
        let p = parts(&[], "/?api_key=a&api_key=b");
        assert!(query(&p, "api_key").is_err());
        let p = parts(&[], "/?api_key=");
        assert_eq!(query(&p, "api_key"), Ok(None));
    }

    #[test]
    fn cookie_first_wins_and_garbage_is_skipped() {
        let p = parts(&[("cookie", b"x=1; api_key=first; api_key=second")], "/");
        assert_eq!(cookie(&p, "api_key"), Ok(Some("first".into())));
        let p = parts(&[("cookie", b";;; =; api_key=v")], "/");
        assert_eq!(cookie(&p, "api_key"), Ok(Some("v".into())));
        let p = parts(&[("cookie", b"other=1")], "/");
        assert_eq!(cookie(&p, "api_key"), Ok(None));
    }

    #[test]
    fn header_value_bounds() {
        let name = "X-API-Key";
        let p = parts(&[("x-api-key", b"  k  ")], "/");
        assert_eq!(header(&p, name), Ok(Some("k")));
        let long = "k".repeat(MAX_API_KEY_LEN + 1);
        let p = parts(&[("x-api-key", long.as_bytes())], "/");
        assert!(header(&p, name).is_err());
        let p = parts(&[("x-api-key", b"\xc3\xa9")], "/");
        assert!(header(&p, name).is_err());
    }
}
