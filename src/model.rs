//! The report model: what every probe produces and every sink reads.
//!
//! These are our own types (schema [`SCHEMA_VERSION`]); rustls and x509-parser types never appear here,
//! so the JSON and CSV contracts documented in `reports/README.md` survive dependency upgrades.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Version of the report schema (journal, `report.json`, CSV columns). Bumped on any breaking change.
pub const SCHEMA_VERSION: &str = "1.0";

/// Everything learned about one `address:port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// IP address probed.
    pub address: IpAddr,
    /// TCP port probed.
    pub port: u16,
    /// Name used for SNI and the hostname check (from `--sni` or the target's hostname), if any.
    pub name: Option<String>,
    /// Whether a TCP connection could be made.
    pub reachability: Reachability,
    /// Plaintext RESP `PING` on its own connection; absent when the port is not open.
    pub plaintext: Option<PingResult>,
    /// TLS handshakes and PING over TLS; absent when the port is not open.
    pub tls: Option<TlsResult>,
    /// The server's certificate (leaf and chain as sent) with its trust verdict.
    pub certificate: Option<CertificateInfo>,
    /// Findings raised for this endpoint (design.md §2).
    pub findings: Vec<Finding>,
    /// When the endpoint's probes started (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time spent on this endpoint, in milliseconds.
    pub duration_ms: u64,
    /// TCP connections this endpoint cost.
    pub connections: u32,
    /// True when the per-endpoint total deadline cut the probes short; later probes are then absent.
    pub deadline_exceeded: bool,
}

impl EndpointRecord {
    /// True when the endpoint speaks Redis, in plaintext or over TLS.
    pub fn is_redis(&self) -> bool {
        self.plaintext.as_ref().is_some_and(|p| p.status.is_redis())
            || self.tls.as_ref().is_some_and(TlsResult::is_redis)
    }

    /// Highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Outcome of the TCP connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// The connection was accepted.
    Open,
    /// The connection was refused (RST): nothing listens.
    Closed,
    /// No answer before the connect timeout: dropped by a firewall, or no host.
    Filtered,
    /// The network or host is unreachable, or another connect error occurred.
    Unreachable,
}

impl Reachability {
    /// Stable lowercase name, as in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Filtered => "filtered",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Classified reply to a RESP `PING`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingResult {
    /// What the reply was.
    pub status: PingStatus,
    /// First line of the reply (at most 200 characters), non-printable bytes escaped as `\xNN`.
    pub reply: Option<String>,
}

/// Classification of a `PING` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingStatus {
    /// `+PONG`: Redis answered without any credentials.
    Pong,
    /// `-NOAUTH`: Redis wants a password (`requirepass` or ACL).
    Noauth,
    /// `-DENIED`: Redis in protected mode refuses non-loopback clients.
    Denied,
    /// `-WRONGPASS`: Redis rejected credentials.
    Wrongpass,
    /// `-NOPERM`: no credentials were needed, but the default user may not run PING (ACL).
    Noperm,
    /// `-LOADING`: Redis is loading its dataset; sent only after the authentication check passed.
    Loading,
    /// `-BUSY`: Redis is running a script or module command; sent only after authentication passed.
    Busy,
    /// `-MASTERDOWN`: a replica cut from its master; sent only after authentication passed.
    Masterdown,
    /// Another RESP error (`-ERR ...`, renamed or disabled command, ...).
    Error,
    /// A well-formed RESP reply other than the above.
    OtherResp,
    /// The reply is a TLS record: a TLS server answered a plaintext probe.
    TlsReply,
    /// Bytes that are not RESP (HTTP, banners, garbage, an over-long line).
    NotResp,
    /// Connected, but no byte came before the read timeout.
    Silent,
    /// The peer closed the connection without sending anything.
    Closed,
    /// The peer reset the connection (a Redis TLS port does this to plaintext).
    Reset,
    /// The PING could not be sent or read for another reason (e.g. a TLS failure after the handshake).
    Failed,
}

