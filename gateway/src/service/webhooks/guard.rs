//! The SSRF guard: webhook deliveries never reach loopback, private, link-local, cloud-metadata or
//! otherwise internal addresses unless the operator allows private destinations (development).
//! Checked at delivery time, on the addresses DNS actually returned (the connection only ever
//! uses addresses that passed), and on IP-literal hosts, which no resolver sees.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A destination the guard refused: the host, the address and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("webhook destination {host} ({ip}) is not allowed: {reason} address")]
pub struct DestinationRefused {
    pub host: String,
    pub ip: IpAddr,
    pub reason: &'static str,
}

/// Why `ip` is not a public unicast address, or `None` when it is.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_refusal(v4),
            None => v6_refusal(v6),
        },
    }
}

fn v4_refusal(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    Some(match () {
        // AWS, GCP, Azure, DigitalOcean (169.254.169.254), Alibaba (100.100.100.200), Oracle (192.0.0.192)
        _ if [a, b, c, d] == [169, 254, 169, 254] || [a, b, c, d] == [100, 100, 100, 200] || [a, b, c, d] == [192, 0, 0, 192] => "cloud metadata",
        _ if a == 0 => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        _ if a == 100 && (b & 0xc0) == 64 => "shared (carrier-grade NAT)",
        _ if ip.is_broadcast() => "broadcast",
        _ if ip.is_multicast() => "multicast",
        _ if a >= 240 => "reserved",
        _ if (a, b, c) == (192, 0, 0) || (a, b, c) == (192, 0, 2) || (a, b, c) == (198, 51, 100) || (a, b, c) == (203, 0, 113) => "reserved",
        _ if a == 198 && (b == 18 || b == 19) => "reserved",
        _ => return None,
    })
}

fn v6_refusal(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match () {
        // AWS's IPv6 instance metadata service
        _ if s == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => "cloud metadata",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if (s[0] & 0xfe00) == 0xfc00 => "private (unique local)",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link-local",
        _ if (s[0] & 0xffc0) == 0xfec0 => "site-local",
        _ if (s[0] & 0xff00) == 0xff00 => "multicast",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "reserved",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

/// Refuses a URL whose host is an IP literal the guard does not allow (no resolver sees those).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), DestinationRefused> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    match refusal(ip).filter(|_| !allow_private) {
        Some(reason) => Err(DestinationRefused { host: ip.to_string(), ip, reason }),
        None => Ok(()),
    }
}

/// Whether the URL names one of `trusted` exactly: an IP literal and its port.
pub fn is_trusted(url: &Url, trusted: &[SocketAddr]) -> bool {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return false,
    };
    url.port_or_known_default().is_some_and(|port| trusted.contains(&SocketAddr::new(ip, port)))
}

/// At registration: IP literals, and `localhost` names, which can only mean loopback. Other
/// names are checked when a delivery resolves them.
pub fn check_registration(url: &Url, allow_private: bool) -> Result<(), DestinationRefused> {
    check_literal(url, allow_private)?;
    if let Some(url::Host::Domain(name)) = url.host() {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
            return Err(DestinationRefused { host: name, ip: IpAddr::V4(Ipv4Addr::LOCALHOST), reason: "loopback" });
        }
    }
    Ok(())
}

/// DNS for webhook deliveries: the system resolver, keeping only allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| allow_private || refusal(a.ip()).is_none()).collect();
            if allowed.is_empty() {
                if let Some(first) = found.first() {
                    let reason = refusal(first.ip()).unwrap_or("internal");
                    return Err(Box::new(DestinationRefused { host, ip: first.ip(), reason }) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Finds a guard refusal anywhere in an error's chain of causes.
pub fn refused_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a DestinationRefused> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<DestinationRefused>() {
            return Some(refused);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_internal_address_kind_is_refused_and_public_ones_pass() {
        let refused = [
            "127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.10", "fc00::1", "fd12:3456::1",
            "169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "100.64.0.1", "100.100.100.200", "0.0.0.0", "::",
            "224.0.0.1", "ff02::1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "192.0.0.192", "240.0.0.1",
        ];
        for text in refused {
            let ip: IpAddr = text.parse().unwrap();
            assert!(refusal(ip).is_some(), "{text} must be refused");
        }
        for text in ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "172.32.0.1", "100.128.0.1"] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(refusal(ip), None, "{text} must pass");
        }
        assert_eq!(refusal("169.254.169.254".parse().unwrap()), Some("cloud metadata"));
    }

    #[test]
    fn literal_hosts_are_checked_before_any_connection() {
        for url in ["http://127.0.0.1:8080/", "http://[::1]/", "http://0x7f000001/", "http://[::ffff:7f00:1]/", "http://10.1.1.1/"] {
            let url = Url::parse(url).unwrap();
            assert!(check_literal(&url, false).is_err(), "{url}");
            assert!(check_literal(&url, true).is_ok(), "{url}");
        }
        let local = Url::parse("http://localhost:3000/x").unwrap();
        assert!(check_literal(&local, false).is_ok(), "names are left to the resolver");
        assert!(check_registration(&local, false).is_err() && check_registration(&local, true).is_ok());
        assert!(check_registration(&Url::parse("https://hooks.example.com/").unwrap(), false).is_ok());
        let shop: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        assert!(is_trusted(&Url::parse("http://127.0.0.1:8081/webhooks").unwrap(), &[shop]));
        assert!(!is_trusted(&Url::parse("http://127.0.0.1:8082/webhooks").unwrap(), &[shop]), "only that port");
        assert!(!is_trusted(&Url::parse("http://localhost:8081/webhooks").unwrap(), &[shop]), "only the literal");
    }
}
