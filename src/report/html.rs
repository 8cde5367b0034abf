//! The compliance evidence: one self-contained HTML file (no external asset, no script; works offline)
//! and a Markdown summary. Both are sinks over the journal; every remote-controlled string is escaped
//! for its format here, on top of the sanitising done at capture.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use super::{JournalDigest, ReportError};
use crate::model::{EndpointRecord, FindingId, Severity, TlsVersion, VersionStatus};

/// Endpoints detailed one by one; the rest are counted (the CSV files hold everything).
const DETAIL_MAX: usize = 500;
/// Certificates drawn on the expiry horizon.
const HORIZON_MAX: usize = 60;

/// Escapes text for HTML element content and attribute values.
pub fn html(s: &str) -> String {
    // Local text (a command line, a file name) may hold control characters too: escaped as remote text is.
    let s = crate::text::sanitize(s, usize::MAX);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A value for `summary.md`: a code span, so nothing inside is markup in any Markdown renderer (no
/// link, image, HTML or emphasis), and it reads as itself when the file is pasted as plain text. The few
/// characters that could end the span, break a table row or start an autolink become look-alikes
/// (`'`, `¦`, `‹`, `›`, `＠`, `:⁄⁄`, `www․`); control characters are escaped as everywhere.
pub fn markdown(s: &str) -> String {
    let s = crate::text::sanitize(s, usize::MAX);
    let mut t = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '`' => t.push('\''),
            '|' => t.push('\u{a6}'),
            '<' => t.push('\u{2039}'),
            '>' => t.push('\u{203a}'),
            // No renderer may autolink remote text (GitHub's bare `http://`, `www.` and e-mail links):
            // the `@`, the slashes of `://` and the dot of `www.` become look-alikes.
            '@' => t.push('\u{ff20}'),
            '/' if t.ends_with(':') || t.ends_with(":\u{2044}") => t.push('\u{2044}'),
            '.' if t.to_ascii_lowercase().ends_with("www") => t.push('\u{2024}'),
            c if c.is_control() => t.push(' '),
            c => t.push(c),
        }
    }
    let t = t.trim();
    if t.is_empty() { "\u{2013}".into() } else { format!("`{t}`") }
}

