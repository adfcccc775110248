//! `openapi::Docs` over real HTTP on 127.0.0.1: ReDoc's page, its scripts and their headers,
//! the document they load, and the paths `Docs` moves or turns off; with Swagger UI beside
//! it when that feature is on too.

use std::sync::OnceLock;

use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap, IF_NONE_MATCH,
};
use warden::openapi::{ApiRouter, Docs};
use warden::{OAuth2Bearer, OAuth2Flow, OAuth2Scheme, routes};

struct Oauth2;
impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
    const SCOPES: &'static [(&'static str, &'static str)] = &[("items", "Read items.")];
}

/// Items.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
async fn read_items(_: OAuth2Bearer<Oauth2>) {}

/// Serves the app with `docs` on a free port; returns its base URL.
async fn serve(title: &str, docs: Docs) -> String {
    let app = ApiRouter::new()
        .info(title, "1.0.0")
        .routes(routes!(read_items))
        .with_docs(docs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

async fn get(url: &str) -> (StatusCode, HeaderMap, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The value of `attribute` on the first tag of `html` that has it after `after`.
fn attribute<'a>(html: &'a str, after: &str, attribute: &str) -> &'a str {
    let start = html
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in {html}"));
    let rest = &html[start..];
    let at = rest
        .find(&format!("{attribute}=\""))
        .unwrap_or_else(|| panic!("no {attribute} after {after}"))
        + attribute.len()
        + 2;
    let end = rest[at..].find('"').unwrap();
    &rest[at..at + end]
}

/// The `src` of every `<script>` of `html`, in order.
fn scripts(html: &str) -> Vec<&str> {
    html.split("<script src=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

fn header(headers: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> &str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn redoc_page_loads_its_scripts_and_the_document_under_a_strict_policy() {
    let base = serve("Items API", Docs::default()).await;
    let (status, headers, html) = get(&format!("{base}/redoc")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&headers, CACHE_CONTROL), "no-store");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(html.contains("<title>Items API - ReDoc</title>"), "{html}");

    // The document: where ReDoc loads it from, and a link for readers without JavaScript.
    assert_eq!(
        attribute(&html, "<div id=\"redoc\"", "data-spec-url"),
        "/openapi.json"
    );
    assert_eq!(attribute(&html, "<noscript>", "href"), "/openapi.json");

    // No inline script: two script files of our own origin, the second carrying the nonce
    // the policy names for ReDoc's styles.
    assert_eq!(html.matches("<script").count(), 2, "{html}");
    assert!(
        scripts(&html).iter().all(|src| src.starts_with("/redoc/")),
        "{html}"
    );
    let policy = header(&headers, CONTENT_SECURITY_POLICY);
    let nonce = attribute(&html, "/redoc/redoc-init", "nonce");
    assert!(nonce.len() >= 22, "nonce {nonce:?}");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        &format!(
            "style-src 'self' 'nonce-{nonce}' 'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc=' \
             'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        ),
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ] {
        assert!(
            policy.split("; ").any(|d| d == directive),
            "{directive:?} missing from {policy}"
        );
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(!policy.contains("http"), "nothing off the origin: {policy}");

    // A fresh nonce for every page.
    let (_, again, html_again) = get(&format!("{base}/redoc/")).await;
    assert_ne!(attribute(&html_again, "/redoc/redoc-init", "nonce"), nonce);
    assert_ne!(header(&again, CONTENT_SECURITY_POLICY), policy);

    // The bundle: JavaScript, kept by browsers for good, revalidated by its ETag.
    let bundle_url = scripts(&html)[0];
    assert!(bundle_url.starts_with("/redoc/redoc-2."), "{bundle_url}");
    let (status, headers, bundle) = get(&format!("{base}{bundle_url}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header(&headers, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(bundle.len() > 1_000_000, "{} bytes", bundle.len());
    assert!(bundle.contains("Redoc"));
    assert!(!bundle.contains("cdn.redoc.ly"));
    let etag = header(&headers, ETAG).to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let response = client()
        .get(format!("{base}{bundle_url}"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(header(response.headers(), ETAG), etag);
    assert!(response.bytes().await.unwrap().is_empty());

    // The start-up script.
    let init_url = scripts(&html)[1];
    let (status, headers, init) = get(&format!("{base}{init_url}")).await;
    assert_eq!(status, 200, "{init_url}");
    assert_eq!(
        header(&headers, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(init.contains("Redoc.init("), "{init}");

    // The document both UIs load.
    let (status, headers, document) = get(&format!("{base}/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, CONTENT_TYPE), "application/json");
    let document: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(
        document["paths"]["/items"]["get"]["security"],
        serde_json::json!([{"OAuth2PasswordBearer": []}])
    );

    // An unknown asset name is not served.
    let (status, _, _) = get(&format!("{base}/redoc/redoc-0.0.0.standalone.js")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn redoc_and_the_document_can_move_and_redoc_can_be_turned_off() {
    let base = serve(
        "Moved",
        Docs::default()
            .redoc_path("/reference")
            .spec_path("/api/openapi.json"),
    )
    .await;
    let (status, _, html) = get(&format!("{base}/reference")).await;
    assert_eq!(status, 200);
    assert_eq!(
        attribute(&html, "<div id=\"redoc\"", "data-spec-url"),
        "/api/openapi.json"
    );
    let bundle_url = scripts(&html)[0];
    assert!(bundle_url.starts_with("/reference/redoc-"), "{bundle_url}");
    assert_eq!(get(&format!("{base}{bundle_url}")).await.0, 200);
    assert_eq!(get(&format!("{base}/api/openapi.json")).await.0, 200);
    assert_eq!(get(&format!("{base}/redoc")).await.0, 404);
    assert_eq!(get(&format!("{base}/openapi.json")).await.0, 404);

    let base = serve("Off", Docs::default().without_redoc()).await;
    assert_eq!(get(&format!("{base}/redoc")).await.0, 404);
    assert_eq!(get(&format!("{base}/openapi.json")).await.0, 200);
}

#[tokio::test]
async fn the_title_is_escaped() {
    let base = serve("<script>alert(1)</script> & \"co\"", Docs::default()).await;
    let (_, _, html) = get(&format!("{base}/redoc")).await;
    assert!(
        html.contains(
            "<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot; - ReDoc</title>"
        ),
        "{html}"
    );
    assert_eq!(html.matches("<script").count(), 2);
}

#[cfg(feature = "swagger-ui")]
#[tokio::test]
async fn swagger_ui_and_redoc_side_by_side_and_each_can_be_turned_off() {
    let base = serve("Both", Docs::default()).await;
    let (status, _, swagger) = get(&format!("{base}/docs/")).await;
    assert_eq!(status, 200);
    assert!(swagger.to_lowercase().contains("swagger"));
    let (status, _, config) = get(&format!("{base}/docs/swagger-initializer.js")).await;
    assert_eq!(status, 200);
    assert!(config.contains("/openapi.json"), "{config}");
    assert_eq!(get(&format!("{base}/redoc")).await.0, 200);

    let base = serve("ReDoc only", Docs::default().without_swagger_ui()).await;
    assert_eq!(get(&format!("{base}/docs/")).await.0, 404);
    assert_eq!(get(&format!("{base}/redoc")).await.0, 200);
    assert_eq!(get(&format!("{base}/openapi.json")).await.0, 200);

    let base = serve("Swagger UI only", Docs::default().without_redoc()).await;
    assert_eq!(get(&format!("{base}/docs/")).await.0, 200);
    assert_eq!(get(&format!("{base}/redoc")).await.0, 404);
}
