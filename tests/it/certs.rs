//! Certificate verdicts against real servers: each broken certificate gives exactly its findings.

use redis_tls_scan::model::*;
use redis_tls_scan::pki::{self, LeafSpec};
use time::{Duration, OffsetDateTime};

use crate::support::*;

/// Certificate findings only (the Redis ones are tested elsewhere).
fn cert_ids(r: &EndpointRecord) -> Vec<FindingId> {
    ids(r).into_iter().filter(|id| id.as_str().starts_with("cert_")).collect()
}

fn cert(r: &EndpointRecord) -> &CertificateInfo {
    r.certificate.as_ref().expect("certificate")
}

async fn serve_and_scan(pki: &Pki, files: TlsFiles, name: Option<&str>) -> EndpointRecord {
    let dir = tempfile::tempdir().unwrap();
    let conf = open_tls(files);
    let server = redis(dir.path(), conf);
    scan(server.port, name, &context(pki.anchors())).await
}

fn spec(days_from: i64, days_to: i64, sans: &[&str]) -> LeafSpec {
    let now = OffsetDateTime::now_utc();
    LeafSpec {
        common_name: "redis".into(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        not_before: now + Duration::days(days_from),
        not_after: now + Duration::days(days_to),
        client: false,
    }
}

#[tokio::test]
async fn valid_certificate_has_no_certificate_finding_and_names_match_by_sni() {
    let pki = Pki::new();
    let r = serve_and_scan(&pki, pki.server("ok", 200), Some("redis.test")).await;
    let c = cert(&r);
    assert!(c.trust.trusted, "{:?}", c.trust);
    assert_eq!(c.checked_identity, "redis.test");
    assert!(c.hostname_match);
    assert_eq!(r.name.as_deref(), Some("redis.test"));
    assert_eq!(cert_ids(&r), vec![]);
}

#[tokio::test]
async fn expired_certificate() {
    let pki = Pki::new();
    let leaf = pki.ca.issue(&spec(-100, -3, &["127.0.0.1"])).unwrap();
    let r = serve_and_scan(&pki, pki.files("expired", &leaf, &[]), None).await;
    let c = cert(&r);
    assert_eq!(c.trust.reasons, vec![TrustReason::Expired]);
    let days = c.leaf.days_left.unwrap();
    assert!((-4..0).contains(&days), "{days}");
    assert_eq!(cert_ids(&r), vec![FindingId::CertExpired]);
}

#[tokio::test]
async fn not_yet_valid_certificate() {
    let pki = Pki::new();
    let leaf = pki.ca.issue(&spec(5, 100, &["127.0.0.1"])).unwrap();
    let r = serve_and_scan(&pki, pki.files("future", &leaf, &[]), None).await;
    assert_eq!(cert(&r).trust.reasons, vec![TrustReason::NotYetValid]);
    assert_eq!(cert_ids(&r), vec![FindingId::CertNotYetValid]);
}

#[tokio::test]
async fn expiring_soon_certificate() {
    let pki = Pki::new();
    let r = serve_and_scan(&pki, pki.server("soon", 10), None).await;
    assert!(cert(&r).trust.trusted);
    assert_eq!(cert_ids(&r), vec![FindingId::CertExpiringSoon]);
    let f = r.findings.iter().find(|f| f.id == FindingId::CertExpiringSoon).unwrap();
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.evidence.contains("days left"), "{}", f.evidence);
}

#[tokio::test]
async fn self_signed_certificate() {
    let pki = Pki::new();
    let leaf = pki::self_signed(&spec(-1, 100, &["127.0.0.1"])).unwrap();
    let r = serve_and_scan(&pki, pki.files("selfsigned", &leaf, &[]), None).await;
    let c = cert(&r);
    assert!(c.leaf.self_signed);
    assert_eq!(c.trust.reasons, vec![TrustReason::UnknownIssuer]);
    assert_eq!(cert_ids(&r), vec![FindingId::CertUntrusted, FindingId::CertSelfSigned]);
}

#[tokio::test]
async fn wrong_host_by_ip_and_by_name() {
    let pki = Pki::new();
    let leaf = pki.ca.issue(&spec(-1, 100, &["other.test"])).unwrap();
    let files = pki.files("wronghost", &leaf, &[]);
    let dir = tempfile::tempdir().unwrap();
    let conf = open_tls(files);
    let server = redis(dir.path(), conf);
    let ctx = context(pki.anchors());
    for name in [None, Some("redis.test")] {
        let r = scan(server.port, name, &ctx).await;
        let c = cert(&r);
        assert!(!c.hostname_match);
        assert_eq!(c.checked_identity, name.unwrap_or("127.0.0.1"));
        assert_eq!(c.trust.reasons, vec![TrustReason::NameMismatch]);
        assert_eq!(cert_ids(&r), vec![FindingId::CertHostnameMismatch]);
    }
    // The same certificate is fine for the name it carries.
    let r = scan(server.port, Some("other.test"), &ctx).await;
    assert_eq!(cert_ids(&r), vec![]);
}

