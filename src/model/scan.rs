//! Scan-wide facts: metadata and provenance, counts, the summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::finding::{FindingId, Severity};
use super::ping::Reachability;
use super::record::EndpointRecord;

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
    /// Seed of the visiting order: a decimal string in JSON (a 64-bit number that JSON readers such as
    /// `jq` would round); schema 1.0's number is read too.
    #[serde(with = "u64_text")]
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

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// Not probed: the scanner ran out of sockets (absent when none, as in journals before it existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scanner_out_of_resources: u64,
    /// Of `scanned`, the endpoints outside the plan that `--follow` probed (absent when none): `scanned`
    /// minus this is what the plan's `endpoints_planned` is compared with.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub followed: u64,
    /// Endpoints that speak Redis (plaintext or TLS).
    pub redis: u64,
    /// Endpoints that answered Redis in plaintext.
    pub plaintext_redis: u64,
    /// Endpoints that speak TLS.
    pub tls: u64,
}

impl Counts {
    /// The endpoints `--follow` added to the plan's, as a phrase for the reports' counts (empty when none:
    /// the usual case).
    pub fn followed_phrase(&self) -> String {
        if self.followed == 0 {
            String::new()
        } else {
            format!(" ({} of them outside the plan, followed by --follow)", self.followed)
        }
    }

    /// The endpoints the scanner could not probe for want of sockets, as a phrase for the reports' counts
    /// (empty when none: the usual case).
    pub fn shortage_phrase(&self) -> String {
        if self.scanner_out_of_resources == 0 {
            String::new()
        } else {
            format!(", {} not probed (the scanner ran out of sockets)", self.scanner_out_of_resources)
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, o: &Counts) {
        self.scanned += o.scanned;
        self.open += o.open;
        self.closed += o.closed;
        self.filtered += o.filtered;
        self.unreachable += o.unreachable;
        self.scanner_out_of_resources += o.scanner_out_of_resources;
        self.followed += o.followed;
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
            Reachability::ScannerOutOfResources => c.scanner_out_of_resources = 1,
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
            Reachability::ScannerOutOfResources => self.scanner_out_of_resources += 1,
        }
        self.redis += u64::from(r.is_redis());
        self.plaintext_redis += u64::from(r.plaintext.as_ref().is_some_and(|p| p.status.is_redis()));
        self.tls += u64::from(r.tls.as_ref().is_some_and(|t| t.speaks_tls));
    }
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

/// A `u64` as a decimal string in JSON, read from a string or (schema 1.0) a number.
mod u64_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u64),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortage_is_counted_apart_and_said_only_when_there_is_one() {
        let mut c = Counts::dead(Reachability::Closed);
        assert_eq!(c.shortage_phrase(), "");
        c.merge(&Counts::dead(Reachability::ScannerOutOfResources));
        assert_eq!((c.scanned, c.closed, c.unreachable, c.filtered), (2, 1, 0, 0));
        assert_eq!(c.shortage_phrase(), ", 1 not probed (the scanner ran out of sockets)");
    }
}
