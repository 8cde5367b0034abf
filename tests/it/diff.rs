//! `diff` on two real scans of a changing set of servers: a certificate rotated, TLS 1.0 switched off,
//! a plaintext port closed, a new open Redis.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn scan(targets: &[String], ca: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .arg("scan")
        .args(targets)
        .args(["-q", "--ca-file"])
        .arg(ca)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
}

fn legacy_tls(pki: &Pki, name: &str, port: u16, legacy: bool) -> RedisConf {
    let mut args = vec![("tls-auth-clients".to_string(), "optional".to_string()), ("requirepass".into(), "pw".into())];
    if legacy {
        args.push(("tls-protocols".into(), "TLSv1 TLSv1.2 TLSv1.3".into()));
        args.push(("tls-ciphers".into(), "DEFAULT:@SECLEVEL=0".into()));
    }
    RedisConf { tls: Some(pki.server(name, 200)), tls_port: Some(port), args, ..Default::default() }
}

#[test]
fn diff_of_two_real_sweeps() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let targets: Vec<String> = [pa, pb, pc].iter().map(|p| format!("127.0.0.1:{p}")).collect();

    // Sweep 1: A speaks TLS 1.0 too; B is a plaintext Redis with a password; nothing on C.
    let a = redis(dir.path(), legacy_tls(&pki, "a-2026", pa, true));
    let b = redis(
        dir.path(),
        RedisConf {
            plaintext: true,
            plain_port: Some(pb),
            args: vec![("requirepass".into(), "pw".into())],
            ..Default::default()
        },
    );
    let old = dir.path().join("old");
    scan(&targets, &pki.ca_file, &old);
    drop(a);
    drop(b);

    // Sweep 2: A restarted with a new certificate and TLS 1.0 off; B gone; C is an open Redis.
    let _a = redis(dir.path(), legacy_tls(&pki, "a-2027", pa, false));
    let _c = redis(dir.path(), RedisConf { plaintext: true, plain_port: Some(pc), ..Default::default() });
    let new = dir.path().join("new");
    scan(&targets, &pki.ca_file, &new);

    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "worse: a new open Redis; {}", String::from_utf8_lossy(&o.stderr));
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (ka, kb, kc) = (format!("127.0.0.1:{pa}"), format!("127.0.0.1:{pb}"), format!("127.0.0.1:{pc}"));
    assert_eq!(d["endpoints_new"], serde_json::json!([kc]));
    assert_eq!(d["endpoints_gone"], serde_json::json!([kb]));
    let ids = |k: &str| -> Vec<(String, String)> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|f| (f["endpoint"].as_str().unwrap().into(), f["id"].as_str().unwrap().into()))
            .collect()
    };
    // C also makes 127.0.0.1 a mixed-mode host (plaintext C beside TLS A), as B did in sweep 1.
    assert_eq!(
        ids("findings_new"),
        vec![
            (kc.clone(), "mixed_mode".into()),
            (kc.clone(), "plaintext_enabled".into()),
            (kc.clone(), "unauthenticated_access".into())
        ]
    );
    let resolved = ids("findings_resolved");
    assert!(resolved.contains(&(ka.clone(), "legacy_protocol".into())), "{resolved:?}");
    assert!(resolved.contains(&(kb.clone(), "plaintext_enabled".into())), "{resolved:?}");
    assert_eq!(d["certificates_rotated"].as_array().unwrap().len(), 1);
    assert_eq!(d["certificates_rotated"][0]["endpoint"], ka);
    let drift: Vec<(String, String, String)> = d["version_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["version"].as_str().unwrap().into(),
                c["old"].as_str().unwrap().into(),
                c["new"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(drift, vec![("tls1_0".into(), "accepted".into(), "rejected".into())]);
    assert!(d["suites_removed"].as_array().unwrap().iter().all(|s| s["endpoint"] == ka));
    assert_eq!(d["worse"], true);

    // The text form, and the reverse direction (only improvements) exits 0... except that B's
    // plaintext port reappears: going back is worse too. Same scan twice: nothing changed, exit 0.
    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .arg("diff")
        .arg(&new)
        .arg(new.join("report.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Posture: not worse"), "{text}");
    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan")).arg("diff").arg(&old).arg(&new).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for part in [
        "Posture: WORSE",
        "New endpoints (1)",
        "Gone endpoints (1)",
        "Certificates rotated (1)",
        "tls1_0: accepted -> rejected",
    ] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    // Bad input: exit 2, naming the file.
    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .arg("diff")
        .arg(dir.path().join("nope"))
        .arg(&new)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
}