#[tokio::test]
async fn every_reason_is_reported_not_just_the_first() {
    // Expired, from an unknown CA, for another name: rustls alone would report only "expired".
    let pki = Pki::new();
    let stranger = pki::Authority::new("some other CA").unwrap();
    let leaf = stranger.issue(&spec(-100, -1, &["other.test"])).unwrap();
    let r = serve_and_scan(&pki, pki.files("allbad", &leaf, &[]), None).await;
    assert_eq!(
        cert(&r).trust.reasons,
        vec![TrustReason::Expired, TrustReason::UnknownIssuer, TrustReason::NameMismatch]
    );
    assert_eq!(
        cert_ids(&r),
        vec![
            FindingId::CertExpired,
            FindingId::CertUntrusted,
            FindingId::CertChainIncomplete,
            FindingId::CertHostnameMismatch
        ]
    );
}

#[tokio::test]
async fn intermediate_not_sent_via_openssl_s_server() {
    let pki = Pki::new();
    let inter = pki.ca.intermediate("test intermediate").unwrap();
    let leaf = inter.issue(&spec(-1, 100, &["127.0.0.1"])).unwrap();
    // Without the intermediate: incomplete and untrusted.
    let files = pki.files("leafonly", &leaf, &[]);
    let server = s_server(&files.cert, &files.key, &[]);
    let r = scan(server.port, None, &context(pki.anchors())).await;
    let c = cert(&r);
    assert_eq!(c.chain.len(), 1);
    assert!(!c.chain_complete);
    assert_eq!(c.trust.reasons, vec![TrustReason::UnknownIssuer]);
    assert_eq!(cert_ids(&r), vec![FindingId::CertUntrusted, FindingId::CertChainIncomplete]);
    // s_server answers PING with the line reversed: not Redis, and TLS works.
    assert_eq!(r.tls.as_ref().unwrap().ping.as_ref().unwrap().status, PingStatus::NotResp);

    // With the intermediate sent: complete and trusted.
    let chain = write(pki.dir.path(), "inter.pem", &inter.pem);
    let server = s_server(&files.cert, &files.key, &["-cert_chain", chain.to_str().unwrap()]);
    let r = scan(server.port, None, &context(pki.anchors())).await;
    let c = cert(&r);
    assert_eq!(c.chain.len(), 2);
    assert!(c.chain_complete);
    assert!(c.trust.trusted, "{:?}", c.trust);
    assert_eq!(cert_ids(&r), vec![]);
}

#[tokio::test]
async fn rsa_1024_key_is_weak_via_openssl_s_server() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("rsa1024", 1024, "sha256");
    // OpenSSL's default security level refuses a 1024-bit key; redis-server cannot lower it before
    // loading its certificate, s_server can.
    let server = s_server(&files.cert, &files.key, &["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let mut ctx = context(ca.anchors());
    ctx.read_timeout = std::time::Duration::from_secs(2);
    let r = scan(server.port, None, &ctx).await;
    let c = cert(&r);
    assert_eq!((c.leaf.key_type.as_str(), c.leaf.key_bits), ("RSA", Some(1024)));
    // The handshake signature made with the 1024-bit key is verified for real (crate::weak_sig): the
    // server proved it holds the key, the chain is valid, and the weak key is a finding.
    assert_eq!(c.trust.reasons, vec![]);
    assert_eq!(cert_ids(&r), vec![FindingId::CertWeakKey]);
    let v13 = r.tls.as_ref().unwrap().versions.get(&TlsVersion::Tls13).unwrap();
    assert_eq!(v13.status, VersionStatus::Accepted);
    assert_eq!(v13.failure, None);
    assert_eq!(
        r.tls.as_ref().unwrap().ping.as_ref().unwrap().status,
        PingStatus::NotResp,
        "PING over TLS went through"
    );
}

#[tokio::test]
async fn sha1_signed_certificate_via_openssl_s_server() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("sha1", 2048, "sha1");
    let server = s_server(&files.cert, &files.key, &["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let r = scan(server.port, None, &context(ca.anchors())).await;
    let c = cert(&r);
    assert_eq!(c.leaf.signature_algorithm, "sha1WithRSAEncryption");
    assert_eq!((c.leaf.key_type.as_str(), c.leaf.key_bits), ("RSA", Some(2048)));
    assert_eq!(c.trust.reasons, vec![TrustReason::UnsupportedSignatureAlgorithm]);
    assert_eq!(cert_ids(&r), vec![FindingId::CertUntrusted, FindingId::CertWeakSignature]);
}
