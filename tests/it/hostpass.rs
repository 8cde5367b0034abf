//! The host-level pass at scale and under signals: 30 TLS Redis endpoints whose cluster-bus ports are
//! tarpits cost about one read timeout together, not one each; SIGTERM during the pass writes the reports
//! and exits 130; `--resume` then completes the pass. Also: the reports list endpoints in (address, port)
//! order whatever the visiting order.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::*;

const ADDRESSES: usize = 30;

fn addresses() -> Vec<String> {
    (0..ADDRESSES).map(|i| format!("127.0.1.{}", i + 10)).collect()
}

/// Two TLS-only Redis servers answering on 15 loopback addresses each (Redis binds at most 16), all on
/// one port; returns them (the first carries the port).
fn tls_redis_on_30_addresses(dir: &Path, pki: &Pki) -> (Peer, Peer) {
    let port = free_port();
    let all = addresses();
    let (a, b) = all.split_at(ADDRESSES / 2);
    (tls_redis_on(dir, pki, port, a), tls_redis_on(dir, pki, port, b))
}

fn tls_redis_on(dir: &Path, pki: &Pki, port: u16, binds: &[String]) -> Peer {
    require("redis-server");
    // Two sweeps are compared row by row: days_left must not tick over between them.
    let files = pki.server_steady("many", 90);
    let dir = dir.join(&binds[0]);
    std::fs::create_dir_all(&dir).unwrap();
    {
        let mut cmd = Command::new("redis-server");
        cmd.arg("--bind").args(binds);
        cmd.args(["--port", "0", "--tls-port", &port.to_string(), "--tls-auth-clients", "no"]);
        cmd.arg("--tls-cert-file").arg(&files.cert).arg("--tls-key-file").arg(&files.key);
        cmd.arg("--tls-ca-cert-file").arg(&files.ca);
        cmd.args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]).arg("--dir").arg(&dir);
        let child = spawn_ready(cmd, "Ready to accept connections").expect("redis-server on the test addresses");
        Peer::from_child(child, port)
    }
}

/// Bus-port listeners on every address at `port`: they hold connections (a tarpit) while `hold` is set,
/// else close them at once (as a plaintext Redis bus drops a ClientHello). Each accept is reported.
fn bus_listeners(port: u16, hold: Arc<AtomicBool>) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    for a in addresses() {
        let l = TcpListener::bind((a.as_str(), port)).expect("bus port free on the test addresses");
        let (tx, hold) = (tx.clone(), hold.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in l.incoming().take(200).flatten() {
                let _ = tx.send(());
                if hold.load(Ordering::SeqCst) {
                    held.push(s);
                }
            }
        });
    }
    rx
}

fn scan_cmd(port: u16, ca: &Path, out: &Path, read_timeout: &str) -> Command {
    let mut cmd = bin();
    cmd.arg("scan").args(addresses().iter().map(|a| format!("{a}:{port}")));
    cmd.args(["-q", "--allow-reserved", "--cipher-scan", "off", "--read-timeout", read_timeout]);
    cmd.args(["--endpoint-timeout", "30s", "--ca-file"]).arg(ca).arg("-o").arg(out);
    cmd
}

#[test]
fn thirty_tarpit_bus_ports_cost_one_read_timeout_and_sigterm_during_the_pass_resumes() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (server, _second) = tls_redis_on_30_addresses(dir.path(), &pki);
    let bus = server.port + 10_000;
    let hold = Arc::new(AtomicBool::new(true));
    let accepted = bus_listeners(bus, hold.clone());

    // 1. The whole run: the sweep, then 30 tarpit bus ports asked at once (2 s each).
    let start = Instant::now();
    let o = scan_cmd(server.port, &pki.ca_file, &dir.path().join("one"), "2s").output().unwrap();
    let took = start.elapsed();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(took < Duration::from_secs(8), "{took:?}: one host at a time would take 60 s");
    let r = report(&dir.path().join("one"));
    assert_eq!(r["endpoints"].as_array().unwrap().len(), ADDRESSES);
    // The reports list endpoints by (address, port): 127.0.1.10 first, whatever the visiting order.
    let listed: Vec<&str> = r["endpoints"].as_array().unwrap().iter().map(|e| e["address"].as_str().unwrap()).collect();
    let mut sorted = listed.clone();
    sorted.sort_by_key(|a| a.parse::<std::net::IpAddr>().unwrap());
    assert_eq!(listed, sorted);
    while accepted.try_recv().is_ok() {}

    // 2. SIGTERM once the host pass has reached a bus port: reports, exit 130.
    let out = dir.path().join("two");
    let mut child =
        scan_cmd(server.port, &pki.ca_file, &out, "20s").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    accepted.recv_timeout(Duration::from_secs(30)).expect("the host pass reached a bus port");
    let signalled = Instant::now();
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(signalled.elapsed() < Duration::from_secs(5), "{:?}: the pass did not stop", signalled.elapsed());
    let r = report(&out);
    assert_eq!(r["scan"]["interrupted"], true);
    assert_eq!(r["endpoints"].as_array().unwrap().len(), ADDRESSES, "the sweep's records are all reported");

    // 3. Resume: the sweep is done, the host pass runs again and completes (the bus ports now drop a
    // ClientHello like a plaintext Redis bus: every endpoint gets cluster_bus_plaintext).
    hold.store(false, Ordering::SeqCst);
    let o = bin().args(["scan", "--resume"]).arg(&out).arg("-q").output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&out);
    assert_eq!(r["scan"]["interrupted"], false);
    assert_eq!(r["summary"]["findings_by_id"]["cluster_bus_plaintext"], ADDRESSES);
    drop(server);
}

#[test]
fn two_sweeps_in_different_orders_give_the_same_rows() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (server, _second) = tls_redis_on_30_addresses(dir.path(), &pki);
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let run = |seed: &str| {
        let out = dir.path().join(format!("seed{seed}"));
        let o = scan_cmd(server.port, &pki.ca_file, &out, "2s")
            .arg(format!("127.0.0.1:{}", plain.port))
            .args(["--seed", seed])
            .output()
            .unwrap();
        assert!(code(&o) <= 1, "{}", stderr(&o));
        let endpoints = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
        let findings = std::fs::read(out.join("findings.csv")).unwrap();
        (endpoints, findings)
    };
    let (e1, f1) = run("1");
    let (e2, f2) = run("2");
    assert_eq!(f1, f2, "findings.csv byte-identical");
    let header: Vec<&str> = e1.lines().next().unwrap().split(',').collect();
    let timing: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| matches!(**h, "started_at" | "duration_ms"))
        .map(|(i, _)| i)
        .collect();
    let rows = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .map(|l| {
                l.split(',').enumerate().filter(|(i, _)| !timing.contains(i)).map(|(_, c)| c.to_string()).collect()
            })
            .collect()
    };
    assert_eq!(rows(&e1).len(), ADDRESSES + 2);
    assert_eq!(rows(&e1), rows(&e2), "endpoints.csv equal apart from the timing columns");
}
