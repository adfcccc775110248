//! Security required by a whole router: FastAPI's `APIRouter(dependencies=[Depends(…)])`.
//!
//! A requirement is an extractor run before every route of the router (as a route layer) and
//! AND'ed into the `security` of every operation of the router's document, through the same
//! [`DescribeSecurity`] and [`Alternatives`] algebra a handler's own arguments use.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, Route};
use http::request::Parts;
use tower::{Layer, Service};
use utoipa::openapi::Paths;
use utoipa_axum::router::OpenApiRouter;

use super::router::{document, document_step_up, documented_step_up, operations_mut};
use super::{Alternatives, ApiRouter, DescribeSecurity};
use crate::StepUp;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs the extractor on the request head: the head back, and the rejection if it refused.
type Check = Arc<dyn Fn(Parts) -> BoxFuture<(Parts, Option<Response>)> + Send + Sync>;

/// One `require` of a router: how it is documented and the layer that enforces it. Neither
/// depends on the router's state type, so a requirement outlives `with_state`.
pub(crate) struct Requirement {
    alternatives: Option<Alternatives>,
    step_up: StepUp,
    guard: Guard,
}

impl Requirement {
    /// ANDs the requirement into every operation of `paths` (its schemes and scopes first,
    /// then those already there; its step-up requirement with the operation's), and
    /// documents the 401/403 answers.
    fn document(&self, paths: &mut Paths) {
        if !self.step_up.is_empty() {
            for item in paths.paths.values_mut() {
                for operation in operations_mut(item) {
                    let all = self.step_up.and(&documented_step_up(operation));
                    document_step_up(operation, &all);
                }
            }
        }
        let Some(required) = &self.alternatives else {
            return;
        };
        for item in paths.paths.values_mut() {
            for operation in operations_mut(item) {
                let own = operation
                    .security
                    .as_deref()
                    .map(Alternatives::from_requirements)
                    .filter(|own| !own.is_empty());
                let all = match own {
                    Some(own) => required.and(&own),
                    None => required.clone(),
                };
                document(operation, &all);
            }
        }
    }
}

/// Applies `requirements`, in order, to the routes and operations of `router`.
pub(crate) fn apply_to_router<S>(
    router: OpenApiRouter<S>,
    requirements: &[Requirement],
) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    if requirements.is_empty() {
        return router;
    }
    let (mut routes, mut openapi) = router.split_for_parts();
    for requirement in requirements {
        requirement.document(&mut openapi.paths);
        // axum refuses a route layer on a router without routes: nothing to guard yet.
        if routes.has_routes() {
            routes = routes.route_layer(requirement.guard.clone());
        }
    }
    let mut router = OpenApiRouter::from(routes);
    *router.get_openapi_mut() = openapi;
    router
}

/// Applies `requirements`, in order, to one path's routes and operations.
pub(crate) fn apply_to_routes<S>(
    paths: &mut Paths,
    mut method_router: MethodRouter<S>,
    requirements: &[Requirement],
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    for requirement in requirements {
        requirement.document(paths);
        // `layer`, not `route_layer`: what `Router::route_layer` does to each path, so a
        // route added after `require` answers exactly like one added before (also a wrong
        // method, which is 401 before it is 405).
        method_router = method_router.layer(requirement.guard.clone());
    }
    method_router
}

