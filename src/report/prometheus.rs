//! Prometheus text exposition of endpoint records: the `--prometheus FILE` sink (node_exporter's textfile
//! collector, and what `--push-gateway` pushes) and [`exposition`], the one record `serve`'s `/probe`
//! answers with. Both render through [`endpoint_samples`], so a target has the same series either way.
//!
//! Conventions (promtool, blackbox_exporter, ssl_exporter): base units in names (`_seconds`,
//! `_timestamp_seconds`), `_info` gauges for the negotiated version and suite, every certificate of the
//! chain with its identity labels (`cn`, `issuer_cn`, `serial_no`, and `position`, 0 the leaf), labels
//! `address`, `port` (and `name` when the target was named), HELP and TYPE once per family, and one series
//! per endpoint: an endpoint reached under two names is reported once.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use super::{JournalDigest, ReportError};
use crate::model::{EndpointRecord, Reachability, Severity, TlsVersion, VersionStatus};

/// Every family this module writes, with its help text: one spelling of each (all are gauges).
pub const FAMILIES: &[(&str, &str)] = &[
    ("redis_tls_scan_probe_success", "1 when the endpoint was reached and answered Redis or TLS within its deadline."),
    ("redis_tls_scan_probe_duration_seconds", "How long probing the endpoint took."),
    ("redis_tls_scan_endpoint_redis", "1 when the endpoint answered a Redis PING (plaintext or TLS)."),
    ("redis_tls_scan_plaintext_enabled", "1 when Redis answers in plaintext on the endpoint."),
    ("redis_tls_scan_tls_enabled", "1 when the endpoint speaks TLS."),
    (
        "redis_tls_scan_tls_version_accepted",
        "1 when the protocol version is accepted, 0 when refused (absent: not tested).",
    ),
    ("redis_tls_scan_tls_version_info", "The highest protocol version negotiated (always 1)."),
    ("redis_tls_scan_tls_cipher_info", "The cipher suite negotiated with the highest version, IANA name (always 1)."),
    (
        "redis_tls_scan_cert_not_after_timestamp_seconds",
        "Expiry (notAfter) of each certificate the endpoint sent, Unix time; position 0 is the leaf.",
    ),
    (
        "redis_tls_scan_cert_not_before_timestamp_seconds",
        "Start of validity (notBefore) of each certificate the endpoint sent, Unix time; position 0 is the leaf.",
    ),
    (
        "redis_tls_scan_cert_remaining_seconds",
        "Seconds from the probe to the leaf certificate's expiry (negative: expired).",
    ),
    ("redis_tls_scan_cert_trusted", "1 when the chain validates for the endpoint's identity."),
    ("redis_tls_scan_findings", "Findings on the endpoint, by severity."),
    ("redis_tls_scan_finding_raised", "1 for each finding id raised on the endpoint (absent: not raised)."),
    ("redis_tls_scan_last_run_timestamp_seconds", "When the scan finished, Unix time."),
    ("redis_tls_scan_last_run_duration_seconds", "How long the scan took."),
    ("redis_tls_scan_endpoints_scanned", "Endpoints scanned in the last run."),
    ("redis_tls_scan_endpoints_redis", "Redis endpoints found in the last run."),
    ("redis_tls_scan_last_run_interrupted", "1 when the last run was interrupted."),
];

/// The help text of a family of [`FAMILIES`].
pub(crate) fn help(name: &str) -> &'static str {
    FAMILIES.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| h)
}

