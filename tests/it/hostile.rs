//! Hostile and broken peers (in-process fakes on loopback): each ends as a precise status, never a crash,
//! within the endpoint's deadline.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use redis_tls_scan::model::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::support::*;

/// Starts a fake that runs `behave` on every accepted connection; returns its port.
async fn fake<F, Fut>(behave: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(behave(s));
        }
    });
    port
}

/// Answers the first chunk it reads with `reply`, then keeps the connection open for a while.
async fn replying(reply: &'static [u8]) -> u16 {
    fake(move |mut s| async move {
        let mut buf = [0u8; 1024];
        if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
            let _ = s.write_all(reply).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await
}

fn plain(r: &EndpointRecord) -> &PingResult {
    r.plaintext.as_ref().unwrap()
}

fn v13(r: &EndpointRecord) -> &VersionProbe {
    r.tls.as_ref().unwrap().versions.get(&TlsVersion::Tls13).unwrap()
}

fn short_context() -> redis_tls_scan::scan::ProbeContext {
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = Duration::from_millis(500);
    ctx.endpoint_timeout = Duration::from_secs(5);
    ctx
}

#[tokio::test]
async fn closed_port_gets_no_further_probe() {
    let r = scan(closed_port(), None, &short_context()).await;
    assert_eq!(r.reachability, Reachability::Closed);
    assert!(r.plaintext.is_none() && r.tls.is_none());
    assert_eq!(r.connections, 1);
    assert!(r.findings.is_empty());
}

#[tokio::test]
async fn tarpit_is_silent_and_bounded_by_the_deadline() {
    let port = fake(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let mut ctx = short_context();
    ctx.endpoint_timeout = Duration::from_millis(800);
    let r = scan(port, None, &ctx).await;
    assert_eq!(plain(&r).status, PingStatus::Silent);
    assert_eq!(v13(&r).failure, Some(HandshakeFailure::Timeout));
    assert!(r.deadline_exceeded);
    assert!(r.duration_ms < 800 + 300, "took {} ms", r.duration_ms);
}

#[tokio::test]
async fn a_mebibyte_of_garbage_without_newline() {
    let port = fake(|mut s| async move {
        let junk = vec![b'A'; 1 << 20];
        let _ = s.write_all(&junk).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    let p = plain(&r);
    assert_eq!(p.status, PingStatus::NotResp);
    assert!(p.reply.as_ref().unwrap().len() <= 203);
    assert_eq!(v13(&r).failure, Some(HandshakeFailure::NotTls));
    assert!(!r.tls.as_ref().unwrap().speaks_tls);
    assert!(r.findings.is_empty());
}

#[tokio::test]
async fn close_without_answer() {
    // Reads the request, then closes: a FIN and nothing else.
    let port = fake(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).status, PingStatus::Closed);
    assert_eq!(v13(&r).failure, Some(HandshakeFailure::Closed));
}

#[tokio::test]
async fn immediate_close() {
    // Closes before reading: when our bytes arrive after the close, the peer's kernel answers them with a
    // RST, so the scanner sees a close or a reset depending on timing. Both are precise, neither a crash.
    let port = fake(|s| async move { drop(s) }).await;
    let r = scan(port, None, &short_context()).await;
    assert!(matches!(plain(&r).status, PingStatus::Closed | PingStatus::Reset), "{:?}", plain(&r));
    assert!(matches!(v13(&r).failure, Some(HandshakeFailure::Closed | HandshakeFailure::Reset)), "{:?}", v13(&r));
}

#[tokio::test]
async fn immediate_reset() {
    let port = fake(|s| async move {
        // SO_LINGER 0: close sends RST instead of FIN.
        let _ = s.set_zero_linger();
        drop(s);
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).status, PingStatus::Reset);
    assert_eq!(v13(&r).failure, Some(HandshakeFailure::Reset));
}

#[tokio::test]
async fn protected_mode_denied() {
    let port = replying(b"-DENIED Redis is running in protected mode because protected mode is enabled\r\n").await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).status, PingStatus::Denied);
    assert!(r.is_redis());
    assert_eq!(ids(&r), vec![FindingId::PlaintextEnabled]);
}

#[tokio::test]
async fn wrongpass_and_other_errors() {
    let port = replying(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n").await;
    assert_eq!(plain(&scan(port, None, &short_context()).await).status, PingStatus::Wrongpass);
    let port = replying(b"-ERR unknown command 'PING'\r\n").await;
    assert_eq!(plain(&scan(port, None, &short_context()).await).status, PingStatus::Error);
}

#[tokio::test]
async fn http_server_is_not_redis() {
    let port = replying(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).status, PingStatus::NotResp);
    assert_eq!(plain(&r).reply.as_deref(), Some("HTTP/1.1 400 Bad Request"));
    assert_eq!(v13(&r).failure, Some(HandshakeFailure::NotTls));
    assert!(!r.is_redis());
    assert!(r.findings.is_empty());
}

#[tokio::test]
async fn terminal_escapes_in_a_reply_are_neutralised() {
    let port = replying(b"-ERR \x1b]0;owned\x07\x1b[2J\r\n").await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).reply.as_deref(), Some("-ERR \\x1b]0;owned\\x07\\x1b[2J"));
}

