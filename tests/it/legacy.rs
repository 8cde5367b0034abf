//! The raw ClientHello probe against real servers configured with what the hardening guidance forbids,
//! and canned replays for what no local OpenSSL can produce (SSLv3, EXPORT suites).

use std::net::Ipv4Addr;

use redis_tls_scan::model::*;
use redis_tls_scan::probe::raw::CipherScan;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::*;

fn version(r: &EndpointRecord, v: TlsVersion) -> &VersionProbe {
    r.tls.as_ref().unwrap().versions.get(&v).unwrap()
}

fn accepted(r: &EndpointRecord) -> Vec<TlsVersion> {
    TlsVersion::ALL.into_iter().filter(|v| version(r, *v).status == VersionStatus::Accepted).collect()
}

fn suite_names(r: &EndpointRecord, v: TlsVersion) -> Vec<String> {
    version(r, v).cipher_suites.iter().map(|s| s.name.clone()).collect()
}

fn severity(r: &EndpointRecord, id: FindingId) -> Option<Severity> {
    r.findings.iter().find(|f| f.id == id).map(|f| f.severity)
}

#[tokio::test]
async fn redis_with_every_version_and_null_and_anonymous_suites() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(
        dir.path(),
        RedisConf {
            tls: Some(pki.server("legacy", 90)),
            args: vec![
                ("tls-auth-clients".into(), "no".into()),
                ("tls-protocols".into(), "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3".into()),
                ("tls-ciphers".into(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0".into()),
            ],
            ..Default::default()
        },
    );
    let ctx = context(pki.anchors());
    let r = scan(server.port, None, &ctx).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]);
    assert_eq!(version(&r, TlsVersion::Ssl3).failure, Some(HandshakeFailure::Alert));
    for v in [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12] {
        let names = suite_names(&r, v);
        assert!(names.iter().any(|n| n == "TLS_ECDHE_ECDSA_WITH_NULL_SHA"), "{v:?}: {names:?}");
        assert!(names.iter().any(|n| n == "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"), "{v:?}: {names:?}");
        assert!(names.iter().any(|n| n == "TLS_DH_anon_WITH_AES_256_CBC_SHA"), "{v:?}: {names:?}");
        assert_eq!(version(&r, v).enumeration, Enumeration::Full);
    }
    // AEAD suites exist only from TLS 1.2 on.
    assert!(!suite_names(&r, TlsVersion::Tls10).iter().any(|n| n.contains("GCM")));
    assert!(suite_names(&r, TlsVersion::Tls12).iter().any(|n| n == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    let classes: Vec<SuiteClass> = version(&r, TlsVersion::Tls12).cipher_suites.iter().map(|s| s.class).collect();
    assert!(classes.contains(&SuiteClass::Insecure) && classes.contains(&SuiteClass::Recommended));
    assert_eq!(severity(&r, FindingId::LegacyProtocol), Some(Severity::High));
    assert_eq!(severity(&r, FindingId::WeakCipher), Some(Severity::High));
    let legacy = r.findings.iter().find(|f| f.id == FindingId::LegacyProtocol).unwrap();
    assert_eq!(legacy.evidence, "accepts TLS 1.0, TLS 1.1");
    assert_eq!(legacy.remediation(), "tls-protocols \"TLSv1.2 TLSv1.3\"");
    // The anonymous DHE suites revealed the server's DH group.
    assert!(r.tls.as_ref().unwrap().key_exchange.dh_bits.is_some());
    let full_connections = r.connections;

    // Quick mode finds the same versions and the insecure classes with far fewer connections.
    let mut quick = context(pki.anchors());
    quick.cipher_scan = CipherScan::Quick;
    let q = scan(server.port, None, &quick).await;
    assert_eq!(accepted(&q), accepted(&r));
    assert_eq!(version(&q, TlsVersion::Tls12).enumeration, Enumeration::Quick);
    assert_eq!(severity(&q, FindingId::WeakCipher), Some(Severity::High));
    assert_eq!(severity(&q, FindingId::LegacyProtocol), Some(Severity::High));
    assert!(q.connections * 3 < full_connections, "quick {} vs full {}", q.connections, full_connections);

    // Off: rustls only; legacy versions are not tested.
    let mut off = context(pki.anchors());
    off.cipher_scan = CipherScan::Off;
    let o = scan(server.port, None, &off).await;
    assert_eq!(version(&o, TlsVersion::Tls10).status, VersionStatus::NotTested);
    assert_eq!(o.connections, 3);
}

#[tokio::test]
async fn tls10_and_11_only_server_gets_full_certificate_inspection_from_the_raw_flight() {
    let pki = Pki::new();
    let files = pki.server("old", 90);
    let server = s_server(
        &files.cert,
        &files.key,
        &["-min_protocol", "TLSv1", "-max_protocol", "TLSv1.1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    );
    let r = scan(server.port, None, &context(pki.anchors())).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Tls10, TlsVersion::Tls11]);
    // A TLS 1.2 hello gets a TLS 1.1 ServerHello: that is not TLS 1.2 support.
    let v12 = version(&r, TlsVersion::Tls12);
    assert_eq!(v12.status, VersionStatus::Rejected);
    assert!(v12.detail.as_deref().unwrap_or("").contains("TLS 1.1"), "{v12:?}");
    // rustls could not talk to it, yet the certificate was read from the clear-text Certificate message.
    let c = r.certificate.as_ref().expect("certificate from the raw probe");
    assert_eq!(c.leaf.subject, "CN=old");
    // The chain validates, but only the raw probe saw it: possession of the key is not proven. That is
    // reported, and raises no finding by itself.
    assert_eq!(c.trust.reasons, vec![TrustReason::KeyNotProven]);
    assert!(c.chain_complete && c.hostname_match);
    assert_eq!(severity(&r, FindingId::CertUntrusted), None);
    assert_eq!(severity(&r, FindingId::LegacyProtocol), Some(Severity::High));
    assert!(r.tls.as_ref().unwrap().speaks_tls);
}

#[tokio::test]
async fn tls13_ccm_only_with_p256_is_found_through_hello_retry_request() {
    let pki = Pki::new();
    let files = pki.server("ccm", 90);
    let server = s_server(
        &files.cert,
        &files.key,
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256", "-groups", "P-256"],
    );
    let r = scan(server.port, None, &context(pki.anchors())).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Tls13]);
    let mut names = suite_names(&r, TlsVersion::Tls13);
    names.sort();
    assert_eq!(names, vec!["TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_SHA256"]);
    let v13 = version(&r, TlsVersion::Tls13);
    assert!(v13.detail.as_deref().unwrap_or("").contains("rustls handshake failed"), "{v13:?}");
    assert_eq!(r.tls.as_ref().unwrap().key_exchange.groups, vec!["secp256r1"]);
    assert_eq!(severity(&r, FindingId::WeakCipher), None);
}