/// A Markdown table whose columns are padded to one width, so it reads as a table in plain text too.
fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .chain(header.get(i).map(|h| h.to_string()).iter())
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(3)
            .clamp(3, 60)
    };
    // The last column is not padded: its long values (evidence, fixes) would only add trailing space.
    let last = header.len().saturating_sub(1);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| if i == last { header.get(i).map_or(3, |h| h.len().max(3)) } else { width(i) })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        format!("| {} |\n", padded.join(" | ").trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn versions(r: &EndpointRecord) -> String {
    let Some(t) = r.tls.as_ref().filter(|t| t.speaks_tls) else { return "-".into() };
    let v: Vec<&str> = t.accepted().map(|(v, _)| v.name()).collect();
    if v.is_empty() { "none accepted".into() } else { v.join(", ") }
}

/// Screen and print. Narrow screens (700 px and less) keep every column readable: long values wrap
/// anywhere, wide tables scroll inside their box. Printed (PDF for an auditor), every endpoint's
/// `<details>` is shown open (`::details-content`), the colours are kept and rows are not split.
const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em;margin:1em 0 .3em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}.wide{overflow-x:auto}\
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f4f4f4}\
td.n{text-align:right;white-space:nowrap}\
.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;white-space:nowrap}\
.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#1565c0}.info{background:#607d8b}\
.ok{background:#2e7d32}.future{background:#6a1b9a}code{background:#f4f4f4;padding:0 3px;overflow-wrap:anywhere}\
details{margin:.3em 0}summary{cursor:pointer}.muted{color:#777}\
.track{background:#eee;height:12px;min-width:60px;position:relative}.bar{height:12px}\
.bar.expired{background:#c62828}.bar.soon{background:#ef6c00}.bar.valid{background:#2e7d32}.bar.future{background:#6a1b9a}\
@media (max-width:700px){body{margin:1em auto;padding:0 .5em;font-size:13px}td,th{padding:3px 4px}}\
@media print{body{margin:0;max-width:none;font-size:10.5px;padding:0}\
details::details-content{content-visibility:visible;display:block}\
details>summary{list-style:none;font-size:1.1em;margin-top:1em;border-top:1px solid #999;padding-top:.3em}\
details>summary::-webkit-details-marker{display:none}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.wide{overflow:visible}\
tr,.keep{break-inside:avoid}tr:first-child,h2,h3,summary{break-after:avoid}a{color:inherit;text-decoration:none}}";

/// Writes a rendered report atomically; its name and SHA-256 for `SHA256SUMS`.
fn write_named(path: &std::path::Path, text: &str) -> Result<Option<(String, String)>, ReportError> {
    let sha = super::write_atomic(path, |out| std::io::Write::write_all(out, text.as_bytes()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Some((name, sha)))
}

/// The run's counts in one phrase (numbers only: safe in HTML and Markdown).
fn counts_phrase(m: &crate::model::ScanMeta, c: &crate::model::Counts) -> String {
    format!(
        "{} planned, {} scanned{} ({} open, {} closed, {} filtered, {} unreachable{}); Redis {}, plaintext {}, TLS {}",
        m.endpoints_planned,
        c.scanned,
        c.followed_phrase(),
        c.open,
        c.closed,
        c.filtered,
        c.unreachable,
        c.shortage_phrase(),
        c.redis,
        c.plaintext_redis,
        c.tls
    )
}

fn badge(sev: Severity) -> String {
    format!("<span class=\"sev {0}\">{0}</span>", sev.as_str())
}

/// Renders `report.html`.
///
/// # Errors
/// The `report.html` sink. What it keeps is bounded: the first [`DETAIL_MAX`] endpoints in detail, the
/// certificates nearest to (or past) expiry, per-finding tallies.
pub struct HtmlSink {
    path: std::path::PathBuf,
    digest: JournalDigest,
    journal_sha256: String,
    details: String,
    rows: String,
    horizon: BTreeMap<String, HorizonCert>,
    certs_seen: std::collections::HashSet<u64>,
    detailed: usize,
    more: usize,
    // Per finding id: how many at each severity (legacy_protocol and weak_cipher vary with what was
    // seen), and the redis.conf fix.
    by_finding: BTreeMap<FindingId, FindingRow>,
    scanned_at: Option<time::OffsetDateTime>,
    fleet: super::fleet::Fleet,
}

impl HtmlSink {
    /// A sink writing `path`.
    pub fn new(path: &std::path::Path, digest: &JournalDigest, journal_sha256: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            digest: digest.clone(),
            journal_sha256: journal_sha256.to_string(),
            details: String::new(),
            rows: String::new(),
            horizon: BTreeMap::new(),
            certs_seen: std::collections::HashSet::new(),
            detailed: 0,
            more: 0,
            by_finding: BTreeMap::new(),
            scanned_at: parse_time(&digest.meta.started_at),
            fleet: super::fleet::Fleet::default(),
        }
    }

    fn render(self) -> String {
        let Self { digest, journal_sha256, details, rows, horizon, certs_seen, more, by_finding, fleet, .. } = self;
        let journal_sha256 = journal_sha256.as_str();
        let m = &digest.meta;
        let s = &digest.summary;
        let c = &s.counts;

        let mut out = String::with_capacity(16 * 1024 + details.len());
        let _ = write!(
            out,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Redis transport security evidence {}</title><style>{STYLE}</style></head><body>",
            html(&m.started_at)
        );
        let _ = write!(
            out,
            "<h1>Redis transport security evidence</h1><p class=\"muted\">{} {} &middot; schema {} &middot; generated from <code>scan.jsonl</code> (SHA-256 <code>{}</code>)</p>",
            html(&m.tool),
            html(&m.version),
            html(&m.schema_version),
            html(journal_sha256)
        );
        if m.interrupted {
            out.push_str("<p><span class=\"sev high\">interrupted</span> the scan was stopped early: this report covers the endpoints finished.</p>");
        }

        out.push_str("<h2>Summary</h2><p>");
        for sev in Severity::DESCENDING {
            let n = s.findings_by_severity.get(&sev).copied().unwrap_or(0);
            let _ = write!(out, "{} {n} &nbsp; ", badge(sev));
        }
        let _ = write!(
            out,
            "</p><p>Endpoints: {}. Endpoints with findings: {}.</p>",
            counts_phrase(m, c),
            s.endpoints_with_findings
        );
        out.push_str(&finding_table(&by_finding));

        out.push_str("<h2>Certificate expiry horizon</h2>");
        if horizon.is_empty() {
            out.push_str("<p class=\"muted\">No certificate was seen.</p>");
        } else {
            out.push_str(&horizon_table(horizon.into_values().collect(), certs_seen.len(), m.warn_days));
        }

        if !fleet.is_empty() {
            out.push_str("<h2>Audit: the fleet</h2><p class=\"muted\">One row per instance (<code>--audit</code>: what the servers told an authenticated client).</p><div class=\"wide\"><table><tr>");
            for h in super::fleet::HEADER {
                let _ = write!(out, "<th>{}</th>", html(h));
            }
            out.push_str("</tr>");
            for row in fleet.rows() {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", html(&cell));
                }
                out.push_str("</tr>");
            }
            out.push_str("</table></div>");
            if fleet.more > 0 {
                let _ = write!(
                    out,
                    "<p class=\"muted\">{} more instance(s) are in <code>report.json</code>.</p>",
                    fleet.more
                );
            }
        }
        let _ = write!(
            out,
            "<h2>Endpoints</h2><div class=\"wide\"><table><tr><th>endpoint</th><th>plaintext PING</th><th>TLS versions</th><th>client cert</th><th>certificate</th><th>worst finding</th></tr>{rows}</table></div>"
        );
        if more > 0 {
            let _ = write!(
                out,
                "<p class=\"muted\">{more} more endpoint(s) are in <code>endpoints.csv</code> and <code>findings.csv</code>.</p>"
            );
        }
        out.push_str("<h2>Endpoint detail</h2>");
        out.push_str(&details);

        out.push_str("<h2>Provenance</h2><table>");
        let mut row = |k: &str, v: String| {
            let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", html(k));
        };
        row("tool", html(&format!("{} {}", m.tool, m.version)));
        row(
            "started / finished (UTC)",
            html(&format!("{} / {}", m.started_at, m.finished_at.as_deref().unwrap_or("-"))),
        );
        row("scanner host", html(&m.scanner_host));
        row("command line", format!("<code>{}</code>", html(&m.command_line.join(" "))));
        row("targets", html(&m.targets.iter().take(50).cloned().collect::<Vec<_>>().join("; ")));
        row("ports", html(&m.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")));
        row("exclusions", html(&m.exclusions.join("; ")));
        let cas: Vec<String> = m.trust.ca_files.iter().map(|f| format!("{} (SHA-256 {})", f.path, f.sha256)).collect();
        row(
            "trust anchors",
            html(&format!(
                "{} built-in roots; CA files: {}; {} anchors",
                m.trust.roots,
                cas.join(", "),
                m.trust.anchors
            )),
        );
        row(
            "client certificate",
            html(
                &m.client_certificate.as_ref().map_or("none".into(), |f| format!("{} (SHA-256 {})", f.path, f.sha256)),
            ),
        );
        row(
            "timeouts (ms)",
            html(&format!(
                "connect {}, read {}, endpoint {}",
                m.timeouts_ms.connect, m.timeouts_ms.read, m.timeouts_ms.endpoint
            )),
        );
        row(
            "concurrency / cipher scan / warn days",
            html(&format!("{} / {} / {}", m.concurrency, m.cipher_scan, m.warn_days)),
        );
        out.push_str("</table><p class=\"muted\">Verify the run's files with <code>sha256sum -c SHA256SUMS</code>.</p></body></html>\n");
        out
    }
}

impl super::Sink for HtmlSink {
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        for f in &r.findings {
            count_finding(&mut self.by_finding, f);
        }
        if let Some(cert) = &r.certificate {
            collect_horizon(&mut self.horizon, &mut self.certs_seen, &cert.chain, &r.label(), self.scanned_at);
        }
        self.fleet.add(r);
        if self.detailed >= DETAIL_MAX {
            self.more += 1;
            return Ok(());
        }
        self.detailed += 1;
        let n = self.detailed;
        let name = html(&r.label());
        let plain = r.plaintext.as_ref().map_or(r.reachability.as_str(), |p| p.status.as_str());
        let cert = r.certificate.as_ref().map_or("-".into(), |c| {
            let verdict = if c.trust.trusted { "trusted".to_string() } else { c.trust.reasons_text(", ") };
            format!("{} days, {}", c.leaf.days_left.map_or("?".into(), |d| d.to_string()), verdict)
        });
        let worst = r.max_severity().map_or("<span class=\"sev ok\">none</span>".into(), badge);
        let _ = write!(
            self.rows,
            "<tr><td><a href=\"#ep{n}\">{name}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{worst}</td></tr>",
            html(plain),
            html(&versions(r)),
            html(r.tls.as_ref().map_or("-", |t| t.client_auth.as_str())),
            html(&cert),
        );
        let _ = write!(
            self.details,
            "<details id=\"ep{n}\"><summary><b>{name}</b> {} finding(s)</summary>",
            r.findings.len()
        );
        if !r.findings.is_empty() {
            self.details.push_str(
                "<table><tr><th>severity</th><th>finding</th><th>evidence</th><th>remediation (redis.conf)</th></tr>",
            );
            for f in &r.findings {
                let _ = write!(
                    self.details,
                    "<tr><td>{}</td><td><b>{}</b><br>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                    badge(f.severity),
                    html(f.id.as_str()),
                    html(f.title()),
                    html(&f.evidence),
                    html(f.remediation())
                );
            }
            self.details.push_str("</table>");
        }
        if let Some(a) = &r.audit {
            let _ = write!(self.details, "<p><b>audit</b> {}</p>", html(&super::fleet::audit_line(a)));
        }
        if let Some(t) = &r.tls {
            self.details.push_str("<table><tr><th>version</th><th>verdict</th><th>accepted suites</th></tr>");
            for v in TlsVersion::ALL.iter().rev() {
                let Some(p) = t.versions.get(v) else { continue };
                let verdict = match (&p.alert, p.failure) {
                    (Some(a), _) if p.status != VersionStatus::Accepted => format!("rejected: alert {}", a.name),
                    (_, Some(f)) => format!("{}: {f:?}", p.status.as_str()),
                    _ => p.status.as_str().to_string(),
                };
                let suites: Vec<String> =
                    p.cipher_suites.iter().map(|s| format!("{} ({})", html(&s.name), s.class.as_str())).collect();
                let _ = write!(
                    self.details,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    v.name(),
                    html(&verdict),
                    suites.join("<br>")
                );
            }
            self.details.push_str("</table>");
        }
        if let Some(cert) = &r.certificate {
            self.details.push_str("<table><tr><th>certificate (as sent)</th><th>issuer</th><th>not after</th><th>key</th><th>signature</th><th>SHA-256</th></tr>");
            for cs in &cert.chain {
                let _ = write!(
                    self.details,
                    "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td><code>{}</code></td></tr>",
                    html(&cs.subject),
                    html(&cs.sans.join(", ")),
                    html(&cs.issuer),
                    html(&cs.not_after),
                    html(&cs.key_type),
                    cs.key_bits.map_or(String::new(), |b| b.to_string()),
                    html(&cs.signature_algorithm),
                    html(&cs.sha256)
                );
            }
            self.details.push_str("</table>");
        }
        self.details.push_str("</details>");
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        let path = self.path.clone();
        write_named(&path, &self.render())
    }
}

/// One row of the summary by finding.
struct FindingRow {
    title: String,
    fix: String,
    counts: BTreeMap<Severity, usize>,
}

/// Counts one finding in its row (by id and severity), keeping the first title and fix seen.
fn count_finding(rows: &mut BTreeMap<FindingId, FindingRow>, f: &crate::model::Finding) {
    let row = rows.entry(f.id).or_insert_with(|| FindingRow {
        title: f.title().to_string(),
        fix: f.remediation().to_string(),
        counts: BTreeMap::new(),
    });
    *row.counts.entry(f.severity).or_insert(0) += 1;
}

/// Rows worst severity first, then most frequent.
fn sorted_findings(rows: &BTreeMap<FindingId, FindingRow>) -> Vec<(&FindingId, &FindingRow)> {
    let mut sorted: Vec<(&FindingId, &FindingRow)> = rows.iter().collect();
    let worst = |r: &FindingRow| r.counts.keys().next_back().copied();
    sorted.sort_by_key(|(id, r)| {
        (std::cmp::Reverse(worst(r)), std::cmp::Reverse(r.counts.values().sum::<usize>()), **id)
    });
    sorted
}

/// Finding, title, how many at each severity, and the `redis.conf` fix; worst and most frequent first.
fn finding_table(rows: &BTreeMap<FindingId, FindingRow>) -> String {
    if rows.is_empty() {
        return "<p>No finding.</p>".into();
    }
    let sorted = sorted_findings(rows);
    let mut out = String::from("<h3>By finding</h3><div class=\"wide\"><table><tr><th>finding</th>");
    for sev in Severity::DESCENDING {
        let _ = write!(out, "<th>{}</th>", badge(sev));
    }
    out.push_str("<th>fix (redis.conf)</th></tr>");
    for (id, r) in sorted {
        let _ = write!(out, "<tr class=\"keep\"><td><b>{}</b><br>{}</td>", html(id.as_str()), html(&r.title));
        for sev in Severity::DESCENDING {
            match r.counts.get(&sev) {
                Some(n) => {
                    let _ = write!(out, "<td class=\"n\">{n}</td>");
                }
                None => out.push_str("<td class=\"n muted\">&ndash;</td>"),
            }
        }
        let _ = write!(out, "<td><code>{}</code></td></tr>", html(&r.fix));
    }
    out.push_str(
        "</table></div><p class=\"muted\">Counts are findings; one endpoint has each finding at most once.</p>",
    );
    out
}

/// One certificate on the expiry horizon (shared intermediates once, with every endpoint sending them).
struct HorizonCert {
    role: &'static str,
    subject: String,
    not_before: String,
    not_after: String,
    days_left: Option<i64>,
    /// Days until it becomes valid, when it is not valid yet at the scan time.
    days_to_start: Option<i64>,
    endpoints: Vec<String>,
    sent_by: usize,
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Adds a chain's certificates to the horizon, counting distinct certificates in `seen`; the horizon
/// keeps only the certificates nearest to (or past) expiry, so memory stays bounded on any fleet.
fn collect_horizon(
    horizon: &mut BTreeMap<String, HorizonCert>,
    seen: &mut std::collections::HashSet<u64>,
    chain: &[crate::model::CertSummary],
    endpoint: &str,
    scanned_at: Option<time::OffsetDateTime>,
) {
    for (i, c) in chain.iter().enumerate() {
        seen.insert(u64::from_str_radix(c.sha256.get(..16).unwrap_or("0"), 16).unwrap_or(0));
        let entry = horizon.entry(c.sha256.clone()).or_insert_with(|| {
            let role = match (i, c.self_signed && c.is_ca) {
                (0, _) => "leaf",
                (_, true) => "root",
                _ => "intermediate",
            };
            let days_to_start = match (parse_time(&c.not_before), scanned_at) {
                (Some(start), Some(now)) if start > now => Some((start - now).whole_days().max(0)),
                _ => None,
            };
            HorizonCert {
                role,
                subject: c.subject.clone(),
                not_before: c.not_before.clone(),
                not_after: c.not_after.clone(),
                days_left: c.days_left,
                days_to_start,
                endpoints: Vec::new(),
                sent_by: 0,
            }
        });
        entry.sent_by += 1;
        if entry.endpoints.len() < 3 {
            entry.endpoints.push(endpoint.to_string());
        }
    }
    if horizon.len() > 4 * HORIZON_MAX {
        let mut ranked: Vec<(String, (u8, i64))> = horizon.iter().map(|(k, c)| (k.clone(), rank(c))).collect();
        ranked.sort_by_key(|(_, r)| *r);
        for (k, _) in ranked.into_iter().skip(2 * HORIZON_MAX) {
            horizon.remove(&k);
        }
    }
}

/// Problems first: not yet valid or unreadable, then by days left.
fn rank(c: &HorizonCert) -> (u8, i64) {
    match (c.days_to_start, c.days_left) {
        (Some(_), _) | (None, None) => (0, 0),
        (None, Some(d)) => (1, d),
    }
}

/// State of a certificate at the scan time: (css class, words).
fn horizon_state(c: &HorizonCert, warn_days: i64) -> (&'static str, String) {
    let date = |s: &str| s.get(..10).unwrap_or(s).to_string();
    match (c.days_to_start, c.days_left) {
        (Some(d), _) => ("future", format!("not yet valid: starts in {d} day(s), {}", date(&c.not_before))),
        (None, Some(d)) if d < 0 => ("expired", format!("expired {} day(s) ago, {}", -d, date(&c.not_after))),
        (None, Some(d)) if d <= warn_days => ("soon", format!("expires in {d} day(s), {}", date(&c.not_after))),
        (None, Some(d)) => ("valid", format!("valid, {d} day(s) left, until {}", date(&c.not_after))),
        (None, None) => ("future", format!("validity unreadable (not after '{}')", c.not_after)),
    }
}

/// Every certificate seen, leaves and intermediates, problems first: not yet valid, expired, expiring
/// within `warn_days`, then by days left. Bars scale to the longest validity shown.
fn horizon_table(mut certs: Vec<HorizonCert>, total: usize, warn_days: i64) -> String {
    certs.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.subject.cmp(&b.subject)));
    certs.truncate(HORIZON_MAX);
    let max_days = certs.iter().filter_map(|c| c.days_left).max().unwrap_or(1).max(warn_days).max(1);
    let mut out = format!(
        "<div class=\"wide\"><table><tr><th>certificate</th><th>sent by</th><th>state at the scan (warning at {warn_days} days)</th><th style=\"width:22%\">days left</th></tr>"
    );
    for c in &certs {
        let (class, words) = horizon_state(c, warn_days);
        let width = match (class, c.days_left) {
            ("valid" | "soon", Some(d)) => (d.clamp(0, max_days) * 100 / max_days).max(1),
            _ => 100,
        };
        let more = c.sent_by.saturating_sub(c.endpoints.len());
        let mut sent_by = c.endpoints.iter().map(|e| html(e)).collect::<Vec<_>>().join("<br>");
        if more > 0 {
            let _ = write!(sent_by, "<br><span class=\"muted\">and {more} more</span>");
        }
        let _ = write!(
            out,
            "<tr class=\"keep\"><td><b>{}</b> {}</td><td>{sent_by}</td><td><span class=\"sev {}\">{}</span> {}</td><td><div class=\"track\"><div class=\"bar {class}\" style=\"width:{width}%\"></div></div></td></tr>",
            c.role,
            html(&c.subject),
            match class {
                "expired" => "high",
                "soon" => "medium",
                "valid" => "ok",
                _ => "future",
            },
            match class {
                "expired" => "expired",
                "soon" => "expiring",
                "valid" => "valid",
                _ => "not valid yet",
            },
            html(&words)
        );
    }
    out.push_str("</table></div>");
    if total > certs.len() {
        let _ = write!(
            out,
            "<p class=\"muted\">{} more certificate(s) in <code>report.json</code>.</p>",
            total - certs.len()
        );
    }
    out
}

/// Renders `summary.md`: Markdown that also reads as plain text (no backslash escapes, aligned tables).
///
/// # Errors
/// The `summary.md` sink: the head is written from the digest; it keeps the first 200 findings listed and
/// per-finding tallies.
pub struct MarkdownSink {
    path: std::path::PathBuf,
    digest: JournalDigest,
    listed: Vec<Vec<String>>,
    more: usize,
    by_finding: BTreeMap<FindingId, FindingRow>,
    fleet: super::fleet::Fleet,
}

impl MarkdownSink {
    /// A sink writing `path`.
    pub fn new(path: &std::path::Path, digest: &JournalDigest) -> Self {
        Self {
            path: path.to_path_buf(),
            digest: digest.clone(),
            listed: Vec::new(),
            more: 0,
            by_finding: BTreeMap::new(),
            fleet: super::fleet::Fleet::default(),
        }
    }

    fn render(self) -> String {
        let Self { digest, listed, more, by_finding, fleet, .. } = self;

        let m = &digest.meta;
        let s = &digest.summary;
        let c = &s.counts;
        let mut out = String::new();
        let _ =
            writeln!(out, "# Redis transport security: scan of {}\n", m.started_at.replace(['`', '<', '>', '|'], " "));
        let _ = writeln!(
            out,
            "- Tool: {} {} (schema {})",
            markdown(&m.tool),
            markdown(&m.version),
            markdown(&m.schema_version)
        );
        let _ = writeln!(
            out,
            "- Started / finished: {} / {}",
            markdown(&m.started_at),
            markdown(m.finished_at.as_deref().unwrap_or(""))
        );
        let _ = writeln!(out, "- Scanner host: {}", markdown(&m.scanner_host));
        let _ = writeln!(out, "- Command: {}", markdown(&m.command_line.join(" ")));
        let _ = writeln!(out, "- Endpoints: {}", counts_phrase(m, c));
        let _ = writeln!(
            out,
            "- Trust anchors: {} roots, {} CA file(s), {} anchors",
            markdown(&m.trust.roots),
            m.trust.ca_files.len(),
            m.trust.anchors
        );
        if m.interrupted {
            let _ = writeln!(out, "- INTERRUPTED: the reports cover the endpoints finished");
        }
        let _ = writeln!(out, "\n## Findings by severity\n");
        let sev_rows: Vec<Vec<String>> = Severity::DESCENDING
            .iter()
            .map(|sev| {
                vec![sev.as_str().to_string(), s.findings_by_severity.get(sev).copied().unwrap_or(0).to_string()]
            })
            .collect();
        out.push_str(&md_table(&["severity", "findings"], &sev_rows));
        if !by_finding.is_empty() {
            let _ = writeln!(out, "\n## By finding\n");
            let mut header = vec!["finding"];
            header.extend(Severity::DESCENDING.iter().map(|s| s.as_str()));
            header.push("fix (redis.conf)");
            let rows: Vec<Vec<String>> = sorted_findings(&by_finding)
                .into_iter()
                .map(|(id, r)| {
                    let mut row = vec![id.as_str().to_string()];
                    row.extend(
                        Severity::DESCENDING.iter().map(|s| r.counts.get(s).map_or("-".into(), usize::to_string)),
                    );
                    row.push(markdown(&r.fix));
                    row
                })
                .collect();
            out.push_str(&md_table(&header, &rows));
        }
        if !fleet.is_empty() {
            let _ = writeln!(out, "\n## Audit: the fleet\n");
            let rows: Vec<Vec<String>> =
                fleet.rows().into_iter().map(|r| r.iter().map(|c| markdown(c)).collect()).collect();
            out.push_str(&md_table(&super::fleet::HEADER, &rows));
            if fleet.more > 0 {
                let _ = writeln!(out, "\n{} more instance(s) in report.json.", fleet.more);
            }
        }
        let _ = writeln!(out, "\n## Findings\n");
        if listed.is_empty() {
            let _ = writeln!(out, "None.");
        } else {
            out.push_str(&md_table(&["endpoint", "severity", "finding", "evidence"], &listed));
        }
        if more > 0 {
            let _ = writeln!(out, "\n{more} more finding(s) in findings.csv.");
        }
        let _ = writeln!(out, "\nVerify the run's files with `sha256sum -c SHA256SUMS`.");
        out
    }
}

impl super::Sink for MarkdownSink {
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        self.fleet.add(r);
        for f in &r.findings {
            count_finding(&mut self.by_finding, f);
            if self.listed.len() < 200 {
                self.listed.push(vec![
                    markdown(&r.label()),
                    f.severity.as_str().to_string(),
                    f.id.as_str().to_string(),
                    markdown(&f.evidence),
                ]);
            } else {
                self.more += 1;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        let path = self.path.clone();
        write_named(&path, &self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(html("<img src=x onerror='a()'>&"), "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;");
        assert_eq!(
            markdown("CN=[x](http://e) | *b* <s>`"),
            "`CN=[x](http:\u{2044}\u{2044}e) \u{a6} *b* \u{2039}s\u{203a}'`"
        );
        assert_eq!(markdown("  "), "\u{2013}");
        assert!(!markdown("a\nb").contains('\n'), "one line");
    }

    #[test]
    fn no_remote_text_becomes_a_link_or_an_escape_sequence() {
        let md =
            markdown("-ERR see https://evil.example/x, WWW.evil.example, ftp://a or root@evil.example \u{1b}]0;t\u{7}");
        for autolink in ["://", "www.", "WWW.", "t@e", "\u{1b}", "\u{7}"] {
            assert!(!md.contains(autolink), "{autolink} in {md}");
        }
        assert_eq!(markdown("127.0.0.1:6379"), "`127.0.0.1:6379`", "addresses stay as they are");
    }
}
