//! Sinks: the journal written as results arrive, and the final reports derived from it.
//!
//! One writer owns the run directory. [`Journal`] appends one JSON line per finished endpoint and flushes
//! it, so a crash loses at most the endpoints in flight. [`finalize`] reads the journal back (tolerating
//! a torn last line) and writes `report.json`, `endpoints.csv`, `findings.csv`, `summary.txt` and
//! `SHA256SUMS`, each atomically (a randomly named temporary file created exclusively, then renamed).
//! [`rundir`] claims and locks the directory for the whole run. Sinks only read records; they never probe.

pub mod csv;
pub mod html;
pub mod prometheus;
pub mod rundir;
pub mod summary;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::model::{
    Counts, EndMark, EndpointRecord, Finding, JournalLine, Reachability, SCHEMA_VERSION, ScanMeta, Summary,
};

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

/// The append-only journal of a run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
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
        let mut j = Self { path: path.clone(), out: BufWriter::new(file) };
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
        Ok(Self { path, out: BufWriter::new(file) })
    }

    /// Appends one line and flushes it to the OS.
    ///
    /// # Errors
    /// On a write error.
    pub fn append(&mut self, line: &JournalLine) -> Result<(), ReportError> {
        let path = self.path.clone();
        serde_json::to_writer(&mut self.out, line).map_err(|e| io_err(&path)(e.into()))?;
        self.out.write_all(b"\n").map_err(io_err(&path))?;
        self.out.flush().map_err(io_err(&path))
    }

    /// Writes the closing line and syncs the file to disk.
    ///
    /// # Errors
    /// On a write error.
    pub fn close(mut self, end: EndMark) -> Result<(), ReportError> {
        self.append(&JournalLine::End(end))?;
        self.sync()
    }
}

/// Calls `f` for every journal line, in order. A line that does not parse is a write torn by a crash
/// when nothing but NUL bytes and blank lines follow it (a power loss leaves NULs); elsewhere it is an
/// error. Lines are capped at [`crate::input::MAX_JOURNAL_LINE`] bytes.
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
    use crate::input::{BoundedLines, MAX_JOURNAL_LINE, is_filler};
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path).map_err(io_err(path))?;
    let mut lines = BoundedLines::new(BufReader::new(file), MAX_JOURNAL_LINE, u64::MAX);
    let bad = |n: usize, reason: String| ReportError::BadJournal {
        path: path.to_path_buf(),
        reason: format!("line {n}: {reason}"),
    };
    let mut buf = Vec::new();
    let mut torn: Option<(usize, String)> = None;
    loop {
        let info = match lines.next_line(&mut buf) {
            Ok(Some(info)) => info,
            Ok(None) => break,
            Err(e) => return Err(bad(lines.line_number(), e.to_string())),
        };
        if is_filler(&buf) {
            continue;
        }
        if let Some((n, reason)) = torn.take() {
            return Err(bad(n, reason));
        }
        match serde_json::from_slice::<JournalLine>(&buf) {
            Ok(l) => f(l, info),
            Err(e) => torn = Some((info.number, e.to_string())),
        }
    }
    Ok(())
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
    /// Findings of the host-level pass, merged into their endpoints by [`for_each_endpoint`].
    pub hosts: HostFindings,
}

/// Reads the host-level findings of a journal.
///
/// # Errors
/// When the journal cannot be read.
pub fn host_findings(path: &Path) -> Result<HostFindings, ReportError> {
    let mut hosts = HostFindings::new();
    read_journal(path, |line| {
        if let JournalLine::HostFinding(h) = line {
            hosts.entry((h.address, h.port)).or_default().push(h.finding);
        }
    })?;
    Ok(hosts)
}

/// Calls `f` for every journaled endpoint, with its host-level findings merged in (most severe first).
///
/// # Errors
/// When the journal cannot be read.
pub fn for_each_endpoint(
    path: &Path,
    hosts: &HostFindings,
    mut f: impl FnMut(EndpointRecord),
) -> Result<(), ReportError> {
    read_journal(path, |line| {
        if let JournalLine::Endpoint(j) = line {
            let mut r = j.record;
            if let Some(extra) = hosts.get(&(r.address, r.port)) {
                r.findings.extend(extra.iter().cloned());
                r.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
            }
            f(r);
        }
    })
}

