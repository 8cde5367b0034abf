//! Prometheus conventions and the `serve` exporter: expositions checked by the real `promtool`, `/probe`
//! and `/metrics` against real TLS Redis on loopback, the allow-list proven by a listener's accept count,
//! the shipped alert rules under `promtool test rules`, and a real Prometheus scraping the exporter.

use redis_tls_scan::report::prometheus::exposition;

use crate::reports::full_record;
use crate::support::promtool_check;

#[test]
fn one_record_exposition_is_promtool_clean_with_every_chain_certificate_and_hostile_labels() {
    let mut r = full_record();
    let cert = r.certificate.as_mut().unwrap();
    // A hostile CN (quote, backslash, newline) and the same certificate sent twice.
    cert.chain[0].subject_cn = Some("evil\"\\\nname".into());
    let twice = cert.chain[0].clone();
    cert.chain.push(twice);
    let text = exposition(&r);
    promtool_check(&text);
    let expiry: Vec<_> =
        text.lines().filter(|l| l.starts_with("redis_tls_scan_cert_not_after_timestamp_seconds{")).collect();
    assert_eq!(expiry.len(), 2, "{text}");
    assert!(
        expiry[0].contains(r#"name="redis.test",position="0",cn="evil\"\\\nname",issuer_cn="CA",serial_no="01:02"}"#),
        "{text}"
    );
    assert!(text.contains(
        "redis_tls_scan_tls_version_info{address=\"127.0.0.1\",port=\"6380\",name=\"redis.test\",version=\"TLS 1.3\"} 1"
    ));
    assert!(text.contains("redis_tls_scan_probe_success{address=\"127.0.0.1\",port=\"6380\",name=\"redis.test\"} 1"));
    // HELP and TYPE once per family, every sample line unique.
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        assert!(seen.insert(line), "repeated line {line}\n{text}");
    }
}

use std::time::{Duration, Instant};

use crate::support::{Pki, RedisConf, TlsFiles, closed_port, http_body, http_raw, redis, serve, tarpit};

/// `GET path` on the exporter; (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let answer = http_raw(port, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let (status, body) = http_body(&answer);
    (status, body.to_string())
}

/// The value of the one sample line starting with `series` (labels up to where `series` stops).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit_once(' ')).and_then(|(_, v)| v.parse().ok())
}

/// A module file trusting the test CA.
fn modules_file(dir: &std::path::Path, pki: &Pki, extra: &str) -> std::path::PathBuf {
    let path = dir.join("modules.toml");
    let text = format!(
        "[modules.internal]\ncipher_scan = \"quick\"\nca_file = [\"{}\"]\ntimeout = \"20s\"\n{extra}",
        pki.ca_file.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn tls_redis(dir: &std::path::Path, files: TlsFiles) -> crate::support::Peer {
    redis(dir, RedisConf { tls: Some(files), ..Default::default() })
}

#[test]
fn serve_probes_real_tls_redis_and_every_answer_passes_promtool() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = tls_redis(dir.path(), pki.server("srv", 20));
    let config = modules_file(dir.path(), &pki, "");
    let exporter = serve(&["--allow", "127.0.0.1/32", "--allow", "localhost", "--config", config.to_str().unwrap()]);

    // The module trusting the private CA: a trusted chain, every certificate's expiry.
    let (status, body) = get(exporter.port, &format!("/probe?target=127.0.0.1:{}&module=internal", server.port));
    assert_eq!(status, 200, "{body}");
    promtool_check(&body);
    let ep = format!("{{address=\"127.0.0.1\",port=\"{}\"", server.port);
    assert_eq!(value(&body, &format!("redis_tls_scan_probe_success{ep}}}")), Some(1.0), "{body}");
    assert_eq!(value(&body, &format!("redis_tls_scan_cert_trusted{ep}}}")), Some(1.0), "{body}");
    assert_eq!(value(&body, &format!("redis_tls_scan_tls_version_info{ep},version=\"TLS 1.3\"}}")), Some(1.0));
    let chain = body.lines().filter(|l| l.starts_with("redis_tls_scan_cert_not_after_timestamp_seconds{")).count();
    assert!(chain >= 1, "{body}");
    // The quick depth: versions tested, suites not enumerated.
    assert!(body.contains("version=\"TLS 1.0\"} 0"), "{body}");

    // The default module (quick, system roots): the private CA is unknown there.
    let (status, body) = get(exporter.port, &format!("/probe?target=127.0.0.1%3A{}", server.port));
    assert_eq!(status, 200, "{body}");
    promtool_check(&body);
    assert_eq!(value(&body, &format!("redis_tls_scan_cert_trusted{ep}}}")), Some(0.0), "{body}");

    // A name allowed by name: the name label; the same series otherwise.
    let (status, body) = get(exporter.port, &format!("/probe?target=localhost:{}&module=internal", server.port));
    assert_eq!(status, 200, "{body}");
    promtool_check(&body);
    assert!(body.contains(&format!("redis_tls_scan_probe_success{ep},name=\"localhost\"}} 1")), "{body}");

    // A closed port is a result, not an error.
    let (status, body) = get(exporter.port, &format!("/probe?target=127.0.0.1:{}", closed_port()));
    assert_eq!(status, 200, "{body}");
    promtool_check(&body);
    assert!(body.contains("redis_tls_scan_probe_success{") && body.contains("} 0\n"), "{body}");

    // The exporter's own metrics.
    let (status, metrics) = get(exporter.port, "/metrics");
    assert_eq!(status, 200);
    promtool_check(&metrics);
    assert_eq!(
        value(&metrics, "redis_tls_scan_exporter_probes_total{module=\"internal\",result=\"success\"}"),
        Some(2.0)
    );
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_probes_total{module=\"quick\",result=\"failure\"}"), Some(1.0));
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_probe_duration_seconds_count{module=\"internal\"}"), Some(2.0));
}

