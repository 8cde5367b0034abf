//! `--resume` after SIGKILL at random points: every endpoint scanned exactly once overall, and the final
//! reports equal those of an uninterrupted run of the same sweep.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
}

/// Endpoint -> (plaintext status, finding ids), and the counts.
fn outcome(dir: &Path) -> (BTreeMap<String, (String, Vec<String>)>, Value) {
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let eps = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let key = format!("{}:{}", e["address"].as_str().unwrap(), e["port"]);
            let plain = e["plaintext"]["status"].as_str().unwrap_or("-").to_string();
            let ids = e["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
            (key, (plain, ids))
        })
        .collect();
    (eps, r["scan"]["counts"].clone())
}

/// Endpoint lines in the journal, with how often each endpoint appears.
fn journal_multiplicity(dir: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("scan.jsonl")).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "endpoint" {
            *m.entry(format!("{}:{}", v["address"].as_str().unwrap(), v["port"])).or_default() += 1;
        }
    }
    m
}

#[test]
fn sigkill_at_random_points_then_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let a = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let b = redis(
        dir.path(),
        RedisConf { plaintext: true, args: vec![("requirepass".into(), "pw".into())], ..Default::default() },
    );
    let ports = format!("{},{},{}", a.port, b.port, closed_port());
    // 450 endpoints at 400 connections/s: long enough to be killed several times.
    let args = |out: &Path| -> Vec<String> {
        ["scan", "127.0.0.1-127.0.0.150", "-p", &ports, "--seed", "77", "--rate", "400", "--include-closed", "-q", "-o"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.display().to_string()])
            .collect()
    };
    let full = dir.path().join("full");
    let o = bin().args(args(&full)).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    let part = dir.path().join("part");
    // Pseudo-random kill points, printed so that a failure can be replayed.
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    println!("kill-point seed {seed}");
    let mut next_delay = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        Duration::from_millis(150 + (seed >> 33) % 450)
    };
    let mut child = bin().args(args(&part)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(next_delay());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let resume = || {
        let mut c = bin();
        c.args(["scan", "--resume"]).arg(&part).arg("-q").stdout(Stdio::null()).stderr(Stdio::piped());
        c
    };
    for _ in 0..3 {
        let mut child = resume().spawn().unwrap();
        std::thread::sleep(next_delay());
        let _ = child.kill();
        child.wait().unwrap();
    }
    let o = resume().output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));

    let (full_eps, full_counts) = outcome(&full);
    let (part_eps, part_counts) = outcome(&part);
    assert_eq!(part_counts, full_counts);
    assert_eq!(part_eps, full_eps);
    assert_eq!(full_eps.len(), 450);
    let multiplicity = journal_multiplicity(&part);
    assert_eq!(multiplicity.len(), 450);
    assert!(multiplicity.values().all(|n| *n == 1), "an endpoint was journaled twice");
}

#[test]
fn resume_refuses_what_is_not_an_interrupted_scan_of_this_tool() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = bin().args(["scan", "--resume"]).arg(&empty).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("scan.jsonl: cannot read"));
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("scan.jsonl"), "{\"some\":\"other tool\"}\n").unwrap();
    let o = bin().args(["scan", "--resume"]).arg(&other).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a journal line of this tool"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = bin().args(["scan", "127.0.0.1", "--resume"]).arg(&other).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "targets and --resume conflict");
}

#[test]
fn resume_after_a_kill_before_the_first_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let out = dir.path().join("out");
    let o = bin()
        .args(["scan", "127.0.0.1-127.0.0.30", "-p", &port.to_string(), "--seed", "5", "--include-closed", "-q", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Keep only the metadata line, plus a torn fragment: what a kill right after start leaves.
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    let first = journal.lines().next().unwrap();
    std::fs::write(out.join("scan.jsonl"), format!("{first}\n{{\"type\":\"endpoi")).unwrap();
    for f in ["report.json", "SHA256SUMS"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    let o = bin().args(["scan", "--resume"]).arg(&out).arg("-q").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["scan"]["counts"]["scanned"], 30);
    assert_eq!(journal_multiplicity(&out).len(), 30);
}