/// Reads a journal and computes its metadata and summary.
///
/// # Errors
/// When the journal cannot be read or has no metadata line.
pub fn digest(path: &Path) -> Result<JournalDigest, ReportError> {
    let mut meta: Option<ScanMeta> = None;
    let mut end: Option<EndMark> = None;
    let mut summary = Summary::default();
    let mut journaled = Counts::default();
    read_journal(path, |line| match line {
        JournalLine::Scan(m) => meta = Some(*m),
        JournalLine::End(e) => end = Some(e),
        JournalLine::Endpoint(_) | JournalLine::HostFinding(_) | JournalLine::Progress(_) => {}
    })?;
    let hosts = host_findings(path)?;
    for_each_endpoint(path, &hosts, |r| {
        journaled.add(&r);
        add_findings(&mut summary, &r);
    })?;
    let mut meta = meta
        .ok_or_else(|| ReportError::BadJournal { path: path.to_path_buf(), reason: "no scan metadata line".into() })?;
    if meta.schema_version != SCHEMA_VERSION {
        return Err(ReportError::BadJournal {
            path: path.to_path_buf(),
            reason: format!("schema {} (this tool writes {SCHEMA_VERSION})", meta.schema_version),
        });
    }
    // The end mark counts endpoints that were not journaled (closed, filtered); without it (a crash),
    // what the journal holds is all we know.
    let (counts, finished_at, interrupted) = match end {
        Some(e) => (e.counts, Some(e.finished_at), e.interrupted),
        None => (journaled, None, true),
    };
    meta.finished_at = finished_at;
    meta.interrupted = interrupted;
    meta.counts = Some(counts.clone());
    summary.counts = counts;
    Ok(JournalDigest { meta, summary, hosts })
}

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

/// Writes a file atomically: into a temporary sibling, synced, then renamed over the target.
///
/// # Errors
/// On any I/O error; the target is then untouched.
pub fn write_atomic(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> Result<(), ReportError> {
    // A fresh, randomly named file created exclusively: a planted `.report.json.tmp` symlink redirects
    // nothing.
    let (file, tmp) = rundir::create_temp(path).map_err(io_err(path))?;
    let result = (|| {
        let mut out = BufWriter::new(file);
        f(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// Writes every final report of a run directory from its journal.
///
/// `include_closed` keeps closed, filtered and unreachable endpoints in `report.json` and
/// `endpoints.csv` (they are journaled only when the scan ran with `--include-closed`).
///
/// # Errors
/// When the journal cannot be read or a report cannot be written.
pub fn finalize(dir: &Path, include_closed: bool) -> Result<JournalDigest, ReportError> {
    let journal = dir.join(JOURNAL);
    let digest = digest(&journal)?;
    let keep = |r: &EndpointRecord| include_closed || r.reachability == Reachability::Open;

    write_atomic(&dir.join("report.json"), |out| {
        out.write_all(b"{\"schema_version\":")?;
        serde_json::to_writer(&mut *out, SCHEMA_VERSION)?;
        out.write_all(b",\"scan\":")?;
        serde_json::to_writer(&mut *out, &digest.meta)?;
        out.write_all(b",\"endpoints\":[")?;
        let mut first = true;
        let mut err = None;
        for_each_endpoint(&journal, &digest.hosts, |r| {
            if err.is_none() && keep(&r) {
                let sep: &[u8] = if first { b"\n" } else { b",\n" };
                first = false;
                if let Err(e) = out.write_all(sep).and_then(|()| Ok(serde_json::to_writer(&mut *out, &r)?)) {
                    err = Some(e);
                }
            }
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
        if let Some(e) = err {
            return Err(e);
        }
        out.write_all(b"\n],\"summary\":")?;
        serde_json::to_writer(&mut *out, &digest.summary)?;
        out.write_all(b"}\n")
    })?;

    csv::write_endpoints(&dir.join("endpoints.csv"), &journal, &digest.hosts, keep)?;
    csv::write_findings(&dir.join("findings.csv"), &journal, &digest.hosts)?;
    let text = summary::render(&digest, &journal, dir)?;
    write_atomic(&dir.join("summary.txt"), |out| out.write_all(text.as_bytes()))?;
    let md = html::render_markdown(&digest, &journal)?;
    write_atomic(&dir.join("summary.md"), |out| out.write_all(md.as_bytes()))?;
    let journal_sha = sha256_file(&journal)?;
    let page = html::render_html(&digest, &journal, &journal_sha)?;
    write_atomic(&dir.join("report.html"), |out| out.write_all(page.as_bytes()))?;
    write_checksums(dir)?;
    Ok(digest)
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

/// `SHA256SUMS` over the run's files, in `sha256sum -c` format.
fn write_checksums(dir: &Path) -> Result<(), ReportError> {
    let mut lines = String::new();
    for name in REPORT_FILES {
        lines.push_str(&format!("{}  {name}\n", sha256_file(&dir.join(name))?));
    }
    write_atomic(&dir.join("SHA256SUMS"), |out| out.write_all(lines.as_bytes()))
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