#[test]
fn a_target_outside_the_allow_list_is_refused_with_zero_connections() {
    // A listener the exporter must never reach: 127.0.0.2 while only 127.0.0.1/32 is allowed.
    let forbidden = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let port = forbidden.local_addr().unwrap().port();
    let exporter = serve(&["--allow", "127.0.0.1/32"]);
    for target in [
        format!("127.0.0.2:{port}"),
        format!("%5B%3A%3Affff%3A127.0.0.2%5D%3A{port}"),
        format!("[::ffff:7f00:2]:{port}"),
    ] {
        let (status, body) = get(exporter.port, &format!("/probe?target={target}"));
        assert_eq!(status, 400, "{target}: {body}");
        assert!(body.contains("not in an --allow network"), "{body}");
    }
    // Hostile requests: refused, never probed.
    for (path, want) in [
        ("/probe", 400),
        ("/probe?target=127.0.0.1:1&target=127.0.0.2:1", 400),
        ("/probe?target=127.0.0.1:1&module=nope", 400),
        ("/probe?target=127.0.0.1", 400),
        ("/nothing", 404),
    ] {
        assert_eq!(get(exporter.port, path).0, want, "{path}");
    }
    let big = format!("GET /probe?target={} HTTP/1.1\r\n\r\n", "a".repeat(9000));
    assert_eq!(http_body(&http_raw(exporter.port, big.as_bytes())).0, 400);
    assert_eq!(http_body(&http_raw(exporter.port, b"DELETE / HTTP/1.1\r\n\r\n")).0, 405);
    // Every answer is in: a connection the exporter made would be waiting in the accept queue.
    match forbidden.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the forbidden listener saw a connection: {other:?}"),
    }
    let (_, metrics) = get(exporter.port, "/metrics");
    promtool_check(&metrics);
    assert_eq!(
        value(&metrics, "redis_tls_scan_exporter_refused_total{reason=\"not_allowed\"}"),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_refused_total{reason=\"unknown_module\"}"), Some(1.0));
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_probes_total{module=\"quick\",result=\"success\"}"), Some(0.0));
}

/// Polls `/metrics` until probes are in flight (deadline 10 s).
fn wait_in_flight(port: u16, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while value(&get(port, "/metrics").1, "redis_tls_scan_exporter_requests_in_flight") != Some(n) {
        assert!(Instant::now() < deadline, "no probe in flight");
        std::thread::yield_now();
    }
}

