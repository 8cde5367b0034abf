//! The rustls probe: one handshake offering only TLS 1.3, one offering only TLS 1.2, a `PING` over each
//! session, and (with `--client-cert`) one more handshake presenting the client certificate.
//!
//! The handshake is driven by hand over the TCP socket instead of through tokio-rustls, so that after a
//! failure we still hold the connection state (which version the server chose, whether it asked for a
//! client certificate) and the first bytes it sent (a plaintext `-ERR` or an HTTP banner tells "not TLS").
//! Every read is capped and bounded by the endpoint's [`Budget`].

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, ClientConfig, ClientConnection, PeerIncompatible, ProtocolVersion};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::danger::{RecordingResolver, RecordingVerifier};
use super::resp::{self, PING};
use super::{Budget, ReadEnd, connect, io_end, read_by};
use crate::cert::KeyProof;
use crate::model::Reachability;
use crate::model::{
    Alert, ClientAuth, Enumeration, HandshakeFailure, KeyExchange, Negotiated, PingResult, PingStatus, TlsResult,
    TlsVersion, VersionProbe, VersionStatus,
};
use crate::text::escape_bytes;

/// Most bytes read from one TLS connection: a generous certificate chain plus a PING reply.
const TLS_READ_CAP: usize = 256 * 1024;

/// Settings shared by every TLS probe of a scan; built once.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The crypto provider (ring).
    pub provider: Arc<CryptoProvider>,
    /// Client certificate and key to present in the extra handshake, if configured.
    pub client_key: Option<Arc<CertifiedKey>>,
}

impl TlsSettings {
    /// Settings with the ring provider and an optional client certificate.
    ///
    /// # Errors
    /// When the key does not parse or does not match the certificate.
    pub fn new(client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>) -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client_key = match client {
            Some((chain, key)) => Some(Arc::new(CertifiedKey::from_der(chain, key, &provider)?)),
            None => None,
        };
        Ok(Self { provider, client_key })
    }
}

/// What the TLS stage learned about an endpoint.
#[derive(Debug, Clone)]
pub struct TlsOutcome {
    /// The report part.
    pub result: TlsResult,
    /// The chain as sent (leaf first), from the best handshake that received one.
    pub chain: Vec<CertificateDer<'static>>,
    /// TCP connections used.
    pub connections: u32,
    /// The TLS 1.3 hello got no TLS reply at all (not TLS, or silent): further hellos are pointless.
    pub hopeless: bool,
    /// Whether a verified handshake proved the server holds the key of `chain`'s leaf.
    pub key_proof: KeyProof,
}

/// One handshake's outcome.
#[derive(Debug, Clone)]
struct Handshake {
    probe: VersionProbe,
    /// The server sent TLS records (a ServerHello or an alert).
    tls_reply: bool,
    requested_client_cert: bool,
    /// The server refused us for lacking a client certificate.
    refused_without_cert: bool,
    chain: Vec<CertificateDer<'static>>,
    /// A handshake signature by the chain's key verified.
    key_proven: bool,
    /// Why the handshake signature did not verify, if rustls checked it and it failed.
    signature_error: Option<String>,
    negotiated: Option<Negotiated>,
    ping: Option<PingResult>,
}

