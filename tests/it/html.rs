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

#[test]
fn html_report_renders_offline_and_escapes_remote_text() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = LeafSpec::server("x", &["127.0.0.1"], 10);
    spec.common_name = HOSTILE.into();
    let leaf = pki.ca.issue(&spec).unwrap();
    let server = redis(dir.path(), open_tls(pki.files("hostile", &leaf, &[])));
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .args(["scan", &format!("127.0.0.1:{}", server.port), "-q", "--ca-file"])
        .arg(&pki.ca_file)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let page = out.join("report.html");
    let source = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    // (The SVG's xmlns is a namespace name, not a fetch.)
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
    for fact in
        ["Summary", "Certificate expiry horizon", "<svg", "unauthenticated_access", "cert_expiring_soon", "Provenance"]
    {
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
    assert!(md.contains("| 127.0.0.1:"), "{md}");
}
