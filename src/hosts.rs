//! The host-level pass: after the sweep, findings that need several endpoints of one host together.
//!
//! - `mixed_mode`: one host answers Redis in plaintext on one port and speaks TLS Redis on another.
//! - `cluster_bus_plaintext`: next to a TLS client port, the cluster bus (port + 10000; port 10000 when
//!   the host has no plaintext port, i.e. `port 0`) is open and does not speak TLS. A Redis bus drops a
//!   connection on the first invalid message, so a ClientHello answered by a bare close or reset is a
//!   plaintext bus; a TLS reply is a TLS bus; anything else (an HTTP answer, silence) is something else.
//!
//! Reads the journal (only Redis endpoints are kept in memory), probes bus ports, returns findings;
//! the caller journals them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use tokio::io::AsyncWriteExt;

use crate::finding::finding;
use crate::model::{ClientAuth, EndpointRecord, FindingId, HostFindingLine, TlsVersion};
use crate::probe::hello::{DEFAULT_GROUPS, HelloSpec, Reply, client_hello, parse_reply};
use crate::probe::{Budget, ReadEnd, connect, read_by};
use crate::report::{ReportError, for_each_endpoint};

/// What a host's Redis endpoints look like.
#[derive(Debug, Default)]
struct Host {
    plaintext: Vec<u16>,
    tls: Vec<u16>,
    /// Every port of the host with a record in the journal (the scanned set's open ports).
    scanned: std::collections::BTreeSet<u16>,
}

/// A TLS port that (likely) is Redis: PING answered over TLS, or a client certificate is required.
fn tls_redis(r: &EndpointRecord) -> bool {
    r.tls.as_ref().is_some_and(|t| t.speaks_tls && (t.is_redis() || t.client_auth == ClientAuth::Required))
}

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
        Err(crate::model::Reachability::Open) => return BusAnswer::Other,
        Err(_) => return BusAnswer::NotOpen,
    };
    let hello = client_hello(&HelloSpec {
        version: TlsVersion::Tls12,
        suites: &[0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009e, 0x009c, 0x002f, 0x0035],
        sni: None,
        groups: DEFAULT_GROUPS,
        random: [0x5a; 32],
        key_share: [0; 32],
    });
    if tokio::time::timeout(budget.read(), sock.write_all(&hello)).await.map_or(true, |r| r.is_err()) {
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

/// Runs the host-level pass over a journal.
///
/// # Errors
/// When the journal cannot be read.
pub async fn assess(journal: &Path, budget_of: impl Fn() -> Budget) -> Result<Vec<HostFindingLine>, ReportError> {
    let hosts = collect(journal)?;
    let mut out = mixed_mode_of(&hosts);
    for (address, host) in &hosts {
        for tls_port in &host.tls {
            let mut candidates: Vec<u16> = tls_port.checked_add(10_000).into_iter().collect();
            if host.plaintext.is_empty() && !candidates.contains(&10_000) {
                // With `port 0` and no `tls-cluster`, the bus listens on 0 + 10000.
                candidates.push(10_000);
            }
            for bus in candidates {
                let budget = budget_of();
                if ask_tls(SocketAddr::new(*address, bus), &budget).await == BusAnswer::Dropped {
                    let found = finding(
                        FindingId::ClusterBusPlaintext,
                        "The cluster bus next to this TLS port does not use TLS",
                        format!(
                            "{address}:{bus} is open and drops a TLS ClientHello like a plaintext Redis cluster bus, while {address}:{tls_port} speaks TLS"
                        ),
                        "tls-cluster yes (and tls-replication yes)",
                    );
                    // The bus port's own row carries it too when the sweep scanned that port.
                    if host.scanned.contains(&bus) {
                        out.push(HostFindingLine { address: *address, port: bus, finding: found.clone() });
                    }
                    out.push(HostFindingLine { address: *address, port: *tls_port, finding: found });
                }
            }
        }
    }
    Ok(out)
}

/// The Redis endpoints of a journal, by host.
fn collect(journal: &Path) -> Result<BTreeMap<IpAddr, Host>, ReportError> {
    let mut hosts: BTreeMap<IpAddr, Host> = BTreeMap::new();
    for_each_endpoint(journal, &Default::default(), |r| {
        hosts.entry(r.address).or_default().scanned.insert(r.port);
        if r.plaintext.as_ref().is_some_and(|p| p.status.is_redis()) {
            hosts.entry(r.address).or_default().plaintext.push(r.port);
        } else if tls_redis(&r) {
            hosts.entry(r.address).or_default().tls.push(r.port);
        }
    })?;
    Ok(hosts)
}

/// `mixed_mode` alone, from a journal, without any network probe (for `merge`, whose shards each saw
/// only part of a host).
///
/// # Errors
/// When the journal cannot be read.
pub fn mixed_mode(journal: &Path) -> Result<Vec<HostFindingLine>, ReportError> {
    Ok(mixed_mode_of(&collect(journal)?))
}

fn mixed_mode_of(hosts: &BTreeMap<IpAddr, Host>) -> Vec<HostFindingLine> {
    let mut out = Vec::new();
    for (address, host) in hosts {
        if !host.plaintext.is_empty() && !host.tls.is_empty() {
            let evidence = format!(
                "{address} serves Redis in plaintext on port(s) {} and over TLS on port(s) {}",
                ports(&host.plaintext),
                ports(&host.tls)
            );
            for port in host.plaintext.iter().chain(&host.tls) {
                out.push(HostFindingLine {
                    address: *address,
                    port: *port,
                    finding: finding(
                        FindingId::MixedMode,
                        "The host serves Redis both in plaintext and over TLS",
                        evidence.clone(),
                        "port 0 (keep only tls-port), so that no client can fall back to plaintext",
                    ),
                });
            }
        }
    }
    out
}
