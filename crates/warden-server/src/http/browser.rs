//! The cookies of the browser flows: the login session, the anti-CSRF cookie, and the id of
//! a passkey ceremony under way (its state stays on the server).
//!
//! Both are `HttpOnly`, `SameSite=Lax` and `Path=/`; when the issuer is `https`, they are
//! also `Secure` and carry the `__Host-` prefix, which binds them to this exact origin (no
//! `Domain`, so a sibling subdomain can neither read nor plant them).

use http::{HeaderMap, HeaderValue, header};

use crate::domain::Warden;
use crate::storage::AnyStorage;

/// The two cookies.
#[derive(Debug, Clone, Copy)]
pub enum Cookie {
    /// The login session at the authorization endpoint.
    Session,
    /// The random value the forms' anti-CSRF tokens are an HMAC of.
    Csrf,
    /// The id of the passkey ceremony this browser started (five minutes, taken once).
    Ceremony,
    /// A verified upstream identity waiting to be linked to the account this browser signs
    /// in to (ten minutes, taken once, bound to the anti-CSRF cookie).
    UpstreamLink,
}

fn secure(warden: &Warden<AnyStorage>) -> bool {
    warden.config().issuer.starts_with("https://")
}

impl Cookie {
    /// The cookie's name for this deployment.
    pub fn name(self, warden: &Warden<AnyStorage>) -> &'static str {
        match (self, secure(warden)) {
            (Cookie::Session, true) => "__Host-warden_session",
            (Cookie::Session, false) => "warden_session",
            (Cookie::Csrf, true) => "__Host-warden_csrf",
            (Cookie::Csrf, false) => "warden_csrf",
            (Cookie::Ceremony, true) => "__Host-warden_webauthn",
            (Cookie::Ceremony, false) => "warden_webauthn",
            (Cookie::UpstreamLink, true) => "__Host-warden_upstream_link",
            (Cookie::UpstreamLink, false) => "warden_upstream_link",
        }
    }

    /// The cookie's value in the request, if it was sent exactly once.
    pub fn read(self, warden: &Warden<AnyStorage>, headers: &HeaderMap) -> Option<String> {
        let name = self.name(warden);
        let mut found = None;
        for value in headers.get_all(header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                let Some((key, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if key == name {
                    if found.is_some() {
                        // Two cookies of one name: one may have been planted; trust neither.
                        return None;
                    }
                    found = Some(value.trim_matches('"').to_owned());
                }
            }
        }
        found
    }

    /// A `Set-Cookie` value giving the cookie `value` for `max_age` seconds (`None`: until
    /// the browser closes); an empty value with `Some(0)` deletes it.
    pub fn set(
        self,
        warden: &Warden<AnyStorage>,
        value: &str,
        max_age: Option<u64>,
    ) -> Option<HeaderValue> {
        let mut cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax",
            self.name(warden)
        );
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if secure(warden) {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).ok()
    }
}