/// Runs the TLS stage: the TLS 1.3 and TLS 1.2 handshakes at once, one `PING` on the best session that
/// completed, then the client-certificate handshake (with its own `PING`) if configured. A TLS service
/// that never answers `PING` costs one read timeout, not one per session.
pub async fn probe(addr: SocketAddr, name: Option<&str>, settings: &TlsSettings, budget: &Budget) -> TlsOutcome {
    let server_name = server_name(addr, name);
    let mut versions: std::collections::BTreeMap<TlsVersion, VersionProbe> =
        TlsVersion::ALL.iter().map(|v| (*v, VersionProbe::not_tested())).collect();
    // The TLS 1.3 session PINGs as soon as its handshake completes and is then closed, while the TLS 1.2
    // handshake runs: a server that serves one connection at a time (openssl s_server, some proxies) gets
    // to the second connection without waiting for us. The 1.2 session PINGs only when 1.3 did not
    // complete.
    let newest = async {
        let mut o = open(addr, &server_name, TlsVersion::Tls13, None, settings, budget).await;
        if let Some(mut s) = o.session.take() {
            ping_on(&mut o.hs, &mut s, false).await;
        }
        o
    };
    let (o13, mut o12) = tokio::join!(newest, open(addr, &server_name, TlsVersion::Tls12, None, settings, budget));
    if o13.hs.ping.is_none()
        && let Some(mut s) = o12.session.take()
    {
        ping_on(&mut o12.hs, &mut s, false).await;
    }
    drop(o12.session.take());
    let mut connections = o13.connections + o12.connections;
    let mut done = Vec::new();
    for (version, opened) in [(TlsVersion::Tls13, o13), (TlsVersion::Tls12, o12)] {
        versions.insert(version, opened.hs.probe.clone());
        done.push((version, opened.hs));
    }
    let accepted = |h: &Handshake| h.probe.status == VersionStatus::Accepted;
    let best = done.iter().find(|(_, h)| accepted(h) && h.negotiated.is_some());
    let best_version = done.iter().find(|(_, h)| accepted(h)).map(|(v, _)| *v);

    let mut ping_with_client_cert = None;
    let mut with_cert = None;
    if let (Some(key), Some(v)) = (&settings.client_key, best_version)
        && !budget.expired()
    {
        let mut opened = open(addr, &server_name, v, Some(key.clone()), settings, budget).await;
        connections += opened.connections;
        if let Some(mut s) = opened.session.take() {
            ping_on(&mut opened.hs, &mut s, true).await;
        }
        let hs = opened.hs;
        ping_with_client_cert =
            hs.ping.clone().or_else(|| Some(PingResult { status: PingStatus::Failed, reply: hs.probe.detail.clone() }));
        with_cert = Some(hs);
    }
    // The chain of a handshake whose signature verified; else any chain, with why it is unproven.
    let all: Vec<&Handshake> = done.iter().map(|(_, h)| h).chain(with_cert.as_ref()).collect();
    let proven = all.iter().find(|h| h.key_proven && !h.chain.is_empty());
    let (chain, key_proof) = match proven {
        Some(h) => (h.chain.clone(), KeyProof::Proven),
        None => match all.iter().find(|h| !h.chain.is_empty()) {
            Some(h) => (h.chain.clone(), h.signature_error.clone().map_or(KeyProof::Unverified, KeyProof::Failed)),
            None => (Vec::new(), KeyProof::Unverified),
        },
    };

    let client_auth = decide_client_auth(&AuthFacts {
        accepted: done.iter().any(|(_, h)| accepted(h)),
        completed: done.iter().any(|(_, h)| h.negotiated.is_some()),
        requested: done.iter().any(|(_, h)| h.requested_client_cert),
        answered_without_cert: done.iter().any(|(_, h)| h.ping.as_ref().is_some_and(|p| p.status.is_redis())),
        refused_without_cert: done.iter().any(|(_, h)| h.refused_without_cert),
    });
    let ping = best.and_then(|(_, h)| h.ping.clone()).or_else(|| {
        best_version
            .and_then(|v| done.iter().find(|(dv, _)| *dv == v))
            .map(|(_, h)| PingResult { status: PingStatus::Failed, reply: h.probe.detail.clone() })
    });
    let groups: Vec<String> = done.iter().filter_map(|(_, h)| h.probe.key_exchange_group.clone()).collect();
    let result = TlsResult {
        key_exchange: KeyExchange { groups: dedup(groups), ..KeyExchange::default() },
        speaks_tls: done.iter().any(|(_, h)| h.tls_reply),
        versions,
        negotiated: best.and_then(|(_, h)| h.negotiated.clone()),
        client_auth,
        ping,
        ping_with_client_cert,
    };
    let hopeless = !result.speaks_tls
        && done
            .iter()
            .all(|(_, h)| matches!(h.probe.failure, Some(HandshakeFailure::NotTls | HandshakeFailure::Timeout)));
    TlsOutcome { result, chain, connections, hopeless, key_proof }
}

/// What the handshakes without a client certificate showed about client authentication.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthFacts {
    /// A handshake got a ServerHello for the version it offered.
    pub accepted: bool,
    /// A handshake completed.
    pub completed: bool,
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// PING got a Redis reply without a certificate.
    pub answered_without_cert: bool,
    /// The server alerted, closed or reset when we went on without a certificate.
    pub refused_without_cert: bool,
}

