//! The scheduler and the per-endpoint pipeline: endpoints in, [`EndpointRecord`]s out.
//!
//! [`run`] walks the lazy [`Plan`], keeps at most `concurrency` endpoints in flight, and sends each
//! finished record to a bounded channel read by the one writer (see [`crate::report`]). [`probe_endpoint`]
//! runs the stages in order: connect → plaintext PING → TLS → certificate → (`--audit`) audit → findings, each on its own
//! connection and all under one total deadline. Cancellation stops new work and drops work in flight
//! (those endpoints are simply not journaled).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cert::{KeyProof, TrustAnchors, inspect};
use crate::endpoints::{Endpoint, Plan};
use crate::finding::{Rules, assess};
use crate::model::{EndpointRecord, Reachability};
use crate::permute::{Permutation, Shard};
use crate::probe::raw::{self, CipherScan};
use crate::probe::tls::TlsSettings;
use crate::probe::{Budget, Identity, NoConnection, connect, resp, tls};

/// What every endpoint probe needs; built once per scan and shared.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// Timeout of one TCP connect.
    pub connect_timeout: Duration,
    /// Timeout of one read.
    pub read_timeout: Duration,
    /// Total time allowed per endpoint.
    pub endpoint_timeout: Duration,
    /// `--sni`: overrides the target's host name for SNI and the hostname check.
    pub sni: Option<String>,
    /// TLS client settings.
    pub tls: TlsSettings,
    /// Trust anchors for the verdict.
    pub anchors: TrustAnchors,
    /// Finding rules.
    pub rules: Rules,
    /// Raw ClientHello probe depth.
    pub cipher_scan: CipherScan,
    /// `--rate`: scan-wide limit on new connections per second.
    pub rate: Option<Arc<crate::probe::RateLimiter>>,
    /// `--host-concurrency`: endpoints of one address probed at once.
    pub host_concurrency: usize,
    /// The scan-wide socket budget every probe draws from (`None`: unlimited, as in unit tests).
    pub sockets: Option<Arc<crate::probe::Sockets>>,
    /// `--audit`: credentials and the verifying TLS configuration (`None`: no audit).
    pub audit: Option<Arc<crate::probe::audit::AuditSettings>>,
}

impl ProbeContext {
    /// A fresh per-endpoint budget: these timeouts, the total deadline from now, the scan's rate limiter.
    pub fn budget(&self) -> Budget {
        Budget::new(self.connect_timeout, self.read_timeout, self.endpoint_timeout, self.rate.clone())
            .with_sockets(self.sockets.clone())
    }
}

/// Probes one endpoint through every stage. Never fails: every outcome is in the record.
pub async fn probe_endpoint(ep: &Endpoint, ctx: &ProbeContext) -> EndpointRecord {
    match Box::pin(probe_or_dead(ep, ctx, true)).await {
        Probed::Record(rec) => *rec,
        Probed::Dead(reachability) => closed_record(ep, ctx, reachability, 0),
    }
}

/// An endpoint's outcome: a full record, or only how the connect failed (the dead-space fast path).
enum Probed {
    Record(Box<EndpointRecord>),
    Dead(Reachability),
}

/// Connects, then probes what answered. A failed connect builds no record unless `full`: on a dead range
/// that is nearly every endpoint, and all the writer needs is the position and the outcome.
async fn probe_or_dead(ep: &Endpoint, ctx: &ProbeContext, full: bool) -> Probed {
    let start = Instant::now();
    let budget = ctx.budget();
    // Stage 1: the connect doubles as the plaintext probe's connection.
    match connect(ep.addr, &budget).await {
        Ok(sock) => Probed::Record(Box::new(Box::pin(probe_open(ep, ctx, sock, budget, start)).await)),
        // Accepted, then reset before we could send: an open port whose answer is a reset.
        Err(NoConnection::ResetOnAccept) => {
            let mut rec = closed_record(ep, ctx, Reachability::Open, 0);
            rec.plaintext = Some(resp::classify(&[], crate::probe::ReadEnd::Reset));
            rec.findings = assess(&rec, &ctx.rules);
            rec.duration_ms = elapsed_ms(start);
            Probed::Record(Box::new(rec))
        }
        Err(e) if full => Probed::Record(Box::new(closed_record(ep, ctx, e.reachability(), elapsed_ms(start)))),
        Err(e) => Probed::Dead(e.reachability()),
    }
}

