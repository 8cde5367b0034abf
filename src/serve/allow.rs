//! `serve --allow`: which targets the exporter may probe, decided before any connection. An address
//! target must fall in an allowed CIDR; a host name must be allowed by name (exact or `*.suffix`) or
//! resolve only to allowed addresses. Every address is canonicalised first (an IPv4-mapped IPv6 address
//! is its IPv4 address) and checked against the special-purpose ranges a sweep never touches
//! ([`crate::targets::reserved`]), whatever the list says. A name that is not allowed and cannot be
//! decided without DNS (the list has no CIDR) is refused before any lookup.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use ipnetwork::IpNetwork;

/// The allow-list of `--allow` entries.
#[derive(Debug, Clone)]
pub struct AllowList {
    nets: Vec<IpNetwork>,
    /// Lower-case names; a leading `*.` allows every name below the suffix (not the suffix itself).
    names: Vec<String>,
    reserved: Vec<(IpAddr, IpAddr)>,
}

/// A `/probe` target: `host:port`, `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host part.
    pub host: Host,
    /// The port.
    pub port: u16,
}

/// A target's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An address (canonical: IPv4-mapped IPv6 is IPv4).
    Ip(IpAddr),
    /// A DNS name, lower case, without a trailing dot.
    Name(String),
}

/// Why a target is not probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The target is not on the allow-list (answered 400, nothing sent to it).
    NotAllowed(String),
    /// The allowed name did not resolve (answered with `probe_success 0`).
    Unresolved(String),
}

impl AllowList {
    /// Parses `--allow` entries: an address or CIDR, or a host name (`*.example.com` for every name
    /// under it).
    ///
    /// # Errors
    /// Naming the first entry that is neither.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut list = Self { nets: Vec::new(), names: Vec::new(), reserved: crate::targets::reserved() };
        for e in entries {
            let e = e.trim();
            if let Ok(net) = IpNetwork::from_str(e) {
                list.nets.push(net);
            } else if let Some(name) = e.strip_prefix("*.").and_then(normal_name) {
                list.names.push(format!("*.{name}"));
            } else if let Some(name) = normal_name(e) {
                list.names.push(name);
            } else {
                return Err(format!(
                    "--allow '{}': not an address, a CIDR, or a host name",
                    crate::text::sanitize(e, 100)
                ));
            }
        }
        if list.nets.is_empty() && list.names.is_empty() {
            return Err("--allow: give at least one CIDR or host name the exporter may probe".into());
        }
        Ok(list)
    }

    /// True when `ip` is in an allowed network and not special-purpose.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        !self.is_reserved(ip) && self.nets.iter().any(|n| n.contains(ip))
    }

    fn is_reserved(&self, ip: IpAddr) -> bool {
        self.reserved.iter().any(|(first, last)| match (ip, first, last) {
            (IpAddr::V4(a), IpAddr::V4(f), IpAddr::V4(l)) => (*f..=*l).contains(&a),
            (IpAddr::V6(a), IpAddr::V6(f), IpAddr::V6(l)) => (*f..=*l).contains(&a),
            _ => false,
        })
    }

    /// True when `name` (normalised) is allowed by name.
    pub fn allows_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| match n.strip_prefix("*.") {
            Some(suffix) => name.strip_suffix(suffix).is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => n == name,
        })
    }

    /// Decides a target: the address to probe and the name it was reached by, or why not. Only an
    /// address target that is allowed, or a name that may be looked up, goes further; the lookup is bounded
    /// by `timeout`, and every address the name resolves to must pass.
    ///
    /// # Errors
    /// [`Refusal`].
    pub async fn admit(&self, target: &Target, timeout: Duration) -> Result<(SocketAddr, Option<String>), Refusal> {
        let name = match &target.host {
            Host::Ip(ip) if self.allows_ip(*ip) => return Ok((SocketAddr::new(*ip, target.port), None)),
            Host::Ip(ip) => return Err(Refusal::NotAllowed(format!("{ip} is not in an --allow network"))),
            Host::Name(n) => n,
        };
        let by_name = self.allows_name(name);
        if !by_name && self.nets.is_empty() {
            return Err(Refusal::NotAllowed(format!("{name} is not an --allow name")));
        }
        let found = match tokio::time::timeout(timeout, tokio::net::lookup_host((name.as_str(), target.port))).await {
            Ok(Ok(addrs)) => addrs.map(|a| SocketAddr::new(a.ip().to_canonical(), a.port())).collect::<Vec<_>>(),
            Ok(Err(e)) => return Err(Refusal::Unresolved(format!("{name}: {e}"))),
            Err(_) => return Err(Refusal::Unresolved(format!("{name}: lookup timed out"))),
        };
        let Some(first) = found.first().copied() else {
            return Err(Refusal::Unresolved(format!("{name}: no address")));
        };
        for a in &found {
            let ok = if by_name { !self.is_reserved(a.ip()) } else { self.allows_ip(a.ip()) };
            if !ok {
                return Err(Refusal::NotAllowed(format!("{name} resolves to {}, which is not allowed", a.ip())));
            }
        }
        Ok((first, Some(name.clone())))
    }
}

