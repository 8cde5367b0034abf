//! From raw arguments to a validated [`Setup`]: targets parsed (every bad line reported), host names
//! resolved, the plan sized, trust anchors and client certificate loaded, limits clamped.
//!
//! Everything that can make a scan impossible fails here, before any packet is sent ([`SetupError`],
//! exit code 2). Warnings (a clamped concurrency, an unresolved host) are returned, not printed.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::cert::{TrustAnchors, sha256_hex};
use crate::cli::{Roots, ScanArgs};
use crate::endpoints::{Interval, Plan, Resolved};
use crate::finding::Rules;
use clap::Parser;

use crate::model::{FileProof, SCHEMA_VERSION, ScanMeta, Severity, Timeouts, TrustSource, Unresolved};
use crate::probe::tls::TlsSettings;
use crate::scan::ProbeContext;
use crate::targets::{self, TargetError, TargetKind, TargetSpec};

/// How long one host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest accepted timeout: beyond that an `Instant` deadline could overflow, and no probe needs it.
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// File descriptors kept free for the runtime, the journal and the reports.
const FD_RESERVE: u64 = 64;

/// A fatal setup error: nothing is scanned, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Bad target or exclusion lines (all of them).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Targets(Vec<TargetError>),
    /// Bad `-p` list.
    #[error("--ports: {0}")]
    Ports(String),
    /// No target given at all.
    #[error("no targets: give addresses, CIDRs or hostnames as arguments, -f FILE, or '-' for stdin")]
    NoTargets,
    /// Everything was excluded or unresolved.
    #[error("nothing to scan: every target was excluded or did not resolve")]
    NothingToScan,
    /// The plan exceeds `--max-endpoints`.
    #[error(
        "{count} endpoints planned, more than --max-endpoints {max}: narrow the targets, or raise --max-endpoints if you mean it"
    )]
    TooMany {
        /// Planned endpoints.
        count: u128,
        /// The limit.
        max: u64,
    },
    /// A file given on the command line is unusable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An invalid option value.
    #[error("{0}")]
    Invalid(String),
    /// The output directory or journal cannot be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// `--resume` of a scan whose sweep had finished (its reports are rebuilt from the journal).
    #[error("{}: the scan had finished", .0.dir.display())]
    Finished(Box<FinishedRun>),
}

/// A run whose sweep had finished when `--resume` was asked for: what rebuilding its reports needs, as
/// the original command line gave it, and the directory's lock.
#[derive(Debug)]
pub struct FinishedRun {
    /// The run directory (locked).
    pub dir: PathBuf,
    /// `--fail-on` of the original scan: the exit code is the uninterrupted run's.
    pub fail_on: Option<Severity>,
    /// `--prometheus` of the original scan, written too.
    pub prometheus: Option<PathBuf>,
    /// `--include-closed` of the original scan.
    pub include_closed: bool,
    /// Held until the reports are written.
    pub lock: crate::report::rundir::RunLock,
}

/// A validated scan, ready to run.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The endpoint space.
    pub plan: Arc<Plan>,
    /// Shared probe settings.
    pub ctx: Arc<ProbeContext>,
    /// Metadata for the journal and reports.
    pub meta: ScanMeta,
    /// Endpoints in flight at once.
    pub concurrency: usize,
    /// Run directory.
    pub output: PathBuf,
    /// Journal and report closed endpoints too.
    pub include_closed: bool,
    /// Exit 1 at or above this severity.
    pub fail_on: Option<Severity>,
    /// Show the progress bar (stderr is a terminal and not `-q`).
    pub progress: bool,
    /// Print the summary.
    pub quiet: bool,
    /// Non-fatal notices for the user.
    pub warnings: Vec<String>,
    /// Prometheus textfile to write.
    pub prometheus: Option<PathBuf>,
    /// Visiting order and shard.
    pub order: crate::scan::Order,
    /// `--resume`: where the interrupted run stopped.
    pub resume: Option<ResumeState>,
    /// The run directory's lock, when already taken (`--resume` takes it before reading the journal);
    /// otherwise [`crate::app::execute`] claims the directory before the first packet.
    pub lock: Option<Arc<crate::report::rundir::RunLock>>,
}

