//! The man page, generated from the same clap definition as the parser (`redis-tls-scan man`): the
//! top-level page, then each subcommand's synopsis and options, then exit status, files and environment.

use std::io::Write;

/// Sections written by hand after the generated ones (roff).
const TAIL: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
complete; nothing at or above \fB\-\-fail\-on\fR (diff: the posture did not get worse)
.TP
\fB1\fR
complete with a finding at or above \fB\-\-fail\-on\fR (diff: worse)
.TP
\fB2\fR
usage or setup error (bad target, unreadable file, unwritable output): retrying does not help
.TP
\fB130\fR
interrupted (Ctrl\-C, SIGTERM); \fB\-\-resume\fR continues
.SH FILES
A run directory (\fB\-o\fR, default \fIreports/<UTC time>\fR under the current directory) holds
scan.jsonl (the journal), report.json, endpoints.csv, findings.csv, summary.txt, summary.md,
report.html and SHA256SUMS.
.PP
/usr/share/doc/redis\-tls\-scan/README.md (Debian package): usage, reports and deployment.
/lib/systemd/system/redis\-tls\-scan\-sweep.service and .timer: the scheduled sweep, targets in
/etc/redis\-tls\-scan/targets.txt, reports in /var/lib/redis\-tls\-scan/reports.
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
no colour with \fB\-\-color auto\fR
.TP
\fBRUST_LOG\fR
log filter on stderr (overrides \fB\-v\fR)
.TP
\fBSSL_CERT_FILE\fR, \fBSSL_CERT_DIR\fR
the system trust store (\fB\-\-roots system\fR)
.SH NOTES
Scan only networks you are authorised to test.
"#;

/// Writes the whole page.
///
/// # Errors
/// When `out` cannot be written.
pub fn render(mut cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    cmd.build();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let bin = sub.get_bin_name().unwrap_or_else(|| sub.get_name()).to_string();
        writeln!(out, ".SH \"{}\"", bin.replace('-', "\\-").to_uppercase())?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{}", roff_text(&about.to_string()))?;
        }
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        // The subcommand's own headings become subsections of its section.
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH OPTIONS", ".SS Options");
        out.write_all(part.as_bytes())?;
    }
    out.write_all(TAIL.as_bytes())
}

/// Plain text as one roff paragraph: backslashes and leading dots or quotes cannot become requests.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}