/// The record of an endpoint that could not be connected to.
fn closed_record(ep: &Endpoint, ctx: &ProbeContext, reachability: Reachability, duration_ms: u64) -> EndpointRecord {
    EndpointRecord {
        address: ep.addr.ip(),
        port: ep.addr.port(),
        name: ctx.sni.clone().or_else(|| ep.name.as_deref().map(str::to_string)),
        reachability,
        plaintext: None,
        tls: None,
        certificate: None,
        audit: None,
        findings: Vec::new(),
        started_at: now_rfc3339(),
        duration_ms,
        connections: 1,
        deadline_exceeded: false,
    }
}

/// Stages 2 to 5 on an open endpoint.
async fn probe_open(
    ep: &Endpoint,
    ctx: &ProbeContext,
    mut sock: crate::probe::Conn,
    budget: Budget,
    start: Instant,
) -> EndpointRecord {
    let mut rec = closed_record(ep, ctx, Reachability::Open, 0);
    // One identity for every probe and the verdict: the SNI the handshakes send is the name checked.
    let identity = Identity::new(ep.addr.ip(), rec.name.as_deref());
    // Stage 2: plaintext PING.
    rec.plaintext = Some(resp::ping(&mut sock, &budget).await);
    drop(sock);
    // Stage 3: TLS handshakes, on fresh connections (a plaintext PING poisons a TLS stream).
    // Redis has no STARTTLS: a port that answered RESP in plaintext cannot speak TLS, and a ClientHello
    // would only wait for a newline that never comes. Its record has no TLS section.
    let plaintext_redis = rec.plaintext.as_ref().is_some_and(|p| p.status.is_redis());
    if !plaintext_redis && !budget.expired() {
        // The TLS stages' futures are large (read buffers, five concurrent version probes): boxed, they
        // are allocated only when reached.
        let mut outcome = Box::pin(tls::probe(ep.addr, &identity, &ctx.tls, &budget)).await;
        rec.connections += outcome.connections;
        // Stage 3b: raw ClientHellos for what rustls cannot speak (legacy versions, weak suites).
        if !outcome.hopeless && ctx.cipher_scan != CipherScan::Off && !budget.expired() {
            let audit = Box::pin(raw::audit(ep.addr, identity.name.as_deref(), ctx.cipher_scan, &budget)).await;
            rec.connections += audit.connections;
            raw::merge(&mut outcome.result, &audit);
            outcome.result.client_auth = tls::with_raw_flight(outcome.result.client_auth, audit.cert_request);
            if outcome.chain.is_empty() && !audit.chain.is_empty() {
                outcome.chain = audit.chain.into_iter().map(rustls::pki_types::CertificateDer::from).collect();
                outcome.key_proof = KeyProof::Unverified;
            }
        }
        // Stage 4: certificate facts and trust verdict, for the identity the client would check.
        rec.certificate =
            inspect(&outcome.chain, &identity.server_name, &ctx.anchors, ctx.rules.as_of, &outcome.key_proof);
        rec.tls = Some(outcome.result);
    }
    // Stage 5 (`--audit` only): what the server itself tells an authenticated client.
    if let Some(settings) = &ctx.audit
        && let Some((audit, connections)) =
            Box::pin(crate::probe::audit::audit(ep.addr, &rec, &identity, settings, &budget)).await
    {
        rec.connections += connections;
        rec.audit = Some(audit);
    }
    // Stage 6: findings.
    rec.deadline_exceeded = budget.expired();
    rec.findings = assess(&rec, &ctx.rules);
    rec.duration_ms = elapsed_ms(start);
    rec
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The current second as RFC 3339, formatted once per second per thread (dead ranges make this hot).
fn now_rfc3339() -> String {
    thread_local! {
        static CACHE: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let now = unix_now();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != now {
            *c = (now, crate::cert::rfc3339(now));
        }
        c.1.clone()
    })
}

/// What workers send the writer: a full record, or a batch of endpoints that were not open (their
/// positions and outcomes are all the writer needs unless `--include-closed`).
#[derive(Debug)]
pub enum Finished {
    /// Full records of finished endpoints, with their positions.
    Records(Vec<(u64, Box<EndpointRecord>)>),
    /// Endpoints refused, filtered or unreachable, by position.
    Dead(Vec<(u64, Reachability)>),
}

/// Dead endpoints batched before they cross to the writer's thread.
const DEAD_BATCH: usize = 512;

/// Records batched before they cross to the writer's thread: one wakeup of the writer per batch, not
/// per endpoint (at 20,000 endpoints/s the wakeups cost more than journaling the records).
const RECORD_BATCH: usize = 32;