/// The client-auth policy the handshakes prove. "Never asked" needs a completed handshake: a server that
/// stopped early might have asked later.
pub fn decide_client_auth(f: &AuthFacts) -> ClientAuth {
    if !f.accepted {
        ClientAuth::Unknown
    } else if !f.requested {
        if f.completed { ClientAuth::None } else { ClientAuth::Unknown }
    } else if f.answered_without_cert {
        ClientAuth::Optional
    } else if f.refused_without_cert {
        ClientAuth::Required
    } else {
        ClientAuth::Unknown
    }
}

/// Completes an unknown policy from the raw probe's clear-text TLS ≤ 1.2 flight, for servers rustls could
/// not finish a handshake with: a complete flight with or without a CertificateRequest.
pub fn with_raw_flight(policy: ClientAuth, raw_request: Option<bool>) -> ClientAuth {
    match (policy, raw_request) {
        (ClientAuth::Unknown, Some(true)) => ClientAuth::Requested,
        (ClientAuth::Unknown, Some(false)) => ClientAuth::None,
        (p, _) => p,
    }
}

/// The TLS result for a port that answered plaintext RESP: Redis has no STARTTLS, so a port that speaks
/// RESP in the clear cannot speak TLS, and no handshake is attempted (a ClientHello would only wait for a
/// newline that never comes: Redis' inline parser stops at the hello's first NUL byte).
pub fn skipped_for_plaintext() -> TlsResult {
    let mut probe = VersionProbe::not_tested();
    probe.detail = Some("not attempted: the port answered PING in plaintext".into());
    TlsResult {
        speaks_tls: false,
        versions: TlsVersion::ALL.iter().map(|v| (*v, probe.clone())).collect(),
        negotiated: None,
        client_auth: ClientAuth::Unknown,
        ping: None,
        ping_with_client_cert: None,
        key_exchange: KeyExchange::default(),
    }
}

/// Sorted, without repeats.
pub fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The name rustls verifies against and sends as SNI: a DNS name, or the IP (rustls sends no SNI then).
fn server_name(addr: SocketAddr, name: Option<&str>) -> ServerName<'static> {
    name.and_then(|n| ServerName::try_from(n.to_string()).ok()).unwrap_or_else(|| ServerName::from(addr.ip()))
}

/// Why the session stopped.
#[derive(Debug)]
enum Stop {
    Tls(rustls::Error),
    Io(ReadEnd),
    TooMuch,
}

/// Per-connection state: socket, rustls connection, byte accounting.
struct Session<'a> {
    sock: TcpStream,
    conn: ClientConnection,
    budget: &'a Budget,
    first_bytes: Vec<u8>,
    read_total: usize,
    /// When the peer's answer to what we last sent must have arrived in full (a whole handshake flight,
    /// a whole PING reply): one read timeout from our last write, however the bytes trickle in.
    reply_deadline: tokio::time::Instant,
}

impl<'a> Session<'a> {
    fn new(sock: TcpStream, conn: ClientConnection, budget: &'a Budget) -> Self {
        Self { sock, conn, budget, first_bytes: Vec::new(), read_total: 0, reply_deadline: budget.reply_deadline() }
    }

    /// Sends whatever rustls has queued (handshake messages, alerts, application data), and starts the
    /// clock for the peer's answer.
    async fn flush(&mut self) -> Result<(), Stop> {
        if self.conn.wants_write() {
            self.reply_deadline = self.budget.reply_deadline();
        }
        while self.conn.wants_write() {
            let mut out = Vec::new();
            self.conn.write_tls(&mut out).map_err(|_| Stop::Io(ReadEnd::Error))?;
            match tokio::time::timeout(self.budget.read(), self.sock.write_all(&out)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(Stop::Io(io_end(&e))),
                Err(_) => return Err(Stop::Io(ReadEnd::Timeout)),
            }
        }
        Ok(())
    }

