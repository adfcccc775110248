//! The security schemes an API declares, by name (`components.securitySchemes`).

use std::collections::BTreeMap;

use utoipa::openapi::security::SecurityScheme;

/// Collects the security schemes the handlers of a router use.
///
/// Two extractors may share a scheme name only if they declare the same scheme; otherwise
/// [`ApiRouter`](super::ApiRouter) panics when the route is added, naming the scheme. (FastAPI
/// silently lets the last declaration win, fastapi#4635.)
///
/// ```
/// use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
/// use warden::openapi::SchemeRegistry;
///
/// let mut registry = SchemeRegistry::default();
/// registry.register("HTTPBasic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
/// assert!(registry.get("HTTPBasic").is_some());
/// ```
#[derive(Clone, Default)]
pub struct SchemeRegistry {
    schemes: BTreeMap<String, SecurityScheme>,
    conflicts: Vec<String>,
}

impl SchemeRegistry {
    /// Declares scheme `name`. A second, different declaration under the same name is
    /// recorded as a conflict.
    pub fn register(&mut self, name: &str, scheme: SecurityScheme) {
        match self.schemes.get(name) {
            Some(existing) if *existing != scheme => {
                if !self.conflicts.iter().any(|c| c == name) {
                    self.conflicts.push(name.to_owned());
                }
            }
            Some(_) => {}
            None => {
                self.schemes.insert(name.to_owned(), scheme);
            }
        }
    }

    /// The scheme declared as `name`.
    pub fn get(&self, name: &str) -> Option<&SecurityScheme> {
        self.schemes.get(name)
    }

    /// Moves every scheme of `other` into `self`.
    pub fn merge(&mut self, other: SchemeRegistry) {
        for name in other.conflicts {
            if !self.conflicts.contains(&name) {
                self.conflicts.push(name);
            }
        }
        for (name, scheme) in other.schemes {
            self.register(&name, scheme);
        }
    }

    /// Panics if two different schemes were declared under one name: a programming error,
    /// reported when the router is built, like axum's overlapping routes.
    pub(crate) fn assert_consistent(&self) {
        if let Some(name) = self.conflicts.first() {
            panic!(
                "security scheme name `{name}` is declared twice with different definitions; \
                 give each scheme its own SCHEME_NAME"
            );
        }
    }

    pub(crate) fn into_schemes(self) -> BTreeMap<String, SecurityScheme> {
        self.schemes
    }
}

impl std::fmt::Debug for SchemeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemeRegistry")
            .field("schemes", &self.schemes.keys().collect::<Vec<_>>())
            .field("conflicts", &self.conflicts)
            .finish()
    }
}
