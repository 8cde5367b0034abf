//! `diff OLD NEW`: what changed between two sweeps, for the scheduled-sweep user.
//!
//! Reads two `report.json` (or run directories), keys endpoints by `address:port`, and reports
//! endpoints new and gone, findings new and resolved (and worsened), certificates rotated and expiring,
//! protocol-version and cipher-suite drift. "Worse" (exit code 1) means: a new or more severe finding, a
//! legacy version newly accepted, or an insecure/weak suite newly accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{
    EndpointRecord, Enumeration, HandshakeFailure, ScanMeta, Severity, SuiteClass, Summary, TlsVersion, VersionStatus,
};

/// A `report.json` as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportFile {
    /// Schema version.
    pub schema_version: String,
    /// Metadata.
    pub scan: ScanMeta,
    /// Endpoint records.
    pub endpoints: Vec<EndpointRecord>,
    /// Totals.
    pub summary: Summary,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct DiffError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Reads `report.json` from a file or a run directory.
///
/// # Errors
/// When it is missing, unreadable or not a report of this schema.
pub fn load(path: &Path) -> Result<ReportFile, DiffError> {
    let file = if path.is_dir() { path.join("report.json") } else { path.to_path_buf() };
    let err = |reason: String| DiffError { path: file.clone(), reason };
    // Bounded: `diff DIR /dev/zero` fails at its first byte, a huge file at the cap.
    let opened = std::fs::File::open(&file).map_err(|e| err(format!("cannot read: {e}")))?;
    let reader = std::io::BufReader::new(crate::input::Capped::new(opened, crate::input::MAX_REPORT_FILE));
    let report: ReportFile = serde_json::from_reader(reader).map_err(|e| DiffError {
        path: PathBuf::from(format!("{}:{}", file.display(), e.line())),
        reason: format!("not a report.json: {e}"),
    })?;
    if !crate::model::SCHEMA_READ.contains(&report.schema_version.as_str()) {
        return Err(err(format!(
            "schema {} (this tool reads {})",
            report.schema_version,
            crate::model::SCHEMA_READ.join(", ")
        )));
    }
    Ok(report)
}

/// One finding, located.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingChange {
    /// `address:port`.
    pub endpoint: String,
    /// Finding id.
    pub id: String,
    /// Severity (in the newer scan when it exists there).
    pub severity: Severity,
    /// Evidence.
    pub evidence: String,
}

/// A certificate that changed or expires soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertChange {
    /// `address:port`.
    pub endpoint: String,
    /// Fingerprint before (rotations only).
    pub old_sha256: Option<String>,
    /// Fingerprint now.
    pub new_sha256: String,
    /// Expiry now.
    pub not_after: String,
    /// Days left now.
    pub days_left: Option<i64>,
}

/// A protocol version whose verdict changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    /// `address:port`.
    pub endpoint: String,
    /// Version key (`tls1_0`, ...).
    pub version: String,
    /// Before.
    pub old: String,
    /// Now.
    pub new: String,
}

/// A suite accepted in one scan and not the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuiteChange {
    /// `address:port`.
    pub endpoint: String,
    /// Version key.
    pub version: String,
    /// IANA name.
    pub suite: String,
    /// Its class.
    pub class: SuiteClass,
}

/// Everything that changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    /// Older scan's start time.
    pub old_started_at: String,
    /// Newer scan's start time.
    pub new_started_at: String,
    /// Endpoints only in the newer scan.
    pub endpoints_new: Vec<String>,
    /// Endpoints only in the older scan.
    pub endpoints_gone: Vec<String>,
    /// Findings only in the newer scan.
    pub findings_new: Vec<FindingChange>,
    /// Findings only in the older scan.
    pub findings_resolved: Vec<FindingChange>,
    /// Findings in both whose severity rose.
    pub findings_worsened: Vec<FindingChange>,
    /// Leaf fingerprint changed.
    pub certificates_rotated: Vec<CertChange>,
    /// Leaf expires within the newer scan's `warn_days`, or has expired.
    pub certificates_expiring: Vec<CertChange>,
    /// Version verdicts that changed.
    pub version_drift: Vec<VersionChange>,
    /// Suites newly accepted.
    pub suites_added: Vec<SuiteChange>,
    /// Suites no longer accepted.
    pub suites_removed: Vec<SuiteChange>,
    /// Findings of the older scan that the newer one could not re-check (its cipher enumeration or
    /// version probe was cut short by timeouts): unknown, neither resolved nor present.
    pub findings_unknown: Vec<FindingChange>,
    /// Suites of the older scan that the newer one could not re-check (enumeration incomplete): unknown,
    /// not removed.
    pub suites_unknown: Vec<SuiteChange>,
    /// The posture got worse.
    pub worse: bool,
}

