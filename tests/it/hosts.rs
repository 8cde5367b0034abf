//! The host-level pass, end to end through the binary: mixed mode and a plaintext cluster bus.

use serde_json::Value;

use crate::support::*;

fn scan_json(targets: &[String], ca: &std::path::Path, out: &std::path::Path) -> Value {
    let mut args: Vec<&str> = targets.iter().map(String::as_str).collect();
    args.extend(["-q", "--cipher-scan", "off"]);
    scan_ok(&args, ca, out);
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn ids_of(report: &Value, port: u16) -> Vec<String> {
    let e = report["endpoints"].as_array().unwrap().iter().find(|e| e["port"] == port).unwrap();
    e["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
}

fn cluster_redis(dir: &std::path::Path, pki: &Pki, tls_cluster: bool) -> (Peer, u16) {
    let (tls_port, bus) = free_port_with_bus();
    let peer = redis(
        dir,
        RedisConf {
            plaintext: true,
            tls: Some(pki.server("node", 90)),
            tls_port: Some(tls_port),
            plain_port: None,
            args: vec![
                ("requirepass".into(), "pw".into()),
                ("tls-auth-clients".into(), "yes".into()),
                ("cluster-enabled".into(), "yes".into()),
                ("cluster-port".into(), bus.to_string()),
                ("tls-cluster".into(), if tls_cluster { "yes" } else { "no" }.into()),
            ],
            ..Default::default()
        },
    );
    (peer, bus)
}

#[test]
fn mixed_mode_and_plaintext_cluster_bus() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (node, bus) = cluster_redis(dir.path(), &pki, false);
    let plain = node.extra_port.unwrap();
    let targets = vec![format!("127.0.0.1:{}", node.port), format!("127.0.0.1:{plain}")];
    let r = scan_json(&targets, &pki.ca_file, &dir.path().join("out"));
    assert_eq!(ids_of(&r, plain), vec!["plaintext_enabled", "mixed_mode"]);
    assert_eq!(ids_of(&r, node.port), vec!["mixed_mode", "cluster_bus_plaintext"]);
    let e = r["endpoints"].as_array().unwrap().iter().find(|e| e["port"] == node.port).unwrap();
    let bus_finding = e["findings"].as_array().unwrap().iter().find(|f| f["id"] == "cluster_bus_plaintext").unwrap();
    assert!(bus_finding["evidence"].as_str().unwrap().contains(&format!("127.0.0.1:{bus}")));
    // Titles and fixes are the id's, once in the catalog.
    assert_eq!(
        r["findings_catalog"]["cluster_bus_plaintext"]["remediation"],
        "tls-cluster yes (and tls-replication yes)"
    );
    assert_eq!(r["summary"]["findings_by_id"]["mixed_mode"], 2);
    // The CSV carries the host findings too.
    let csv = std::fs::read_to_string(dir.path().join("out").join("findings.csv")).unwrap();
    assert_eq!(csv.matches(",mixed_mode,medium,").count(), 2);
    assert_eq!(csv.matches(",cluster_bus_plaintext,medium,").count(), 1);
}

#[test]
fn tls_cluster_bus_is_not_a_finding() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (node, _) = cluster_redis(dir.path(), &pki, true);
    let r = scan_json(&[format!("127.0.0.1:{}", node.port)], &pki.ca_file, &dir.path().join("out"));
    assert_eq!(ids_of(&r, node.port), Vec::<String>::new());
}

#[test]
fn the_bus_ports_own_row_carries_the_finding_when_scanned() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (node, bus) = cluster_redis(dir.path(), &pki, false);
    let targets = vec![format!("127.0.0.1:{}", node.port), format!("127.0.0.1:{bus}")];
    let r = scan_json(&targets, &pki.ca_file, &dir.path().join("out"));
    assert_eq!(ids_of(&r, node.port), vec!["cluster_bus_plaintext"]);
    assert_eq!(ids_of(&r, bus), vec!["cluster_bus_plaintext"]);
    let csv = std::fs::read_to_string(dir.path().join("out").join("findings.csv")).unwrap();
    assert_eq!(csv.matches(",cluster_bus_plaintext,medium,").count(), 2);
}

/// The CSV rows a fresh run renders during the sweep (the row spool) are the bytes the reports' pass
/// renders from the journal: a fresh run's reports equal the ones `--resume` rebuilds from the journal
/// alone, with a host-level finding (mixed mode: those records are rendered again), closed ports
/// listed, and findings on every Redis endpoint. No spool is left behind, and a stale one a killed run
/// left is removed by the rebuild.
#[test]
fn spooled_rows_equal_the_rows_rebuilt_from_the_journal() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mixed =
        redis(dir.path(), RedisConf { plaintext: true, tls: Some(pki.server("mixed", 90)), ..Default::default() });
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let closed = closed_port();
    let ports = format!("{},{},{},{closed}", mixed.port, mixed.extra_port.unwrap(), plain.port);
    let out = dir.path().join("out");
    scan_ok(&["127.0.0.1", "-p", &ports, "-q", "--include-closed", "--cipher-scan", "off"], &pki.ca_file, &out);
    let spools = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("rows.spool"))
            .count()
    };
    assert_eq!(spools(&out), 0, "the spool is removed with the run");
    let fresh = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(findings.contains(",mixed_mode,"), "{findings}");
    assert!(std::fs::read_to_string(out.join("endpoints.csv")).unwrap().contains(&format!(",{closed},,closed,")));
    std::fs::write(out.join(".rows.spool.0123456789abcdef.tmp"), b"left by a killed run").unwrap();
    let o = bin().args(["scan", "-q", "--resume"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("reports rebuilt from the journal"));
    let rebuilt = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let pick = |sums: &str, name: &str| sums.lines().find(|l| l.ends_with(name)).map(str::to_string);
    for name in ["endpoints.csv", "findings.csv", "report.json", "scan.jsonl"] {
        assert_eq!(pick(&fresh, name), pick(&rebuilt, name), "{name}: spooled and rebuilt differ");
    }
    assert_eq!(spools(&out), 0, "the stale spool is removed");
}
