//! Accuracy on real servers that real fleets contain: Redis and Valkey in protected mode (seen from a
//! non-loopback address inside a private network namespace), Valkey's wording, RSA-1024 and SHA-1 servers,
//! peers that dribble, TLS services that never answer PING, servers that serve one connection at a time,
//! and the cluster bus's own row.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use redis_tls_scan::model::*;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::support::*;

/// The binary's path, to run inside a namespace.
fn exe() -> String {
    env!("CARGO_BIN_EXE_redis-tls-scan").to_string()
}

fn finding_ids(e: &Value) -> Vec<String> {
    e["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
}

/// Starts `server` (redis-server or valkey-server) inside `ns`, bound to the namespace's non-loopback
/// address, with `args`.
fn server_in(ns: &Netns, server: &Path, dir: &Path, args: &[&str]) -> Peer {
    let port = 6379;
    let mut cmd = ns.command(server);
    cmd.args(["--bind", NETNS_ADDR, "--port", "6379", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
    cmd.args(["--logfile", ""]).arg("--dir").arg(dir).args(args);
    let child = spawn_ready(cmd, "Ready to accept connections").expect("server in the namespace");
    Peer::from_child(child, port)
}

/// Scans `NETNS_ADDR:port` from inside `ns` with the binary; returns the endpoint's record.
fn scan_in(ns: &Netns, port: u16, out: &Path) -> Value {
    let o = ns
        .command(exe())
        .args(["scan", &format!("{NETNS_ADDR}:{port}"), "--allow-reserved", "-q", "--read-timeout", "2s", "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.code() == Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(out);
    r["endpoints"].as_array().unwrap().first().cloned().expect("the endpoint is listed")
}

/// Protected mode as Redis really sends it: the ~1.1 KB `-DENIED` line written on accept, then a close.
#[test]
fn protected_mode_of_a_real_redis_and_valkey_from_a_non_loopback_address() {
    require("redis-server");
    let valkey = valkey_server();
    let dir = tempfile::tempdir().unwrap();
    // Redis 7 (src/networking.c) and Valkey 8.1 word it differently; both are `denied`.
    for (server, product, text) in [
        (Path::new("/usr/bin/redis-server").to_path_buf(), "Redis", "-DENIED Redis is running in protected mode"),
        (valkey, "Valkey", "-DENIED Running in protected mode"),
    ] {
        let ns = Netns::new();
        let _peer = server_in(&ns, &server, dir.path(), &["--protected-mode", "yes"]);
        let e = scan_in(&ns, 6379, &dir.path().join(format!("out-{product}")));
        assert_eq!(e["plaintext"]["status"], "denied", "{product}: {e}");
        let reply = e["plaintext"]["reply"].as_str().unwrap();
        assert!(reply.starts_with(text), "{reply}");
        // The kept reply stays capped although the line is longer.
        assert!(reply.len() <= 203, "{}", reply.len());
        assert_eq!(finding_ids(&e), vec!["plaintext_enabled"], "{product}");
        // Redis has no STARTTLS: no handshake is attempted on a port that answered RESP.
        assert_eq!(e["connections"], 1);
    }
}

/// The same servers without protected mode, from the same non-loopback address: open, and with a
/// password.
#[test]
fn valkey_open_and_with_a_password_in_its_own_wording() {
    let valkey = valkey_server();
    let dir = tempfile::tempdir().unwrap();
    let ns = Netns::new();
    {
        let _peer = server_in(&ns, &valkey, dir.path(), &["--protected-mode", "no"]);
        let e = scan_in(&ns, 6379, &dir.path().join("open"));
        assert_eq!(e["plaintext"]["status"], "pong");
        assert_eq!(finding_ids(&e), vec!["unauthenticated_access", "plaintext_enabled"]);
    }
    let _peer = server_in(&ns, &valkey, dir.path(), &["--requirepass", "s3cret"]);
    let e = scan_in(&ns, 6379, &dir.path().join("password"));
    assert_eq!(e["plaintext"]["status"], "noauth");
    assert_eq!(e["plaintext"]["reply"], "-NOAUTH Authentication required.");
    assert_eq!(finding_ids(&e), vec!["plaintext_enabled"]);
}

/// Valkey on loopback through the library pipeline: `-NOPERM` when the default user needs no password but
/// may not PING proves unauthenticated access.
#[tokio::test]
async fn noperm_from_a_real_valkey_is_unauthenticated_access() {
    let valkey = valkey_server();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(valkey);
    cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--daemonize", "no"]);
    cmd.args(["--logfile", "", "--user", "default", "on", "nopass", "~*", "+@all", "-ping"])
        .arg("--dir")
        .arg(dir.path());
    let _peer = Peer::from_child(spawn_ready(cmd, "Ready to accept connections").unwrap(), port);
    let r = scan(port, None, &context(Pki::new().anchors())).await;
    let p = r.plaintext.as_ref().unwrap();
    assert_eq!(p.status, PingStatus::Noperm, "{p:?}");
    assert!(r.is_redis());
    assert_eq!(ids(&r), vec![FindingId::UnauthenticatedAccess, FindingId::PlaintextEnabled]);
}

/// A Redis whose certificate has an RSA-1024 key (OpenSSL's security level lowered so it can load it):
/// the handshake completes, PING over TLS and client auth are known, the chain is valid, the key is a
/// finding.
#[tokio::test]
async fn redis_with_an_rsa_1024_key_completes_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("rsa1024", 1024, "sha256");
    // Strong suites only, so that the weak key is the one weakness.
    let strong = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0";
    let mut conf = tls_conf(files, &[("tls-auth-clients", "no"), ("tls-ciphers", strong)]);
    conf.env.push(("OPENSSL_CONF".into(), seclevel0_conf(dir.path()).display().to_string()));
    let server = redis(dir.path(), conf);
    let r = scan(server.port, None, &context(ca.anchors())).await;
    let t = r.tls.as_ref().unwrap();
    let c = r.certificate.as_ref().unwrap();
    assert_eq!((c.leaf.key_type.as_str(), c.leaf.key_bits), ("RSA", Some(1024)));
    assert_eq!(c.trust.reasons, vec![], "valid chain; the weak key is a finding, not a trust failure");
    assert_eq!(t.ping.as_ref().unwrap().status, PingStatus::Pong);
    assert_eq!(t.client_auth, ClientAuth::None);
    for v in [TlsVersion::Tls12, TlsVersion::Tls13] {
        assert_eq!(t.versions[&v].status, VersionStatus::Accepted, "{v:?}");
        assert_eq!(t.versions[&v].failure, None, "{v:?}");
    }
    assert_eq!(
        ids(&r),
        vec![FindingId::UnauthenticatedAccess, FindingId::CertWeakKey, FindingId::ClientAuthNotRequired]
    );
}

/// A self-signed RSA-1024 certificate made with `openssl req -x509` (CA:TRUE), served by s_server: trusted
/// as the anchor it names the weak key; not trusted, it names the unknown issuer (not `other`).
#[tokio::test]
async fn self_signed_rsa_1024_names_the_real_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("ss.crt"), dir.path().join("ss.key"));
    let st = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-sha256", "-days", "30", "-subj", "/CN=ss"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(st.status.success());
    let server = s_server(&cert, &key, &["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let as_anchor = OpensslCa { dir: dir.path().to_path_buf(), cert: cert.clone(), key: key.clone() };
    let r = scan(server.port, None, &context(as_anchor.anchors())).await;
    let c = r.certificate.as_ref().unwrap();
    assert!(c.leaf.self_signed);
    assert_eq!(c.trust.reasons, vec![TrustReason::WeakKey]);
    assert_eq!(r.tls.as_ref().unwrap().ping.as_ref().unwrap().status, PingStatus::NotResp, "PING went through");
    let r = scan(server.port, None, &context(Pki::new().anchors())).await;
    assert_eq!(r.certificate.as_ref().unwrap().trust.reasons, vec![TrustReason::UnknownIssuer, TrustReason::WeakKey]);
    assert!(ids(&r).contains(&FindingId::CertSelfSigned));
}

/// A TLS 1.2 server that signs its handshake with SHA-1 only (`-sigalgs RSA+SHA1`): verified for real.
#[tokio::test]
async fn sha1_handshake_signature_in_tls_1_2_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("sha1hs", 2048, "sha256");
    let server =
        s_server(&files.cert, &files.key, &["-tls1_2", "-sigalgs", "RSA+SHA1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let r = scan(server.port, None, &context(ca.anchors())).await;
    let t = r.tls.as_ref().unwrap();
    assert_eq!(t.versions[&TlsVersion::Tls12].status, VersionStatus::Accepted);
    assert_eq!(t.versions[&TlsVersion::Tls12].failure, None);
    assert_eq!(t.ping.as_ref().unwrap().status, PingStatus::NotResp, "the session carried PING");
    assert_eq!(r.certificate.as_ref().unwrap().trust.reasons, vec![]);
}

/// A peer that dribbles one byte every two seconds: one read timeout bounds the whole reply, not each byte.
#[tokio::test]
async fn a_dribbling_peer_costs_one_read_timeout_per_reply() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                // Looks like the start of a RESP status, or of a TLS record: never completes.
                for b in b"+PONGPONGPONGPONG" {
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        }
    });
    let mut ctx = context(Pki::new().anchors());
    ctx.read_timeout = Duration::from_secs(1);
    ctx.endpoint_timeout = Duration::from_secs(60);
    let r = scan(port, None, &ctx).await;
    assert_eq!(r.plaintext.as_ref().unwrap().status, PingStatus::NotResp);
    // Plaintext reply: 1 s; both TLS handshakes at once: 1 s (the dribble is not TLS).
    assert!(r.duration_ms < 2_800, "{} ms", r.duration_ms);
    assert!(!r.deadline_exceeded);
}

/// A TLS service that completes handshakes but never answers PING (an HTTPS-like server, a proxy to
/// nothing), served one connection at a time by `openssl s_server`: PING once, one read timeout in all,
/// and both versions still seen as accepted.
#[tokio::test]
async fn a_tls_service_silent_to_ping_costs_one_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("silent", 2048, "sha256");
    // Without -rev/-www, s_server prints what it gets and answers nothing.
    let server = s_server_with(&files.cert, &files.key, &[], &[], false);
    let mut ctx = context(ca.anchors());
    ctx.read_timeout = Duration::from_secs(2);
    let start = Instant::now();
    let r = scan(server.port, None, &ctx).await;
    let took = start.elapsed();
    let t = r.tls.as_ref().unwrap();
    assert_eq!(t.ping.as_ref().unwrap().status, PingStatus::Silent);
    assert!(took < Duration::from_millis(3_000), "{took:?}: more than one read timeout");
    assert_eq!(t.versions[&TlsVersion::Tls13].status, VersionStatus::Accepted);
    assert_eq!(t.versions[&TlsVersion::Tls12].status, VersionStatus::Accepted);
}

/// One connection at a time and an answer to PING (`s_server -rev`): the concurrent handshakes do not
/// wait on each other.
#[tokio::test]
async fn a_server_of_one_connection_at_a_time_is_not_slowed_down() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("serial", 2048, "sha256");
    let server = s_server(&files.cert, &files.key, &[]);
    let mut ctx = context(ca.anchors());
    ctx.read_timeout = Duration::from_secs(2);
    let r = scan(server.port, None, &ctx).await;
    assert!(r.duration_ms < 1_500, "{} ms", r.duration_ms);
    let t = r.tls.as_ref().unwrap();
    assert_eq!(t.versions[&TlsVersion::Tls12].status, VersionStatus::Accepted);
    assert_eq!(t.versions[&TlsVersion::Tls12].failure, None);
}

