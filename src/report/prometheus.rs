//! Prometheus text exposition (`--prometheus FILE`) for node_exporter's textfile collector: one gauge
//! family per fact, labels `address`, `port` (and `version`, `severity`), names in Prometheus conventions
//! (base units: `_seconds`, never days; `_info`-free gauges; one series per endpoint), written atomically so the collector never reads half.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use super::{JournalDigest, ReportError};
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

/// Run-level families: name → (help, samples of (labels, value)).
type Families = BTreeMap<&'static str, (&'static str, Vec<(String, f64)>)>;

/// One sample: family name, help, labels, value.
type Sample = (&'static str, &'static str, String, f64);

/// The samples of one endpoint.
fn endpoint_samples(r: &crate::model::EndpointRecord) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let mut add = |name: &'static str, help: &'static str, labels: String, value: f64| {
        out.push((name, help, labels, value));
    };
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
    out
}

/// The run-level samples.
fn run_samples(digest: &JournalDigest) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let mut add = |name: &'static str, help: &'static str, labels: String, value: f64| {
        out.push((name, help, labels, value));
    };
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

    out
}

fn sample_line(name: &str, labels: &str, value: f64) -> String {
    if labels.is_empty() { format!("{name} {value}\n") } else { format!("{name}{{{labels}}} {value}\n") }
}

/// One family's samples, spooled to a temporary file next to the output while the records stream by
/// (the exposition format wants each family's samples together; memory stays flat).
struct Family {
    help: &'static str,
    spool: std::io::BufWriter<std::fs::File>,
    tmp: std::path::PathBuf,
}

/// The `--prometheus` sink.
pub struct PrometheusSink {
    path: std::path::PathBuf,
    digest: JournalDigest,
    families: BTreeMap<&'static str, Family>,
    last: Option<(std::net::IpAddr, u16)>,
}

impl PrometheusSink {
    /// A sink writing `path` (outside or inside the run directory).
    ///
    /// # Errors
    /// Never at creation; spool files are made on first use.
    pub fn new(path: &Path, digest: &JournalDigest) -> Result<Self, ReportError> {
        Ok(Self { path: path.to_path_buf(), digest: digest.clone(), families: BTreeMap::new(), last: None })
    }
}

impl super::Sink for PrometheusSink {
    fn endpoint(&mut self, r: &crate::model::EndpointRecord) -> Result<(), ReportError> {
        // One endpoint is one series: records come in (address, port) order, so a second record of the same
        // endpoint (an older merge) would follow the first and is skipped.
        if self.last == Some((r.address, r.port)) {
            return Ok(());
        }
        self.last = Some((r.address, r.port));
        for (name, help, labels, value) in endpoint_samples(r) {
            let family = match self.families.entry(name) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let base = self.path.with_file_name(format!(
                        "{}.{name}",
                        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                    ));
                    let (file, tmp) = super::rundir::create_temp(&base).map_err(super::io_err(&base))?;
                    v.insert(Family { help, spool: std::io::BufWriter::new(file), tmp })
                }
            };
            family.spool.write_all(sample_line(name, &labels, value).as_bytes()).map_err(super::io_err(&family.tmp))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        let mut run: Families = BTreeMap::new();
        for (name, help, labels, value) in run_samples(&self.digest) {
            run.entry(name).or_insert((help, Vec::new())).1.push((labels, value));
        }
        let families = std::mem::take(&mut self.families);
        let mut names: Vec<&'static str> = families.keys().chain(run.keys()).copied().collect();
        names.sort_unstable();
        names.dedup();
        let mut spools = families;
        let result = super::write_atomic(&self.path, |out| {
            for name in &names {
                if let Some(f) = spools.get_mut(name) {
                    writeln!(out, "# HELP {name} {}\n# TYPE {name} gauge", f.help)?;
                    f.spool.flush()?;
                    let mut spooled = std::fs::File::open(&f.tmp)?;
                    std::io::copy(&mut spooled, out)?;
                }
                if let Some((help, samples)) = run.get(name) {
                    if !spools.contains_key(name) {
                        writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge")?;
                    }
                    for (labels, value) in samples {
                        out.write_all(sample_line(name, labels, *value).as_bytes())?;
                    }
                }
            }
            Ok(())
        });
        for f in spools.values() {
            let _ = std::fs::remove_file(&f.tmp);
        }
        result.map(|_| None)
    }
}

impl Drop for Family {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
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
