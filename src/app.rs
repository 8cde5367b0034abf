//! Runs a validated [`Setup`]: scheduler and the one writer, signal handling, final reports.
//!
//! The writer is the only owner of the run directory (claimed and `flock`ed before the first packet, held
//! until the reports are written): it journals each record as it arrives, feeds the
//! progress bar, and once the scheduler is done (or interrupted by Ctrl-C / SIGTERM) closes the journal
//! and derives the reports from it.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use crate::config::{Setup, SetupError};
use crate::model::{Counts, EndMark, JournalLine, JournaledEndpoint};
use crate::progress::Progress;
use crate::report::index::JournalIndex;
use crate::report::stream::Stream;
use crate::report::{self, Journal, JournalDigest};
use crate::scan::Finished;

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Metadata and totals, as written to `report.json`.
    pub digest: JournalDigest,
    /// The summary for the terminal, rendered in the reports' pass.
    pub rendered: report::summary::Rendered,
    /// The run directory.
    pub dir: PathBuf,
    /// True when a signal stopped the scan early.
    pub interrupted: bool,
}

/// The progress of a run (finished positions, counts) lives with `--resume`, which reads it back.
pub use crate::setup::resume::Tracker;

/// How the process ends: the exit codes (contract, design.md §2), in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: complete, no finding at or above `--fail-on` (also: nothing worse, for `diff`).
    Ok,
    /// 1: complete with findings at or above `--fail-on` (for `diff`: the posture got worse).
    Findings,
    /// 2: usage or setup error, found before the first packet.
    Setup,
    /// 130: interrupted; the journal is flushed and the reports cover what was scanned.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Findings => 1,
            Self::Setup => 2,
            Self::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e.code())
    }
}

impl Outcome {
    /// The contract's exit code for this outcome.
    pub fn exit_code(&self, fail_on: Option<crate::model::Severity>) -> Exit {
        if self.interrupted {
            return Exit::Interrupted;
        }
        match (fail_on, self.digest.summary.max_severity) {
            (Some(threshold), Some(max)) if max >= threshold => Exit::Findings,
            _ => Exit::Ok,
        }
    }
}

