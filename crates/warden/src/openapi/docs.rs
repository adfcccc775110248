//! Interactive documentation: Swagger UI served from assets compiled into the binary.

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where and how the interactive docs are served.
///
/// Swagger UI's files come from the `utoipa-swagger-ui` crate's vendored copy, so serving the
/// docs needs no CDN and building them no network. Authorization is kept across page reloads
/// (`persistAuthorization`), and the OAuth2 redirect page is served for the
/// authorization-code flow.
///
/// ```
/// use warden::openapi::{ApiRouter, Docs};
///
/// let app: axum::Router = ApiRouter::new().with_docs(Docs::default()); // /docs and /openapi.json
/// ```
#[derive(Clone, Debug)]
pub struct Docs {
    ui_path: String,
    spec_path: String,
    persist_authorization: bool,
}

impl Default for Docs {
    fn default() -> Self {
        Self {
            ui_path: "/docs".into(),
            spec_path: "/openapi.json".into(),
            persist_authorization: true,
        }
    }
}

impl Docs {
    /// Serves Swagger UI under `path` (default `/docs`).
    pub fn ui_path(mut self, path: &str) -> Self {
        self.ui_path = path.into();
        self
    }

    /// Serves the OpenAPI document at `path` (default `/openapi.json`).
    pub fn spec_path(mut self, path: &str) -> Self {
        self.spec_path = path.into();
        self
    }

    /// Whether Swagger UI keeps authorization across reloads (default `true`).
    pub fn persist_authorization(mut self, persist: bool) -> Self {
        self.persist_authorization = persist;
        self
    }

    /// Serves `openapi` and Swagger UI for it: for a document adjusted after
    /// [`ApiRouter::split_for_parts`](super::ApiRouter::split_for_parts).
    ///
    /// ```
    /// use warden::openapi::{ApiRouter, Docs, remove_scheme};
    ///
    /// let (router, mut openapi) = ApiRouter::<()>::new().split_for_parts();
    /// remove_scheme(&mut openapi, "APIKeyQuery"); // switched off in this deployment
    /// let app: axum::Router = router.merge(Docs::default().router(openapi));
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(self, openapi: OpenApi) -> Router<S> {
        // Swagger UI derives the absolute `oauth2-redirect.html` URL from the page's own
        // location, which the vendored assets serve under the UI path.
        let config =
            Config::new([self.spec_path.clone()]).persist_authorization(self.persist_authorization);
        let ui = SwaggerUi::new(self.ui_path)
            .url(self.spec_path, openapi)
            .config(config);
        Router::from(ui)
    }
}
