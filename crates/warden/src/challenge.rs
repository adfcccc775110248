//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 7617 §2, RFC 6750 §3).

use http::HeaderValue;

/// The authentication scheme a challenge names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeScheme {
    /// `Basic` (RFC 7617).
    Basic,
    /// `Bearer` (RFC 6750); also used for OAuth 2.0 and OpenID Connect schemes.
    Bearer,
    /// `Digest` (RFC 7616); declared only, see [`HttpDigest`](crate::HttpDigest).
    Digest,
    /// `DPoP` (RFC 9449 §7.1): a sender-constrained access token with a proof of possession.
    DPoP,
    /// `APIKey`: not a registered scheme, but RFC 9110 §15.5.2 requires a 401 to carry a
    /// challenge, so API-key schemes send this one, as FastAPI does since 0.122.
    ApiKey,
}

impl ChallengeScheme {
    /// Whether the scheme's challenges carry the OAuth error codes (`error`, `scope`…):
    /// `Bearer` (RFC 6750 §3) and `DPoP` (RFC 9449 §7.1).
    pub const fn has_error_codes(self) -> bool {
        matches!(self, Self::Bearer | Self::DPoP)
    }

    fn token(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Bearer => "Bearer",
            Self::Digest => "Digest",
            Self::DPoP => "DPoP",
            Self::ApiKey => "APIKey",
        }
    }
}

/// The error codes of RFC 6750 §3.1 (and RFC 9470 §3, RFC 9449 §7.1), sent in a `Bearer`
/// or `DPoP` challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// The request is malformed (400).
    InvalidRequest,
    /// The token is expired, revoked, malformed or invalid for another reason (401).
    InvalidToken,
    /// The token lacks a scope the resource requires (403).
    InsufficientScope,
    /// The authentication behind the token is not strong or recent enough (401, RFC 9470
    /// §3): the client gets a new token with the challenge's `acr_values` / `max_age`.
    InsufficientUserAuthentication,
    /// The DPoP proof is missing, malformed or does not match the request (401, RFC 9449
    /// §7.1).
    InvalidDPoPProof,
    /// The DPoP proof must carry the server nonce sent in `DPoP-Nonce` (401, RFC 9449 §9).
    UseDPoPNonce,
}

impl BearerError {
    fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::InvalidDPoPProof => "invalid_dpop_proof",
            Self::UseDPoPNonce => "use_dpop_nonce",
        }
    }
}

/// A challenge a scheme sends when its credentials are missing or refused.
///
/// Challenges are built from the static configuration of a scheme, so rendering one never
/// echoes anything the client sent.
///
/// ```
/// use warden::{Challenge, ChallengeScheme};
///
/// let challenge = Challenge::new(ChallengeScheme::Basic).with_realm("staff");
/// assert_eq!(challenge.render(None, None), "Basic realm=\"staff\", charset=\"UTF-8\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    scheme: ChallengeScheme,
    realm: Option<&'static str>,
    algs: Option<&'static str>,
}

impl Challenge {
    /// A challenge for `scheme`, without a realm.
    pub const fn new(scheme: ChallengeScheme) -> Self {
        Self {
            scheme,
            realm: None,
            algs: None,
        }
    }

    /// The same challenge with an `algs` parameter: the proof algorithms a `DPoP` challenge
    /// accepts (RFC 9449 §7.1). Written for `DPoP` challenges only.
    ///
    /// ```
    /// use warden::{BearerError, Challenge, ChallengeScheme};
    ///
    /// let challenge = Challenge::new(ChallengeScheme::DPoP).with_algs("ES256 EdDSA");
    /// assert_eq!(
    ///     challenge.render(Some(BearerError::InvalidDPoPProof), None),
    ///     r#"DPoP error="invalid_dpop_proof", algs="ES256 EdDSA""#,
    /// );
    /// ```
    pub const fn with_algs(mut self, algs: &'static str) -> Self {
        self.algs = Some(algs);
        self
    }

    /// The same challenge with a `realm` parameter.
    pub const fn with_realm(mut self, realm: &'static str) -> Self {
        self.realm = Some(realm);
        self
    }

