//! Findings (contract ids and severities) as records carry them: id, severity, evidence. Titles and
//! remediations are the id's, derived here once, not repeated in every record.

use serde::{Deserialize, Serialize};

/// Finding severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// All severities, most severe first.
    pub const DESCENDING: [Severity; 5] = [Self::Critical, Self::High, Self::Medium, Self::Low, Self::Info];
}

/// Finding identifiers (contract: design.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingId {
    /// `PING` answered `+PONG` without credentials.
    UnauthenticatedAccess,
    /// Redis spoken without TLS.
    PlaintextEnabled,
    /// A protocol older than TLS 1.2 is accepted.
    LegacyProtocol,
    /// A weak cipher suite is accepted.
    WeakCipher,
    /// Ephemeral key exchange too small.
    WeakKeyExchange,
    /// Certificate expired.
    CertExpired,
    /// Certificate not yet valid.
    CertNotYetValid,
    /// Certificate expires within the warning window.
    CertExpiringSoon,
    /// Chain does not validate to an anchor in use.
    CertUntrusted,
    /// Leaf is self-signed.
    CertSelfSigned,
    /// An intermediate needed for validation is not sent.
    CertChainIncomplete,
    /// Identity not in the SANs.
    CertHostnameMismatch,
    /// Key too small.
    CertWeakKey,
    /// SHA-1 or MD5 signature on a non-root certificate.
    CertWeakSignature,
    /// PING over TLS works without a client certificate.
    ClientAuthNotRequired,
    /// One host serves Redis in plaintext and over TLS.
    MixedMode,
    /// Cluster bus open and not TLS next to a TLS client port.
    ClusterBusPlaintext,
    /// `--audit`: a replication link runs over a plaintext listener.
    ReplicationPlaintext,
    /// `--audit`: clients are connected through the plaintext listener now.
    PlaintextClientsConnected,
    /// `--audit`: `tls-protocols` allows TLSv1 or TLSv1.1.
    TlsLegacyProtocolsConfigured,
    /// `--audit`: an enabled ACL user has `nopass`.
    AclUserWithoutPassword,
}

const RENEW: &str =
    "renew the certificate and point tls-cert-file / tls-key-file at it, then CONFIG SET them or restart";

impl FindingId {
    /// Every id, in contract order.
    pub const ALL: [FindingId; 21] = [
        Self::UnauthenticatedAccess,
        Self::PlaintextEnabled,
        Self::LegacyProtocol,
        Self::WeakCipher,
        Self::WeakKeyExchange,
        Self::CertExpired,
        Self::CertNotYetValid,
        Self::CertExpiringSoon,
        Self::CertUntrusted,
        Self::CertSelfSigned,
        Self::CertChainIncomplete,
        Self::CertHostnameMismatch,
        Self::CertWeakKey,
        Self::CertWeakSignature,
        Self::ClientAuthNotRequired,
        Self::MixedMode,
        Self::ClusterBusPlaintext,
        Self::ReplicationPlaintext,
        Self::PlaintextClientsConnected,
        Self::TlsLegacyProtocolsConfigured,
        Self::AclUserWithoutPassword,
    ];

    /// The contract's severity of the id; `legacy_protocol` and `weak_cipher` vary with what was seen,
    /// so a finding's own severity is authoritative.
    pub fn default_severity(self) -> Severity {
        match self {
            Self::UnauthenticatedAccess => Severity::Critical,
            Self::PlaintextEnabled
            | Self::CertExpired
            | Self::CertNotYetValid
            | Self::CertUntrusted
            | Self::CertWeakKey
            | Self::LegacyProtocol
            | Self::WeakCipher
            | Self::ReplicationPlaintext
            | Self::PlaintextClientsConnected
            | Self::AclUserWithoutPassword => Severity::High,
            Self::WeakKeyExchange
            | Self::CertExpiringSoon
            | Self::CertSelfSigned
            | Self::CertChainIncomplete
            | Self::CertHostnameMismatch
            | Self::CertWeakSignature
            | Self::MixedMode
            | Self::ClusterBusPlaintext
            | Self::TlsLegacyProtocolsConfigured => Severity::Medium,
            Self::ClientAuthNotRequired => Severity::Low,
        }
    }