impl PingStatus {
    /// True when the reply proves a Redis server (any recognised Redis reply).
    pub fn is_redis(self) -> bool {
        // A "+OK" greeting (POP3) or another RESP-shaped line is not a reply a Redis PING can produce.
        matches!(
            self,
            Self::Pong
                | Self::Noauth
                | Self::Denied
                | Self::Wrongpass
                | Self::Noperm
                | Self::Loading
                | Self::Busy
                | Self::Masterdown
                | Self::Error
        )
    }

    /// True when Redis executed or considered the command without any credentials: `+PONG`, or an error
    /// Redis checks only after the authentication check passed (src/server.c `processCommand`).
    pub fn no_credentials_needed(self) -> bool {
        matches!(self, Self::Pong | Self::Noperm | Self::Loading | Self::Busy | Self::Masterdown)
    }

    /// Stable lowercase name, as in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pong => "pong",
            Self::Noauth => "noauth",
            Self::Denied => "denied",
            Self::Wrongpass => "wrongpass",
            Self::Noperm => "noperm",
            Self::Loading => "loading",
            Self::Busy => "busy",
            Self::Masterdown => "masterdown",
            Self::Error => "error",
            Self::OtherResp => "other_resp",
            Self::TlsReply => "tls_reply",
            Self::NotResp => "not_resp",
            Self::Silent => "silent",
            Self::Closed => "closed",
            Self::Reset => "reset",
            Self::Failed => "failed",
        }
    }
}

/// Protocol versions, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    /// SSL 3.0.
    #[serde(rename = "ssl3")]
    Ssl3,
    /// TLS 1.0.
    #[serde(rename = "tls1_0")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "tls1_1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "tls1_2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "tls1_3")]
    Tls13,
}

impl TlsVersion {
    /// All versions, oldest first.
    pub const ALL: [TlsVersion; 5] = [Self::Ssl3, Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];

    /// Key used in JSON maps and CSV column names.
    pub fn key(self) -> &'static str {
        match self {
            Self::Ssl3 => "ssl3",
            Self::Tls10 => "tls1_0",
            Self::Tls11 => "tls1_1",
            Self::Tls12 => "tls1_2",
            Self::Tls13 => "tls1_3",
        }
    }

    /// Short name for narrow columns: `ssl3`, `1.0` ... `1.3`.
    pub fn short(self) -> &'static str {
        match self {
            Self::Ssl3 => "ssl3",
            Self::Tls10 => "1.0",
            Self::Tls11 => "1.1",
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        }
    }

    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ssl3 => "SSLv3",
            Self::Tls10 => "TLS 1.0",
            Self::Tls11 => "TLS 1.1",
            Self::Tls12 => "TLS 1.2",
            Self::Tls13 => "TLS 1.3",
        }
    }
}

/// What the TLS probes learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsResult {
    /// True when at least one handshake reached a ServerHello for a version we offered.
    pub speaks_tls: bool,
    /// Per protocol version: accepted, rejected (with why) or not tested. Keys: `ssl3`, `tls1_0`, ...
    pub versions: BTreeMap<TlsVersion, VersionProbe>,
    /// The highest version negotiated, with its suite and key-exchange group.
    pub negotiated: Option<Negotiated>,
    /// Whether the server asks for, or insists on, a client certificate.
    pub client_auth: ClientAuth,
    /// `PING` over TLS without a client certificate (on the highest accepted version).
    pub ping: Option<PingResult>,
    /// `PING` over TLS presenting `--client-cert`, when one was given.
    pub ping_with_client_cert: Option<PingResult>,
    /// Key-exchange strength.
    pub key_exchange: KeyExchange,
}

impl TlsResult {
    /// True when PING over TLS got a Redis reply.
    pub fn is_redis(&self) -> bool {
        [&self.ping, &self.ping_with_client_cert].into_iter().flatten().any(|p| p.status.is_redis())
    }
}

