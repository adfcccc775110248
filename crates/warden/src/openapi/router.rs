//! A router that builds the OpenAPI document while routes are added.

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use tower::{Layer, Service};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response as ApiResponse;
use utoipa::openapi::{Components, Info, OpenApi, Paths, RefOr};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

#[cfg(any(feature = "swagger-ui", feature = "redoc"))]
use super::Docs;
use super::require::{Requirement, apply_to_router, apply_to_routes};
use super::{Alternatives, HandlerSecurity, SchemeRegistry};
use crate::StepUp;

/// The routes of one or more handlers on one path, with the security their signatures
/// declare. Made by [`routes!`](crate::routes) and given to [`ApiRouter::routes`].
pub struct Routes<S = ()> {
    parts: Option<UtoipaMethodRouter<S>>,
    registry: SchemeRegistry,
}

impl<S> Default for Routes<S> {
    fn default() -> Self {
        Self {
            parts: None,
            registry: SchemeRegistry::default(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Adds the routes utoipa-axum made for `handler`, with `security` set on each of its
    /// operations from the handler's argument types. Used by [`routes!`](crate::routes).
    #[doc(hidden)]
    pub fn add<H, T>(
        mut self,
        (schemas, mut paths, method_router): UtoipaMethodRouter<S>,
        _handler: H,
    ) -> Self
    where
        H: HandlerSecurity<T, S>,
    {
        if let Some(alternatives) = H::describe(&mut self.registry) {
            for item in paths.paths.values_mut() {
                for operation in operations_mut(item) {
                    document(operation, &alternatives);
                }
            }
        }
        let step_up = H::step_up();
        if !step_up.is_empty() {
            for item in paths.paths.values_mut() {
                for operation in operations_mut(item) {
                    document_step_up(operation, &step_up);
                }
            }
        }
        self.parts = Some(match self.parts.take() {
            None => (schemas, paths, method_router),
            Some((mut all_schemas, mut all_paths, all_router)) => {
                all_schemas.extend(schemas);
                for (path, item) in paths.paths {
                    match all_paths.paths.get_mut(&path) {
                        Some(existing) => existing.merge_operations(item),
                        None => {
                            all_paths.paths.insert(path, item);
                        }
                    }
                }
                (all_schemas, all_paths, all_router.merge(method_router))
            }
        });
        self
    }
}

/// Sets an operation's `security`, and documents the 401 and 403 answers the extractors give.
pub(super) fn document(operation: &mut Operation, alternatives: &Alternatives) {
    operation.security = Some(alternatives.to_requirements());
    let responses = &mut operation.responses.responses;
    if alternatives.is_required() || alternatives.len() > 1 {
        responses
            .entry("401".to_owned())
            .or_insert_with(|| RefOr::T(ApiResponse::new(UNAUTHENTICATED)));
    }
    if alternatives.has_scopes() {
        responses
            .entry("403".to_owned())
            .or_insert_with(|| RefOr::T(ApiResponse::new("Not enough permissions")));
    }
}

/// The operation extension holding its step-up requirement (a serialized [`StepUp`]).
pub(super) const STEP_UP_EXTENSION: &str = "x-step-up";

/// Where the step-up paragraph of an operation's description starts.
const STEP_UP_HEADING: &str = "**Step-up authentication** (RFC 9470): ";

/// The 401 answer of [`document`].
const UNAUTHENTICATED: &str =
    "Not authenticated, or the credentials were refused (see `WWW-Authenticate`)";

/// The 401 answer of an operation with a step-up requirement.
const UNAUTHENTICATED_OR_WEAK: &str = "Not authenticated, the credentials were refused, or the \
    authentication is not strong or recent enough (`insufficient_user_authentication`, RFC \
    9470; see `WWW-Authenticate`)";

/// The step-up requirement documented on `operation` (empty when there is none).
pub(super) fn documented_step_up(operation: &Operation) -> StepUp {
    operation
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get(STEP_UP_EXTENSION))
        .and_then(|value| serde_json::from_value(value.clone()).ok())
        .unwrap_or_default()
}

/// Documents `step_up` as the operation's whole step-up requirement: the `x-step-up`
/// extension, a paragraph at the end of its description (what Swagger UI and ReDoc show),
/// and its 401 answer.
///
/// # Panics
/// If the requirement's `acr` markers share no value: no token could ever satisfy it.
pub(super) fn document_step_up(operation: &mut Operation, step_up: &StepUp) {
    if step_up.is_empty() {
        return;
    }
    assert!(
        step_up.acr().is_none_or(|acr| !acr.is_empty()),
        "operation {} requires acr markers that share no value: no token can satisfy them",
        operation.operation_id.as_deref().unwrap_or("(unnamed)")
    );
    if let Ok(value) = serde_json::to_value(step_up) {
        operation
            .extensions
            .get_or_insert_with(Default::default)
            .insert(STEP_UP_EXTENSION.to_owned(), value);
    }
    let mut description = operation.description.take().unwrap_or_default();
    if let Some(at) = description.find(STEP_UP_HEADING) {
        description.truncate(at);
    }
    let kept = description.trim_end().len();
    description.truncate(kept);
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(STEP_UP_HEADING);
    description.push_str(&format!(
        "{step_up}. A token that does not show it is refused with 401 \
         `insufficient_user_authentication`; the client gets a new one through a new \
         authorization request with the challenge's `acr_values` and `max_age`."
    ));
    operation.description = Some(description);
    let responses = &mut operation.responses.responses;
    match responses.get_mut("401") {
        Some(RefOr::T(response)) if response.description == UNAUTHENTICATED => {
            response.description = UNAUTHENTICATED_OR_WEAK.to_owned();
        }
        Some(_) => {}
        None => {
            responses.insert(
                "401".to_owned(),
                RefOr::T(ApiResponse::new(UNAUTHENTICATED_OR_WEAK)),
            );
        }
    }
}

pub(super) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
        item.query.as_mut(),
    ]
    .into_iter()
    .flatten()
    .chain(item.additional_operations.values_mut())
}