    /// One-line title of a finding of this id at `severity` (only `weak_cipher`'s and
    /// `acl_user_without_password`'s depend on it).
    pub fn title(self, severity: Severity) -> &'static str {
        match self {
            Self::UnauthenticatedAccess => "Redis answers commands without any credentials",
            Self::PlaintextEnabled => "Redis is reachable without TLS",
            Self::LegacyProtocol => "The server accepts protocol versions older than TLS 1.2",
            Self::WeakCipher if severity >= Severity::High => "The server accepts broken cipher suites",
            Self::WeakCipher => "The server accepts weak cipher suites",
            Self::WeakKeyExchange => "The key exchange is too small",
            Self::CertExpired => "The certificate has expired",
            Self::CertNotYetValid => "The certificate is not valid yet",
            Self::CertExpiringSoon => "The certificate expires soon",
            Self::CertUntrusted => "The certificate chain does not validate to a trusted anchor",
            Self::CertSelfSigned => "The certificate is self-signed",
            Self::CertChainIncomplete => "The server does not send the intermediate certificates validation needs",
            Self::CertHostnameMismatch => "The certificate does not name this endpoint",
            Self::CertWeakKey => "A certificate key is too small",
            Self::CertWeakSignature => "A certificate is signed with SHA-1 or MD5",
            Self::ClientAuthNotRequired => "TLS clients are not required to present a certificate",
            Self::MixedMode => "The host serves Redis both in plaintext and over TLS",
            Self::ClusterBusPlaintext => "The cluster bus next to this TLS port does not use TLS",
            Self::ReplicationPlaintext => "A replication link runs over plaintext",
            Self::PlaintextClientsConnected => "Clients are connected through the plaintext port",
            Self::TlsLegacyProtocolsConfigured => "tls-protocols allows TLSv1 or TLSv1.1",
            Self::AclUserWithoutPassword if severity >= Severity::Critical => {
                "The default user is enabled without a password"
            }
            Self::AclUserWithoutPassword => "An enabled ACL user has no password (nopass)",
        }
    }

    /// The concrete `redis.conf` change that fixes it.
    pub fn remediation(self) -> &'static str {
        match self {
            Self::UnauthenticatedAccess => {
                "requirepass <long random secret> (or ACL users with 'user default off'), and keep protected-mode yes"
            }
            Self::PlaintextEnabled => "port 0 and tls-port <port> (with tls-cert-file, tls-key-file, tls-ca-cert-file)",
            Self::LegacyProtocol => "tls-protocols \"TLSv1.2 TLSv1.3\"",
            Self::WeakCipher => {
                "tls-ciphers \"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\" and tls-prefer-server-ciphers yes"
            }
            Self::WeakKeyExchange => {
                "tls-dh-params-file with a 2048-bit (or larger) group, and restrict curves in the OpenSSL configuration (Groups = X25519:P-256:P-384)"
            }
            Self::CertExpired | Self::CertNotYetValid | Self::CertExpiringSoon => RENEW,
            Self::CertUntrusted => {
                "use a certificate issued by the CA your clients trust (tls-cert-file), and send its intermediates"
            }
            Self::CertSelfSigned => {
                "issue the server certificate from a CA (private CA is fine) and set tls-cert-file; clients pin tls-ca-cert-file"
            }
            Self::CertChainIncomplete => {
                "put the leaf followed by its intermediates in the PEM file named by tls-cert-file"
            }
            Self::CertHostnameMismatch => {
                "reissue the certificate with the DNS name (and IP, if clients connect by IP) in subjectAltName"
            }
            Self::CertWeakKey => {
                "generate an RSA >= 2048-bit or ECDSA P-256+ key, reissue, and set tls-key-file / tls-cert-file"
            }
            Self::CertWeakSignature => {
                "reissue the certificate signed with SHA-256 or better, then update tls-cert-file"
            }
            Self::ClientAuthNotRequired => "tls-auth-clients yes",
            Self::MixedMode => "port 0 (keep only tls-port), so that no client can fall back to plaintext",
            Self::ClusterBusPlaintext => "tls-cluster yes (and tls-replication yes)",
            Self::ReplicationPlaintext => {
                "tls-replication yes on the replicas (replicaof <master> <master tls-port>), then port 0 on the master"
            }
            Self::PlaintextClientsConnected => "move the listed clients to tls-port (TLS client settings), then port 0",
            Self::TlsLegacyProtocolsConfigured => "tls-protocols \"TLSv1.2 TLSv1.3\"",
            Self::AclUserWithoutPassword => {
                "ACL SETUSER <user> resetpass ><long random secret> (or 'user default off' / requirepass), then ACL SAVE or CONFIG REWRITE"
            }
        }
    }
}

/// One finding on one endpoint, as records carry it: the title and the remediation are the id's
/// ([`FindingId::title`], [`FindingId::remediation`]), not repeated in every record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Finding id (contract).
    pub id: FindingId,
    /// Severity (contract).
    pub severity: Severity,
    /// What was observed.
    pub evidence: String,
}

impl Finding {
    /// A finding of `id` at its default severity.
    pub fn new(id: FindingId, evidence: String) -> Self {
        Self { id, severity: id.default_severity(), evidence }
    }

    /// One-line title.
    pub fn title(&self) -> &'static str {
        self.id.title(self.severity)
    }

    /// The concrete `redis.conf` change that fixes it.
    pub fn remediation(&self) -> &'static str {
        self.id.remediation()
    }
}