/// A listener that accepts and resets at once is an open port whose answer is a reset.
#[tokio::test]
async fn accept_then_reset_is_an_open_port() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let _ = s.set_zero_linger();
            drop(s);
        }
    });
    let r = scan(port, None, &context(Pki::new().anchors())).await;
    assert_eq!(r.reachability, Reachability::Open);
    assert_eq!(r.plaintext.as_ref().unwrap().status, PingStatus::Reset);
}

/// A TLS 1.0-only server that wants a client certificate: rustls cannot finish a handshake, the raw
/// probe's clear-text flight shows the CertificateRequest.
#[tokio::test]
async fn client_auth_from_the_raw_flight_of_a_tls_1_0_server() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(dir.path());
    let files = ca.leaf("tls10", 2048, "sha256");
    let conf = seclevel0_conf(dir.path());
    for (verify, want) in [(Some("-Verify"), ClientAuth::Requested), (None, ClientAuth::None)] {
        let mut args = vec!["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"];
        if let Some(v) = verify {
            args.extend([v, "1", "-CAfile"]);
            args.push(files.ca.to_str().unwrap());
        }
        let server = s_server_with(&files.cert, &files.key, &args, &[("OPENSSL_CONF", conf.to_str().unwrap())], true);
        let r = scan(server.port, None, &context(ca.anchors())).await;
        let t = r.tls.as_ref().unwrap();
        assert_eq!(t.versions[&TlsVersion::Tls10].status, VersionStatus::Accepted);
        assert_eq!(t.client_auth, want, "{verify:?}");
    }
}