/// The state of an interrupted run, read back from its journal.
#[derive(Debug, Clone)]
pub struct ResumeState {
    /// Bytes of the journal kept (up to the last endpoint or progress line).
    pub keep_bytes: u64,
    /// Finished positions and counts.
    pub tracker: crate::app::Tracker,
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
    let mut last_progress: Option<crate::model::ProgressMark> = None;
    let mut done_after: Vec<(u64, crate::model::Counts)> = Vec::new();
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
                    done_after.push((p, crate::model::Counts::of(&e.record)));
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
    let cli = crate::cli::Cli::try_parse_from(&meta.command_line)
        .map_err(|e| bad(&format!("cannot replay the original command line: {e}")))?;
    let crate::cli::Command::Scan(mut args) = cli.command else { return Err(bad("not a scan journal")) };
    if args.resume.is_some() {
        return Err(bad("the recorded command line is itself a resume"));
    }
    if ended {
        if let Some(p) = &args.prometheus {
            crate::report::prometheus::check(p)?;
        }
        return Err(SetupError::Finished(Box::new(FinishedRun {
            dir: dir.to_path_buf(),
            fail_on: args.fail_on,
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
    let mut setup = build_setup(&args, meta.command_line.clone()).await?;
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
    let (next, prefix) = last_progress.map_or((0, crate::model::Counts::default()), |p| (p.next_position, p.counts));
    let pending: std::collections::BTreeMap<u64, crate::model::Counts> =
        done_after.into_iter().filter(|(p, _)| *p >= next).collect();
    setup.order.start = next;
    setup.order.skip = Arc::new(pending.keys().copied().collect());
    setup.meta = meta;
    setup.resume = Some(ResumeState { keep_bytes, tracker: crate::app::Tracker::resumed(next, prefix, pending) });
    setup.lock = Some(Arc::new(lock));
    Ok(setup)
}

/// The first 12 hex digits of a digest, for messages.
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Validates arguments, resolves names and loads files.
///
/// # Errors
/// Any [`SetupError`]; every bad target line is reported at once.
pub async fn build(args: &ScanArgs, command_line: Vec<String>) -> Result<Setup, SetupError> {
    // A fresh scan's `-o` must be new or empty: refused before any name is resolved.
    if let Some(dir) = &args.output {
        crate::report::rundir::check_new(dir)?;
    }
    build_setup(args, command_line).await
}

/// [`build`] without the look at the output directory (`--resume` continues an existing one).
async fn build_setup(args: &ScanArgs, command_line: Vec<String>) -> Result<Setup, SetupError> {
    let mut warnings = Vec::new();
    let ports = targets::parse_ports(&args.ports).map_err(SetupError::Ports)?;
    if args.concurrency == 0 {
        return Err(SetupError::Invalid("--concurrency must be at least 1".into()));
    }
    for (flag, d) in [
        ("--connect-timeout", args.connect_timeout),
        ("--read-timeout", args.read_timeout),
        ("--endpoint-timeout", args.endpoint_timeout),
    ] {
        if d.is_zero() || d > MAX_TIMEOUT {
            return Err(SetupError::Invalid(format!("{flag} must be more than 0 and at most 1 day")));
        }
    }

    let (specs, excl_specs) = read_targets(args)?;
    if specs.is_empty() {
        return Err(SetupError::NoTargets);
    }
    let mut exclusions = exclusion_intervals(&excl_specs)?;
    if !args.allow_reserved {
        exclusions.extend(targets::reserved().into_iter().map(|(first, last)| Interval::new(first, last)));
    }
    let (resolved, unresolved) = resolve(&specs).await;
    for u in &unresolved {
        warnings.push(format!("{}: '{}' did not resolve ({}); not scanned", u.origin, u.target, u.error));
    }
    let plan = Plan::build(&resolved, &ports, &exclusions);
    let shard = match &args.shard {
        Some(s) => crate::permute::Shard::parse(s).map_err(SetupError::Invalid)?,
        None => crate::permute::Shard::default(),
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let order = crate::scan::Order { seed, shard, ..Default::default() };
    let planned = shard.len(plan.len());
    if planned > u128::from(args.max_endpoints) {
        return Err(SetupError::TooMany { count: planned, max: args.max_endpoints });
    }
    if plan.is_empty() {
        return Err(SetupError::NothingToScan);
    }

    let (anchors, trust) = load_anchors(args.roots, &args.ca_file)?;
    if anchors.is_empty() {
        warnings.push("no trust anchors loaded: every certificate will be reported untrusted".into());
    }
    let (client, client_proof) = load_client(args.client_cert.as_deref(), args.client_key.as_deref())?;
    let tls = TlsSettings::new(client).map_err(|e| SetupError::File {
        path: args.client_key.clone().unwrap_or_default(),
        reason: format!("client key unusable: {e}"),
    })?;

    // Every output path is checked before the first packet, not found unwritable after a long sweep.
    if let Some(p) = &args.prometheus {
        crate::report::prometheus::check(p)?;
    }
    if let Some(sni) = &args.sni
        && rustls::pki_types::ServerName::try_from(sni.as_str()).is_err()
    {
        return Err(SetupError::Invalid(format!(
            "--sni: '{}' is not a DNS name or IP address",
            crate::text::sanitize(sni, 100)
        )));
    }
    let concurrency = clamp_concurrency(args.concurrency, &mut warnings);
    let started_at = crate::cert::rfc3339(crate::scan::unix_now());
    let output = args.output.clone().unwrap_or_else(|| default_output("", &started_at));
    let meta = ScanMeta {
        tool: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        schema_version: SCHEMA_VERSION.into(),
        started_at,
        finished_at: None,
        scanner_host: scanner_host(),
        command_line,
        targets: specs.iter().map(|s| format!("{} ({})", s.text, s.origin)).collect(),
        ports,
        exclusions: excl_specs.iter().map(|s| format!("{} ({})", s.text, s.origin)).collect(),
        unresolved,
        sni: args.sni.clone(),
        trust,
        client_certificate: client_proof,
        timeouts_ms: Timeouts {
            connect: millis(args.connect_timeout),
            read: millis(args.read_timeout),
            endpoint: millis(args.endpoint_timeout),
        },
        concurrency,
        rate: args.rate,
        host_concurrency: args.host_concurrency.max(1),
        cipher_scan: args.cipher_scan.as_str().into(),
        warn_days: args.warn_days,
        endpoints_planned: u64::try_from(planned).unwrap_or(u64::MAX),
        plan_digest: Some(plan.digest()),
        seed,
        shard: args.shard.as_ref().map(|_| format!("{}/{}", shard.index, shard.count)),
        reserved_excluded: !args.allow_reserved,
        merged_from: Vec::new(),
        counts: None,
        interrupted: false,
    };
    let ctx = ProbeContext {
        connect_timeout: args.connect_timeout,
        read_timeout: args.read_timeout,
        endpoint_timeout: args.endpoint_timeout,
        sni: args.sni.clone(),
        tls,
        anchors,
        rules: Rules { warn_days: args.warn_days },
        cipher_scan: args.cipher_scan,
        rate: crate::probe::RateLimiter::new(args.rate),
        host_concurrency: args.host_concurrency.max(1),
    };
    Ok(Setup {
        plan: Arc::new(plan),
        ctx: Arc::new(ctx),
        meta,
        concurrency,
        output,
        include_closed: args.include_closed,
        fail_on: args.fail_on,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        quiet: args.quiet,
        warnings,
        prometheus: args.prometheus.clone(),
        order,
        resume: None,
        lock: None,
    })
}

fn random_seed() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u64::from_le_bytes(b)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `reports/<prefix><UTC timestamp>` (colons left out: they are awkward in paths).
pub fn default_output(prefix: &str, started_at: &str) -> PathBuf {
    let stamp: String = started_at.chars().filter(|c| *c != ':' && *c != '-').collect();
    Path::new("reports").join(format!("{prefix}{stamp}"))
}

fn scanner_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Targets from arguments, files and stdin, and exclusions; every error collected.
fn read_targets(args: &ScanArgs) -> Result<(Vec<TargetSpec>, Vec<TargetSpec>), SetupError> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for (i, t) in args.targets.iter().enumerate() {
        if t == "-" {
            let (s, e) = targets::parse_lines("stdin", std::io::stdin().lock());
            specs.extend(s);
            errors.extend(e);
            continue;
        }
        match targets::parse_arg("argument", i + 1, t) {
            Ok(s) => specs.push(s),
            Err(e) => errors.push(e),
        }
    }
    for f in &args.targets_files {
        let (s, e) = targets::parse_file(f);
        specs.extend(s);
        errors.extend(e);
    }
    let mut excl = Vec::new();
    for (i, t) in args.exclude.iter().enumerate() {
        match targets::parse_arg("--exclude", i + 1, t) {
            Ok(s) => excl.push(s),
            Err(e) => errors.push(e),
        }
    }
    for f in &args.exclude_file {
        let (s, e) = targets::parse_file(f);
        excl.extend(s);
        errors.extend(e);
    }
    if errors.is_empty() { Ok((specs, excl)) } else { Err(SetupError::Targets(errors)) }
}

fn exclusion_intervals(specs: &[TargetSpec]) -> Result<Vec<Interval>, SetupError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match (&s.kind, s.port) {
            (TargetKind::Range { first, last }, None) => out.push(Interval::new(*first, *last)),
            (TargetKind::Range { .. }, Some(_)) => errors.push(TargetError {
                origin: s.origin.clone(),
                text: s.text.clone(),
                reason: "exclusions are addresses; a port cannot be excluded".into(),
            }),
            (TargetKind::Host(_), _) => errors.push(TargetError {
                origin: s.origin.clone(),
                text: s.text.clone(),
                reason: "exclusions must be IP addresses, CIDRs or ranges, not host names".into(),
            }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(SetupError::Targets(errors)) }
}

/// Resolves host-name targets (all addresses); failures become `Unresolved`, not errors.
async fn resolve(specs: &[TargetSpec]) -> (Vec<Resolved>, Vec<Unresolved>) {
    let mut resolved = Vec::new();
    let mut unresolved = Vec::new();
    for spec in specs {
        let TargetKind::Host(name) = &spec.kind else {
            resolved.push(Resolved::from_spec(spec));
            continue;
        };
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name.as_str(), 0))).await;
        let mut ips: Vec<IpAddr> = match lookup {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            Ok(Err(e)) => {
                unresolved.push(Unresolved {
                    target: name.clone(),
                    origin: spec.origin.to_string(),
                    error: e.to_string(),
                });
                continue;
            }
            Err(_) => {
                unresolved.push(Unresolved {
                    target: name.clone(),
                    origin: spec.origin.to_string(),
                    error: "timed out".into(),
                });
                continue;
            }
        };
        ips.sort();
        ips.dedup();
        resolved.push(Resolved {
            intervals: ips.into_iter().map(|ip| Interval::new(ip, ip)).collect(),
            port: spec.port,
            name: Some(name.clone()),
        });
    }
    (resolved, unresolved)
}

fn file_error(path: &Path, reason: impl Into<String>) -> SetupError {
    SetupError::File { path: path.to_path_buf(), reason: reason.into() }
}

fn read_file(path: &Path) -> Result<(Vec<u8>, FileProof), SetupError> {
    let bytes = crate::input::read_capped(path, crate::input::MAX_PEM_FILE).map_err(|e| match e {
        crate::input::InputError::Io(e) => file_error(path, format!("cannot read: {e}")),
        other => file_error(path, other.to_string()),
    })?;
    let sha = sha256_hex(&bytes);
    Ok((bytes, FileProof { path: path.display().to_string(), sha256: sha }))
}

/// Loads the trust anchors: built-in roots plus every `--ca-file`.
///
/// # Errors
/// When a CA file is unreadable or holds no usable certificate.
pub fn load_anchors(roots: Option<Roots>, ca_files: &[PathBuf]) -> Result<(TrustAnchors, TrustSource), SetupError> {
    // Like redis-cli --cacert: a private CA replaces the system store unless --roots says otherwise.
    let roots = roots.unwrap_or(if ca_files.is_empty() { Roots::System } else { Roots::None });
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Roots::Mozilla => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::None => {}
    }
    let mut proofs = Vec::new();
    for path in ca_files {
        let (bytes, proof) = read_file(path)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(file_error(path, "no certificate in file"));
        }
        for c in certs {
            store.add(c).map_err(|e| file_error(path, format!("unusable CA certificate: {e}")))?;
        }
        proofs.push(proof);
    }
    let source = TrustSource { roots: format!("{roots:?}").to_lowercase(), ca_files: proofs, anchors: store.len() };
    Ok((TrustAnchors::new(store), source))
}