impl<S: Clone + Send + Sync + 'static> ApiRouter<S> {
    /// Requires extractor `E` on every route of this router: FastAPI's
    /// `APIRouter(dependencies=[Depends(…)])`.
    ///
    /// `E` is any security extractor that needs no state: a scheme (`HttpBearer`,
    /// `ApiKeyHeader<K>`…), [`Either`](crate::Either), `Option<…>`, a tuple of them (all
    /// required, checked in order). For an [`Auth<User, Scopes>`](crate::Auth) whose
    /// principal needs the application's state, use
    /// [`require_with_state`](Self::require_with_state).
    ///
    /// What it covers:
    /// - **every route the router serves**: added before or after this call, nested
    ///   ([`nest`](Self::nest)) or merged ([`merge`](Self::merge)) into it, documented or not
    ///   ([`route`](Self::route)), also after [`with_state`](Self::with_state). Not the
    ///   fallback: an unknown path stays 404. A route is public only if no router it is part
    ///   of requires anything, so public routes go on a router without the requirement, into
    ///   which the protected one is merged or nested (see the example);
    /// - **enforcement** before the handler, answering exactly what `E` answers as a handler
    ///   argument (401 with every accepted scheme's challenge, 400 for a malformed bearer
    ///   header, 403 `insufficient_scope`…). A handler's own security extractors run after it,
    ///   and check the credentials again;
    /// - **the document**: `E`'s alternatives are AND'ed with each operation's own `security`
    ///   (scopes of one scheme merged, router's first), like the arguments of one handler;
    ///   401/403 responses are added. An outer router's requirement comes before a nested
    ///   one's, and runs first.
    ///
    /// Like a layer, each call wraps what is there: with several calls on one router, the
    /// last one runs first. To choose the order, require a tuple: `require::<(A, B)>()`
    /// checks `A`, then `B`. A layer added to the router ([`layer`](Self::layer)) wraps the
    /// routes there at that moment, requirement included if it was declared before; a layer
    /// that must see requests before the requirement does (CORS preflights, say) goes on an
    /// outer router, or on this one after `require` and its routes.
    ///
    /// # Panics
    /// If `E` declares a scheme whose name another, different scheme of the router uses.
    ///
    /// ```
    /// use warden::openapi::ApiRouter;
    /// use warden::{ApiKeyHeader, ApiKeyScheme, routes};
    ///
    /// struct Key;
    /// impl ApiKeyScheme for Key {
    ///     const SCHEME_NAME: &'static str = "ApiKey";
    ///     const NAME: &'static str = "X-API-Key";
    /// }
    ///
    /// #[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
    /// async fn items() {}
    ///
    /// #[utoipa::path(get, path = "/health", responses((status = 200, description = "Up")))]
    /// async fn health() {}
    ///
    /// let protected = ApiRouter::new().require::<ApiKeyHeader<Key>>().routes(routes!(items));
    /// let (_router, openapi) = ApiRouter::<()>::new()
    ///     .routes(routes!(health)) // public: this router requires nothing
    ///     .merge(protected)
    ///     .split_for_parts();
    /// let json = serde_json::to_value(&openapi).unwrap();
    /// assert_eq!(json["paths"]["/items"]["get"]["security"], serde_json::json!([{"ApiKey": []}]));
    /// assert!(json["paths"]["/health"]["get"].get("security").is_none());
    /// ```
    pub fn require<E>(self) -> Self
    where
        E: FromRequestParts<()> + DescribeSecurity<()> + Send + 'static,
    {
        self.add_requirement::<E, ()>(())
    }

    /// [`require`](Self::require) for an extractor that needs the router's state, such as an
    /// [`Auth<User, Scopes>`](crate::Auth) whose principal looks users up in it. `state` is
    /// what the extractor is given, as it would be in a handler.
    ///
    /// ```
    /// use warden::openapi::ApiRouter;
    /// use warden::{Auth, Denied, HttpBearer, Principal, SecurityScopes, routes, scope};
    ///
    /// #[derive(Clone)]
    /// struct AppState { admin_token: String }
    ///
    /// struct Admin;
    /// impl Principal<AppState> for Admin {
    ///     type Credentials = HttpBearer;
    ///     async fn authenticate(bearer: HttpBearer, _: &SecurityScopes, state: &AppState) -> Result<Self, Denied> {
    ///         if warden::constant_time_eq(bearer.token.as_bytes(), state.admin_token.as_bytes()) {
    ///             Ok(Admin)
    ///         } else {
    ///             Err(Denied::InvalidCredentials)
    ///         }
    ///     }
    ///     fn has_scope(&self, scope: &str) -> bool { scope == "admin" }
    /// }
    /// scope!(AdminScope = "admin");
    ///
    /// #[utoipa::path(get, path = "/users", responses((status = 200, description = "Users")))]
    /// async fn users() {}
    ///
    /// let state = AppState { admin_token: "…".into() };
    /// let (_router, openapi) = ApiRouter::new()
    ///     .require_with_state::<Auth<Admin, AdminScope>>(state.clone())
    ///     .routes(routes!(users))
    ///     .split_for_parts();
    /// let json = serde_json::to_value(&openapi).unwrap();
    /// assert_eq!(json["paths"]["/users"]["get"]["security"], serde_json::json!([{"HTTPBearer": ["admin"]}]));
    /// # let _: axum::Router = _router.with_state(state);
    /// ```
    ///
    /// # Panics
    /// As [`require`](Self::require).
    pub fn require_with_state<E>(self, state: S) -> Self
    where
        E: FromRequestParts<S> + DescribeSecurity<S> + Send + 'static,
    {
        self.add_requirement::<E, S>(state)
    }

    fn add_requirement<E, T>(mut self, state: T) -> Self
    where
        E: FromRequestParts<T> + DescribeSecurity<T> + Send + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let requirement = Requirement {
            alternatives: E::describe(&mut self.registry),
            step_up: E::step_up(),
            guard: Guard::new::<E, T>(state),
        };
        self.registry.assert_consistent();
        // The routes and operations already here, then (in `routes`, `route`, `nest`,
        // `merge`) every one added later.
        self.inner = apply_to_router(self.inner, std::slice::from_ref(&requirement));
        self.requirements.push(requirement);
        self
    }
}

/// The layer enforcing a requirement: runs the extractor on the request head and answers
/// its rejection, or passes the request on.
#[derive(Clone)]
pub(crate) struct Guard {
    check: Check,
}

impl Guard {
    fn new<E, T>(state: T) -> Self
    where
        E: FromRequestParts<T> + Send + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let state = Arc::new(state);
        let check: Check = Arc::new(move |mut parts: Parts| -> BoxFuture<_> {
            let state = Arc::clone(&state);
            Box::pin(async move {
                let refused = E::from_request_parts(&mut parts, &*state)
                    .await
                    .err()
                    .map(IntoResponse::into_response);
                (parts, refused)
            })
        });
        Self { check }
    }
}

impl Layer<Route> for Guard {
    type Service = Guarded;

    fn layer(&self, inner: Route) -> Guarded {
        Guarded {
            inner,
            check: Arc::clone(&self.check),
        }
    }
}

/// A route behind a [`Guard`].
#[derive(Clone)]
pub(crate) struct Guarded {
    inner: Route,
    check: Check,
}

impl Service<Request> for Guarded {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A `Route` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let mut inner = self.inner.clone();
        let check = Arc::clone(&self.check);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let (parts, refused) = check(parts).await;
            match refused {
                Some(response) => Ok(response),
                None => inner.call(Request::from_parts(parts, body)).await,
            }
        })
    }
}
