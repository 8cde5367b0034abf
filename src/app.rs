//! Runs a validated [`Setup`]: scheduler and the one writer, signal handling, final reports.
//!
//! The writer is the only owner of the run directory: it journals each record as it arrives, feeds the
//! progress bar, and once the scheduler is done (or interrupted by Ctrl-C / SIGTERM) closes the journal
//! and derives the reports from it.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use crate::config::{Setup, SetupError};
use crate::model::{Counts, EndMark, JournalLine, Reachability};
use crate::probe::Budget;
use crate::progress::Progress;
use crate::report::{self, Journal, JournalDigest};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Metadata and totals, as written to `report.json`.
    pub digest: JournalDigest,
    /// The run directory.
    pub dir: PathBuf,
    /// True when a signal stopped the scan early.
    pub interrupted: bool,
}

/// Exit codes (contract, design.md §2).
pub mod exit {
    /// Scan complete, no finding at or above `--fail-on`.
    pub const OK: u8 = 0;
    /// Scan complete with findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Usage or setup error.
    pub const SETUP: u8 = 2;
    /// Interrupted; the journal is flushed and the reports cover what was scanned.
    pub const INTERRUPTED: u8 = 130;
}

impl Outcome {
    /// The contract's exit code for this outcome.
    pub fn exit_code(&self, fail_on: Option<crate::model::Severity>) -> u8 {
        if self.interrupted {
            return exit::INTERRUPTED;
        }
        match (fail_on, self.digest.summary.max_severity) {
            (Some(threshold), Some(max)) if max >= threshold => exit::FINDINGS,
            _ => exit::OK,
        }
    }
}

/// Scans and writes the reports. `stop` ends the scan early when set to `true`.
///
/// # Errors
/// Only when the run directory cannot be written.
pub async fn execute(setup: Setup, stop: watch::Receiver<bool>, progress: &Progress) -> Result<Outcome, SetupError> {
    let mut journal = Journal::create(&setup.output, &setup.meta)?;
    let (tx, mut rx) = mpsc::channel(1024);
    let (abort_tx, abort_rx) = watch::channel(false);
    // The scheduler stops on the user's signal, or when the writer cannot write.
    let mut stop_fwd = stop.clone();
    let abort_for_stop = abort_tx.clone();
    let forward = tokio::spawn(async move {
        if stop_fwd.wait_for(|s| *s).await.is_ok() {
            let _ = abort_for_stop.send(true);
        }
    });
    let scan = tokio::spawn(crate::scan::run(
        setup.plan.clone(),
        setup.order,
        setup.ctx.clone(),
        setup.concurrency,
        tx,
        abort_rx,
    ));
    let mut counts = Counts::default();
    let mut write_error = None;
    while let Some(rec) = rx.recv().await {
        counts.add(&rec);
        progress.tick(counts.redis);
        if write_error.is_none()
            && (setup.include_closed || rec.reachability == Reachability::Open)
            && let Err(e) = journal.append(&JournalLine::Endpoint(Box::new(rec)))
        {
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
    let interrupted = !completed || *stop.borrow();
    if !interrupted {
        // The host-level pass: findings that need several endpoints of a host (mixed mode, cluster bus).
        let ctx = setup.ctx.clone();
        let budget = move || Budget::new(ctx.connect_timeout, ctx.read_timeout, ctx.endpoint_timeout, ctx.rate.clone());
        for line in crate::hosts::assess(&setup.output.join(report::JOURNAL), budget).await? {
            journal.append(&JournalLine::HostFinding(line))?;
        }
    }
    journal.close(EndMark { finished_at: crate::cert::rfc3339(crate::scan::unix_now()), counts, interrupted })?;
    let digest = report::finalize(&setup.output, setup.include_closed)?;
    if let Some(path) = &setup.prometheus {
        report::prometheus::write(path, &digest, &setup.output.join(report::JOURNAL))?;
    }
    Ok(Outcome { digest, dir: setup.output, interrupted })
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
        // A second signal means "now": the journal is flushed per record, so nothing finished is lost.
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
    rx
}
