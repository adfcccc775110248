//! The client's address: the TCP peer, or what trusted proxies say about the hop before
//! them in `X-Forwarded-For` or RFC 7239 `Forwarded`.
//!
//! Both headers are lists that each proxy appends to, so everything left of the last entry
//! written by a proxy we trust is whatever the client sent. The walk therefore starts at
//! the right, at the TCP peer: while the address at hand is a trusted proxy, step one entry
//! left; the first untrusted address is the client. A header is only read when the peer
//! itself is trusted, so a client talking to us directly cannot claim any address.
//!
//! Malformed input (a syntax error, `for=unknown`, an obfuscated identifier, bytes outside
//! visible ASCII) on the path of that walk makes the result the peer's address: the
//! proxy's, shared by every client behind it. Entries left of the client's are never read,
//! so garbage a client prepends cannot move its key.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;
use http::header::{FORWARDED, HeaderName};

/// `X-Forwarded-For` (not in `http::header`, being non-standard).
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Which header the trusted proxies write.
///
/// Pick the one your proxy **appends to or overwrites**. Reading a header it passes
/// through untouched lets clients choose their address: with `Forwarded` selected behind
/// a proxy that only writes `X-Forwarded-For`, a client's own `Forwarded: for=1.2.3.4`
/// would look as if the proxy wrote it.
///
/// ```
/// use warden::rate_limit::ProxyHeader;
///
/// assert_eq!(ProxyHeader::default(), ProxyHeader::XForwardedFor);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `$proxy_add_x_forwarded_for`,
    /// AWS ALB, most load balancers). The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`; only `for=` is read.
    Forwarded,
}

/// The proxies whose forwarding headers are believed, as addresses or CIDR ranges, and
/// the header they write.
///
/// ```
/// use std::net::IpAddr;
/// use http::HeaderMap;
/// use warden::rate_limit::TrustedProxies;
///
/// let proxies = TrustedProxies::new(["10.0.0.0/8", "fd00::/8"]).unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "198.51.100.7, 10.1.2.3".parse().unwrap());
///
/// // From the load balancer: the right-most untrusted hop.
/// let lb: IpAddr = "10.0.0.1".parse().unwrap();
/// assert_eq!(proxies.client_ip(lb, &headers), "198.51.100.7".parse::<IpAddr>().unwrap());
///
/// // From anyone else: the header is ignored.
/// let direct: IpAddr = "203.0.113.9".parse().unwrap();
/// assert_eq!(proxies.client_ip(direct, &headers), direct);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<Cidr>,
    header: ProxyHeader,
}

/// A trusted-proxy entry that is neither an IP address nor a CIDR range.
///
/// ```
/// use warden::rate_limit::TrustedProxies;
///
/// let error = TrustedProxies::new(["10.0.0.0/33"]).unwrap_err();
/// assert_eq!(error.to_string(), "not an IP address or CIDR range: 10.0.0.0/33");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR range: {0}")]
pub struct InvalidCidr(pub String);

impl TrustedProxies {
    /// Trusts no proxy: the client is always the TCP peer.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts these addresses and ranges (`"10.0.0.0/8"`, `"192.0.2.1"`, `"fd00::/8"`),
    /// reading [`ProxyHeader::XForwardedFor`]. Host bits of a range are ignored.
    pub fn new<I>(entries: I) -> Result<Self, InvalidCidr>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nets = entries
            .into_iter()
            .map(|entry| entry.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(Self {
            nets,
            header: ProxyHeader::default(),
        })
    }

    /// Reads `header` instead of `X-Forwarded-For`.
    pub fn with_header(mut self, header: ProxyHeader) -> Self {
        self.header = header;
        self
    }

    /// The header that is read.
    pub fn header(&self) -> ProxyHeader {
        self.header
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(ip))
    }

    /// The client's address for a request from `peer` carrying `headers`.
    ///
    /// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, from dual-stack sockets) come back
    /// as IPv4.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.nets.is_empty() || !self.is_trusted(peer) {
            return peer;
        }
        let mut walk = Walk {
            proxies: self,
            leftmost_proxy: None,
        };
        let found = match self.header {
            ProxyHeader::XForwardedFor => walk.x_forwarded_for(headers),
            ProxyHeader::Forwarded => walk.forwarded(headers),
        };
        match found {
            Found::Client(ip) => ip,
            Found::Malformed => peer,
            // Every hop is a trusted proxy (an internal health check, say): the left-most
            // one is where the request started. No header at all: the peer.
            Found::End => walk.leftmost_proxy.unwrap_or(peer),
        }
    }
}

