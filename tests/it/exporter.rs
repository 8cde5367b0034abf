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
