//! The endpoint plan: parsed targets × ports, minus exclusions, as a lazily indexed space.
//!
//! A [`Plan`] holds disjoint address blocks (merged CIDRs and ranges with exclusions cut out), so its
//! memory is proportional to the *input*, never to the range: a /8 is one block. Endpoint `i` is computed
//! on demand ([`Plan::get`]), which is what lets the scheduler start at once and lets a permutation or a
//! shard walk the space without materialising it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::targets::{TargetKind, TargetSpec, ip_to_u128, u128_to_ip};

/// One endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Address and port.
    pub addr: SocketAddr,
    /// Host name it came from (SNI and hostname check), if the target was a name.
    pub name: Option<Arc<str>>,
}

/// A run of consecutive addresses of one family sharing a port list and a name.
#[derive(Debug, Clone)]
struct Block {
    first: u128,
    len: u128,
    v6: bool,
    ports: Arc<[u16]>,
    name: Option<Arc<str>>,
}

/// An inclusive address interval of one family, used for exclusions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// IPv6 or IPv4.
    pub v6: bool,
    /// First address as an integer.
    pub first: u128,
    /// Last address as an integer.
    pub last: u128,
}

impl Interval {
    /// The interval covering `first..=last`.
    pub fn new(first: IpAddr, last: IpAddr) -> Self {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4: an exclusion of a.b.c.d must cover it.
        let (first, last) = (first.to_canonical(), last.to_canonical());
        Self { v6: first.is_ipv6(), first: ip_to_u128(first), last: ip_to_u128(last) }
    }
}

/// The whole scan space, indexed `0..len()`.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    blocks: Vec<Block>,
    /// `cumulative[i]` = endpoints in blocks before `i`.
    cumulative: Vec<u128>,
    total: u128,
}

/// A resolved target: a spec whose host names were turned into addresses.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Address intervals (one per resolved address for names).
    pub intervals: Vec<Interval>,
    /// The explicit port, or `None` for the `-p` list.
    pub port: Option<u16>,
    /// The host name, if the target was one.
    pub name: Option<String>,
}

impl Resolved {
    /// A spec without names (panics never: a `Host` spec yields an empty interval list here).
    pub fn from_spec(spec: &TargetSpec) -> Self {
        let intervals = match &spec.kind {
            TargetKind::Range { first, last } => vec![Interval::new(*first, *last)],
            TargetKind::Host(_) => Vec::new(),
        };
        Self { intervals, port: spec.port, name: None }
    }
}

impl Plan {
    /// Builds the plan: merges overlapping targets that share ports and name, cuts out exclusions.
    pub fn build(targets: &[Resolved], ports: &[u16], exclusions: &[Interval]) -> Self {
        let default_ports: Arc<[u16]> = Arc::from(ports);
        // Group by (ports, name) so that overlapping CIDRs are scanned once.
        let mut groups: BTreeMap<(Vec<u16>, Option<String>), Vec<Interval>> = BTreeMap::new();
        for t in targets {
            let key = (t.port.map_or_else(|| ports.to_vec(), |p| vec![p]), t.name.clone());
            groups.entry(key).or_default().extend(t.intervals.iter().copied());
        }
        let excluded = merge(exclusions.to_vec());
        let mut blocks = Vec::new();
        for ((group_ports, name), intervals) in groups {
            if group_ports.is_empty() {
                continue;
            }
            let ports: Arc<[u16]> =
                if group_ports[..] == default_ports[..] { default_ports.clone() } else { Arc::from(group_ports) };
            let name: Option<Arc<str>> = name.map(Arc::from);
            for iv in subtract(merge(intervals), &excluded) {
                blocks.push(Block {
                    first: iv.first,
                    // Saturates for ::/0 (2^128 addresses): --max-endpoints refuses it anyway.
                    len: (iv.last - iv.first).saturating_add(1),
                    v6: iv.v6,
                    ports: ports.clone(),
                    name: name.clone(),
                });
            }
        }
        let mut cumulative = Vec::with_capacity(blocks.len());
        let mut total: u128 = 0;
        for b in &blocks {
            cumulative.push(total);
            total = total.saturating_add(b.len.saturating_mul(b.ports.len() as u128));
        }
        Self { blocks, cumulative, total }
    }

    /// An upper bound on the endpoints any one address has in the plan: every distinct port, once per
    /// distinct name (plus once unnamed).
    pub fn max_per_address(&self) -> u128 {
        let ports: std::collections::BTreeSet<u16> = self.blocks.iter().flat_map(|b| b.ports.iter().copied()).collect();
        let names: std::collections::BTreeSet<&str> = self.blocks.iter().filter_map(|b| b.name.as_deref()).collect();
        ports.len() as u128 * (names.len() as u128 + 1)
    }

    /// Number of endpoints (address × port).
    pub fn len(&self) -> u128 {
        self.total
    }