#[tokio::test]
async fn full_accept_queue_is_filtered() {
    // A listener that never accepts, with a backlog of 1: once the queue is full the kernel drops SYNs,
    // which is what a firewall that drops packets looks like to a scanner.
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let listener = sock.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let mut saturated = false;
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            _ => {
                saturated = true;
                break;
            }
        }
    }
    assert!(saturated, "the accept queue never filled");
    let mut ctx = short_context();
    ctx.connect_timeout = Duration::from_millis(500);
    let r = scan(addr.port(), None, &ctx).await;
    assert_eq!(r.reachability, Reachability::Filtered);
    assert!(r.plaintext.is_none());
    drop(listener);
}

/// A TLS server (rustls) with the given certificate resolver; after the handshake, reads one chunk and
/// runs `after` on the raw parts.
async fn tls_fake<F>(resolver: std::sync::Arc<dyn rustls::server::ResolvesServerCert>, after: F) -> u16
where
    F: Fn(&mut TcpStream, &mut rustls::ServerConnection) -> Vec<u8> + Send + Sync + Copy + 'static,
{
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    fake(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(s).await else { return };
            let mut buf = [0u8; 256];
            let _ = tls.read(&mut buf).await;
            let (tcp, conn) = tls.get_mut();
            let bytes = after(tcp, conn);
            let _ = tcp.write_all(&bytes).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    })
    .await
}

#[derive(Debug)]
struct Fixed(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn certified(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Fixed {
    let provider = rustls::crypto::ring::default_provider();
    let key = provider.key_provider.load_private_key(key).unwrap();
    Fixed(std::sync::Arc::new(rustls::sign::CertifiedKey::new(chain, key)))
}

#[test]
fn close_notify_followed_by_more_bytes_does_not_spin() {
    // Regression: after a close_notify rustls accepts no more bytes; the driver looped forever without
    // an await point, beyond any deadline. Run in its own thread so that a regression fails, not hangs.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let pki = Pki::new();
            let leaf = pki.ca.issue(&redis_tls_scan::pki::LeafSpec::server("x", &["127.0.0.1"], 30)).unwrap();
            let resolver = std::sync::Arc::new(certified(vec![leaf.cert.clone()], leaf.key.clone_key()));
            let port = tls_fake(resolver, |_, conn| {
                conn.send_close_notify();
                let mut out = Vec::new();
                while conn.wants_write() {
                    conn.write_tls(&mut out).unwrap();
                }
                out.extend(std::iter::repeat_n(0x17u8, 5000));
                out
            })
            .await;
            let r = scan(port, None, &short_context()).await;
            let _ = tx.send(r);
        });
    });
    let r = rx.recv_timeout(Duration::from_secs(30)).expect("the probe finished");
    let ping = r.tls.as_ref().unwrap().ping.as_ref().unwrap();
    assert_eq!(ping.status, PingStatus::Closed, "{ping:?}");
}

#[tokio::test]
async fn impostor_without_the_key_is_not_trusted() {
    // Presents a certificate the CA really issued, but signs the handshake with another key.
    let pki = Pki::new();
    let real = pki.ca.issue(&redis_tls_scan::pki::LeafSpec::server("real", &["127.0.0.1"], 90)).unwrap();
    let other = pki.ca.issue(&redis_tls_scan::pki::LeafSpec::server("other", &["127.0.0.1"], 90)).unwrap();
    let resolver = std::sync::Arc::new(certified(vec![real.cert.clone()], other.key.clone_key()));
    let port = tls_fake(resolver, |_, _| Vec::new()).await;
    let r = scan(port, None, &context(pki.anchors())).await;
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.leaf.subject, "CN=real");
    assert_eq!(c.trust.reasons, vec![TrustReason::HandshakeSignatureInvalid]);
    assert!(r.findings.iter().any(|f| f.id == FindingId::CertUntrusted));
}

// ---- The hostile peer zoo (issue 6): each ends with a precise status within its deadline. ----

fn v12(r: &EndpointRecord) -> &VersionProbe {
    r.tls.as_ref().unwrap().versions.get(&TlsVersion::Tls12).unwrap()
}