/// One version's probe outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionProbe {
    /// Accepted, rejected or not tested.
    pub status: VersionStatus,
    /// Why the version was not accepted (absent when accepted or not tested).
    pub failure: Option<HandshakeFailure>,
    /// TLS alert received, if any (code and RFC name).
    pub alert: Option<Alert>,
    /// Extra detail (e.g. a rustls error, the version the server answered with instead).
    pub detail: Option<String>,
    /// Cipher suite negotiated in this handshake (IANA name), when known.
    pub cipher_suite: Option<String>,
    /// Key-exchange group negotiated in this handshake, when known.
    pub key_exchange_group: Option<String>,
    /// Cipher suites the server accepted with this version, in the order it chose them.
    pub cipher_suites: Vec<SuiteInfo>,
    /// How completely `cipher_suites` was established.
    pub enumeration: Enumeration,
    /// True when the server imposes its own suite order, false when it follows ours; absent if unknown.
    pub server_preference: Option<bool>,
}

impl VersionProbe {
    /// A version this run did not probe.
    pub fn not_tested() -> Self {
        Self {
            status: VersionStatus::NotTested,
            failure: None,
            alert: None,
            detail: None,
            cipher_suite: None,
            key_exchange_group: None,
            cipher_suites: Vec::new(),
            enumeration: Enumeration::None,
            server_preference: None,
        }
    }
}

/// How completely a version's accepted suites were enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enumeration {
    /// Every assigned suite was offered: the list is complete.
    Full,
    /// One hello per weak class (`--cipher-scan quick`): weak suites are detected, the list is partial.
    Quick,
    /// Only the suite a handshake negotiated.
    Negotiated,
    /// Cut short by the endpoint deadline: the list is partial.
    Incomplete,
    /// No suite known.
    None,
}

impl Enumeration {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Quick => "quick",
            Self::Negotiated => "negotiated",
            Self::Incomplete => "incomplete",
            Self::None => "none",
        }
    }
}

/// One accepted cipher suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteInfo {
    /// IANA name.
    pub name: String,
    /// IANA id, `0xC02F`.
    pub id: String,
    /// Strength class.
    pub class: SuiteClass,
}

impl KeyExchange {
    /// Adds what another probe saw: the smaller DH group, the union of groups (sorted, no repeats).
    pub fn merge(&mut self, other: &KeyExchange) {
        self.dh_bits = match (self.dh_bits, other.dh_bits) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (mine, theirs) in
            [(&mut self.groups, &other.groups), (&mut self.weak_groups_accepted, &other.weak_groups_accepted)]
        {
            mine.extend(theirs.iter().cloned());
            mine.sort();
            mine.dedup();
        }
    }
}

/// Strength class of a cipher suite, weakest first (rules in `reports/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteClass {
    /// Broken: NULL encryption, anonymous, EXPORT, RC4, DES, RC2, MD5.
    Insecure,
    /// Deprecated: 3DES, CBC mode, or no forward secrecy.
    Weak,
    /// Forward-secret AEAD, not in the recommended set.
    Secure,
    /// TLS 1.3 suites and ECDHE with AES-GCM or ChaCha20-Poly1305.
    Recommended,
}

impl SuiteClass {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insecure => "insecure",
            Self::Weak => "weak",
            Self::Secure => "secure",
            Self::Recommended => "recommended",
        }
    }
}

/// Key-exchange facts gathered from the handshakes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyExchange {
    /// Smallest ephemeral DH prime seen (bits), from a DHE ServerKeyExchange.
    pub dh_bits: Option<u32>,
    /// Groups the server chose (ECDHE curves, TLS 1.3 key shares).
    pub groups: Vec<String>,
    /// Curves under 224 bits the server accepted when offered nothing else.
    pub weak_groups_accepted: Vec<String>,
}

/// Verdict for one protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// The server negotiated exactly this version.
    Accepted,
    /// The server did not negotiate this version (see `failure`).
    Rejected,
    /// Not probed in this run.
    NotTested,
}

impl VersionStatus {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::NotTested => "not_tested",
        }
    }
}

