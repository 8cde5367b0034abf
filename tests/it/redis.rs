//! The pipeline against real `redis-server` processes, in each configuration a fleet has.

use redis_tls_scan::model::*;

use crate::support::*;

fn tls_of(r: &EndpointRecord) -> &TlsResult {
    r.tls.as_ref().expect("tls result")
}

fn version(r: &EndpointRecord, v: TlsVersion) -> &VersionProbe {
    tls_of(r).versions.get(&v).expect("version entry")
}

fn alert_code(p: &VersionProbe) -> Option<u8> {
    p.alert.as_ref().map(|a| a.code)
}

fn plain_status(r: &EndpointRecord) -> PingStatus {
    r.plaintext.as_ref().expect("plaintext result").status
}

fn tls_ping(r: &EndpointRecord) -> Option<PingStatus> {
    tls_of(r).ping.as_ref().map(|p| p.status)
}

#[tokio::test]
async fn plaintext_without_password_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let r = scan(server.port, None, &context(Pki::new().anchors())).await;
    assert_eq!(r.reachability, Reachability::Open);
    assert_eq!(plain_status(&r), PingStatus::Pong);
    assert_eq!(r.plaintext.as_ref().unwrap().reply.as_deref(), Some("+PONG"));
    // A port that speaks RESP in the clear gets no TLS handshake: one connection in all.
    assert!(r.tls.is_none(), "no TLS section: not tested");
    assert_eq!(r.connections, 1);
    assert!(r.certificate.is_none());
    assert_eq!(ids(&r), vec![FindingId::UnauthenticatedAccess, FindingId::PlaintextEnabled]);
    assert_eq!(r.max_severity(), Some(Severity::Critical));
}

#[tokio::test]
async fn plaintext_with_requirepass_still_leaks_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let conf = RedisConf { plaintext: true, args: vec![("requirepass".into(), "s3cret".into())], ..Default::default() };
    let server = redis(dir.path(), conf);
    let r = scan(server.port, None, &context(Pki::new().anchors())).await;
    assert_eq!(plain_status(&r), PingStatus::Noauth);
    assert_eq!(r.plaintext.as_ref().unwrap().reply.as_deref(), Some("-NOAUTH Authentication required."));
    assert_eq!(ids(&r), vec![FindingId::PlaintextEnabled]);
}

#[tokio::test]
async fn tls_only_without_client_auth() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "no")]));
    let r = scan(server.port, None, &context(pki.anchors())).await;
    // Redis resets a plaintext PING on its TLS port.
    assert_eq!(plain_status(&r), PingStatus::Reset);
    let t = tls_of(&r);
    assert!(t.speaks_tls);
    assert_eq!(version(&r, TlsVersion::Tls13).status, VersionStatus::Accepted);
    assert_eq!(version(&r, TlsVersion::Tls12).status, VersionStatus::Accepted);
    assert_eq!(version(&r, TlsVersion::Tls11).status, VersionStatus::Rejected);
    let n = t.negotiated.as_ref().unwrap();
    assert_eq!(n.version, TlsVersion::Tls13);
    assert!(n.cipher_suite.starts_with("TLS_AES_") || n.cipher_suite.starts_with("TLS_CHACHA20"), "{n:?}");
    assert_eq!(n.key_exchange_group.as_deref(), Some("x25519"));
    assert_eq!(t.client_auth, ClientAuth::None);
    assert_eq!(tls_ping(&r), Some(PingStatus::Pong));
    let c = r.certificate.as_ref().unwrap();
    assert!(c.trust.trusted, "{:?}", c.trust);
    assert!(c.hostname_match && c.chain_complete);
    assert_eq!(c.checked_identity, "127.0.0.1");
    assert_eq!(c.leaf.subject, "CN=srv");
    assert_eq!(c.leaf.issuer, "CN=redis-tls-scan test CA");
    assert_eq!(c.leaf.sans, vec!["IP:127.0.0.1", "DNS:redis.test"]);
    assert_eq!((c.leaf.key_type.as_str(), c.leaf.key_bits), ("EC", Some(256)));
    assert_eq!(c.leaf.signature_algorithm, "ecdsa-with-SHA256");
    assert!((89..=90).contains(&c.leaf.days_left.unwrap()), "{:?}", c.leaf.days_left);
    assert_eq!(c.leaf.sha256.len(), 64);
    // The raw probe: SSLv3 refused with handshake_failure, TLS 1.0/1.1 with protocol_version (Redis sets
    // a minimum version), every accepted suite listed with its class.
    assert_eq!(alert_code(version(&r, TlsVersion::Ssl3)), Some(40));
    assert_eq!(alert_code(version(&r, TlsVersion::Tls10)), Some(70));
    assert_eq!(alert_code(version(&r, TlsVersion::Tls11)), Some(70));
    let v13 = version(&r, TlsVersion::Tls13);
    assert_eq!(v13.enumeration, Enumeration::Full);
    let names13: Vec<&str> = v13.cipher_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names13, vec!["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]);
    assert!(v13.cipher_suites.iter().all(|s| s.class == SuiteClass::Recommended));
    let v12 = version(&r, TlsVersion::Tls12);
    assert_eq!(v12.server_preference, Some(false), "Redis defaults to client preference");
    assert!(v12.cipher_suites.iter().any(|s| s.name == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    // OpenSSL's default list keeps CBC suites: weak, so a low finding.
    assert!(
        v12.cipher_suites
            .iter()
            .any(|s| s.name == "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" && s.class == SuiteClass::Weak)
    );
    assert_eq!(t.key_exchange.groups, vec!["x25519"]);
    assert!(t.key_exchange.weak_groups_accepted.is_empty());
    assert!(r.connections < 40, "{} connections", r.connections);
    assert_eq!(
        ids(&r),
        vec![FindingId::UnauthenticatedAccess, FindingId::WeakCipher, FindingId::ClientAuthNotRequired]
    );
    let weak = r.findings.iter().find(|f| f.id == FindingId::WeakCipher).unwrap();
    assert_eq!(weak.severity, Severity::Low);
}

#[tokio::test]
async fn tls_auth_clients_yes_requires_a_client_certificate() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "yes")]));
    let r = scan(server.port, None, &context(pki.anchors())).await;
    let t = tls_of(&r);
    assert_eq!(t.client_auth, ClientAuth::Required);
    // TLS 1.3: the handshake completes, then the server sends certificate_required (116).
    assert_eq!(version(&r, TlsVersion::Tls13).status, VersionStatus::Accepted);
    let ping = t.ping.as_ref().unwrap();
    assert_eq!(ping.status, PingStatus::Failed);
    assert_eq!(ping.reply.as_deref(), Some("TLS alert certificate_required (116)"));
    // TLS 1.2: the server refuses during the handshake (handshake_failure, 40), after choosing 1.2.
    let v12 = version(&r, TlsVersion::Tls12);
    assert_eq!(v12.status, VersionStatus::Accepted);
    assert_eq!(alert_code(v12), Some(40));
    // The chain is captured even though the server refused us.
    assert!(r.certificate.as_ref().unwrap().trust.trusted);
    assert_eq!(ids(&r), vec![FindingId::WeakCipher]);
    let without = r.connections;

    // With a client certificate from the CA Redis trusts, PING works.
    let (cert, key) = pki.client();
    let ctx = with_client_cert(context(pki.anchors()), &cert, &key);
    let r = scan(server.port, None, &ctx).await;
    assert_eq!(tls_of(&r).client_auth, ClientAuth::Required);
    assert_eq!(tls_of(&r).ping_with_client_cert.as_ref().map(|p| p.status), Some(PingStatus::Pong));
    assert_eq!(r.connections, without + 1, "one more handshake, with the certificate");
    assert_eq!(ids(&r), vec![FindingId::WeakCipher]);
}

