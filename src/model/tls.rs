//! What the TLS stage learns: versions, suites, key exchange, client authentication, PING over TLS.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ping::PingResult;

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
    /// Per protocol version tested: accepted or rejected (with why). Keys: `ssl3`, `tls1_0`, ... A
    /// version that was not tested is absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", serialize_with = "tested_only")]
    pub versions: BTreeMap<TlsVersion, VersionProbe>,
    /// The highest version negotiated, with its suite and key-exchange group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<Negotiated>,
    /// Whether the server asks for, or insists on, a client certificate.
    pub client_auth: ClientAuth,
    /// `PING` over TLS without a client certificate (on the highest accepted version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingResult>,
    /// `PING` over TLS presenting `--client-cert`, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_with_client_cert: Option<PingResult>,
    /// Key-exchange strength (absent when nothing was learned).
    #[serde(default, skip_serializing_if = "KeyExchange::is_empty")]
    pub key_exchange: KeyExchange,
}

impl TlsResult {
    /// The versions accepted, newest first, with their probes.
    pub fn accepted(&self) -> impl Iterator<Item = (TlsVersion, &VersionProbe)> {
        self.versions.iter().rev().filter(|(_, p)| p.status == VersionStatus::Accepted).map(|(v, p)| (*v, p))
    }

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<HandshakeFailure>,
    /// TLS alert received, if any (code and RFC name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// Extra detail (e.g. a rustls error, the version the server answered with instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Cipher suite negotiated in this handshake (IANA name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// Key-exchange group negotiated in this handshake, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange_group: Option<String>,
    /// Cipher suites the server accepted with this version, in the order it chose them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<SuiteInfo>,
    /// How completely `cipher_suites` was established (absent: `none`).
    #[serde(default, skip_serializing_if = "Enumeration::is_none")]
    pub enumeration: Enumeration,
    /// True when the server imposes its own suite order, false when it follows ours; absent if unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
    #[default]
    None,
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

/// Serializes only the versions that were tested: "not tested" is the absence of a key.
fn tested_only<S: serde::Serializer>(v: &BTreeMap<TlsVersion, VersionProbe>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().filter(|(_, p)| p.status != VersionStatus::NotTested))
}

impl Enumeration {
    fn is_none(&self) -> bool {
        *self == Self::None
    }
}

impl KeyExchange {
    /// True when no key-exchange fact is known.
    pub fn is_empty(&self) -> bool {
        self.dh_bits.is_none() && self.groups.is_empty() && self.weak_groups_accepted.is_empty()
    }

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

/// Key-exchange facts gathered from the handshakes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyExchange {
    /// Smallest ephemeral DH prime seen (bits), from a DHE ServerKeyExchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dh_bits: Option<u32>,
    /// Groups the server chose (ECDHE curves, TLS 1.3 key shares).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Curves under 224 bits the server accepted when offered nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