/// Scans and writes the reports. `stop` ends the scan early when set to `true`.
///
/// # Errors
/// Only when the run directory cannot be written.
pub async fn execute(
    mut setup: Setup,
    stop: watch::Receiver<bool>,
    progress: &Progress,
) -> Result<Outcome, SetupError> {
    // The run directory is ours alone until the reports are written.
    let (_lock, mut journal, mut tracker) = match (&setup.resume, &setup.lock) {
        (Some(r), Some(lock)) => (lock.clone(), Journal::reopen(&setup.output, r.keep_bytes)?, r.tracker.clone()),
        (Some(_), None) => return Err(SetupError::Invalid("internal: a resume without its directory's lock".into())),
        (None, _) => {
            let lock = if setup.default_output {
                let (dir, lock) = report::rundir::claim_default(&setup.output)?;
                setup.output = dir;
                lock
            } else {
                report::rundir::claim_new(&setup.output)?
            };
            match Journal::create(&setup.output, &setup.meta) {
                Ok(journal) => (std::sync::Arc::new(lock), journal, Tracker::default()),
                Err(e) => {
                    // A full disk at start: nothing is left behind.
                    lock.abandon();
                    return Err(e.into());
                }
            }
        }
    };
    // Batches of up to 32 records or 512 dead endpoints (scan::Outbox): a few thousand records at most.
    let (tx, mut rx) = mpsc::channel(128);
    let (abort_tx, abort_rx) = watch::channel(false);
    // The scheduler stops on the user's signal, or when the writer cannot write.
    let mut stop_fwd = stop.clone();
    let abort_for_stop = abort_tx.clone();
    let forward = tokio::spawn(async move {
        if stop_fwd.wait_for(|s| *s).await.is_ok() {
            let _ = abort_for_stop.send(true);
        }
    });
    let scan = tokio::spawn(crate::scan::run(setup.sweep(), tx, abort_rx));
    // A fresh run indexes its journal as it writes it: the reports' pass then needs no first read.
    // Its CSV rows are rendered as the records pass, while they are in memory (see report::spool); a
    // resumed run, or one that keeps no CSV, renders them in the reports' pass.
    let mut live = setup.resume.is_none().then(|| {
        let mut b = report::index::Builder::new(&setup.output.join(report::JOURNAL));
        if setup.scratch.is_none() {
            match report::spool::RowSpool::create(&setup.output, setup.include_closed) {
                Ok(spool) => b = b.with_rows(spool),
                Err(e) => tracing::warn!("no row spool ({e}): the reports render every row after the sweep"),
            }
        }
        b.meta = Some(setup.meta.clone());
        b
    });
    if setup.resume.is_some() {
        report::spool::remove_stale(&setup.output);
    }
    let mut write_error = None;
    // `--format jsonl|json` on stdout, buffered: flushed once per batch like the journal.
    let mut stream = Stream::new(setup.format, std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()));
    // `--follow`: what the audits name, gathered as the records pass.
    let mut follow = setup.follow.as_ref().map(|s| crate::follow::Follow::new(s.clone(), setup.plan.clone()));
    let mut last_mark = std::time::Instant::now();
    let mut since_mark = 0u32;
    // Records are taken as they come, in batches of what is already waiting: one write and one flush per
    // batch (not per record), and the progress bar's totals once per batch.
    let mut batch = Vec::with_capacity(16);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 16 {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut result = Ok(());
        let mut ticks = 0u64;
        for finished in batch.drain(..) {
            match finished {
                Finished::Records(records) => {
                    for (position, rec) in records {
                        tracker.done(position, Counts::of(&rec));
                        progress.endpoint(&rec);
                        if let Some(f) = &mut follow {
                            f.note(&rec);
                        }
                        if result.is_ok() && write_error.is_none() && rec.is_listed(setup.include_closed) {
                            let line = JournalLine::Endpoint(Box::new(JournaledEndpoint {
                                position: Some(position),
                                record: *rec,
                            }));
                            result = journal.append_unflushed(&line).map(|(offset, _)| {
                                if let (Some(b), JournalLine::Endpoint(j)) = (&mut live, &line) {
                                    b.appended(&j.record, offset, journal.last_line());
                                }
                                stream.line(journal.last_line());
                            });
                        }
                        since_mark += 1;
                        ticks += 1;
                    }
                }
                Finished::Dead(dead) => {
                    for (position, reachability) in &dead {
                        tracker.done(*position, Counts::dead(*reachability));
                    }
                    since_mark += u32::try_from(dead.len()).unwrap_or(u32::MAX);
                    ticks += dead.len() as u64;
                }
            }
        }
        progress.tick(ticks, tracker.total().redis);
        if write_error.is_some() {
            continue;
        }
        result = result.and_then(|()| journal.flush());
        if stream.live() {
            stream.flush();
            // The reader went away (`| head`): the scan stops as on a signal, the journal stays resumable.
            if stream.closed() {
                let _ = abort_tx.send(true);
            }
        }
        // A checkpoint every second or 1000 endpoints: what --resume starts from after a crash.
        if result.is_ok() && (since_mark >= 1000 || last_mark.elapsed() >= std::time::Duration::from_secs(1)) {
            result = journal.append(&JournalLine::Progress(tracker.mark()));
            (since_mark, last_mark) = (0, std::time::Instant::now());
        }
        if let Err(e) = result {
            write_error = Some(e);
            let _ = abort_tx.send(true);
        }
    }
    let completed = scan.await.unwrap_or(false);
    forward.abort();
    progress.finish();
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let mut followed = (Counts::default(), true);
    if let Some(f) = follow.as_mut()
        && completed
        && !*stop.borrow()
    {
        followed = follow_topology(f, &setup, &mut journal, live.as_mut(), &mut stream, stop.clone()).await?;
    }
    journal.append(&JournalLine::Progress(tracker.mark()))?;
    let mut counts = tracker.total();
    followed.0.followed = followed.0.scanned;
    counts.merge(&followed.0);
    let mut interrupted = !completed || *stop.borrow() || stream.closed() || !followed.1;
    // The first of the two reads: metadata, summary and where each record is; its hash is continued by
    // what the writer appends, so the final file is never read again to be hashed.
    let phase = std::time::Instant::now();
    let mut index = match (live, journal.hash()) {
        (Some(b), Some(hash)) => b.build(hash)?,
        _ => {
            // A resumed run: the first of the two reads. Its hash is continued by what the writer appends,
            // so the final file is never read again to be hashed.
            let index = JournalIndex::read(&setup.output.join(report::JOURNAL))?;
            journal.continue_hash(index.hash.clone());
            index
        }
    };
    tracing::debug!(records = index.len(), ms = phase.elapsed().as_millis(), "journal indexed");
    if !interrupted {
        // The host-level pass: findings that need several endpoints of a host (mixed mode, cluster bus),
        // concurrent under the scan's limits and stopped by the same signals.
        let ctx = setup.ctx.clone();
        let pass = crate::hosts::assess(&index, move || ctx.budget(), setup.concurrency, stop.clone()).await;
        for line in &pass.lines {
            journal.append(&JournalLine::HostFinding(line.clone()))?;
            stream.line(journal.last_line());
        }
        index.add_host_findings(&pass.lines);
        interrupted = !pass.complete;
        tracing::debug!(findings = pass.lines.len(), ms = phase.elapsed().as_millis(), "host pass done");
    }
    let end = EndMark { finished_at: crate::cert::rfc3339(crate::scan::unix_now()), counts, interrupted };
    index.set_end(&end);
    let (sha, journal_sync) = journal.close_syncing(end)?;
    let sha = sha.unwrap_or_default();
    let build = report::Build {
        dir: &setup.output,
        include_closed: setup.include_closed,
        prometheus: setup.prometheus.as_deref(),
        run_files: setup.scratch.is_none(),
    };
    let rendered = report::finalize_index_after(&index, &sha, &build, journal_sync)?;
    tracing::debug!(ms = phase.elapsed().as_millis(), "reports written");
    stream.finish(&index.digest, &setup.output);
    if let Some(e) = stream.error() {
        progress.println(&format!("warning: stdout: {e}; nothing more was written there"));
    }
    Ok(Outcome { digest: index.digest, rendered, dir: setup.output, interrupted })
}

