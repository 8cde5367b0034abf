//! The row spool: while the sweep runs, the journal's writer renders each record's `endpoints.csv` row
//! and `findings.csv` rows (the costliest part of the reports to produce) into a temporary file of the
//! run directory, while the record is still in memory, next to the record's JSON members; the report
//! pass then reads each record there once, in (address, port) order, and copies those bytes instead of
//! rendering every row after the last probe.
//!
//! The spool is an optimisation with a plain fallback: a record without spooled rows (a resumed run, a
//! `merge`, a record the host-level pass added findings to, a spool that could not be written) is
//! rendered by the sinks from the record, by the same [`RowWriter`], so the files are the same bytes
//! either way (tested: a fresh run's CSVs equal the ones `--resume` rebuilds from the journal).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::csv::RowWriter;
use crate::model::EndpointRecord;

/// The name the spool's temporary file is derived from (`.rows.spool.<random>.tmp`).
const SPOOL: &str = "rows.spool";

/// Where one record is in the spool: its JSON members (as in its journal line: what the report pass
/// parses and `report.json` copies, so the pass reads one place per record, not two), its
/// `endpoints.csv` row (empty when the record is not listed), then its `findings.csv` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsAt {
    /// Byte offset of the JSON members.
    pub offset: u64,
    /// Length of the JSON members.
    pub fields_len: u32,
    /// Length of the endpoint row.
    pub endpoint_len: u32,
    /// Length of the finding rows, which follow it.
    pub findings_len: u32,
}

/// The spool being written, by the journal's writer, one record at a time.
pub struct RowSpool {
    out: Option<BufWriter<File>>,
    path: PathBuf,
    pos: u64,
    include_closed: bool,
    endpoints: RowWriter,
    findings: RowWriter,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for RowSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowSpool").field("path", &self.path).field("pos", &self.pos).finish_non_exhaustive()
    }
}

impl RowSpool {
    /// Starts a spool in the run directory `dir` (claimed and locked by this run): a randomly named file,
    /// created exclusively, never through a symlink.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn create(dir: &Path, include_closed: bool) -> io::Result<Self> {
        let (file, path) = super::rundir::create_temp(&dir.join(SPOOL))?;
        Ok(Self {
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            path,
            pos: 0,
            include_closed,
            endpoints: RowWriter::default(),
            findings: RowWriter::default(),
            bytes: Vec::new(),
        })
    }

    /// Appends `fields` (the record's JSON members, from its journal line) and the rendered rows of `r`;
    /// where they are, or `None` once the spool has failed (a full disk): from then on the report pass
    /// reads the journal and the sinks render the rows themselves.
    pub fn add(&mut self, r: &EndpointRecord, fields: &[u8]) -> Option<RowsAt> {
        let out = self.out.as_mut()?;
        self.bytes.clear();
        self.bytes.extend_from_slice(fields);
        let rendered = (|| {
            if r.is_listed(self.include_closed) {
                self.endpoints.endpoint(r)?;
            }
            self.endpoints.take_into(&mut self.bytes);
            let endpoint_len = self.bytes.len() - fields.len();
            self.findings.findings(r)?;
            self.findings.take_into(&mut self.bytes);
            let findings_len = self.bytes.len() - fields.len() - endpoint_len;
            out.write_all(&self.bytes)?;
            Ok::<_, io::Error>((endpoint_len, findings_len))
        })();
        let lens = |(e, f): (usize, usize)| {
            Some((u32::try_from(fields.len()).ok()?, u32::try_from(e).ok()?, u32::try_from(f).ok()?))
        };
        match rendered.ok().and_then(lens) {
            Some((fields_len, endpoint_len, findings_len)) => {
                let at = RowsAt { offset: self.pos, fields_len, endpoint_len, findings_len };
                self.pos += self.bytes.len() as u64;
                Some(at)
            }
            None => {
                // Whatever was half written is never read: no record points past the last good one.
                tracing::warn!(path = %self.path.display(), "the row spool failed; the reports render every row");
                self.out = None;
                None
            }
        }
    }

    /// Ends the writing: the spool, opened for reading, or `None` when it failed.
    pub fn finish(mut self) -> Option<Spooled> {
        let file = self.out.take()?.into_inner().ok()?;
        drop(file);
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&self.path).ok()?;
        Some(Spooled { file, path: std::mem::take(&mut self.path) })
    }
}

impl Drop for RowSpool {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A finished spool, read by the report pass; removed when dropped.
#[derive(Debug)]
pub struct Spooled {
    file: File,
    path: PathBuf,
}

impl Spooled {
    /// Reads what is at `at` into `buf` (as long as the entry).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn read(&self, at: RowsAt, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, at.offset)
    }

    /// The spool's path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the spools a killed run left in its directory `dir` (locked by the caller): `--resume` and a
/// rebuild render every row from the journal and never read them.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Only regular files of this tool's naming (never a symlink's target).
        let ours = name.starts_with(&format!(".{SPOOL}.")) && name.ends_with(".tmp");
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
