//! The journal `scan.jsonl`, line by line: metadata, endpoints, checkpoints, host findings, the end.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::finding::Finding;
use super::record::EndpointRecord;
use super::scan::{Counts, ScanMeta};

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}
