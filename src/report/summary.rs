//! The human summary: what the terminal shows at the end of a scan and what `summary.txt` holds.
//!
//! Reads only the journal digest and records; every remote-controlled string in a record was already
//! sanitised when captured, so nothing here can emit a terminal escape sequence.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::{JournalDigest, ReportError, for_each_endpoint};
use crate::model::{EndpointRecord, FindingId, Severity, TlsVersion, VersionStatus};

/// Most endpoints listed one per line; the rest are counted.
const LIST_MAX: usize = 200;

/// Renders the summary text.
///
/// # Errors
/// When the journal cannot be read.
pub fn render(digest: &JournalDigest, journal: &Path, dir: &Path) -> Result<String, ReportError> {
    let meta = &digest.meta;
    let s = &digest.summary;
    let c = &s.counts;
    let mut rows: Vec<(Option<Severity>, String)> = Vec::new();
    let mut more = 0u64;
    let mut remediations: BTreeMap<FindingId, String> = BTreeMap::new();
    for_each_endpoint(journal, &digest.hosts, |r| {
        for f in &r.findings {
            remediations.entry(f.id).or_insert_with(|| f.remediation.clone());
        }
        if r.is_redis() || !r.findings.is_empty() || r.tls.as_ref().is_some_and(|t| t.speaks_tls) {
            if rows.len() < LIST_MAX {
                rows.push((r.max_severity(), endpoint_line(&r)));
            } else {
                more += 1;
            }
        }
    })?;
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {} endpoint(s) planned, {} scanned{}",
        meta.tool,
        meta.version,
        meta.endpoints_planned,
        c.scanned,
        if meta.interrupted { " (INTERRUPTED: reports cover the endpoints finished)" } else { "" }
    );
    let _ = writeln!(out, "  started {}  finished {}", meta.started_at, meta.finished_at.as_deref().unwrap_or("-"));
    let _ = writeln!(
        out,
        "  reachability: {} open, {} closed, {} filtered, {} unreachable",
        c.open, c.closed, c.filtered, c.unreachable
    );
    let _ = writeln!(out, "  Redis: {} endpoint(s), {} in plaintext; TLS: {}", c.redis, c.plaintext_redis, c.tls);
    let by_sev: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|sev| format!("{} {}", s.findings_by_severity.get(sev).copied().unwrap_or(0), sev.as_str()))
        .collect();
    let _ = writeln!(out, "  findings: {} on {} endpoint(s)", by_sev.join(", "), s.endpoints_with_findings);
    if !meta.unresolved.is_empty() {
        let names: Vec<String> = meta.unresolved.iter().map(|u| format!("{} ({})", u.target, u.origin)).collect();
        let _ = writeln!(out, "  not resolved, not scanned: {}", names.join(", "));
    }
    if !rows.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<28} {:<10} {:<9} {:<9} {:<24} FINDINGS",
            "ENDPOINT", "PLAINTEXT", "TLS", "CLIENT", "CERTIFICATE"
        );
        for (_, line) in &rows {
            let _ = writeln!(out, "{line}");
        }
        if more > 0 {
            let _ = writeln!(out, "... and {more} more endpoint(s): see endpoints.csv");
        }
    }
    if !remediations.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Remediation (redis.conf):");
        for (id, fix) in &remediations {
            let _ = writeln!(out, "  {:<26} {fix}", id.as_str());
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Reports: {}", dir.display());
    Ok(out)
}

/// One compact line per endpoint.
fn endpoint_line(r: &EndpointRecord) -> String {
    let ep = match (&r.name, r.address) {
        (Some(n), ip) => format!("{n}/{}", std::net::SocketAddr::new(ip, r.port)),
        (None, ip) => std::net::SocketAddr::new(ip, r.port).to_string(),
    };
    let plain = r.plaintext.as_ref().map_or(r.reachability.as_str(), |p| p.status.as_str());
    let (tls, client) = match &r.tls {
        Some(t) if t.speaks_tls => {
            let versions: Vec<&str> = TlsVersion::ALL
                .iter()
                .rev()
                .filter(|v| t.versions.get(v).is_some_and(|p| p.status == VersionStatus::Accepted))
                .map(|v| v.short())
                .collect();
            let v = if versions.is_empty() { "none".to_string() } else { versions.join(",") };
            (v, t.client_auth.as_str())
        }
        _ => ("-".to_string(), "-"),
    };
    let cert = r.certificate.as_ref().map_or("-".to_string(), |c| {
        let days = c.leaf.days_left.map_or("?".to_string(), |d| d.to_string());
        let verdict = if c.trust.trusted {
            "trusted".to_string()
        } else {
            c.trust.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("+")
        };
        format!("{days}d {verdict}")
    });
    let findings: Vec<String> =
        r.findings.iter().map(|f| format!("{}:{}", f.severity.as_str(), f.id.as_str())).collect();
    let findings = if findings.is_empty() { "-".to_string() } else { findings.join(" ") };
    format!("{ep:<28} {plain:<10} {tls:<9} {client:<9} {cert:<24} {findings}")
}
