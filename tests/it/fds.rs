//! The file-descriptor budget: a low `ulimit -n` slows a sweep down but changes no finding, and probes
//! that find no free socket wait for one instead of failing.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use redis_tls_scan::endpoints::Endpoint;
use redis_tls_scan::model::{EndpointRecord, Reachability};
use redis_tls_scan::probe::Sockets;
use redis_tls_scan::scan::probe_endpoint;

use crate::support::*;

/// Loopback addresses each test Redis listens on: one process serves its TLS port on all of them (16 is
/// Redis' most).
const ADDRS: [&str; 16] = [
    "127.0.0.1",
    "127.0.0.2",
    "127.0.0.3",
    "127.0.0.4",
    "127.0.0.5",
    "127.0.0.6",
    "127.0.0.7",
    "127.0.0.8",
    "127.0.0.9",
    "127.0.0.10",
    "127.0.0.11",
    "127.0.0.12",
    "127.0.0.13",
    "127.0.0.14",
    "127.0.0.15",
    "127.0.0.16",
];
/// TLS Redis processes: 16 ports × 4 addresses = 64 TLS endpoints, × 16 addresses = 256.
const SERVERS: u16 = 16;

/// Four kinds of TLS Redis, so that the findings differ: no client auth, required client auth, TLS 1.2
/// only, optional client auth behind a password.
fn flavour(i: u16) -> Vec<(&'static str, &'static str)> {
    match i % 4 {
        0 => vec![("tls-auth-clients", "no")],
        1 => vec![("tls-auth-clients", "yes")],
        2 => vec![("tls-auth-clients", "no"), ("tls-protocols", "TLSv1.2")],
        _ => vec![("tls-auth-clients", "optional"), ("requirepass", "pw")],
    }
}

/// Starts the fleet inside `ns` (a private namespace: the host pass's bus probes meet only closed ports).
fn fleet(ns: &Netns, pki: &Pki, dir: &Path, first_port: u16) -> Vec<Peer> {
    require("redis-server");
    (0..SERVERS)
        .map(|i| {
            let port = first_port + i;
            let files = pki.server_steady(&format!("s{i}"), 90);
            let data = dir.join(format!("r{i}"));
            std::fs::create_dir_all(&data).unwrap();
            let mut cmd = ns.command("redis-server");
            cmd.arg("--bind").args(ADDRS);
            cmd.args(["--port", "0", "--tls-port", &port.to_string(), "--save", "", "--appendonly", "no"]);
            cmd.args(["--daemonize", "no", "--logfile", ""]);
            cmd.arg("--dir").arg(&data);
            cmd.arg("--tls-cert-file").arg(&files.cert).arg("--tls-key-file").arg(&files.key);
            cmd.arg("--tls-ca-cert-file").arg(&files.ca);
            for (k, v) in flavour(i) {
                cmd.arg(format!("--{k}")).arg(v);
            }
            let child = spawn_ready(cmd, "Ready to accept connections").expect("redis-server in the namespace");
            Peer::from_child(child, port)
        })
        .collect()
}

/// Sweeps the fleet with the binary inside `ns`, under `ulimit -n limit` when given.
fn sweep(ns: &Netns, ca: &Path, targets: &str, ports: &str, out: &Path, limit: Option<u32>) -> Output {
    let ulimit = limit.map_or_else(String::new, |n| format!("ulimit -n {n} && "));
    let script = format!("{ulimit}exec \"$0\" \"$@\"");
    let mut cmd = ns.command("sh");
    cmd.args(["-c", &script, env!("CARGO_BIN_EXE_redis-tls-scan"), "scan", targets, "-p", ports]);
    // Unlimited rate and the default concurrency: as many sockets at once as the limit allows.
    cmd.args(["-q", "--rate", "0", "--ca-file"]).arg(ca).arg("-o").arg(out);
    let o = cmd.output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    o
}

/// The rows of a CSV report, header first, the rest sorted (the visiting order is random).
fn rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(body) = lines.get_mut(1..) {
        body.sort();
    }
    lines
}

