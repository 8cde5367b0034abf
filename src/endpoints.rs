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
    /// The interval covering `first..=last` (one family; see [`Interval::canonical`] for IPv4-mapped
    /// addresses).
    pub fn new(first: IpAddr, last: IpAddr) -> Self {
        let v6 = first.is_ipv6() && last.is_ipv6();
        Self { v6, first: ip_to_u128(first), last: ip_to_u128(last).max(ip_to_u128(first)) }
    }

    /// The same addresses with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4: an exclusion of a.b.c.d must
    /// cover it, and `X` and `[::ffff:X]` are one endpoint. Up to three pieces.
    pub fn canonical(self) -> impl Iterator<Item = Interval> {
        const MAPPED_FIRST: u128 = 0xffff_0000_0000;
        const MAPPED_LAST: u128 = 0xffff_ffff_ffff;
        let (a, b) = (self.first, self.last);
        let overlaps = self.v6 && a <= MAPPED_LAST && b >= MAPPED_FIRST;
        let below = (overlaps && a < MAPPED_FIRST).then_some(Interval { v6: true, first: a, last: MAPPED_FIRST - 1 });
        let mapped = overlaps.then(|| Interval {
            v6: false,
            first: a.max(MAPPED_FIRST) - MAPPED_FIRST,
            last: b.min(MAPPED_LAST) - MAPPED_FIRST,
        });
        let above = (overlaps && b > MAPPED_LAST).then_some(Interval { v6: true, first: MAPPED_LAST + 1, last: b });
        let whole = (!overlaps).then_some(self);
        whole.into_iter().chain(below).chain(mapped).chain(above)
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
    /// Builds the plan: merges overlapping targets, cuts out exclusions, and plans each (address, port)
    /// once, whatever the number of targets naming it (`X`, `X:6379`, `[::ffff:X]:6379`, a host name
    /// resolving to `X`).
    ///
    /// Memory stays proportional to the input: targets are grouped by (name, ports), each group's
    /// intervals merged, and one sweep over the interval boundaries gives every address segment its
    /// ports, each port to the first group (named before unnamed: the name is what SNI and the hostname
    /// check use) that has it. No endpoint is materialised.
    pub fn build(targets: &[Resolved], ports: &[u16], exclusions: &[Interval]) -> Self {
        let mut interned: BTreeMap<Vec<u16>, Arc<[u16]>> = BTreeMap::new();
        interned.insert(ports.to_vec(), Arc::from(ports));
        // Key order is precedence: named groups first.
        let mut groups: BTreeMap<(bool, Option<String>, Vec<u16>), Vec<Interval>> = BTreeMap::new();
        for t in targets {
            let key = (t.name.is_none(), t.name.clone(), t.port.map_or_else(|| ports.to_vec(), |p| vec![p]));
            groups.entry(key).or_default().extend(t.intervals.iter().flat_map(|iv| iv.canonical()));
        }
        let excluded = merge(exclusions.iter().flat_map(|iv| iv.canonical()).collect());
        let mut members: Vec<Member> = Vec::new();
        // (family, point, opens, group): a group's segment is active from `first` to `last` inclusive.
        let mut events: Vec<(bool, u128, bool, usize)> = Vec::new();
        for ((_, name, group_ports), intervals) in groups {
            if group_ports.is_empty() {
                continue;
            }
            let g = members.len();
            let shared = interned.entry(group_ports.clone()).or_insert_with(|| Arc::from(group_ports)).clone();
            members.push((shared, name.map(Arc::from)));
            for iv in subtract(merge(intervals), &excluded) {
                events.push((iv.v6, iv.first, true, g));
                events.push((iv.v6, iv.last, false, g));
            }
        }
        // At one point, openings come before closings (`last` is inclusive).
        events.sort_by_key(|&(v6, point, opens, g)| (v6, point, !opens, g));
        let mut blocks: Vec<Block> = Vec::new();
        let mut sweep = Sweep { active: std::collections::BTreeSet::new(), open: BTreeMap::new(), start: 0, v6: false };
        for (v6, point, opens, g) in events {
            if v6 != sweep.v6 {
                sweep.active.clear();
                sweep.open.clear();
                sweep.v6 = v6;
            }
            if opens {
                if point > sweep.start {
                    sweep.emit(sweep.start, point - 1, &members, &mut interned, &mut blocks);
                }
                sweep.active.insert(g);
                sweep.start = point;
            } else {
                if point >= sweep.start {
                    sweep.emit(sweep.start, point, &members, &mut interned, &mut blocks);
                }
                sweep.active.remove(&g);
                // Past u128::MAX nothing is left to sweep.
                sweep.start = point.saturating_add(1).max(point);
                if point == u128::MAX {
                    sweep.active.clear();
                }
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

    /// SHA-256 (hex) of the resolved plan: every block's family, addresses, ports and name, in order.
    /// Two plans with the same digest scan the same endpoints in the same index order; `--resume` and
    /// `merge` compare it.
    pub fn digest(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"redis-tls-scan plan v1\n");
        for b in &self.blocks {
            ctx.update(&[u8::from(b.v6)]);
            ctx.update(&b.first.to_be_bytes());
            ctx.update(&b.len.to_be_bytes());
            ctx.update(&(b.ports.len() as u64).to_be_bytes());
            for p in b.ports.iter() {
                ctx.update(&p.to_be_bytes());
            }
            let name = b.name.as_deref().unwrap_or("");
            ctx.update(&[u8::from(b.name.is_some())]);
            ctx.update(&(name.len() as u64).to_be_bytes());
            ctx.update(name.as_bytes());
        }
        crate::cert::hex(ctx.finish().as_ref())
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

    /// True when the plan holds `addr` (its address in a block that has its port). Linear in the blocks:
    /// for the few endpoints `--follow` asks about, not for the sweep.
    pub fn contains(&self, addr: SocketAddr) -> bool {
        let (v6, x) = family_point(addr.ip());
        self.blocks.iter().any(|b| b.v6 == v6 && b.first <= x && x - b.first < b.len && b.ports.contains(&addr.port()))
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

/// An address as (IPv6?, integer), an IPv4-mapped IPv6 address as the IPv4 address (one endpoint).
pub fn family_point(ip: IpAddr) -> (bool, u128) {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    (ip.is_ipv6(), ip_to_u128(ip))
}

/// A group of [`Plan::build`]: its ports and name.
type Member = (Arc<[u16]>, Option<Arc<str>>);

/// The state of [`Plan::build`]'s sweep over one family's interval boundaries.
struct Sweep {
    /// Groups covering the current segment, in precedence order.
    active: std::collections::BTreeSet<usize>,
    /// The block each group last extended, to grow it over the next adjacent segment.
    open: BTreeMap<usize, usize>,
    /// First address of the current segment.
    start: u128,
    v6: bool,
}

impl Sweep {
    /// Gives the segment `first..=last` to the active groups: each port to the first group that has it.
    fn emit(
        &mut self,
        first: u128,
        last: u128,
        members: &[Member],
        interned: &mut BTreeMap<Vec<u16>, Arc<[u16]>>,
        blocks: &mut Vec<Block>,
    ) {
        let mut claimed: std::collections::BTreeSet<u16> = std::collections::BTreeSet::new();
        let several = self.active.len() > 1;
        for &g in &self.active {
            let Some((group_ports, name)) = members.get(g) else { continue };
            let ports = if several {
                let left: Vec<u16> = group_ports.iter().copied().filter(|p| !claimed.contains(p)).collect();
                claimed.extend(group_ports.iter().copied());
                if left.is_empty() {
                    continue;
                }
                interned.entry(left.clone()).or_insert_with(|| Arc::from(left)).clone()
            } else {
                group_ports.clone()
            };
            let len = (last - first).saturating_add(1);
            let extend =
                self.open.get(&g).and_then(|&i| blocks.get_mut(i)).filter(|b| {
                    Arc::ptr_eq(&b.ports, &ports) && b.first.saturating_add(b.len) == first && b.v6 == self.v6
                });
            match extend {
                Some(b) => b.len = b.len.saturating_add(len),
                None => {
                    self.open.insert(g, blocks.len());
                    blocks.push(Block { first, len, v6: self.v6, ports, name: name.clone() });
                }
            }
        }
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

    fn named(ip: &str, port: Option<u16>, name: &str) -> Resolved {
        let ip: IpAddr = ip.parse().unwrap();
        Resolved { intervals: vec![Interval::new(ip, ip)], port, name: Some(name.into()) }
    }

    #[test]
    fn each_endpoint_once_whatever_names_it() {
        let targets = [resolved("127.0.0.7"), resolved("127.0.0.7:6379"), resolved("[::ffff:127.0.0.7]:6379")];
        let plan = Plan::build(&targets, &[6379, 6380], &[]);
        let all: Vec<String> = plan.iter().map(|e| e.addr.to_string()).collect();
        assert_eq!(all, vec!["127.0.0.7:6379", "127.0.0.7:6380"]);
        // A host name and its address: one endpoint per port, keeping the name (SNI, hostname check).
        let plan =
            Plan::build(&[resolved("127.0.0.1"), named("127.0.0.1", Some(6379), "localhost")], &[6379, 6380], &[]);
        let all: Vec<(String, Option<Arc<str>>)> = plan.iter().map(|e| (e.addr.to_string(), e.name)).collect();
        assert_eq!(all, vec![("127.0.0.1:6379".into(), Some(Arc::from("localhost"))), ("127.0.0.1:6380".into(), None)]);
        // Overlapping ranges with and without ports, and a mapped CIDR: counted once.
        let targets = [
            resolved("10.0.0.0/24"),
            resolved("10.0.0.128/25:6380"),
            resolved("::ffff:10.0.0.0/120"),
            resolved("10.0.0.250-10.0.1.5:7000"),
        ];
        let plan = Plan::build(&targets, &[6379, 6380], &[]);
        assert_eq!(plan.len(), 256 * 2 + 12);
        let mut uniq: Vec<_> = plan.iter().map(|e| e.addr).collect();
        assert_eq!(uniq.len() as u128, plan.len());
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len() as u128, plan.len(), "no endpoint twice");
        assert!(plan.blocks.len() <= 6, "{:?}", plan.blocks);
    }

    #[test]
    fn a_v6_range_over_the_mapped_space_counts_ipv4_once() {
        let plan = Plan::build(&[resolved("::ffff:0:0/95"), resolved("0.0.0.0/0")], &[1], &[]);
        assert_eq!(plan.len(), 1u128 << 33);
        let plan = Plan::build(&[resolved("::/0"), resolved("10.0.0.0/8")], &[1], &[]);
        assert_eq!(plan.len(), u128::MAX);
    }

    #[test]
    fn the_digest_follows_the_resolved_plan() {
        let a = Plan::build(&[resolved("10.0.0.0/24")], &[6379], &[]);
        let b = Plan::build(&[resolved("10.0.0.0/25"), resolved("10.0.0.128/25")], &[6379], &[]);
        assert_eq!(a.digest(), b.digest(), "the same endpoints, however written");
        let c = Plan::build(&[resolved("10.0.1.0/24")], &[6379], &[]);
        assert_eq!(c.len(), a.len());
        assert_ne!(a.digest(), c.digest(), "same count, other targets");
        assert_ne!(a.digest(), Plan::build(&[resolved("10.0.0.0/24")], &[6380], &[]).digest());
        assert_ne!(a.digest(), Plan::build(&[resolved("10.0.0.0/24")], &[6379], &[excl("10.0.0.1")]).digest());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// The sweep against brute force: every (address, port) some target names, minus exclusions,
        /// exactly once, with a name when a named target covers it.
        #[test]
        fn the_plan_is_the_set_of_named_endpoints_each_once(
            targets in proptest::collection::vec((0u8..24, 0u8..8, proptest::option::of(1u16..4), 0u8..3, proptest::bool::ANY), 0..8),
            exclusions in proptest::collection::vec((0u8..32, 0u8..4), 0..3),
        ) {
            use std::collections::{BTreeMap, BTreeSet};
            let ip = |last: u8, mapped: bool| -> IpAddr {
                let v4 = std::net::Ipv4Addr::new(10, 0, 0, last);
                if mapped { IpAddr::V6(v4.to_ipv6_mapped()) } else { IpAddr::V4(v4) }
            };
            let ports = [1u16, 2];
            let mut expected: BTreeMap<(u8, u16), BTreeSet<Option<String>>> = BTreeMap::new();
            let resolved: Vec<Resolved> = targets
                .iter()
                .map(|&(first, len, port, name, mapped)| {
                    let name = (name > 0).then(|| format!("n{name}"));
                    for a in first..=first + len {
                        for p in port.map_or(ports.to_vec(), |p| vec![p]) {
                            expected.entry((a, p)).or_default().insert(name.clone());
                        }
                    }
                    Resolved {
                        intervals: vec![Interval::new(ip(first, mapped), ip(first + len, mapped))],
                        port,
                        name,
                    }
                })
                .collect();
            let excluded: Vec<Interval> =
                exclusions.iter().map(|&(a, len)| Interval::new(ip(a, false), ip(a.saturating_add(len), false))).collect();
            expected.retain(|(a, _), _| !exclusions.iter().any(|&(e, len)| (e..=e.saturating_add(len)).contains(a)));
            let plan = Plan::build(&resolved, &ports, &excluded);
            let got: Vec<Endpoint> = plan.iter().collect();
            proptest::prop_assert_eq!(got.len(), expected.len());
            let mut seen = BTreeSet::new();
            for e in &got {
                let IpAddr::V4(v4) = e.addr.ip() else { panic!("mapped addresses are planned as IPv4: {e:?}") };
                let key = (v4.octets()[3], e.addr.port());
                proptest::prop_assert!(seen.insert(key), "twice: {:?}", e);
                let names = expected.get(&key).cloned().unwrap_or_default();
                // The first name in precedence order: named before unnamed, then alphabetical.
                let want = names.iter().flatten().min().cloned();
                proptest::prop_assert_eq!(e.name.as_deref().map(str::to_string), want, "{:?}", e);
            }
        }
    }

    #[test]
    fn exclusion_covering_everything_leaves_nothing() {
        let plan = Plan::build(&[resolved("127.0.0.0/30")], &[1], &[excl("0.0.0.0/0")]);
        assert!(plan.is_empty());
    }
}