    /// True when nothing is to be scanned.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Endpoint number `i` (address-major: all ports of an address are adjacent).
    pub fn get(&self, i: u128) -> Option<Endpoint> {
        if i >= self.total {
            return None;
        }
        let b = self.cumulative.partition_point(|&c| c <= i).checked_sub(1)?;
        let block = self.blocks.get(b)?;
        let offset = i - self.cumulative.get(b)?;
        let nports = block.ports.len() as u128;
        let port = *block.ports.get(usize::try_from(offset % nports).ok()?)?;
        let ip = u128_to_ip(block.first + offset / nports, block.v6);
        Some(Endpoint { addr: SocketAddr::new(ip, port), name: block.name.clone() })
    }

    /// All endpoints in index order, computed lazily.
    pub fn iter(&self) -> impl Iterator<Item = Endpoint> + '_ {
        let mut i: u128 = 0;
        std::iter::from_fn(move || {
            let e = self.get(i)?;
            i += 1;
            Some(e)
        })
    }
}

/// Sorts and merges overlapping or adjacent intervals of the same family.
fn merge(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        match out.last_mut() {
            Some(last) if last.v6 == iv.v6 && iv.first <= last.last.saturating_add(1) => {
                last.last = last.last.max(iv.last);
            }
            _ => out.push(iv),
        }
    }
    out
}

/// `a` minus `b`, both merged and sorted.
fn subtract(a: Vec<Interval>, b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for iv in a {
        let mut cur = Some(iv);
        for ex in b.iter().filter(|ex| ex.v6 == iv.v6 && ex.last >= iv.first && ex.first <= iv.last) {
            let Some(c) = cur else { break };
            if ex.first > c.first {
                out.push(Interval { last: ex.first - 1, ..c });
            }
            cur = (ex.last < c.last).then(|| Interval { first: ex.last + 1, ..c });
        }
        out.extend(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::parse_target;

    fn resolved(text: &str) -> Resolved {
        let (kind, port) = parse_target(text).unwrap();
        let spec = TargetSpec {
            kind,
            port,
            text: text.into(),
            origin: crate::targets::Origin { source: "t".into(), line: 1 },
        };
        Resolved::from_spec(&spec)
    }

    fn excl(text: &str) -> Interval {
        match parse_target(text).unwrap().0 {
            TargetKind::Range { first, last } => Interval::new(first, last),
            TargetKind::Host(_) => panic!(),
        }
    }

    #[test]
    fn counts_merges_and_excludes() {
        let targets = [resolved("10.0.0.0/24"), resolved("10.0.0.128/25"), resolved("10.0.1.0-10.0.1.9")];
        let plan = Plan::build(&targets, &[6379, 6380], &[excl("10.0.0.10-10.0.0.19")]);
        assert_eq!(plan.len(), (256 - 10 + 10) * 2);
        let all: Vec<_> = plan.iter().collect();
        assert_eq!(all.len() as u128, plan.len());
        assert_eq!(all[0].addr.to_string(), "10.0.0.0:6379");
        assert_eq!(all[1].addr.to_string(), "10.0.0.0:6380");
        let excluded = Interval::new("10.0.0.10".parse().unwrap(), "10.0.0.19".parse().unwrap());
        assert!(all.iter().all(|e| !(excluded.first..=excluded.last).contains(&ip_to_u128(e.addr.ip()))));
        let mut uniq: Vec<_> = all.iter().map(|e| e.addr).collect();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), all.len(), "no endpoint twice");
    }

    #[test]
    fn explicit_ports_and_v6() {
        let targets = [resolved("[::1]:7000"), resolved("127.0.0.1")];
        let plan = Plan::build(&targets, &[6379], &[]);
        let all: Vec<String> = plan.iter().map(|e| e.addr.to_string()).collect();
        assert_eq!(all, vec!["127.0.0.1:6379", "[::1]:7000"]);
    }

    #[test]
    fn huge_ranges_are_counted_not_materialised() {
        let plan = Plan::build(&[resolved("10.0.0.0/8"), resolved("2001:db8::/64")], &[6379, 6380], &[]);
        assert_eq!(plan.len(), (1u128 << 24) * 2 + (1u128 << 64) * 2);
        assert_eq!(plan.get(plan.len() - 1).unwrap().addr.to_string(), "[2001:db8::ffff:ffff:ffff:ffff]:6380");
        assert!(plan.get(plan.len()).is_none());
    }

    #[test]
    fn the_whole_ipv6_space_does_not_overflow() {
        let plan = Plan::build(&[resolved("::/0")], &[6379], &[]);
        assert_eq!(plan.len(), u128::MAX);
        let plan = Plan::build(&[resolved("::/1"), resolved("8000::/1")], &[6379], &[]);
        assert_eq!(plan.len(), u128::MAX);
    }

    #[test]
    fn ipv4_mapped_addresses_are_excluded_like_ipv4() {
        let plan = Plan::build(&[resolved("::ffff:10.0.0.5")], &[6379], &[excl("10.0.0.0/8")]);
        assert!(plan.is_empty());
    }

    #[test]
    fn exclusion_covering_everything_leaves_nothing() {
        let plan = Plan::build(&[resolved("127.0.0.0/30")], &[1], &[excl("0.0.0.0/0")]);
        assert!(plan.is_empty());
    }
}
