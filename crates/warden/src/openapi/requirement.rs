//! Security requirements as OpenAPI states them: a list of alternatives (OR), each naming the
//! schemes that must all be satisfied together (AND), each scheme with its scopes.

use std::collections::BTreeMap;

use utoipa::openapi::security::SecurityRequirement;

/// The `security` of one operation: any one of the alternatives satisfies it.
///
/// Built from the handler's arguments: an argument's alternatives are OR'ed, and the
/// arguments of one handler are AND'ed (a handler that takes an API key *and* a bearer token
/// needs both, so both go into one requirement object — FastAPI documents this case as OR,
/// fastapi#2835).
///
/// ```
/// use warden::openapi::Alternatives;
///
/// let key_or_token = Alternatives::scheme("ApiKey").or(Alternatives::scheme("Bearer"));
/// let with_basic = key_or_token.and(&Alternatives::scheme("Basic"));
/// assert_eq!(with_basic.len(), 2); // {ApiKey, Basic} or {Bearer, Basic}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alternatives(Vec<BTreeMap<String, Vec<String>>>);

impl Alternatives {
    /// One alternative: scheme `name` alone, without scopes.
    pub fn scheme(name: &str) -> Self {
        Self(vec![BTreeMap::from([(name.to_owned(), Vec::new())])])
    }

    /// The empty requirement `{}`: no credentials needed.
    pub fn anonymous() -> Self {
        Self(vec![BTreeMap::new()])
    }

    /// Either `self` or `other` (alternatives appended, duplicates dropped).
    pub fn or(mut self, other: Self) -> Self {
        for alternative in other.0 {
            if !self.0.contains(&alternative) {
                self.0.push(alternative);
            }
        }
        self
    }

    /// Both `self` and `other`: every pairing of an alternative of each, scopes of a scheme
    /// named on both sides merged.
    ///
    /// One pairing is left out: two different choices between the same alternatives. When
    /// both sides offer the same schemes as alternatives (a router requiring
    /// `Auth<Caller>` and a handler taking `Auth<Caller, Items>`, where `Caller` accepts an
    /// API key or a bearer token), each side picks the first scheme present, so both pick
    /// the same one: `{ApiKey}` and `{Bearer}` pair with their own kind, never with each
    /// other.
    ///
    /// ```
    /// use warden::openapi::Alternatives;
    ///
    /// let caller = Alternatives::scheme("ApiKey").or(Alternatives::scheme("Bearer"));
    /// let with_items = caller.clone().with_scope("items");
    /// assert_eq!(caller.and(&with_items), with_items);
    /// ```
    pub fn and(&self, other: &Self) -> Self {
        let mut out = Self::default();
        for left in &self.0 {
            for right in &other.0 {
                if self.other_choice(left, other, right) {
                    continue;
                }
                let mut merged = left.clone();
                for (name, scopes) in right {
                    let entry = merged.entry(name.clone()).or_default();
                    for scope in scopes {
                        if !entry.contains(scope) {
                            entry.push(scope.clone());
                        }
                    }
                }
                out = out.or(Self(vec![merged]));
            }
        }
        out
    }

    /// Whether `left` (of `self`) and `right` (of `other`) are different picks of one choice:
    /// they name different schemes, and each side also offers the other's schemes alone.
    fn other_choice(
        &self,
        left: &BTreeMap<String, Vec<String>>,
        other: &Self,
        right: &BTreeMap<String, Vec<String>>,
    ) -> bool {
        let same = |a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>| {
            a.keys().eq(b.keys())
        };
        !left.is_empty()
            && !right.is_empty()
            && !same(left, right)
            && other.0.iter().any(|r| same(r, left))
            && self.0.iter().any(|l| same(l, right))
    }

    /// Adds `scope` to every scheme of every alternative (scopes accumulate, order kept,
    /// duplicates dropped, like FastAPI's `Security(scopes=…)`).
    pub fn with_scope(mut self, scope: &str) -> Self {
        for alternative in &mut self.0 {
            for scopes in alternative.values_mut() {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
        }
        self
    }

    /// The same alternatives, plus `{}`: credentials are optional.
    pub fn optional(self) -> Self {
        self.or(Self::anonymous())
    }

    /// Number of alternatives.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no alternative at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some alternative requires a scope.
    pub fn has_scopes(&self) -> bool {
        self.0.iter().any(|a| a.values().any(|s| !s.is_empty()))
    }

    /// Whether every alternative requires some credentials.
    pub fn is_required(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|a| !a.is_empty())
    }

