//! CSV sinks: `endpoints.csv` (one row per endpoint) and `findings.csv` (one row per finding).
//!
//! Lists are joined with `;`. Every cell passes through [`csv_safe_str`], so no cell can start a spreadsheet
//! formula. The column lists are the contract documented in `reports/README.md` (golden-tested).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::{AtomicFile, Raw, ReportError, Sink, io_err};
use crate::model::{EndpointRecord, PingResult, SuiteClass, TlsResult, TlsVersion, VersionProbe, VersionStatus};
use crate::text::csv_safe_str;

/// `endpoints.csv` columns, in order.
pub const ENDPOINT_COLUMNS: [&str; 46] = [
    "address",
    "port",
    "name",
    "reachability",
    "plaintext_status",
    "plaintext_reply",
    "speaks_tls",
    "ssl3",
    "tls1_0",
    "tls1_1",
    "tls1_2",
    "tls1_3",
    "tls_version",
    "cipher_suite",
    "key_exchange_group",
    "cipher_suites",
    "weak_suites",
    "dh_bits",
    "weak_groups",
    "client_auth",
    "tls_ping_status",
    "tls_ping_reply",
    "tls_ping_client_cert_status",
    "cert_subject",
    "cert_issuer",
    "cert_sans",
    "cert_serial",
    "cert_not_before",
    "cert_not_after",
    "cert_days_left",
    "cert_key_type",
    "cert_key_bits",
    "cert_signature_algorithm",
    "cert_sha256",
    "cert_self_signed",
    "cert_chain",
    "cert_chain_complete",
    "cert_trusted",
    "cert_trust_reasons",
    "cert_hostname_match",
    "findings",
    "max_severity",
    "started_at",
    "duration_ms",
    "connections",
    "deadline_exceeded",
];

/// `findings.csv` columns, in order.
pub const FINDING_COLUMNS: [&str; 8] =
    ["address", "port", "name", "id", "severity", "title", "evidence", "remediation"];

/// Where a row's cells go: the CSV writer, or a `Vec<String>` (tests, golden rows). Cells arrive
/// formula-safe already ([`Row`] sees to it).
pub trait Cells {
    /// One cell.
    fn cell(&mut self, text: &str);
}

impl Cells for Vec<String> {
    fn cell(&mut self, text: &str) {
        self.push(text.to_string());
    }
}

/// Writes cells formula-safe ([`csv_safe_str`]), numbers and lists through one reused buffer: a row costs
/// no allocation per cell (a sweep's CSVs have millions of cells).
struct Row<'a, C: Cells> {
    out: &'a mut C,
    scratch: String,
}

impl<'a, C: Cells> Row<'a, C> {
    fn new(out: &'a mut C) -> Self {
        Self { out, scratch: String::new() }
    }

    fn text(&mut self, s: &str) {
        self.out.cell(&csv_safe_str(s));
    }

    fn opt(&mut self, s: Option<&str>) {
        self.text(s.unwrap_or_default());
    }

    /// A cell built in the scratch buffer.
    fn built(&mut self, build: impl FnOnce(&mut String)) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        build(&mut scratch);
        self.text(&scratch);
        self.scratch = scratch;
    }

    fn show(&mut self, v: impl std::fmt::Display) {
        self.built(|b| {
            let _ = write!(b, "{v}");
        });
    }

    fn opt_show(&mut self, v: Option<impl std::fmt::Display>) {
        match v {
            Some(v) => self.show(v),
            None => self.out.cell(""),
        }
    }

    /// Items joined with `;`.
    fn list<I: IntoIterator<Item = impl std::fmt::Display>>(&mut self, items: I) {
        self.built(|b| {
            for (i, item) in items.into_iter().enumerate() {
                let _ = write!(b, "{}{item}", if i == 0 { "" } else { ";" });
            }
        });
    }
}

/// One `endpoints.csv` row.
pub fn endpoint_row(r: &EndpointRecord) -> Vec<String> {
    let mut row = Vec::with_capacity(ENDPOINT_COLUMNS.len());
    write_endpoint_row(r, &mut row);
    row
}