/// The `--follow` pass, after the sweep: the endpoints the audits named, journaled (without a position:
/// they are not in the plan) as they finish. Returns their counts and whether the pass ran to its end.
async fn follow_topology(
    f: &mut crate::follow::Follow,
    setup: &Setup,
    journal: &mut Journal,
    mut live: Option<&mut report::index::Builder>,
    stream: &mut Stream<impl std::io::Write>,
    stop: watch::Receiver<bool>,
) -> Result<(Counts, bool), SetupError> {
    let include_closed = setup.include_closed;
    let done = crate::follow::run(f, setup.ctx.clone(), setup.concurrency, stop, |rec| {
        if !rec.is_listed(include_closed) {
            return Ok(());
        }
        let line = JournalLine::Endpoint(Box::new(JournaledEndpoint { position: None, record: rec }));
        let (offset, _) = journal.append_unflushed(&line)?;
        if let (Some(b), JournalLine::Endpoint(j)) = (live.as_deref_mut(), &line) {
            b.appended(&j.record, offset, journal.last_line());
        }
        stream.line(journal.last_line());
        Ok::<(), report::ReportError>(())
    })
    .await?;
    journal.flush()?;
    stream.flush();
    tracing::info!(
        followed = done.0.scanned,
        out_of_scope = f.out_of_scope.len(),
        cut = f.cut,
        "--follow: topology followed; named endpoints outside the scope were not contacted"
    );
    Ok(done)
}

/// Rebuilds the reports of a run whose sweep had finished (a `--resume` after a kill while the reports
/// were being written), `--prometheus` included, under the run's lock.
///
/// # Errors
/// When the journal cannot be read or a report cannot be written.
pub fn rebuild(f: &crate::config::FinishedRun) -> Result<Outcome, SetupError> {
    let build = report::Build {
        dir: &f.dir,
        include_closed: f.include_closed,
        prometheus: f.prometheus.as_deref(),
        run_files: true,
    };
    report::spool::remove_stale(&f.dir);
    let (digest, rendered) = report::finalize(&build)?;
    Ok(Outcome { digest, rendered, dir: f.dir.clone(), interrupted: false })
}

/// A channel set to `true` on Ctrl-C or SIGTERM.
pub fn stop_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                () = terminated => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
        // A second signal means "now": the journal is flushed per batch; what was in flight is rescanned by --resume.
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
    rx
}