/// A host name in normal form (lower case, no trailing dot), if `s` is one ([`crate::targets::is_hostname`]:
/// an all-numeric name such as `127.1` is not).
fn normal_name(s: &str) -> Option<String> {
    crate::targets::is_hostname(s).then(|| s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase())
}

/// Parses a `/probe` target: `host:port`, `a.b.c.d:port` or `[v6]:port` (the port is required).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_target(s: &str) -> Result<Target, String> {
    let bad = |why: &str| format!("target '{}': {why}", crate::text::sanitize(s, 100));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(|| bad("expected [v6-address]:port"))?;
        let ip = h.parse::<std::net::Ipv6Addr>().map_err(|_| bad("not an IPv6 address"))?;
        (Host::Ip(IpAddr::V6(ip).to_canonical()), p)
    } else {
        let (h, p) = s.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
        if h.contains(':') {
            return Err(bad("an IPv6 address goes in brackets: [v6]:port"));
        }
        let host = match h.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip.to_canonical()),
            Err(_) => Host::Name(normal_name(h).ok_or_else(|| bad("not a host name or address"))?),
        };
        (host, p)
    };
    let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("bad port"))?;
    Ok(Target { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn addresses_are_allowed_by_network_never_in_special_ranges() {
        let l = list(&["127.0.0.1/32", "10.0.0.0/8", "0.0.0.0/0"]);
        assert!(l.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(l.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!l.allows_ip("224.0.0.1".parse().unwrap()), "multicast is special-purpose");
        assert!(!l.allows_ip("169.254.169.254".parse().unwrap()), "link-local (cloud metadata) is special-purpose");
        let l = list(&["127.0.0.1/32"]);
        assert!(!l.allows_ip("127.0.0.2".parse().unwrap()));
        assert!(!l.allows_ip("::ffff:127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn names_match_exactly_or_below_a_wildcard() {
        let l = list(&["redis.example.com", "*.cache.internal"]);
        assert!(l.allows_name("redis.example.com"));
        assert!(!l.allows_name("xredis.example.com"));
        assert!(l.allows_name("a.cache.internal"));
        assert!(!l.allows_name("cache.internal"));
        assert!(!l.allows_name("acache.internal"));
        assert!(AllowList::parse(&["a b".into()]).is_err());
        assert!(AllowList::parse(&[]).is_err());
    }

    #[test]
    fn targets_parse_with_required_ports() {
        assert_eq!(parse_target("127.0.0.1:6379").unwrap().host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(parse_target("[::ffff:127.0.0.2]:1").unwrap().host, Host::Ip("127.0.0.2".parse().unwrap()));
        assert_eq!(parse_target("Redis.Test.:6380").unwrap().host, Host::Name("redis.test".into()));
        for bad in ["127.0.0.1", "127.1:6379", "x:0", "x:70000", "[::1]", "a/b:1", ":1", "::1:6379"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_not_allowed_are_refused_before_any_lookup() {
        let l = list(&["redis.test"]);
        let t = parse_target("elsewhere.invalid:6379").unwrap();
        assert!(matches!(l.admit(&t, Duration::from_secs(1)).await, Err(Refusal::NotAllowed(_))));
        let l = list(&["127.0.0.1/32"]);
        let t = parse_target("127.0.0.2:6379").unwrap();
        assert!(matches!(l.admit(&t, Duration::from_secs(1)).await, Err(Refusal::NotAllowed(_))));
    }
}