#[tokio::test]
async fn dhe_with_a_1024_bit_group_is_a_weak_key_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("dhe", 2048, "sha256");
    let dh = dir.path().join("dh1024.pem");
    // RFC 5114's 1024-bit MODP group: a standard weak group, made instantly.
    openssl(&["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_rfc5114:1", "-out", dh.to_str().unwrap()]);
    let server = s_server(
        &files.cert,
        &files.key,
        &["-dhparam", dh.to_str().unwrap(), "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-no_tls1_3"],
    );
    let r = scan(server.port, None, &context(ca.anchors())).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Tls12]);
    assert_eq!(suite_names(&r, TlsVersion::Tls12), vec!["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"]);
    assert_eq!(r.tls.as_ref().unwrap().key_exchange.dh_bits, Some(1024));
    let f = r.findings.iter().find(|f| f.id == FindingId::WeakKeyExchange).expect("weak_key_exchange");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.evidence, "ephemeral DH group of 1024 bits");
    // The chain came from the raw TLS 1.2 flight (rustls offers no DHE suite).
    assert_eq!(r.certificate.as_ref().unwrap().leaf.key_bits, Some(2048));
}

/// The suites a ClientHello offers, and its client_version (read with tls-parser).
fn offered(hello: &[u8]) -> Option<(u16, Vec<u16>)> {
    use tls_parser::{TlsMessage, TlsMessageHandshake, parse_tls_plaintext};
    let (_, rec) = parse_tls_plaintext(hello).ok()?;
    match rec.msg.first()? {
        TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) => {
            Some((ch.version.0, ch.ciphers.iter().map(|c| c.0).collect()))
        }
        _ => None,
    }
}

