//! The human summary: what the terminal shows at the end of a scan and what `summary.txt` holds.
//!
//! Reads only the journal digest and records; every remote-controlled string in a record was already
//! sanitised when captured, so nothing here can emit a terminal escape sequence.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::{JournalDigest, ReportError};
use crate::model::{EndpointRecord, FindingId, Severity};
use crate::text::sanitize;

/// Most endpoints listed one per line; the rest are counted.
const LIST_MAX: usize = 200;

/// Endpoints of a single-host scan shown in full (the spot check).
const DETAIL_MAX: usize = 16;

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn sev(self, sev: Severity) -> String {
        let code = match sev {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "34",
            Severity::Info => "2",
        };
        self.wrap(code, sev.as_str())
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// The summary, plain (as in `summary.txt`) and coloured for a terminal (the caller decides: a terminal,
/// and no `NO_COLOR`).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Without colour.
    pub plain: String,
    /// With ANSI colours.
    pub color: String,
}

impl Rendered {
    /// The text for a terminal that does (`true`) or does not take colour.
    pub fn text(&self, color: bool) -> &str {
        if color { &self.color } else { &self.plain }
    }
}

/// What the summary keeps of the records it sees: a bounded list of lines, the spot-check detail of the
/// first endpoints, the fixes of the findings seen, whether more than one host was scanned.
#[derive(Debug, Default)]
struct Seen {
    rows: Vec<(Option<Severity>, String, String)>,
    more: u64,
    remediations: BTreeMap<FindingId, &'static str>,
    first_address: Option<std::net::IpAddr>,
    several_hosts: bool,
    detail: Vec<(Option<Severity>, String, String)>,
    fleet: super::fleet::Fleet,
}

impl Seen {
    fn add(&mut self, r: &EndpointRecord) {
        match self.first_address {
            None => self.first_address = Some(r.address),
            Some(a) if a != r.address => self.several_hosts = true,
            Some(_) => {}
        }
        if !self.several_hosts && self.detail.len() < DETAIL_MAX {
            self.detail.push((r.max_severity(), endpoint_verdict(r, Paint(false)), endpoint_verdict(r, Paint(true))));
        }
        for f in &r.findings {
            self.remediations.entry(f.id).or_insert_with(|| f.remediation());
        }
        self.fleet.add(r);
        if r.is_redis() || !r.findings.is_empty() || r.tls.as_ref().is_some_and(|t| t.speaks_tls) {
            if self.rows.len() < LIST_MAX {
                self.rows.push((r.max_severity(), endpoint_line(r, Paint(false)), endpoint_line(r, Paint(true))));
            } else {
                self.more += 1;
            }
        }
    }
}

/// The summary sink: `summary.txt`, and the terminal text.
#[derive(Debug)]
pub struct SummarySink {
    digest: JournalDigest,
    /// The run directory: where `summary.txt` goes and what the text names (none with `--no-output`).
    dir: Option<std::path::PathBuf>,
    seen: Seen,
}

impl SummarySink {
    /// A summary of the run in `dir` (`None`: no run directory is kept, the text only).
    pub fn new(digest: &JournalDigest, dir: Option<&Path>) -> Self {
        Self { digest: digest.clone(), dir: dir.map(Path::to_path_buf), seen: Seen::default() }
    }

    /// One endpoint.
    pub fn endpoint(&mut self, r: &EndpointRecord) {
        self.seen.add(r);
    }

    /// Writes `summary.txt` (with a run directory); returns its name and SHA-256, and the terminal text.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn finish(self) -> Result<(Option<(String, String)>, Rendered), ReportError> {
        let dir = self.dir.as_deref();
        let rendered = Rendered {
            plain: render(&self.digest, &self.seen, dir, Paint(false)),
            color: render(&self.digest, &self.seen, dir, Paint(true)),
        };
        let Some(dir) = dir else { return Ok((None, rendered)) };
        let sha = super::write_atomic(&dir.join("summary.txt"), |out| {
            std::io::Write::write_all(out, rendered.plain.as_bytes())
        })?;
        Ok((Some(("summary.txt".to_string(), sha)), rendered))
    }
}

