//! Outlets beyond the run directory: the Pushgateway push of a sweep's metrics, against a real
//! `prometheus-pushgateway` (Debian's) on loopback, read back through its HTTP API.

use crate::support::*;

#[test]
fn a_sweep_pushes_its_metrics_to_a_real_pushgateway_per_shard() {
    let gw = pushgateway();
    let dir = tempfile::tempdir().unwrap();
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let url = format!("http://127.0.0.1:{}", gw.port);
    let target = format!("127.0.0.1:{}", plain.port);
    let prom = dir.path().join("metrics.prom");
    let out = dir.path().join("run");
    let o = bin()
        .args(["scan", &target, "-q", "--push-gateway", &url, "--push-job", "nightly", "--shard", "0/1"])
        .arg("--prometheus")
        .arg(&prom)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let metrics = http_get(gw.port, "/metrics");
    let line = metrics
        .lines()
        .find(|l| l.starts_with("redis_tls_scan_plaintext_enabled{") && l.contains(&format!("port=\"{}\"", plain.port)))
        .unwrap_or_else(|| panic!("series not pushed:\n{metrics}"));
    assert!(line.contains("job=\"nightly\"") && line.contains("shard=\"0_of_1\""), "{line}");
    assert!(line.ends_with(" 1"), "{line}");

    // An unreachable gateway: the reports are written, the run says so with exit 2.
    let out2 = dir.path().join("run2");
    let o = bin()
        .args(["scan", &target, "-q", "--push-gateway", &format!("http://127.0.0.1:{}", closed_port())])
        .arg("--prometheus")
        .arg(dir.path().join("m2.prom"))
        .arg("-o")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--push-gateway"), "{}", stderr(&o));
    assert!(out2.join("report.json").is_file());

    // A bad URL is a setup error before the first packet; the flag needs --prometheus.
    let o = run(&["scan", &target, "--push-gateway", "https://gw:9091", "--prometheus", "/tmp/x.prom"]);
    assert_eq!(code(&o), 2);
    let o = run(&["scan", &target, "--push-gateway", &url]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
