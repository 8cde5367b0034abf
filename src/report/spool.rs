//! The row spool: while the sweep runs, the journal's writer renders each record's `endpoints.csv` row
//! and `findings.csv` rows (the costliest part of the reports to produce), while the record is still in
//! memory, next to the record's JSON members: the first 24 MiB of entries in memory, the rest in a
//! temporary file of the run directory (memory stays flat however large the sweep); the report
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

/// The spool's first bytes are kept in memory, up to this much: a sweep of up to ~40,000 open endpoints
/// never touches the file, and the report pass copies their entries instead of reading each with a
/// system call (about half of what the pass spent reading at 32,768 endpoints). Beyond it, entries go to
/// the file, so memory stays flat however large the sweep.
const IN_MEMORY: usize = 24 << 20;

/// Bytes before a spooled record: the length of its JSON members and of its `endpoints.csv` row (two
/// little-endian `u32`); its `findings.csv` rows take the rest of the entry.
pub const HEADER: usize = 8;

/// The lengths an entry's header gives: JSON members, endpoint row (the finding rows are the rest).
pub fn header(entry: &[u8]) -> Option<(usize, usize)> {
    let fields = u32::from_le_bytes(entry.get(..4)?.try_into().ok()?);
    let endpoint = u32::from_le_bytes(entry.get(4..HEADER)?.try_into().ok()?);
    let (fields, endpoint) = (usize::try_from(fields).ok()?, usize::try_from(endpoint).ok()?);
    (HEADER.checked_add(fields)?.checked_add(endpoint)? <= entry.len()).then_some((fields, endpoint))
}

/// The spool being written, by the journal's writer, one record at a time.
pub struct RowSpool {
    out: Option<BufWriter<File>>,
    path: PathBuf,
    pos: u64,
    /// The first entries (all of those that fit in [`IN_MEMORY`], until one does not).
    head: Vec<u8>,
    /// An entry went to the file: the head takes no more (an entry is in one place, whole).
    spilled: bool,
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
        Self::with_head(dir, include_closed, IN_MEMORY)
    }

    /// [`Self::create`] with `head` bytes kept in memory (tests use a small head).
    fn with_head(dir: &Path, include_closed: bool, head: usize) -> io::Result<Self> {
        let (file, path) = super::rundir::create_temp(&dir.join(SPOOL))?;
        Ok(Self {
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            path,
            pos: 0,
            // Reserved whole: growing by doubling would copy it and hold two copies at once. Only what
            // is written is ever touched.
            head: Vec::with_capacity(head),
            spilled: false,
            include_closed,
            endpoints: RowWriter::default(),
            findings: RowWriter::default(),
            bytes: Vec::new(),
        })
    }

    /// Appends one entry for `r`: a [`HEADER`], `fields` (its JSON members, from its journal line, what the
    /// report pass parses and `report.json` copies: the pass then reads one place per record, not two),
    /// its `endpoints.csv` row (empty when it is not listed) and its `findings.csv` rows. Returns where
    /// the entry is and its length, or `None` once the spool has failed (a full disk): from then on the
    /// report pass reads the journal and the sinks render the rows themselves.
    pub fn add(&mut self, r: &EndpointRecord, fields: &[u8]) -> Option<(u64, u32)> {
        let out = self.out.as_mut()?;
        self.bytes.clear();
        self.bytes.extend_from_slice(&[0; HEADER]);
        self.bytes.extend_from_slice(fields);
        let written = (|| {
            if r.is_listed(self.include_closed) {
                self.endpoints.endpoint(r)?;
            }
            self.endpoints.take_into(&mut self.bytes);
            let endpoint = self.bytes.len() - HEADER - fields.len();
            self.findings.findings(r)?;
            self.findings.take_into(&mut self.bytes);
            let lens = [fields.len(), endpoint].map(|n| u32::try_from(n).map(u32::to_le_bytes));
            let [Ok(f), Ok(e)] = lens else { return Err(io::Error::other("row longer than 4 GiB")) };
            self.bytes.splice(..HEADER, f.into_iter().chain(e));
            if !self.spilled && self.head.len() + self.bytes.len() <= self.head.capacity() {
                self.head.extend_from_slice(&self.bytes);
            } else {
                self.spilled = true;
                out.write_all(&self.bytes)?;
            }
            u32::try_from(self.bytes.len()).map_err(io::Error::other)
        })();
        match written {
            Ok(len) => {
                let at = self.pos;
                self.pos += u64::from(len);
                Some((at, len))
            }
            Err(e) => {
                // Whatever was half written is never read: no record points past the last good one.
                tracing::warn!(path = %self.path.display(), "the row spool failed ({e}); the reports render every row");
                self.out = None;
                None
            }
        }
    }

    /// Makes the spool fail as a full disk would (tests of the fallback).
    #[cfg(test)]
    pub(crate) fn break_for_test(&mut self) {
        self.out = None;
    }

    /// Ends the writing: the spool, opened for reading, or `None` when it failed.
    pub fn finish(mut self) -> Option<Spooled> {
        let file = self.out.take()?.into_inner().ok()?;
        drop(file);
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&self.path).ok()?;
        let head = std::mem::take(&mut self.head);
        Some(Spooled { head, file, path: std::mem::take(&mut self.path) })
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
    /// The spool's first bytes (offsets below its length); the file holds the rest, from its start.
    head: Vec<u8>,
    file: File,
    path: PathBuf,
}