/// One `endpoints.csv` row, cell by cell into `out`.
pub fn write_endpoint_row(r: &EndpointRecord, out: &mut impl Cells) {
    let mut w = Row::new(out);
    let tls = r.tls.as_ref();
    let negotiated = tls.and_then(|t| t.negotiated.as_ref());
    let cert = r.certificate.as_ref();
    let leaf = cert.map(|c| &c.leaf);
    let (plain_status, plain_reply) = ping(&r.plaintext).unzip();
    w.show(r.address);
    w.show(r.port);
    w.opt(r.name.as_deref());
    w.text(r.reachability.as_str());
    w.opt(plain_status);
    w.opt(plain_reply.flatten());
    w.opt_show(tls.map(|t| t.speaks_tls));
    for v in [TlsVersion::Ssl3, TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13] {
        // Within a TLS section, a version absent from the record was not tested.
        match tls.map(|t| t.versions.get(&v)) {
            None => w.text(""),
            Some(None) => w.text("not_tested"),
            Some(Some(p)) => w.built(|b| version_cell_into(p, b)),
        }
    }
    w.opt(negotiated.map(|n| n.version.key()));
    w.opt(negotiated.map(|n| n.cipher_suite.as_str()));
    w.opt(negotiated.and_then(|n| n.key_exchange_group.as_deref()));
    match tls {
        Some(t) => {
            w.built(|b| suites(t, |_| true, b));
            w.built(|b| suites(t, |c| c <= SuiteClass::Weak, b));
        }
        None => (0..2).for_each(|_| w.text("")),
    }
    w.opt_show(tls.and_then(|t| t.key_exchange.dh_bits));
    match tls {
        Some(t) => w.list(&t.key_exchange.weak_groups_accepted),
        None => w.text(""),
    }
    w.opt(tls.map(|t| t.client_auth.as_str()));
    let (tls_status, tls_reply) = tls.and_then(|t| ping(&t.ping)).unzip();
    // A TLS section without a PING result: empty cells, like an absent section.
    w.opt(tls_status);
    w.opt(tls_reply.flatten());
    w.opt(tls.and_then(|t| ping(&t.ping_with_client_cert)).map(|(s, _)| s));
    w.opt(leaf.map(|l| l.subject.as_str()));
    w.opt(leaf.map(|l| l.issuer.as_str()));
    match leaf {
        Some(l) => w.list(&l.sans),
        None => w.text(""),
    }
    w.opt(leaf.map(|l| l.serial.as_str()));
    w.opt(leaf.map(|l| l.not_before.as_str()));
    w.opt(leaf.map(|l| l.not_after.as_str()));
    w.opt_show(leaf.and_then(|l| l.days_left));
    w.opt(leaf.map(|l| l.key_type.as_str()));
    w.opt_show(leaf.and_then(|l| l.key_bits));
    w.opt(leaf.map(|l| l.signature_algorithm.as_str()));
    w.opt(leaf.map(|l| l.sha256.as_str()));
    w.opt_show(leaf.map(|l| l.self_signed));
    match cert {
        Some(c) => w.list(c.chain.iter().map(|s| s.subject.as_str())),
        None => w.text(""),
    }
    w.opt_show(cert.map(|c| c.chain_complete));
    w.opt_show(cert.map(|c| c.trust.trusted));
    match cert {
        Some(c) => w.list(c.trust.reasons.iter().map(|r| r.as_str())),
        None => w.text(""),
    }
    w.opt_show(cert.map(|c| c.hostname_match));
    w.list(r.findings.iter().map(|f| f.id.as_str()));
    w.opt(r.max_severity().map(|s| s.as_str()));
    w.text(&r.started_at);
    w.show(r.duration_ms);
    w.show(r.connections);
    w.show(r.deadline_exceeded);
}

