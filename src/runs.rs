//! Run directories under a parent directory, for scheduled jobs that have no shell: the shards of one
//! sweep (instead of a `shard-*` glob), the newest sweep to merge, and the two newest runs to compare
//! (instead of `date -d yesterday`). "Newest" is the greatest directory name: the default
//! `reports/<UTC time>` names and a CronJob's Job names (`NAME-<minutes since the epoch>`) sort by time.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory `merge --run` writes into, inside the run directory.
pub const MERGED: &str = "merged";

/// Why no run directory could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsError(pub String);

impl fmt::Display for RunsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunsError {}

/// Subdirectories of `dir`, sorted by name (`None`: `dir` cannot be read).
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, RunsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RunsError(format!("{}: cannot read: {e}", dir.display())))?;
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok().map(|n| (n, e.path())))
        .collect();
    out.sort();
    Ok(out)
}

/// The `shard-<I>` directories of a run, ordered by I.
///
/// # Errors
/// When `run` cannot be read or holds no shard directory.
pub fn shards_of(run: &Path) -> Result<Vec<PathBuf>, RunsError> {
    let mut shards: Vec<(u64, PathBuf)> = subdirs(run)?
        .into_iter()
        .filter_map(|(name, path)| name.strip_prefix("shard-").and_then(|i| i.parse().ok()).map(|i| (i, path)))
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Err(RunsError(format!("{}: no shard-<I> directory", run.display())));
    }
    Ok(shards.into_iter().map(|(_, p)| p).collect())
}

/// The newest run directory under `parent` that holds at least one shard directory.
///
/// # Errors
/// When `parent` cannot be read or holds no such run.
pub fn latest_sweep(parent: &Path) -> Result<PathBuf, RunsError> {
    subdirs(parent)?
        .into_iter()
        .rev()
        .map(|(_, p)| p)
        .find(|p| shards_of(p).is_ok())
        .ok_or_else(|| RunsError(format!("{}: no run directory with a shard-<I> directory", parent.display())))
}

/// One run directory and its finished report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The run directory (a child of the parent directory).
    pub run: PathBuf,
    /// `RUN/report.json`, or `RUN/merged/report.json` for a sharded sweep.
    pub report: PathBuf,
}

/// The runs under `parent` that have a finished report, oldest first. Runs without one (still running,
/// merge failed) are left out.
///
/// # Errors
/// When `parent` cannot be read.
pub fn latest_reports(parent: &Path) -> Result<Vec<RunReport>, RunsError> {
    Ok(subdirs(parent)?
        .into_iter()
        .filter_map(|(_, run)| {
            [run.join("report.json"), run.join(MERGED).join("report.json")]
                .into_iter()
                .find(|r| r.is_file())
                .map(|report| RunReport { run, report })
        })
        .collect())
}

/// Writes `bytes` to `path` through a temporary file and a rename: a reader (or a retried job) sees the
/// old file or the new one, never half of one.
///
/// # Errors
/// When the directory cannot be written.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_run_by_name_and_shards_by_index() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path();
        for d in ["job-29000000/shard-0", "job-29000000/shard-1", "job-29001440/shard-10", "job-29001440/shard-9"] {
            std::fs::create_dir_all(p.join(d)).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::create_dir_all(p.join("job-29002880/merged")).unwrap_or_else(|e| panic!("{e}"));
        let latest = latest_sweep(p).unwrap_or_else(|e| panic!("{e}"));
        assert!(latest.ends_with("job-29001440"));
        let shards = shards_of(&latest).unwrap_or_else(|e| panic!("{e}"));
        assert!(shards.first().is_some_and(|s| s.ends_with("shard-9")));
        assert!(latest_reports(p).unwrap_or_else(|e| panic!("{e}")).is_empty());
        std::fs::write(p.join("job-29000000/merged.json"), "x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(p.join("job-29000000/merged")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("job-29000000/merged/report.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("job-29000000/merged/scan.jsonl"), "{}").unwrap_or_else(|e| panic!("{e}"));
        let reports = latest_reports(p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reports.len(), 1);
        assert!(reports.first().is_some_and(|r| r.run.ends_with("job-29000000")));
        assert!(shards_of(&p.join("job-29002880")).is_err());
    }
}
