//! What a request is counted against: its client address, its credentials, its route, or
//! anything a closure derives from it.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use aws_lc_rs::digest;
use axum::extract::{ConnectInfo, MatchedPath};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, HeaderName};
use http::request::Parts;

use super::TrustedProxies;
use super::client_ip::mask;

/// The route part of a key when no route matched (requests that reach the fallback): they
/// share one budget rather than getting one per path an attacker makes up.
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// A key extractor cannot work on this server: a programming error, answered with 500.
///
/// ```
/// use warden::rate_limit::KeyError;
///
/// assert!(KeyError::MissingConnectInfo.to_string().contains("into_make_service_with_connect_info"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The peer address is not in the request's extensions.
    #[error(
        "no peer address: serve the app with \
         `into_make_service_with_connect_info::<SocketAddr>()` (or add `MockConnectInfo` in tests)"
    )]
    MissingConnectInfo,
}

/// Derives the rate-limit key of a request.
///
/// `Ok(None)` lets the request through unmetered (for instance a request without the
/// credentials a [`CredentialKey`] counts; rate-limit those by address with a second
/// layer). Keys start with the extractor's kind (`ip:`, `cred:`, `route:`), so extractors
/// sharing a store do not collide.
///
/// ```
/// use http::request::Parts;
/// use warden::rate_limit::{KeyError, KeyExtractor};
///
/// /// One budget per tenant, named by the `X-Tenant` header.
/// #[derive(Clone)]
/// struct Tenant;
///
/// impl KeyExtractor for Tenant {
///     fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
///         Ok(parts.headers.get("x-tenant").and_then(|v| v.to_str().ok()).map(|t| format!("tenant:{t}")))
///     }
/// }
/// ```
pub trait KeyExtractor: Clone + Send + Sync + 'static {
    /// The key of the request with these parts.
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError>;

    /// The same key, counted separately for each route: `"POST /login|ip:192.0.2.1"`.
    ///
    /// Routes are the method and axum's [`MatchedPath`] (`/users/{id}`, not `/users/42`),
    /// so the number of keys stays bounded; requests that match no route share
    /// [`UNMATCHED_ROUTE`].
    fn per_route(self) -> PerRoute<Self>
    where
        Self: Sized,
    {
        PerRoute(self)
    }
}

/// Keys by client address: `ip:192.0.2.1`, `ip:2001:db8:1:2::/64`.
///
/// The address is the TCP peer from axum's `ConnectInfo<SocketAddr>`, or, from a
/// [trusted proxy](TrustedProxies), the right-most untrusted hop of its forwarding
/// header. The server must be started with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without it every request is
/// answered 500 and [`KeyError::MissingConnectInfo`] is logged, rather than limiting
/// nothing in silence.
///
/// IPv6 clients are keyed by their /64 by default: one subscriber usually holds a whole
/// /64 (RFC 6177) and could otherwise rotate through 2⁶⁴ addresses, each with a fresh
/// budget. [`ipv6_prefix`](Self::ipv6_prefix) changes it.
///
/// ```
/// use std::net::SocketAddr;
/// use axum::extract::ConnectInfo;
/// use warden::rate_limit::{ClientIpKey, KeyExtractor, TrustedProxies};
///
/// let key = ClientIpKey::new(TrustedProxies::none());
/// let (mut parts, ()) = http::Request::new(()).into_parts();
/// parts.extensions.insert(ConnectInfo("[2001:db8:1:2:3::4]:5000".parse::<SocketAddr>().unwrap()));
/// assert_eq!(key.extract(&parts).unwrap().as_deref(), Some("ip:2001:db8:1:2::/64"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    proxies: Arc<TrustedProxies>,
    ipv6_prefix: u8,
}

impl ClientIpKey {
    /// Keys by the client address as `proxies` reveal it.
    pub fn new(proxies: TrustedProxies) -> Self {
        Self {
            proxies: Arc::new(proxies),
            ipv6_prefix: 64,
        }
    }

    /// Keys IPv6 clients by their first `bits` bits (64 by default; 128 for whole
    /// addresses; values above 128 mean 128).
    pub fn ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// The client address of a request (IPv6 addresses not shortened to their prefix).
    pub fn client_ip(&self, parts: &Parts) -> Result<IpAddr, KeyError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or(KeyError::MissingConnectInfo)?;
        Ok(self.proxies.client_ip(peer.ip(), &parts.headers))
    }
}