#[test]
fn the_scrape_timeout_bounds_the_probe_and_the_cap_answers_503() {
    let (pit, _held) = tarpit();
    let exporter = serve(&["--allow", "127.0.0.1/32", "--max-concurrent", "1"]);
    let port = exporter.port;
    // A probe held by the tarpit for its whole deadline: the scrape's 2.5 s less the margin, not 30 s.
    let slow = std::thread::spawn(move || {
        let t = Instant::now();
        let raw =
            format!("GET /probe?target=127.0.0.1:{pit} HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 2.5\r\n\r\n");
        let answer = http_raw(port, raw.as_bytes());
        (t.elapsed(), answer)
    });
    wait_in_flight(port, 1.0);
    // The one slot is taken: the next probe waits a moment, then 503.
    let (status, _) = get(port, &format!("/probe?target=127.0.0.1:{pit}"));
    assert_eq!(status, 503);
    let (took, answer) = slow.join().unwrap();
    let (status, body) = http_body(&answer);
    assert_eq!(status, 200, "{answer}");
    promtool_check(body);
    assert!(took < Duration::from_millis(3500), "{took:?}");
    assert!(body.contains("redis_tls_scan_probe_success{") && body.contains("} 0\n"), "{body}");
    let (_, metrics) = get(port, "/metrics");
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_refused_total{reason=\"busy\"}"), Some(1.0));
}

#[test]
fn sigterm_finishes_the_probe_in_flight_then_exits_0() {
    let (pit, _held) = tarpit();
    let mut exporter = serve(&["--allow", "127.0.0.1/32"]);
    let port = exporter.port;
    let probe = std::thread::spawn(move || {
        let raw =
            format!("GET /probe?target=127.0.0.1:{pit} HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 2\r\n\r\n");
        http_raw(port, raw.as_bytes())
    });
    wait_in_flight(port, 1.0);
    let pid = exporter.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // The probe in flight is answered...
    let answer = probe.join().unwrap();
    assert_eq!(http_body(&answer).0, 200, "{answer}");
    // ...and the exporter exits 0, no longer listening.
    let status = exporter.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// deploy/prometheus/, the shipped files.
fn shipped() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus")
}

/// Runs promtool with `args` in `dir`; panics with its output on failure.
fn promtool(dir: &std::path::Path, args: &[&str]) {
    crate::support::require("promtool");
    let o = std::process::Command::new("promtool").args(args).current_dir(dir).output().unwrap();
    assert!(
        o.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn shipped_scrape_config_and_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = shipped();
    promtool(&dir, &["check", "config", "prometheus.yml"]);
    promtool(&dir, &["check", "rules", "alerts.yml"]);
    let mut tests: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    tests.sort();
    assert!(!tests.is_empty());
    for t in &tests {
        promtool(&dir, &["test", "rules", t.to_str().unwrap()]);
    }
    // Every alert of the file has a unit test.
    let rules = std::fs::read_to_string(dir.join("alerts.yml")).unwrap();
    let tested: String = tests.iter().map(|t| std::fs::read_to_string(t).unwrap()).collect();
    for name in rules.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(tested.contains(&format!("alertname: {name}")), "alert {name} has no promtool test");
    }
    // The example module file is what serve --config reads.
    let sockets = redis_tls_scan::probe::Sockets::new(16);
    let modules = redis_tls_scan::serve::modules::load(Some(&dir.join("modules.example.toml")), &sockets).unwrap();
    assert_eq!(modules.keys().collect::<Vec<_>>(), ["audit", "full", "internal", "quick"]);
}