/// The right-to-left walk over one request's hops.
struct Walk<'a> {
    proxies: &'a TrustedProxies,
    leftmost_proxy: Option<IpAddr>,
}

enum Found {
    Client(IpAddr),
    Malformed,
    End,
}

impl Walk<'_> {
    /// Takes the next hop to the left; `Some` ends the walk.
    fn step(&mut self, hop: Option<IpAddr>) -> Option<Found> {
        let Some(ip) = hop else {
            return Some(Found::Malformed);
        };
        let ip = ip.to_canonical();
        if self.proxies.is_trusted(ip) {
            self.leftmost_proxy = Some(ip);
            None
        } else {
            Some(Found::Client(ip))
        }
    }

    /// Field lines are one list in order (RFC 9110 §5.3), so walk the last line first.
    fn x_forwarded_for(&mut self, headers: &HeaderMap) -> Found {
        for line in headers.get_all(X_FORWARDED_FOR).iter().rev() {
            let Ok(line) = line.to_str() else {
                return Found::Malformed;
            };
            for element in line.rsplit(',') {
                let element = element.trim_matches([' ', '\t']);
                // Empty list elements are ignored (RFC 9110 §5.6.1).
                if element.is_empty() {
                    continue;
                }
                if let Some(found) = self.step(parse_node(element)) {
                    return found;
                }
            }
        }
        Found::End
    }

    fn forwarded(&mut self, headers: &HeaderMap) -> Found {
        for line in headers.get_all(FORWARDED).iter().rev() {
            let Ok(line) = line.to_str() else {
                return Found::Malformed;
            };
            // Quoted strings may hold commas, so a line is split front to back.
            let hops: Vec<Option<IpAddr>> = Unquoted::new(line, b',')
                .map(|element| element.trim_matches([' ', '\t']))
                .filter(|element| !element.is_empty())
                .map(forwarded_for)
                .collect();
            for hop in hops.into_iter().rev() {
                if let Some(found) = self.step(hop) {
                    return found;
                }
            }
        }
        Found::End
    }
}

/// The address in one `Forwarded` element's `for=` (RFC 7239 §4, §5.2), or `None` when the
/// element is malformed, has no `for`, or names no address (`unknown`, `_hidden`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in Unquoted::new(element, b';') {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if name.trim_end().eq_ignore_ascii_case("for") {
            // §4: "Each parameter MUST NOT occur more than once per forwarded-element."
            if found.is_some() {
                return None;
            }
            found = Some(unquote(value.trim_start())?);
        }
    }
    parse_node(&found?)
}