fn record(kind: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![kind];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// A canned ServerHello (+ ServerHelloDone) flight for `version` and `cipher`.
fn server_flight(version: u16, cipher: u16) -> Vec<u8> {
    let mut hs = server_hello(version, cipher);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    record(0x16, version, &hs)
}

/// A ServerHello handshake message (no extensions).
fn server_hello(version: u16, cipher: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    hs
}

/// ServerHello + ServerKeyExchange (ECDHE on `group`) + ServerHelloDone, TLS 1.2.
fn ecdhe_flight(cipher: u16, group: u16) -> Vec<u8> {
    let mut hs = server_hello(0x0303, cipher);
    let g = group.to_be_bytes();
    // named_curve, group, a 1-byte point; the signature is left out: the probe never verifies it.
    let ske = [3, g[0], g[1], 1, 4];
    hs.extend_from_slice(&[12, 0, 0, ske.len() as u8]);
    hs.extend_from_slice(&ske);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    record(0x16, 0x0303, &hs)
}

/// A replay server: an old stack that only speaks `version` and picks the first of `prefs` that the
/// client offers; it answers other versions with its own version's ServerHello (as old stacks do).
async fn replay(version: u16, prefs: &'static [u16]) -> u16 {
    answering(move |hello| {
        let (_, suites) = offered(hello)?;
        Some(match prefs.iter().find(|p| suites.contains(p)) {
            Some(c) => server_flight(version, *c),
            None => record(0x15, version, &[2, 40]),
        })
    })
    .await
}

/// A fake that reads each connection's ClientHello (until it parses, or 4 KiB) and answers it with
/// `reply(hello)`.
async fn answering<F>(reply: F) -> u16
where
    F: Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
{
    let reply = std::sync::Arc::new(reply);
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut n = 0;
                loop {
                    match s.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                    if offered(&buf[..n]).is_some() || n == buf.len() {
                        break;
                    }
                }
                if let Some(bytes) = reply(&buf[..n]) {
                    let _ = s.write_all(&bytes).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn canned_sslv3_server() {
    // RC4-SHA, 3DES: what an SSLv3-era server chose. No local OpenSSL can speak SSLv3 any more.
    let port = replay(0x0300, &[0x0005, 0x000a]).await;
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = std::time::Duration::from_millis(700);
    let r = scan(port, None, &ctx).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Ssl3]);
    // The server imposes its order (RC4 first, whatever we offer first): listed in that order.
    assert_eq!(version(&r, TlsVersion::Ssl3).server_preference, Some(true));
    assert_eq!(suite_names(&r, TlsVersion::Ssl3), vec!["TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]);
    for v in [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12] {
        assert_eq!(version(&r, v).failure, Some(HandshakeFailure::OtherVersion), "{v:?}");
    }
    assert_eq!(severity(&r, FindingId::LegacyProtocol), Some(Severity::High));
    assert_eq!(severity(&r, FindingId::WeakCipher), Some(Severity::High));
    assert!(r.certificate.is_none());
}

#[tokio::test]
async fn canned_export_suite_choice() {
    // A TLS 1.0 server that still picks RSA_EXPORT_WITH_RC4_40_MD5 and RSA_EXPORT_WITH_DES40_CBC_SHA.
    let port = replay(0x0301, &[0x0003, 0x0008]).await;
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = std::time::Duration::from_millis(700);
    let r = scan(port, None, &ctx).await;
    assert_eq!(accepted(&r), vec![TlsVersion::Tls10]);
    let v10 = version(&r, TlsVersion::Tls10);
    let mut ids: Vec<&str> = v10.cipher_suites.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, vec!["0x0003", "0x0008"]);
    assert!(v10.cipher_suites.iter().all(|s| s.class == SuiteClass::Insecure));
    let weak = r.findings.iter().find(|f| f.id == FindingId::WeakCipher).unwrap();
    assert_eq!(weak.severity, Severity::High);
    assert!(weak.evidence.contains("TLS_RSA_EXPORT_WITH_RC4_40_MD5 (1.0)"), "{}", weak.evidence);
}

#[tokio::test]
async fn canned_ecdhe_on_a_192_bit_curve() {
    // OpenSSL 3 will not negotiate curves under 224 bits any more, even at security level 0.
    let port = answering(|hello| {
        Some(match offered(hello) {
            Some((0x0303, suites)) if suites.contains(&0xc02b) => ecdhe_flight(0xc02b, 0x0013),
            _ => record(0x15, 0x0303, &[2, 70]),
        })
    })
    .await;
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = std::time::Duration::from_millis(700);
    let r = scan(port, None, &ctx).await;
    let kx = &r.tls.as_ref().unwrap().key_exchange;
    assert_eq!(kx.weak_groups_accepted, vec!["secp192r1"]);
    let f = r.findings.iter().find(|f| f.id == FindingId::WeakKeyExchange).expect("weak_key_exchange");
    assert_eq!(f.evidence, "accepts curves under 224 bits: secp192r1");
}

#[tokio::test]
async fn a_suite_never_offered_is_a_protocol_violation_for_every_version() {
    // A broken stack that answers every hello with a TLS 1.2 ServerHello choosing 0x1337, an id no hello
    // offers (it is unassigned): neither probe may call TLS 1.2 accepted.
    let port = answering(|_| Some(server_flight(0x0303, 0x1337))).await;
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = std::time::Duration::from_millis(700);
    let r = scan(port, None, &ctx).await;
    assert_eq!(accepted(&r), Vec::<TlsVersion>::new());
    let v12 = version(&r, TlsVersion::Tls12);
    assert_eq!(v12.status, VersionStatus::Rejected);
    assert_eq!(v12.failure, Some(HandshakeFailure::ProtocolViolation), "{v12:?}");
    assert!(v12.detail.as_deref().unwrap_or_default().contains("0x1337"), "{v12:?}");
}
