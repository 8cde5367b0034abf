//! The compliance evidence: one self-contained HTML file (no external asset, no script; works offline)
//! and a Markdown summary. Both are sinks over the journal; every remote-controlled string is escaped
//! for its format here, on top of the sanitising done at capture.

use std::fmt::Write as _;

use super::index::JournalIndex;
use super::{JournalDigest, ReportError};
use crate::model::{EndpointRecord, Severity, TlsVersion, VersionStatus};

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

/// Escapes text for a Markdown table cell or paragraph: no markup, links, HTML or cell breaks survive.
///
/// Control characters are escaped as in [`crate::text::sanitize`], and bare URLs are broken so that no
/// renderer autolinks them (GitHub's `http://`, `www.` and e-mail autolinks): the `://` of a scheme, the
/// dot of `www.` and every `@` are backslash-escaped, which renders as the same text but is no link.
pub fn markdown(s: &str) -> String {
    let s = crate::text::sanitize(s, usize::MAX);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '{' | '}' | '+' | '-' | '@' => {
                out.push('\\');
                out.push(c);
            }
            ':' if chars.peek() == Some(&'/') => {
                out.push_str("\\:");
                while chars.next_if_eq(&'/').is_some() {
                    out.push_str("\\/");
                }
            }
            '.' if out.to_ascii_lowercase().ends_with("www") => out.push_str("\\."),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn endpoint_name(r: &EndpointRecord) -> String {
    let ep = std::net::SocketAddr::new(r.address, r.port).to_string();
    match &r.name {
        Some(n) => format!("{n} ({ep})"),
        None => ep,
    }
}

fn versions(r: &EndpointRecord) -> String {
    let Some(t) = r.tls.as_ref().filter(|t| t.speaks_tls) else { return "-".into() };
    let v: Vec<&str> = TlsVersion::ALL
        .iter()
        .rev()
        .filter(|v| t.versions.get(v).is_some_and(|p| p.status == VersionStatus::Accepted))
        .map(|v| v.name())
        .collect();
    if v.is_empty() { "none accepted".into() } else { v.join(", ") }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}\
.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}\
.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#1565c0}.info{background:#607d8b}\
.ok{background:#2e7d32}code{background:#f4f4f4;padding:0 3px}details{margin:.3em 0}summary{cursor:pointer}\
.muted{color:#777}";

fn badge(sev: Severity) -> String {
    format!("<span class=\"sev {0}\">{0}</span>", sev.as_str())
}

/// Renders `report.html`.
///
/// # Errors
/// When the journal cannot be read.
pub fn render_html(
    digest: &JournalDigest,
    records: &JournalIndex,
    journal_sha256: &str,
) -> Result<String, ReportError> {
    let m = &digest.meta;
    let s = &digest.summary;
    let c = &s.counts;
    let mut details = String::new();
    let mut rows = String::new();
    let mut horizon: Vec<(i64, String)> = Vec::new();
    let mut detailed = 0usize;
    let mut more = 0usize;
    // Severity per finding id as observed (legacy_protocol and weak_cipher vary with what was seen).
    let mut worst: std::collections::BTreeMap<crate::model::FindingId, Severity> = Default::default();
    records.for_each(|r| {
        for f in &r.findings {
            let w = worst.entry(f.id).or_insert(f.severity);
            *w = (*w).max(f.severity);
        }
        if let Some(cert) = &r.certificate
            && let Some(days) = cert.leaf.days_left
        {
            horizon.push((days, endpoint_name(r)));
            horizon.sort();
            horizon.truncate(HORIZON_MAX);
        }
        if detailed >= DETAIL_MAX {
            more += 1;
            return Ok(());
        }
        detailed += 1;
        let name = html(&endpoint_name(r));
        let plain = r.plaintext.as_ref().map_or(r.reachability.as_str(), |p| p.status.as_str());
        let cert = r.certificate.as_ref().map_or("-".into(), |c| {
            let verdict = if c.trust.trusted { "trusted".to_string() } else { c.trust.reasons_text(", ") };
            format!("{} days, {}", c.leaf.days_left.map_or("?".into(), |d| d.to_string()), verdict)
        });
        let worst = r.max_severity().map_or("<span class=\"sev ok\">none</span>".into(), badge);
        let _ = write!(
            rows,
            "<tr><td><a href=\"#ep{detailed}\">{name}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{worst}</td></tr>",
            html(plain),
            html(&versions(r)),
            html(r.tls.as_ref().map_or("-", |t| t.client_auth.as_str())),
            html(&cert),
        );
        let _ = write!(
            details,
            "<details id=\"ep{detailed}\"><summary><b>{name}</b> {} finding(s)</summary>",
            r.findings.len()
        );
        if !r.findings.is_empty() {
            details.push_str(
                "<table><tr><th>severity</th><th>finding</th><th>evidence</th><th>remediation (redis.conf)</th></tr>",
            );
            for f in &r.findings {
                let _ = write!(
                    details,
                    "<tr><td>{}</td><td><b>{}</b><br>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                    badge(f.severity),
                    html(f.id.as_str()),
                    html(f.title()),
                    html(&f.evidence),
                    html(f.remediation())
                );
            }
            details.push_str("</table>");
        }
        if let Some(t) = &r.tls {
            details.push_str("<table><tr><th>version</th><th>verdict</th><th>accepted suites</th></tr>");
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
                    details,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    v.name(),
                    html(&verdict),
                    suites.join("<br>")
                );
            }
            details.push_str("</table>");
        }
        if let Some(cert) = &r.certificate {
            details.push_str("<table><tr><th>certificate (as sent)</th><th>issuer</th><th>not after</th><th>key</th><th>signature</th><th>SHA-256</th></tr>");
            for cs in &cert.chain {
                let _ = write!(
                    details,
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
            details.push_str("</table>");
        }
        details.push_str("</details>");
        Ok::<(), ReportError>(())
    })?;

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
        "</p><p>{} endpoint(s) planned, {} scanned: {} open, {} closed, {} filtered, {} unreachable. Redis: {} ({} in plaintext). TLS: {}. Endpoints with findings: {}.</p>",
        m.endpoints_planned,
        c.scanned,
        c.open,
        c.closed,
        c.filtered,
        c.unreachable,
        c.redis,
        c.plaintext_redis,
        c.tls,
        s.endpoints_with_findings
    );
    if !s.findings_by_id.is_empty() {
        out.push_str("<table><tr><th>finding</th><th>severity</th><th>endpoints</th></tr>");
        let mut by_id: Vec<_> = s.findings_by_id.iter().collect();
        let sev = |id: &crate::model::FindingId| worst.get(id).copied().unwrap_or(id.default_severity());
        by_id.sort_by_key(|(id, n)| (std::cmp::Reverse(sev(id)), std::cmp::Reverse(**n)));
        for (id, n) in by_id {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td><td>{n}</td></tr>", html(id.as_str()), badge(sev(id)));
        }
        out.push_str("</table>");
    }

    out.push_str("<h2>Certificate expiry horizon</h2>");
    if horizon.is_empty() {
        out.push_str("<p class=\"muted\">No certificate was seen.</p>");
    } else {
        out.push_str(&svg_horizon(&horizon, m.warn_days));
    }

    let _ = write!(
        out,
        "<h2>Endpoints</h2><table><tr><th>endpoint</th><th>plaintext PING</th><th>TLS versions</th><th>client cert</th><th>certificate</th><th>worst finding</th></tr>{rows}</table>"
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
    row("started / finished (UTC)", html(&format!("{} / {}", m.started_at, m.finished_at.as_deref().unwrap_or("-"))));
    row("scanner host", html(&m.scanner_host));
    row("command line", format!("<code>{}</code>", html(&m.command_line.join(" "))));
    row("targets", html(&m.targets.iter().take(50).cloned().collect::<Vec<_>>().join("; ")));
    row("ports", html(&m.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")));
    row("exclusions", html(&m.exclusions.join("; ")));
    let cas: Vec<String> = m.trust.ca_files.iter().map(|f| format!("{} (SHA-256 {})", f.path, f.sha256)).collect();
    row(
        "trust anchors",
        html(&format!("{} built-in roots; CA files: {}; {} anchors", m.trust.roots, cas.join(", "), m.trust.anchors)),
    );
    row(
        "client certificate",
        html(&m.client_certificate.as_ref().map_or("none".into(), |f| format!("{} (SHA-256 {})", f.path, f.sha256))),
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
    Ok(out)
}

/// One bar per certificate: days left, red when expired, orange within the warning window.
fn svg_horizon(certs: &[(i64, String)], warn_days: i64) -> String {
    let max_days = certs.iter().map(|(d, _)| *d).max().unwrap_or(1).max(warn_days).max(1);
    let (label_w, bar_w, row_h) = (300i64, 600i64, 18i64);
    let height = row_h * i64::try_from(certs.len()).unwrap_or(0) + 30;
    let x_of = |d: i64| label_w + (d.clamp(0, max_days) * bar_w) / max_days;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"days until certificate expiry\" width=\"{}\" height=\"{height}\" font-size=\"12\">",
        label_w + bar_w + 80
    );
    let warn_x = x_of(warn_days);
    let _ = write!(
        svg,
        "<line x1=\"{warn_x}\" y1=\"0\" x2=\"{warn_x}\" y2=\"{height}\" stroke=\"#ef6c00\" stroke-dasharray=\"4\"/><text x=\"{}\" y=\"{}\" fill=\"#ef6c00\">{warn_days} days</text>",
        warn_x + 4,
        height - 6
    );
    for (i, (days, name)) in certs.iter().enumerate() {
        let y = i64::try_from(i).unwrap_or(0) * row_h + 4;
        let color = if *days < 0 {
            "#c62828"
        } else if *days <= warn_days {
            "#ef6c00"
        } else {
            "#2e7d32"
        };
        let w = (x_of(*days) - label_w).max(3);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{days} d</text>",
            y + 12,
            html(&name.chars().take(45).collect::<String>()),
            row_h - 5,
            label_w + w + 4,
            y + 12
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Renders `summary.md`.
///
/// # Errors
/// When the journal cannot be read.
pub fn render_markdown(digest: &JournalDigest, records: &JournalIndex) -> Result<String, ReportError> {
    let m = &digest.meta;
    let s = &digest.summary;
    let c = &s.counts;
    let mut out = String::new();
    let _ = writeln!(out, "# Redis transport security: scan of {}\n", markdown(&m.started_at));
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
        markdown(m.finished_at.as_deref().unwrap_or("\u{2013}"))
    );
    let _ = writeln!(out, "- Scanner host: {}", markdown(&m.scanner_host));
    let command = crate::text::sanitize(&m.command_line.join(" "), usize::MAX);
    let _ = writeln!(out, "- Command: `{}`", command.replace('`', "'"));
    let _ = writeln!(
        out,
        "- Endpoints: {} planned, {} scanned ({} open, {} closed, {} filtered, {} unreachable); Redis {}, plaintext {}, TLS {}",
        m.endpoints_planned, c.scanned, c.open, c.closed, c.filtered, c.unreachable, c.redis, c.plaintext_redis, c.tls
    );
    let _ = writeln!(
        out,
        "- Trust anchors: {} roots, {} CA file(s), {} anchors",
        markdown(&m.trust.roots),
        m.trust.ca_files.len(),
        m.trust.anchors
    );
    if m.interrupted {
        let _ = writeln!(out, "- **Interrupted**: the reports cover the endpoints finished");
    }
    let _ = writeln!(out, "\n## Findings by severity\n\n| severity | findings |\n|---|---|");
    for sev in Severity::DESCENDING {
        let _ = writeln!(out, "| {} | {} |", sev.as_str(), s.findings_by_severity.get(&sev).copied().unwrap_or(0));
    }
    let _ = writeln!(out, "\n## Findings\n\n| endpoint | severity | finding | evidence |\n|---|---|---|---|");
    let mut listed = 0usize;
    let mut more = 0usize;
    let mut remediation = std::collections::BTreeMap::new();
    records.for_each(|r| {
        for f in &r.findings {
            remediation.entry(f.id).or_insert_with(|| f.remediation().to_string());
            if listed < 200 {
                listed += 1;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    markdown(&endpoint_name(r)),
                    f.severity.as_str(),
                    markdown(f.id.as_str()),
                    markdown(&f.evidence)
                );
            } else {
                more += 1;
            }
        }
        Ok::<(), ReportError>(())
    })?;
    if more > 0 {
        let _ = writeln!(out, "\n{more} more finding(s) in `findings.csv`.");
    }
    if !remediation.is_empty() {
        let _ = writeln!(out, "\n## Remediation (redis.conf)\n");
        for (id, fix) in remediation {
            let _ = writeln!(out, "- **{}**: `{}`", markdown(id.as_str()), fix.replace('`', "'"));
        }
    }
    let _ = writeln!(out, "\nVerify the run's files with `sha256sum -c SHA256SUMS`.");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(html("<img src=x onerror='a()'>&"), "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;");
        assert_eq!(markdown("CN=[x](http://e) | *b* <s>"), "CN=\\[x\\]\\(http\\:\\/\\/e\\) \\| \\*b\\* &lt;s&gt;");
    }

    #[test]
    fn no_remote_text_becomes_a_link_or_an_escape_sequence() {
        let md =
            markdown("-ERR see https://evil.example/x, WWW.evil.example, ftp://a or root@evil.example \u{1b}]0;t\u{7}");
        for autolink in ["://", "www.", "WWW.", "t@e", "\u{1b}", "\u{7}"] {
            assert!(!md.contains(autolink), "{autolink} in {md}");
        }
        assert_eq!(markdown("127.0.0.1:6379"), "127.0.0.1:6379", "addresses stay as they are");
    }
}
