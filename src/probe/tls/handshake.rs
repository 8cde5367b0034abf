//! One handshake offering a single TLS version (optionally presenting the client certificate), the
//! `PING` on the session it opened, and the classification of why a handshake stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, PeerIncompatible, ProtocolVersion};
use tokio::sync::OwnedSemaphorePermit;

use super::TlsSettings;
use super::session::{Session, Stop, TLS_READ_CAP};
use crate::model::{
    Alert, Enumeration, HandshakeFailure, Negotiated, PingResult, PingStatus, TlsVersion, VersionProbe, VersionStatus,
};
use crate::probe::danger::{RecordingResolver, RecordingVerifier};
use crate::probe::suites::{self, suite_name};
use crate::probe::wire::{self, group_name};
use crate::probe::{Budget, NoConnection, ReadEnd, connect_in, resp};
use crate::text::escape_bytes;

/// One handshake's outcome.
#[derive(Debug, Clone)]
pub(super) struct Handshake {
    /// The version's verdict.
    pub(super) probe: VersionProbe,
    /// The server sent TLS records (a ServerHello or an alert).
    pub(super) tls_reply: bool,
    /// The server sent a CertificateRequest.
    pub(super) requested_client_cert: bool,
    /// The server refused us for lacking a client certificate.
    pub(super) refused_without_cert: bool,
    /// The chain as sent, leaf first.
    pub(super) chain: Vec<CertificateDer<'static>>,
    /// A handshake signature by the chain's key verified.
    pub(super) key_proven: bool,
    /// Why the handshake signature did not verify, if rustls checked it and it failed.
    pub(super) signature_error: Option<String>,
    /// Version, suite and group, when the handshake completed with the version offered.
    pub(super) negotiated: Option<Negotiated>,
    /// The `PING` on the session, once sent.
    pub(super) ping: Option<PingResult>,
}

/// A handshake's outcome and, when it completed with the version offered, the live session for a PING.
pub(super) struct Opened<'a> {
    pub(super) hs: Handshake,
    pub(super) session: Option<Session<'a>>,
    pub(super) connections: u32,
}

/// One handshake offering only `version`, on the socket `slot` when one is already held. The session is
/// kept open when the handshake completed.
#[allow(clippy::too_many_arguments)] // one handshake's inputs; bundling them would only rename them
pub(super) async fn open<'a>(
    addr: SocketAddr,
    server_name: &ServerName<'static>,
    version: TlsVersion,
    client_key: Option<Arc<CertifiedKey>>,
    slot: Option<OwnedSemaphorePermit>,
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
    let sock = match connect_in(addr, budget, slot).await {
        Ok(s) => s,
        // This machine's limit, not the server's answer: the version stays untested.
        Err(NoConnection::OutOfSockets) => {
            hs.probe.detail = Some(crate::probe::OUT_OF_SOCKETS.into());
            return Opened { hs, session: None, connections: 0 };
        }
        Err(NoConnection::ResetOnAccept) => {
            hs.probe =
                rejected(HandshakeFailure::Reset, None, Some("reset right after the connection was accepted".into()));
            return Opened { hs, session: None, connections: 1 };
        }
        Err(NoConnection::Dead(r)) => {
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
    hs.tls_reply = wire::is_server_answer(&s.first_bytes);
    hs.requested_client_cert = resolver.requested();
    hs.chain = verifier.chain();
    hs.key_proven = verifier.key_proven();
    hs.signature_error = verifier.signature_error();
    let suite_id = s.conn.negotiated_cipher_suite().map(|cs| u16::from(cs.suite()));
    let suite = suite_id.map(suite_name);
    let suites: Vec<crate::model::SuiteInfo> = suite_id.map(suites::info).into_iter().collect();
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
pub(super) async fn ping_on(hs: &mut Handshake, s: &mut Session<'_>, presenting: bool) {
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
        rustls::Error::AlertReceived(a) => Some(wire::alert(u8::from(*a))),
        _ => None,
    }
}

fn describe(e: &rustls::Error, alert: Option<&Alert>) -> String {
    match alert {
        Some(a) => wire::alert_text(a),
        None => e.to_string(),
    }
}

/// Classifies why a handshake stopped.
fn failure_of(
    stop: &Stop,
    first_bytes: &[u8],
    signature_error: Option<String>,
) -> (HandshakeFailure, Option<Alert>, Option<String>) {
    let looks_tls = wire::is_record(first_bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_reply_is_not_tls() {
        let (f, _, d) = failure_of(&Stop::Io(ReadEnd::Eof), b"-ERR unknown", None);
        assert_eq!(f, HandshakeFailure::NotTls);
        assert_eq!(d.as_deref(), Some("reply: -ERR unknown"));
        let (f, _, _) = failure_of(&Stop::Io(ReadEnd::Reset), b"", None);
        assert_eq!(f, HandshakeFailure::Reset);
    }
}