/// Escapes a label value (exposition format: backslash, double quote, line feed).
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn ts(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// One sample: family name, labels (rendered), value.
type Sample = (&'static str, String, f64);

/// The labels naming an endpoint: `address`, `port`, and `name` when the target was a name.
fn endpoint_labels(r: &EndpointRecord) -> String {
    let mut base = format!("address=\"{}\",port=\"{}\"", label(&r.address.to_string()), r.port);
    if let Some(n) = &r.name {
        base.push_str(&format!(",name=\"{}\"", label(n)));
    }
    base
}

/// True when the probe reached the endpoint and it answered Redis or TLS within its deadline (blackbox's
/// `probe_success`): a closed port, a silent one, or a deadline cut gives 0.
pub fn probe_success(r: &EndpointRecord) -> bool {
    r.reachability == Reachability::Open
        && !r.deadline_exceeded
        && (r.is_redis() || r.tls.as_ref().is_some_and(|t| t.speaks_tls))
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// The samples of one endpoint, in family order of first appearance.
pub fn endpoint_samples(r: &EndpointRecord) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let base = endpoint_labels(r);
    let plaintext = r.plaintext.as_ref().is_some_and(|p| p.status.is_redis());
    out.push(("redis_tls_scan_probe_success", base.clone(), flag(probe_success(r))));
    out.push(("redis_tls_scan_probe_duration_seconds", base.clone(), r.duration_ms as f64 / 1000.0));
    out.push(("redis_tls_scan_endpoint_redis", base.clone(), flag(r.is_redis())));
    out.push(("redis_tls_scan_plaintext_enabled", base.clone(), flag(plaintext)));
    if let Some(t) = &r.tls {
        out.push(("redis_tls_scan_tls_enabled", base.clone(), flag(t.speaks_tls)));
        for v in TlsVersion::ALL {
            if let Some(p) = t.versions.get(&v).filter(|p| p.status != VersionStatus::NotTested) {
                let labels = format!("{base},version=\"{}\"", v.name());
                out.push(("redis_tls_scan_tls_version_accepted", labels, flag(p.status == VersionStatus::Accepted)));
            }
        }
        if let Some(n) = &t.negotiated {
            out.push(("redis_tls_scan_tls_version_info", format!("{base},version=\"{}\"", n.version.name()), 1.0));
            out.push(("redis_tls_scan_tls_cipher_info", format!("{base},cipher=\"{}\"", label(&n.cipher_suite)), 1.0));
        }
    }
    if let Some(c) = &r.certificate {
        // Every certificate as sent (an expiring intermediate matters too); a record without the chain
        // (schema 1.0) has its leaf. The position keeps a certificate sent twice two series, not one
        // duplicated.
        let chain = if c.chain.is_empty() { std::slice::from_ref(&c.leaf) } else { c.chain.as_slice() };
        for (position, cert) in chain.iter().enumerate() {
            let labels = format!(
                "{base},position=\"{position}\",cn=\"{}\",issuer_cn=\"{}\",serial_no=\"{}\"",
                label(cert.subject_cn.as_deref().unwrap_or_default()),
                label(cert.issuer_cn.as_deref().unwrap_or_default()),
                label(&cert.serial),
            );
            if let Some(t) = ts(&cert.not_after) {
                out.push(("redis_tls_scan_cert_not_after_timestamp_seconds", labels.clone(), t as f64));
            }
            if let Some(t) = ts(&cert.not_before) {
                out.push(("redis_tls_scan_cert_not_before_timestamp_seconds", labels, t as f64));
            }
        }
        if let (Some(end), Some(at)) = (ts(&c.leaf.not_after), ts(&r.started_at)) {
            out.push(("redis_tls_scan_cert_remaining_seconds", base.clone(), (end - at) as f64));
        }
        out.push(("redis_tls_scan_cert_trusted", base.clone(), flag(c.trust.trusted)));
    }
    for sev in Severity::DESCENDING {
        let n = r.findings.iter().filter(|f| f.severity == sev).count();
        out.push(("redis_tls_scan_findings", format!("{base},severity=\"{}\"", sev.as_str()), n as f64));
    }
    // One series per (id, severity) raised, however many findings of it the record holds.
    let raised: std::collections::BTreeSet<_> =
        r.findings.iter().map(|f| (f.id.as_str(), f.severity.as_str())).collect();
    for (id, sev) in raised {
        out.push(("redis_tls_scan_finding_raised", format!("{base},id=\"{id}\",severity=\"{sev}\""), 1.0));
    }
    out
}

/// The exposition of one endpoint (`serve`'s `/probe`): its families in name order, HELP and TYPE once
/// each, the same series the textfile holds for it.
pub fn exposition(r: &EndpointRecord) -> String {
    let mut families: BTreeMap<&'static str, Vec<(String, f64)>> = BTreeMap::new();
    for (name, labels, value) in endpoint_samples(r) {
        families.entry(name).or_default().push((labels, value));
    }
    let mut out = String::new();
    for (name, samples) in families {
        out.push_str(&format!("# HELP {name} {}\n# TYPE {name} gauge\n", help(name)));
        for (labels, value) in samples {
            out.push_str(&sample_line(name, &labels, value));
        }
    }
    out
}

/// The run-level samples.
fn run_samples(digest: &JournalDigest) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let m = &digest.meta;
    let c = &digest.summary.counts;
    if let Some(t) = m.finished_at.as_deref().and_then(ts) {
        out.push(("redis_tls_scan_last_run_timestamp_seconds", String::new(), t as f64));
    }
    if let (Some(a), Some(b)) = (ts(&m.started_at), m.finished_at.as_deref().and_then(ts)) {
        out.push(("redis_tls_scan_last_run_duration_seconds", String::new(), (b - a) as f64));
    }
    out.push(("redis_tls_scan_endpoints_scanned", String::new(), c.scanned as f64));
    out.push(("redis_tls_scan_endpoints_redis", String::new(), c.redis as f64));
    out.push(("redis_tls_scan_last_run_interrupted", String::new(), flag(m.interrupted)));
    out
}

fn sample_line(name: &str, labels: &str, value: f64) -> String {
    if labels.is_empty() { format!("{name} {value}\n") } else { format!("{name}{{{labels}}} {value}\n") }
}

/// One family's samples, spooled to a temporary file next to the output while the records stream by
/// (the exposition format wants each family's samples together; memory stays flat).
struct Family {
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
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        // One endpoint is one series: records come in (address, port) order, so a second record of the same
        // endpoint (an older merge) would follow the first and is skipped.
        if self.last == Some((r.address, r.port)) {
            return Ok(());
        }
        self.last = Some((r.address, r.port));
        for (name, labels, value) in endpoint_samples(r) {
            let family = match self.families.entry(name) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let base = self.path.with_file_name(format!(
                        "{}.{name}",
                        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                    ));
                    let (file, tmp) = super::rundir::create_temp(&base).map_err(super::io_err(&base))?;
                    v.insert(Family { spool: std::io::BufWriter::new(file), tmp })
                }
            };
            family.spool.write_all(sample_line(name, &labels, value).as_bytes()).map_err(super::io_err(&family.tmp))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        let mut run: BTreeMap<&'static str, Vec<(String, f64)>> = BTreeMap::new();
        for (name, labels, value) in run_samples(&self.digest) {
            run.entry(name).or_default().push((labels, value));
        }
        let families = std::mem::take(&mut self.families);
        let mut names: Vec<&'static str> = families.keys().chain(run.keys()).copied().collect();
        names.sort_unstable();
        names.dedup();
        let mut spools = families;
        let result = super::write_atomic(&self.path, |out| {
            for name in &names {
                if let Some(f) = spools.get_mut(name) {
                    writeln!(out, "# HELP {name} {}\n# TYPE {name} gauge", help(name))?;
                    f.spool.flush()?;
                    let mut spooled = std::fs::File::open(&f.tmp)?;
                    std::io::copy(&mut spooled, out)?;
                }
                if let Some(samples) = run.get(name) {
                    if !spools.contains_key(name) {
                        writeln!(out, "# HELP {name} {}\n# TYPE {name} gauge", help(name))?;
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
