//! Registered claims (RFC 7519 §4.1, RFC 9068 §2.2) with room for the application's own.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::AuthContext;

/// No application claims: the registered ones only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoClaims {}

/// The claims of a token: the registered ones, typed, and the application's own in `extra`
/// (flattened, so they sit beside the registered ones in the JSON).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use warden::jwt::Claims;
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Extra { tenant: String }
///
/// let claims: Claims<Extra> = serde_json::from_str(
///     r#"{"sub": "alice", "aud": "api", "exp": 2000000000, "scope": "me items", "tenant": "acme"}"#,
/// ).unwrap();
/// assert!(claims.has_scope("items") && !claims.has_scope("admin"));
/// assert_eq!(claims.extra.tenant, "acme");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims<C = NoClaims> {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: one string or a list.
    #[serde(default, skip_serializing_if = "Audience::is_empty")]
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Token identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The client the token was issued to (RFC 9068 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes, space-separated (RFC 9068 §2.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Authentication context class reference: the level the user's authentication met
    /// (OpenID Connect Core §2, RFC 9068 §2.2.1, RFC 9470 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods references (RFC 8176: `pwd`, `otp`, `hwk`, `swk`, `user`,
    /// `mfa`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// When the user last authenticated interactively, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Confirmation (RFC 7800): the key the token is bound to, `cnf.jkt` for DPoP
    /// (RFC 9449 §6.1). A bound token is refused when presented as a plain bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The application's claims.
    #[serde(flatten)]
    pub extra: C,
}

/// The `cnf` claim (RFC 7800 §3.1): how the presenter proves it holds the token's key.
///
/// ```
/// use warden::jwt::Claims;
///
/// let claims: Claims = serde_json::from_str(r#"{"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#).unwrap();
/// assert_eq!(claims.bound_key(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Any other confirmation method (`x5t#S256` for mutual TLS, RFC 8705 §3.1…): a token
    /// bound by a method this crate does not check is never accepted as a bearer token.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<C> Claims<C> {
    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted (without allocating).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The thumbprint of the key the token is bound to (`cnf.jkt`), if it is DPoP-bound.
    pub fn bound_key(&self) -> Option<&str> {
        self.cnf.as_ref()?.jkt.as_deref()
    }

    /// Whether the token is bound to a key by any confirmation method (RFC 7800): such a
    /// token is not a bearer token, and [`Jwt`](super::Jwt) refuses it as one.
    pub fn is_sender_constrained(&self) -> bool {
        self.cnf.is_some()
    }

    /// The authentication event the claims describe (`acr`, `amr`, `auth_time`), for the
    /// step-up markers of a route.
    ///
    /// ```
    /// use warden::jwt::Claims;
    ///
    /// let claims: Claims = serde_json::from_str(r#"{"amr": ["pwd", "otp", "mfa"], "auth_time": 1700000000}"#).unwrap();
    /// let context = claims.authentication_context();
    /// assert!(context.has_method("mfa"));
    /// assert_eq!(context.auth_time, Some(1_700_000_000));
    /// ```
    pub fn authentication_context(&self) -> AuthContext<'_> {
        AuthContext {
            acr: self.acr.as_deref(),
            amr: self.amr.as_deref().unwrap_or_default(),
            auth_time: self.auth_time,
        }
    }
}

/// The `aud` claim: a single audience serializes as a string, several as a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// Whether there is no audience.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `audience` is one of them.
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }
}

impl From<&str> for Audience {
    fn from(audience: &str) -> Self {
        Self(vec![audience.to_owned()])
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut out = Vec::new();
                while let Some(value) = seq.next_element::<String>()? {
                    out.push(value);
                }
                Ok(Audience(out))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}
