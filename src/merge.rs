//! `merge DIR... -o OUT`: the shards of one sweep (`--shard I/N`, one seed) into one run directory.
//!
//! Checks that the shards belong together (same tool version and schema, same seed, same N, every index
//! once, the same scan definition: plan digest, ports, options), locks them and its output, concatenates
//! their endpoints (no endpoint twice), keeps their cluster-bus findings (each shard saw every port it
//! needed for those) and recomputes `mixed_mode` over the whole, since one host's plaintext and TLS
//! ports can land in different shards. Then writes every report as a scan would.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::model::{
    Counts, EndMark, FileProof, FindingId, HostFindingLine, JournalLine, JournaledEndpoint, SCHEMA_READ,
    SCHEMA_VERSION, ScanMeta,
};
use crate::permute::Shard;
use crate::report::index::JournalIndex;
use crate::report::{self, JOURNAL, Journal, JournalDigest, ReportError, read_journal};

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard directory is unusable or inconsistent with the others.
    #[error("{path}: {reason}")]
    Shard {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The set of shards is incomplete or inconsistent.
    #[error("{0}")]
    Set(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

struct ShardRun {
    dir: PathBuf,
    meta: ScanMeta,
    shard: Shard,
    end: EndMark,
}

fn read_shard(dir: &Path) -> Result<ShardRun, MergeError> {
    let bad = |reason: String| MergeError::Shard { path: dir.to_path_buf(), reason };
    let journal = dir.join(JOURNAL);
    if !journal.is_file() {
        return Err(bad("no scan.jsonl: not a run directory".into()));
    }
    let mut meta = None;
    let mut end = None;
    read_journal(&journal, |line| match line {
        JournalLine::Scan(m) => meta = Some(*m),
        JournalLine::End(e) => end = Some(e),
        _ => {}
    })?;
    let meta = meta.ok_or_else(|| bad("no scan metadata line".into()))?;
    if !SCHEMA_READ.contains(&meta.schema_version.as_str()) {
        return Err(bad(format!("schema {} (this tool reads {})", meta.schema_version, SCHEMA_READ.join(", "))));
    }
    let shard = meta
        .shard
        .as_deref()
        .ok_or_else(|| bad("not a shard (scanned without --shard)".into()))
        .and_then(|s| Shard::parse(s).map_err(bad))?;
    let end = end.ok_or_else(|| bad("the shard has not finished (no end line): resume it first".into()))?;
    Ok(ShardRun { dir: dir.to_path_buf(), meta, shard, end })
}

/// Merges shard directories into `out`.
///
/// # Errors
/// When the shards do not form one complete sweep, or files cannot be read or written.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    prometheus: Option<&Path>,
) -> Result<(JournalDigest, report::summary::Rendered), MergeError> {
    // Every output path is checked before anything is written.
    if let Some(p) = prometheus {
        report::prometheus::check(p)?;
    }
    let mut runs: Vec<ShardRun> = dirs.iter().map(|d| read_shard(d)).collect::<Result<_, _>>()?;
    runs.sort_by_key(|r| r.shard.index);
    let first = runs.first().ok_or_else(|| MergeError::Set("no shard directory given".into()))?;
    let count = first.shard.count;
    let reference = definition(&first.meta);
    for r in &runs {
        let bad = |reason: String| MergeError::Shard { path: r.dir.clone(), reason };
        if r.shard.count != count {
            return Err(bad(format!("shard {}/{}: the first shard is one of {count}", r.shard.index, r.shard.count)));
        }
        let differing = definition(&r.meta).into_iter().zip(&reference).find(|((_, a), (_, b))| a != b);
        if let Some(((field, mine), (_, theirs))) = differing {
            return Err(bad(format!(
                "{field} differs from {}'s ({} here, {} there): not a shard of the same sweep",
                first.dir.display(),
                clip(&mine.to_string()),
                clip(&theirs.to_string())
            )));
        }
    }
    let indices: BTreeSet<u64> = runs.iter().map(|r| r.shard.index).collect();
    if indices.len() != runs.len() {
        return Err(MergeError::Set("the same shard index appears twice".into()));
    }
    let missing: Vec<String> = (0..count).filter(|i| !indices.contains(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(MergeError::Set(format!("shard(s) {} missing", missing.join(", "))));
    }
    // No shard may change under the merge (a `--resume` of it holds its lock).
    let _shard_locks = runs.iter().map(|r| report::rundir::lock(&r.dir)).collect::<Result<Vec<_>, _>>()?;

    let mut meta = first.meta.clone();
    meta.shard = None;
    // The merged journal is written in this tool's schema, whatever the shards' (1.0 reads as 2.0).
    meta.schema_version = SCHEMA_VERSION.into();
    meta.started_at = runs.iter().map(|r| r.meta.started_at.clone()).min().unwrap_or_default();
    meta.endpoints_planned = runs.iter().map(|r| r.meta.endpoints_planned).sum();
    meta.merged_from = runs
        .iter()
        .map(|r| {
            let path = r.dir.join(JOURNAL);
            let sha = report::sha256_file(&path).unwrap_or_default();
            FileProof { path: path.display().to_string(), sha256: sha }
        })
        .collect();
    // Held until every report is written; a re-run into its own earlier output replaces it.
    let _lock = report::rundir::claim_merge(out)?;
    let mut journal = Journal::create(out, &meta)?;
    let mut seen: BTreeSet<(IpAddr, u16)> = BTreeSet::new();
    let mut bus: Vec<HostFindingLine> = Vec::new();
    let mut counts = Counts::default();
    let mut write_error = None;
    for r in &runs {
        counts.merge(&r.end.counts);
        read_journal(&r.dir.join(JOURNAL), |line| match line {
            JournalLine::Endpoint(e) if seen.insert((e.record.address, e.record.port)) && write_error.is_none() => {
                let line = JournaledEndpoint { position: None, record: e.record };
                if let Err(err) = journal.append(&JournalLine::Endpoint(Box::new(line))) {
                    write_error = Some(err);
                }
            }
            JournalLine::HostFinding(h) if h.finding.id == FindingId::ClusterBusPlaintext => bus.push(h),
            _ => {}
        })?;
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    // One read for the index (mixed mode across shards, the summary), one for the reports.
    let mut index = JournalIndex::read(&out.join(JOURNAL))?;
    journal.continue_hash(index.hash.clone());
    let hosts: Vec<HostFindingLine> = bus.into_iter().chain(crate::hosts::mixed_mode(&index)).collect();
    for h in &hosts {
        journal.append(&JournalLine::HostFinding(h.clone()))?;
    }
    index.add_host_findings(&hosts);
    let finished_at = runs.iter().map(|r| r.end.finished_at.clone()).max().unwrap_or_default();
    let interrupted = runs.iter().any(|r| r.end.interrupted);
    let end = EndMark { finished_at, counts, interrupted };
    index.set_end(&end);
    let sha = journal.close(end)?.unwrap_or_default();
    let include_closed = crate::setup::resume::include_closed(&first.meta);
    let build = report::Build { dir: out, include_closed, prometheus, run_files: true };
    let rendered = report::finalize_index(&index, &sha, &build)?;
    Ok((index.digest, rendered))
}

/// The scan definition shards of one sweep share, field by field (named as in `report.json`). Journals
/// without a plan digest (written before it existed) compare their targets and exclusions as given.
fn definition(m: &ScanMeta) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let plan = match &m.plan_digest {
        Some(d) => ("plan_digest", json!(d)),
        None => ("targets", json!([m.targets, m.exclusions])),
    };
    let ca_files: Vec<&str> = m.trust.ca_files.iter().map(|f| f.sha256.as_str()).collect();
    vec![
        ("version", json!(m.version)),
        ("schema_version", json!(m.schema_version)),
        ("seed", json!(m.seed)),
        // The specific fields first, so that the message names the most telling difference.
        ("ports", json!(m.ports)),
        ("reserved_excluded", json!(m.reserved_excluded)),
        plan,
        ("cipher_scan", json!(m.cipher_scan)),
        ("trust.roots", json!(m.trust.roots)),
        ("trust.ca_files", json!(ca_files)),
        ("trust.anchors", json!(m.trust.anchors)),
        ("timeouts_ms", json!(m.timeouts_ms)),
        ("sni", json!(m.sni)),
        ("client_certificate", json!(m.client_certificate.as_ref().map(|c| &c.sha256))),
        ("warn_days", json!(m.warn_days)),
        ("--include-closed", json!(m.command_line.iter().any(|a| a == "--include-closed"))),
    ]
}

fn clip(s: &str) -> String {
    crate::text::sanitize(s, 80)
}
