//! What the certificate stage learns: the chain as sent and the trust verdict with every reason.

use serde::{Deserialize, Serialize};

/// The server's certificate and chain as inspected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// The leaf (first certificate sent).
    pub leaf: CertSummary,
    /// Every certificate as sent, leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<CertSummary>,
    /// True when the chain as sent reaches a self-signed root or a certificate issued by a trust anchor.
    pub chain_complete: bool,
    /// Trust verdict against the anchors in use.
    pub trust: TrustVerdict,
    /// The identity the hostname check used: the SNI name, else the IP address.
    pub checked_identity: String,
    /// True when `checked_identity` is in the leaf's SANs (wildcards honoured).
    pub hostname_match: bool,
}

/// Facts about one certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertSummary {
    /// Subject DN (RFC 4514 style), sanitised.
    pub subject: String,
    /// Issuer DN, sanitised.
    pub issuer: String,
    /// The subject's first common name (CN), sanitised, when it has one (metrics label it `cn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_cn: Option<String>,
    /// The issuer's first common name (CN), sanitised, when it has one (metrics label it `issuer_cn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_cn: Option<String>,
    /// Subject alternative names, as `DNS:name` / `IP:addr` / `URI:..` / `email:..`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// Serial number, hex with colons.
    pub serial: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Whole days from the scan time to `not_after` (negative when expired); absent if unparseable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// Public key algorithm: `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or `unknown`.
    pub key_type: String,
    /// Key size in bits (RSA modulus bits counted exactly; EC curve size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// EC curve name, when the key is EC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_curve: Option<String>,
    /// Signature algorithm, e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// True when subject equals issuer and the certificate verifies with its own key.
    pub self_signed: bool,
    /// True when basicConstraints says CA.
    pub is_ca: bool,
}

/// Trust verdict with every reason that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustVerdict {
    /// True when the chain validates to an anchor in use, now, for the checked identity.
    pub trusted: bool,
    /// Every reason the chain is not trusted (empty when trusted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<TrustReason>,
}

impl TrustVerdict {
    /// The reasons' names joined with `sep`.
    pub fn reasons_text(&self, sep: &str) -> String {
        self.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(sep)
    }
}

/// One reason a chain is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustReason {
    /// A certificate in the path is past its not-after.
    Expired,
    /// A certificate in the path is before its not-before.
    NotYetValid,
    /// No path to a trust anchor in use.
    UnknownIssuer,
    /// A signature in the path does not verify.
    BadSignature,
    /// A signature algorithm in the path is not acceptable (SHA-1, MD5).
    UnsupportedSignatureAlgorithm,
    /// A signature in the path was made with a key too weak to be accepted (RSA < 2048 bits); the
    /// signature itself is valid.
    WeakKey,
    /// The checked identity is not in the leaf's SANs.
    NameMismatch,
    /// The leaf is not valid for TLS server authentication (EKU).
    InvalidPurpose,
    /// A certificate could not be parsed.
    BadEncoding,
    /// rustls verified the server's handshake signature against this certificate and it failed: the
    /// server did not prove it holds the key (a copied certificate, or a key rustls refuses).
    HandshakeSignatureInvalid,
    /// Only the raw TLS ≤ 1.2 probe saw this chain: possession of the key was not verified.
    KeyNotProven,
    /// Another validation error (CA used as leaf, path length, critical extension, ...).
    Other,
}
