//! The rustls probe, stage 3 of an endpoint's pipeline: one handshake offering only TLS 1.3, one
//! offering only TLS 1.2, a `PING` over each session, and (with `--client-cert`) one more handshake
//! presenting the client certificate.
//!
//! The handshake is driven by hand over the TCP socket instead of through tokio-rustls, so that after a
//! failure we still hold the connection state (which version the server chose, whether it asked for a
//! client certificate) and the first bytes it sent (a plaintext `-ERR` or an HTTP banner tells "not TLS").
//! Every read is capped and bounded by the endpoint's [`Budget`].
//!
//! [`probe`] drives the stage; [`handshake`] runs one handshake on a [`session`]; [`auth`] decides the
//! client-auth policy from what the handshakes saw.

pub mod auth;
mod handshake;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

pub use self::auth::{AuthFacts, decide_client_auth, with_raw_flight};
use self::handshake::{Handshake, open, ping_on};
use super::{Budget, Identity};
use crate::cert::KeyProof;
use crate::model::{
    HandshakeFailure, KeyExchange, PingResult, PingStatus, TlsResult, TlsVersion, VersionProbe, VersionStatus,
};

/// Connections the TLS stage holds at once: the TLS 1.3 and TLS 1.2 handshakes run side by side.
pub const PARALLEL_HANDSHAKES: u32 = 2;

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

/// Runs the TLS stage: the TLS 1.3 and TLS 1.2 handshakes at once, one `PING` on the best session that
/// completed, then the client-certificate handshake (with its own `PING`) if configured. A TLS service
/// that never answers `PING` costs one read timeout, not one per session.
pub async fn probe(addr: SocketAddr, identity: &Identity, settings: &TlsSettings, budget: &Budget) -> TlsOutcome {
    let server_name = &identity.server_name;
    let mut versions: std::collections::BTreeMap<TlsVersion, VersionProbe> =
        TlsVersion::ALL.iter().map(|v| (*v, VersionProbe::not_tested())).collect();
    // The TLS 1.3 session PINGs as soon as its handshake completes and is then closed, while the TLS 1.2
    // handshake runs: a server that serves one connection at a time (openssl s_server, some proxies) gets
    // to the second connection without waiting for us. The 1.2 session PINGs only when 1.3 did not
    // complete.
    // Both sockets are taken together: a handshake never holds one while waiting for the other's.
    let mut slots = budget.slots(PARALLEL_HANDSHAKES).await;
    let (slot13, slot12) = (slots.one(), slots.one());
    let newest = async {
        let mut o = open(addr, server_name, TlsVersion::Tls13, None, slot13, settings, budget).await;
        if let Some(mut s) = o.session.take() {
            ping_on(&mut o.hs, &mut s, false).await;
        }
        o
    };
    let (o13, mut o12) =
        tokio::join!(newest, open(addr, server_name, TlsVersion::Tls12, None, slot12, settings, budget));
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
        let mut opened = open(addr, server_name, v, Some(key.clone()), None, settings, budget).await;
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

/// Sorted, without repeats.
pub fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}