/// Why a handshake did not establish the offered version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeFailure {
    /// The server sent a TLS alert.
    Alert,
    /// The server answered with a different protocol version.
    OtherVersion,
    /// The reply was not TLS at all (e.g. a plaintext Redis error, HTTP).
    NotTls,
    /// The server closed the connection.
    Closed,
    /// The server reset the connection.
    Reset,
    /// No reply before the read timeout.
    Timeout,
    /// The TCP connection for this handshake failed.
    ConnectFailed,
    /// The server's handshake signature or key could not be verified.
    BadSignature,
    /// The server broke the protocol (e.g. its ServerHello chose a cipher suite the hello never
    /// offered): whatever it accepts, a conforming client cannot talk to it.
    ProtocolViolation,
    /// Another error occurred.
    Error,
}

/// A TLS alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Alert description code (RFC 8446 §6).
    pub code: u8,
    /// Its RFC name, e.g. `protocol_version`.
    pub name: String,
}

/// The parameters of the best handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Negotiated {
    /// Protocol version.
    pub version: TlsVersion,
    /// Cipher suite (IANA name).
    pub cipher_suite: String,
    /// Key-exchange group (e.g. `X25519`), when known.
    pub key_exchange_group: Option<String>,
}

/// Client-certificate policy as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// The server never asked for a client certificate.
    None,
    /// The server asked, but answered PING without one (`tls-auth-clients optional`).
    Optional,
    /// The server asked and refused us without one (`tls-auth-clients yes`, Redis' default).
    Required,
    /// The server asks for a client certificate (a CertificateRequest in its clear-text TLS ≤ 1.2 flight),
    /// but no handshake completed to tell whether it insists (TLS 1.0-only, CBC-only, legacy suites).
    Requested,
    /// Not determined (no handshake completed, or the outcome was inconclusive).
    Unknown,
}

impl ClientAuth {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Optional => "optional",
            Self::Required => "required",
            Self::Requested => "requested",
            Self::Unknown => "unknown",
        }
    }
}

/// The server's certificate and chain as inspected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// The leaf (first certificate sent).
    pub leaf: CertSummary,
    /// Every certificate as sent, leaf first.
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
    /// Subject alternative names, as `DNS:name` / `IP:addr` / `URI:..` / `email:..`.
    pub sans: Vec<String>,
    /// Serial number, hex with colons.
    pub serial: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Whole days from the scan time to `not_after` (negative when expired); absent if unparseable.
    pub days_left: Option<i64>,
    /// Public key algorithm: `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or `unknown`.
    pub key_type: String,
    /// Key size in bits (RSA modulus bits counted exactly; EC curve size).
    pub key_bits: Option<u32>,
    /// EC curve name, when the key is EC.
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

impl TrustReason {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::UnknownIssuer => "unknown_issuer",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedSignatureAlgorithm => "unsupported_signature_algorithm",
            Self::WeakKey => "weak_key",
            Self::NameMismatch => "name_mismatch",
            Self::InvalidPurpose => "invalid_purpose",
            Self::BadEncoding => "bad_encoding",
            Self::HandshakeSignatureInvalid => "handshake_signature_invalid",
            Self::KeyNotProven => "key_not_proven",
            Self::Other => "other",
        }
    }
}

/// Finding severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
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

    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
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
}

impl FindingId {
    /// Stable snake_case id, as in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnauthenticatedAccess => "unauthenticated_access",
            Self::PlaintextEnabled => "plaintext_enabled",
            Self::LegacyProtocol => "legacy_protocol",
            Self::WeakCipher => "weak_cipher",
            Self::WeakKeyExchange => "weak_key_exchange",
            Self::CertExpired => "cert_expired",
            Self::CertNotYetValid => "cert_not_yet_valid",
            Self::CertExpiringSoon => "cert_expiring_soon",
            Self::CertUntrusted => "cert_untrusted",
            Self::CertSelfSigned => "cert_self_signed",
            Self::CertChainIncomplete => "cert_chain_incomplete",
            Self::CertHostnameMismatch => "cert_hostname_mismatch",
            Self::CertWeakKey => "cert_weak_key",
            Self::CertWeakSignature => "cert_weak_signature",
            Self::ClientAuthNotRequired => "client_auth_not_required",
            Self::MixedMode => "mixed_mode",
            Self::ClusterBusPlaintext => "cluster_bus_plaintext",
        }
    }
}