/// The longest a finished endpoint waits in a worker's batch before it goes to the writer anyway (the
/// progress bar, `-v`, `--format jsonl` and the journal stay live on a slow sweep).
const BATCH_AGE: Duration = Duration::from_millis(50);

/// What a worker has finished and not yet handed to the writer.
#[derive(Default)]
struct Outbox {
    records: Vec<(u64, Box<EndpointRecord>)>,
    dead: Vec<(u64, Reachability)>,
}

impl Outbox {
    /// Takes the full batches (or everything, with `all`), to send.
    fn take(&mut self, all: bool) -> (Option<Finished>, Option<Finished>) {
        let records = (self.records.len() >= RECORD_BATCH || (all && !self.records.is_empty()))
            .then(|| Finished::Records(std::mem::take(&mut self.records)));
        let dead = (self.dead.len() >= DEAD_BATCH || (all && !self.dead.is_empty()))
            .then(|| Finished::Dead(std::mem::take(&mut self.dead)));
        (records, dead)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Per-address semaphores for `--host-concurrency`; entries die with their last user, so the map stays
/// as small as the set of hosts in flight.
struct HostSlots {
    per_host: usize,
    map: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::sync::Weak<Semaphore>>>,
}

impl HostSlots {
    fn new(per_host: usize) -> Self {
        Self { per_host: per_host.max(1), map: std::sync::Mutex::default() }
    }

    fn slot(&self, ip: std::net::IpAddr) -> Arc<Semaphore> {
        let Ok(mut map) = self.map.lock() else { return Arc::new(Semaphore::new(self.per_host)) };
        if let Some(s) = map.get(&ip).and_then(std::sync::Weak::upgrade) {
            return s;
        }
        if map.len() > 4096 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let s = Arc::new(Semaphore::new(self.per_host));
        map.insert(ip, Arc::downgrade(&s));
        s
    }
}

/// Which endpoints, in which order: a seeded permutation of the plan, and this process's shard of it.
#[derive(Debug, Clone, Default)]
pub struct Order {
    /// Permutation seed (recorded in the metadata: the same seed gives the same order).
    pub seed: u64,
    /// `--shard I/N`.
    pub shard: Shard,
    /// First position to scan (`--resume`: everything before is finished).
    pub start: u64,
    /// Positions at or after `start` already finished (`--resume`).
    pub skip: Arc<std::collections::BTreeSet<u64>>,
}

/// One sweep to run: which endpoints, in which order, probed how, how many at once.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The endpoint space.
    pub plan: Arc<Plan>,
    /// Visiting order, shard, and (on `--resume`) the positions already done.
    pub order: Order,
    /// Shared probe settings.
    pub ctx: Arc<ProbeContext>,
    /// Endpoints in flight at once.
    pub concurrency: usize,
    /// Send full records of endpoints that were not open too (`--include-closed`).
    pub include_closed: bool,
}

/// Scans the plan with at most `concurrency` endpoints in flight, sending each record (with its
/// position in the scan order) to `tx`.
///
/// The work runs on one single-threaded runtime per core, pulling positions from a shared counter:
/// on a dead range the per-endpoint cost is a connect() and little else, and a work-stealing runtime's
/// cross-thread wakeups would cost more than the probe itself.
///
/// Returns `true` when every endpoint was scanned, `false` when `cancel` stopped it first.
pub async fn run(sweep: Sweep, tx: mpsc::Sender<Finished>, cancel: watch::Receiver<bool>) -> bool {
    let Sweep { plan, order, ctx, concurrency, include_closed } = sweep;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 64);
    let threads = cores.min(concurrency.max(1));
    let shared = Arc::new(Shared {
        permutation: Permutation::new(plan.len(), order.seed),
        total: order.shard.len(plan.len()),
        next: std::sync::atomic::AtomicU64::new(order.start),
        // No host can exceed the cap when it has no more endpoints than the cap: skip the bookkeeping.
        hosts: (plan.max_per_address() > ctx.host_concurrency as u128).then(|| HostSlots::new(ctx.host_concurrency)),
        include_closed,
        plan,
        order,
        ctx,
    });
    let mut done = Vec::new();
    for t in 0..threads {
        let (shared, tx, cancel) = (shared.clone(), tx.clone(), cancel.clone());
        // Share the concurrency cap out; the first workers take the remainder.
        let cap = concurrency.max(1) / threads + usize::from(t < concurrency.max(1) % threads);
        let (result_tx, result_rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().name(format!("scan-{t}")).spawn(move || {
            let completed = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(worker(shared, cap.max(1), tx, cancel)),
                Err(e) => {
                    tracing::error!("cannot start a scan runtime: {e}");
                    false
                }
            };
            let _ = result_tx.send(completed);
        });
        if spawned.is_ok() {
            done.push(result_rx);
        }
    }
    drop(tx);
    let mut all = !done.is_empty();
    for d in done {
        all &= d.await.unwrap_or(false);
    }
    all && !*cancel.borrow()
}

