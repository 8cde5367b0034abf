//! `--resume DIR`: the interrupted run read back from its journal (the original command line replayed,
//! the finished positions and counts, the bytes to keep), and the setup that continues it; the
//! [`Tracker`] of finished positions every run keeps so that it can be resumed. The replay of
//! a recorded command line is also where a finished run's options (`--include-closed`, `--fail-on`,
//! `--prometheus`) are decided, for `--resume` and for `merge` alike.

use std::path::Path;
use std::sync::Arc;

use clap::Parser;

use super::{FinishedRun, Setup, SetupError, file_error};
use crate::cli::ScanArgs;
use crate::model::{Counts, ProgressMark, SCHEMA_VERSION, ScanMeta};

/// Which positions of the scan order are finished, and the exact counts of the finished prefix: the
/// state a `--resume` starts from.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    next: u64,
    prefix: Counts,
    pending: std::collections::BTreeMap<u64, Counts>,
}

impl Tracker {
    /// A tracker resuming at `next` with `prefix` counts and `pending` finished positions beyond it.
    pub fn resumed(next: u64, prefix: Counts, pending: std::collections::BTreeMap<u64, Counts>) -> Self {
        let mut t = Self { next, prefix, pending };
        t.advance();
        t
    }

    /// Position `p` finished with these counts.
    pub fn done(&mut self, p: u64, c: Counts) {
        self.pending.insert(p, c);
        self.advance();
    }

    fn advance(&mut self) {
        while let Some(c) = self.pending.remove(&self.next) {
            self.prefix.merge(&c);
            self.next += 1;
        }
    }

    /// The checkpoint line.
    pub fn mark(&self) -> ProgressMark {
        ProgressMark { next_position: self.next, counts: self.prefix.clone() }
    }

    /// Counts over everything finished, the gaps' far side included.
    pub fn total(&self) -> Counts {
        let mut t = self.prefix.clone();
        for c in self.pending.values() {
            t.merge(c);
        }
        t
    }
}

/// The state of an interrupted run, read back from its journal.
#[derive(Debug, Clone)]
pub struct ResumeState {
    /// Bytes of the journal kept (up to the last endpoint or progress line).
    pub keep_bytes: u64,
    /// Finished positions and counts.
    pub tracker: Tracker,
}

/// The scan flags of a recorded command line (a journal's `command_line`), parsed as they were then.
///
/// # Errors
/// Why the line does not replay as a scan.
pub fn replay(command_line: &[String]) -> Result<ScanArgs, String> {
    let cli = crate::cli::Cli::try_parse_from(command_line)
        .map_err(|e| format!("cannot replay the original command line: {e}"))?;
    match cli.command {
        crate::cli::Command::Scan(args) => Ok(*args),
        _ => Err("not a scan journal".into()),
    }
}

/// Whether the scan recorded in `meta` journaled and reports closed endpoints (`--include-closed`):
/// decided from its replayed command line, false when it does not replay.
pub fn include_closed(meta: &ScanMeta) -> bool {
    replay(&meta.command_line).is_ok_and(|a| a.include_closed)
}

