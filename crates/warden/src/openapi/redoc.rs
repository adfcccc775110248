//! ReDoc at `/redoc`: the page, its two scripts, and the headers that let it render under a
//! strict Content-Security-Policy.
//!
//! The page holds no inline script: ReDoc's standalone bundle (vendored from the `redoc` npm
//! package, see `assets/redoc/README.md`) and a small start-up script are separate files. ReDoc
//! styles itself with `<style>` elements made at run time; each page gets a fresh nonce, which
//! the start-up script hands to ReDoc for those elements, and the two the bundle makes before
//! that are allowed by their digests, so `style-src` needs no `'unsafe-inline'`. The search index runs in a worker made from a `blob:` URL. Nothing is
//! loaded from another origin.

use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};

/// The version of the vendored bundle; a new version gets a new asset URL.
pub(super) const REDOC_VERSION: &str = "2.5.4";

/// `redoc` 2.5.4's `bundles/redoc.standalone.js`, with the CDN logo removed.
static BUNDLE: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

/// Calls `Redoc.init` with the document's URL and the page's style nonce.
static INIT: &[u8] = include_bytes!("redoc-init.js");

/// The two inline styles the bundle inserts as it loads, before ReDoc is started and given
/// the nonce: perfect-scrollbar's stylesheet (6,493 bytes), and an empty `<style>` element.
/// Allowed by their SHA-256 digests; a new bundle may change the first, which the browser
/// test (`tests/browser/redoc.test.mjs`) reports with the digest Chromium expects.
const STYLE_HASHES: &str = "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc=' \
                            'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";

/// Assets are named by version or content, so browsers may keep them for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// What the page needs to be rendered, escaped once.
struct Page {
    title: String,
    spec_url: String,
    bundle_url: String,
    init_url: String,
}

/// The routes of ReDoc under `path`: the page at `path` (and `path/`) and its scripts below.
pub(super) fn router<S: Clone + Send + Sync + 'static>(
    path: &str,
    spec_path: &str,
    title: &str,
) -> Router<S> {
    let base = path.trim_end_matches('/');
    let bundle_url = format!("{base}/redoc-{REDOC_VERSION}.standalone.js");
    let init_url = format!("{base}/redoc-init.{:016x}.js", digest(INIT));
    let page = Arc::new(Page {
        title: escape(&format!("{title} - ReDoc")),
        spec_url: escape(spec_path),
        bundle_url: escape(&bundle_url),
        init_url: escape(&init_url),
    });
    let page: MethodRouter<S> = get(move || std::future::ready(render(&page)));
    let router = if base.is_empty() {
        Router::new().route("/", page)
    } else {
        Router::new()
            .route(base, page.clone())
            .route(&format!("{base}/"), page)
    };
    router
        .route(
            &bundle_url,
            script(BUNDLE, &format!("redoc-{REDOC_VERSION}")),
        )
        .route(
            &init_url,
            script(INIT, &format!("init-{:016x}", digest(INIT))),
        )
}

/// The page, with a fresh nonce in its policy and on the start-up script.
fn render(page: &Page) -> Response {
    let mut random = [0u8; 18];
    if getrandom::fill(&mut random).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
    let Page {
        title,
        spec_url,
        bundle_url,
        init_url,
    } = page;
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style nonce="{nonce}">body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>ReDoc needs JavaScript. The OpenAPI document is at <a href="{spec_url}">{spec_url}</a>.</noscript>
<div id="redoc" data-spec-url="{spec_url}"></div>
<script src="{bundle_url}"></script>
<script src="{init_url}" nonce="{nonce}"></script>
</body>
</html>
"#
    );
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}' {STYLE_HASHES}; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    );
    let policy = HeaderValue::try_from(policy).expect("the policy is ASCII");
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CONTENT_SECURITY_POLICY, policy),
            // The nonce must not outlive this response.
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        html,
    )
        .into_response()
}

/// A script served from memory, cached for good, revalidated by its `ETag`.
fn script<S: Clone + Send + Sync + 'static>(body: &'static [u8], tag: &str) -> MethodRouter<S> {
    let etag = HeaderValue::try_from(format!("\"{tag}\"")).expect("the tag is ASCII");
    get(move |request: HeaderMap| {
        let headers = [
            (CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            (ETAG, etag.clone()),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ];
        let fresh = request
            .get_all(IF_NONE_MATCH)
            .iter()
            .any(|value| matches_etag(value, &etag));
        std::future::ready(if fresh {
            (StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (
                headers,
                [(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/javascript; charset=utf-8"),
                )],
                Bytes::from_static(body),
            )
                .into_response()
        })
    })
}

/// Whether an `If-None-Match` value names `etag` (RFC 9110 §13.1.2: weak comparison).
fn matches_etag(value: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.trim_start_matches("W/").as_bytes() == etag.as_bytes()
    })
}

/// A short content digest for cache-busting asset names (not a security measure).
fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_the_version_named_and_refers_to_no_cdn() {
        let bundle = std::str::from_utf8(BUNDLE).expect("UTF-8");
        assert!(
            bundle.contains(&format!("ReDoc Version: \",\"{REDOC_VERSION}\"")),
            "assets/redoc/redoc.standalone.js is not ReDoc {REDOC_VERSION}"
        );
        assert!(
            !bundle.contains("cdn.redoc.ly"),
            "the CDN logo patch is missing"
        );
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let etag = HeaderValue::from_static("\"redoc-2.5.4\"");
        for value in [
            "\"redoc-2.5.4\"",
            "W/\"redoc-2.5.4\"",
            "\"other\", \"redoc-2.5.4\"",
            "*",
        ] {
            assert!(
                matches_etag(&HeaderValue::from_static(value), &etag),
                "{value}"
            );
        }
        for value in ["\"redoc-2.5.3\"", "redoc-2.5.4", ""] {
            assert!(
                !matches_etag(&HeaderValue::from_static(value), &etag),
                "{value}"
            );
        }
    }
}
