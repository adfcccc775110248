//! Scopes a route requires, declared in its signature (FastAPI's `Security(scopes=…)`).

/// A set of scopes, declared as a type so the requirement is part of the handler signature.
///
/// Implemented by scope markers (see [`scope!`](crate::scope)), by `()` (no scope), and by
/// tuples of sets, which is how requirements accumulate along a chain: with
/// `type ActiveUser<R = ()> = Auth<User, (Me, R)>`, a route taking `ActiveUser<Items>`
/// requires `me` and `items`, like FastAPI's scopes tutorial.
///
/// ```
/// use warden::{ScopeSet, scope};
///
/// scope!(
///     /// Read the current user.
///     pub Me = "me"
/// );
/// scope!(pub Items = "items");
///
/// let mut seen = Vec::new();
/// <(Me, (Items, Me))>::visit(&mut |s| seen.push(s));
/// assert_eq!(seen, ["me", "items", "me"]);
/// ```
///
/// A set may also carry **step-up requirements** (RFC 9470): the markers [`Mfa`](crate::Mfa),
/// [`MaxAge`](crate::MaxAge) and those of [`acr!`](crate::acr) are sets without scopes whose
/// [`visit_step_up`](Self::visit_step_up) names a condition on the authentication event, so
/// `Auth<User, (Items, Mfa)>` needs scope `items` and a multi-factor login (see
/// [`StepUp`](crate::StepUp) for how requirements combine).
pub trait ScopeSet: 'static {
    /// Calls `f` with each scope, outer first.
    fn visit(f: &mut dyn FnMut(&'static str));

    /// Calls `f` with each step-up rule, outer first; none by default.
    fn visit_step_up(f: &mut dyn FnMut(crate::StepUpRule)) {
        let _ = f;
    }
}

impl ScopeSet for () {
    fn visit(_: &mut dyn FnMut(&'static str)) {}
}

macro_rules! tuple_scope_set {
    ($($t:ident),+) => {
        impl<$($t: ScopeSet),+> ScopeSet for ($($t,)+) {
            fn visit(f: &mut dyn FnMut(&'static str)) {
                $($t::visit(f);)+
            }

            fn visit_step_up(f: &mut dyn FnMut(crate::StepUpRule)) {
                $($t::visit_step_up(f);)+
            }
        }
    };
}

tuple_scope_set!(A);
tuple_scope_set!(A, B);
tuple_scope_set!(A, B, C);
tuple_scope_set!(A, B, C, D);
tuple_scope_set!(A, B, C, D, E);
tuple_scope_set!(A, B, C, D, E, F);
tuple_scope_set!(A, B, C, D, E, F, G);
tuple_scope_set!(A, B, C, D, E, F, G, H);

/// Declares a scope marker type: `scope!(pub Items = "items");`.
///
/// ```
/// warden::scope!(
///     /// Write items.
///     pub WriteItems = "items:write"
/// );
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$meta:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::ScopeSet for $name {
            fn visit(f: &mut dyn FnMut(&'static str)) {
                f($scope)
            }
        }
    };
}

/// The scopes required where a principal is being authenticated: FastAPI's `SecurityScopes`.
///
/// Given to [`Principal::authenticate`](crate::Principal::authenticate), so an authenticator
/// can, say, refuse early or mention the scopes in its logs. The check itself is done by
/// [`Auth`](crate::Auth), not by the authenticator.
///
/// ```
/// use warden::{SecurityScopes, scope};
/// scope!(Me = "me");
/// scope!(Items = "items");
///
/// let scopes = SecurityScopes::of::<(Me, (Items, Me))>();
/// assert_eq!(scopes.scopes(), ["me", "items"]);
/// assert_eq!(scopes.scope_str(), "me items");
/// ```
#[derive(Clone, Copy)]
pub struct SecurityScopes {
    visit: fn(&mut dyn FnMut(&'static str)),
}

impl SecurityScopes {
    /// The scopes of the set `R`.
    pub fn of<R: ScopeSet>() -> Self {
        Self { visit: R::visit }
    }

    /// Each scope once, outer first.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        (self.visit)(&mut |s| {
            if !out.contains(&s) {
                out.push(s);
            }
        });
        out
    }

    /// The scopes separated by spaces, as in a `scope` parameter.
    pub fn scope_str(&self) -> String {
        self.scopes().join(" ")
    }

    /// Whether no scope is required.
    pub fn is_empty(&self) -> bool {
        let mut empty = true;
        (self.visit)(&mut |_| empty = false);
        empty
    }

    /// Calls `f` with each scope (duplicates included), without allocating.
    pub fn visit(&self, f: &mut dyn FnMut(&'static str)) {
        (self.visit)(f)
    }
}

impl std::fmt::Debug for SecurityScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecurityScopes")
            .field(&self.scopes())
            .finish()
    }
}