/// Prepares `--resume DIR`: the original command line from the journal, the same seed and shard, the
/// finished positions skipped.
///
/// # Errors
/// When DIR does not hold an interrupted journal of this tool, or its targets no longer give the same
/// plan.
pub async fn resume(dir: &Path, quiet: bool) -> Result<Setup, SetupError> {
    use crate::model::JournalLine;
    // One writer per run directory: the lock is taken before the journal is read.
    let lock = crate::report::rundir::lock(dir)?;
    let journal = dir.join(crate::report::JOURNAL);
    let bad = |reason: &str| file_error(&journal, reason);
    match std::fs::symlink_metadata(&journal) {
        Err(e) => return Err(bad(&format!("cannot read: {e}"))),
        // Never through a symlink: a journal is a file this tool wrote.
        Ok(m) if !m.is_file() => return Err(bad("cannot read: not a regular file")),
        Ok(_) => {}
    }
    let mut meta = None;
    let mut problem = None;
    let mut last_progress: Option<ProgressMark> = None;
    let mut done_after: Vec<(u64, Counts)> = Vec::new();
    let mut keep_bytes = 0u64;
    let mut ended = false;
    let mut index = 0usize;
    // A torn last line, or a tail of NUL bytes (a power loss), is cut back: `keep_bytes` ends at the last
    // complete endpoint or progress line.
    crate::report::read_journal_lines(&journal, |line, info| {
        index += 1;
        if !info.terminated || problem.is_some() {
            return;
        }
        match line {
            JournalLine::Scan(m) if index == 1 => {
                meta = Some(*m);
                // Killed before the first checkpoint: keep at least the metadata line.
                keep_bytes = info.end_offset;
            }
            JournalLine::Scan(_) => problem = Some(format!("line {}: a second scan line", info.number)),
            _ if meta.is_none() => problem = Some(format!("line {}: not a journal line of this tool", info.number)),
            JournalLine::Endpoint(e) => {
                if let Some(p) = e.position {
                    done_after.push((p, Counts::of(&e.record)));
                }
                keep_bytes = info.end_offset;
            }
            JournalLine::Progress(p) => {
                last_progress = Some(p);
                keep_bytes = info.end_offset;
            }
            JournalLine::HostFinding(_) => {}
            JournalLine::End(e) => ended = !e.interrupted,
        }
    })
    .map_err(|e| match e {
        crate::report::ReportError::BadJournal { reason, .. } => {
            bad(&format!("{reason}: not a journal line of this tool"))
        }
        other => SetupError::Report(other),
    })?;
    if let Some(p) = problem {
        return Err(bad(&p));
    }
    // A start that failed before its metadata was on disk: nothing to resume, and the leftover goes so
    // that the same scan command can run (a retried pod that looks for the journal starts over).
    if meta.is_none() && crate::report::rundir::remove_failed_start(dir)? {
        return Err(bad(
            "holds no scan metadata: the scan never started (the empty journal was removed); run the scan again with the same -o",
        ));
    }
    let meta = meta.ok_or_else(|| bad("line 1: no scan metadata: not a journal line of this tool"))?;
    if meta.schema_version != SCHEMA_VERSION {
        return Err(bad(&format!("schema {} (this tool writes {SCHEMA_VERSION})", meta.schema_version)));
    }
    let mut args = replay(&meta.command_line).map_err(|e| bad(&e))?;
    if args.resume.is_some() {
        return Err(bad("the recorded command line is itself a resume"));
    }
    if ended {
        if let Some(p) = &args.prometheus {
            crate::report::prometheus::check(p)?;
        }
        return Err(SetupError::Finished(Box::new(FinishedRun {
            dir: dir.to_path_buf(),
            fail_on: args.fail_on.map(crate::model::Severity::from),
            prometheus: args.prometheus.clone(),
            include_closed: args.include_closed,
            lock,
        })));
    }
    if args.targets.iter().any(|t| t == "-") {
        return Err(bad("the targets came from stdin and cannot be replayed; rerun the scan from a targets file"));
    }
    args.output = Some(dir.to_path_buf());
    args.seed = Some(meta.seed);
    args.quiet = quiet;
    let mut setup = super::from_args(&args, meta.command_line.clone()).await?;
    // The same scan or none: the resolved plan (targets, exclusions, ports) must be the one recorded.
    // Journals written before the digest existed are compared by their endpoint count only.
    if let (Some(now), Some(then)) = (&setup.meta.plan_digest, &meta.plan_digest)
        && now != then
    {
        return Err(bad(&format!(
            "the targets, exclusions, ports or name resolution now give another plan (digest {}) than the \
             interrupted scan's ({}): resume needs the same targets; start a new scan with another -o",
            short(now),
            short(then)
        )));
    }
    if setup.meta.endpoints_planned != meta.endpoints_planned {
        return Err(bad(&format!(
            "the targets now give {} endpoints, the interrupted scan planned {}: resume needs the same targets",
            setup.meta.endpoints_planned, meta.endpoints_planned
        )));
    }
    let (next, prefix) = last_progress.map_or((0, Counts::default()), |p| (p.next_position, p.counts));
    let pending: std::collections::BTreeMap<u64, Counts> = done_after.into_iter().filter(|(p, _)| *p >= next).collect();
    setup.order.start = next;
    setup.order.skip = Arc::new(pending.keys().copied().collect());
    setup.meta = meta;
    setup.resume = Some(ResumeState { keep_bytes, tracker: Tracker::resumed(next, prefix, pending) });
    setup.lock = Some(Arc::new(lock));
    Ok(setup)
}

/// The first 12 hex digits of a digest, for messages.
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}
