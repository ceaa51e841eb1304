//! Who a request comes from: the TCP peer, or, when the peer is one of `server.trusted_proxies`, the address those
//! proxies say they forwarded for (`X-Forwarded-For`, else `Forwarded`); and the key the abuse limits count it under.
//!
//! Forwarding headers are appended to by every proxy on the way, and anything left of the first hop we trust was
//! written by the client itself: the client is the right-most address that is not a trusted proxy. A peer that is not
//! trusted is the client, whatever its headers say.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use flick_domain::config::{ServerConfig, parse_cidr};

/// The client's address, as resolved for this request (in the request's extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp {
    pub ip: IpAddr,
    /// What per-address limits count: IPv6 cut to its network prefix (one /64 is one household or one server).
    pub key: IpAddr,
}

impl ClientIp {
    /// The client of a request the middleware has seen (unspecified if it did not run, as in some unit tests).
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp { ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED), key: IpAddr::V4(Ipv4Addr::UNSPECIFIED) })
    }
}

/// How client addresses are found and keyed; cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientAddresses {
    trusted: Arc<[(IpAddr, u8)]>,
    ipv6_prefix: u8,
}

impl ClientAddresses {
    /// From `server.trusted_proxies` and `server.ipv6_prefix` (validated when the configuration was loaded; an entry
    /// that does not parse trusts nothing).
    pub fn new(server: &ServerConfig) -> Self {
        let trusted = server.trusted_proxies.iter().filter_map(|c| parse_cidr(c)).collect::<Vec<_>>();
        ClientAddresses { trusted: trusted.into(), ipv6_prefix: server.ipv6_prefix.clamp(1, 128) }
    }

    /// The client behind `peer`, given the request's headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        // From the right: our own proxies' hops are skipped; the first address that is not one is the client.
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.is_trusted(*ip) => nearest = *ip,
                Some(ip) => return *ip,
                // A hop a trusted proxy wrote but no one can read: the proxy is all we know.
                None => return nearest,
            }
        }
        nearest
    }

    /// The key per-address limits count `ip` under.
    pub fn key(&self, ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(mask(u128::from(v6), self.ipv6_prefix))),
            v4 => v4,
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|&(net, len)| contains(net, len, ip))
    }
}

/// The middleware: resolves the client once per request and puts a [`ClientIp`] in its extensions.
pub async fn identify(State(addresses): State<ClientAddresses>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
    let ip = addresses.client(peer, request.headers());
    request.extensions_mut().insert(ClientIp { ip, key: addresses.key(ip) });
    next.run(request).await
}

/// The hops of `X-Forwarded-For` (every line, in order), or of `Forwarded`'s `for=` when there is none; `None` for
/// a hop that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let xff = lines("x-forwarded-for");
    if !xff.is_empty() {
        return xff.iter().flat_map(|l| l.split(',')).map(|hop| parse_hop(hop.trim())).collect();
    }
    lines("forwarded")
        .iter()
        .flat_map(|l| l.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse::<Ipv6Addr>().ok()).map(IpAddr::V6)
}

/// IPv4 seen through an IPv6 socket (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let len = len.min(32);
            let m = |a: Ipv4Addr| if len == 0 { 0 } else { u32::from(a) >> (32 - u32::from(len)) };
            m(n) == m(i)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => mask(u128::from(n), len) == mask(u128::from(i), len),
        _ => false,
    }
}

fn mask(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => bits,
        l => bits & (u128::MAX << (128 - u32::from(l))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn addresses(trusted: &[&str]) -> ClientAddresses {
        let server =
            ServerConfig { trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        ClientAddresses::new(&server)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let a = addresses(&[]);
        let h = headers(&[("x-forwarded-for", "198.51.100.7"), ("forwarded", "for=198.51.100.8")]);
        assert_eq!(a.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        let a = addresses(&["10.0.0.0/8"]);
        assert_eq!(a.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let a = addresses(&["10.0.0.0/8", "::1/128"]);
        // The client forged the first entry; the CDN (untrusted) is what our proxy saw.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(a.client(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        // Several header lines are one list.
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "198.51.100.7:5555")]);
        assert_eq!(a.client(ip("::1"), &h), ip("198.51.100.7"));
        // Only our proxies: the left-most of them.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(a.client(ip("10.0.0.2"), &h), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(a.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Garbage next to our proxy: the proxy.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, not-an-ip")]);
        assert_eq!(a.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let a = addresses(&["127.0.0.1/32"]);
        let h = headers(&[("forwarded", "for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\";proto=https")]);
        assert_eq!(a.client(ip("127.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "proto=https;For=192.0.2.60")]);
        assert_eq!(a.client(ip("127.0.0.1"), &h), ip("192.0.2.60"));
        // An IPv4 peer seen on an IPv6 socket is trusted as the IPv4 address it is.
        assert_eq!(a.client(ip("::ffff:127.0.0.1"), &h), ip("192.0.2.60"));
    }

    #[test]
    fn ipv6_is_keyed_by_its_prefix() {
        let a = addresses(&[]);
        assert_eq!(a.key(ip("2001:db8:1:2:aaaa::1")), a.key(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(a.key(ip("2001:db8:1:2::1")), a.key(ip("2001:db8:1:3::1")));
        assert_eq!(a.key(ip("192.0.2.1")), ip("192.0.2.1"));
        let per_48 = ClientAddresses::new(&ServerConfig { ipv6_prefix: 48, ..Default::default() });
        assert_eq!(per_48.key(ip("2001:db8:1:2::1")), per_48.key(ip("2001:db8:1:ffff::1")));
        let per_128 = ClientAddresses::new(&ServerConfig { ipv6_prefix: 128, ..Default::default() });
        assert_ne!(per_128.key(ip("2001:db8::1")), per_128.key(ip("2001:db8::2")));
    }
}