/// A TCP proxy in front of a real server that stalls chosen connections (held open, nothing forwarded,
/// for longer than the read timeout): how a busy single-threaded TLS server looks to a scanner.
/// Which connections (by 1-based number) to stall.
type StallRule = std::sync::Arc<std::sync::Mutex<Box<dyn Fn(usize) -> bool + Send>>>;

struct Stalling {
    port: u16,
    /// Connections counted so far (1-based numbers are given in accept order).
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Stall connection number n when `stall(n)`.
    rule: StallRule,
}

impl Stalling {
    async fn new(upstream: u16) -> Self {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let rule: StallRule = std::sync::Arc::new(std::sync::Mutex::new(Box::new(|_| false)));
        let (c, r) = (count.clone(), rule.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let stall = (r.lock().unwrap())(n);
                tokio::spawn(async move {
                    if stall {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        return;
                    }
                    if let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                    }
                });
            }
        });
        Self { port, count, rule }
    }

    fn set(&self, rule: impl Fn(usize) -> bool + Send + 'static) {
        self.count.store(0, std::sync::atomic::Ordering::SeqCst);
        *self.rule.lock().unwrap() = Box::new(rule);
    }
}

fn suites_of(r: &EndpointRecord) -> Vec<(TlsVersion, Vec<String>)> {
    r.tls
        .as_ref()
        .unwrap()
        .versions
        .iter()
        .map(|(v, p)| (*v, p.cipher_suites.iter().map(|s| s.name.clone()).collect()))
        .collect()
}

