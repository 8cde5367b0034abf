//! The endpoint record: the one thing every probe fills and every sink reads, with the plaintext
//! `PING` outcome.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::audit::Audit;
use super::cert::CertificateInfo;
use super::finding::{Finding, Severity};
use super::ping::{PingResult, Reachability};
use super::tls::TlsResult;

/// Version of the report schema (journal, `report.json`, CSV columns). Bumped on any breaking change.
pub const SCHEMA_VERSION: &str = "2.0";

/// Schema versions this tool reads back (`diff`, `merge`, `--resume`): 1.0 records carry every section
/// (with nulls and `not_tested` blocks) and findings with their title and remediation; both read as 2.0.
pub const SCHEMA_READ: [&str; 2] = ["1.0", "2.0"];

/// Everything learned about one `address:port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// IP address probed.
    pub address: IpAddr,
    /// TCP port probed.
    pub port: u16,
    /// Name used for SNI and the hostname check (from `--sni` or the target's hostname), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether a TCP connection could be made.
    pub reachability: Reachability,
    /// Plaintext RESP `PING` on its own connection; absent when the port is not open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<PingResult>,
    /// TLS handshakes and PING over TLS; absent when the port is not open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsResult>,
    /// The server's certificate (leaf and chain as sent) with its trust verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
    /// `--audit`: what the server told an authenticated client about itself; absent unless audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
    /// Findings raised for this endpoint (design.md §2).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// When the endpoint's probes started (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time spent on this endpoint, in milliseconds.
    pub duration_ms: u64,
    /// TCP connections this endpoint cost.
    pub connections: u32,
    /// True when the per-endpoint total deadline cut the probes short; later probes are then absent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deadline_exceeded: bool,
}

impl EndpointRecord {
    /// True when the endpoint speaks Redis, in plaintext or over TLS.
    pub fn is_redis(&self) -> bool {
        self.plaintext.as_ref().is_some_and(|p| p.status.is_redis())
            || self.tls.as_ref().is_some_and(TlsResult::is_redis)
    }

    /// True when the reports list this record: an open endpoint, or one the scanner could not probe for
    /// want of sockets (a shortage must be seen); closed, filtered and unreachable ones only with
    /// `--include-closed` (they are always counted).
    pub fn is_listed(&self, include_closed: bool) -> bool {
        include_closed || matches!(self.reachability, Reachability::Open | Reachability::ScannerOutOfResources)
    }

    /// `address:port`.
    pub fn endpoint(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.address, self.port)
    }

    /// How reports name the endpoint: `name (address:port)`, or `address:port`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.endpoint()),
            None => self.endpoint().to_string(),
        }
    }

    /// Highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
