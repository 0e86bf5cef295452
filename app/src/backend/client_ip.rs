//! Which client a request comes from, for per-client limits.
//!
//! Behind a reverse proxy the TCP peer is the proxy, so every client would share one
//! bucket and one attacker could lock everyone out. The proxy names the client in
//! `X-Forwarded-For`, but anyone can send that header: it is believed only from a peer in
//! `TRUSTED_PROXIES`, and then read from the right (each proxy appends the address it saw),
//! stopping at the first address that is not itself a trusted proxy. Whatever a client
//! writes into the header itself sits left of that and is never used.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges (`10.0.0.0/8, ::1`).
pub fn parse_trusted_proxies(raw: Option<&str>) -> Result<Vec<IpNet>, String> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    format!(
                        "must list IP addresses or CIDR ranges separated by commas \
                         (e.g. 10.0.0.0/8, ::1); {:?} is neither",
                        entry.chars().take(60).collect::<String>()
                    )
                })
        })
        .collect()
}

/// The address of the client behind `peer`, given the request's `X-Forwarded-For`
/// header values in order.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(addr));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded_for
        .iter()
        .rev()
        .flat_map(|value| value.rsplit(','));
    for hop in hops {
        match parse_hop(hop) {
            Some(addr) if is_trusted(&addr) => client = addr,
            Some(addr) => return addr,
            // "unknown", an obfuscated name, garbage: the nearest proxy we trust is the
            // best we know.
            None => return client,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as some proxies
/// write it (`192.0.2.1:4711`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|addr| addr.to_canonical())
}

/// The rate-limit key of a client: its IPv4 address, or its IPv6 /64. A home or mobile
/// subscriber is routinely given a whole /64, so keying single IPv6 addresses would hand
/// one person 2^64 buckets.
pub fn rate_limit_key(client: IpAddr) -> IpAddr {
    ipv6_prefix(client, 64)
}

/// The wider rate-limit key: an IPv6 client's /48, where one site (or one attacker) holds
/// 65,536 /64s; an IPv4 client's own address (as [`rate_limit_key`]: IPv4 addresses are
/// scarce, and neighbours behind one /24 are often strangers).
pub fn network_rate_limit_key(client: IpAddr) -> IpAddr {
    ipv6_prefix(client, 48)
}

/// Where a client is, roughly, as the account page shows it: an IPv4 address's /24
/// (`203.0.113.0/24`) or an IPv6 one's /48; enough to tell home from elsewhere, not to
/// pin down a household.
pub fn approximate_network(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        v6 => format!("{}/48", ipv6_prefix(v6, 48)),
    }
}

/// An IPv6 address cut to its first `bits`; an IPv4 one (also written IPv4-mapped) whole.
fn ipv6_prefix(client: IpAddr, bits: u32) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let host_mask = (1u128 << (128 - bits)) - 1;
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !host_mask))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_shown_as_a_v4_slash_24_or_a_v6_slash_48() {
        let at = |text: &str| approximate_network(text.parse().unwrap());
        assert_eq!(at("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(at("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(at("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(s: &str) -> Vec<IpNet> {
        parse_trusted_proxies(Some(s)).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        assert_eq!(
            client_address(ip("198.51.100.7"), &["203.0.113.9"], &[]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_cannot_name_a_client() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            client_address(ip("198.51.100.7"), &["203.0.113.9"], &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.10");
        // The client forged the first entry; the proxies appended the rest.
        let header = ["6.6.6.6, 203.0.113.9, 10.1.2.3"];
        assert_eq!(
            client_address(ip("192.0.2.10"), &header, &trusted),
            ip("203.0.113.9")
        );
        // Several header lines read as one list, in order.
        let lines = ["6.6.6.6", "203.0.113.9", "10.1.2.3"];
        assert_eq!(
            client_address(ip("192.0.2.10"), &lines, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = proxies("127.0.0.1");
        let peer = ip("::ffff:127.0.0.1");
        assert_eq!(
            client_address(peer, &["203.0.113.9:4711"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(peer, &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(peer, &["::ffff:203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_or_a_missing_header_leaves_the_nearest_trusted_proxy() {
        let trusted = proxies("127.0.0.1, 10.0.0.0/8");
        assert_eq!(
            client_address(ip("127.0.0.1"), &[], &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                &["203.0.113.9, unknown, 10.0.0.5"],
                &trusted
            ),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            rate_limit_key(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            rate_limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(rate_limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(rate_limit_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        // The wider key: a /48 holds 65,536 /64s; IPv4 stays per address.
        assert_eq!(
            network_rate_limit_key(ip("2001:db8:1:ffff:aaaa::1")),
            ip("2001:db8:1::")
        );
        assert_eq!(
            network_rate_limit_key(ip("2001:db8:1:2::1")),
            network_rate_limit_key(ip("2001:db8:1:3::1"))
        );
        assert_ne!(
            network_rate_limit_key(ip("2001:db8:1::1")),
            network_rate_limit_key(ip("2001:db8:2::1"))
        );
        assert_eq!(network_rate_limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn the_setting_takes_addresses_and_ranges_and_refuses_anything_else() {
        assert_eq!(parse_trusted_proxies(None).unwrap(), vec![]);
        assert_eq!(
            proxies(" 10.0.0.0/8 ,::1,192.0.2.7/24 "),
            vec![
                "10.0.0.0/8".parse::<IpNet>().unwrap(),
                "::1/128".parse().unwrap(),
                "192.0.2.0/24".parse().unwrap()
            ]
        );
        let err = parse_trusted_proxies(Some("10.0.0.0/8, proxy.internal")).unwrap_err();
        assert!(err.contains("\"proxy.internal\" is neither"), "{err}");
        assert!(parse_trusted_proxies(Some("10.0.0.0/33")).is_err());
    }
}