    /// Reads one chunk from the socket and feeds it to rustls.
    async fn read_some(&mut self) -> Result<(), Stop> {
        let mut buf = [0u8; 8192];
        let n = read_by(&mut self.sock, &mut buf, self.reply_deadline).await.map_err(Stop::Io)?;
        let mut data = buf.get(..n).unwrap_or_default();
        if self.first_bytes.len() < 16 {
            let take = data.len().min(16 - self.first_bytes.len());
            self.first_bytes.extend_from_slice(data.get(..take).unwrap_or_default());
        }
        self.read_total += n;
        if self.read_total > TLS_READ_CAP {
            return Err(Stop::TooMuch);
        }
        while !data.is_empty() {
            match self.conn.read_tls(&mut data) {
                // After a close_notify rustls takes nothing more; what follows is ignored (RFC 8446 §6.1).
                // Without this, the loop would spin forever with no await point.
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return Err(Stop::TooMuch),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // Let rustls tell the peer why we stop; best effort.
                let _ = self.flush().await;
                return Err(Stop::Tls(e));
            }
        }
        Ok(())
    }

    async fn complete_handshake(&mut self) -> Result<(), Stop> {
        loop {
            self.flush().await?;
            if !self.conn.is_handshaking() {
                return Ok(());
            }
            self.read_some().await?;
        }
    }

    /// `PING` inside the session; the reply is classified like a plaintext one.
    async fn ping(&mut self) -> Result<PingResult, Stop> {
        self.conn.writer().write_all(PING).map_err(|_| Stop::Io(ReadEnd::Error))?;
        self.flush().await?;
        let mut reply = resp::reply_line();
        loop {
            let mut chunk = [0u8; 512];
            let want = chunk.len().min(reply.room());
            let slot = chunk.get_mut(..want).unwrap_or_default();
            match self.conn.reader().read(slot) {
                Ok(0) => return Ok(resp::classify(&reply.kept, ReadEnd::Eof)),
                Ok(n) => {
                    if let Some(end) = reply.push(slot.get(..n).unwrap_or_default()) {
                        return Ok(resp::classify(&reply.kept, end));
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Ok(resp::classify(&reply.kept, io_end(&e))),
            }
            match self.read_some().await {
                Ok(()) => {}
                Err(Stop::Io(end)) => return Ok(resp::classify(&reply.kept, end)),
                Err(Stop::TooMuch) => return Ok(resp::classify(&reply.kept, ReadEnd::Cap)),
                Err(e @ Stop::Tls(_)) => return Err(e),
            }
        }
    }
}

/// A handshake's outcome and, when it completed with the version offered, the live session for a PING.
struct Opened<'a> {
    hs: Handshake,
    session: Option<Session<'a>>,
    connections: u32,
}

/// One handshake offering only `version`. The session is kept open when the handshake completed.
async fn open<'a>(
    addr: SocketAddr,
    server_name: &ServerName<'static>,
    version: TlsVersion,
    client_key: Option<Arc<CertifiedKey>>,
    settings: &TlsSettings,
    budget: &'a Budget,
) -> Opened<'a> {
    let verifier = Arc::new(RecordingVerifier::new(settings.provider.clone()));
    let presenting = client_key.is_some();
    let resolver = Arc::new(RecordingResolver::new(client_key));
    let mut hs = Handshake {
        probe: VersionProbe::not_tested(),
        tls_reply: false,
        requested_client_cert: false,
        refused_without_cert: false,
        chain: Vec::new(),
        key_proven: false,
        signature_error: None,
        negotiated: None,
        ping: None,
    };
    if budget.expired() {
        return Opened { hs, session: None, connections: 0 };
    }
    let Some(config) = client_config(version, verifier.clone(), resolver.clone(), settings) else {
        hs.probe = rejected(HandshakeFailure::Error, None, Some("TLS configuration error".into()));
        return Opened { hs, session: None, connections: 0 };
    };
    let sock = match connect(addr, budget).await {
        Ok(s) => s,
        Err(Reachability::Open) => {
            hs.probe =
                rejected(HandshakeFailure::Reset, None, Some("reset right after the connection was accepted".into()));
            return Opened { hs, session: None, connections: 1 };
        }
        Err(r) => {
            hs.probe = rejected(HandshakeFailure::ConnectFailed, None, Some(r.as_str().into()));
            return Opened { hs, session: None, connections: 1 };
        }
    };
    let Ok(conn) = ClientConnection::new(config, server_name.clone()) else {
        hs.probe = rejected(HandshakeFailure::Error, None, Some("TLS connection setup error".into()));
        return Opened { hs, session: None, connections: 1 };
    };
    let mut s = Session::new(sock, conn, budget);
    let outcome = s.complete_handshake().await;
    let negotiated_version = s.conn.protocol_version();
    // A server that broke the protocol (chose a suite we never offered, ...) accepted nothing.
    let violated = matches!(&outcome, Err(Stop::Tls(rustls::Error::PeerMisbehaved(_))));
    let accepted = negotiated_version == Some(protocol(version)) && !violated;
    hs.tls_reply = matches!(s.first_bytes.as_slice(), [0x15 | 0x16, 0x03, ..]);
    hs.requested_client_cert = resolver.requested();
    hs.chain = verifier.chain();
    hs.key_proven = verifier.key_proven();
    hs.signature_error = verifier.signature_error();
    let suite_id = s.conn.negotiated_cipher_suite().map(|cs| u16::from(cs.suite()));
    let suite = suite_id.map(suite_name);
    let suites: Vec<crate::model::SuiteInfo> = suite_id.map(super::suites::info).into_iter().collect();
    let enumeration = if suites.is_empty() { Enumeration::None } else { Enumeration::Negotiated };
    let group = s.conn.negotiated_key_exchange_group().map(|g| group_name(u16::from(g.name())));

    let mut session = None;
    match outcome {
        Ok(()) if accepted => {
            hs.probe = VersionProbe {
                status: VersionStatus::Accepted,
                failure: None,
                alert: None,
                detail: None,
                cipher_suite: suite.clone(),
                key_exchange_group: group.clone(),
                cipher_suites: suites,
                enumeration,
                server_preference: None,
            };
            if let Some(cs) = suite {
                hs.negotiated = Some(Negotiated { version, cipher_suite: cs, key_exchange_group: group });
            }
            session = Some(s);
        }
        Ok(()) => {
            hs.probe = rejected(HandshakeFailure::OtherVersion, None, negotiated_version.map(|v| format!("{v:?}")));
        }
        Err(stop) if accepted => {
            // The server chose our version but the handshake did not finish: the version is accepted.
            let (failure, alert, detail) = failure_of(&stop, &s.first_bytes, verifier.signature_error());
            if hs.requested_client_cert && !presenting && failure == HandshakeFailure::Alert {
                // TLS 1.2: the refusal comes during the handshake (alert 40 from OpenSSL).
                hs.refused_without_cert = true;
            }
            hs.probe = VersionProbe {
                status: VersionStatus::Accepted,
                failure: None,
                alert,
                detail,
                cipher_suite: suite,
                key_exchange_group: group,
                cipher_suites: suites,
                enumeration,
                server_preference: None,
            };
        }
        Err(Stop::Tls(e)) if violated => {
            hs.probe = rejected(HandshakeFailure::ProtocolViolation, None, Some(e.to_string()));
        }
        Err(stop) => {
            let (failure, alert, detail) = failure_of(&stop, &s.first_bytes, verifier.signature_error());
            hs.probe = rejected(failure, alert, detail);
        }
    }
    Opened { hs, session, connections: 1 }
}

