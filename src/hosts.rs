//! The host-level pass: after the sweep, findings that need several endpoints of one host together.
//!
//! - `mixed_mode`: one host answers Redis in plaintext on one port and speaks TLS Redis on another.
//! - `cluster_bus_plaintext`: next to a TLS client port, the cluster bus (port + 10000; port 10000 when
//!   the host has no plaintext port, i.e. `port 0`) is open and does not speak TLS. A Redis bus drops a
//!   connection on the first invalid message, so a ClientHello answered by a bare close or reset is a
//!   plaintext bus; a TLS reply is a TLS bus; anything else (an HTTP answer, silence) is something else.
//!
//! Works from the journal's index (the records are not read again), asks the bus ports concurrently
//! under the scan's limits, returns findings; the caller journals them.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Finding, FindingId, HostFindingLine, TlsVersion};
use crate::probe::hello::{DEFAULT_GROUPS, HelloSpec, Reply, client_hello, parse_reply};
use crate::probe::{Budget, NoConnection, ReadEnd, connect, read_by, write_by};
use crate::report::index::JournalIndex;

/// What a port said to a ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BusAnswer {
    Tls,
    /// Closed or reset without a byte: how Redis' cluster bus drops an invalid message.
    Dropped,
    NotOpen,
    Other,
}

async fn ask_tls(addr: SocketAddr, budget: &Budget) -> BusAnswer {
    let mut sock = match connect(addr, budget).await {
        Ok(sock) => sock,
        Err(NoConnection::ResetOnAccept) => return BusAnswer::Other,
        Err(NoConnection::Dead(_) | NoConnection::OutOfSockets) => return BusAnswer::NotOpen,
    };
    let hello = client_hello(&HelloSpec {
        version: TlsVersion::Tls12,
        suites: &[0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009e, 0x009c, 0x002f, 0x0035],
        sni: None,
        groups: DEFAULT_GROUPS,
        random: [0x5a; 32],
        key_share: [0; 32],
    });
    if write_by(&mut sock, &hello, budget).await.is_err() {
        return BusAnswer::Dropped;
    }
    let mut buf = [0u8; 512];
    match read_by(&mut sock, &mut buf, budget.reply_deadline()).await {
        Err(ReadEnd::Reset | ReadEnd::Eof) => BusAnswer::Dropped,
        Err(_) => BusAnswer::Other,
        Ok(n) => match parse_reply(buf.get(..n).unwrap_or_default()) {
            Reply::Hello { .. } | Reply::Alert { .. } | Reply::Incomplete => BusAnswer::Tls,
            Reply::NotTls => BusAnswer::Other,
        },
    }
}

fn ports(list: &[u16]) -> String {
    list.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// How the host-level pass ended.
#[derive(Debug, Default)]
pub struct HostPass {
    /// Findings, for the journal.
    pub lines: Vec<HostFindingLine>,
    /// False when a signal stopped it before every bus port was asked.
    pub complete: bool,
}

/// One bus port to ask: the host, the TLS client port beside it, the bus port, whether the sweep
/// scanned the bus port itself (its row then carries the finding too).
#[derive(Debug, Clone, Copy)]
struct BusCheck {
    address: IpAddr,
    tls_port: u16,
    bus: u16,
    scanned: bool,
}

/// Runs the host-level pass over a journal's index: `mixed_mode` from the records, and the bus ports
/// asked concurrently (at most `concurrency` at once, each under its own endpoint budget from
/// `budget_of`, which also carries the scan's `--rate`), so the pass costs about one endpoint deadline
/// however many hosts there are. `stop` (Ctrl-C, SIGTERM) ends it early with what is done.
pub async fn assess(
    index: &JournalIndex,
    budget_of: impl Fn() -> Budget,
    concurrency: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> HostPass {
    let hosts = index.redis_hosts();
    let mut out = HostPass { lines: mixed_mode_of(&hosts), complete: true };
    let checks = hosts.iter().flat_map(|(address, plaintext, tls)| {
        tls.iter().flat_map(move |tls_port| {
            let mut candidates: Vec<u16> = tls_port.checked_add(10_000).into_iter().collect();
            if plaintext.is_empty() && !candidates.contains(&10_000) {
                // With `port 0` and no `tls-cluster`, the bus listens on 0 + 10000.
                candidates.push(10_000);
            }
            candidates.into_iter().map(move |bus| BusCheck {
                address: *address,
                tls_port: *tls_port,
                bus,
                scanned: index.has_open(*address, bus),
            })
        })
    });
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    let mut checks = checks.collect::<Vec<_>>().into_iter();
    while checks.len() > 0 || !running.is_empty() {
        // Start checks while slots are free; collect answers; stop on a signal.
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => {
                running.abort_all();
                out.complete = false;
                break;
            }
            permit = slots.clone().acquire_owned(), if checks.len() > 0 => {
                let (Ok(permit), Some(check)) = (permit, checks.next()) else { continue };
                let budget = budget_of();
                running.spawn(async move {
                    let answer = ask_tls(SocketAddr::new(check.address, check.bus), &budget).await;
                    drop(permit);
                    (check, answer)
                });
            }
            done = running.join_next(), if !running.is_empty() => {
                if let Some(Ok((check, BusAnswer::Dropped))) = done {
                    bus_finding(&mut out.lines, check);
                }
            }
        }
    }
    out.lines.sort_by_key(|l| (l.address, l.port, l.finding.id));
    out
}

fn bus_finding(out: &mut Vec<HostFindingLine>, c: BusCheck) {
    let (address, bus, tls_port) = (c.address, c.bus, c.tls_port);
    let found = Finding::new(
        FindingId::ClusterBusPlaintext,
        format!(
            "{address}:{bus} is open and drops a TLS ClientHello like a plaintext Redis cluster bus, while {address}:{tls_port} speaks TLS"
        ),
    );
    // The bus port's own row carries it too when the sweep scanned that port.
    if c.scanned {
        out.push(HostFindingLine { address, port: bus, finding: found.clone() });
    }
    out.push(HostFindingLine { address, port: tls_port, finding: found });
}

/// `mixed_mode` alone, from a journal's index, without any network probe (for `merge`, whose shards each
/// saw only part of a host).
pub fn mixed_mode(index: &JournalIndex) -> Vec<HostFindingLine> {
    mixed_mode_of(&index.redis_hosts())
}

fn mixed_mode_of(hosts: &[(IpAddr, Vec<u16>, Vec<u16>)]) -> Vec<HostFindingLine> {
    let mut out = Vec::new();
    for (address, plaintext, tls) in hosts {
        if !plaintext.is_empty() && !tls.is_empty() {
            let evidence = format!(
                "{address} serves Redis in plaintext on port(s) {} and over TLS on port(s) {}",
                ports(plaintext),
                ports(tls)
            );
            for port in plaintext.iter().chain(tls) {
                out.push(HostFindingLine {
                    address: *address,
                    port: *port,
                    finding: Finding::new(FindingId::MixedMode, evidence.clone()),
                });
            }
        }
    }
    out
}