fn key(r: &EndpointRecord) -> String {
    r.endpoint().to_string()
}

fn findings(endpoint: &str, r: &EndpointRecord) -> BTreeMap<String, FindingChange> {
    r.findings
        .iter()
        .map(|f| {
            let id = f.id.as_str().to_string();
            (
                id.clone(),
                FindingChange { endpoint: endpoint.into(), id, severity: f.severity, evidence: f.evidence.clone() },
            )
        })
        .collect()
}

/// The version probe of `v` ended on a timeout or a failed connect: its verdict is unknown.
fn timed_out(r: &EndpointRecord, v: TlsVersion) -> bool {
    r.tls.as_ref().and_then(|t| t.versions.get(&v)).is_some_and(|p| {
        matches!(p.failure, Some(HandshakeFailure::Timeout | HandshakeFailure::ConnectFailed))
            || p.enumeration == Enumeration::Incomplete
    })
}

/// Some version's suite list or verdict of `r` is incomplete.
fn enumeration_cut_short(r: &EndpointRecord) -> bool {
    TlsVersion::ALL.iter().any(|v| timed_out(r, *v))
}

fn suites(r: &EndpointRecord) -> BTreeMap<(TlsVersion, String), SuiteClass> {
    r.tls
        .iter()
        .flat_map(|t| t.versions.iter())
        .flat_map(|(v, p)| p.cipher_suites.iter().map(move |s| ((*v, s.name.clone()), s.class)))
        .collect()
}

/// Compares two reports.
pub fn compare(old: &ReportFile, new: &ReportFile) -> Diff {
    let mut d = Diff {
        old_started_at: old.scan.started_at.clone(),
        new_started_at: new.scan.started_at.clone(),
        ..Diff::default()
    };
    let open = |r: &&EndpointRecord| r.reachability == crate::model::Reachability::Open;
    let old_map: BTreeMap<String, &EndpointRecord> = old.endpoints.iter().filter(open).map(|r| (key(r), r)).collect();
    let new_map: BTreeMap<String, &EndpointRecord> = new.endpoints.iter().filter(open).map(|r| (key(r), r)).collect();
    let empty = BTreeMap::new();
    let all: BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
    for k in all {
        let (o, n) = (old_map.get(k), new_map.get(k));
        match (o, n) {
            (None, Some(_)) => d.endpoints_new.push(k.clone()),
            (Some(_), None) => d.endpoints_gone.push(k.clone()),
            _ => {}
        }
        let of = o.map_or_else(|| empty.clone(), |r| findings(k, r));
        let nf = n.map_or_else(|| empty.clone(), |r| findings(k, r));
        for (id, f) in &nf {
            match of.get(id) {
                None => d.findings_new.push(f.clone()),
                Some(prev) if f.severity > prev.severity => d.findings_worsened.push(f.clone()),
                Some(_) => {}
            }
        }
        // A finding that depends on the suite and version lists is not "resolved" when the newer scan
        // could not finish those lists (a busy server timing out): it is unknown.
        let unsure = n.is_some_and(|r| enumeration_cut_short(r));
        for (_, f) in of.iter().filter(|(id, _)| !nf.contains_key(*id)) {
            if unsure && matches!(f.id.as_str(), "weak_cipher" | "legacy_protocol" | "weak_key_exchange") {
                d.findings_unknown.push(f.clone());
            } else {
                d.findings_resolved.push(f.clone());
            }
        }

        let (Some(o), Some(n)) = (o, n) else {
            if let Some(n) = n {
                expiring(&mut d, k, n, new.scan.warn_days);
            }
            continue;
        };
        if let (Some(oc), Some(nc)) = (&o.certificate, &n.certificate)
            && oc.leaf.sha256 != nc.leaf.sha256
        {
            d.certificates_rotated.push(CertChange {
                endpoint: k.clone(),
                old_sha256: Some(oc.leaf.sha256.clone()),
                new_sha256: nc.leaf.sha256.clone(),
                not_after: nc.leaf.not_after.clone(),
                days_left: nc.leaf.days_left,
            });
        }
        expiring(&mut d, k, n, new.scan.warn_days);
        for v in TlsVersion::ALL {
            let status = |r: &EndpointRecord| {
                r.tls.as_ref().and_then(|t| t.versions.get(&v)).map_or(VersionStatus::NotTested, |p| p.status)
            };
            let (os, ns) = (status(o), status(n));
            // "not tested" in one scan is a change of method, not of the server; a version whose probe
            // timed out is unknown, not rejected.
            let unknown = |r: &EndpointRecord| status(r) == VersionStatus::NotTested || timed_out(r, v);
            if os != ns && !unknown(o) && !unknown(n) {
                d.version_drift.push(VersionChange {
                    endpoint: k.clone(),
                    version: v.key().into(),
                    old: os.as_str().into(),
                    new: ns.as_str().into(),
                });
            }
        }
        let (os, ns) = (suites(o), suites(n));
        let change = |((v, name), class): (&(TlsVersion, String), &SuiteClass)| SuiteChange {
            endpoint: k.clone(),
            version: v.key().into(),
            suite: name.clone(),
            class: *class,
        };
        d.suites_added.extend(ns.iter().filter(|(s, _)| !os.contains_key(*s)).map(change));
        for gone in os.iter().filter(|(s, _)| !ns.contains_key(*s)) {
            let complete = n.tls.as_ref().and_then(|t| t.versions.get(&gone.0.0)).is_some_and(|p| {
                p.status == VersionStatus::Rejected && !timed_out(n, gone.0.0) || p.enumeration == Enumeration::Full
            });
            if complete { d.suites_removed.push(change(gone)) } else { d.suites_unknown.push(change(gone)) }
        }
    }
    let legacy_on = d
        .version_drift
        .iter()
        .any(|c| c.new == "accepted" && matches!(c.version.as_str(), "ssl3" | "tls1_0" | "tls1_1"));
    let weak_on = d.suites_added.iter().any(|s| s.class <= SuiteClass::Weak);
    d.worse = !d.findings_new.is_empty() || !d.findings_worsened.is_empty() || legacy_on || weak_on;
    d
}