/// `PING` on a completed session; notes a refusal for lacking a client certificate.
async fn ping_on(hs: &mut Handshake, s: &mut Session<'_>, presenting: bool) {
    // Without a certificate, a server that asked for one and then closes, resets or alerts on our first
    // record refused us for lacking it. TLS 1.3: the server checks our (empty) Certificate after its
    // Finished, so the refusal (alert 116) arrives on the first read (RFC 8446 §4.4.2.4).
    let asked = hs.requested_client_cert && !presenting;
    hs.ping = Some(match s.ping().await {
        Ok(p) => {
            hs.refused_without_cert |= asked && matches!(p.status, PingStatus::Closed | PingStatus::Reset);
            p
        }
        Err(Stop::Tls(e)) => {
            let alert = alert_of(&e);
            hs.refused_without_cert |= asked && alert.is_some();
            PingResult { status: PingStatus::Failed, reply: Some(describe(&e, alert.as_ref())) }
        }
        Err(Stop::Io(end)) => {
            // The server closed or reset as we sent PING: how a refusal without an alert looks.
            let p = resp::classify(&[], end);
            hs.refused_without_cert |= asked && matches!(p.status, PingStatus::Closed | PingStatus::Reset);
            p
        }
        Err(Stop::TooMuch) => PingResult { status: PingStatus::Failed, reply: None },
    });
}

