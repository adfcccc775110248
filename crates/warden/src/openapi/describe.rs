//! How a handler's signature tells the OpenAPI document which security it needs.

use super::{Alternatives, SchemeRegistry};
use crate::StepUp;

/// How an extractor shows up in the `security` of the operations that use it.
///
/// Every argument of a handler documented through [`routes!`](crate::routes) implements it:
/// the security extractors of this crate return their scheme, and the common extractors of
/// axum (`State`, `Path`, `Query`, `Json`, `HeaderMap`…) return `None`. An extractor of your
/// own either implements it (usually as `None`) or is wrapped in
/// [`Undocumented`](super::Undocumented).
///
/// ```
/// use warden::openapi::{Alternatives, DescribeSecurity, SchemeRegistry};
///
/// struct RequestId(String); // an extractor of the application's, with no security meaning
///
/// impl<S> DescribeSecurity<S> for RequestId {
///     fn describe(_: &mut SchemeRegistry) -> Option<Alternatives> {
///         None
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say how it appears in the OpenAPI security of an operation",
    label = "a handler argument documented by `warden::routes!`",
    note = "implement `warden::openapi::DescribeSecurity` for it (returning `None` if it has no \
            security meaning), or take it as `warden::openapi::Undocumented<{Self}>`"
)]
pub trait DescribeSecurity<S> {
    /// Registers the schemes this extractor uses and returns the alternatives it accepts, or
    /// `None` when it has nothing to do with security.
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives>;

    /// The step-up requirement (RFC 9470) this extractor enforces; none by default.
    /// [`Auth`](crate::Auth) returns that of its markers.
    fn step_up() -> StepUp {
        StepUp::default()
    }
}

/// The security of a whole handler, from the types of its arguments.
///
/// Implemented for every `async fn` of up to 16 arguments that all implement
/// [`DescribeSecurity`]; `T` is the tuple of argument types and `S` the router's state.
pub trait HandlerSecurity<T, S> {
    /// The handler's alternatives (`None` when no argument is a security extractor).
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives>;

    /// The step-up requirement of all its arguments together; none by default.
    fn step_up() -> StepUp {
        StepUp::default()
    }
}

macro_rules! impl_handler_security {
    ($($arg:ident),*) => {
        impl<F, Fut, S, $($arg,)*> HandlerSecurity<($($arg,)*), S> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            $($arg: DescribeSecurity<S>,)*
        {
            fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
                <($($arg,)*) as DescribeSecurity<S>>::describe(registry)
            }

            fn step_up() -> StepUp {
                <($($arg,)*) as DescribeSecurity<S>>::step_up()
            }
        }

        /// A tuple of extractors (axum extracts them in order) needs all of them: their
        /// alternatives AND'ed, like the arguments of a handler.
        impl<S, $($arg,)*> DescribeSecurity<S> for ($($arg,)*)
        where
            $($arg: DescribeSecurity<S>,)*
        {
            #[allow(unused_mut, unused_variables)]
            fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
                let mut all: Option<Alternatives> = None;
                $(
                    if let Some(arg) = <$arg as DescribeSecurity<S>>::describe(registry) {
                        all = Some(match all {
                            Some(so_far) => so_far.and(&arg),
                            None => arg,
                        });
                    }
                )*
                all
            }

            fn step_up() -> StepUp {
                let all = StepUp::default();
                $(let all = all.and(&<$arg as DescribeSecurity<S>>::step_up());)*
                all
            }
        }
    };
}

impl_handler_security!();
impl_handler_security!(T1);
impl_handler_security!(T1, T2);
impl_handler_security!(T1, T2, T3);
impl_handler_security!(T1, T2, T3, T4);
impl_handler_security!(T1, T2, T3, T4, T5);
impl_handler_security!(T1, T2, T3, T4, T5, T6);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
impl_handler_security!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
impl_handler_security!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
);
impl_handler_security!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16
);

/// An optional security extractor documents its scheme and `{}` (anonymous access).
impl<S, T: DescribeSecurity<S>> DescribeSecurity<S> for Option<T> {
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
        T::describe(registry).map(Alternatives::optional)
    }

    /// Credentials that are sent must still meet it.
    fn step_up() -> StepUp {
        T::step_up()
    }
}

/// `Result<T, T::Rejection>` lets the handler answer failures itself; the requirement stays.
impl<S, T: DescribeSecurity<S>, E> DescribeSecurity<S> for Result<T, E> {
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
        T::describe(registry)
    }

    fn step_up() -> StepUp {
        T::step_up()
    }
}

/// Takes any extractor `T` in a documented handler, contributing nothing to its security.
///
/// ```
/// use warden::openapi::Undocumented;
/// # #[derive(Clone)] struct Session;
/// # impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Session {
/// #     type Rejection = std::convert::Infallible;
/// #     async fn from_request_parts(_: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> { Ok(Session) }
/// # }
///
/// async fn handler(Undocumented(session): Undocumented<Session>) {}
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Undocumented<T>(pub T);

impl<S, T> DescribeSecurity<S> for Undocumented<T> {
    fn describe(_: &mut SchemeRegistry) -> Option<Alternatives> {
        None
    }
}

impl<S, T> axum::extract::FromRequestParts<S> for Undocumented<T>
where
    S: Send + Sync,
    T: axum::extract::FromRequestParts<S>,
{
    type Rejection = T::Rejection;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        T::from_request_parts(parts, state).await.map(Undocumented)
    }
}

macro_rules! no_security {
    ($($(#[$m:meta])* [$($g:tt)*] $ty:ty;)*) => {
        $(
            $(#[$m])*
            impl<St, $($g)*> DescribeSecurity<St> for $ty {
                fn describe(_: &mut SchemeRegistry) -> Option<Alternatives> {
                    None
                }
            }
        )*
    };
}

no_security! {
    [T] axum::extract::State<T>;
    [T] axum::extract::Path<T>;
    [T] axum::extract::Query<T>;
    [T] axum::Json<T>;
    [T] axum::Form<T>;
    [T] axum::Extension<T>;
    [T] axum::extract::ConnectInfo<T>;
    [] axum::extract::OriginalUri;
    [] axum::extract::MatchedPath;
    [] axum::extract::RawQuery;
    [] axum::extract::RawForm;
    [] axum::extract::RawPathParams;
    [] axum::extract::Request;
    [] axum::body::Body;
    [] axum::body::Bytes;
    [] String;
    [] http::HeaderMap;
    [] http::Method;
    [] http::Uri;
    [] http::Version;
    [] http::request::Parts;
}