/// Sweeps `targets` without a limit and under `ulimit -n 256`; the same `expected` open TLS endpoints
/// and byte-identical findings (sorted) both times.
fn same_findings_under_256(ns: &Netns, pki: &Pki, dir: &Path, targets: &str, ports: &str, expected: usize) {
    let (free_dir, low_dir) = (dir.join(format!("free-{expected}")), dir.join(format!("low-{expected}")));
    let free = sweep(ns, &pki.ca_file, targets, ports, &free_dir, None);
    let low = sweep(ns, &pki.ca_file, targets, ports, &low_dir, Some(256));
    for (run, o) in [(&free_dir, &free), (&low_dir, &low)] {
        let r = report(run);
        let endpoints = r["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), expected, "{}", run.display());
        assert!(endpoints.iter().all(|e| e["reachability"] == "open"), "{endpoints:?}");
        // Every endpoint went through the whole TLS audit: PING over TLS, or client auth found required.
        assert!(
            endpoints.iter().all(|e| e["tls"]["speaks_tls"] == true && e["tls"]["client_auth"] != "unknown"),
            "{}",
            run.display()
        );
        assert!(!stderr(o).contains("ran out of sockets"), "{}: {}", run.display(), stderr(o));
    }
    // The limit is honest: the concurrency clamp says what it did, counting five sockets per endpoint.
    assert!(stderr(&low).contains("up to 5 per endpoint at once"), "{}", stderr(&low));
    let free_findings = rows(&free_dir.join("findings.csv"));
    assert!(free_findings.len() > expected, "{free_findings:?}");
    assert_eq!(rows(&low_dir.join("findings.csv")), free_findings);
}

#[test]
fn a_sweep_under_ulimit_256_gives_the_same_findings_as_without() {
    let ns = Netns::new();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let _fleet = fleet(&ns, &pki, dir.path(), 16_379);
    let ports = format!("{}-{}", 16_379, 16_379 + SERVERS - 1);
    // The case: 64 TLS endpoints.
    same_findings_under_256(&ns, &pki, dir.path(), "127.0.0.1-127.0.0.4", &ports, 64);
    // Four times as many, all in flight at once without the clamp: before the socket budget, a few of
    // them came out unreachable here (with 5 sockets per endpoint the old clamp allowed 192 at once).
    same_findings_under_256(&ns, &pki, dir.path(), "127.0.0.1-127.0.0.16", &ports, 256);
}

/// What a record says about the target: timing and the connection count left out.
fn verdict(r: &EndpointRecord) -> String {
    let mut r = r.clone();
    r.started_at = String::new();
    r.duration_ms = 0;
    r.connections = 0;
    serde_json::to_string(&r).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_wait_for_a_socket_rather_than_fail() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<Peer> =
        (0..4).map(|i| redis(dir.path(), tls_conf(pki.server_steady("w", 90), &flavour(i)))).collect();
    let endpoints: Vec<Endpoint> = servers
        .iter()
        .map(|s| Endpoint { addr: SocketAddr::from((Ipv4Addr::LOCALHOST, s.port)), name: None })
        .collect();
    let unlimited = context(pki.anchors());
    let mut baseline = Vec::new();
    for ep in &endpoints {
        baseline.push(verdict(&probe_endpoint(ep, &unlimited).await));
    }
    // Two sockets for the whole scan, eight endpoints at once wanting up to five each: the probes queue
    // for sockets, none fails for want of one, and the waiting is not charged to their deadlines.
    // The same context (certificate ages as of the same second), only the socket budget added.
    let mut tight = unlimited.clone();
    let sockets = Sockets::new(2);
    tight.sockets = Some(sockets.clone());
    let tight = Arc::new(tight);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, ep) in endpoints.iter().cycle().take(8).enumerate() {
        let (ep, ctx) = (ep.clone(), tight.clone());
        tasks.spawn(async move { (i % 4, probe_endpoint(&ep, &ctx).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, rec) = done.unwrap();
        assert_eq!(rec.reachability, Reachability::Open);
        assert!(!rec.deadline_exceeded, "{rec:?}");
        assert_eq!(verdict(&rec), baseline[i], "endpoint {i}");
    }
    assert_eq!(sockets.available(), 2, "every socket was given back");
}

/// Runs the scanner on one endpoint under `ulimit -n {n}`, with `extra` descriptors (3, 4, ...) left
/// open to it by the shell as a careless parent would.
fn under_limit(n: u64, extra: u32, target: &str, port: u16, more: &[&str], out: &Path) -> Output {
    let leaks: String = (3..3 + extra).map(|fd| format!("exec {fd}</dev/null && ")).collect();
    let script = format!("{leaks}ulimit -n {n} && exec \"$0\" \"$@\"");
    std::process::Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_redis-tls-scan"), "scan", target, "-p", &port.to_string()])
        .args(["--include-closed", "--endpoint-timeout", "5s", "-q", "-o"])
        .arg(out)
        .args(more)
        .output()
        .unwrap()
}

/// The floor the scanner states when it refuses a limit: "a scan needs at least N".
fn stated_floor(o: &Output) -> u64 {
    let err = stderr(o);
    assert_eq!(code(o), 2, "{err}");
    let at = err.find("a scan needs at least ").unwrap_or_else(|| panic!("{err}")) + "a scan needs at least ".len();
    err[at..].split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{err}"))
}

#[test]
fn the_open_file_floor_runs_a_whole_scan_and_counts_what_the_parent_left_open() {
    // Below the floor: exit 2 before any file or packet. At the floor: the scan runs whole (one TLS
    // endpoint, every version side by side in the cipher scan, every report including --prometheus) and
    // no probe goes short of a socket. Each descriptor the parent leaks raises the floor by one: it is
    // counted at start, never assumed.
    require("redis-server");
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), tls_conf(pki.server_steady("floor", 90), &flavour(0)));
    let ca = pki.ca_file.to_string_lossy().into_owned();
    let mut floors = Vec::new();
    for (extra, depth) in [(0, "full"), (5, "full"), (0, "off")] {
        let prom = dir.path().join(format!("m{extra}{depth}.prom")).to_string_lossy().into_owned();
        let more = ["--ca-file", &ca, "--cipher-scan", depth, "--prometheus", &prom, "--format", "jsonl"];
        let probe = dir.path().join(format!("probe{extra}{depth}"));
        // Under the scan's own files, let alone its sockets: refused, and the refusal states the floor.
        let below = redis_tls_scan::setup::limits::FILES_BESIDES_SOCKETS;
        let floor = stated_floor(&under_limit(below, extra, "127.0.0.1", server.port, &more, &probe));
        for n in floor - 2..=floor + 1 {
            let out = dir.path().join(format!("n{n}-{extra}-{depth}"));
            let o = under_limit(n, extra, "127.0.0.1", server.port, &more, &out);
            let err = stderr(&o);
            if n < floor {
                assert_eq!(stated_floor(&o), floor, "ulimit -n {n}");
                assert!(err.contains(&format!("the open-file limit is {n}: a scan needs at least")), "{err}");
                assert!(!out.exists(), "ulimit -n {n}: {err}");
                continue;
            }
            assert!(!err.contains("ran out of sockets"), "ulimit -n {n}, {extra} leaked, {depth}: {err}");
            assert_eq!(code(&o), 0, "ulimit -n {n}, {extra} leaked, {depth}: {err}");
            let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
            assert!(journal.contains("\"reachability\":\"open\""), "ulimit -n {n}: {journal}");
            assert!(!journal.contains("ran out of sockets"), "ulimit -n {n}: {journal}");
            assert!(journal.contains("\"ping\":{\"status\":\"pong\""), "ulimit -n {n}: {journal}");
            let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
            for report in ["report.json", "report.html", "endpoints.csv", "findings.csv", "summary.txt"] {
                assert!(sums.contains(report), "ulimit -n {n}: {sums}");
            }
            assert!(std::fs::read_to_string(&prom).unwrap().contains("redis_tls_scan_"), "ulimit -n {n}");
            assert!(String::from_utf8_lossy(&o.stdout).contains("\"type\":\"summary\""), "ulimit -n {n}");
        }
        floors.push(floor);
    }
    assert_eq!(floors[1], floors[0] + 5, "five leaked descriptors, five more needed: {floors:?}");
    // The reports at the end need more descriptors than one endpoint's sockets, whatever the depth.
    assert_eq!(floors[2], floors[0], "{floors:?}");
}