/// Percent-encodes a PromQL query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Instant query through Prometheus's HTTP API: the result vector.
fn query(port: u16, q: &str) -> Vec<serde_json::Value> {
    let answer = crate::support::http_get(port, &format!("/api/v1/query?query={}", encode(q)));
    let (_, body) = http_body(&answer);
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The one sample value of `q` once it satisfies `want` (polled, deadline 60 s: scrapes and rule
/// evaluations come in at their own pace).
fn eventually(port: u16, q: &str, want: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = query(port, q);
        let v = r.first().and_then(|s| s["value"][1].as_str()).and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = v.filter(|v| want(*v)) {
            assert_eq!(r.len(), 1, "{q}: {r:?}");
            return v;
        }
        assert!(Instant::now() < deadline, "{q}: {r:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_real_prometheus_scrapes_serve_and_the_textfile_with_the_shipped_config() {
    crate::support::require("prometheus");
    crate::support::require("prometheus-node-exporter");
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let tls = tls_redis(dir.path(), pki.server("srv", 20));
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let config = modules_file(dir.path(), &pki, "");
    let exporter = serve(&["--allow", "127.0.0.1/32", "--config", config.to_str().unwrap()]);

    // A sweep's textfile, read by a real node_exporter.
    let textfiles = dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let prom = textfiles.join("redis_tls_scan.prom");
    let o = crate::support::run(&[
        "scan",
        &format!("127.0.0.1:{}", plain.port),
        "-q",
        "-o",
        dir.path().join("out").to_str().unwrap(),
        "--prometheus",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(crate::support::code(&o), 0, "{}", crate::support::stderr(&o));
    let node = (0..5)
        .find_map(|_| {
            let port = crate::support::free_port();
            let mut cmd = std::process::Command::new("prometheus-node-exporter");
            cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!("--collector.textfile.directory={}", textfiles.display()));
            crate::support::spawn_ready(cmd, "Listening on").map(|c| crate::support::Peer::from_child(c, port))
        })
        .expect("node_exporter");

    // The shipped config, rewritten only for ports, targets, module and intervals.
    let shipped_dir = shipped();
    let text = std::fs::read_to_string(shipped_dir.join("prometheus.yml")).unwrap();
    let text = text
        .replace("scrape_interval: 1m", "scrape_interval: 2s")
        .replace("scrape_timeout: 30s", "scrape_timeout: 2s")
        .replace("evaluation_interval: 1m", "evaluation_interval: 1s")
        .replace("module: [quick]", "module: [internal]")
        .replace("redis-a.example.internal:6380", &format!("127.0.0.1:{}", tls.port))
        .replace("10.20.0.12:6380", &format!("127.0.0.1:{}", plain.port))
        .replace("127.0.0.1:9739", &format!("127.0.0.1:{}", exporter.port))
        .replace("127.0.0.1:9100", &format!("127.0.0.1:{}", node.port));
    let work = dir.path().join("prometheus");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("prometheus.yml"), text).unwrap();
    std::fs::copy(shipped_dir.join("alerts.yml"), work.join("alerts.yml")).unwrap();
    let prometheus = (0..5)
        .find_map(|_| {
            let port = crate::support::free_port();
            let mut cmd = std::process::Command::new("prometheus");
            cmd.arg(format!("--config.file={}", work.join("prometheus.yml").display()))
                .arg(format!("--storage.tsdb.path={}", work.join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            crate::support::spawn_ready(cmd, "Server is ready to receive web requests")
                .map(|c| crate::support::Peer::from_child(c, port))
        })
        .expect("prometheus");
    let p = prometheus.port;

    // Through the exporter: one target per Redis endpoint, labelled by instance.
    let (t, u) = (format!("127.0.0.1:{}", tls.port), format!("127.0.0.1:{}", plain.port));
    eventually(p, &format!("up{{job=\"redis_tls\",instance=\"{t}\"}}"), |v| v == 1.0);
    eventually(p, &format!("redis_tls_scan_probe_success{{job=\"redis_tls\",instance=\"{t}\"}}"), |v| v == 1.0);
    eventually(p, &format!("redis_tls_scan_cert_trusted{{job=\"redis_tls\",instance=\"{t}\"}}"), |v| v == 1.0);
    let expiry = eventually(
        p,
        &format!(
            "redis_tls_scan_cert_not_after_timestamp_seconds{{job=\"redis_tls\",instance=\"{t}\",position=\"0\",cn=\"srv\"}} - time()"
        ),
        |_| true,
    );
    assert!((19.0 * 86400.0..=20.0 * 86400.0).contains(&expiry), "{expiry}");
    eventually(
        p,
        &format!("redis_tls_scan_tls_version_info{{job=\"redis_tls\",instance=\"{t}\",version=\"TLS 1.3\"}}"),
        |v| v == 1.0,
    );
    eventually(p, &format!("redis_tls_scan_plaintext_enabled{{job=\"redis_tls\",instance=\"{u}\"}}"), |v| v == 1.0);
    // The exporter's own metrics.
    eventually(
        p,
        "sum(redis_tls_scan_exporter_probes_total{job=\"redis_tls_exporter\",module=\"internal\",result=\"success\"})",
        |v| v >= 1.0,
    );
    // The textfile through node_exporter: the same series.
    eventually(
        p,
        &format!("redis_tls_scan_plaintext_enabled{{job=\"node\",address=\"127.0.0.1\",port=\"{}\"}}", plain.port),
        |v| v == 1.0,
    );
    // The passwordless plaintext Redis fires through the exporter and through the textfile (the TLS one
    // requires a client certificate), and the 20-day certificate its 30-day alert.
    let firing = |name: &str| format!("count(ALERTS{{alertname=\"{name}\",alertstate=\"firing\"}})");
    eventually(p, &firing("RedisUnauthenticated"), |v| v == 2.0);
    eventually(p, &firing("RedisTLSCertificateExpiringIn30Days"), |v| v == 1.0);
}

#[test]
fn a_slow_client_is_cut_at_the_head_deadline_while_others_are_served() {
    use std::io::{Read, Write};
    let exporter = serve(&["--allow", "127.0.0.1/32"]);
    // Half a request head, then silence.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", exporter.port)).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    // Others are answered meanwhile.
    assert_eq!(get(exporter.port, "/metrics").0, 200);
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let took = t.elapsed();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(took >= Duration::from_secs(4) && took < Duration::from_secs(8), "{took:?}");
    let (_, metrics) = get(exporter.port, "/metrics");
    assert_eq!(value(&metrics, "redis_tls_scan_exporter_http_errors_total"), Some(1.0), "{metrics}");
}

#[test]
fn bad_serve_setup_exits_2_naming_the_file_and_line_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modules.toml");
    std::fs::write(&config, "[modules.a]\ncipher_scan = \"deep\"\n").unwrap();
    let port = crate::support::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let o = crate::support::run(&[
        "serve",
        "--listen",
        &listen,
        "--allow",
        "127.0.0.1/32",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(crate::support::code(&o), 2);
    let err = crate::support::stderr(&o);
    assert!(err.contains(&format!("{}:2", config.display())), "{err}");
    let o = crate::support::run(&["serve", "--listen", &listen, "--allow", "not a network!"]);
    assert_eq!(crate::support::code(&o), 2);
    assert!(crate::support::stderr(&o).contains("--allow 'not a network!'"), "{}", crate::support::stderr(&o));
    // --allow is required: no exporter that probes anything by default.
    let o = crate::support::run(&["serve", "--listen", &listen]);
    assert_eq!(crate::support::code(&o), 2);
}

#[test]
fn the_exporter_unit_verifies_and_its_command_serves_then_stops_on_sigterm() {
    crate::support::require("systemd-analyze");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let unit = std::fs::read_to_string(root.join("redis-tls-scan-exporter.service")).unwrap();
    let bin = env!("CARGO_BIN_EXE_redis-tls-scan");
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("redis-tls-scan-exporter.service");
    std::fs::write(&path, unit.replace("/usr/bin/redis-tls-scan", bin)).unwrap();
    let check = |args: &[&str]| {
        let o = std::process::Command::new("systemd-analyze").args(args).arg(&path).output().unwrap();
        assert!(
            o.status.success(),
            "systemd-analyze {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    check(&["verify", "--man=no"]);
    check(&["security", "--offline=true", "--threshold=20"]);
    for hardening in ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
        assert!(unit.lines().any(|l| l == hardening), "{hardening}");
    }

    // ExecStart as systemd runs it: the example environment file's arguments, rewritten only for the
    // allowed network (loopback) and the port.
    let env = std::fs::read_to_string(root.join("exporter.example.env")).unwrap();
    let args = env
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_TLS_SCAN_SERVE_ARGS="))
        .unwrap()
        .replace("10.20.0.0/16", "127.0.0.1/32");
    let dir = tempfile::tempdir().unwrap();
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let mut exporter = None;
    for _ in 0..5 {
        let port = crate::support::free_port();
        let line = exec
            .replace("/usr/bin/redis-tls-scan", bin)
            .replace("127.0.0.1:9739", &format!("127.0.0.1:{port}"))
            .replace("$REDIS_TLS_SCAN_SERVE_ARGS", &args);
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut cmd = std::process::Command::new(words[0]);
        cmd.args(&words[1..]);
        if let Some(child) = crate::support::spawn_ready(cmd, "listening on") {
            exporter = Some(crate::support::Peer::from_child(child, port));
            break;
        }
    }
    let mut exporter = exporter.expect("the unit's command did not start");
    let (status, body) = get(exporter.port, &format!("/probe?target=127.0.0.1:{}", plain.port));
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("redis_tls_scan_plaintext_enabled{{address=\"127.0.0.1\",port=\"{}\"}} 1", plain.port)),
        "{body}"
    );
    let pid = exporter.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(exporter.wait_exit(Duration::from_secs(10)).code(), Some(0));
}