/// One finding on one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Finding id (contract).
    pub id: FindingId,
    /// Severity (contract).
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// What was observed.
    pub evidence: String,
    /// The concrete `redis.conf` change that fixes it.
    pub remediation: String,
}

/// Scan metadata and provenance (contract): the journal's first line and `report.json`'s `scan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanMeta {
    /// `redis-tls-scan`.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// Report schema version.
    pub schema_version: String,
    /// Scan start (RFC 3339, UTC).
    pub started_at: String,
    /// Scan end (RFC 3339, UTC); absent in the journal's first line.
    pub finished_at: Option<String>,
    /// Host name of the machine that ran the scan.
    pub scanner_host: String,
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// Targets as given (arguments and file lines, with their origin).
    pub targets: Vec<String>,
    /// Ports from `-p`.
    pub ports: Vec<u16>,
    /// Exclusions as given.
    pub exclusions: Vec<String>,
    /// Host names that did not resolve (not scanned).
    pub unresolved: Vec<Unresolved>,
    /// `--sni` override, if any.
    pub sni: Option<String>,
    /// Trust anchors used for the verdicts.
    pub trust: TrustSource,
    /// Client certificate presented in the extra handshake (path and SHA-256), if any.
    pub client_certificate: Option<FileProof>,
    /// Timeouts in milliseconds.
    pub timeouts_ms: Timeouts,
    /// Concurrency cap used.
    pub concurrency: usize,
    /// `--rate`: new connections per second (0: unlimited).
    pub rate: u32,
    /// `--host-concurrency`: endpoints of one address at once.
    pub host_concurrency: usize,
    /// Raw ClientHello probe depth: `full`, `quick` or `off`.
    pub cipher_scan: String,
    /// `cert_expiring_soon` threshold in days.
    pub warn_days: i64,
    /// Endpoints planned (targets × ports − exclusions, this shard's part).
    pub endpoints_planned: u64,
    /// SHA-256 of the resolved plan (targets, exclusions, ports), see [`crate::endpoints::Plan::digest`];
    /// absent in journals and reports written before it existed (still schema 1.0).
    #[serde(default)]
    pub plan_digest: Option<String>,
    /// Seed of the visiting order.
    pub seed: u64,
    /// `--shard I/N`, if any.
    pub shard: Option<String>,
    /// True when the built-in special-purpose ranges were excluded (no `--allow-reserved`).
    pub reserved_excluded: bool,
    /// For a run made by `merge`: the shards' journals, with their SHA-256.
    #[serde(default)]
    pub merged_from: Vec<FileProof>,
    /// Endpoint counts; present once the scan has ended.
    pub counts: Option<Counts>,
    /// True when the scan was interrupted before every planned endpoint was scanned.
    pub interrupted: bool,
}

/// A target host name that did not resolve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unresolved {
    /// The name.
    pub target: String,
    /// Where it was given (`file:line`).
    pub origin: String,
    /// The resolver's answer.
    pub error: String,
}

/// Which anchors the trust verdicts used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustSource {
    /// `system`, `mozilla` or `none` (then only `ca_files`).
    pub roots: String,
    /// `--ca-file` files with their SHA-256.
    pub ca_files: Vec<FileProof>,
    /// Number of anchors in all.
    pub anchors: usize,
}

/// A local file named in the provenance, with its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileProof {
    /// Path as given.
    pub path: String,
    /// SHA-256 of its contents, lowercase hex.
    pub sha256: String,
}

/// Timeouts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// One TCP connect.
    pub connect: u64,
    /// One read.
    pub read: u64,
    /// Total per endpoint.
    pub endpoint: u64,
}