/// An axum router that writes its OpenAPI 3.1 document as routes are added.
///
/// Routes added with [`routes`](Self::routes) are documented, their `security` taken from the
/// handlers' signatures; routes added with [`route`](Self::route) are served but left out of
/// the document (FastAPI's `include_in_schema=False`). Security required by every route of a
/// router is declared once with [`require`](Self::require).
///
/// ```
/// use warden::openapi::ApiRouter;
/// use warden::{HttpBasic, routes};
///
/// /// Who am I?
/// #[utoipa::path(get, path = "/me", responses((status = 200, body = String)))]
/// async fn me(credentials: HttpBasic) -> String {
///     credentials.username
/// }
///
/// let (router, openapi) = ApiRouter::new().info("Demo", "1.0").routes(routes!(me)).split_for_parts();
/// let json = serde_json::to_value(&openapi).unwrap();
/// assert_eq!(json["paths"]["/me"]["get"]["security"], serde_json::json!([{"HTTPBasic": []}]));
/// assert_eq!(json["components"]["securitySchemes"]["HTTPBasic"]["scheme"], "basic");
/// # let _: axum::Router = router;
/// ```
pub struct ApiRouter<S = ()> {
    pub(super) inner: OpenApiRouter<S>,
    pub(super) registry: SchemeRegistry,
    /// What [`require`](Self::require) added: applied to every route added from then on.
    pub(super) requirements: Vec<Requirement>,
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> ApiRouter<S> {
    /// An empty router whose document is titled "API", version "0.1.0".
    pub fn new() -> Self {
        Self::with_openapi(OpenApi::new(Info::new("API", "0.1.0"), Paths::new()))
    }

    /// An empty router that adds to `openapi` (its info, servers, tags…).
    pub fn with_openapi(openapi: OpenApi) -> Self {
        Self {
            inner: OpenApiRouter::with_openapi(openapi),
            registry: SchemeRegistry::default(),
            requirements: Vec::new(),
        }
    }

    /// Sets the document's title and version.
    pub fn info(mut self, title: &str, version: &str) -> Self {
        let info = &mut self.inner.get_openapi_mut().info;
        info.title = title.to_owned();
        info.version = version.to_owned();
        self
    }

    /// Adds documented routes, made by [`routes!`](crate::routes), behind this router's
    /// [requirements](Self::require).
    ///
    /// # Panics
    /// If two different security schemes share one name.
    pub fn routes(mut self, routes: Routes<S>) -> Self {
        self.registry.merge(routes.registry);
        self.registry.assert_consistent();
        if let Some((schemas, mut paths, method_router)) = routes.parts {
            let method_router = apply_to_routes(&mut paths, method_router, &self.requirements);
            self.inner = self.inner.routes((schemas, paths, method_router));
        }
        self
    }

    /// Adds a route left out of the document, behind this router's
    /// [requirements](Self::require).
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        let method_router =
            apply_to_routes(&mut Default::default(), method_router, &self.requirements);
        self.inner = self.inner.route(path, method_router);
        self
    }

    /// Serves `other`'s routes under `path`, documented there, behind this router's
    /// [requirements](Self::require) (and, inside them, `other`'s own).
    pub fn nest(mut self, path: &str, other: ApiRouter<S>) -> Self {
        self.registry.merge(other.registry);
        self.registry.assert_consistent();
        let other = apply_to_router(other.inner, &self.requirements);
        self.inner = self.inner.nest(path, other);
        self
    }

    /// Serves `other`'s routes beside these, behind this router's
    /// [requirements](Self::require) (and, inside them, `other`'s own). To keep routes
    /// public, merge the protected router into the public one, not the other way round.
    pub fn merge(mut self, other: ApiRouter<S>) -> Self {
        self.registry.merge(other.registry);
        self.registry.assert_consistent();
        let other = apply_to_router(other.inner, &self.requirements);
        self.inner = self.inner.merge(other);
        self
    }

    /// [`axum::Router::layer`].
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.layer(layer);
        self
    }

    /// [`axum::Router::route_layer`].
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.route_layer(layer);
        self
    }

    /// [`axum::Router::fallback`].
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.inner = self.inner.fallback(handler);
        self
    }

    /// [`axum::Router::with_state`].
    pub fn with_state<S2>(self, state: S) -> ApiRouter<S2> {
        ApiRouter {
            inner: self.inner.with_state(state),
            registry: self.registry,
            requirements: self.requirements,
        }
    }

    /// The router and the finished document, with `components.securitySchemes` filled in.
    pub fn split_for_parts(self) -> (Router<S>, OpenApi) {
        let (router, mut openapi) = self.inner.split_for_parts();
        let schemes = self.registry.into_schemes();
        if !schemes.is_empty() {
            let components = openapi.components.get_or_insert_with(Components::new);
            for (name, scheme) in schemes {
                components.security_schemes.insert(name, RefOr::T(scheme));
            }
        }
        (router, openapi)
    }

    /// The router with the document at `docs`' spec path, and Swagger UI and ReDoc at
    /// theirs (each with its feature).
    #[cfg(any(feature = "swagger-ui", feature = "redoc"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "swagger-ui", feature = "redoc"))))]
    pub fn with_docs(self, docs: Docs) -> Router<S> {
        let (router, openapi) = self.split_for_parts();
        router.merge(docs.router(openapi))
    }
}