/// What the per-core workers share.
struct Shared {
    plan: Arc<Plan>,
    order: Order,
    ctx: Arc<ProbeContext>,
    permutation: Permutation,
    total: u128,
    /// Next position of this shard's order to hand out.
    next: std::sync::atomic::AtomicU64,
    hosts: Option<HostSlots>,
    /// Dead endpoints are journaled too: send their full records.
    include_closed: bool,
}

/// One core's scheduler: takes positions until none are left, at most `cap` endpoints in flight.
async fn worker(
    shared: Arc<Shared>,
    cap: usize,
    tx: mpsc::Sender<Finished>,
    mut cancel: watch::Receiver<bool>,
) -> bool {
    let sem = Arc::new(Semaphore::new(cap));
    let mut tasks = JoinSet::new();
    let mut exhausted = false;
    let outbox: Arc<std::sync::Mutex<Outbox>> = Arc::default();
    let mut tick = tokio::time::interval(BATCH_AGE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            Ok(_) = cancel.wait_for(|c| *c) => break,
            _ = tick.tick() => {
                flush(&outbox, &tx, true).await;
                continue;
            }
        };
        // Reap finished tasks so the set stays as small as the concurrency cap.
        while tasks.try_join_next().is_some() {}
        let position = shared.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let k = u128::from(position);
        if k >= shared.total {
            exhausted = true;
            break;
        }
        if shared.order.skip.contains(&position) {
            continue;
        }
        // The permutation maps a position of this shard's order to an endpoint index.
        let Some(ep) = shared.plan.get(shared.permutation.apply(shared.order.shard.position(k))) else { break };
        let (ctx, tx, outbox, full) = (shared.ctx.clone(), tx.clone(), outbox.clone(), shared.include_closed);
        let host = shared.hosts.as_ref().map(|h| h.slot(ep.addr.ip()));
        tasks.spawn(async move {
            // Endpoints of one host wait for each other here, not in the dispatch loop.
            let _host_permit = match host {
                Some(h) => match h.acquire_owned().await {
                    Ok(p) => Some(p),
                    Err(_) => return,
                },
                None => None,
            };
            let probed = probe_or_dead(&ep, &ctx, full).await;
            let full_batches = outbox.lock().map_or((None, None), |mut o| {
                match probed {
                    Probed::Dead(reachability) => o.dead.push((position, reachability)),
                    Probed::Record(rec) => o.records.push((position, rec)),
                }
                o.take(false)
            });
            // The task that fills a batch sends it, holding its slot until the writer has it: a slow disk
            // then slows the probes instead of piling finished records up in memory.
            send(full_batches, &tx).await;
            drop(permit);
        });
    }
    loop {
        let cancelled = tokio::select! {
            r = tasks.join_next() => match r {
                None => break,
                Some(Err(e)) if e.is_panic() => {
                    // A bug, not a peer's doing: the endpoint is missing from the journal; say so loudly.
                    tracing::error!("an endpoint probe panicked: {e}");
                    continue;
                }
                Some(_) => continue,
            },
            Ok(_) = cancel.wait_for(|c| *c) => true,
            _ = tick.tick() => {
                flush(&outbox, &tx, true).await;
                continue;
            }
        };
        if cancelled {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
            flush(&outbox, &tx, true).await;
            return false;
        }
    }
    flush(&outbox, &tx, true).await;
    exhausted && !*cancel.borrow()
}

/// Sends a worker's full batches to the writer (every batch, with `all`).
async fn flush(outbox: &std::sync::Mutex<Outbox>, tx: &mpsc::Sender<Finished>, all: bool) {
    send(outbox.lock().map(|mut o| o.take(all)).unwrap_or((None, None)), tx).await;
}

/// Sends batches taken from an [`Outbox`].
async fn send((records, dead): (Option<Finished>, Option<Finished>), tx: &mpsc::Sender<Finished>) {
    for batch in [records, dead].into_iter().flatten() {
        let _ = tx.send(batch).await;
    }
}