impl Spooled {
    /// Reads the entry at `offset` into `buf` (as long as the entry).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let head = self.head.len() as u64;
        if offset >= head {
            return self.file.read_exact_at(buf, offset - head);
        }
        let entry = usize::try_from(offset).ok().and_then(|at| self.head.get(at..at.checked_add(buf.len())?));
        buf.copy_from_slice(
            entry.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "past the spool's head"))?,
        );
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any bytes (a spool entry torn or tampered with): the header gives lengths that fit the entry,
        /// or nothing; never a panic.
        #[test]
        fn a_header_fits_its_entry_or_is_refused(entry in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Some((fields, endpoint)) = header(&entry) {
                proptest::prop_assert!(HEADER + fields + endpoint <= entry.len());
            }
        }
    }

    #[test]
    fn a_header_reads_the_lengths_it_was_written_with() {
        let mut entry = Vec::new();
        entry.extend_from_slice(&3u32.to_le_bytes());
        entry.extend_from_slice(&2u32.to_le_bytes());
        entry.extend_from_slice(b"}\n,a,\n");
        assert_eq!(header(&entry), Some((3, 2)));
        assert_eq!(header(entry.get(..HEADER + 4).unwrap()), None, "torn");
        entry.splice(..4, u32::MAX.to_le_bytes());
        assert_eq!(header(&entry), None, "longer than the entry");
    }

    #[test]
    fn entries_come_back_whole_from_the_memory_head_and_from_the_file_beyond_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = RowSpool::with_head(dir.path(), true, 1000).unwrap();
        let mut written = Vec::new();
        for port in 0..40u16 {
            let fields = format!(
                r#""address":"10.0.0.1","port":{port},"reachability":"open","findings":[],"started_at":"x","duration_ms":1,"connections":1}}"#
            );
            let r: EndpointRecord = serde_json::from_str(&format!("{{{fields}")).unwrap();
            let (at, len) = spool.add(&r, fields.as_bytes()).unwrap();
            written.push((at, len, port));
        }
        let head = spool.head.len() as u64;
        assert!(head > 0 && head <= 1000, "{head}");
        assert!(written.iter().any(|(at, _, _)| *at >= head), "some entries went to the file");
        let spooled = spool.finish().unwrap();
        // Any order, as the report pass reads them.
        for (at, len, port) in written.iter().rev() {
            let mut buf = vec![0; *len as usize];
            spooled.read(*at, &mut buf).unwrap();
            let (fields, _) = header(&buf).unwrap();
            let json = String::from_utf8_lossy(buf.get(HEADER..HEADER + fields).unwrap()).into_owned();
            assert!(json.contains(&format!(r#""port":{port},"#)), "{at}: {json}");
        }
        let mut past = vec![0; 10];
        assert!(spooled.read(head - 5, &mut past).is_err(), "an entry never straddles the head's end");
    }
}
