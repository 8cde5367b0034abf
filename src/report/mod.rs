//! Sinks: the journal written as results arrive, and the final reports derived from it.
//!
//! One writer owns the run directory. [`Journal`] appends one JSON line per finished endpoint and flushes
//! it, so a crash loses at most the endpoints in flight. [`finalize`] reads the journal back (tolerating
//! a torn last line) and writes `report.json`, `endpoints.csv`, `findings.csv`, `summary.txt` and
//! `SHA256SUMS`, each atomically (a randomly named temporary file created exclusively, then renamed).
//! [`rundir`] claims and locks the directory for the whole run. Sinks only read records; they never probe.

pub mod csv;
pub mod fleet;
pub mod html;
pub mod index;
pub mod json;
pub mod prometheus;
pub mod rundir;
pub mod spool;
pub mod stream;
pub mod summary;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::model::{EndMark, EndpointRecord, Finding, JournalLine, ScanMeta, Summary};

/// Journal file name.
pub const JOURNAL: &str = "scan.jsonl";
/// Files a finished run holds, in `SHA256SUMS` order.
pub const REPORT_FILES: [&str; 7] =
    [JOURNAL, "report.json", "endpoints.csv", "findings.csv", "summary.txt", "summary.md", "report.html"];

/// Failure to write or read the run's files: fatal (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A directory or file this run must not write (not ours, or in use by another run).
    #[error("{path}: {reason}")]
    Refused {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The journal is not a journal of this tool.
    #[error("{path}: {reason}")]
    BadJournal {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

/// A running SHA-256, for the files a run writes and reads (one pass each, never a read-back to hash).
#[derive(Clone)]
pub struct Sha256(ring::digest::Context);

impl Sha256 {
    /// An empty hash.
    pub fn new() -> Self {
        Self(ring::digest::Context::new(&ring::digest::SHA256))
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of what was added so far, lowercase hex.
    pub fn hex(&self) -> String {
        crate::cert::hex(self.0.clone().finish().as_ref())
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha256")
    }
}

/// The append-only journal of a run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes in the file: where the next line starts.
    pos: u64,
    /// The SHA-256 of the whole file, continued from a read of what was already there.
    hash: Option<Sha256>,
    /// The last line appended, newline included: one buffer reused for every line, and what a live
    /// outlet (`--format jsonl`) copies without encoding the record again.
    line: Vec<u8>,
}

impl Journal {
    /// Creates a fresh journal in `dir` (claimed by [`rundir::claim_new`] or [`rundir::claim_merge`]),
    /// starting with the metadata line. When that line cannot be written (a full disk), the file is
    /// removed again: a failed start leaves nothing that would block a re-run.
    ///
    /// # Errors
    /// When the file cannot be created or written, or a journal already exists there.
    pub fn create(dir: &Path, meta: &ScanMeta) -> Result<Self, ReportError> {
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut j = Self {
            path: path.clone(),
            out: BufWriter::with_capacity(1 << 16, file),
            pos: 0,
            hash: Some(Sha256::new()),
            line: Vec::new(),
        };
        let started = j.append(&JournalLine::Scan(Box::new(meta.clone()))).and_then(|()| j.sync());
        if let Err(e) = started {
            drop(j);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(j)
    }

    fn sync(&mut self) -> Result<(), ReportError> {
        let path = self.path.clone();
        self.out.get_ref().sync_all().map_err(io_err(&path))
    }

    /// Reopens an interrupted journal for `--resume`, cut back to its last endpoint or progress line (a
    /// torn line, host findings and an end line from the interrupted run are dropped).
    ///
    /// # Errors
    /// When the file cannot be read, cut or opened.
    pub fn reopen(dir: &Path, keep_bytes: u64) -> Result<Self, ReportError> {
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(&path).map_err(io_err(&path))?;
        file.set_len(keep_bytes).map_err(io_err(&path))?;
        drop(file);
        let file = OpenOptions::new().append(true).custom_flags(libc::O_NOFOLLOW).open(&path).map_err(io_err(&path))?;
        Ok(Self { path, out: BufWriter::with_capacity(1 << 16, file), pos: keep_bytes, hash: None, line: Vec::new() })
    }

    /// Appends one line and flushes it to the OS.
    ///
    /// # Errors
    /// On a write error.
    pub fn append(&mut self, line: &JournalLine) -> Result<(), ReportError> {
        self.append_at(line).map(|_| ())
    }

    /// [`Journal::append`], returning where the line starts and its length (newline excluded): what a
    /// live [`index::Builder`] records.
    ///
    /// # Errors
    /// On a write error.
    pub fn append_at(&mut self, line: &JournalLine) -> Result<(u64, u32), ReportError> {
        let at = self.append_unflushed(line)?;
        self.flush()?;
        Ok(at)
    }

    /// [`Journal::append_at`] without the flush: the caller flushes ([`Journal::flush`]) after a batch.
    ///
    /// # Errors
    /// On a write error.
    pub fn append_unflushed(&mut self, line: &JournalLine) -> Result<(u64, u32), ReportError> {
        let bytes = &mut self.line;
        bytes.clear();
        serde_json::to_writer(&mut *bytes, line).map_err(|e| io_err(&self.path)(e.into()))?;
        let at = (self.pos, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        bytes.push(b'\n');
        if let Some(h) = &mut self.hash {
            h.update(bytes);
        }
        self.out.write_all(bytes).map_err(io_err(&self.path))?;
        self.pos += bytes.len() as u64;
        Ok(at)
    }

    /// The line the last append wrote, newline included.
    pub fn last_line(&self) -> &[u8] {
        &self.line
    }

    /// Hands what was appended to the OS.
    ///
    /// # Errors
    /// On a write error.
    pub fn flush(&mut self) -> Result<(), ReportError> {
        let path = self.path.clone();
        self.out.flush().map_err(io_err(&path))
    }

    /// The SHA-256 of everything in the file so far, when known (a fresh journal, or one whose hash was
    /// continued after a read).
    pub fn hash(&self) -> Option<Sha256> {
        self.hash.clone()
    }

    /// From now on, hashes what is appended on top of `hash`, the SHA-256 of the file as read so far
    /// ([`index::JournalIndex::hash`]), so that [`Journal::close`] knows the final file's hash without
    /// reading it again.
    pub fn continue_hash(&mut self, hash: Sha256) {
        self.hash = Some(hash);
    }

    /// Writes the closing line and syncs the file to disk.
    ///
    /// # Errors
    /// On a write error.
    pub fn close(self, end: EndMark) -> Result<Option<String>, ReportError> {
        let (hash, synced) = self.close_syncing(end)?;
        synced.wait()?;
        Ok(hash)
    }

    /// [`Journal::close`], the sync to disk running on a thread of its own while the reports are
    /// written: [`finalize_index_after`] waits for it before it seals the run with `SHA256SUMS`.
    ///
    /// # Errors
    /// On a write error (the sync's own error comes from [`JournalSync::wait`]).
    pub fn close_syncing(mut self, end: EndMark) -> Result<(Option<String>, JournalSync), ReportError> {
        self.append(&JournalLine::End(end))?;
        let hash = self.hash.take().map(|h| h.hex());
        let path = self.path.clone();
        let file = self.out.into_inner().map_err(|e| io_err(&path)(e.into_error()))?;
        let here = file.try_clone().map_err(io_err(&path))?;
        match std::thread::Builder::new().name("journal-sync".into()).spawn(move || file.sync_all()) {
            Ok(handle) => Ok((hash, JournalSync { path, handle: Some(handle) })),
            // No thread to spare: synced here and now.
            Err(_) => {
                here.sync_all().map_err(io_err(&path))?;
                Ok((hash, JournalSync::default()))
            }
        }
    }
}

/// The journal's sync to disk, running ([`Journal::close_syncing`]) or done.
#[derive(Debug, Default)]
pub struct JournalSync {
    path: PathBuf,
    handle: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl JournalSync {
    /// Waits for the sync.
    ///
    /// # Errors
    /// When it failed.
    pub fn wait(mut self) -> Result<(), ReportError> {
        match self.handle.take().map(std::thread::JoinHandle::join) {
            None => Ok(()),
            Some(Ok(synced)) => synced.map_err(io_err(&self.path)),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
        }
    }
}

/// Calls `f` for every journal line, in order (see [`index::read_lines`] for torn lines and caps).
///
/// # Errors
/// When the file cannot be read or holds a corrupt line before its end.
pub fn read_journal(path: &Path, mut f: impl FnMut(JournalLine)) -> Result<(), ReportError> {
    read_journal_lines(path, |line, _| f(line))
}

/// [`read_journal`] with, for each line, where it ends and whether its newline was written.
///
/// # Errors
/// As [`read_journal`].
pub fn read_journal_lines(
    path: &Path,
    mut f: impl FnMut(JournalLine, crate::input::LineInfo),
) -> Result<(), ReportError> {
    index::read_lines(path, true, |line, span| {
        let info = crate::input::LineInfo {
            number: span.number,
            terminated: span.terminated,
            end_offset: span.offset + u64::from(span.len) + u64::from(span.terminated),
        };
        let line = match line {
            index::Line::Endpoint(record, position) => {
                JournalLine::Endpoint(Box::new(crate::model::JournaledEndpoint { position, record: *record }))
            }
            index::Line::Other(l) => l,
        };
        f(line, info);
    })
}

/// Host-level findings by endpoint.
pub type HostFindings = HashMap<(IpAddr, u16), Vec<Finding>>;

/// Everything a journal holds, summarised.
#[derive(Debug, Clone)]
pub struct JournalDigest {
    /// The metadata, completed with the end time and counts.
    pub meta: ScanMeta,
    /// Totals.
    pub summary: Summary,
    /// Findings of the host-level pass, merged into their endpoints by [`index::JournalIndex::for_each`].
    pub hosts: HostFindings,
}

/// Adds a record's own findings to the tallies.
fn add_findings(summary: &mut Summary, r: &EndpointRecord) {
    if !r.findings.is_empty() {
        summary.endpoints_with_findings += 1;
    }
    for f in &r.findings {
        *summary.findings_by_severity.entry(f.severity).or_default() += 1;
        *summary.findings_by_id.entry(f.id).or_default() += 1;
        summary.max_severity = summary.max_severity.max(Some(f.severity));
    }
}

/// A file written atomically and streamed: into a randomly named temporary sibling created exclusively,
/// hashed as it is written, then synced and renamed over the target by [`AtomicFile::commit`]. Dropped
/// without a commit, it leaves the target untouched and no temporary behind.
#[derive(Debug)]
pub struct AtomicFile {
    out: Option<BufWriter<Hashed>>,
    tmp: PathBuf,
    path: PathBuf,
}

/// A file that hashes what is written to it, behind the buffer (large chunks, not every small write). The
/// reports are written by lanes on threads of their own ([`index::JournalIndex::for_each_in`]), so the
/// hash costs the pass no extra thread, no copy, and no queue that could grow.
#[derive(Debug)]
struct Hashed {
    file: File,
    hash: Sha256,
}

impl Hashed {
    fn new(file: File) -> Self {
        Self { file, hash: Sha256::new() }
    }

    /// The SHA-256 of everything written.
    fn finish(&mut self) -> Sha256 {
        std::mem::take(&mut self.hash)
    }
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl AtomicFile {
    /// Starts writing `path`.
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        // A fresh, randomly named file created exclusively: a planted `.report.json.tmp` symlink redirects
        // nothing.
        let (file, tmp) = rundir::create_temp(path).map_err(io_err(path))?;
        Ok(Self { out: Some(BufWriter::with_capacity(1 << 16, Hashed::new(file))), tmp, path: path.to_path_buf() })
    }

    /// The file's name in its directory.
    pub fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Syncs and renames the file into place; returns the SHA-256 (hex) of what was written.
    ///
    /// # Errors
    /// On any I/O error; the target is then untouched.
    pub fn commit(mut self) -> Result<String, ReportError> {
        let result = (|| {
            let out = self.out.take().ok_or_else(|| io::Error::other("already committed"))?;
            let mut hashed = out.into_inner().map_err(|e| e.into_error())?;
            let hash = hashed.finish();
            hashed.file.sync_all()?;
            fs::rename(&self.tmp, &self.path)?;
            Ok(hash.hex())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result.map_err(io_err(&self.path))
    }

    /// Commits and names the file for `SHA256SUMS`.
    ///
    /// # Errors
    /// As [`AtomicFile::commit`].
    pub fn commit_named(self) -> Result<Option<(String, String)>, ReportError> {
        let name = self.name();
        self.commit().map(|sha| Some((name, sha)))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().ok_or_else(|| io::Error::other("already committed"))?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.as_mut().ok_or_else(|| io::Error::other("already committed"))?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a file atomically from a closure (see [`AtomicFile`]); returns its SHA-256.
///
/// # Errors
/// On any I/O error; the target is then untouched.
pub fn write_atomic(path: &Path, f: impl FnOnce(&mut AtomicFile) -> io::Result<()>) -> Result<String, ReportError> {
    let mut file = AtomicFile::create(path)?;
    f(&mut file).map_err(io_err(path))?;
    file.commit()
}

/// What is already written of a record, byte for byte as this tool would write it again: its JSON
/// members (from its journal line, or the copy in the [`spool::RowSpool`]) and its CSV rows (from the
/// spool, filled during the sweep). Each is `None` when not available (a resumed run, a record the host-level pass added
/// findings to): the sink then renders it from the record.
#[derive(Debug, Default, Clone, Copy)]
pub struct Raw<'a> {
    /// The record's JSON object members, closing brace included (without the opening brace).
    pub fields: Option<&'a [u8]>,
    /// Its `endpoints.csv` row (empty when it is not listed).
    pub endpoint_row: Option<&'a [u8]>,
    /// Its `findings.csv` rows.
    pub finding_rows: Option<&'a [u8]>,
}

/// A final report, fed the records once, in (address, port) order, by [`finalize_index`], on the
/// thread of its lane (see [`index::JournalIndex::for_each_in`]): sinks own their state and are `Send`.
pub trait Sink {
    /// One endpoint, host-level findings merged in.
    ///
    /// # Errors
    /// When the report cannot be written.
    fn endpoint(&mut self, r: &EndpointRecord) -> Result<(), ReportError>;

    /// One endpoint, with what is already written of it ([`Raw`]): sinks that would write the same bytes
    /// again copy them instead.
    ///
    /// # Errors
    /// When the report cannot be written.
    fn endpoint_with(&mut self, r: &EndpointRecord, raw: &Raw<'_>) -> Result<(), ReportError> {
        let _ = raw;
        self.endpoint(r)
    }

    /// No more endpoints: completes the file; returns its name in the run directory and its SHA-256 (for
    /// `SHA256SUMS`), or `None` for a file outside the run directory.
    ///
    /// # Errors
    /// When the report cannot be written.
    fn finish(self: Box<Self>) -> Result<Option<(String, String)>, ReportError>;
}

/// The run's choices the reports depend on.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// The run directory.
    pub dir: &'a Path,
    /// Keep closed, filtered and unreachable endpoints in `report.json` and `endpoints.csv`.
    pub include_closed: bool,
    /// `--prometheus FILE`.
    pub prometheus: Option<&'a Path>,
    /// Keep the run directory's reports. False with `--no-output`: `dir` is a scratch directory, and
    /// only `report.json` (for `--format json`), `--prometheus` and the terminal text are made.
    pub run_files: bool,
}

/// Writes every final report of a run from its journal index, in one pass over the records:
/// `report.json`, `endpoints.csv`, `findings.csv`, `summary.txt`, `summary.md`, `report.html`, the
/// Prometheus file when asked; then `SHA256SUMS` from the hashes taken while writing (nothing is read
/// back). Returns the terminal summary.
///
/// # Errors
/// When the journal cannot be read or a report cannot be written.
pub fn finalize_index(
    index: &index::JournalIndex,
    journal_sha256: &str,
    build: &Build<'_>,
) -> Result<summary::Rendered, ReportError> {
    finalize_index_after(index, journal_sha256, build, JournalSync::default())
}

/// [`finalize_index`] while the journal's sync runs: `SHA256SUMS`, which seals the run, is written once
/// the journal is on disk too.
///
/// # Errors
/// As [`finalize_index`], and when the journal's sync failed.
pub fn finalize_index_after(
    index: &index::JournalIndex,
    journal_sha256: &str,
    build: &Build<'_>,
    journal_sync: JournalSync,
) -> Result<summary::Rendered, ReportError> {
    let digest = &index.digest;
    let dir = build.dir;
    let phase = std::time::Instant::now();
    let mut summary = summary::SummarySink::new(digest, build.run_files.then_some(dir));
    // Three lanes, each on a thread of its own and fed every record: the two CSVs (the costliest to
    // render) apart, and the rest together.
    let mut endpoints: Vec<Box<dyn Sink + Send>> = Vec::new();
    let mut findings: Vec<Box<dyn Sink + Send>> = Vec::new();
    let mut rest: Vec<Box<dyn Sink + Send>> =
        vec![Box::new(json::ReportJson::new(&dir.join("report.json"), digest, build.include_closed)?)];
    if build.run_files {
        endpoints.push(Box::new(csv::EndpointsCsv::new(&dir.join("endpoints.csv"), build.include_closed)?));
        findings.push(Box::new(csv::FindingsCsv::new(&dir.join("findings.csv"))?));
        rest.push(Box::new(html::MarkdownSink::new(&dir.join("summary.md"), digest)));
        rest.push(Box::new(html::HtmlSink::new(&dir.join("report.html"), digest, journal_sha256)));
    }
    if let Some(p) = build.prometheus {
        rest.push(Box::new(prometheus::PrometheusSink::new(p, digest)?));
    }
    {
        let (summary, others) = (&mut summary, &mut rest);
        let mut lanes: Vec<index::Lane<'_, ReportError>> = vec![Box::new(move |r, raw| {
            summary.endpoint(r);
            feed(others, r, raw)
        })];
        for sinks in [&mut endpoints, &mut findings].into_iter().filter(|s| !s.is_empty()) {
            lanes.push(Box::new(move |r, raw| feed(sinks, r, raw)));
        }
        index.for_each_in(lanes)?;
    }
    tracing::debug!(ms = phase.elapsed().as_millis(), "records rendered");
    let mut sums: HashMap<String, String> = HashMap::new();
    sums.insert(JOURNAL.to_string(), journal_sha256.to_string());
    for finished in finish_all(rest.into_iter().chain(endpoints).chain(findings)) {
        if let Some((name, sha)) = finished? {
            sums.insert(name, sha);
        }
    }
    tracing::debug!(ms = phase.elapsed().as_millis(), "reports synced");
    let (sum, rendered) = summary.finish()?;
    journal_sync.wait()?;
    tracing::debug!(ms = phase.elapsed().as_millis(), "journal synced");
    if !build.run_files {
        return Ok(rendered);
    }
    sums.extend(sum);
    let mut lines = String::new();
    for name in REPORT_FILES {
        if let Some(sha) = sums.get(name) {
            lines.push_str(&format!("{sha}  {name}\n"));
        }
    }
    write_atomic(&dir.join("SHA256SUMS"), |out| out.write_all(lines.as_bytes()))?;
    Ok(rendered)
}

/// Finishes every sink at once, each on a thread of its own: most of it is syncing hundreds of MB to
/// disk, which the device does better side by side than one file after the other. A thread that cannot
/// be started is an error, as in the pass (its sink's temporary file is removed when it is dropped).
fn finish_all(sinks: impl Iterator<Item = Box<dyn Sink + Send>>) -> Vec<Result<Option<(String, String)>, ReportError>> {
    std::thread::scope(|scope| {
        let started: Vec<_> = sinks
            .map(|sink| {
                std::thread::Builder::new().name("report-finish".into()).spawn_scoped(scope, move || sink.finish())
            })
            .collect();
        started
            .into_iter()
            .map(|s| match s {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(e) => Err(io_err(Path::new("report thread"))(e)),
            })
            .collect()
    })
}

/// One record to every sink of a lane.
fn feed(sinks: &mut [Box<dyn Sink + Send>], r: &EndpointRecord, raw: &Raw<'_>) -> Result<(), ReportError> {
    sinks.iter_mut().try_for_each(|s| s.endpoint_with(r, raw))
}

/// Reads a run's journal once and writes every report (`--resume` of a finished run, `merge`).
///
/// # Errors
/// When the journal cannot be read or a report cannot be written.
pub fn finalize(build: &Build<'_>) -> Result<(JournalDigest, summary::Rendered), ReportError> {
    let phase = std::time::Instant::now();
    let (index, sha) = index::JournalIndex::read_hashed(&build.dir.join(JOURNAL))?;
    tracing::debug!(records = index.len(), ms = phase.elapsed().as_millis(), "journal indexed");
    let rendered = finalize_index(&index, &sha, build)?;
    tracing::debug!(ms = phase.elapsed().as_millis(), "reports written");
    Ok((index.digest, rendered))
}

/// SHA-256 (hex) of a file, streamed: a journal is never read into memory whole.
///
/// # Errors
/// When the file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String, ReportError> {
    use std::io::Read;
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => ctx.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    Ok(crate::cert::hex(ctx.finish().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_dropped_and_a_corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL);
        let good = r#"{"type":"progress","next_position":3,"counts":{"scanned":3,"open":0,"closed":3,"filtered":0,"unreachable":0,"redis":0,"plaintext_redis":0,"tls":0}}"#;
        fs::write(&path, format!("{good}\n{good}\n{{\"type\":\"endp")).unwrap();
        let mut n = 0;
        read_journal(&path, |_| n += 1).unwrap();
        assert_eq!(n, 2, "the torn tail is ignored");
        fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let err = read_journal(&path, |_| {}).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn atomic_writes_leave_the_target_untouched_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").unwrap();
        let r = write_atomic(&path, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left behind");
    }
}