/// Set in the environment of this test binary run again as a child: the port of the closed endpoint.
const SHORTAGE_CHILD: &str = "REDIS_TLS_SCAN_TEST_SHORTAGE_PORT";

#[test]
fn no_socket_to_give_is_the_scanners_outcome_never_the_targets() {
    // The floor leaves room for one endpoint's sockets, so socket() fails for want of a descriptor only
    // when something else took them (another thread's files, another endpoint). That is provoked in a
    // child: this test binary again, running only this test under a low limit, with SHORTAGE_CHILD set,
    // which fills its own descriptor table. The endpoint must come out as the scanner's shortage, never
    // as unreachable or filtered, and be probed normally once a descriptor is free again.
    if let Some(port) = std::env::var(SHORTAGE_CHILD).ok().and_then(|p| p.parse::<u16>().ok()) {
        return shortage_in_this_process(port);
    }
    let port = closed_port();
    let exe = std::env::current_exe().unwrap();
    let o = std::process::Command::new("sh")
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .arg(&exe)
        .args(["fds::no_socket_to_give_is_the_scanners_outcome_never_the_targets", "--exact", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(SHORTAGE_CHILD, port.to_string())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("1 passed"), "{out}\n{}", stderr(&o));
    assert!(out.contains("short: scanner_out_of_resources, then: closed"), "{out}");
}

/// The child's half: every descriptor taken, one probe; one descriptor given back, another probe.
fn shortage_in_this_process(port: u16) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ep = Endpoint { addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), name: None };
    let mut ctx = context(redis_tls_scan::cert::TrustAnchors::new(rustls::RootCertStore::empty()));
    // The probe asks again for a socket for up to one endpoint timeout: keep that short.
    ctx.endpoint_timeout = std::time::Duration::from_millis(300);
    ctx.sockets = Some(Sockets::new(4));
    // Every descriptor this process may still open, taken.
    let mut held = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        held.push(f);
    }
    assert!(!held.is_empty());
    let short = runtime.block_on(probe_endpoint(&ep, &ctx));
    held.truncate(held.len() - 1);
    let then = runtime.block_on(probe_endpoint(&ep, &ctx));
    drop(held);
    assert_eq!(short.reachability, Reachability::ScannerOutOfResources, "{short:?}");
    assert_eq!(then.reachability, Reachability::Closed, "{then:?}");
    let name = |r: &EndpointRecord| serde_json::to_value(r.reachability).unwrap().as_str().unwrap().to_owned();
    println!("short: {}, then: {}", name(&short), name(&then));
}