    /// The scheme this challenge names.
    pub const fn scheme(&self) -> ChallengeScheme {
        self.scheme
    }

    /// Renders the header value. `error` and `scope` are only written for `Bearer` and
    /// `DPoP` challenges, the schemes that define them (RFC 6750 §3, RFC 9449 §7.1).
    pub fn render(&self, error: Option<BearerError>, scope: Option<&str>) -> String {
        let scope = scope.filter(|s| !s.is_empty()).map(|s| ("scope", s));
        self.render_with(error, scope.as_slice())
    }

    /// Renders the header value with `error` and then `bearer_params` (in order, as
    /// quoted strings), both written for `Bearer` challenges only.
    pub(crate) fn render_with(
        &self,
        error: Option<BearerError>,
        bearer_params: &[(&str, &str)],
    ) -> String {
        let mut out = String::from(self.scheme.token());
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(realm) = self.realm {
            params.push(("realm", realm));
        }
        if self.scheme == ChallengeScheme::Basic {
            // RFC 7617 §2.1: announce that user-id and password are UTF-8.
            params.push(("charset", "UTF-8"));
        }
        if self.scheme.has_error_codes() {
            if let Some(error) = error {
                params.push(("error", error.code()));
            }
            params.extend_from_slice(bearer_params);
        }
        if self.scheme == ChallengeScheme::DPoP
            && let Some(algs) = self.algs
        {
            params.push(("algs", algs));
        }
        for (i, (name, value)) in params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push_str("=\"");
            push_quoted(&mut out, value);
            out.push('"');
        }
        out
    }

    pub(crate) fn header_value(
        &self,
        error: Option<BearerError>,
        scope: Option<&str>,
    ) -> HeaderValue {
        let scope = scope.filter(|s| !s.is_empty()).map(|s| ("scope", s));
        self.header_value_with(error, scope.as_slice())
    }

    /// [`header_value`](Self::header_value) with any Bearer parameters.
    pub(crate) fn header_value_with(
        &self,
        error: Option<BearerError>,
        bearer_params: &[(&str, &str)],
    ) -> HeaderValue {
        let rendered = self.render_with(error, bearer_params);
        // Every part is either a static string of ours or a scope name; anything that would
        // not be a valid header value falls back to the bare scheme.
        HeaderValue::from_str(&rendered)
            .unwrap_or_else(|_| HeaderValue::from_static(self.scheme.token()))
    }
}

/// Appends `value` as the inside of an RFC 9110 §5.6.4 quoted-string.
fn push_quoted(out: &mut String, value: &str) {
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_with_realm_announces_utf8() {
        let c = Challenge::new(ChallengeScheme::Basic).with_realm("a \"b\"");
        assert_eq!(
            c.render(None, None),
            r#"Basic realm="a \"b\"", charset="UTF-8""#
        );
    }

    #[test]
    fn bearer_carries_error_and_scope() {
        let c = Challenge::new(ChallengeScheme::Bearer);
        assert_eq!(c.render(None, None), "Bearer");
        assert_eq!(
            c.render(Some(BearerError::InsufficientScope), Some("me items")),
            r#"Bearer error="insufficient_scope", scope="me items""#
        );
    }

    #[test]
    fn step_up_parameters_follow_the_error() {
        let c = Challenge::new(ChallengeScheme::Bearer).with_realm("api");
        assert_eq!(
            c.render_with(
                Some(BearerError::InsufficientUserAuthentication),
                &[("error_description", "x"), ("max_age", "300")]
            ),
            r#"Bearer realm="api", error="insufficient_user_authentication", error_description="x", max_age="300""#
        );
        assert_eq!(
            Challenge::new(ChallengeScheme::Basic).render_with(None, &[("max_age", "1")]),
            r#"Basic charset="UTF-8""#
        );
    }

    #[test]
    fn error_parameters_are_bearer_only() {
        let c = Challenge::new(ChallengeScheme::ApiKey);
        assert_eq!(
            c.render(Some(BearerError::InvalidToken), Some("x")),
            "APIKey"
        );
    }
}