type ClientMaterial = (Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, Option<FileProof>);

fn load_client(cert: Option<&Path>, key: Option<&Path>) -> Result<ClientMaterial, SetupError> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Ok((None, None));
    };
    let (cert_bytes, proof) = read_file(cert)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(cert, "no certificate in file"));
    }
    let (key_bytes, _) = read_file(key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| file_error(key, format!("no usable private key: {e}")))?;
    Ok((Some((chain, key_der)), Some(proof)))
}

/// Clamps concurrency to what the open-file limit allows (raising the soft limit first).
fn clamp_concurrency(wanted: usize, warnings: &mut Vec<String>) -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let usable = usize::try_from(limit.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX);
    if wanted > usable {
        warnings.push(format!(
            "--concurrency {wanted} exceeds the open-file limit ({limit}); using {usable} (raise it with ulimit -n)"
        ));
        usable
    } else {
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozilla_roots_are_built_in_and_a_ca_file_replaces_the_system_store() {
        let (anchors, source) = load_anchors(Some(Roots::Mozilla), &[]).unwrap();
        assert!(anchors.len() > 100, "{}", anchors.len());
        assert_eq!(source.roots, "mozilla");

        let dir = tempfile::tempdir().unwrap();
        let ca = crate::pki::Authority::new("cfg CA").unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &ca.pem).unwrap();
        let (anchors, source) = load_anchors(None, std::slice::from_ref(&path)).unwrap();
        assert_eq!((anchors.len(), source.roots.as_str()), (1, "none"));
        assert_eq!(source.ca_files[0].sha256.len(), 64);
    }

    #[test]
    fn bad_ca_files_are_setup_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for path in [empty, dir.path().join("missing.pem")] {
            let err = load_anchors(None, std::slice::from_ref(&path)).unwrap_err().to_string();
            assert!(err.starts_with(&path.display().to_string()), "{err}");
        }
    }

    #[test]
    fn default_output_is_a_timestamped_directory_under_reports() {
        assert_eq!(default_output("", "2026-11-22T12:00:00Z"), Path::new("reports/20261122T120000Z"));
        assert_eq!(default_output("demo-", "2026-11-22T12:00:00Z"), Path::new("reports/demo-20261122T120000Z"));
    }
}
