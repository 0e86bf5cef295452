//! Where this server may connect on a provider's behalf. An OpenID Connect issuer names its
//! own endpoints in its discovery document; one that turns malicious (or a typo'd issuer
//! someone else registered) must not make this server post codes and the client secret to
//! `http://169.254.169.254/…` or scan `10.0.0.5:6379`. So:
//!
//! - a URL we are handed must be `https://`, or `http://` on this machine (loopback);
//! - an address on a private, loopback, link-local, CGNAT, multicast or unspecified range is
//!   refused, at connect time for names (the resolver filter below, so DNS rebinding cannot
//!   slip past an earlier check) and up front for IP literals (which are never resolved);
//! - except the hosts the operator configured (`PUBLIC_URL`, issuers, endpoint overrides): a
//!   local Keycloak, the tests' stand-ins. Whatever those name on the same host is theirs.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Whether `url` points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `url` is `https://`, or `http://` on this machine: the rule for every address an
/// issuer is reached at, configured (the issuer) or named by it (its endpoints).
pub fn is_https_or_local(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

/// The hosts the operator configured, which may be on private addresses.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Lower-case host names and IP addresses (IPv6 without brackets).
    operator_hosts: HashSet<String>,
}

/// A connection or URL this policy refuses, with the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by the address policy: {0}")]
pub struct Refused(pub String);

impl AddressPolicy {
    /// A policy that trusts the hosts of `urls`, the operator's own configuration.
    pub fn trusting<'a>(urls: impl IntoIterator<Item = &'a Url>) -> Self {
        let operator_hosts = urls.into_iter().filter_map(host_key).collect();
        Self { operator_hosts }
    }

    fn is_operator_host(&self, host: &str) -> bool {
        self.operator_hosts.contains(&host.to_ascii_lowercase())
    }

    /// Whether a URL named by a provider (an issuer's discovered endpoint) may be used:
    /// `https://`, or `http://` only on this machine; and see [`Self::check_address`].
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !is_https_or_local(url) {
            return Err(Refused(format!(
                "{} is not https:// (plain http:// only on this machine)",
                url_for_log(url)
            )));
        }
        self.check_address(url)
    }

    /// Whether this server may connect to `url`'s host: an IP literal only on a public
    /// address or an operator's host (names are checked as they are resolved).
    pub fn check_address(&self, url: &Url) -> Result<(), Refused> {
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()), // checked when resolved
            None => return Err(Refused(format!("{} names no host", url_for_log(url)))),
        };
        if is_public(ip) || host_key(url).is_some_and(|host| self.is_operator_host(&host)) {
            Ok(())
        } else {
            Err(Refused(format!(
                "{} is on a private or local address",
                url_for_log(url)
            )))
        }
    }

    /// The resolver for the provider HTTP client: resolves as the system does, then drops
    /// non-public addresses unless `name` is an operator's host.
    pub fn resolver(self: &Arc<Self>) -> Arc<FilteringResolver> {
        Arc::new(FilteringResolver {
            policy: self.clone(),
        })
    }
}

/// The URL without its query (which may carry a code or token) for logs.
fn url_for_log(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    shown.to_string()
}

/// How a URL's host is compared: lower case, IPv6 without brackets.
fn host_key(url: &Url) -> Option<String> {
    Some(match url.host()? {
        Host::Domain(name) => name.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    })
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local, CGNAT (RFC 6598), multicast, broadcast, unspecified or "this network", also
/// when written as an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match embedded_v4(ip) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0 // "this network", 0.0.0.0/8
        || (a == 100 && (64..128).contains(&b)) // CGNAT, 100.64.0.0/10
        || a >= 240) // reserved, 240.0.0.0/4
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0) // site-local (deprecated), fec0::/10
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`)
/// or NAT64 (`64:ff9b::a.b.c.d`) address, which reaches that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let last32 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (compatible || nat64).then_some(last32)
}

/// reqwest's resolver, filtering what the system resolver answers (see the module comment).
pub struct FilteringResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            // The port is reqwest's to set; 0 only satisfies the lookup's signature.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = if policy.is_operator_host(&name) {
                found
            } else {
                found
                    .into_iter()
                    .filter(|addr| is_public(addr.ip()))
                    .collect()
            };
            if allowed.is_empty() {
                return Err(Box::new(Refused(format!(
                    "{name} resolves only to private or local addresses"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.5",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "fec0::1",
            // IPv4-mapped, -compatible and NAT64 forms reach the IPv4 host.
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.5",
            "::10.0.0.5",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn urls_must_be_https_or_on_this_machine() {
        let policy = AddressPolicy::default();
        let check = |url: &str| policy.check_url(&Url::parse(url).unwrap());
        assert!(check("https://issuer.example.com/token").is_ok());
        assert!(
            check("http://127.0.0.1:4010/token").is_err(),
            "local: not ours"
        );
        assert!(check("http://issuer.example.com/token").is_err());
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("https://10.0.0.5:6379/").is_err());
        assert!(check("https://[::ffff:10.0.0.5]/").is_err());
        assert!(check("ftp://issuer.example.com/").is_err());
        // The reason in the log never carries the query.
        let refused = check("http://issuer.example.com/t?code=secret").unwrap_err();
        assert!(!refused.to_string().contains("secret"), "{refused}");
    }

    #[test]
    fn the_operators_own_hosts_may_be_private() {
        let configured = [
            Url::parse("http://127.0.0.1:3000").unwrap(),
            Url::parse("https://10.0.0.5/realms/staff").unwrap(),
            Url::parse("https://Keycloak.Corp.internal/realms/staff").unwrap(),
        ];
        let policy = AddressPolicy::trusting(&configured);
        let check = |url: &str| policy.check_url(&Url::parse(url).unwrap());
        // Any port of the same host.
        assert!(check("http://127.0.0.1:4010/token").is_ok());
        assert!(check("https://10.0.0.5:8443/token").is_ok());
        assert!(
            check("https://10.0.0.6/token").is_err(),
            "another private host"
        );
        // An issuer on this machine does not make plain http elsewhere acceptable.
        assert!(check("http://10.0.0.5/token").is_err());
        assert!(policy.is_operator_host("keycloak.corp.internal"));
        assert!(!policy.is_operator_host("other.corp.internal"));
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers_unless_the_operator_named_the_host() {
        use reqwest::dns::Resolve;
        let strict = Arc::new(AddressPolicy::default()).resolver();
        let refused = strict
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost resolves only to loopback");
        assert!(
            refused.to_string().contains("private or local"),
            "{refused}"
        );
        let configured = [Url::parse("http://localhost:3000").unwrap()];
        let trusting = Arc::new(AddressPolicy::trusting(&configured)).resolver();
        let found: Vec<_> = trusting
            .resolve("localhost".parse().unwrap())
            .await
            .expect("the operator's own host")
            .collect();
        assert!(
            found.iter().all(|addr| addr.ip().is_loopback()),
            "{found:?}"
        );
    }
}