fn client_config(
    version: TlsVersion,
    verifier: Arc<RecordingVerifier>,
    resolver: Arc<RecordingResolver>,
    settings: &TlsSettings,
) -> Option<Arc<ClientConfig>> {
    let v: &'static rustls::SupportedProtocolVersion = match version {
        TlsVersion::Tls13 => &rustls::version::TLS13,
        TlsVersion::Tls12 => &rustls::version::TLS12,
        _ => return None,
    };
    // A config per connection: the verifier and resolver record for this connection only, and no session
    // is resumed (a resumed session would skip the certificate and client-auth exchange).
    let mut config = ClientConfig::builder_with_provider(settings.provider.clone())
        .with_protocol_versions(&[v])
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(resolver);
    config.resumption = Resumption::disabled();
    Some(Arc::new(config))
}

fn protocol(v: TlsVersion) -> ProtocolVersion {
    match v {
        TlsVersion::Ssl3 => ProtocolVersion::SSLv3,
        TlsVersion::Tls10 => ProtocolVersion::TLSv1_0,
        TlsVersion::Tls11 => ProtocolVersion::TLSv1_1,
        TlsVersion::Tls12 => ProtocolVersion::TLSv1_2,
        TlsVersion::Tls13 => ProtocolVersion::TLSv1_3,
    }
}

fn rejected(failure: HandshakeFailure, alert: Option<Alert>, detail: Option<String>) -> VersionProbe {
    VersionProbe {
        status: VersionStatus::Rejected,
        failure: Some(failure),
        alert,
        detail,
        ..VersionProbe::not_tested()
    }
}

fn alert_of(e: &rustls::Error) -> Option<Alert> {
    match e {
        rustls::Error::AlertReceived(a) => {
            let code = u8::from(*a);
            Some(Alert { code, name: alert_name(code).to_string() })
        }
        _ => None,
    }
}

fn describe(e: &rustls::Error, alert: Option<&Alert>) -> String {
    match alert {
        Some(a) => format!("TLS alert {} ({})", a.name, a.code),
        None => e.to_string(),
    }
}

/// Classifies why a handshake stopped.
fn failure_of(
    stop: &Stop,
    first_bytes: &[u8],
    signature_error: Option<String>,
) -> (HandshakeFailure, Option<Alert>, Option<String>) {
    let looks_tls = matches!(first_bytes, [0x14..=0x17, 0x03, ..]);
    match stop {
        Stop::Tls(e) => {
            if let Some(a) = alert_of(e) {
                let detail = describe(e, Some(&a));
                return (HandshakeFailure::Alert, Some(a), Some(detail));
            }
            if !looks_tls && !first_bytes.is_empty() {
                return (HandshakeFailure::NotTls, None, Some(format!("reply: {}", escape_bytes(first_bytes, 40))));
            }
            if let Some(sig) = signature_error {
                return (HandshakeFailure::BadSignature, None, Some(sig));
            }
            let failure = match e {
                rustls::Error::PeerIncompatible(PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig) => {
                    HandshakeFailure::OtherVersion
                }
                _ => HandshakeFailure::Error,
            };
            (failure, None, Some(e.to_string()))
        }
        Stop::Io(end) => {
            if !looks_tls && !first_bytes.is_empty() {
                return (HandshakeFailure::NotTls, None, Some(format!("reply: {}", escape_bytes(first_bytes, 40))));
            }
            let failure = match end {
                ReadEnd::Eof => HandshakeFailure::Closed,
                ReadEnd::Reset => HandshakeFailure::Reset,
                ReadEnd::Timeout => HandshakeFailure::Timeout,
                ReadEnd::Line | ReadEnd::Cap | ReadEnd::Error => HandshakeFailure::Error,
            };
            (failure, None, None)
        }
        Stop::TooMuch => (HandshakeFailure::Error, None, Some(format!("more than {TLS_READ_CAP} bytes"))),
    }
}

/// IANA name of a cipher suite id.
pub fn suite_name(id: u16) -> String {
    tls_parser::TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04X}"), |s| s.name.to_string())
}