/// Endpoint counts by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Endpoints whose probes finished.
    pub scanned: u64,
    /// TCP connection accepted.
    pub open: u64,
    /// Refused.
    pub closed: u64,
    /// Connect timed out.
    pub filtered: u64,
    /// Other connect errors.
    pub unreachable: u64,
    /// Endpoints that speak Redis (plaintext or TLS).
    pub redis: u64,
    /// Endpoints that answered Redis in plaintext.
    pub plaintext_redis: u64,
    /// Endpoints that speak TLS.
    pub tls: u64,
}

impl Counts {
    /// Adds another tally.
    pub fn merge(&mut self, o: &Counts) {
        self.scanned += o.scanned;
        self.open += o.open;
        self.closed += o.closed;
        self.filtered += o.filtered;
        self.unreachable += o.unreachable;
        self.redis += o.redis;
        self.plaintext_redis += o.plaintext_redis;
        self.tls += o.tls;
    }

    /// The tally of one endpoint that was not open.
    pub fn dead(r: Reachability) -> Self {
        let mut c = Self { scanned: 1, ..Self::default() };
        match r {
            Reachability::Open => c.open = 1,
            Reachability::Closed => c.closed = 1,
            Reachability::Filtered => c.filtered = 1,
            Reachability::Unreachable => c.unreachable = 1,
        }
        c
    }

    /// The tally of one record.
    pub fn of(r: &EndpointRecord) -> Self {
        let mut c = Self::default();
        c.add(r);
        c
    }

    /// Adds one record.
    pub fn add(&mut self, r: &EndpointRecord) {
        self.scanned += 1;
        match r.reachability {
            Reachability::Open => self.open += 1,
            Reachability::Closed => self.closed += 1,
            Reachability::Filtered => self.filtered += 1,
            Reachability::Unreachable => self.unreachable += 1,
        }
        self.redis += u64::from(r.is_redis());
        self.plaintext_redis += u64::from(r.plaintext.as_ref().is_some_and(|p| p.status.is_redis()));
        self.tls += u64::from(r.tls.as_ref().is_some_and(|t| t.speaks_tls));
    }
}

/// One line of the journal `scan.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JournalLine {
    /// First line: the scan's metadata.
    Scan(Box<ScanMeta>),
    /// One finished endpoint.
    Endpoint(Box<JournaledEndpoint>),
    /// Resume bookkeeping: every position below `next_position` of the scan order is finished, and
    /// `counts` covers exactly those (journaled or not).
    Progress(ProgressMark),
    /// A finding from the host-level pass, for one endpoint (written after the sweep, before `end`).
    HostFinding(HostFindingLine),
    /// Last line, written when the scan ends (normally or interrupted).
    End(EndMark),
}

/// An endpoint record as journaled: the record, and its position in the scan order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournaledEndpoint {
    /// Position in this shard's visiting order (for `--resume`).
    pub position: Option<u64>,
    /// The record.
    #[serde(flatten)]
    pub record: EndpointRecord,
}

/// The resume checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressMark {
    /// First position not known to be finished.
    pub next_position: u64,
    /// Counts over positions `0..next_position`.
    pub counts: Counts,
}

/// A finding that needed more than one endpoint of a host to see (`mixed_mode`, `cluster_bus_plaintext`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFindingLine {
    /// Address of the endpoint it belongs to.
    pub address: IpAddr,
    /// Port of the endpoint it belongs to.
    pub port: u16,
    /// The finding.
    pub finding: Finding,
}

/// The journal's closing line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndMark {
    /// When the scan ended (RFC 3339).
    pub finished_at: String,
    /// Counts over every endpoint scanned, including those not journaled (closed, filtered).
    pub counts: Counts,
    /// True when interrupted.
    pub interrupted: bool,
}

/// Totals over a scan: `report.json`'s `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Endpoint counts.
    pub counts: Counts,
    /// Endpoints with at least one finding.
    pub endpoints_with_findings: u64,
    /// Number of findings per severity (`critical`, `high`, ...).
    pub findings_by_severity: BTreeMap<Severity, u64>,
    /// Number of findings per id.
    pub findings_by_id: BTreeMap<FindingId, u64>,
    /// Highest severity found, if any.
    pub max_severity: Option<Severity>,
}