/// A token as is, or a quoted-string with its quoted-pairs resolved (RFC 9110 §5.6.4).
fn unquote(value: &str) -> Option<Cow<'_, str>> {
    let Some(inner) = value.strip_prefix('"') else {
        return (!value.contains(['"', '\\'])).then_some(Cow::Borrowed(value));
    };
    let inner = inner.strip_suffix('"')?;
    if !inner.contains('\\') {
        return (!inner.contains('"')).then_some(Cow::Borrowed(inner));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(Cow::Owned(out))
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:8080` (RFC 7239 §6 node, plus the unbracketed IPv6
/// that `X-Forwarded-For` writers use).
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let ip = Ipv6Addr::from_str(address).ok()?;
        return (after.is_empty() || after.strip_prefix(':').is_some_and(is_port))
            .then_some(IpAddr::V6(ip));
    }
    if let Ok(ip) = IpAddr::from_str(node) {
        return Some(ip);
    }
    let (host, port) = node.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    Ipv4Addr::from_str(host).ok().map(IpAddr::V4)
}

/// A port number, or an RFC 7239 §6.3 obfuscated port (`_` then `[A-Za-z0-9._-]`).
fn is_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(obfuscated) => {
            !obfuscated.is_empty()
                && obfuscated
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
    }
}

/// Splits at `delimiter` outside double quotes. An unterminated quote runs to the end, so
/// the last piece is then malformed for `unquote`.
struct Unquoted<'a> {
    rest: Option<&'a str>,
    delimiter: u8,
}

impl<'a> Unquoted<'a> {
    fn new(value: &'a str, delimiter: u8) -> Self {
        Self {
            rest: Some(value),
            delimiter,
        }
    }
}

impl<'a> Iterator for Unquoted<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, b) in rest.bytes().enumerate() {
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if !quoted && b == self.delimiter {
                self.rest = Some(&rest[i + 1..]);
                return Some(&rest[..i]);
            }
        }
        self.rest = None;
        Some(rest)
    }
}

/// An address range: a network address and a prefix length.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        mask(ip, self.prefix) == Some(self.network)
    }
}

impl FromStr for Cidr {
    type Err = InvalidCidr;

    fn from_str(s: &str) -> Result<Self, InvalidCidr> {
        let invalid = || InvalidCidr(s.to_owned());
        let (address, prefix) = match s.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s.trim(), None),
        };
        let ip = IpAddr::from_str(address).map_err(|_| invalid())?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix.parse::<u8>().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
            None => bits,
        };
        if prefix > bits {
            return Err(invalid());
        }
        // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8.
        let (ip, prefix) = match ip {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                (ip.to_canonical(), prefix - 96)
            }
            _ => (ip, prefix),
        };
        let network = mask(ip, prefix).ok_or_else(invalid)?;
        Ok(Self { network, prefix })
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// `ip` with all but its first `prefix` bits cleared; `None` if `prefix` is too long.
pub(crate) fn mask(ip: IpAddr, prefix: u8) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask)))
        }
        IpAddr::V6(v6) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(name: &'static str, lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(name, line.parse().unwrap());
        }
        headers
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        headers("x-forwarded-for", lines)
    }

    fn fwd(lines: &[&str]) -> HeaderMap {
        headers("forwarded", lines)
    }

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::new(entries).unwrap()
    }

    const LB: &str = "10.0.0.1";

    #[test]
    fn spoofed_x_forwarded_for_from_untrusted_peer_is_ignored() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = xff(&["1.2.3.4"]);
        assert_eq!(trusted.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::none().client_ip(ip("203.0.113.9"), &h),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_chain_is_walked_right_to_left() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.10"]);
        // The client prepended a lie; the CDN (192.0.2.10) and the LB are trusted.
        let h = xff(&["6.6.6.6, 198.51.100.7, 192.0.2.10"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.7"));
        // Without the CDN trusted, the CDN is the client.
        let h = xff(&["198.51.100.7, 192.0.2.10"]);
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client_ip(ip(LB), &h),
            ip("192.0.2.10")
        );
    }

    #[test]
    fn several_header_lines_form_one_list() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = xff(&["6.6.6.6", "198.51.100.7, 10.9.9.9"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.7"));
        let h = xff(&["198.51.100.7", "10.9.9.9"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.7"));
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = xff(&["not-an-ip, , 198.51.100.7"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.7"));
        let h = fwd(&[r#"for="unterminated, for=198.51.100.7"#, "for=198.51.100.8"]);
        let trusted = trusted.with_header(ProxyHeader::Forwarded);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.8"));
    }

    #[test]
    fn malformed_hops_fall_back_to_the_peer() {
        let trusted = proxies(&["10.0.0.0/8"]);
        for value in [
            "198.51.100.7, bogus",
            "198.51.100.7, 10.0.0.2, 1.2.3",
            "198.51.100.7:99999",
            "fe80::1%eth0",
            "[2001:db8::1",
            "2001:db8::1]:80",
        ] {
            assert_eq!(trusted.client_ip(ip(LB), &xff(&[value])), ip(LB), "{value}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"198.51.100.\xff").unwrap(),
        );
        assert_eq!(trusted.client_ip(ip(LB), &h), ip(LB));
    }

    #[test]
    fn missing_header_or_all_trusted_hops() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client_ip(ip(LB), &HeaderMap::new()), ip(LB));
        let h = xff(&["10.5.5.5, 10.6.6.6"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("10.5.5.5"));
    }

    #[test]
    fn ports_and_ipv6_in_x_forwarded_for() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        for (value, want) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
        ] {
            assert_eq!(
                trusted.client_ip(ip(LB), &xff(&[value])),
                ip(want),
                "{value}"
            );
        }
        // An IPv6 proxy, and an IPv4-mapped peer.
        let h = xff(&["198.51.100.7"]);
        assert_eq!(
            trusted.client_ip(ip("2001:db8:ffff::1"), &h),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.0.0.1"), &h),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_rfc7239_examples() {
        let trusted = proxies(&["10.0.0.0/8"]).with_header(ProxyHeader::Forwarded);
        for (value, want) in [
            // RFC 7239 §4 and §7.1 examples.
            (r#"for="_gazonk""#, LB),
            (r#"For="[2001:db8:cafe::17]:4711""#, "2001:db8:cafe::17"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("for=192.0.2.43, for=198.51.100.17", "198.51.100.17"),
            (
                "for=192.0.2.43,for=\"[2001:db8:cafe::17]\"",
                "2001:db8:cafe::17",
            ),
            // by= and other parameters in any order and case; quoted-pairs.
            (
                "proto=https;FOR=\"198.51.100.9:_port\";by=10.0.0.1",
                "198.51.100.9",
            ),
            (r#"for="198.51.100.\9""#, "198.51.100.9"),
            // A trusted hop, then the client.
            ("for=198.51.100.9, for=10.2.2.2", "198.51.100.9"),
        ] {
            assert_eq!(
                trusted.client_ip(ip(LB), &fwd(&[value])),
                ip(want),
                "{value}"
            );
        }
    }

    #[test]
    fn forwarded_malformed_or_unusable_elements_fall_back_to_the_peer() {
        let trusted = proxies(&["10.0.0.0/8"]).with_header(ProxyHeader::Forwarded);
        for value in [
            "for=unknown",
            "proto=https",
            "for=198.51.100.9;for=198.51.100.10",
            "for",
            r#"for="198.51.100.9"#,
            r#"for=198.51.100.9""#,
            "for=\"[2001:db8::1]:x\"",
        ] {
            assert_eq!(trusted.client_ip(ip(LB), &fwd(&[value])), ip(LB), "{value}");
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let mut h = xff(&["198.51.100.1"]);
        h.insert("forwarded", "for=198.51.100.2".parse().unwrap());
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.1"));
        let trusted = trusted.with_header(ProxyHeader::Forwarded);
        assert_eq!(trusted.client_ip(ip(LB), &h), ip("198.51.100.2"));
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let trusted = proxies(&[
            "10.1.2.3/8",
            " 192.0.2.1 ",
            "fd00::/8",
            "::ffff:172.16.0.0/108",
        ]);
        assert!(trusted.is_trusted(ip("10.255.0.1")));
        assert!(!trusted.is_trusted(ip("11.0.0.1")));
        assert!(trusted.is_trusted(ip("192.0.2.1")));
        assert!(!trusted.is_trusted(ip("192.0.2.2")));
        assert!(trusted.is_trusted(ip("fd12::1")));
        assert!(!trusted.is_trusted(ip("fe80::1")));
        assert!(trusted.is_trusted(ip("172.31.0.1")));
        assert!(trusted.is_trusted(ip("::ffff:10.0.0.1")));
        assert!(proxies(&["0.0.0.0/0"]).is_trusted(ip("8.8.8.8")));
        assert!(!proxies(&["0.0.0.0/0"]).is_trusted(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "example.com",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(
                TrustedProxies::new([bad]).unwrap_err(),
                InvalidCidr(bad.into())
            );
        }
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask(ip("2001:db8:1:2:3:4:5:6"), 64),
            Some(ip("2001:db8:1:2::"))
        );
        assert_eq!(mask(ip("192.0.2.77"), 24), Some(ip("192.0.2.0")));
        assert_eq!(mask(ip("192.0.2.77"), 0), Some(ip("0.0.0.0")));
        assert_eq!(mask(ip("192.0.2.77"), 33), None);
    }
}