/// IANA name of a key-exchange group id.
pub fn group_name(id: u16) -> String {
    match id {
        0x0013 => "secp192r1".into(),
        0x0015 => "secp224r1".into(),
        0x0017 => "secp256r1".into(),
        0x0018 => "secp384r1".into(),
        0x0019 => "secp521r1".into(),
        0x001d => "x25519".into(),
        0x001e => "x448".into(),
        0x0100 => "ffdhe2048".into(),
        0x0101 => "ffdhe3072".into(),
        0x0102 => "ffdhe4096".into(),
        0x0103 => "ffdhe6144".into(),
        0x0104 => "ffdhe8192".into(),
        0x11eb => "SecP256r1MLKEM768".into(),
        0x11ec => "X25519MLKEM768".into(),
        0x11ed => "SecP384r1MLKEM1024".into(),
        _ => format!("0x{id:04x}"),
    }
}

/// RFC 8446 §6 (and RFC 5246) name of an alert description.
pub fn alert_name(code: u8) -> &'static str {
    match AlertDescription::from(code) {
        AlertDescription::CloseNotify => "close_notify",
        AlertDescription::UnexpectedMessage => "unexpected_message",
        AlertDescription::BadRecordMac => "bad_record_mac",
        AlertDescription::DecryptionFailed => "decryption_failed",
        AlertDescription::RecordOverflow => "record_overflow",
        AlertDescription::DecompressionFailure => "decompression_failure",
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::NoCertificate => "no_certificate",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::IllegalParameter => "illegal_parameter",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::DecodeError => "decode_error",
        AlertDescription::DecryptError => "decrypt_error",
        AlertDescription::ExportRestriction => "export_restriction",
        AlertDescription::ProtocolVersion => "protocol_version",
        AlertDescription::InsufficientSecurity => "insufficient_security",
        AlertDescription::InternalError => "internal_error",
        AlertDescription::InappropriateFallback => "inappropriate_fallback",
        AlertDescription::UserCanceled => "user_canceled",
        AlertDescription::NoRenegotiation => "no_renegotiation",
        AlertDescription::MissingExtension => "missing_extension",
        AlertDescription::UnsupportedExtension => "unsupported_extension",
        AlertDescription::CertificateUnobtainable => "certificate_unobtainable",
        AlertDescription::UnrecognisedName => "unrecognized_name",
        AlertDescription::BadCertificateStatusResponse => "bad_certificate_status_response",
        AlertDescription::BadCertificateHashValue => "bad_certificate_hash_value",
        AlertDescription::UnknownPSKIdentity => "unknown_psk_identity",
        AlertDescription::CertificateRequired => "certificate_required",
        AlertDescription::NoApplicationProtocol => "no_application_protocol",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(alert_name(116), "certificate_required");
        assert_eq!(alert_name(70), "protocol_version");
        assert_eq!(alert_name(250), "unknown");
        assert_eq!(suite_name(0x1302), "TLS_AES_256_GCM_SHA384");
        assert_eq!(suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(group_name(0x001d), "x25519");
    }

    #[test]
    fn client_auth_decision() {
        let f = |accepted, completed, requested, answered, refused| AuthFacts {
            accepted,
            completed,
            requested,
            answered_without_cert: answered,
            refused_without_cert: refused,
        };
        assert_eq!(decide_client_auth(&f(false, false, false, false, false)), ClientAuth::Unknown);
        assert_eq!(decide_client_auth(&f(true, true, false, true, false)), ClientAuth::None);
        assert_eq!(decide_client_auth(&f(true, false, false, false, false)), ClientAuth::Unknown);
        assert_eq!(decide_client_auth(&f(true, true, true, true, false)), ClientAuth::Optional);
        assert_eq!(decide_client_auth(&f(true, true, true, false, true)), ClientAuth::Required);
        assert_eq!(decide_client_auth(&f(true, false, true, false, true)), ClientAuth::Required);
        assert_eq!(decide_client_auth(&f(true, true, true, false, false)), ClientAuth::Unknown);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, Some(true)), ClientAuth::Requested);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, Some(false)), ClientAuth::None);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, None), ClientAuth::Unknown);
        assert_eq!(with_raw_flight(ClientAuth::Required, Some(false)), ClientAuth::Required);
    }

    #[test]
    fn plaintext_reply_is_not_tls() {
        let (f, _, d) = failure_of(&Stop::Io(ReadEnd::Eof), b"-ERR unknown", None);
        assert_eq!(f, HandshakeFailure::NotTls);
        assert_eq!(d.as_deref(), Some("reply: -ERR unknown"));
        let (f, _, _) = failure_of(&Stop::Io(ReadEnd::Reset), b"", None);
        assert_eq!(f, HandshakeFailure::Reset);
    }
}