#[tokio::test]
async fn tls_auth_clients_optional() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let conf = tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "optional"), ("requirepass", "pw")]);
    let server = redis(dir.path(), conf);
    let r = scan(server.port, None, &context(pki.anchors())).await;
    assert_eq!(tls_of(&r).client_auth, ClientAuth::Optional);
    assert_eq!(tls_ping(&r), Some(PingStatus::Noauth));
    assert_eq!(ids(&r), vec![FindingId::WeakCipher, FindingId::ClientAuthNotRequired]);
    assert_eq!(r.max_severity(), Some(Severity::Low));
}

#[tokio::test]
async fn tls12_only_server_rejects_tls13_with_protocol_version() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let conf = tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "no"), ("tls-protocols", "TLSv1.2")]);
    let server = redis(dir.path(), conf);
    let r = scan(server.port, None, &context(pki.anchors())).await;
    let v13 = version(&r, TlsVersion::Tls13);
    assert_eq!(v13.status, VersionStatus::Rejected);
    assert_eq!(v13.failure, Some(HandshakeFailure::Alert));
    assert_eq!(v13.alert, Some(Alert { code: 70, name: "protocol_version".into() }));
    assert_eq!(version(&r, TlsVersion::Tls12).status, VersionStatus::Accepted);
    let n = tls_of(&r).negotiated.as_ref().unwrap();
    assert_eq!(n.version, TlsVersion::Tls12);
    assert!(n.cipher_suite.starts_with("TLS_ECDHE_ECDSA_WITH_"), "{}", n.cipher_suite);
    assert_eq!(tls_ping(&r), Some(PingStatus::Pong));
}

#[tokio::test]
async fn tls13_only_server_rejects_tls12_with_protocol_version() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let conf = tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "no"), ("tls-protocols", "TLSv1.3")]);
    let server = redis(dir.path(), conf);
    let r = scan(server.port, None, &context(pki.anchors())).await;
    let v12 = version(&r, TlsVersion::Tls12);
    assert_eq!(v12.status, VersionStatus::Rejected);
    assert_eq!(alert_code(v12), Some(70));
    assert_eq!(version(&r, TlsVersion::Tls13).status, VersionStatus::Accepted);
    assert_eq!(tls_of(&r).negotiated.as_ref().unwrap().version, TlsVersion::Tls13);
}

#[tokio::test]
async fn one_server_with_plaintext_and_tls_ports() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut conf = tls_conf(pki.server("srv", 90), &[("tls-auth-clients", "yes"), ("requirepass", "pw")]);
    conf.plaintext = true;
    let server = redis(dir.path(), conf);
    let ctx = context(pki.anchors());
    let plain = scan(server.extra_port.unwrap(), None, &ctx).await;
    let tls = scan(server.port, None, &ctx).await;
    assert_eq!(plain_status(&plain), PingStatus::Noauth);
    assert_eq!(ids(&plain), vec![FindingId::PlaintextEnabled]);
    assert_eq!(plain_status(&tls), PingStatus::Reset);
    assert_eq!(tls_of(&tls).client_auth, ClientAuth::Required);
    assert_eq!(ids(&tls), vec![FindingId::WeakCipher]);
}
