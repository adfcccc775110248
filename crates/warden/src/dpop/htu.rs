//! The `htu` claim: the request's URI, compared after RFC 3986 §6.2.2 syntax-based and
//! §6.2.3 scheme-based normalisation (RFC 9449 §4.3, check 9).
//!
//! The URI a proof is checked against is built from the configured public URL and the path
//! the server received, never from the `Host` header: behind a proxy the `Host` is the
//! proxy's choice, and a client could pick what its proof is compared with.

/// The longest `htu` considered; longer ones are refused before any work.
pub(crate) const MAX_HTU_BYTES: usize = 2048;

/// `uri` in normal form, without its query and fragment, or `None` if it is not an absolute
/// `http`/`https` URI this module can normalise.
///
/// - scheme and host in lower case (§6.2.2.1), the scheme's default port removed and an
///   empty port dropped (§6.2.3), an empty path made `/` (§6.2.3);
/// - percent-encodings of unreserved characters decoded, the others' hex digits in upper case
///   (§6.2.2.1, §6.2.2.2);
/// - `.` and `..` segments removed (§6.2.2.3, with the algorithm of §5.2.4);
/// - nothing else: empty segments and a trailing slash are kept (`/a//b/` is not `/a/b`).
pub(crate) fn normalize(uri: &str) -> Option<String> {
    if uri.len() > MAX_HTU_BYTES {
        return None;
    }
    // RFC 9449 §4.3 check 9: the query and fragment are not compared.
    let uri = uri.split(['#', '?']).next().unwrap_or("");
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        // No host, or user information (which has no place in a request target).
        return None;
    }
    let (host, port) = split_port(authority)?;
    let mut out = String::with_capacity(uri.len());
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = port.filter(|p| *p != default_port) {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path = if path.is_empty() { "/" } else { path };
    out.push_str(&remove_dot_segments(&normalize_percent(path)?));
    Some(out)
}

/// Splits `host[:port]` (the host possibly an IPv6 literal in brackets); the port, when
/// present, is a number from 1 to 65535 (an empty port is no port, RFC 3986 §6.2.3).
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, after) = authority.split_at(end + 1);
        match after.strip_prefix(':') {
            Some(port) => (host, port),
            None if after.is_empty() => (host, ""),
            None => return None,
        }
    } else {
        authority.rsplit_once(':').unwrap_or((authority, ""))
    };
    if host.is_empty() {
        return None;
    }
    if port.is_empty() {
        return Some((host, None));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Compared as numbers: leading zeros name the same port.
    match port.parse::<u16>() {
        Ok(0) | Err(_) => None,
        Ok(port) => Some((host, Some(port))),
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes `%XX` of unreserved characters and upper-cases the hex digits of the others;
/// `None` for a `%` not followed by two hex digits.
fn normalize_percent(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            if is_unreserved(value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            // Only ASCII reaches here through a valid header; any other char is kept as is.
            let c = path[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

/// RFC 3986 §5.2.4 on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    // Each element of `output` is a segment with its leading slash.
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            output.pop();
        } else if input == "/.." {
            input = "/";
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(uri: &str) -> Option<String> {
        normalize(uri)
    }

    #[test]
    fn equivalent_forms_compare_equal() {
        let expected = Some("https://api.example.com/items/1".to_owned());
        for uri in [
            "https://api.example.com/items/1",
            "HTTPS://API.Example.COM/items/1",
            "https://api.example.com:443/items/1",
            "https://api.example.com/items/./1",
            "https://api.example.com/a/../items/1",
            "https://api.example.com/%69tems/1",
            "https://api.example.com/items/1?page=2#top",
        ] {
            assert_eq!(n(uri), expected, "{uri}");
        }
        assert_eq!(n("http://h"), Some("http://h/".into()));
        assert_eq!(n("http://h:80"), Some("http://h/".into()));
        assert_eq!(n("http://h:8080/x"), Some("http://h:8080/x".into()));
        assert_eq!(n("http://[::1]:3000/x"), Some("http://[::1]:3000/x".into()));
        assert_eq!(n("http://h/a%2fb"), Some("http://h/a%2Fb".into()));
    }

    #[test]
    fn different_resources_stay_different() {
        // Empty segments and trailing slashes are significant (unlike dpop-verifier 4's
        // `normalize_htu`, which drops empty segments).
        assert_ne!(n("https://h/a//b"), n("https://h/a/b"));
        assert_ne!(n("https://h/a/"), n("https://h/a"));
        assert_ne!(n("https://h/a%2Fb"), n("https://h/a/b"));
        assert_ne!(n("https://h:8443/a"), n("https://h/a"));
        assert_ne!(n("http://h/a"), n("https://h/a"));
        // Path case is significant.
        assert_ne!(n("https://h/A"), n("https://h/a"));
    }

    #[test]
    fn what_is_not_a_request_uri_is_refused() {
        for uri in [
            "",
            "/items",
            "ftp://h/x",
            "https://",
            "https:///x",
            "https://user@h/x",
            "https://h:port/x",
            "https://h/%zz",
            "https://h/%4",
            "https://[::1/x",
        ] {
            assert_eq!(n(uri), None, "{uri:?}");
        }
        assert_eq!(n(&format!("https://h/{}", "a".repeat(MAX_HTU_BYTES))), None);
    }

    #[test]
    fn rfc3986_dot_segment_examples() {
        // RFC 3986 §5.2.4 / §5.4.
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("/mid/content=5/../6"), "/mid/6");
        assert_eq!(remove_dot_segments("/../../g"), "/g");
        assert_eq!(remove_dot_segments("/a/b/.."), "/a/");
    }
}
