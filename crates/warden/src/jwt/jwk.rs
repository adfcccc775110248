//! JSON Web Keys (RFC 7517), public members only, and their thumbprints (RFC 7638).

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// A public JSON Web Key.
///
/// The type has no private members (`d`, `p`, `k`…): a key published through it cannot leak
/// its secret half, and private members of a fetched key are dropped on reading.
///
/// ```
/// use warden::jwt::Jwk;
///
/// let jwk: Jwk = serde_json::from_str(
///     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"secret!"}"#,
/// ).unwrap();
/// assert!(!serde_json::to_string(&jwk).unwrap().contains("secret"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`, `EC` or `RSA` (`oct` keys are never published).
    pub kty: String,
    /// Key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use; Warden publishes `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// The algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Curve (`Ed25519`, `P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public x coordinate (EC) or public key (OKP), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Public y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set (RFC 7517 §5): what a `jwks_uri` serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members, in lexicographic
    /// order, without white space. Warden uses it as the `kid` of the keys it makes, so a
    /// `kid` names exactly one key.
    ///
    /// ```
    /// use warden::jwt::Jwk;
    /// let jwk = Jwk {
    ///     kty: "OKP".into(), crv: Some("Ed25519".into()),
    ///     x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
    ///     kid: None, key_use: None, alg: None, y: None, n: None, e: None,
    /// };
    /// // RFC 8037 Appendix A.3.
    /// assert_eq!(jwk.thumbprint().unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// ```
    pub fn thumbprint(&self) -> Option<String> {
        let mut members: BTreeMap<&str, &str> = BTreeMap::new();
        members.insert("kty", &self.kty);
        let required: &[(&str, &Option<String>)] = match self.kty.as_str() {
            "OKP" => &[("crv", &self.crv), ("x", &self.x)],
            "EC" => &[("crv", &self.crv), ("x", &self.x), ("y", &self.y)],
            "RSA" => &[("e", &self.e), ("n", &self.n)],
            _ => return None,
        };
        for (name, value) in required {
            members.insert(name, value.as_deref()?);
        }
        let canonical = serde_json::to_vec(&members).ok()?;
        Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &canonical)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_rsa_example() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn unknown_or_incomplete_keys_have_no_thumbprint() {
        let jwk: Jwk = serde_json::from_str(r#"{"kty":"oct"}"#).unwrap();
        assert_eq!(jwk.thumbprint(), None);
        let jwk: Jwk = serde_json::from_str(r#"{"kty":"EC","crv":"P-256","x":"AA"}"#).unwrap();
        assert_eq!(jwk.thumbprint(), None);
    }
}
