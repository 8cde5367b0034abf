//! `demo`: starts, in this process and on loopback only, endpoints that show the threats the scanner
//! looks for, then scans them through the real pipeline. A zero-setup tour of the reports.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::cert::{TrustAnchors, sha256_hex};
use crate::cli::DemoArgs;
use crate::endpoints::{Interval, Plan, Resolved};
use crate::finding::Rules;
use crate::model::{FileProof, TrustSource};
use crate::pki::{Authority, LeafSpec};
use crate::probe::raw::CipherScan;
use crate::probe::tls::TlsSettings;
use crate::scan::Order;
use crate::setup::{Parts, Setup, SetupError};

/// One demo endpoint: where it listens and what it shows.
#[derive(Debug, Clone)]
pub struct DemoEndpoint {
    /// Loopback address.
    pub addr: SocketAddr,
    /// What it demonstrates.
    pub description: &'static str,
}

/// What a fake Redis answers to every command line.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Pong,
    NoAuth,
}

impl Reply {
    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Pong => b"+PONG\r\n",
            Self::NoAuth => b"-NOAUTH Authentication required.\r\n",
        }
    }
}

/// Answers each chunk that ends a command line with `reply`; gives up after 64 KiB or 10 s of silence.
async fn serve_resp<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, reply: Reply) {
    let mut buf = [0u8; 4096];
    let mut total = 0usize;
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        total += n;
        if total > 65_536 {
            return;
        }
        if buf.get(..n).is_some_and(|b| b.contains(&b'\n')) && s.write_all(reply.bytes()).await.is_err() {
            return;
        }
    }
}

/// The default port (`demo --port`) every demo endpoint listens on when it is free, so that two demo runs name the same
/// endpoints (and `diff` of two runs shows no change); a free port is taken otherwise.
pub const DEMO_PORT: u16 = 36379;

/// Each demo endpoint gets its own loopback address (127.0.0.N), as separate servers would: one shared
/// address would make the host-level pass see one host serving plaintext and TLS (mixed mode).
async fn listen(host: u8, port: u16) -> Result<TcpListener, SetupError> {
    let ip = Ipv4Addr::new(127, 0, 0, host);
    if let Ok(l) = TcpListener::bind((ip, port)).await {
        return Ok(l);
    }
    match TcpListener::bind((ip, 0)).await {
        Ok(l) => Ok(l),
        // Systems where only 127.0.0.1 is usable.
        Err(_) => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| SetupError::Invalid(format!("demo: cannot listen on 127.0.0.1: {e}"))),
    }
}

/// A plaintext fake Redis.
async fn plaintext(host: u8, port: u16, reply: Reply) -> Result<SocketAddr, SetupError> {
    let l = listen(host, port).await?;
    let addr = l.local_addr().map_err(|e| SetupError::Invalid(e.to_string()))?;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve_resp(s, reply));
        }
    });
    Ok(addr)
}

/// A TLS fake Redis (TLS 1.2 and 1.3), optionally requiring a client certificate from `client_ca`.
async fn tls(
    host: u8,
    port: u16,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: Option<CertificateDer<'static>>,
    reply: Reply,
) -> Result<SocketAddr, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let bad = |e: &dyn std::fmt::Display| SetupError::Invalid(format!("demo TLS server: {e}"));
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| bad(&e))?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca).map_err(|e| bad(&e))?;
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(|e| bad(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| bad(&e))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = listen(host, port).await?;
    let addr = l.local_addr().map_err(|e| SetupError::Invalid(e.to_string()))?;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(s)).await {
                    serve_resp(tls, reply).await;
                }
            });
        }
    });
    Ok(addr)
}

