//! Who the client is, and how often its authentications may fail.
//!
//! The client address is the TCP peer, unless the peer is a trusted proxy
//! (`--trusted-proxy CIDR`, repeatable): then it is the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy. Addresses to the
//! left of it were written by the client and prove nothing; addresses to the
//! right were appended by proxies the operator trusts. A header that cannot
//! be read leaves the last trusted hop as the client.
//!
//! Failed authentications (an `Authorization` header whose token is
//! malformed, unknown or revoked) draw from a token bucket per client
//! address: `auth_failures_per_minute` of them at once, refilled at that
//! rate. A failure when the bucket is empty is answered `429` with
//! `Retry-After` instead of `401`. Successful authentications and requests
//! without a token never draw from it, so a client with a valid token is
//! never limited by another's failures from the same address. Token
//! secrets are 256 random bits, so guessing one is hopeless anyway; the
//! limit tells a misconfigured client to back off and keeps a flood of
//! bogus tokens out of the error log.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;

/// A range of proxy addresses, `ADDRESS/PREFIX` (or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// Whether `address` is in this range (an IPv4 address mapped into
    /// IPv6 counts as the IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| {
            format!("{text:?} is not an IP address or a CIDR range such as 10.0.0.0/8")
        })?;
        let network = canonical(network);
        let bits = match network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| {
                    format!("{text:?}: the prefix length must be a whole number from 0 to {bits}")
                })?,
        };
        Ok(TrustedProxy { network, prefix })
    }
}

/// How the client address of a request is found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddresses {
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<TrustedProxy>,
}

impl ClientAddresses {
    fn trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|proxy| proxy.contains(address))
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusted(peer) {
            return peer;
        }
        let mut client = peer;
        // Every X-Forwarded-For line, in order, is one list (RFC 9110 §5.3).
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(address) = parse_hop(hop.trim()) else {
                // A hop a proxy did not write properly: trust nothing left of it.
                break;
            };
            client = address;
            if !self.trusted(address) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, with a port or IPv6 brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(|address| canonical(IpAddr::V6(address)))
}

/// A token bucket of failed authentications per client address.
#[derive(Debug)]
pub(crate) struct FailureLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Above this many addresses, buckets that are full again are forgotten.
const MAX_ADDRESSES: usize = 10_000;

impl FailureLimiter {
    pub(crate) fn new(per_minute: f64) -> FailureLimiter {
        FailureLimiter {
            per_minute: per_minute.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one failed authentication from `address`: `Ok` while its
    /// budget lasts, else the seconds until one more failure is allowed.
    pub(crate) fn fail(&self, address: IpAddr) -> Result<(), u64> {
        self.fail_at(address, Instant::now())
    }

    fn fail_at(&self, address: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let per_second = self.per_minute / 60.0;
        let capacity = self.per_minute;
        if buckets.len() > MAX_ADDRESSES {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_second < capacity
            });
        }
        let (tokens, at) = buckets.entry(address).or_insert((capacity, now));
        *tokens =
            (*tokens + now.saturating_duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - *tokens) / per_second).ceil() as u64).max(1))
        }
    }
}

/// The address used for requests whose peer is unknown (tests without a socket).
pub(crate) const UNKNOWN_PEER: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::HeaderValue;

    use super::*;

    fn proxies(ranges: &[&str]) -> ClientAddresses {
        ClientAddresses {
            trusted_proxies: ranges
                .iter()
                .map(|range| range.parse().unwrap_or_else(|error| panic!("{error}")))
                .collect(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(UNKNOWN_PEER)
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
            );
        }
        headers
    }

    #[test]
    fn ranges_parse_and_contain_their_addresses() {
        let range: TrustedProxy = "10.1.0.0/16"
            .parse()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(range.contains(ip("10.1.200.3")));
        assert!(!range.contains(ip("10.2.0.1")));
        assert!(range.contains(ip("::ffff:10.1.0.9")), "mapped IPv4");
        let v6: TrustedProxy = "fd00::/8".parse().unwrap_or_else(|error| panic!("{error}"));
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let all: TrustedProxy = "0.0.0.0/0"
            .parse()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(all.contains(ip("192.0.2.1")));
        assert_eq!(
            "10.0.0.0/33".parse::<TrustedProxy>().err().as_deref(),
            Some("\"10.0.0.0/33\": the prefix length must be a whole number from 0 to 32")
        );
        assert_eq!(
            "lb.internal".parse::<TrustedProxy>().err().as_deref(),
            Some("\"lb.internal\" is not an IP address or a CIDR range such as 10.0.0.0/8")
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let addresses = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["198.51.100.7"]);
        assert_eq!(
            addresses.client(ip("203.0.113.5"), &headers),
            ip("203.0.113.5")
        );
        assert_eq!(
            addresses.client(ip("10.0.0.2"), &headers),
            ip("198.51.100.7")
        );
        assert_eq!(
            ClientAddresses::default().client(ip("10.0.0.2"), &headers),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let addresses = proxies(&["10.0.0.0/8", "192.168.1.1"]);
        // A client that forges a hop cannot hide behind it.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(
            addresses.client(ip("10.0.0.2"), &headers),
            ip("198.51.100.7")
        );
        let headers = forwarded(&["[2001:db8::1]:4711, 10.9.9.9"]);
        assert_eq!(
            addresses.client(ip("10.0.0.2"), &headers),
            ip("2001:db8::1")
        );
        let headers = forwarded(&["198.51.100.7:5000"]);
        assert_eq!(
            addresses.client(ip("10.0.0.2"), &headers),
            ip("198.51.100.7")
        );
        // Nothing readable: the last trusted hop is the client.
        let headers = forwarded(&["unknown"]);
        assert_eq!(addresses.client(ip("10.0.0.2"), &headers), ip("10.0.0.2"));
        // Only proxies: the leftmost of them.
        let headers = forwarded(&["10.3.3.3, 10.4.4.4"]);
        assert_eq!(addresses.client(ip("10.0.0.2"), &headers), ip("10.3.3.3"));
    }

    #[test]
    fn failures_are_limited_per_address_and_refill_over_time() {
        let limiter = FailureLimiter::new(3.0);
        let start = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for _ in 0..3 {
            assert_eq!(limiter.fail_at(a, start), Ok(()));
        }
        assert_eq!(
            limiter.fail_at(a, start),
            Err(20),
            "3 a minute: one every 20 s"
        );
        assert_eq!(
            limiter.fail_at(b, start),
            Ok(()),
            "another address has its own budget"
        );
        assert_eq!(limiter.fail_at(a, start + Duration::from_secs(21)), Ok(()));
        assert!(limiter.fail_at(a, start + Duration::from_secs(21)).is_err());
    }
}