/// Scans through the proxy with the binary; the report's endpoint.
async fn scan_bin(port: u16, ca: &Path, out: &Path) -> Value {
    let (ca, out) = (ca.to_path_buf(), out.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let o = bin()
            .args(["scan", &format!("127.0.0.1:{port}"), "-q", "--read-timeout", "700ms", "--ca-file"])
            .arg(&ca)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
        report(&out)
    })
    .await
    .unwrap()
}

/// A busy server: stalled steps in the middle of an enumeration are retried, and the lists equal an
/// unloaded scan's; when the server stays stalled, the record says `incomplete` and `diff` reads the
/// missing suites and the findings they carried as unknown, never as removed or resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_gives_the_same_lists_or_says_incomplete() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = redis(dir.path(), open_tls(pki.server("busy", 90)));
    let mut ctx = context(pki.anchors());
    ctx.read_timeout = Duration::from_millis(700);
    let quiet = scan(server.port, None, &ctx).await;
    let proxy = Stalling::new(server.port).await;
    // Two stalled connections in the middle of the sweep of hellos.
    proxy.set(|n| n == 12 || n == 20);
    let busy = scan(proxy.port, None, &ctx).await;
    assert!(proxy.count.load(std::sync::atomic::Ordering::SeqCst) >= 20, "the stalls happened");
    assert_eq!(suites_of(&busy), suites_of(&quiet), "retries recovered every suite");
    for (v, p) in &busy.tls.as_ref().unwrap().versions {
        assert_ne!(p.enumeration, Enumeration::Incomplete, "{v:?}");
    }

    // Complete, then stalled for good after a few connections.
    proxy.set(|_| false);
    let before = scan_bin(proxy.port, &pki.ca_file, &dir.path().join("before")).await;
    proxy.set(|n| n > 10);
    let after = scan_bin(proxy.port, &pki.ca_file, &dir.path().join("after")).await;
    let e = &after["endpoints"][0];
    let incomplete = e["tls"]["versions"].as_object().unwrap().values().any(|p| p["enumeration"] == "incomplete");
    assert!(incomplete, "{e}");
    assert!(finding_ids(&before["endpoints"][0]).contains(&"weak_cipher".to_string()));
    let o =
        bin().args(["diff", "--json"]).arg(dir.path().join("before")).arg(dir.path().join("after")).output().unwrap();
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["suites_removed"], serde_json::json!([]), "{d}");
    assert!(!d["suites_unknown"].as_array().unwrap().is_empty(), "{d}");
    let resolved: Vec<&str> =
        d["findings_resolved"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(!resolved.contains(&"weak_cipher"), "{d}");
}