fn expiring(d: &mut Diff, k: &str, n: &EndpointRecord, warn_days: i64) {
    if let Some(c) = &n.certificate
        && c.leaf.days_left.is_some_and(|days| days <= warn_days)
    {
        d.certificates_expiring.push(CertChange {
            endpoint: k.into(),
            old_sha256: None,
            new_sha256: c.leaf.sha256.clone(),
            not_after: c.leaf.not_after.clone(),
            days_left: c.leaf.days_left,
        });
    }
}

/// The readable form.
pub fn render(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Changes from the scan of {} to the scan of {}", d.old_started_at, d.new_started_at);
    let _ = writeln!(out, "Posture: {}", if d.worse { "WORSE" } else { "not worse" });
    let section = |out: &mut String, title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title} ({}):", lines.len());
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
        }
    };
    section(&mut out, "New endpoints", d.endpoints_new.clone());
    section(&mut out, "Gone endpoints", d.endpoints_gone.clone());
    let f = |v: &[FindingChange]| -> Vec<String> {
        v.iter().map(|f| format!("{} {} [{}] {}", f.endpoint, f.id, f.severity.as_str(), f.evidence)).collect()
    };
    section(&mut out, "New findings", f(&d.findings_new));
    section(&mut out, "Worsened findings", f(&d.findings_worsened));
    section(&mut out, "Resolved findings", f(&d.findings_resolved));
    section(
        &mut out,
        "Certificates rotated",
        d.certificates_rotated
            .iter()
            .map(|c| {
                let old = c.old_sha256.as_deref().unwrap_or("").get(..16).unwrap_or("").to_string();
                format!(
                    "{} {}.. -> {}.. (not after {})",
                    c.endpoint,
                    old,
                    c.new_sha256.get(..16).unwrap_or(""),
                    c.not_after
                )
            })
            .collect(),
    );
    section(
        &mut out,
        "Certificates expired or expiring",
        d.certificates_expiring
            .iter()
            .map(|c| match c.days_left.unwrap_or(0) {
                d if d < 0 => format!("{} expired {} days ago (not after {})", c.endpoint, -d, c.not_after),
                d => format!("{} {d} days left (not after {})", c.endpoint, c.not_after),
            })
            .collect(),
    );
    section(
        &mut out,
        "Protocol drift",
        d.version_drift.iter().map(|c| format!("{} {}: {} -> {}", c.endpoint, c.version, c.old, c.new)).collect(),
    );
    let s = |v: &[SuiteChange]| -> Vec<String> {
        v.iter().map(|s| format!("{} {} {} ({})", s.endpoint, s.version, s.suite, s.class.as_str())).collect()
    };
    section(&mut out, "Suites added", s(&d.suites_added));
    section(&mut out, "Suites removed", s(&d.suites_removed));
    section(&mut out, "Suites not re-checked (enumeration incomplete)", s(&d.suites_unknown));
    section(
        &mut out,
        "Findings not re-checked (enumeration incomplete)",
        d.findings_unknown.iter().map(|f| format!("{} {} ({})", f.endpoint, f.id, f.severity.as_str())).collect(),
    );
    out
}