    /// The alternatives a `security` list states (its requirement objects, in order).
    pub(crate) fn from_requirements(requirements: &[SecurityRequirement]) -> Self {
        let mut out = Self::default();
        for requirement in requirements {
            // A requirement object serializes as the map it is: scheme name → scopes.
            let alternative = serde_json::to_value(requirement)
                .ok()
                .and_then(|value| serde_json::from_value(value).ok())
                .unwrap_or_default();
            out = out.or(Self(vec![alternative]));
        }
        out
    }

    /// The OpenAPI security requirement objects.
    pub fn to_requirements(&self) -> Vec<SecurityRequirement> {
        self.0
            .iter()
            .map(|alternative| {
                alternative
                    .iter()
                    .fold(SecurityRequirement::default(), |req, (name, scopes)| {
                        req.add(name.as_str(), scopes.iter().map(String::as_str))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(a: &Alternatives) -> serde_json::Value {
        serde_json::to_value(a.to_requirements()).unwrap()
    }

    #[test]
    fn or_is_separate_objects_and_is_one() {
        let a = Alternatives::scheme("A").or(Alternatives::scheme("B"));
        assert_eq!(json(&a), serde_json::json!([{"A": []}, {"B": []}]));
        let both = Alternatives::scheme("A").and(&Alternatives::scheme("B"));
        assert_eq!(json(&both), serde_json::json!([{"A": [], "B": []}]));
    }

    #[test]
    fn and_distributes_over_or() {
        let a = Alternatives::scheme("A").or(Alternatives::scheme("B"));
        let c = Alternatives::scheme("C").with_scope("x");
        assert_eq!(
            json(&a.and(&c)),
            serde_json::json!([{"A": [], "C": ["x"]}, {"B": [], "C": ["x"]}])
        );
    }

    #[test]
    fn scopes_accumulate_and_merge_without_duplicates() {
        let a = Alternatives::scheme("O")
            .with_scope("me")
            .with_scope("items")
            .with_scope("me");
        let b = Alternatives::scheme("O")
            .with_scope("items")
            .with_scope("admin");
        assert_eq!(
            json(&a.and(&b)),
            serde_json::json!([{"O": ["me", "items", "admin"]}])
        );
    }

    #[test]
    fn the_same_choice_on_both_sides_is_made_once() {
        let caller = Alternatives::scheme("K").or(Alternatives::scheme("B"));
        let scoped = caller.clone().with_scope("x");
        assert_eq!(
            json(&caller.and(&scoped)),
            serde_json::json!([{"K": ["x"]}, {"B": ["x"]}])
        );
        // Optional on one side: anonymous pairs with either.
        assert_eq!(
            json(&caller.clone().optional().and(&caller)),
            serde_json::json!([{"K": []}, {"B": []}])
        );
        // Different choices still multiply out.
        let other = Alternatives::scheme("K").or(Alternatives::scheme("C"));
        assert_eq!(caller.and(&other).len(), 4);
        // An optional scheme beside a required one is kept: {A, B} or {B}.
        let optional = Alternatives::scheme("A").optional();
        assert_eq!(
            json(&optional.and(&Alternatives::scheme("B"))),
            serde_json::json!([{"A": [], "B": []}, {"B": []}])
        );
    }

    #[test]
    fn requirement_objects_read_back() {
        let a = Alternatives::scheme("A")
            .with_scope("x")
            .and(&Alternatives::scheme("B"))
            .or(Alternatives::anonymous());
        assert_eq!(Alternatives::from_requirements(&a.to_requirements()), a);
        assert!(Alternatives::from_requirements(&[]).is_empty());
    }

    #[test]
    fn optional_adds_anonymous_once() {
        let a = Alternatives::scheme("A").optional().optional();
        assert_eq!(json(&a), serde_json::json!([{"A": []}, {}]));
        assert!(!a.is_required());
        assert!(Alternatives::scheme("A").is_required());
    }
}
