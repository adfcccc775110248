//! Interactive documentation from assets compiled into the binary: Swagger UI (feature
//! `swagger-ui`) and ReDoc (feature `redoc`), beside the OpenAPI document itself.

use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;
use utoipa::openapi::OpenApi;
#[cfg(feature = "swagger-ui")]
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where and how the interactive docs are served: FastAPI's `docs_url`, `redoc_url` and
/// `openapi_url`.
///
/// [`Docs::default()`] serves the document at `/openapi.json`, Swagger UI at `/docs` (feature
/// `swagger-ui`) and ReDoc at `/redoc` (feature `redoc`) — each UI only when its feature is
/// on. The builder methods move either UI or turn it off.
///
/// Both UIs come from files compiled into the binary, so serving the docs needs no CDN and
/// building them no network: Swagger UI from the `utoipa-swagger-ui` crate's vendored copy,
/// ReDoc from the `redoc` npm package's standalone bundle vendored in this crate. Swagger UI
/// keeps authorization across page reloads (`persistAuthorization`) and serves its OAuth2
/// redirect page for the authorization-code flow. ReDoc's page runs no inline script and is
/// served with a Content-Security-Policy that allows nothing off the page's own origin.
///
/// ```
/// use warden::openapi::{ApiRouter, Docs};
///
/// // /openapi.json, and /docs and /redoc where their features are on.
/// let app: axum::Router = ApiRouter::new().with_docs(Docs::default());
/// ```
#[derive(Clone, Debug)]
pub struct Docs {
    spec_path: String,
    #[cfg(feature = "swagger-ui")]
    swagger_ui: Option<SwaggerUiOptions>,
    #[cfg(feature = "redoc")]
    redoc: Option<String>,
}

#[cfg(feature = "swagger-ui")]
#[derive(Clone, Debug)]
struct SwaggerUiOptions {
    path: String,
    persist_authorization: bool,
}

impl Default for Docs {
    fn default() -> Self {
        Self {
            spec_path: "/openapi.json".into(),
            #[cfg(feature = "swagger-ui")]
            swagger_ui: Some(SwaggerUiOptions {
                path: "/docs".into(),
                persist_authorization: true,
            }),
            #[cfg(feature = "redoc")]
            redoc: Some("/redoc".into()),
        }
    }
}

impl Docs {
    /// Serves the OpenAPI document at `path` (default `/openapi.json`); both UIs load it from
    /// there.
    pub fn spec_path(mut self, path: &str) -> Self {
        self.spec_path = path.into();
        self
    }

    /// Serves Swagger UI under `path` (default `/docs`), turning it back on if it was off.
    #[cfg(feature = "swagger-ui")]
    #[cfg_attr(docsrs, doc(cfg(feature = "swagger-ui")))]
    pub fn ui_path(mut self, path: &str) -> Self {
        let persist_authorization = self
            .swagger_ui
            .as_ref()
            .is_none_or(|ui| ui.persist_authorization);
        self.swagger_ui = Some(SwaggerUiOptions {
            path: path.into(),
            persist_authorization,
        });
        self
    }

    /// Whether Swagger UI keeps authorization across reloads (default `true`).
    #[cfg(feature = "swagger-ui")]
    #[cfg_attr(docsrs, doc(cfg(feature = "swagger-ui")))]
    pub fn persist_authorization(mut self, persist: bool) -> Self {
        if let Some(ui) = &mut self.swagger_ui {
            ui.persist_authorization = persist;
        }
        self
    }

    /// Does not serve Swagger UI (FastAPI's `docs_url=None`).
    #[cfg(feature = "swagger-ui")]
    #[cfg_attr(docsrs, doc(cfg(feature = "swagger-ui")))]
    pub fn without_swagger_ui(mut self) -> Self {
        self.swagger_ui = None;
        self
    }

    /// Serves ReDoc at `path` (default `/redoc`), turning it back on if it was off; its
    /// script is served under `path` too.
    #[cfg(feature = "redoc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redoc")))]
    pub fn redoc_path(mut self, path: &str) -> Self {
        self.redoc = Some(path.into());
        self
    }

    /// Does not serve ReDoc (FastAPI's `redoc_url=None`).
    #[cfg(feature = "redoc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redoc")))]
    pub fn without_redoc(mut self) -> Self {
        self.redoc = None;
        self
    }

    /// Serves `openapi` and the UIs for it: for a document adjusted after
    /// [`ApiRouter::split_for_parts`](super::ApiRouter::split_for_parts).
    ///
    /// ```
    /// use warden::openapi::{ApiRouter, Docs, remove_scheme};
    ///
    /// let (router, mut openapi) = ApiRouter::<()>::new().split_for_parts();
    /// remove_scheme(&mut openapi, "APIKeyQuery"); // switched off in this deployment
    /// let app: axum::Router = router.merge(Docs::default().router(openapi));
    /// ```
    ///
    /// # Panics
    /// If the document does not serialize, or two of the paths collide (axum's rule).
    pub fn router<S: Clone + Send + Sync + 'static>(self, openapi: OpenApi) -> Router<S> {
        #[cfg(feature = "redoc")]
        let title = openapi.info.title.clone();
        let document: axum::body::Bytes = serde_json::to_vec(&super::to_json(&openapi))
            .expect("an OpenAPI document serializes")
            .into();
        let serve_document =
            move || std::future::ready(([(CONTENT_TYPE, "application/json")], document.clone()));
        #[allow(unused_mut)]
        let mut router = Router::new().route(&self.spec_path, get(serve_document));
        #[cfg(feature = "swagger-ui")]
        if let Some(ui) = self.swagger_ui {
            // Swagger UI derives the absolute `oauth2-redirect.html` URL from the page's own
            // location, which the vendored assets serve under the UI path.
            let config = Config::new([self.spec_path.clone()])
                .persist_authorization(ui.persist_authorization);
            router = router.merge(SwaggerUi::new(ui.path).config(config));
        }
        #[cfg(feature = "redoc")]
        if let Some(path) = self.redoc {
            router = router.merge(super::redoc::router(&path, &self.spec_path, &title));
        }
        router
    }
}
