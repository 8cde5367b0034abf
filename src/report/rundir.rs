//! The run directory as a resource: claimed before the first packet, locked for the whole run, and only
//! ever written through exclusive temporary files.
//!
//! A scan, a `--resume` and a `merge` each hold an advisory lock (`flock`) on the directory itself until
//! they end, so a second writer gets a clear error instead of interleaving its journal lines. A fresh
//! scan refuses a directory holding anything (a finished or interrupted run: `--resume`; foreign files:
//! another directory); `merge` replaces only its own earlier output. Nothing here follows a symlink.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{JOURNAL, REPORT_FILES, ReportError};
use crate::model::JournalLine;

/// An exclusive advisory lock on a run directory, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    _dir: File,
    path: PathBuf,
    created: bool,
}

impl RunLock {
    /// Gives the directory back after a start that failed (its journal could not be written): removed
    /// when this run created it and it is still empty, so a failed start leaves nothing.
    pub fn abandon(self) {
        if self.created {
            let _ = fs::remove_dir(&self.path);
        }
    }
}

fn refused(path: &Path, reason: impl Into<String>) -> ReportError {
    ReportError::Refused { path: path.to_path_buf(), reason: reason.into() }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

/// Locks an existing directory, without waiting.
///
/// # Errors
/// When it cannot be opened, or another run holds the lock.
pub fn lock(dir: &Path) -> Result<RunLock, ReportError> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refused(dir, "is a symbolic link: give the run directory itself"));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .map_err(io_error(dir))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(RunLock { _dir: file, path: dir.to_path_buf(), created: false }),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            Err(refused(dir, "another redis-tls-scan run is using this directory (it is locked); wait for it to end"))
        }
        Err(e) => Err(io_error(dir)(e.into())),
    }
}

/// What a directory holds, as far as claiming it goes.
enum Contents {
    Missing,
    Empty,
    /// A journal of this tool; `merged` when `merge` wrote it.
    Run {
        merged: bool,
    },
    /// Only what a failed start leaves (see [`remove_failed_start`]): removed once the lock is held.
    FailedStart,
    Foreign,
}

fn contents(dir: &Path) -> Result<Contents, ReportError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::Missing),
        Err(e) => return Err(io_error(dir)(e)),
    };
    if !meta.is_dir() {
        return Err(refused(dir, "exists and is not a directory"));
    }
    let journal = dir.join(JOURNAL);
    let failed = match fs::symlink_metadata(&journal) {
        Ok(m) if m.is_file() && !failed_start(&journal) => {
            return Ok(Contents::Run { merged: merged_journal(&journal) });
        }
        Ok(m) if m.is_file() => true,
        Ok(_) => return Err(refused(&journal, "is not a regular file")),
        Err(_) => false,
    };
    // Nothing but the failed journal (and the directory's own entries) counts as empty.
    let others =
        fs::read_dir(dir).map_err(io_error(dir))?.filter(|e| !e.as_ref().is_ok_and(|e| e.file_name() == JOURNAL));
    Ok(match (others.count(), failed) {
        (0, false) => Contents::Empty,
        (0, true) => Contents::FailedStart,
        _ => Contents::Foreign,
    })
}

/// True for a journal that is what a start that failed before its metadata reached the disk leaves
/// (disk full, power loss): not one complete line, and empty, NUL bytes, or the start of this tool's
/// metadata line.
fn failed_start(journal: &Path) -> bool {
    const PREFIX: &[u8] = b"{\"type\":\"scan\"";
    fs::symlink_metadata(journal).is_ok_and(|m| m.is_file())
        && crate::input::read_capped(journal, 1 << 20).is_ok_and(|bytes| {
            !bytes.contains(&b'\n')
                && (crate::input::is_filler(&bytes) || bytes.starts_with(PREFIX) || PREFIX.starts_with(&bytes))
        })
}

/// Removes the journal of `dir` when it is what a failed start leaves: nothing of a run is in it, and
/// left there it would block both a re-run and `--resume`. Call it only with the directory's lock held
/// (a starting run's journal is empty for an instant). Returns whether it was removed.
///
/// # Errors
/// When it cannot be removed.
pub fn remove_failed_start(dir: &Path) -> Result<bool, ReportError> {
    let journal = dir.join(JOURNAL);
    let failed = failed_start(&journal);
    if failed {
        fs::remove_file(&journal).map_err(io_error(&journal))?;
    }
    Ok(failed)
}

/// True when the journal's first line is this tool's metadata of a `merge` output.
fn merged_journal(journal: &Path) -> bool {
    let Ok(file) = File::open(journal) else { return false };
    let mut lines = crate::input::BoundedLines::new(io::BufReader::new(file), crate::input::MAX_JOURNAL_LINE, u64::MAX);
    let mut buf = Vec::new();
    matches!(lines.next_line(&mut buf), Ok(Some(_)))
        && matches!(serde_json::from_slice(&buf), Ok(JournalLine::Scan(m)) if !m.merged_from.is_empty())
}

/// Looks (without creating or locking anything) whether `dir` can take a fresh scan, so that a
/// directory holding a run or foreign files is refused before setup goes on. [`claim_new`] decides.
///
/// # Errors
/// As [`claim_new`].
pub fn check_new(dir: &Path) -> Result<(), ReportError> {
    match contents(dir)? {
        Contents::Missing | Contents::Empty | Contents::FailedStart => Ok(()),
        Contents::Run { .. } => Err(refused(
            dir,
            format!(
                "already holds a run ({JOURNAL}): continue it with --resume {}, or choose another -o",
                dir.display()
            ),
        )),
        Contents::Foreign => {
            Err(refused(dir, "is not empty and is not a run of this tool: choose a new or empty -o directory"))
        }
    }
}

