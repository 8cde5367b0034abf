//! The binary end to end: target files, output files, exit codes, interruption, the demo.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

#[test]
fn scan_of_a_targets_file_writes_every_report_and_sets_exit_codes() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let plain = redis(
        dir.path(),
        RedisConf { plaintext: true, args: vec![("requirepass".into(), "pw".into())], ..Default::default() },
    );
    let tls = redis(
        dir.path(),
        RedisConf {
            tls: Some(pki.server("srv", 90)),
            args: vec![("tls-auth-clients".into(), "yes".into())],
            ..Default::default()
        },
    );
    let closed = closed_port();
    let targets = write(
        dir.path(),
        "targets.txt",
        &format!("# fleet\n127.0.0.1:{}\n\n127.0.0.1:{}   # TLS\n127.0.0.1:{closed}\n", plain.port, tls.port),
    );
    let out = dir.path().join("run1");
    let ca = pki.ca_file.to_str().unwrap();
    let o = run(&["scan", "-f", targets.to_str().unwrap(), "-o", out.to_str().unwrap(), "--ca-file", ca, "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "-q prints nothing");
    for f in ["scan.jsonl", "report.json", "endpoints.csv", "findings.csv", "summary.txt", "SHA256SUMS"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    check_sums(&out);
    let r = report(&out);
    assert_eq!(r["schema_version"], "2.0");
    assert_eq!(r["scan"]["counts"]["scanned"], 3);
    assert_eq!(r["scan"]["counts"]["open"], 2);
    assert_eq!(r["scan"]["counts"]["closed"], 1);
    // The TLS server requires a client certificate: TLS, but not proven Redis without one.
    assert_eq!(r["scan"]["counts"]["redis"], 1);
    assert_eq!(r["scan"]["counts"]["tls"], 1);
    assert_eq!(r["scan"]["interrupted"], false);
    assert_eq!(r["scan"]["trust"]["roots"], "none");
    assert_eq!(r["scan"]["trust"]["ca_files"][0]["path"], ca);
    assert_eq!(r["endpoints"].as_array().unwrap().len(), 2);
    assert_eq!(r["summary"]["max_severity"], "high");
    let csv = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    // plaintext_enabled, weak_cipher, and mixed_mode on both (one host, plaintext and TLS ports).
    assert_eq!(findings.lines().count(), 5, "{findings}");
    assert_eq!(findings.matches(",mixed_mode,medium,").count(), 2);
    assert!(findings.contains(",weak_cipher,low,"));
    assert!(findings.contains(",plaintext_enabled,high,"));
    // The journal: metadata first, endpoints, end line last.
    let journal = std::fs::read_to_string(out.join("scan.jsonl")).unwrap();
    let types: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].as_str().unwrap().to_string())
        .collect();
    // (a progress checkpoint closes the sweep, before the host-level pass)
    assert_eq!(types, vec!["scan", "endpoint", "endpoint", "progress", "host_finding", "host_finding", "end"]);

    // Policy: a high finding fails --fail-on high, not --fail-on critical.
    let out2 = dir.path().join("run2");
    let o = run(&[
        "scan",
        "-f",
        targets.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--ca-file",
        ca,
        "-q",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code(&o), 1);
    let out3 = dir.path().join("run3");
    let o = run(&[
        "scan",
        "-f",
        targets.to_str().unwrap(),
        "-o",
        out3.to_str().unwrap(),
        "--ca-file",
        ca,
        "--fail-on",
        "critical",
    ]);
    assert_eq!(code(&o), 0);
    // Without -q, the summary is printed; --include-closed lists the closed port.
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("3 scanned") && text.contains("plaintext_enabled"), "{text}");
    let out4 = dir.path().join("run4");
    let o = run(&[
        "scan",
        "-f",
        targets.to_str().unwrap(),
        "-o",
        out4.to_str().unwrap(),
        "--ca-file",
        ca,
        "-q",
        "--include-closed",
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(report(&out4)["endpoints"].as_array().unwrap().len(), 3);
    // An existing run directory is never overwritten.
    let o = run(&["scan", "-f", targets.to_str().unwrap(), "-o", out.to_str().unwrap(), "-q"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("scan.jsonl"), "{}", stderr(&o));
}

#[test]
fn bad_targets_are_all_reported_with_file_and_line_and_nothing_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let targets = write(dir.path(), "bad.txt", "127.0.0.1\n10.0.0.0/33\n# ok\n127.0.0.1:99999\nnot a host\n");
    let out = dir.path().join("out");
    let o = run(&["scan", "-f", targets.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    let path = targets.display();
    for line in [2, 4, 5] {
        assert!(err.contains(&format!("error: {path}:{line}: ")), "line {line} missing in:\n{err}");
    }
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(!out.exists(), "nothing written");

    let o = run(&["scan", "127.0.0.1", "-p", "6379,0", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--ports"), "{}", stderr(&o));
    let o = run(&["scan", "-f", dir.path().join("missing.txt").to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.txt: cannot read"), "{}", stderr(&o));
    let o = run(&["scan", "127.0.0.1", "--exclude", "some.host"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--exclude:1: exclusions must be IP"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn absurd_ranges_are_refused_before_any_packet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(&["scan", "::1/64", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("more than --max-endpoints 100000000"), "{}", stderr(&o));
    let o = run(&["scan", "127.0.0.0/8", "-p", "1-100", "--max-endpoints", "1000", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("1677721600 endpoints planned"), "{}", stderr(&o));
    assert!(!out.exists());
    // Everything excluded: nothing to scan.
    let o = run(&["scan", "127.0.0.1", "--exclude", "127.0.0.0/8", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nothing to scan"));
}

#[test]
fn unwritable_output_is_a_setup_error() {
    let o = run(&["scan", "127.0.0.1", "-p", &closed_port().to_string(), "-o", "/proc/no/such/dir"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/proc/no/such/dir"), "{}", stderr(&o));
}

#[test]
fn targets_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let out = dir.path().join("out");
    let mut child = bin()
        .args(["scan", "-", "-o", out.to_str().unwrap(), "-q", "--fail-on", "critical"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("# from a pipe\n127.0.0.1:{}\n", server.port).as_bytes()).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "unauthenticated access is critical");
    assert_eq!(report(&out)["endpoints"][0]["plaintext"]["status"], "pong");
}

#[test]
fn sigint_stops_cleanly_with_partial_reports() {
    // A tarpit the test owns: it tells us when the scanner has connected, then we interrupt.
    let (port, rx) = tarpit();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // 127.0.0.1-127.0.0.20 × the tarpit port: the first endpoint hangs until its deadline.
    let mut child = bin()
        .args(["scan", "127.0.0.1-127.0.0.20", "-p", &port.to_string(), "-o", out.to_str().unwrap(), "-q"])
        .args(["--read-timeout", "30s", "--endpoint-timeout", "60s", "--concurrency", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(20)).expect("scanner connected");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    let r = report(&out);
    assert_eq!(r["scan"]["interrupted"], true);
    assert_eq!(r["scan"]["endpoints_planned"], 20);
    check_sums(&out);
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = run(&["demo", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Demo endpoints on loopback"), "{text}");
    let r = report(&out);
    assert_eq!(r["scan"]["counts"]["scanned"], 5);
    assert_eq!(r["scan"]["counts"]["redis"], 4, "the mTLS endpoint cannot be PINGed without a certificate");
    let by_id = &r["summary"]["findings_by_id"];
    assert_eq!(by_id["unauthenticated_access"], 2);
    assert_eq!(by_id["plaintext_enabled"], 2);
    assert_eq!(by_id["cert_expired"], 1);
    assert_eq!(by_id["client_auth_not_required"], 2);
    let required = r["endpoints"].as_array().unwrap().iter().filter(|e| e["tls"]["client_auth"] == "required").count();
    assert_eq!(required, 1);
    check_sums(&out);
}

#[test]
fn hostname_targets_keep_their_name_for_sni_and_the_hostname_check() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), open_tls(pki.server("srv", 90)));
    let out = dir.path().join("out");
    // `localhost` comes from /etc/hosts: no DNS query leaves the machine.
    let target = format!("localhost:{}", server.port);
    let o = run(&["scan", &target, "-o", out.to_str().unwrap(), "-q", "--ca-file", pki.ca_file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&out);
    let e = r["endpoints"].as_array().unwrap().iter().find(|e| e["address"] == "127.0.0.1").unwrap();
    assert_eq!(e["name"], "localhost");
    assert_eq!(e["certificate"]["checked_identity"], "localhost");
    assert_eq!(e["certificate"]["hostname_match"], false, "the certificate names 127.0.0.1 and redis.test");
    assert!(e["findings"].as_array().unwrap().iter().any(|f| f["id"] == "cert_hostname_mismatch"));
    // --sni overrides the name.
    let out2 = dir.path().join("out2");
    let o = run(&[
        "scan",
        &target,
        "-o",
        out2.to_str().unwrap(),
        "-q",
        "--ca-file",
        pki.ca_file.to_str().unwrap(),
        "--sni",
        "redis.test",
    ]);
    assert_eq!(code(&o), 0);
    let r = report(&out2);
    let e = r["endpoints"].as_array().unwrap().iter().find(|e| e["address"] == "127.0.0.1").unwrap();
    assert_eq!(e["certificate"]["hostname_match"], true);
}

#[test]
fn ipv6_loopback_target() {
    let dir = tempfile::tempdir().unwrap();
    let server = redis(
        dir.path(),
        RedisConf { plaintext: true, args: vec![("bind".into(), "::1".into())], ..Default::default() },
    );
    let out = dir.path().join("out");
    let target = format!("[::1]:{}", server.port);
    let o = run(&["scan", &target, "-o", out.to_str().unwrap(), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&out);
    assert_eq!(r["endpoints"][0]["address"], "::1");
    assert_eq!(r["endpoints"][0]["plaintext"]["status"], "pong");
}

#[test]
fn scans_started_together_without_o_each_get_their_own_directory() {
    // Run directories are named by the start second: scans started at once (a timer and a person, a
    // retry) must not collide and be refused; the later ones take `-02`, `-03`... of the same second.
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port().to_string();
    let scans: Vec<std::process::Child> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
                .args(["scan", "127.0.0.1", "-p", &port, "--include-closed", "-q"])
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for scan in scans {
        let o = scan.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let mut runs: Vec<String> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for run in &runs {
        assert!(dir.path().join("reports").join(run).join("SHA256SUMS").is_file(), "{run}");
    }
    // A run of an already taken second is `<that second>-NN`, after the second's own directory.
    for run in runs.iter().filter(|r| r.len() != "20261202T040700Z".len()) {
        let (stamp, n) = run.split_at("20261202T040700Z".len());
        assert!(n.len() == 3 && n.starts_with('-') && n[1..].bytes().all(|b| b.is_ascii_digit()), "{runs:?}");
        assert!(runs.iter().any(|r| r == stamp), "{runs:?}");
    }
}

#[test]
fn concurrency_is_clamped_to_the_open_file_limit_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "ulimit -n 100 && exec '{}' scan 127.0.0.1 -p {} --concurrency 5000 -q -o '{}'",
        env!("CARGO_BIN_EXE_redis-tls-scan"),
        closed_port(),
        out.display()
    );
    let o = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // 100 less 64 reserved and whatever the test harness left open to the child: up to 36 sockets, at most
    // 5 per endpoint at once (the raw probe's five versions).
    let err = stderr(&o);
    let head = "--concurrency 5000 exceeds the open-file limit (100): ";
    let at = err.find(head).unwrap_or_else(|| panic!("{err}")) + head.len();
    let sockets: usize = err[at..].split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{err}"));
    assert!((30..=36).contains(&sockets), "{err}");
    let usable = sockets / 5;
    let tail = format!("{sockets} socket(s) for probes, up to 5 per endpoint at once; using {usable} (raise it");
    assert!(err.contains(&tail), "{err}");
    assert_eq!(report(&out)["scan"]["concurrency"], usable);
}

#[test]
fn prometheus_textfile() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), open_tls(pki.server("srv", 20)));
    let prom = dir.path().join("redis_tls.prom");
    let out = dir.path().join("out");
    let o = run(&[
        "scan",
        &format!("127.0.0.1:{}", server.port),
        "-q",
        "--ca-file",
        pki.ca_file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--prometheus",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&prom).unwrap();
    // Base units, valid exposition format: what node_exporter's textfile collector takes.
    promtool_check(&text);
    // Every line is a comment or `name{labels} value` (exposition format).
    let sample = regex_lite(&text);
    let ep = format!("address=\"127.0.0.1\",port=\"{}\"", server.port);
    assert_eq!(sample(&format!("redis_tls_scan_tls_version_accepted{{{ep},version=\"TLS 1.3\"}}")), Some(1.0));
    assert_eq!(sample(&format!("redis_tls_scan_tls_version_accepted{{{ep},version=\"TLS 1.0\"}}")), Some(0.0));
    assert_eq!(sample(&format!("redis_tls_scan_plaintext_enabled{{{ep}}}")), Some(0.0));
    let left = sample(&format!("redis_tls_scan_cert_remaining_seconds{{{ep}}}")).unwrap();
    assert!((19.0 * 86400.0..=20.0 * 86400.0).contains(&left), "{left}");
    assert_eq!(sample(&format!("redis_tls_scan_findings{{{ep},severity=\"critical\"}}")), Some(1.0));
    assert_eq!(sample("redis_tls_scan_endpoints_scanned"), Some(1.0));
    assert!(text.contains("# TYPE redis_tls_scan_cert_remaining_seconds gauge"));
    // Conventions shared with blackbox_exporter and ssl_exporter: probe_success, _info gauges, and each
    // certificate's expiry as a timestamp with its identity labels.
    assert_eq!(sample(&format!("redis_tls_scan_probe_success{{{ep}}}")), Some(1.0));
    assert_eq!(sample(&format!("redis_tls_scan_tls_version_info{{{ep},version=\"TLS 1.3\"}}")), Some(1.0));
    assert!(text.contains(&format!("redis_tls_scan_tls_cipher_info{{{ep},cipher=\"TLS_AES_")), "{text}");
    let leaf = format!(
        "redis_tls_scan_cert_not_after_timestamp_seconds{{{ep},position=\"0\",cn=\"srv\",issuer_cn=\"redis-tls-scan test CA\",serial_no=\""
    );
    let expiry: f64 =
        text.lines().find_map(|l| l.strip_prefix(&leaf)).and_then(|l| l.rsplit_once(' ')).unwrap().1.parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((19.0 * 86400.0..=20.1 * 86400.0).contains(&(expiry - now)), "{text}");
    assert!(text.contains(&format!(
        "redis_tls_scan_finding_raised{{{ep},id=\"unauthenticated_access\",severity=\"critical\"}} 1"
    )));
    // Unwritable location: refused before scanning.
    let o = run(&["scan", "127.0.0.1", "-p", &closed_port().to_string(), "--prometheus", "/no/such/dir/x.prom"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/no/such/dir/x.prom"));
}

/// Parses the exposition text strictly enough for the test; returns a lookup by series.
fn regex_lite(text: &str) -> impl Fn(&str) -> Option<f64> + '_ {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("series value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        assert!(!series.contains('{') || series.ends_with('}'), "{line}");
    }
    move |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.parse().ok()))
    }
}

#[test]
fn single_host_spot_check_prints_a_verdict_with_fixes_and_no_colour_when_piped() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), open_tls(pki.server("srv", 20)));
    let out = dir.path().join("out");
    let target = format!("127.0.0.1:{}", server.port);
    let o = run(&["scan", &target, "--ca-file", pki.ca_file.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no escape sequences into a pipe");
    assert!(text.contains(&format!("\n{target}\n")), "{text}");
    assert!(text.contains("  TLS             TLS 1.3 (3 suites), TLS 1.2 ("), "{text}");
    assert!(text.contains("[critical] unauthenticated_access"), "{text}");
    assert!(text.contains("      fix:  tls-auth-clients yes"), "{text}");
    assert!(text.contains("[medium] cert_expiring_soon"), "{text}");
    // --warn-days moves the threshold.
    let out2 = dir.path().join("out2");
    let o = run(&[
        "scan",
        &target,
        "--ca-file",
        pki.ca_file.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--warn-days",
        "5",
    ]);
    assert!(!String::from_utf8(o.stdout).unwrap().contains("cert_expiring_soon"));
}

#[test]
fn bad_local_input_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad_line = write(d, "bad-line.txt", "127.0.0.1\n10.0.0.0/40\n");
    let binary = d.join("binary.txt");
    std::fs::write(&binary, b"\xff\xfe\x00\x01garbage").unwrap();
    let not_journal = d.join("not-a-scan");
    std::fs::create_dir(&not_journal).unwrap();
    std::fs::write(not_journal.join("scan.jsonl"), b"{\"hello\":1}\n").unwrap();
    let bad_ca = write(d, "ca.pem", "not a certificate\n");
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let p = |path: &Path| path.to_str().unwrap().to_string();
    // (arguments, what the one-line error must name)
    let cases: Vec<(Vec<String>, String)> = vec![
        (vec!["-f".into(), p(&bad_line)], format!("{}:2: prefix length /40", p(&bad_line))),
        (vec!["-f".into(), p(&binary)], format!("{}:1: not UTF-8 text", p(&binary))),
        (vec!["-f".into(), p(&d.join("missing.txt"))], "missing.txt: cannot read".into()),
        (vec!["-f".into(), p(d)], format!("{}:1: read error: Is a directory", p(d))),
        (vec!["127.0.0.1".into(), "-p".into(), "0".into()], "--ports: port '0' out of range".into()),
        (
            vec!["127.0.0.1".into(), "-p".into(), "10-5".into()],
            "--ports: port range '10-5' ends before it starts".into(),
        ),
        (vec!["127.0.0.1".into(), "-p".into(), "6379,x".into()], "--ports: bad port 'x'".into()),
        (vec!["127.0.0.1".into(), "--ca-file".into(), p(&bad_ca)], format!("{}: ", p(&bad_ca))),
        (vec!["--resume".into(), p(&not_journal)], "not a journal line of this tool".into()),
        (vec!["127.0.0.1".into(), "--shard".into(), "3/3".into()], "shard '3/3'".into()),
        (
            vec!["127.0.0.1".into(), "--endpoint-timeout".into(), "0s".into()],
            "--endpoint-timeout must be more than 0".into(),
        ),
        // Unbounded local input ends at its cap with file and line; outputs are checked before any packet.
        (vec!["-f".into(), "/dev/zero".into()], "/dev/zero:1: line longer than 4096 bytes".into()),
        (vec!["127.0.0.1".into(), "--ca-file".into(), "/dev/zero".into()], "/dev/zero: larger than 16 MiB".into()),
        (vec!["127.0.0.1".into(), "--prometheus".into(), p(d)], format!("{}: --prometheus: is a directory", p(d))),
        (vec!["127.0.0.1".into(), "--sni".into(), "a\u{1b}]0;x\u{7}".into()], "--sni: 'a\\u{1b}]0;x\\u{7}'".into()),
        (vec!["--resume".into(), p(&d.join("missing"))], "missing: No such file".into()),
    ];
    for (args, needle) in cases {
        let mut full = vec!["scan".to_string()];
        full.extend(args.clone());
        if !args.contains(&"--resume".to_string()) {
            full.extend(["-o".to_string(), o.to_string()]);
        }
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let res = run(&refs);
        let err = stderr(&res);
        assert_eq!(code(&res), 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line expected:\n{err}");
        assert!(err.starts_with("error: ") && err.contains(&needle), "{args:?}: '{needle}' not in {err}");
        assert!(!out.exists(), "{args:?}: something was written");
    }
    // An unwritable output directory: named, exit 2, nothing scanned.
    let res = run(&["scan", "127.0.0.1", "-p", &closed_port().to_string(), "-o", "/proc/1/nope"]);
    assert_eq!(code(&res), 2);
    assert!(stderr(&res).contains("/proc/1/nope"));
}

/// `| head` closes stdout early: every command ends by the contract, never with a panic (exit 101).
#[test]
fn a_closed_stdout_is_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port().to_string();
    let out = dir.path().join("scan");
    let report = dir.path().join("demo");
    let merged = dir.path().join("merged");
    for args in [
        vec!["demo", "-o", report.to_str().unwrap()],
        vec!["scan", &format!("127.0.0.1:{closed}"), "--include-closed", "--shard", "0/1", "-o", out.to_str().unwrap()],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["diff", report.to_str().unwrap(), report.to_str().unwrap()],
        vec!["merge", out.to_str().unwrap(), "-o", merged.to_str().unwrap()],
        vec!["scan", &format!("127.0.0.1:{closed}"), "--include-closed", "--format", "json", "-o", "none"],
        vec!["scan", &format!("127.0.0.1:{closed}"), "--include-closed", "--format", "jsonl", "-o", "none"],
    ] {
        let mut child = bin().args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        // Read one byte, then close the pipe, as `head -c 1` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        let _ = stdout.read(&mut one);
        drop(stdout);
        let status = child.wait().unwrap();
        // 130: a stream whose reader left mid-scan (resumable); never 101 (a panic) or 2.
        assert!(matches!(status.code(), Some(0 | 1 | 130)), "{args:?}: {status:?}");
    }
}
