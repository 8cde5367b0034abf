//! Prometheus text exposition (`--prometheus FILE`) for node_exporter's textfile collector: one gauge
//! family per fact, labels `address`, `port` (and `version`, `severity`), names in Prometheus conventions
//! (base units: `_seconds`, never days; `_info`-free gauges; one series per endpoint), written atomically so the collector never reads half.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::{JournalDigest, ReportError, for_each_endpoint, write_atomic};
use crate::model::{Severity, TlsVersion, VersionStatus};

/// Escapes a label value (exposition format: backslash, double quote, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn ts(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Metric families: name, help, samples (labels, value).
type Families = BTreeMap<&'static str, (&'static str, Vec<(String, f64)>)>;

/// Renders the exposition text.
///
/// # Errors
/// When the journal cannot be read.
pub fn render(digest: &JournalDigest, journal: &Path) -> Result<String, ReportError> {
    let mut fam: Families = BTreeMap::new();
    let mut add = |name: &'static str, help: &'static str, labels: String, value: f64| {
        fam.entry(name).or_insert((help, Vec::new())).1.push((labels, value));
    };
    // One endpoint is one series: a second record of the same (address, port) would be a duplicate
    // series, which the textfile collector rejects (the plan scans each endpoint once; merged or
    // older journals are not trusted to).
    let mut seen: HashSet<(std::net::IpAddr, u16)> = HashSet::new();
    for_each_endpoint(journal, &digest.hosts, |r| {
        if !seen.insert((r.address, r.port)) {
            return;
        }
        let base = format!("address=\"{}\",port=\"{}\"", label(&r.address.to_string()), r.port);
        let plaintext = r.plaintext.as_ref().is_some_and(|p| p.status.is_redis());
        add(
            "redis_tls_scan_endpoint_redis",
            "1 when the endpoint answered a Redis PING (plaintext or TLS).",
            base.clone(),
            f64::from(u8::from(r.is_redis())),
        );
        add(
            "redis_tls_scan_plaintext_enabled",
            "1 when Redis answers in plaintext on the endpoint.",
            base.clone(),
            f64::from(u8::from(plaintext)),
        );
        if let Some(t) = &r.tls {
            add(
                "redis_tls_scan_tls_enabled",
                "1 when the endpoint speaks TLS.",
                base.clone(),
                f64::from(u8::from(t.speaks_tls)),
            );
            for v in TlsVersion::ALL {
                if let Some(p) = t.versions.get(&v).filter(|p| p.status != VersionStatus::NotTested) {
                    let accepted = f64::from(u8::from(p.status == VersionStatus::Accepted));
                    add(
                        "redis_tls_scan_tls_version_accepted",
                        "1 when the protocol version is accepted, 0 when refused (absent: not tested).",
                        format!("{base},version=\"{}\"", v.name()),
                        accepted,
                    );
                }
            }
        }
        if let Some(c) = &r.certificate {
            if let Some(t) = ts(&c.leaf.not_after) {
                add(
                    "redis_tls_scan_cert_not_after_seconds",
                    "Expiry of the leaf certificate, Unix time.",
                    base.clone(),
                    t as f64,
                );
            }
            // Base units (promtool, Prometheus conventions): seconds, not days.
            if let (Some(end), Some(at)) = (ts(&c.leaf.not_after), ts(&r.started_at)) {
                add(
                    "redis_tls_scan_cert_remaining_seconds",
                    "Seconds from the probe to the leaf certificate's expiry (negative: expired).",
                    base.clone(),
                    (end - at) as f64,
                );
            }
            add(
                "redis_tls_scan_cert_trusted",
                "1 when the chain validates for the endpoint's identity.",
                base.clone(),
                f64::from(u8::from(c.trust.trusted)),
            );
        }
        for sev in Severity::DESCENDING {
            let n = r.findings.iter().filter(|f| f.severity == sev).count();
            add(
                "redis_tls_scan_findings",
                "Findings on the endpoint, by severity.",
                format!("{base},severity=\"{}\"", sev.as_str()),
                n as f64,
            );
        }
    })?;
    let m = &digest.meta;
    let c = &digest.summary.counts;
    if let Some(t) = m.finished_at.as_deref().and_then(ts) {
        add("redis_tls_scan_last_run_timestamp_seconds", "When the scan finished, Unix time.", String::new(), t as f64);
    }
    if let (Some(a), Some(b)) = (ts(&m.started_at), m.finished_at.as_deref().and_then(ts)) {
        add("redis_tls_scan_last_run_duration_seconds", "How long the scan took.", String::new(), (b - a) as f64);
    }
    add("redis_tls_scan_endpoints_scanned", "Endpoints scanned in the last run.", String::new(), c.scanned as f64);
    add("redis_tls_scan_endpoints_redis", "Redis endpoints found in the last run.", String::new(), c.redis as f64);
    add(
        "redis_tls_scan_last_run_interrupted",
        "1 when the last run was interrupted.",
        String::new(),
        f64::from(u8::from(m.interrupted)),
    );

    let mut out = String::new();
    for (name, (help, samples)) in fam {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
    Ok(out)
}

/// How every file this module writes starts (the first family's help line).
const SIGNATURE: &[u8] = b"# HELP redis_tls_scan_";

/// Checks, before the first packet, that `path` can take the exposition file: not a directory, its
/// directory writable, and not a file of someone else (an existing file is replaced only when this
/// tool wrote it).
///
/// # Errors
/// [`ReportError::Refused`] naming the path and the reason.
pub fn check(path: &Path) -> Result<(), ReportError> {
    super::rundir::check_writable(path, SIGNATURE)
        .map_err(|reason| ReportError::Refused { path: path.to_path_buf(), reason: format!("--prometheus: {reason}") })
}

/// Writes the exposition file atomically.
///
/// # Errors
/// On read or write errors.
pub fn write(path: &Path, digest: &JournalDigest, journal: &Path) -> Result<(), ReportError> {
    let text = render(digest, journal)?;
    write_atomic(path, |out| out.write_all(text.as_bytes()))
}
