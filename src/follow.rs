//! `--follow`: after the sweep, the endpoints an audited server named (its master, its replicas, the
//! nodes of its cluster) are probed and audited too, round after round, when they fall inside the scan's
//! scope: the targets' addresses, or a `--follow-scope` CIDR. Exclusions (and the reserved ranges) always
//! apply; an endpoint of the plan, or one already followed, is never probed again. Nothing outside the
//! scope is ever connected to: a candidate is checked before it is queued.
//!
//! [`Follow`] gathers candidates from the records as the writer journals them; [`run`] probes them with
//! the scan's probe context, at most `concurrency` at once, and hands each record back to the writer.

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::endpoints::{Endpoint, Interval, Plan, family_point};
use crate::model::{Audit, AuditStatus, Counts, EndpointRecord};
use crate::scan::{ProbeContext, probe_endpoint};

/// Most endpoints one run follows (a topology naming more is cut, with a warning).
pub const MAX_FOLLOWED: usize = 10_000;

/// Where `--follow` may go.
#[derive(Debug, Clone, Default)]
pub struct FollowScope {
    /// The targets' address intervals and the `--follow-scope` CIDRs.
    pub include: Vec<Interval>,
    /// Exclusions (with the reserved ranges unless `--allow-reserved`).
    pub exclude: Vec<Interval>,
}

impl FollowScope {
    /// True when `ip` is inside the scope and not excluded.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let (v6, x) = family_point(ip);
        let within = |list: &[Interval]| list.iter().any(|i| i.v6 == v6 && i.first <= x && x <= i.last);
        within(&self.include) && !within(&self.exclude)
    }
}

/// The endpoints an audit names: the master (when its host is an address), the announced replicas, the
/// cluster nodes' plaintext and TLS client ports.
pub fn named(a: &Audit) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    if let Some(r) = &a.replication {
        if let Some(m) = &r.master
            && let Ok(ip) = m.host.parse::<IpAddr>()
        {
            out.push(SocketAddr::new(ip, m.port));
        }
        out.extend(r.announced_replicas.iter().filter_map(|s| s.parse::<SocketAddr>().ok()));
    }
    if let Some(c) = &a.cluster {
        for n in &c.nodes {
            let Ok(ip) = n.ip.parse::<IpAddr>() else { continue };
            out.extend(n.port.iter().chain(n.tls_port.iter()).map(|p| SocketAddr::new(ip, *p)));
        }
    }
    out.retain(|s| s.port() != 0);
    out
}

/// Candidates gathered from the records, each endpoint once.
#[derive(Debug)]
pub struct Follow {
    scope: Arc<FollowScope>,
    plan: Arc<Plan>,
    /// Endpoints outside the plan already followed or queued (the plan answers for its own: this set
    /// must not grow with the sweep).
    known: HashSet<SocketAddr>,
    queue: BTreeSet<SocketAddr>,
    followed: usize,
    /// Named endpoints left alone because they are outside the scope or excluded (the first
    /// [`MAX_FOLLOWED`] distinct ones: a count for the log, bounded whatever the servers name).
    pub out_of_scope: BTreeSet<SocketAddr>,
    /// Candidates dropped at [`MAX_FOLLOWED`].
    pub cut: usize,
}

impl Follow {
    /// A follower within `scope`, that never probes an endpoint of `plan` again.
    pub fn new(scope: Arc<FollowScope>, plan: Arc<Plan>) -> Self {
        Self {
            scope,
            plan,
            known: HashSet::new(),
            queue: BTreeSet::new(),
            followed: 0,
            out_of_scope: BTreeSet::new(),
            cut: 0,
        }
    }

    /// Takes in one finished record: it is known from now on, and what its audit names is queued.
    pub fn note(&mut self, r: &EndpointRecord) {
        let me = r.endpoint();
        if !self.in_plan(me) {
            self.known.insert(me);
        }
        self.queue.remove(&me);
        let Some(a) = r.audit.as_ref().filter(|a| a.status == AuditStatus::Ok) else { return };
        for ep in named(a) {
            if self.known.contains(&ep) || self.in_plan(ep) {
                continue;
            }
            if !self.scope.allows(ep.ip()) {
                if self.out_of_scope.len() < MAX_FOLLOWED {
                    self.out_of_scope.insert(ep);
                }
                continue;
            }
            if self.followed + self.queue.len() >= MAX_FOLLOWED {
                self.cut += 1;
                continue;
            }
            self.known.insert(ep);
            self.queue.insert(ep);
        }
    }

    /// True when the sweep's plan holds the endpoint (it was probed, open or not).
    fn in_plan(&self, ep: SocketAddr) -> bool {
        self.plan.contains(ep)
    }

    /// The queued endpoints, taken.
    fn take(&mut self) -> Vec<SocketAddr> {
        let batch: Vec<SocketAddr> = std::mem::take(&mut self.queue).into_iter().collect();
        self.followed += batch.len();
        batch
    }
}

/// Probes the queued endpoints (and what their audits name in turn) until none is left or `stop` is set;
/// each record goes to `sink` as it finishes. Returns the counts of the endpoints probed, and whether the
/// pass ran to its end.
///
/// # Errors
/// The sink's first error (the pass stops there).
pub async fn run<E>(
    follow: &mut Follow,
    ctx: Arc<ProbeContext>,
    concurrency: usize,
    stop: watch::Receiver<bool>,
    mut sink: impl FnMut(EndpointRecord) -> Result<(), E>,
) -> Result<(Counts, bool), E> {
    let mut counts = Counts::default();
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    loop {
        let batch = follow.take();
        if batch.is_empty() {
            return Ok((counts, true));
        }
        let mut tasks = JoinSet::new();
        for addr in batch {
            let (ctx, sem) = (ctx.clone(), sem.clone());
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await.ok()?;
                Some(Box::pin(probe_endpoint(&Endpoint { addr, name: None }, &ctx)).await)
            });
        }
        while let Some(done) = tasks.join_next().await {
            if *stop.borrow() {
                tasks.abort_all();
                return Ok((counts, false));
            }
            let Ok(Some(rec)) = done else { continue };
            counts.add(&rec);
            follow.note(&rec);
            sink(rec)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(a: &str, b: &str) -> Interval {
        Interval::new(a.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])), b.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])))
    }

    #[test]
    fn scope_includes_and_excludes() {
        let s = FollowScope { include: vec![iv("10.0.0.0", "10.0.0.255")], exclude: vec![iv("10.0.0.7", "10.0.0.7")] };
        assert!(s.allows("10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!s.allows("10.0.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!s.allows("10.0.1.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(s.allows("::ffff:10.0.0.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
    }
}
