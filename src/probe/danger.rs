//! Verification that does not stop the handshake: the scanner must finish handshakes with servers whose
//! certificates are expired, self-signed or for another name, to learn everything else about them.
//!
//! [`RecordingVerifier`] accepts any chain *and records it*; the real trust verdict is computed from
//! the recorded chain by [`crate::cert::inspect`], with every reason rather than the first. Handshake
//! signatures are still verified, so a peer cannot fake possession of the certificate's key, including
//! with keys and hashes the provider refuses ([`crate::weak_sig`]: RSA < 2048, SHA-1), which OpenSSL
//! clients still accept: those servers complete the handshake and their weakness is a finding.
//! [`RecordingResolver`] records whether the server asked for a client certificate.
//! Nothing here may be used for a connection that carries data we care about.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

use crate::weak_sig;

/// Accepts every certificate chain and keeps a copy of it; checks handshake signatures for real.
#[derive(Debug)]
pub struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
    signature_error: Mutex<Option<String>>,
    signature_ok: AtomicBool,
}

impl RecordingVerifier {
    /// A verifier for one connection.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        Self {
            provider,
            chain: Mutex::new(Vec::new()),
            signature_error: Mutex::new(None),
            signature_ok: AtomicBool::new(false),
        }
    }

    /// The chain the server sent (leaf first), empty if none arrived.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Why a handshake signature failed to verify, if it did.
    pub fn signature_error(&self) -> Option<String> {
        self.signature_error.lock().ok().and_then(|e| e.clone())
    }

    /// True once a handshake signature by the recorded certificate's key verified: the server proved it
    /// holds the key.
    pub fn key_proven(&self) -> bool {
        self.signature_ok.load(Ordering::Relaxed)
    }

    fn note(&self, r: Result<HandshakeSignatureValid, Error>) -> Result<HandshakeSignatureValid, Error> {
        match &r {
            Ok(_) => self.signature_ok.store(true, Ordering::Relaxed),
            Err(e) => {
                if let Ok(mut slot) = self.signature_error.lock() {
                    *slot = Some(e.to_string());
                }
            }
        }
        r
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let strict = verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms);
        // A key or hash the provider refuses (RSA < 2048, SHA-1) is checked for real with the weak
        // algorithms: a valid weak signature still proves possession; a forged one fails both.
        let r = strict.or_else(|e| verify_tls12_signature(message, cert, dss, &weak_sig::HANDSHAKE).map_err(|_| e));
        self.note(r)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let strict = verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms);
        let r = strict.or_else(|e| verify_tls13_signature(message, cert, dss, &weak_sig::HANDSHAKE).map_err(|_| e));
        self.note(r)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // The provider's schemes, then SHA-1 with RSA last: a TLS 1.2 server picks it only when it can sign
        // nothing better (rustls never accepts it in TLS 1.3).
        let mut schemes = self.provider.signature_verification_algorithms.supported_schemes();
        schemes.push(SignatureScheme::RSA_PKCS1_SHA1);
        schemes
    }
}

/// Records whether a CertificateRequest arrived, and presents the configured client certificate if any.
#[derive(Debug)]
pub struct RecordingResolver {
    requested: AtomicBool,
    key: Option<Arc<CertifiedKey>>,
}

impl RecordingResolver {
    /// A resolver for one connection; `key` is presented when the server asks.
    pub fn new(key: Option<Arc<CertifiedKey>>) -> Self {
        Self { requested: AtomicBool::new(false), key }
    }

    /// True once the server asked for a client certificate.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(&self, _root_hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        // rustls calls this only when the server sent a CertificateRequest (TLS 1.2 and 1.3).
        self.requested.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        true
    }
}