impl KeyExtractor for ClientIpKey {
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
        let ip = self.client_ip(parts)?;
        let mut key = String::with_capacity(48);
        // `write!` to a String cannot fail.
        let _ = match ip {
            IpAddr::V6(_) if self.ipv6_prefix < 128 => {
                let network = mask(ip, self.ipv6_prefix).unwrap_or(ip);
                write!(key, "ip:{network}/{}", self.ipv6_prefix)
            }
            _ => write!(key, "ip:{ip}"),
        };
        Ok(Some(key))
    }
}

/// Keys by credentials: `cred:` and the SHA-256 of a header's value, so the store never
/// holds a secret (base64url, 43 characters).
///
/// Requests without the header are not metered by this key; pair it with a
/// [`ClientIpKey`] layer so that they still are by address. A key counts whatever was
/// sent, valid or not: it throttles use of a credential, not guessing of one (for
/// that, key logins by account and address in the handler with
/// [`RateLimiter::check`](super::RateLimiter::check)).
///
/// Plain SHA-256, not a keyed MAC, so that every instance derives the same key: someone
/// who can read the store could confirm a guessed low-entropy secret (a Basic password)
/// against it. Random tokens and API keys (128 bits or more) are out of reach.
///
/// ```
/// use warden::rate_limit::{CredentialKey, KeyExtractor};
///
/// let key = CredentialKey::authorization();
/// let request = http::Request::builder().header("authorization", "Bearer abc").body(()).unwrap();
/// let (parts, ()) = request.into_parts();
/// let extracted = key.extract(&parts).unwrap().unwrap();
/// assert!(extracted.starts_with("cred:"));
/// assert!(!extracted.contains("abc"));
///
/// let api_key = CredentialKey::header(http::HeaderName::from_static("x-api-key"));
/// assert_eq!(api_key.extract(&parts).unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct CredentialKey {
    header: HeaderName,
}

impl CredentialKey {
    /// Keys by the `Authorization` header (Basic, Bearer, any scheme).
    pub fn authorization() -> Self {
        Self::header(AUTHORIZATION)
    }

    /// Keys by the header `name`, such as an API-key header.
    pub fn header(name: HeaderName) -> Self {
        Self { header: name }
    }
}

impl KeyExtractor for CredentialKey {
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
        let mut values = parts.headers.get_all(&self.header).iter().peekable();
        if values.peek().is_none() {
            return Ok(None);
        }
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(self.header.as_str().as_bytes());
        for value in values {
            // Separators that cannot occur in a header value keep the framing unambiguous.
            context.update(b"\n");
            context.update(value.as_bytes());
        }
        let mut key = String::with_capacity(48);
        key.push_str("cred:");
        URL_SAFE_NO_PAD.encode_string(context.finish(), &mut key);
        Ok(Some(key))
    }
}

/// Keys by route: `route:GET /users/{id}`. One budget for all clients of a route, to
/// protect an expensive endpoint.
///
/// ```
/// use warden::rate_limit::{KeyExtractor, RouteKey, UNMATCHED_ROUTE};
///
/// let (parts, ()) = http::Request::new(()).into_parts();
/// assert_eq!(RouteKey.extract(&parts).unwrap(), Some(format!("route:GET {UNMATCHED_ROUTE}")));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteKey;

impl KeyExtractor for RouteKey {
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
        let mut key = String::from("route:");
        push_route(&mut key, parts);
        Ok(Some(key))
    }
}

fn push_route(key: &mut String, parts: &Parts) {
    key.push_str(parts.method.as_str());
    key.push(' ');
    key.push_str(
        parts
            .extensions
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
    );
}

/// Another extractor's key, counted per route; see [`KeyExtractor::per_route`].
///
/// ```
/// use warden::rate_limit::{KeyExtractor, key_fn};
///
/// let per_route = key_fn(|_| Some("everyone".to_owned())).per_route();
/// let (parts, ()) = http::Request::post("/x").body(()).unwrap().into_parts();
/// assert_eq!(per_route.extract(&parts).unwrap().as_deref(), Some("POST (unmatched)|everyone"));
/// ```
#[derive(Debug, Clone)]
pub struct PerRoute<K>(K);

