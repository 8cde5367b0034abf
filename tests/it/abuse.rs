//! The tool used as a hostile user would (issue 10): two writers on one run directory, foreign files in
//! the output, an edited targets file under `--resume`, shards of different sweeps, one endpoint named
//! three ways, endless local input, unwritable outputs and a full disk at start, escape sequences in
//! local text, and a Prometheus file checked by the real `promtool`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::*;

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A temporary directory and a closed loopback port (as text) for a test.
fn scratch() -> (tempfile::TempDir, String) {
    (tempfile::tempdir().unwrap(), closed_port().to_string())
}

/// A finished scan of `127.0.0.1-127.0.0.<last>` on a closed `port` (closed endpoints listed).
fn closed_sweep(out: &Path, last: u8, port: &str, extra: &[&str]) -> Output {
    let range = format!("127.0.0.1-127.0.0.{last}");
    let mut args = vec!["scan", &range, "-p", port, "--include-closed", "-q", "--seed", "9", "-o"];
    let out = s(out);
    args.push(&out);
    args.extend(extra);
    run(&args)
}

fn interrupt(child: &mut std::process::Child) -> Option<i32> {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    child.wait().unwrap().code()
}

#[test]
fn a_run_directory_has_one_writer() {
    let (dir, cp) = scratch();
    let out = dir.path().join("out");
    let (port, connected) = tarpit();
    let scan = |extra: &[&str]| {
        let mut c = bin();
        c.args(["scan", "127.0.0.1-127.0.0.3", "-p", &port.to_string(), "-q", "--concurrency", "1"])
            .args(["--read-timeout", "60s", "--endpoint-timeout", "120s", "-o", &s(&out)])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let mut first = scan(&[]).spawn().unwrap();
    connected.recv_timeout(std::time::Duration::from_secs(20)).expect("scanner connected");
    // While it runs: a resume, a second scan and a merge into it are all refused.
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("another redis-tls-scan run is using this directory"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = run(&["scan", "127.0.0.1", "-o", &s(&out), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert_eq!(interrupt(&mut first), Some(130));

    // A resume holds the lock too: a second resume at the same time is refused.
    let mut resume = bin();
    resume.args(["scan", "--resume", &s(&out), "-q"]).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut second = resume.spawn().unwrap();
    connected.recv_timeout(std::time::Duration::from_secs(20)).expect("resumed scanner connected");
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("another redis-tls-scan run is using this directory"), "{}", stderr(&o));
    assert_eq!(interrupt(&mut second), Some(130));
    let ends = std::fs::read_to_string(out.join("scan.jsonl")).unwrap().matches("\"type\":\"scan\"").count();
    assert_eq!(ends, 1, "one metadata line");

    // merge holds it on its output.
    let shards = dir.path().join("shards");
    let (s0, s1, merged) = (shards.join("0"), shards.join("1"), dir.path().join("merged"));
    assert_eq!(code(&closed_sweep(&s0, 4, &cp, &["--shard", "0/2"])), 0);
    assert_eq!(code(&closed_sweep(&s1, 4, &cp, &["--shard", "1/2"])), 0);
    std::fs::create_dir(&merged).unwrap();
    let held = redis_tls_scan::report::rundir::lock(&merged).unwrap();
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&merged), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("another redis-tls-scan run is using this directory"), "{}", stderr(&o));
    drop(held);
    // A shard in use (a resume of it runs) is not read under the merge either.
    let held = redis_tls_scan::report::rundir::lock(&s1).unwrap();
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&merged), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(&format!("{}: another redis-tls-scan run", s(&s1))), "{}", stderr(&o));
    drop(held);
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&merged), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn never_overwrite_what_is_not_ours() {
    let (dir, cp) = scratch();
    // A scan into a non-empty foreign directory.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("report.json"), "precious").unwrap();
    let o = closed_sweep(&foreign, 2, &cp, &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not empty and is not a run of this tool"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(foreign.join("report.json")).unwrap(), "precious");
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    // merge into a foreign directory, or into a scan's run directory.
    let (s0, s1) = (dir.path().join("s0"), dir.path().join("s1"));
    assert_eq!(code(&closed_sweep(&s0, 4, &cp, &["--shard", "0/2"])), 0);
    assert_eq!(code(&closed_sweep(&s1, 4, &cp, &["--shard", "1/2"])), 0);
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("report.html"), "precious").unwrap();
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&site), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a merge output"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(site.join("report.html")).unwrap(), "precious");
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&s0), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("holds a scan run"), "{}", stderr(&o));

    // A re-run merge replaces its own output; a planted temporary-file symlink redirects nothing.
    let merged = dir.path().join("merged");
    assert_eq!(code(&run(&["merge", &s(&s0), &s(&s1), "-o", &s(&merged), "-q"])), 0);
    let first = report(&merged);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    for name in ["report.json", "report.html", "summary.md", "SHA256SUMS"] {
        std::os::unix::fs::symlink(&victim, merged.join(format!(".{name}.tmp"))).unwrap();
    }
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&merged), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let second = report(&merged);
    assert_eq!(second["endpoints"], first["endpoints"]);
    assert_eq!(second["scan"]["counts"], first["scan"]["counts"]);
    let journal = std::fs::read_to_string(merged.join("scan.jsonl")).unwrap();
    assert_eq!(journal.matches("\"type\":\"end\"").count(), 1, "the old journal was replaced, not appended to");
    check_sums(&merged);

    // The same for a resume that rebuilds reports in its own directory.
    let run_dir = dir.path().join("run");
    assert_eq!(code(&closed_sweep(&run_dir, 2, &cp, &[])), 0);
    std::fs::remove_file(run_dir.join("report.json")).unwrap();
    std::os::unix::fs::symlink(&victim, run_dir.join(".report.json.tmp")).unwrap();
    let o = run(&["scan", "--resume", &s(&run_dir), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(report(&run_dir)["scan"]["counts"]["scanned"], 2);
}

/// Keeps only the journal's metadata line: an interrupted run, killed right after its start.
fn cut_to_start(out: &Path) {
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    let first = journal.lines().next().unwrap();
    std::fs::write(out.join("scan.jsonl"), format!("{first}\n")).unwrap();
}

#[test]
fn a_resume_continues_the_same_scan_or_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port().to_string();
    let targets = write(dir.path(), "targets.txt", "127.0.0.1-127.0.0.10\n");
    let out = dir.path().join("out");
    let o = run(&["scan", "-f", &s(&targets), "-p", &port, "--include-closed", "-q", "-o", &s(&out)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let digest = report(&out)["scan"]["plan_digest"].as_str().unwrap().to_string();
    assert_eq!(digest.len(), 64);
    cut_to_start(&out);
    // The targets file edited: the same number of endpoints, other addresses.
    write(dir.path(), "targets.txt", "127.0.0.11-127.0.0.20\n");
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("now give another plan"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    // Put back: the resume completes.
    write(dir.path(), "targets.txt", "127.0.0.1-127.0.0.10\n");
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(report(&out)["scan"]["plan_digest"].as_str(), Some(digest.as_str()));
    assert_eq!(report(&out)["scan"]["counts"]["scanned"], 10);
}

#[test]
fn a_resume_after_a_kill_while_writing_reports_exits_as_the_scan_would_and_writes_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let out = dir.path().join("out");
    let prom = dir.path().join("redis.prom");
    let target = format!("127.0.0.1:{}", server.port);
    let args = ["scan", &target, "--fail-on", "critical", "--prometheus", &s(&prom), "-q", "-o", &s(&out)];
    let o = run(&args);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // Killed after the journal's end line, before the reports: none of them is there yet.
    for f in ["report.json", "endpoints.csv", "findings.csv", "summary.txt", "summary.md", "report.html"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    std::fs::remove_file(&prom).unwrap();
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 1, "the uninterrupted run's exit code: {}", stderr(&o));
    assert!(prom.is_file(), "--prometheus written too");
    assert_eq!(report(&out)["endpoints"][0]["plaintext"]["status"], "pong");
    check_sums(&out);
}

#[test]
fn merge_only_shards_of_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = closed_port().to_string();
    let other_port = closed_port().to_string();
    let shard = |name: &str, range: &str, index: &str, extra: &[&str]| -> PathBuf {
        let out = d.join(name);
        let ports = if extra.contains(&"-p") { vec![] } else { vec!["-p", port.as_str()] };
        let mut args = vec!["scan", range];
        args.extend(ports);
        args.extend(["--include-closed", "-q", "--seed", "3", "--shard", index]);
        let o = s(&out);
        args.extend(["-o", &o]);
        args.extend(extra);
        let res = run(&args);
        assert_eq!(code(&res), 0, "{}", stderr(&res));
        out
    };
    let base = shard("base0", "127.0.0.1-127.0.0.8", "0/2", &[]);
    let good = shard("base1", "127.0.0.1-127.0.0.8", "1/2", &[]);
    let cases: Vec<(PathBuf, &str)> = vec![
        (shard("targets", "127.0.0.11-127.0.0.18", "1/2", &[]), "plan_digest"),
        (shard("ports", "127.0.0.1-127.0.0.8", "1/2", &["-p", &other_port]), "ports"),
        (shard("cipher", "127.0.0.1-127.0.0.8", "1/2", &["--cipher-scan", "quick"]), "cipher_scan"),
        (shard("timeouts", "127.0.0.1-127.0.0.8", "1/2", &["--read-timeout", "2s"]), "timeouts_ms"),
        (shard("roots", "127.0.0.1-127.0.0.8", "1/2", &["--roots", "mozilla"]), "trust.roots"),
        (shard("warn", "127.0.0.1-127.0.0.8", "1/2", &["--warn-days", "7"]), "warn_days"),
    ];
    for (other, field) in &cases {
        let o = run(&["merge", &s(&base), &s(other), "-o", &s(&d.join("m")), "-q"]);
        assert_eq!(code(&o), 2, "{field}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{field} differs")), "{field}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(!d.join("m").exists(), "nothing written");
    }
    // Journals of schema 1.0 written before the plan digest existed: what is there is compared.
    let strip = |dir: &Path| {
        let journal = std::fs::read_to_string(dir.join("scan.jsonl")).unwrap();
        let (first, rest) = journal.split_once('\n').unwrap();
        let mut meta: Value = serde_json::from_str(first).unwrap();
        meta.as_object_mut().unwrap().remove("plan_digest");
        std::fs::write(dir.join("scan.jsonl"), format!("{meta}\n{rest}")).unwrap();
    };
    let moved = &cases[0].0;
    for dir in [&base, &good, moved] {
        strip(dir);
    }
    let o = run(&["merge", &s(&base), &s(moved), "-o", &s(&d.join("m")), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("targets differs"), "{}", stderr(&o));
    let o = run(&["merge", &s(&base), &s(&good), "-o", &s(&d.join("m")), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(report(&d.join("m"))["scan"]["counts"]["scanned"], 8);
}

#[test]
fn each_endpoint_once() {
    require("redis-cli");
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let out = dir.path().join("out");
    let p = server.port.to_string();
    let ports = format!("{p},{}", closed_port());
    let o = run(&[
        "scan",
        "127.0.0.1",
        &format!("127.0.0.1:{p}"),
        &format!("[::ffff:127.0.0.1]:{p}"),
        "-p",
        &ports,
        "-q",
        "-o",
        &s(&out),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&out);
    assert_eq!(r["scan"]["endpoints_planned"], 2);
    assert_eq!(r["scan"]["counts"]["scanned"], 2);
    assert_eq!(r["endpoints"].as_array().unwrap().len(), 1);
    assert_eq!(r["summary"]["findings_by_id"]["unauthenticated_access"], 1);
    // The peer saw one plaintext PING.
    let info = Command::new("redis-cli").args(["-p", &p, "INFO", "commandstats"]).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("cmdstat_ping:calls=1,"), "{info}");
}

/// Runs the binary through `sh` with a memory cap and a time limit, so that unbounded input fails the
/// test instead of the machine.
fn bounded(script: &str) -> Output {
    sh(&format!("ulimit -v 4000000; exec timeout 20 {script}"))
}

/// Runs a shell script in which `$BIN` is the binary.
fn sh(script: &str) -> Output {
    Command::new("sh").args(["-c", script]).env("BIN", env!("CARGO_BIN_EXE_redis-tls-scan")).output().unwrap()
}

#[test]
fn local_input_is_bounded() {
    let (dir, cp) = scratch();
    let d = dir.path();
    let out = d.join("out");
    let run_dir = d.join("run");
    assert_eq!(code(&closed_sweep(&run_dir, 2, &cp, &[])), 0);
    let long_journal = d.join("long");
    std::fs::create_dir(&long_journal).unwrap();
    std::os::unix::fs::symlink("/dev/zero", long_journal.join("scan.jsonl")).unwrap();
    let o = s(&out);
    // (shell command, what the one-line error must hold)
    let cases: Vec<(String, String)> = vec![
        (format!("\"$BIN\" scan -f /dev/zero -o {o}"), "error: /dev/zero:1: line longer than 4096 bytes".into()),
        (format!("\"$BIN\" scan -f /dev/urandom -o {o}"), "error: /dev/urandom:".into()),
        (format!("\"$BIN\" scan - -o {o} < /dev/zero"), "error: stdin:1: line longer than 4096 bytes".into()),
        (format!("\"$BIN\" scan 127.0.0.1 --exclude-file /dev/zero -o {o}"), "error: /dev/zero:1: line longer".into()),
        (format!("\"$BIN\" scan 127.0.0.1 --ca-file /dev/zero -o {o}"), "error: /dev/zero: larger than 16 MiB".into()),
        (format!("\"$BIN\" diff {} /dev/zero", s(&run_dir)), "error: /dev/zero:1: not a report.json".into()),
        (format!("\"$BIN\" diff {} /dev/urandom", s(&run_dir)), "error: /dev/urandom:1: not a report.json".into()),
        (format!("\"$BIN\" scan --resume {}", s(&long_journal)), "scan.jsonl: cannot read".into()),
    ];
    for (script, needle) in cases {
        let started = std::time::Instant::now();
        let res = bounded(&script);
        let err = stderr(&res);
        assert_eq!(code(&res), 2, "{script}: {err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{script}: took {:?}", started.elapsed());
        // Random bytes may hold a few short printable lines before the first that is not UTF-8.
        let most = if script.contains("scan -f /dev/urandom") { 21 } else { 1 };
        assert!((1..=most).contains(&err.lines().count()), "{script}: {most} line(s) at most:\n{err}");
        assert!(err.lines().all(|l| l.starts_with("error: ")), "{script}: {err}");
        assert!(err.contains(&needle), "{script}: '{needle}' not in {err}");
        assert!(!out.exists(), "{script}: something was written");
    }
    // A journal line of 16 MiB and more, in a merge shard.
    let shard = d.join("shard");
    std::fs::create_dir(&shard).unwrap();
    std::fs::write(shard.join("scan.jsonl"), vec![b' '; (16 << 20) + 10]).unwrap();
    let res = run(&["merge", &s(&shard), "-o", &s(&d.join("m"))]);
    assert_eq!(code(&res), 2);
    assert!(stderr(&res).contains("line 1: line longer than"), "{}", stderr(&res));

    // A byte-order mark at the start of a targets file is no part of the first target.
    let bom = d.join("bom.txt");
    std::fs::write(&bom, "\u{feff}127.0.77.1\n127.0.77.2\n").unwrap();
    let res = run(&["scan", "-f", &s(&bom), "-p", &cp, "-q", "-o", &s(&d.join("bom"))]);
    assert_eq!(code(&res), 0, "{}", stderr(&res));
    assert_eq!(report(&d.join("bom"))["scan"]["endpoints_planned"], 2);
}

#[test]
fn a_journal_tail_of_nul_bytes_is_cut_back_like_a_torn_line() {
    let (dir, cp) = scratch();
    let out = dir.path().join("out");
    assert_eq!(code(&closed_sweep(&out, 12, &cp, &[])), 0);
    let full = report(&out);
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    // The metadata and four endpoints survived; the rest of the file is zeroes, as after a power loss.
    let kept: Vec<&str> = journal.lines().take(5).collect();
    let mut bytes = format!("{}\n", kept.join("\n")).into_bytes();
    bytes.extend(std::iter::repeat_n(0u8, 700));
    bytes.push(b'\n');
    std::fs::write(out.join("scan.jsonl"), &bytes).unwrap();
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let resumed = report(&out);
    assert_eq!(resumed["scan"]["counts"], full["scan"]["counts"]);
    assert_eq!(resumed["endpoints"].as_array().unwrap().len(), 12);
    assert!(!std::fs::read(out.join("scan.jsonl")).unwrap().contains(&0), "the NUL tail is gone");
}

#[test]
fn output_paths_fail_at_setup_not_after_the_sweep() {
    let (dir, cp) = scratch();
    let d = dir.path();
    let out = d.join("out");
    for (prom, needle) in
        [(s(d), "--prometheus: is a directory"), ("/proc/redis.prom".into(), "--prometheus: cannot write")]
    {
        let o = run(&["scan", "127.0.0.1", "-p", &cp, "-q", "-o", &s(&out), "--prometheus", &prom]);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("error: {prom}: {needle}")), "{}", stderr(&o));
        assert!(!out.exists(), "refused before the scan");
    }
    // An existing file is replaced only when this tool wrote it.
    let foreign = write(d, "node.prom", "# HELP node_load1 Load.\n# TYPE node_load1 gauge\nnode_load1 0.5\n");
    let o = run(&["scan", "127.0.0.1", "-p", &cp, "-q", "-o", &s(&out), "--prometheus", &s(&foreign)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--prometheus: exists and was not written by this tool"), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&foreign).unwrap().starts_with("# HELP node_load1"));
    assert!(!out.exists());
    let (s0, s1) = (d.join("s0"), d.join("s1"));
    assert_eq!(code(&closed_sweep(&s0, 2, &cp, &["--shard", "0/2"])), 0);
    assert_eq!(code(&closed_sweep(&s1, 2, &cp, &["--shard", "1/2"])), 0);
    let o = run(&["merge", &s(&s0), &s(&s1), "-o", &s(&d.join("m")), "--prometheus", &s(d)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--prometheus: is a directory"), "{}", stderr(&o));
    assert!(!d.join("m").exists());

    // A full disk at start (a file-size limit of 0: writes fail with EFBIG): nothing left behind, and
    // the same command then simply runs.
    let script = format!("trap '' XFSZ; ulimit -f 0; exec \"$BIN\" scan 127.0.0.1 -p {cp} -q -o '{}'", s(&out));
    let o = Command::new("sh").args(["-c", &script]).env("BIN", env!("CARGO_BIN_EXE_redis-tls-scan")).output().unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("scan.jsonl"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing left: no empty journal, no directory");
    let o = run(&["scan", "--resume", &s(&out), "-q"]);
    assert_eq!(code(&o), 2);
    let o = run(&["scan", "127.0.0.1", "-p", &cp, "-q", "-o", &s(&out)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // What an older version left (a 0-byte journal) does not block a re-run either.
    let old = d.join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(old.join("scan.jsonl"), "").unwrap();
    let o = run(&["scan", "--resume", &s(&old), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("the scan never started"), "{}", stderr(&o));
    assert!(!old.join("scan.jsonl").exists(), "removed: a retried pod that looks for it starts over");
    let o = run(&["scan", "127.0.0.1", "-p", &cp, "-q", "-o", &s(&old)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn local_text_is_neutralised_like_remote_text() {
    let (dir, cp) = scratch();
    let d = dir.path();
    let out = d.join("out");
    let targets = write(d, "t.txt", "127.0.0.1\n127.0.0.2\u{1b}]0;pwned\u{7}\n");
    let named = d.join("\u{1b}]0;pwned\u{7}.txt");
    for args in [
        vec!["scan".to_string(), "-f".into(), s(&targets)],
        vec!["scan".to_string(), "-f".into(), s(&named)],
        vec!["scan".to_string(), "127.0.0.1".into(), "--sni".into(), "\u{1b}]0;pwned\u{7}".into()],
        vec!["scan".to_string(), "127.0.0.1\u{1b}[2J".into()],
    ] {
        let mut full = args.clone();
        full.extend(["-p".into(), cp.clone(), "-q".into(), "-o".into(), s(&out)]);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let o = run(&refs);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{args:?}: {err}");
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{args:?}: raw control characters in {err:?}");
        assert!(err.contains("\\u{1b}"), "{args:?}: {err}");
        assert!(!out.exists());
    }
    // Local text that is valid (a file name, an output directory) reaches no report or terminal raw.
    let evil = "x\u{1b}]0;pwned\u{7}";
    let targets = write(d, &format!("{evil}.txt"), "127.0.0.1\n");
    let out = d.join(evil);
    let o = run(&["scan", "-f", &s(&targets), "-p", &cp, "--include-closed", "-o", &s(&out)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    for (name, text) in ["summary.txt", "summary.md", "report.html", "endpoints.csv", "findings.csv"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(out.join(f)).unwrap()))
        .chain([("terminal".to_string(), stdout + &stderr(&o))])
    {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{name}: raw control characters");
    }
}

#[test]
fn prometheus_file_holds_one_series_per_endpoint_and_passes_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let (prom, out) = (dir.path().join("redis.prom"), dir.path().join("out"));
    // One host given twice, by name and by address.
    let (by_name, by_address) = (format!("localhost:{}", server.port), format!("127.0.0.1:{}", server.port));
    let o = run(&["scan", &by_name, &by_address, "-q", "-o", &s(&out), "--prometheus", &s(&prom)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&prom).unwrap();
    promtool_check(&text);
    let mut series = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, _) = line.rsplit_once(' ').unwrap();
        assert!(series.insert(name.to_string()), "duplicate series {name} in\n{text}");
    }
    // One series for the endpoint, whichever of its names it carries.
    let ep = format!("address=\"127.0.0.1\",port=\"{}\"", server.port);
    let plaintext: Vec<_> =
        series.iter().filter(|s| s.starts_with(&format!("redis_tls_scan_plaintext_enabled{{{ep}"))).collect();
    assert_eq!(plaintext.len(), 1, "{text}");
}