/// Claims the directory of a fresh scan: creates it, or accepts it empty, and locks it.
///
/// # Errors
/// When it already holds a run (continue that one with `--resume`) or anything else, or another run
/// holds it.
pub fn claim_new(dir: &Path) -> Result<RunLock, ReportError> {
    check_new(dir)?;
    let created = !dir.exists();
    if created {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let mut lock = lock(dir)?;
    lock.created = created;
    remove_failed_start(dir)?;
    // Another scan may have claimed it between the look and the lock.
    if dir.join(JOURNAL).exists() {
        return Err(refused(dir, format!("already holds a run ({JOURNAL}): continue it with --resume")));
    }
    Ok(lock)
}

/// Claims the directory of a fresh scan that was not given `-o`: `base` (`reports/<start time>`), or,
/// when another run took it first (two runs started in the same second), the first free of `base-02`
/// ... `base-99`. Each is created with one `mkdir`, which only one process can win, so two runs never
/// share a directory and neither is refused. The names sort in start order.
///
/// # Errors
/// When the directory cannot be created, or 99 runs started in the same second.
pub fn claim_default(base: &Path) -> Result<(PathBuf, RunLock), ReportError> {
    if let Some(parent) = base.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    for n in 1..=MAX_SAME_SECOND {
        let dir = if n == 1 { base.to_path_buf() } else { sibling(base, n) };
        match fs::create_dir(&dir) {
            Ok(()) => {
                let mut lock = lock(&dir)?;
                lock.created = true;
                return Ok((dir, lock));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(&dir)(e)),
        }
    }
    Err(refused(base, format!("and its {MAX_SAME_SECOND} siblings are taken: choose a directory with -o")))
}

/// Runs started in the same second that each get a default directory.
const MAX_SAME_SECOND: u32 = 99;

/// `base-NN`: the `n`-th run directory of the same second (two digits, so that names sort in order).
fn sibling(base: &Path, n: u32) -> PathBuf {
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(format!("-{n:02}"));
    base.with_file_name(name)
}

/// Claims the output directory of `merge`: new, empty, or an earlier `merge` output, whose files are
/// then removed so that the new merge replaces it whole.
///
/// # Errors
/// When it holds a scan run or foreign files, or another run holds it.
pub fn claim_merge(dir: &Path) -> Result<RunLock, ReportError> {
    match contents(dir)? {
        Contents::Missing => fs::create_dir_all(dir).map_err(io_error(dir))?,
        Contents::Empty | Contents::FailedStart | Contents::Run { merged: true } => {}
        Contents::Run { merged: false } => {
            return Err(refused(dir, "holds a scan run, not an earlier merge output: choose another -o directory"));
        }
        Contents::Foreign => {
            return Err(refused(dir, "is not empty and is not a merge output of this tool: choose a new or empty -o"));
        }
    }
    let lock = lock(dir)?;
    for name in REPORT_FILES.iter().copied().chain(["SHA256SUMS"]) {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_error(&path)(e)),
            _ => {}
        }
    }
    Ok(lock)
}

/// Creates a new temporary sibling of `path` exclusively: a random name, never an existing file, never
/// through a symlink.
///
/// # Errors
/// When it cannot be created.
pub fn create_temp(path: &Path) -> io::Result<(File, PathBuf)> {
    use ring::rand::SecureRandom;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let rng = ring::rand::SystemRandom::new();
    let mut last = io::Error::other("no temporary name available");
    for _ in 0..16 {
        let mut r = [0u8; 8];
        rng.fill(&mut r).map_err(|_| io::Error::other("no randomness for a temporary name"))?;
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", crate::cert::hex(&r)));
        match OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).mode(0o644).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Checks, before the first packet, that `path` can later be replaced atomically: not a directory, not
/// a foreign file (an existing non-empty file must start with `ours`), and its directory takes a new
/// file (one is created and removed).
///
/// # Errors
/// A reason naming the problem.
pub fn check_writable(path: &Path, ours: &[u8]) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Err("is a directory".into()),
        // An existing file is replaced only when it is empty or one of ours (it starts with `ours`).
        Ok(m) if m.len() > 0 => {
            let mut head = Vec::new();
            let read = File::open(path)
                .and_then(|f| io::Read::read_to_end(&mut io::Read::take(f, ours.len() as u64), &mut head));
            if read.is_err() || !head.starts_with(ours) {
                return Err("exists and was not written by this tool: not replaced".into());
            }
        }
        _ => {}
    }
    let parent = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err("the directory does not exist".into());
    }
    let (file, tmp) = create_temp(path).map_err(|e| format!("cannot write there: {e}"))?;
    drop(file);
    let _ = fs::remove_file(&tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_the_same_second_get_sibling_directories_in_start_order() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("reports").join("20261202T040700Z");
        // Each claim holds its lock, as a running scan does.
        let claims: Vec<(PathBuf, RunLock)> = (0..3).map(|_| claim_default(&base).unwrap()).collect();
        let names: Vec<String> =
            claims.iter().map(|(d, _)| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["20261202T040700Z", "20261202T040700Z-02", "20261202T040700Z-03"]);
        let next_second = root.path().join("reports").join("20261202T040701Z");
        let mut all: Vec<String> = names.clone();
        all.push("20261202T040701Z".into());
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, all, "names sort in start order");
        assert!(claims.iter().all(|(d, _)| d.is_dir()));
        // A directory taken by anything else (here a file) is skipped, never entered or refused.
        fs::write(&next_second, b"not ours").unwrap();
        let (dir, _lock) = claim_default(&next_second).unwrap();
        assert_eq!(dir.file_name().unwrap(), "20261202T040701Z-02");
        assert_eq!(fs::read(&next_second).unwrap(), b"not ours");
    }
}