fn render(digest: &JournalDigest, seen: &Seen, dir: Option<&Path>, paint: Paint) -> String {
    let meta = &digest.meta;
    let s = &digest.summary;
    let c = &s.counts;
    let pick = |(sev, plain, color): &(Option<Severity>, String, String)| {
        (*sev, if paint.0 { color.clone() } else { plain.clone() })
    };
    let mut rows: Vec<(Option<Severity>, String)> = seen.rows.iter().map(pick).collect();
    let more = seen.more;
    let mut remediations = seen.remediations.clone();
    let mut detail: Vec<(Option<Severity>, String)> = seen.detail.iter().map(pick).collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {} endpoint(s) planned, {} scanned{}{}",
        meta.tool,
        meta.version,
        meta.endpoints_planned,
        c.scanned,
        c.followed_phrase(),
        if meta.interrupted { " (INTERRUPTED: reports cover the endpoints finished)" } else { "" }
    );
    let _ = writeln!(out, "  started {}  finished {}", meta.started_at, meta.finished_at.as_deref().unwrap_or("-"));
    let _ = writeln!(
        out,
        "  reachability: {} open, {} closed, {} filtered, {} unreachable{}",
        c.open,
        c.closed,
        c.filtered,
        c.unreachable,
        c.shortage_phrase()
    );
    let _ = writeln!(out, "  Redis: {} endpoint(s), {} in plaintext; TLS: {}", c.redis, c.plaintext_redis, c.tls);
    let by_sev: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|sev| format!("{} {}", s.findings_by_severity.get(sev).copied().unwrap_or(0), paint.sev(*sev)))
        .collect();
    let _ = writeln!(out, "  findings: {} on {} endpoint(s)", by_sev.join(", "), s.endpoints_with_findings);
    if !meta.unresolved.is_empty() {
        let names: Vec<String> = meta
            .unresolved
            .iter()
            .map(|u| format!("{} ({})", sanitize(&u.target, 100), sanitize(&u.origin, usize::MAX)))
            .collect();
        let _ = writeln!(out, "  not resolved, not scanned: {}", names.join(", "));
    }
    if !seen.several_hosts && !detail.is_empty() {
        // The spot check: one host, every endpoint in full, worst first.
        detail.sort_by_key(|d| std::cmp::Reverse(d.0));
        for (_, text) in &detail {
            let _ = write!(out, "\n{text}");
        }
        rows.clear();
        remediations.clear();
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
    if !seen.fleet.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Audit: the fleet, one row per instance (--audit)");
        out.push_str(&seen.fleet.text());
    }
    if !remediations.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Remediation (redis.conf):");
        for (id, fix) in &remediations {
            let _ = writeln!(out, "  {:<26} {fix}", id.as_str());
        }
    }
    // The directory is local text (`-o`), escaped like remote text.
    if let Some(dir) = dir {
        let _ = writeln!(out);
        let _ = writeln!(out, "Reports: {}", sanitize(&dir.display().to_string(), usize::MAX));
    }
    out
}

/// The spot-check view of one endpoint: what it is, then its findings by severity with the fix.
fn endpoint_verdict(r: &EndpointRecord, paint: Paint) -> String {
    let ep = r.endpoint();
    let mut out = String::new();
    let name = r.name.as_deref().map_or(String::new(), |n| format!(" ({n})"));
    let _ = writeln!(out, "{}{name}", paint.wrap("1", &ep.to_string()));
    let reply = |p: &crate::model::PingResult| {
        format!("{}{}", p.status.as_str(), p.reply.as_deref().map_or(String::new(), |x| format!(" ({x})")))
    };
    let plain = r.plaintext.as_ref().map_or_else(|| r.reachability.as_str().to_string(), reply);
    let _ = writeln!(out, "  plaintext PING  {plain}");
    if let Some(t) = r.tls.as_ref().filter(|t| t.speaks_tls) {
        let versions: Vec<String> =
            t.accepted().map(|(v, p)| format!("{} ({} suites)", v.name(), p.cipher_suites.len())).collect();
        let _ = writeln!(out, "  TLS             {}", versions.join(", "));
        let ping = t.ping.as_ref().map_or("-".into(), reply);
        let _ = writeln!(out, "  client cert     {}; PING over TLS: {ping}", t.client_auth.as_str());
    }
    if let Some(c) = &r.certificate {
        let verdict = if c.trust.trusted { paint.wrap("32", "trusted") } else { c.trust.reasons_text(", ") };
        let _ = writeln!(
            out,
            "  certificate     {}, {} days left ({}), {verdict}",
            c.leaf.subject,
            c.leaf.days_left.map_or("?".into(), |d| d.to_string()),
            c.leaf.not_after
        );
    }
    if let Some(a) = &r.audit {
        let _ = writeln!(out, "  audit           {}", super::fleet::audit_line(a));
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "  findings        {}", paint.wrap("32", "none"));
    }
    for f in &r.findings {
        let _ = writeln!(out, "  [{}] {}: {}", paint.sev(f.severity), f.id.as_str(), f.title());
        let _ = writeln!(out, "      seen: {}", f.evidence);
        let _ = writeln!(out, "      fix:  {}", f.remediation());
    }
    out
}

/// The summary's compact line for one endpoint, uncoloured (`-v` prints it as each endpoint finishes).
pub fn plain_endpoint_line(r: &EndpointRecord) -> String {
    endpoint_line(r, Paint(false))
}

/// One compact line per endpoint.
fn endpoint_line(r: &EndpointRecord, paint: Paint) -> String {
    let ep = r.label();
    let plain = r.plaintext.as_ref().map_or(r.reachability.as_str(), |p| p.status.as_str());
    let (tls, client) = match &r.tls {
        Some(t) if t.speaks_tls => {
            let versions: Vec<&str> = t.accepted().map(|(v, _)| v.short()).collect();
            let v = if versions.is_empty() { "none".to_string() } else { versions.join(",") };
            (v, t.client_auth.as_str())
        }
        _ => ("-".to_string(), "-"),
    };
    let cert = r.certificate.as_ref().map_or("-".to_string(), |c| {
        let days = c.leaf.days_left.map_or("?".to_string(), |d| d.to_string());
        let verdict = if c.trust.trusted { "trusted".to_string() } else { c.trust.reasons_text("+") };
        format!("{days}d {verdict}")
    });
    let findings: Vec<String> =
        r.findings.iter().map(|f| format!("{}:{}", paint.sev(f.severity), f.id.as_str())).collect();
    let findings = if findings.is_empty() { "-".to_string() } else { findings.join(" ") };
    format!("{ep:<28} {plain:<10} {tls:<9} {client:<9} {cert:<24} {findings}")
}