#[tokio::test]
async fn slow_drip_one_byte_per_second() {
    let port = fake(|mut s| async move {
        for _ in 0..60 {
            if s.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let mut ctx = short_context();
    ctx.read_timeout = Duration::from_millis(1500);
    ctx.endpoint_timeout = Duration::from_secs(3);
    let r = scan(port, None, &ctx).await;
    assert_eq!(plain(&r).status, PingStatus::NotResp);
    assert!(r.duration_ms <= 3000 + 300, "{} ms", r.duration_ms);
}

#[tokio::test]
async fn endless_tls_record_stream() {
    // Valid-looking handshake record headers followed by junk, forever (bounded here by the test).
    let port = fake(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let mut record = vec![0x16, 0x03, 0x03, 0x40, 0x00];
        record.extend(std::iter::repeat_n(0x0b, 0x4000));
        for _ in 0..2000 {
            if s.write_all(&record).await.is_err() {
                return;
            }
        }
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    assert!(r.tls.as_ref().unwrap().speaks_tls || v13(&r).status == VersionStatus::Rejected);
    assert_eq!(v13(&r).status, VersionStatus::Rejected);
    assert_eq!(v12(&r).status, VersionStatus::Rejected);
    assert!(r.duration_ms < 5000, "{} ms", r.duration_ms);
}

#[tokio::test]
async fn one_mebibyte_chain_of_a_hundred_certificates() {
    let pki = Pki::new();
    let leaf = pki.ca.issue(&redis_tls_scan::pki::LeafSpec::server("big", &["127.0.0.1"], 30)).unwrap();
    let sans: Vec<String> = (0..100).map(|i| format!("{i:03}-{}.padding.example", "a".repeat(80))).collect();
    let san_refs: Vec<&str> = sans.iter().map(String::as_str).collect();
    let mut chain = vec![leaf.cert.clone()];
    for i in 0..99 {
        let spec = redis_tls_scan::pki::LeafSpec::server(&format!("filler {i}"), &san_refs, 30);
        chain.push(pki.ca.issue(&spec).unwrap().cert);
    }
    let bytes: usize = chain.iter().map(|c| c.len()).sum();
    assert!(bytes > 900_000, "{bytes} bytes");
    let resolver = std::sync::Arc::new(certified(chain, leaf.key.clone_key()));
    let port = tls_fake(resolver, |_, _| Vec::new()).await;
    let r = scan(port, None, &context(pki.anchors())).await;
    // rustls refuses a Certificate message over 64 KiB; the raw probe stops at its 128 KiB cap. Both are
    // precise refusals, nothing is buffered beyond the caps, and the server still counts as TLS.
    let t = r.tls.as_ref().unwrap();
    assert!(t.speaks_tls);
    assert!(r.duration_ms < 10_000, "{} ms", r.duration_ms);
}

#[tokio::test]
async fn malformed_der_certificate() {
    let pki = Pki::new();
    let leaf = pki.ca.issue(&redis_tls_scan::pki::LeafSpec::server("x", &["127.0.0.1"], 30)).unwrap();
    let garbage = rustls::pki_types::CertificateDer::from(vec![0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef]);
    let resolver = std::sync::Arc::new(certified(vec![garbage], leaf.key.clone_key()));
    let port = tls_fake(resolver, |_, _| Vec::new()).await;
    let r = scan(port, None, &context(pki.anchors())).await;
    let c = r.certificate.as_ref().expect("the garbage chain is still reported");
    assert_eq!(c.leaf.subject, "(unparseable certificate)");
    assert!(c.trust.reasons.contains(&TrustReason::BadEncoding), "{:?}", c.trust);
    assert_eq!(c.leaf.days_left, None);
}

#[tokio::test]
async fn zero_length_and_oversized_records() {
    for reply in [[0x16u8, 0x03, 0x03, 0x00, 0x00].repeat(100), vec![0x16, 0x03, 0x03, 0xff, 0xff, 0x02]] {
        let reply: &'static [u8] = Box::leak(reply.into_boxed_slice());
        let port = replying(reply).await;
        let r = scan(port, None, &short_context()).await;
        assert_eq!(v13(&r).status, VersionStatus::Rejected, "{:?}", v13(&r));
        assert!(r.duration_ms < 5000);
    }
}

#[tokio::test]
async fn a_different_version_for_every_hello() {
    // Answers each ClientHello with a ServerHello of a version it was not offered.
    let port = fake(|mut s| async move {
        let mut buf = [0u8; 4096];
        let Ok(n) = s.read(&mut buf).await else { return };
        let offered = u16::from_be_bytes([buf.get(9).copied().unwrap_or(3), buf.get(10).copied().unwrap_or(3)]);
        let answer: u16 = if offered == 0x0301 { 0x0302 } else { 0x0301 };
        let _ = n;
        let mut body = answer.to_be_bytes().to_vec();
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x2f, 0]);
        let mut hs = vec![2, 0, 0, body.len() as u8];
        hs.extend_from_slice(&body);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![0x16, 0x03, 0x01, 0, hs.len() as u8];
        rec.extend_from_slice(&hs);
        let _ = s.write_all(&rec).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let mut ctx = short_context();
    ctx.read_timeout = Duration::from_millis(400);
    let r = scan(port, None, &ctx).await;
    let t = r.tls.as_ref().unwrap();
    assert!(t.speaks_tls);
    for v in TlsVersion::ALL {
        assert_ne!(t.versions.get(&v).unwrap().status, VersionStatus::Accepted, "{v:?} must not be accepted");
    }
    assert_eq!(t.versions.get(&TlsVersion::Tls10).unwrap().failure, Some(HandshakeFailure::OtherVersion));
}

#[tokio::test]
async fn reset_in_the_middle_of_the_handshake() {
    let port = fake(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        // Half a ServerHello, then RST.
        let _ = s.write_all(&[0x16, 0x03, 0x03, 0x00, 0x50, 0x02, 0x00, 0x00, 0x4c, 0x03, 0x03]).await;
        let _ = s.set_zero_linger();
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(v13(&r).status, VersionStatus::Rejected);
    assert!(matches!(v13(&r).failure, Some(HandshakeFailure::Reset | HandshakeFailure::Closed)), "{:?}", v13(&r));
    assert!(r.tls.as_ref().unwrap().speaks_tls);
}

#[tokio::test]
async fn plaintext_server_answering_pong_to_a_tls_hello() {
    let port = fake(|mut s| async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(b"+PONG\r\n").await.is_err() {
                return;
            }
        }
    })
    .await;
    let r = scan(port, None, &short_context()).await;
    assert_eq!(plain(&r).status, PingStatus::Pong);
    // The TLS probe itself, aimed at it, says "not TLS" and shows what came back.
    let settings = redis_tls_scan::probe::tls::TlsSettings::new(None).unwrap();
    let budget = redis_tls_scan::probe::Budget::new(
        Duration::from_secs(1),
        Duration::from_secs(1),
        Duration::from_secs(5),
        None,
    );
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let identity = redis_tls_scan::probe::Identity::new(addr.ip(), None);
    let out = redis_tls_scan::probe::tls::probe(addr, &identity, &settings, &budget).await;
    let v = out.result.versions.get(&TlsVersion::Tls13).unwrap();
    assert_eq!(v.failure, Some(HandshakeFailure::NotTls));
    assert_eq!(v.detail.as_deref(), Some("reply: +PONG\\x0d\\x0a"));
    assert!(out.hopeless);
}

#[test]
fn a_sweep_through_the_zoo_leaves_the_honest_endpoint_intact() {
    // The zoo runs in its own runtime thread; the binary sweeps it together with a real Redis.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let mut ports = vec![
                fake(|s| async move {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop(s);
                })
                .await,
                fake(|mut s| async move {
                    let _ = s.write_all(&vec![b'A'; 1 << 20]).await;
                    tokio::time::sleep(Duration::from_secs(10)).await;
                })
                .await,
                fake(|s| async move {
                    let _ = s.set_zero_linger();
                })
                .await,
                fake(|mut s| async move {
                    for _ in 0..60 {
                        if s.write_all(b"-").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                })
                .await,
            ];
            ports.push(replying(b"HTTP/1.1 400 Bad Request\r\n\r\n").await);
            tx.send(ports).unwrap();
            tokio::time::sleep(Duration::from_secs(120)).await;
        });
    });
    let zoo = rx.recv().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let honest = redis(dir.path(), RedisConf { plaintext: true, ..Default::default() });
    let targets: Vec<String> = zoo.iter().chain([&honest.port]).map(|p| format!("127.0.0.1:{p}")).collect();
    let out = dir.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
        .arg("scan")
        .args(&targets)
        .args(["-q", "--read-timeout", "1s", "--endpoint-timeout", "4s", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["scan"]["counts"]["scanned"], 6);
    let eps = r["endpoints"].as_array().unwrap();
    let honest_rec = eps.iter().find(|e| e["port"] == honest.port).unwrap();
    assert_eq!(honest_rec["plaintext"]["status"], "pong");
    assert_eq!(honest_rec["findings"][0]["id"], "unauthenticated_access");
    for e in eps {
        assert!(e["duration_ms"].as_u64().unwrap() <= 4000 + 500, "{e}");
    }
}