/// A PING result's status and reply.
fn ping(p: &Option<PingResult>) -> Option<(&'static str, Option<&str>)> {
    p.as_ref().map(|p| (p.status.as_str(), p.reply.as_deref()))
}

/// Accepted suites as `<version>:<name>`, filtered by class, joined with `;` into `out`.
fn suites(t: &TlsResult, keep: impl Fn(SuiteClass) -> bool, out: &mut String) {
    let accepted = t.versions.iter().rev().flat_map(|(v, p)| p.cipher_suites.iter().map(move |s| (v, s)));
    for (i, (v, s)) in accepted.filter(|(_, s)| keep(s.class)).enumerate() {
        let _ = write!(out, "{}{}:{}", if i == 0 { "" } else { ";" }, v.key(), s.name);
    }
}

/// `accepted`, `not_tested`, or `rejected:<failure>` (`rejected:alert:<name>` for an alert).
pub fn version_cell(v: &VersionProbe) -> String {
    let mut s = String::new();
    version_cell_into(v, &mut s);
    s
}

fn version_cell_into(v: &VersionProbe, out: &mut String) {
    let _ = match (v.status, &v.alert, v.failure) {
        (VersionStatus::Rejected, Some(a), _) => write!(out, "rejected:alert:{}", a.name),
        (VersionStatus::Rejected, None, Some(f)) => write!(out, "rejected:{}", f.as_str()),
        (s, _, _) => write!(out, "{}", s.as_str()),
    };
}

/// `findings.csv` rows of one endpoint.
pub fn finding_rows(r: &EndpointRecord) -> Vec<Vec<String>> {
    (0..r.findings.len())
        .map(|i| {
            let mut row = Vec::with_capacity(FINDING_COLUMNS.len());
            write_finding_row(r, i, &mut row);
            row
        })
        .collect()
}

/// Row `i` of `findings.csv` for this endpoint (its `i`-th finding), cell by cell into `out`.
pub fn write_finding_row(r: &EndpointRecord, i: usize, out: &mut impl Cells) {
    let Some(f) = r.findings.get(i) else { return };
    let mut w = Row::new(out);
    w.show(r.address);
    w.show(r.port);
    w.opt(r.name.as_deref());
    w.text(f.id.as_str());
    w.text(f.severity.as_str());
    w.text(f.title());
    w.text(&f.evidence);
    w.text(f.remediation());
}

/// Rows rendered to bytes by the csv crate, into a buffer the caller takes: what the CSV sinks write,
/// and what [`super::spool::RowSpool`] renders during the sweep while the record is still in memory.
/// One writer renders one kind of row (the csv crate checks that every row has the first one's width).
pub struct RowWriter {
    w: csv::Writer<Rendered>,
    /// The row being built, reused: written whole by `write_byte_record`, the csv crate's fast path
    /// (cells that need no quoting are copied as they are, without its per-field state machine).
    record: csv::ByteRecord,
}

impl Cells for RowWriter {
    fn cell(&mut self, text: &str) {
        self.record.push_field(text.as_bytes());
    }
}

impl Default for RowWriter {
    fn default() -> Self {
        Self {
            w: csv::WriterBuilder::new().buffer_capacity(1 << 12).from_writer(Rendered::default()),
            record: csv::ByteRecord::with_capacity(1024, 64),
        }
    }
}

impl RowWriter {
    /// Ends the row that `cells` wrote.
    fn end(&mut self) -> std::io::Result<()> {
        let written = self.w.write_byte_record(&self.record);
        self.record.clear();
        written.map_err(std::io::Error::other)
    }

    /// The `endpoints.csv` row of `r`.
    ///
    /// # Errors
    /// Only if the csv crate refuses the row (a width other than the header's: a bug).
    pub fn endpoint(&mut self, r: &EndpointRecord) -> std::io::Result<()> {
        write_endpoint_row(r, self);
        self.end()
    }