/// Starts the demo endpoints and returns the setup that scans them, with their descriptions.
///
/// # Errors
/// When a loopback listener or a certificate cannot be made.
pub async fn prepare(args: &DemoArgs, command_line: Vec<String>) -> Result<(Setup, Vec<DemoEndpoint>), SetupError> {
    let pki = |e: crate::pki::Error| SetupError::Invalid(format!("demo certificates: {e}"));
    // Reproducible certificates (keys, serials and validity fixed for the day): two runs compare equal.
    let day = crate::pki::today();
    let ca = Authority::seeded("redis-tls-scan demo CA", day).map_err(pki)?;
    let mut good_spec = LeafSpec::server("redis-demo", &["127.0.0.3", "127.0.0.5", "localhost"], 365);
    (good_spec.not_before, good_spec.not_after) = (day - time::Duration::days(1), day + time::Duration::days(365));
    let good = ca.issue_seeded(&good_spec).map_err(pki)?;
    let mut expired_spec = LeafSpec::server("redis-demo-expired", &["127.0.0.4", "localhost"], 0);
    expired_spec.not_before = day - time::Duration::days(400);
    expired_spec.not_after = day - time::Duration::days(12);
    let expired = ca.issue_seeded(&expired_spec).map_err(pki)?;

    let endpoints = vec![
        DemoEndpoint {
            addr: plaintext(1, args.port, Reply::Pong).await?,
            description: "plaintext Redis, no password: anyone on the path reads and writes the data",
        },
        DemoEndpoint {
            addr: plaintext(2, args.port, Reply::NoAuth).await?,
            description: "plaintext Redis with a password: the password itself crosses in clear",
        },
        DemoEndpoint {
            addr: tls(3, args.port, vec![good.cert.clone()], good.key.clone_key(), None, Reply::NoAuth).await?,
            description: "TLS with a valid chain from the demo CA and a password, but no client certificate required",
        },
        DemoEndpoint {
            addr: tls(4, args.port, vec![expired.cert.clone()], expired.key.clone_key(), None, Reply::Pong).await?,
            description: "TLS with an expired certificate and no password",
        },
        DemoEndpoint {
            addr: tls(5, args.port, vec![good.cert.clone()], good.key.clone_key(), Some(ca.cert.clone()), Reply::Pong)
                .await?,
            description: "TLS requiring a client certificate (Redis' default tls-auth-clients yes)",
        },
    ];

    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.clone()).map_err(|e| SetupError::Invalid(e.to_string()))?;
    let anchors = TrustAnchors::new(roots);
    let resolved: Vec<Resolved> = endpoints
        .iter()
        .map(|e| Resolved {
            intervals: vec![Interval::new(e.addr.ip(), e.addr.ip())],
            port: Some(e.addr.port()),
            name: None,
        })
        .collect();
    let plan = Plan::build(&resolved, &[], &[]);
    let trust = TrustSource {
        roots: "none".into(),
        ca_files: vec![FileProof {
            path: "(in memory) redis-tls-scan demo CA".into(),
            sha256: sha256_hex(ca.cert.as_ref()),
        }],
        anchors: 1,
    };
    debug_assert!(endpoints.iter().all(|e| e.addr.ip().is_loopback()));
    // The same constructor as a scan's: only the parts differ.
    let setup = Setup::assemble(Parts {
        plan,
        order: Order::default(),
        sharded: false,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        endpoint_timeout: Duration::from_secs(10),
        sni: None,
        tls: TlsSettings::new(None).map_err(|e| SetupError::Invalid(e.to_string()))?,
        anchors: (anchors, trust),
        client_certificate: None,
        warn_days: Rules::default().warn_days,
        cipher_scan: CipherScan::Full,
        rate: 0,
        host_concurrency: 8,
        concurrency: 8,
        output: args.output.clone(),
        output_prefix: "demo-",
        include_closed: false,
        fail_on: None,
        quiet: args.quiet,
        progress: false,
        prometheus: None,
        command_line,
        targets: endpoints.iter().map(|e| format!("{} (demo: {})", e.addr, e.description)).collect(),
        ports: Vec::new(),
        exclusions: Vec::new(),
        unresolved: Vec::new(),
        reserved_excluded: true,
        scanner_host: String::from("demo"),
        warnings: Vec::new(),
        audit: None,
        follow: None,
    })?;
    Ok((setup, endpoints))
}
