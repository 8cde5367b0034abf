//! `report.json`: `{schema_version, scan, findings_catalog, endpoints, summary}`, streamed one endpoint at a
//! time by the one pass of [`super::finalize_index`].
//!
//! Records carry each finding's id, severity and evidence; its title and `redis.conf` remediation are
//! the id's and appear once, in `findings_catalog`, instead of in every endpoint.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{AtomicFile, JournalDigest, Raw, ReportError, Sink, io_err};
use crate::model::{EndpointRecord, FindingId, SCHEMA_VERSION, Severity};

/// One id's fixed text.
#[derive(Debug, Serialize)]
pub struct CatalogEntry {
    /// Contract severity (a finding's own `severity` is authoritative: `legacy_protocol` and
    /// `weak_cipher` vary).
    pub default_severity: Severity,
    /// One-line title (for `weak_cipher`: of the high-severity variant; `low` reads "weak").
    pub title: &'static str,
    /// The `redis.conf` change that fixes it.
    pub remediation: &'static str,
}

/// Title, default severity and remediation of every finding id.
pub fn catalog() -> BTreeMap<FindingId, CatalogEntry> {
    FindingId::ALL
        .iter()
        .map(|id| {
            let default_severity = id.default_severity();
            (*id, CatalogEntry { default_severity, title: id.title(default_severity), remediation: id.remediation() })
        })
        .collect()
}

/// The `report.json` sink.
#[derive(Debug)]
pub struct ReportJson {
    out: AtomicFile,
    digest_summary: Vec<u8>,
    include_closed: bool,
    first: bool,
}

impl ReportJson {
    /// Starts `report.json`: everything before the endpoints.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn new(path: &Path, digest: &JournalDigest, include_closed: bool) -> Result<Self, ReportError> {
        let mut out = AtomicFile::create(path)?;
        let head = (|| -> std::io::Result<()> {
            out.write_all(b"{\"schema_version\":")?;
            serde_json::to_writer(&mut out, SCHEMA_VERSION)?;
            out.write_all(b",\"scan\":")?;
            serde_json::to_writer(&mut out, &digest.meta)?;
            out.write_all(b",\"findings_catalog\":")?;
            serde_json::to_writer(&mut out, &catalog())?;
            out.write_all(b",\"endpoints\":[")
        })();
        head.map_err(io_err(path))?;
        let digest_summary = serde_json::to_vec(&digest.summary).map_err(|e| io_err(path)(e.into()))?;
        Ok(Self { out, digest_summary, include_closed, first: true })
    }
}

impl Sink for ReportJson {
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError> {
        self.endpoint_with(r, &Raw::default())
    }

    fn endpoint_with(&mut self, r: &EndpointRecord, raw: &Raw<'_>) -> Result<(), ReportError> {
        if !r.is_listed(self.include_closed) {
            return Ok(());
        }
        let sep: &[u8] = if self.first { b"\n{" } else { b",\n{" };
        self.first = false;
        let written = self.out.write_all(sep).and_then(|()| match raw.fields {
            // The journal's bytes are this record's serialization: copied, not produced again.
            Some(members) => self.out.write_all(members),
            None => {
                let json = serde_json::to_vec(r)?;
                self.out.write_all(json.get(1..).unwrap_or_default())
            }
        });
        let path = self.out.name();
        written.map_err(io_err(Path::new(&path)))
    }

    fn finish(mut self: Box<Self>) -> Result<Option<(String, String)>, ReportError> {
        let name = self.out.name();
        let tail = std::mem::take(&mut self.digest_summary);
        (|| -> std::io::Result<()> {
            self.out.write_all(b"\n],\"summary\":")?;
            self.out.write_all(&tail)?;
            self.out.write_all(b"}\n")
        })()
        .map_err(io_err(Path::new(&name)))?;
        self.out.commit_named()
    }
}