impl<K: KeyExtractor> KeyExtractor for PerRoute<K> {
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
        let Some(inner) = self.0.extract(parts)? else {
            return Ok(None);
        };
        let mut key = String::with_capacity(inner.len() + 32);
        push_route(&mut key, parts);
        key.push('|');
        key.push_str(&inner);
        Ok(Some(key))
    }
}

/// A key from a closure; see [`key_fn`].
#[derive(Clone)]
pub struct KeyFn<F>(F);

impl<F> std::fmt::Debug for KeyFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFn")
    }
}

/// Keys by whatever `f` derives from the request; `None` leaves it unmetered.
///
/// ```
/// use warden::rate_limit::{KeyExtractor, key_fn};
///
/// let by_tenant = key_fn(|parts| {
///     let tenant = parts.headers.get("x-tenant")?.to_str().ok()?;
///     Some(format!("tenant:{tenant}"))
/// });
/// let (parts, ()) = http::Request::builder().header("x-tenant", "acme").body(()).unwrap().into_parts();
/// assert_eq!(by_tenant.extract(&parts).unwrap().as_deref(), Some("tenant:acme"));
/// ```
pub fn key_fn<F>(f: F) -> KeyFn<F>
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    KeyFn(f)
}

impl<F> KeyExtractor for KeyFn<F>
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn extract(&self, parts: &Parts) -> Result<Option<String>, KeyError> {
        Ok((self.0)(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::get("/items/42");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    fn key(extractor: &impl KeyExtractor, parts: &Parts) -> Option<String> {
        extractor.extract(parts).unwrap()
    }

    #[test]
    fn client_ip_keys() {
        let direct = ClientIpKey::new(TrustedProxies::none());
        let p = parts("192.0.2.1:4000", &[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(key(&direct, &p).as_deref(), Some("ip:192.0.2.1"));

        let behind = ClientIpKey::new(TrustedProxies::new(["192.0.2.0/24"]).unwrap());
        assert_eq!(key(&behind, &p).as_deref(), Some("ip:198.51.100.1"));

        let p = parts("[2001:db8:1:2:3::4]:4000", &[]);
        assert_eq!(key(&direct, &p).as_deref(), Some("ip:2001:db8:1:2::/64"));
        let whole = direct.clone().ipv6_prefix(200);
        assert_eq!(key(&whole, &p).as_deref(), Some("ip:2001:db8:1:2:3::4"));
        let p = parts("[::ffff:192.0.2.9]:4000", &[]);
        assert_eq!(key(&direct, &p).as_deref(), Some("ip:192.0.2.9"));
    }

    #[test]
    fn missing_connect_info_is_an_error() {
        let (parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(
            ClientIpKey::new(TrustedProxies::none()).extract(&parts),
            Err(KeyError::MissingConnectInfo)
        );
    }

    #[test]
    fn credential_keys_hash_the_secret() {
        let by_auth = CredentialKey::authorization();
        let a = key(
            &by_auth,
            &parts("192.0.2.1:1", &[("authorization", "Bearer a")]),
        )
        .unwrap();
        let b = key(
            &by_auth,
            &parts("192.0.2.1:1", &[("authorization", "Bearer b")]),
        )
        .unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), "cred:".len() + 43);
        assert!(!a.contains("Bearer"));
        assert_eq!(key(&by_auth, &parts("192.0.2.1:1", &[])), None);

        // The same value under another header is another key.
        let by_api_key = CredentialKey::header(HeaderName::from_static("x-api-key"));
        let c = key(
            &by_api_key,
            &parts("192.0.2.1:1", &[("x-api-key", "Bearer a")]),
        )
        .unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn route_keys() {
        let mut p = parts("192.0.2.1:1", &[]);
        assert_eq!(key(&RouteKey, &p).as_deref(), Some("route:GET (unmatched)"));
        let per_route = ClientIpKey::new(TrustedProxies::none()).per_route();
        assert_eq!(
            key(&per_route, &p).as_deref(),
            Some("GET (unmatched)|ip:192.0.2.1")
        );
        // A `MatchedPath` can only be made by axum's router; the HTTP tests cover it.
        p.extensions.clear();
        assert_eq!(per_route.extract(&p), Err(KeyError::MissingConnectInfo));
        let nothing = key_fn(|_| None).per_route();
        assert_eq!(key(&nothing, &p), None);
    }
}
