//! The evidence bundle: the HTML report rendered by headless Chromium, with a hostile certificate
//! subject that must show up as text, never as markup; the Markdown summary escaped the same way.

use std::process::Command;

use redis_tls_scan::pki::LeafSpec;

use crate::support::*;

const HOSTILE: &str = "<img src=x onerror=alert(1)><script>document.title='pwned'</script>";

fn chromium(args: &[&str]) -> std::process::Output {
    require("chromium");
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// Scans loopback `ports` trusting the test CA, into `dir/out`; exit 0 expected.
fn scan_with_ca(pki: &Pki, ports: &[u16], dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("out");
    let targets: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut args: Vec<&str> = targets.iter().map(String::as_str).collect();
    args.push("-q");
    scan_ok(&args, &pki.ca_file, &out);
    out
}

#[test]
fn html_report_renders_offline_and_escapes_remote_text() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = LeafSpec::server("x", &["127.0.0.1"], 10);
    spec.common_name = HOSTILE.into();
    let leaf = pki.ca.issue(&spec).unwrap();
    let server = redis(dir.path(), open_tls(pki.files("hostile", &leaf, &[])));
    let out = scan_with_ca(&pki, &[server.port], dir.path());
    let page = out.join("report.html");
    let source = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for external in ["src=\"", "href=\"http", "<link", "<script", "url(", "@import"] {
        assert!(!source.contains(external), "{external}");
    }

    let url = format!("file://{}", page.display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<title>Redis transport security evidence"), "the title was not rewritten by a script");
    assert!(!dom.contains("<img") && !dom.contains("<script"), "remote text became markup");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "the subject is shown as text");
    for fact in [
        "Summary",
        "Certificate expiry horizon",
        "By finding",
        "unauthenticated_access",
        "cert_expiring_soon",
        "Provenance",
    ] {
        assert!(dom.contains(fact), "{fact} missing from the rendered page");
    }
    assert!(dom.contains(&format!("127.0.0.1:{}", server.port)));

    let shot = dir.path().join("report.png");
    let o = chromium(&["--window-size=1200,1800", &format!("--screenshot={}", shot.display()), &url]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "a real page was drawn");
    // For a human look: REDIS_TLS_SCAN_SCREENSHOT=/tmp/report.png cargo test --test it html
    if let Some(keep) = std::env::var_os("REDIS_TLS_SCAN_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(!md.contains("<img") && !md.contains("<script"), "{md}");
    assert!(md.contains("| `127.0.0.1:"), "{md}");
    assert!(!md.contains('\\'), "plain text: no backslash escapes\n{md}");
}

/// The page printed to PDF (what an auditor files): every endpoint's evidence and fix is in the PDF
/// although the details are collapsed on screen; the summary counts each finding per severity and gives
/// its redis.conf fix; the horizon shows a not-yet-valid leaf and its intermediate for what they are.
#[test]
fn printed_pdf_holds_every_endpoint_evidence_and_fix() {
    require("pdftotext");
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let intermediate = pki.ca.intermediate("Print Test Intermediate").unwrap();
    let mut spec = LeafSpec::server("future-leaf", &["127.0.0.1"], 400);
    spec.not_before = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let leaf = intermediate.issue(&spec).unwrap();
    let tls = redis(dir.path(), open_tls(pki.files("future", &leaf, &[intermediate.pem.as_str()])));
    let plain = redis(dir.path(), RedisConf { plaintext: true, ..RedisConf::default() });
    let out = scan_with_ca(&pki, &[tls.port, plain.port], dir.path());
    let page = out.join("report.html");
    let pdf = dir.path().join("report.pdf");
    let o = chromium(&[
        "--no-pdf-header-footer",
        &format!("--print-to-pdf={}", pdf.display()),
        &format!("file://{}", page.display()),
    ]);
    assert!(o.status.success() && pdf.is_file(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    // For a human look: REDIS_TLS_SCAN_PDF=/tmp/report.pdf cargo test --test it printed_pdf
    if let Some(keep) = std::env::var_os("REDIS_TLS_SCAN_PDF") {
        std::fs::copy(&pdf, keep).unwrap();
    }
    for fact in [
        // Evidence and fixes from inside the collapsed per-endpoint details.
        "plaintext PING: +PONG",
        "remediation (redis.conf)",
        "tls-auth-clients yes",
        "accepted suites",
        "TLS_AES_256_GCM_SHA384",
        // The horizon: the leaf not valid yet, its intermediate sent with it.
        "not yet valid",
        "intermediate CN=Print Test",
        "leaf CN=future-leaf",
        // The summary by finding, with the fix.
        "By finding",
        "fix (redis.conf)",
    ] {
        assert!(text.contains(fact), "'{fact}' missing from the printed PDF:\n{text}");
    }
    for port in [tls.port, plain.port] {
        assert!(text.matches(&format!("127.0.0.1:{port}")).count() >= 2, "endpoint {port} in the table and its detail");
    }
}

/// Two demo runs show the same endpoints, certificates and findings: `diff` finds nothing new, gone,
/// rotated or worse (the demo's certificates are reproducible for the day, its port given by `--port`).
#[test]
fn two_demo_runs_compare_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let demo = |name: &str, port: u16| {
        let out = dir.path().join(name);
        let _ = std::fs::remove_dir_all(&out);
        let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
            .args(["demo", "-q", "--port", &port.to_string(), "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let report = std::fs::read_to_string(out.join("report.json")).unwrap();
        (out, report.matches(&format!("\"port\":{port}")).count() == 5)
    };
    // A port free a moment ago may be taken by another test in between: then try another one.
    for _ in 0..5 {
        let port = free_port();
        let ((a, fixed_a), (b, fixed_b)) = (demo("a", port), demo("b", port));
        if !(fixed_a && fixed_b) {
            continue;
        }
        let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan")).arg("diff").arg(&a).arg(&b).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{text}");
        for change in ["New endpoints", "Gone endpoints", "New findings", "Resolved findings", "rotated", "WORSE"] {
            assert!(!text.contains(change), "two demo runs differ ({change}):\n{text}");
        }
        // The demo's expired certificate is said to be expired, not to have "-13 days left".
        assert!(text.contains("Certificates expired or expiring") && text.contains(" days ago (not after "), "{text}");
        assert!(!text.contains(" -"), "{text}");
        return;
    }
    panic!("five free ports were each taken before two demo runs could use them");
}
