//! HTTP Basic authentication (RFC 7617).

use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::request::Parts;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::openapi::{Alternatives, SchemeRegistry};
use crate::parse;
use crate::secret::constant_time_eq;

/// How an [`HttpBasic`] scheme is named, described and challenged.
///
/// ```
/// use warden::{BasicScheme, HttpBasic};
///
/// struct Staff;
/// impl BasicScheme for Staff {
///     const SCHEME_NAME: &'static str = "StaffBasic";
///     const REALM: Option<&'static str> = Some("staff");
/// }
///
/// async fn handler(credentials: HttpBasic<Staff>) -> String {
///     credentials.username
/// }
/// ```
pub trait BasicScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The `realm` of the `WWW-Authenticate` challenge (not part of OpenAPI).
    const REALM: Option<&'static str> = None;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The scheme of a plain `HttpBasic`: named `HTTPBasic`, like FastAPI's, with no realm.
#[derive(Debug, Clone, Copy)]
pub struct DefaultBasic;

impl BasicScheme for DefaultBasic {
    const SCHEME_NAME: &'static str = "HTTPBasic";
}

/// Credentials from `Authorization: Basic base64(user-id:password)`. FastAPI's `HTTPBasic`.
///
/// The password may contain `:` (only the first colon separates); both parts are UTF-8, as
/// RFC 7617 §2.1 allows and the challenge announces (`charset="UTF-8"`). Bad base64, a missing
/// colon, non-UTF-8 bytes or control characters answer 401 with the challenge, so a browser
/// asks again; the body never repeats what was sent. Checking the password is the
/// application's job: use [`matches`](Self::matches) or a [`Principal`](crate::Principal).
///
/// ```
/// use warden::HttpBasic;
///
/// async fn handler(credentials: HttpBasic) -> String {
///     format!("hello {}", credentials.username)
/// }
/// ```
pub struct HttpBasic<S: BasicScheme = DefaultBasic> {
    /// The user-id.
    pub username: String,
    /// The password.
    pub password: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: BasicScheme> HttpBasic<S> {
    /// Whether these are `username` and `password`, compared in constant time (both are
    /// always compared, so timing does not tell which one was wrong).
    ///
    /// ```
    /// # use warden::HttpBasic;
    /// async fn handler(credentials: HttpBasic) -> &'static str {
    ///     let password = std::env::var("ADMIN_PASSWORD").unwrap_or_default();
    ///     if credentials.matches("admin", &password) { "welcome" } else { "go away" }
    /// }
    /// ```
    pub fn matches(&self, username: &str, password: &str) -> bool {
        let user_ok = constant_time_eq(self.username.as_bytes(), username.as_bytes());
        let password_ok = constant_time_eq(self.password.as_bytes(), password.as_bytes());
        user_ok & password_ok
    }

    const fn scheme_challenge() -> Challenge {
        let challenge = Challenge::new(ChallengeScheme::Basic);
        match S::REALM {
            Some(realm) => challenge.with_realm(realm),
            None => challenge,
        }
    }
}

impl<S: BasicScheme> fmt::Debug for HttpBasic<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBasic")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Standard base64; padding is accepted but not required (clients differ).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the `token68` of a Basic header into user-id and password.
pub(crate) fn decode(token: &str) -> Result<(String, String), parse::Defect> {
    let bytes = BASE64
        .decode(token)
        .map_err(|_| "credentials are not base64")?;
    let text = String::from_utf8(bytes).map_err(|_| "credentials are not UTF-8")?;
    let (username, password) = text.split_once(':').ok_or("credentials have no ':'")?;
    // RFC 7617 §2: user-id and password MUST NOT contain control characters.
    if username
        .chars()
        .chain(password.chars())
        .any(char::is_control)
    {
        return Err("credentials contain control characters");
    }
    Ok((username.to_owned(), password.to_owned()))
}

impl<S: BasicScheme> Credentials for HttpBasic<S> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        let malformed = |reason| AuthError::MalformedCredentials {
            challenge: Self::scheme_challenge(),
            reason,
        };
        let Some(token) = parse::authorization(parts, "Basic").map_err(malformed)? else {
            return Ok(None);
        };
        let (username, password) = decode(token).map_err(malformed)?;
        Ok(Some(Self {
            username,
            password,
            scheme: PhantomData,
        }))
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(Self::scheme_challenge());
    }

    fn challenge(&self) -> Challenge {
        Self::scheme_challenge()
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(S::DESCRIPTION)
            .build();
        registry.register(S::SCHEME_NAME, SecurityScheme::Http(scheme));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(HttpBasic<S: BasicScheme>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7617_example_decodes() {
        // RFC 7617 §2: "Aladdin" / "open sesame".
        assert_eq!(
            decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Ok(("Aladdin".into(), "open sesame".into()))
        );
    }

    #[test]
    fn rfc7617_utf8_example_decodes() {
        // RFC 7617 §2.1: user-id "test", password "123£" in UTF-8.
        assert_eq!(
            decode("dGVzdDoxMjPCow=="),
            Ok(("test".into(), "123£".into()))
        );
    }

    #[test]
    fn password_may_contain_colons_and_padding_is_optional() {
        let token = BASE64.encode("user:pa:ss:");
        assert_eq!(decode(&token), Ok(("user".into(), "pa:ss:".into())));
        assert_eq!(
            decode(token.trim_end_matches('=')),
            Ok(("user".into(), "pa:ss:".into()))
        );
    }

    #[test]
    fn defects_are_refused() {
        assert!(decode("!!!not base64!!!").is_err());
        assert!(decode(&BASE64.encode("no colon here")).is_err());
        assert!(decode(&BASE64.encode([0x61, 0x3a, 0xff, 0xfe])).is_err());
        assert!(decode(&BASE64.encode("us\ner:pw")).is_err());
        assert!(decode(&BASE64.encode("user:p\u{7f}w")).is_err());
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = HttpBasic::<DefaultBasic> {
            username: "u".into(),
            password: "hunter2".into(),
            scheme: PhantomData,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(c.matches("u", "hunter2"));
        assert!(!c.matches("u", "hunter3"));
        assert!(!c.matches("v", "hunter2"));
    }
}
