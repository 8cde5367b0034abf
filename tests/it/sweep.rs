//! Sweep mechanics: exclusions hold (no connection at all), shards partition the space, reserved
//! ranges are never scanned by default.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
}

/// A listener that counts the connections it receives.
fn counting(ip: &str, port: u16) -> Arc<AtomicUsize> {
    let l = TcpListener::bind((ip, port)).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(1000).flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            let mut s = s;
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
        }
    });
    hits
}

#[test]
fn excluded_addresses_get_no_connection_attempt() {
    let port = free_port();
    let (a, b, c) = (counting("127.0.0.1", port), counting("127.0.0.2", port), counting("127.0.0.3", port));
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["scan", "127.0.0.1-127.0.0.3", "-p", &port.to_string(), "--exclude", "127.0.0.2", "-q"])
        .args(["--read-timeout", "300ms", "--cipher-scan", "off", "-o"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(b.load(Ordering::SeqCst), 0, "the excluded address was never contacted");
    assert!(a.load(Ordering::SeqCst) >= 1 && c.load(Ordering::SeqCst) >= 1);
}

#[test]
fn reserved_ranges_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["224.0.0.1", "0.0.0.1", "255.255.255.255", "ff02::1", "192.0.2.7"] {
        let o = bin().args(["scan", target, "-o"]).arg(dir.path().join("never")).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{target}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to scan"), "{target}");
    }
    assert!(!dir.path().join("never").exists());
}

fn journaled(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("scan.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "endpoint")
        .map(|v| format!("{}:{}", v["address"].as_str().unwrap(), v["port"]))
        .collect()
}

#[test]
fn shards_with_one_seed_are_disjoint_and_cover_the_range() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let run = |shard: Option<&str>, out: &str| {
        let mut cmd = bin();
        cmd.args(["scan", "127.0.0.1-127.0.0.60", "-p", &port.to_string(), "--seed", "1234", "--include-closed", "-q"]);
        // One at a time, so that the journal's order is the visiting order.
        cmd.args(["--concurrency", "1"]);
        if let Some(s) = shard {
            cmd.args(["--shard", s]);
        }
        let o = cmd.arg("-o").arg(dir.path().join(out)).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let report: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(out).join("report.json")).unwrap()).unwrap();
        assert_eq!(report["scan"]["seed"], "1234", "a string: JSON readers round 64-bit numbers");
        journaled(&dir.path().join(out))
    };
    let whole: BTreeSet<String> = run(None, "whole").into_iter().collect();
    assert_eq!(whole.len(), 60);
    let mut union = BTreeSet::new();
    let mut total = 0;
    for i in 0..3 {
        let part = run(Some(&format!("{i}/3")), &format!("shard{i}"));
        total += part.len();
        union.extend(part);
    }
    assert_eq!(total, 60, "no endpoint in two shards");
    assert_eq!(union, whole);
    // The same seed gives the same order; the order is not address order.
    let a = run(None, "again");
    assert_eq!(run(None, "again2"), a);
    let mut sorted = a.clone();
    sorted.sort();
    assert_ne!(a, sorted, "permuted, not sequential");
}

fn findings_by_endpoint(dir: &std::path::Path) -> (std::collections::BTreeMap<String, Vec<String>>, Value) {
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let m = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut ids: Vec<String> =
                e["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
            ids.sort();
            (format!("{}:{}", e["address"].as_str().unwrap(), e["port"]), ids)
        })
        .collect();
    (m, r["scan"]["counts"].clone())
}

#[test]
fn n_shards_plus_merge_equal_one_run() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    // One host with plaintext and TLS ports: mixed mode only shows when the shards are merged.
    let server = redis(
        dir.path(),
        RedisConf {
            plaintext: true,
            tls: Some(pki.server("srv", 90)),
            args: vec![("tls-auth-clients".into(), "no".into())],
            ..Default::default()
        },
    );
    let ports = format!("{},{},{}", server.port, server.extra_port.unwrap(), closed_port());
    let scan = |shard: Option<String>, out: &std::path::Path| {
        let mut cmd = bin();
        cmd.args(["scan", "127.0.0.1-127.0.0.20", "-p", &ports, "--seed", "99", "--ca-file"])
            .arg(&pki.ca_file)
            .args(["-q", "--cipher-scan", "quick", "-o"])
            .arg(out);
        if let Some(s) = shard {
            cmd.args(["--shard", &s]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let whole = dir.path().join("whole");
    scan(None, &whole);
    let shards: Vec<std::path::PathBuf> = (0..3).map(|i| dir.path().join(format!("shard{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        scan(Some(format!("{i}/3")), s);
    }
    let merged = dir.path().join("merged");
    let o = bin().arg("merge").args(&shards).arg("-o").arg(&merged).arg("-q").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, ca) = findings_by_endpoint(&whole);
    let (b, cb) = findings_by_endpoint(&merged);
    assert_eq!(a, b);
    assert_eq!(ca, cb);
    assert!(a.values().any(|ids| ids.contains(&"mixed_mode".to_string())));
    let r: Value = serde_json::from_slice(&std::fs::read(merged.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["scan"]["merged_from"].as_array().unwrap().len(), 3);
    assert_eq!(r["scan"]["endpoints_planned"], 60);

    // Incomplete or inconsistent sets are refused, naming what is wrong.
    let o = bin().arg("merge").args(&shards[..2]).arg("-o").arg(dir.path().join("m2")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard(s) 2/3 missing"));
    let o = bin().arg("merge").arg(&whole).arg("-o").arg(dir.path().join("m3")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a shard"));
}
