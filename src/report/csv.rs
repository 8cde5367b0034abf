//! CSV sinks: `endpoints.csv` (one row per endpoint) and `findings.csv` (one row per finding).
//!
//! Lists are joined with `;`. Every cell passes through [`csv_cell`], so no cell can start a spreadsheet
//! formula. The column lists are the contract documented in `reports/README.md` (golden-tested).

use std::path::Path;

use super::{AtomicFile, ReportError, Sink, io_err};
use crate::model::{EndpointRecord, PingResult, SuiteClass, TlsResult, TlsVersion, VersionProbe, VersionStatus};
use crate::text::csv_safe;

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

/// One `endpoints.csv` row.
pub fn endpoint_row(r: &EndpointRecord) -> Vec<String> {
    let opt = |s: Option<String>| s.unwrap_or_default();
    let ping_status = |p: &Option<PingResult>| opt(p.as_ref().map(|p| p.status.as_str().to_string()));
    let ping_reply = |p: &Option<PingResult>| opt(p.as_ref().and_then(|p| p.reply.clone()));
    let tls = r.tls.as_ref();
    // Within a TLS section, a version absent from the record was not tested.
    let version =
        |v: TlsVersion| opt(tls.map(|t| t.versions.get(&v).map_or_else(|| "not_tested".to_string(), version_cell)));
    let cert = r.certificate.as_ref();
    let leaf = cert.map(|c| &c.leaf);
    let b = |x: bool| x.to_string();
    let row = vec![
        r.address.to_string(),
        r.port.to_string(),
        opt(r.name.clone()),
        r.reachability.as_str().to_string(),
        ping_status(&r.plaintext),
        ping_reply(&r.plaintext),
        opt(tls.map(|t| b(t.speaks_tls))),
        version(TlsVersion::Ssl3),
        version(TlsVersion::Tls10),
        version(TlsVersion::Tls11),
        version(TlsVersion::Tls12),
        version(TlsVersion::Tls13),
        opt(tls.and_then(|t| t.negotiated.as_ref()).map(|n| n.version.key().to_string())),
        opt(tls.and_then(|t| t.negotiated.as_ref()).map(|n| n.cipher_suite.clone())),
        opt(tls.and_then(|t| t.negotiated.as_ref()).and_then(|n| n.key_exchange_group.clone())),
        opt(tls.map(|t| suites(t, |_| true))),
        opt(tls.map(|t| suites(t, |c| c <= SuiteClass::Weak))),
        opt(tls.and_then(|t| t.key_exchange.dh_bits).map(|b| b.to_string())),
        opt(tls.map(|t| t.key_exchange.weak_groups_accepted.join(";"))),
        opt(tls.map(|t| t.client_auth.as_str().to_string())),
        opt(tls.map(|t| ping_status(&t.ping))),
        opt(tls.map(|t| ping_reply(&t.ping))),
        opt(tls.map(|t| ping_status(&t.ping_with_client_cert))),
        opt(leaf.map(|l| l.subject.clone())),
        opt(leaf.map(|l| l.issuer.clone())),
        opt(leaf.map(|l| l.sans.join(";"))),
        opt(leaf.map(|l| l.serial.clone())),
        opt(leaf.map(|l| l.not_before.clone())),
        opt(leaf.map(|l| l.not_after.clone())),
        opt(leaf.and_then(|l| l.days_left).map(|d| d.to_string())),
        opt(leaf.map(|l| l.key_type.clone())),
        opt(leaf.and_then(|l| l.key_bits).map(|k| k.to_string())),
        opt(leaf.map(|l| l.signature_algorithm.clone())),
        opt(leaf.map(|l| l.sha256.clone())),
        opt(leaf.map(|l| b(l.self_signed))),
        opt(cert.map(|c| c.chain.iter().map(|s| s.subject.as_str()).collect::<Vec<_>>().join(";"))),
        opt(cert.map(|c| b(c.chain_complete))),
        opt(cert.map(|c| b(c.trust.trusted))),
        opt(cert.map(|c| c.trust.reasons_text(";"))),
        opt(cert.map(|c| b(c.hostname_match))),
        r.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(";"),
        opt(r.max_severity().map(|s| s.as_str().to_string())),
        r.started_at.clone(),
        r.duration_ms.to_string(),
        r.connections.to_string(),
        b(r.deadline_exceeded),
    ];
    row.into_iter().map(csv_safe).collect()
}

/// Accepted suites as `<version>:<name>`, filtered by class.
fn suites(t: &TlsResult, keep: impl Fn(SuiteClass) -> bool) -> String {
    t.versions
        .iter()
        .rev()
        .flat_map(|(v, p)| {
            p.cipher_suites.iter().filter(|s| keep(s.class)).map(move |s| format!("{}:{}", v.key(), s.name))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `accepted`, `not_tested`, or `rejected:<failure>` (`rejected:alert:<name>` for an alert).
pub fn version_cell(v: &VersionProbe) -> String {
    match (v.status, &v.alert, v.failure) {
        (VersionStatus::Rejected, Some(a), _) => format!("rejected:alert:{}", a.name),
        (VersionStatus::Rejected, None, Some(f)) => format!("rejected:{}", f.as_str()),
        (s, _, _) => s.as_str().to_string(),
    }
}

/// `findings.csv` rows of one endpoint.
pub fn finding_rows(r: &EndpointRecord) -> Vec<Vec<String>> {
    r.findings
        .iter()
        .map(|f| {
            [
                r.address.to_string(),
                r.port.to_string(),
                r.name.clone().unwrap_or_default(),
                f.id.as_str().to_string(),
                f.severity.as_str().to_string(),
                f.title().to_string(),
                f.evidence.clone(),
                f.remediation().to_string(),
            ]
            .into_iter()
            .map(csv_safe)
            .collect()
        })
        .collect()
}

/// A CSV report streamed row by row.
struct Rows {
    w: csv::Writer<AtomicFile>,
}

impl Rows {
    fn new(path: &Path, header: &[&str]) -> Result<Self, ReportError> {
        let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
        w.write_record(header).map_err(|e| io_err(path)(e.into()))?;
        Ok(Self { w })
    }

    fn row(&mut self, row: &[String]) -> Result<(), ReportError> {
        self.w.write_record(row).map_err(|e| ReportError::Io { path: self.w.get_ref().name().into(), source: e.into() })
    }

    fn finish(self) -> Result<Option<(String, String)>, ReportError> {
        let file = self.w.into_inner().map_err(|e| ReportError::Io { path: "csv".into(), source: e.into_error() })?;
        file.commit_named()
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
        if r.is_listed(self.include_closed) {
            self.rows.row(&endpoint_row(r))?;
        }
        Ok(())
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
        finding_rows(r).iter().try_for_each(|row| self.rows.row(row))
    }

    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        self.rows.finish()
    }
}