    /// The `findings.csv` rows of `r`, one per finding.
    ///
    /// # Errors
    /// As [`RowWriter::endpoint`].
    pub fn findings(&mut self, r: &EndpointRecord) -> std::io::Result<()> {
        (0..r.findings.len()).try_for_each(|i| {
            write_finding_row(r, i, self);
            self.end()
        })
    }

    /// Moves the rows rendered so far to the end of `out`.
    pub fn take_into(&mut self, out: &mut Vec<u8>) {
        // Into memory: the flush cannot fail.
        let _ = self.w.flush();
        out.append(&mut self.w.get_ref().0.borrow_mut());
    }
}

/// The bytes a [`RowWriter`]'s csv writer flushes to, taken from it through a shared reference (the
/// csv crate lends its writer only as `&W`).
#[derive(Default)]
struct Rendered(std::cell::RefCell<Vec<u8>>);

impl std::io::Write for Rendered {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A CSV report streamed row by row: rows rendered by a [`RowWriter`], or copied as rendered during the
/// sweep, into the atomically written file.
struct Rows {
    out: AtomicFile,
    render: RowWriter,
    bytes: Vec<u8>,
}

impl Rows {
    fn new(path: &Path, header: &[&str]) -> Result<Self, ReportError> {
        let mut rows = Self { out: AtomicFile::create(path)?, render: RowWriter::default(), bytes: Vec::new() };
        header.iter().for_each(|h| rows.render.cell(h));
        rows.render.end().map_err(io_err(path))?;
        rows.flush()?;
        Ok(rows)
    }

    /// Writes what the renderer holds.
    fn flush(&mut self) -> Result<(), ReportError> {
        self.bytes.clear();
        self.render.take_into(&mut self.bytes);
        self.out.write_all(&self.bytes).map_err(|e| ReportError::Io { path: self.out.name().into(), source: e })
    }

    /// Copies the rows `rendered` earlier (by the same code, during the sweep), or renders them now.
    fn write(
        &mut self,
        rendered: Option<&[u8]>,
        render: impl FnOnce(&mut RowWriter) -> std::io::Result<()>,
    ) -> Result<(), ReportError> {
        let written = match rendered {
            Some(rows) => self.out.write_all(rows),
            None => render(&mut self.render),
        };
        written.map_err(|e| ReportError::Io { path: self.out.name().into(), source: e })?;
        if rendered.is_some() { Ok(()) } else { self.flush() }
    }

    fn finish(self) -> Result<Option<(String, String)>, ReportError> {
        self.out.commit_named()
    }
}

/// The `endpoints.csv` sink: one row per endpoint (open ones unless `--include-closed`).
pub struct EndpointsCsv {
    rows: Rows,
    include_closed: bool,
}

impl EndpointsCsv {
    /// Starts `endpoints.csv` with its header.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn new(path: &Path, include_closed: bool) -> Result<Self, ReportError> {
        Ok(Self { rows: Rows::new(path, &ENDPOINT_COLUMNS)?, include_closed })
    }
}

impl Sink for EndpointsCsv {
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        self.endpoint_with(r, &Raw::default())
    }

    fn endpoint_with(&mut self, r: &EndpointRecord, raw: &Raw<'_>) -> Result<(), ReportError> {
        if !r.is_listed(self.include_closed) {
            return Ok(());
        }
        self.rows.write(raw.endpoint_row, |w| w.endpoint(r))
    }

    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        self.rows.finish()
    }
}

/// The `findings.csv` sink: one row per finding.
pub struct FindingsCsv {
    rows: Rows,
}

impl FindingsCsv {
    /// Starts `findings.csv` with its header.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn new(path: &Path) -> Result<Self, ReportError> {
        Ok(Self { rows: Rows::new(path, &FINDING_COLUMNS)? })
    }
}

impl Sink for FindingsCsv {
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        self.endpoint_with(r, &Raw::default())
    }

    fn endpoint_with(&mut self, r: &EndpointRecord, raw: &Raw<'_>) -> Result<(), ReportError> {
        self.rows.write(raw.finding_rows, |w| w.findings(r))
    }

    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        self.rows.finish()
    }
}
