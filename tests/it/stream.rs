//! The stdout outlet (`scan --format jsonl|json`, `-o none`) against real redis-server peers: what a
//! pipeline into `jq` reads, and a reader that goes away early.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::support::*;

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// `--format jsonl`: one line per listed endpoint, byte-identical to the journal's line, host findings as
/// in the journal, then one summary line; nothing else on stdout. `-o none` leaves no directory behind.
#[test]
fn jsonl_is_the_journal_lines_then_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let tls = redis(dir.path(), open_tls(pki.server("stream", 90)));
    let closed = closed_port();
    let ports = format!("{},{},{closed}", plain.port, tls.port);
    let out = dir.path().join("run");
    let o = scan_ok(&["127.0.0.1", "-p", &ports, "--format", "jsonl", "--cipher-scan", "off"], &pki.ca_file, &out);
    let text = String::from_utf8(o.stdout).unwrap();
    let got = lines(&text);
    let (last, records) = got.split_last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["summary"]["counts"]["redis"], 2);
    assert!(last["scan"]["seed"].is_string(), "the seed is a string for jq");
    // The endpoint lines are the journal's (and host findings, if any, too), in the order written.
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    let journaled: Vec<&str> = journal
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"endpoint\"") || l.contains("\"type\":\"host_finding\""))
        .collect();
    assert_eq!(text.lines().count() - 1, journaled.len());
    for (line, j) in text.lines().zip(&journaled) {
        assert_eq!(line, *j);
    }
    let ports: Vec<u64> =
        records.iter().filter(|r| r["type"] == "endpoint").map(|r| r["port"].as_u64().unwrap()).collect();
    assert_eq!(ports.len(), 2, "the closed port is not listed: {ports:?}");
    assert!(ports.contains(&u64::from(plain.port)) && ports.contains(&u64::from(tls.port)));

    // -o none: the same stream, no run directory anywhere (TMPDIR is watched).
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let o = bin()
        .current_dir(&cwd)
        .env("TMPDIR", &tmp)
        .args(["scan", &format!("127.0.0.1:{}", plain.port), "--format", "jsonl", "-o", "none"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got = lines(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["plaintext"]["status"], "pong");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the scratch directory is removed");
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "no reports/ directory");
    assert!(!stderr(&o).contains("Reports:"), "{}", stderr(&o));
}

/// `--format json` writes report.json to stdout, the same bytes as the file; `--no-output` too.
#[test]
fn json_is_report_json_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let target = format!("127.0.0.1:{}", plain.port);
    let out = dir.path().join("run");
    let o = bin().args(["scan", &target, "--format", "json", "-o"]).arg(&out).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(o.stdout, std::fs::read(out.join("report.json")).unwrap());
    assert!(stderr(&o).contains("Reports: "), "where the reports went is a message on stderr");
    check_sums(&out);
    // A --resume of the finished run rebuilds the reports and streams the same report.json.
    let o = bin().args(["scan", "--format", "json", "--resume"]).arg(&out).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(o.stdout, std::fs::read(out.join("report.json")).unwrap());
    let o = bin().args(["scan", "--format", "jsonl", "--resume"]).arg(&out).output().unwrap();
    let last: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(last["type"], "summary");

    let o = bin().args(["scan", &target, "--format", "json", "--no-output", "-q"]).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["endpoints"][0]["plaintext"]["status"], "pong");
    assert_eq!(report["summary"]["findings_by_id"]["plaintext_enabled"], 1);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // -o none takes no --resume, and a --resume takes no -o none.
    let o = bin().args(["scan", &target, "--no-output", "-o", "x"]).output().unwrap();
    assert_eq!(code(&o), 2);
}

/// A reader that takes one line and goes (`| head -1`): the scan stops early and quietly (exit 130, as
/// an interruption: the journal is resumable), and `--resume` finishes the rest. The endpoints are 60
/// closed ports listed with `--include-closed`: each a journal line, no peer needed.
#[test]
fn a_reader_that_goes_away_stops_the_scan_quietly() {
    let mut ports = std::collections::BTreeSet::new();
    while ports.len() < 60 {
        ports.insert(closed_port().to_string());
    }
    let ports: Vec<String> = ports.into_iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // A slow sweep (10 connections/s) so that most of it is still ahead when the reader goes.
    let mut child = bin()
        .args(["scan", "127.0.0.1", "-p", &ports.join(","), "--format", "jsonl", "--rate", "10"])
        .args(["--include-closed", "--concurrency", "2", "-o"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["type"], "endpoint");
    drop(reader);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    let done = journal.lines().filter(|l| l.starts_with("{\"type\":\"endpoint\"")).count();
    assert!(done < 60, "the scan went on after its reader left: {done} endpoints");
    // The rest, resumed: every endpoint once.
    let o = bin().args(["scan", "-q", "--resume"]).arg(&out).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(report(&out)["endpoints"].as_array().unwrap().len(), 60);
}

/// On a terminal, `--format jsonl` lines are not torn by the progress bar: with stdout and stderr on the
/// same terminal (a pty from `script`), the bar is not drawn; with the text format it is (the check
/// sees the bar at all). A tarpit the test owns keeps the scan running long enough for the bar.
#[test]
fn jsonl_on_a_terminal_is_not_torn_by_the_progress_bar() {
    require("script");
    let (port, _held) = tarpit();
    let on_terminal = |format: &str| {
        let line = format!(
            "'{}' scan 127.0.0.1 -p {port} --read-timeout 1s --endpoint-timeout 2s --cipher-scan off -o none --format {format}",
            env!("CARGO_BIN_EXE_redis-tls-scan")
        );
        let o = std::process::Command::new("script").args(["-qec", &line, "/dev/null"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = on_terminal("text");
    assert!(text.contains("ETA"), "the bar is drawn for the text format: {text}");
    let streamed = on_terminal("jsonl");
    assert!(!streamed.contains("ETA"), "{streamed}");
    let last = streamed.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap();
    let summary: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(summary["type"], "summary");
}
