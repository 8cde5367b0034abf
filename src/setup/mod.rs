//! Setup, the step between the command line and the scan: from raw arguments (or a replayed journal,
//! or the demo's endpoints) to a validated [`Setup`]. One module per job: [`resolve`] (targets,
//! exclusions, DNS), [`pem`] (trust anchors, client certificate), [`limits`] (timeouts, the open-file
//! budget), [`meta`] (host name, seed, output name), [`resume`] (an interrupted run read back); and one
//! constructor, [`Setup::assemble`], that every way of asking for a scan goes through.
//!
//! Everything that can make a scan impossible fails here, before any packet is sent ([`SetupError`],
//! exit code 2). Warnings (a clamped concurrency, an unresolved host) are returned, not printed.

pub mod creds;
pub mod limits;
pub mod meta;
pub mod pem;
pub mod resolve;
pub mod resume;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use self::limits::clamp_concurrency;
pub use self::meta::default_output;
pub use self::pem::load_anchors;
pub use self::resume::{ResumeState, resume};
use crate::cert::TrustAnchors;
use crate::cli::ScanArgs;
use crate::endpoints::{Interval, Plan};
use crate::finding::Rules;
use crate::model::{FileProof, SCHEMA_VERSION, ScanMeta, Severity, Timeouts, TrustSource, Unresolved};
use crate::probe::raw::CipherScan;
use crate::probe::tls::TlsSettings;
use crate::scan::{Order, ProbeContext, Sweep};
use crate::targets::{self, TargetError};

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
    /// `output` is the default name (`reports/<prefix><start time>`), not one the user gave: when
    /// another run took it first (two runs started in the same second), the scan takes the next free
    /// sibling (`-02`, `-03`...) instead of refusing.
    pub default_output: bool,
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
    pub order: Order,
    /// `--resume`: where the interrupted run stopped.
    pub resume: Option<ResumeState>,
    /// `--follow`: where the topology may be followed (`None`: it is not).
    pub follow: Option<Arc<crate::follow::FollowScope>>,
    /// The run directory's lock, when already taken (`--resume` takes it before reading the journal);
    /// otherwise [`crate::app::execute`] claims the directory before the first packet.
    pub lock: Option<Arc<crate::report::rundir::RunLock>>,
    /// What goes to stdout (set by the caller; `--format`).
    pub format: crate::report::stream::Format,
    /// `--no-output`: the run directory is this private temporary directory, removed when the last
    /// holder drops it (the journal is still the one place the reports are built from).
    pub scratch: Option<Arc<tempfile::TempDir>>,
}

/// What a scan is made of, however it was asked for (the scan flags, `--resume`, `demo`): turned into a
/// [`Setup`] by [`Setup::assemble`], the one place where the metadata, the probe context and the limits
/// are put together.
#[derive(Debug)]
pub struct Parts {
    /// The endpoint space.
    pub plan: Plan,
    /// Seed and shard of the visiting order.
    pub order: Order,
    /// `--shard` was given: the metadata records `I/N` of `order.shard`.
    pub sharded: bool,
    /// Timeout of one TCP connect.
    pub connect_timeout: Duration,
    /// Timeout of one read.
    pub read_timeout: Duration,
    /// Total time per endpoint.
    pub endpoint_timeout: Duration,
    /// `--sni`.
    pub sni: Option<String>,
    /// TLS client settings.
    pub tls: TlsSettings,
    /// Trust anchors and where they came from.
    pub anchors: (TrustAnchors, TrustSource),
    /// Proof of the client certificate file, if one is presented.
    pub client_certificate: Option<FileProof>,
    /// `--warn-days`.
    pub warn_days: i64,
    /// `--cipher-scan`.
    pub cipher_scan: CipherScan,
    /// `--rate` (0: unlimited).
    pub rate: u32,
    /// `--host-concurrency`.
    pub host_concurrency: usize,
    /// `--concurrency` as asked; clamped to the open-file budget here.
    pub concurrency: usize,
    /// `-o`, if given.
    pub output: Option<PathBuf>,
    /// Prefix of the default run directory's name (`demo-` for the demo).
    pub output_prefix: &'static str,
    /// `--include-closed`.
    pub include_closed: bool,
    /// `--fail-on`.
    pub fail_on: Option<Severity>,
    /// `-q`.
    pub quiet: bool,
    /// Show the progress bar (when stderr is a terminal and not quiet).
    pub progress: bool,
    /// `--prometheus`.
    pub prometheus: Option<PathBuf>,
    /// The command line, as recorded in the metadata.
    pub command_line: Vec<String>,
    /// Targets as recorded (`text (origin)`).
    pub targets: Vec<String>,
    /// `-p`.
    pub ports: Vec<u16>,
    /// Exclusions as recorded (`text (origin)`).
    pub exclusions: Vec<String>,
    /// Host names that did not resolve.
    pub unresolved: Vec<Unresolved>,
    /// Reserved ranges were cut out of the plan.
    pub reserved_excluded: bool,
    /// The scanning host's name as recorded.
    pub scanner_host: String,
    /// Notices gathered so far.
    pub warnings: Vec<String>,
    /// `--audit`: who to authenticate as (`None`: no audit).
    pub audit: Option<crate::probe::audit::creds::CredentialMap>,
    /// `--follow`: its scope.
    pub follow: Option<crate::follow::FollowScope>,
}

impl Setup {
    /// The one constructor: clamps the concurrency to the open-file budget (and builds the socket
    /// budget every probe shares), assembles the metadata and the probe context.
    ///
    /// # Errors
    /// When the open-file limit is too low for any scan.
    pub fn assemble(parts: Parts) -> Result<Self, SetupError> {
        let mut warnings = parts.warnings;
        let (concurrency, sockets) = clamp_concurrency(parts.concurrency, parts.cipher_scan, &mut warnings)?;
        let started_at = crate::cert::rfc3339(crate::scan::unix_now());
        let defaulted = parts.output.is_none();
        let output = parts.output.unwrap_or_else(|| default_output(parts.output_prefix, &started_at));
        let planned = parts.order.shard.len(parts.plan.len());
        let (anchors, trust) = parts.anchors;
        let shard = parts.order.shard;
        let meta = ScanMeta {
            tool: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            schema_version: SCHEMA_VERSION.into(),
            started_at,
            finished_at: None,
            scanner_host: parts.scanner_host,
            command_line: parts.command_line,
            targets: parts.targets,
            ports: parts.ports,
            exclusions: parts.exclusions,
            unresolved: parts.unresolved,
            sni: parts.sni.clone(),
            trust,
            client_certificate: parts.client_certificate,
            timeouts_ms: Timeouts {
                connect: meta::millis(parts.connect_timeout),
                read: meta::millis(parts.read_timeout),
                endpoint: meta::millis(parts.endpoint_timeout),
            },
            concurrency,
            rate: parts.rate,
            host_concurrency: parts.host_concurrency.max(1),
            cipher_scan: parts.cipher_scan.as_str().into(),
            warn_days: parts.warn_days,
            endpoints_planned: u64::try_from(planned).unwrap_or(u64::MAX),
            plan_digest: Some(parts.plan.digest()),
            seed: parts.order.seed,
            shard: parts.sharded.then(|| format!("{}/{}", shard.index, shard.count)),
            reserved_excluded: parts.reserved_excluded,
            merged_from: Vec::new(),
            counts: None,
            interrupted: false,
        };
        let audit =
            parts.audit.map(|creds| Arc::new(crate::probe::audit::AuditSettings::new(creds, &anchors, &parts.tls)));
        let ctx = ProbeContext {
            connect_timeout: parts.connect_timeout,
            read_timeout: parts.read_timeout,
            endpoint_timeout: parts.endpoint_timeout,
            sni: parts.sni,
            tls: parts.tls,
            anchors,
            rules: Rules::new(parts.warn_days),
            cipher_scan: parts.cipher_scan,
            rate: crate::probe::RateLimiter::new(parts.rate),
            host_concurrency: parts.host_concurrency.max(1),
            sockets: Some(sockets),
            audit,
        };
        Ok(Self {
            plan: Arc::new(parts.plan),
            ctx: Arc::new(ctx),
            meta,
            concurrency,
            output,
            default_output: defaulted,
            include_closed: parts.include_closed,
            fail_on: parts.fail_on,
            progress: parts.progress,
            quiet: parts.quiet,
            warnings,
            prometheus: parts.prometheus,
            order: parts.order,
            follow: parts.follow.map(Arc::new),
            resume: None,
            lock: None,
            format: crate::report::stream::Format::Text,
            scratch: None,
        })
    }

    /// The sweep this setup asks for, for [`crate::scan::run`].
    pub fn sweep(&self) -> Sweep {
        Sweep {
            plan: self.plan.clone(),
            order: self.order.clone(),
            ctx: self.ctx.clone(),
            concurrency: self.concurrency,
            include_closed: self.include_closed,
        }
    }
}

/// Validates arguments, resolves names and loads files.
///
/// # Errors
/// Any [`SetupError`]; every bad target line is reported at once.
pub async fn build(args: &ScanArgs, command_line: Vec<String>) -> Result<Setup, SetupError> {
    // A fresh scan's `-o` must be new or empty: refused before any name is resolved.
    if args.no_output() {
        // Created only now, after every check that needs no packet: a setup error leaves nothing behind.
        let mut setup = from_args(args, command_line).await?;
        let scratch = tempfile::Builder::new()
            .prefix("redis-tls-scan-")
            .tempdir()
            .map_err(|e| SetupError::Invalid(format!("--no-output: cannot create a temporary directory: {e}")))?;
        setup.output = scratch.path().join("run");
        setup.default_output = false;
        setup.scratch = Some(Arc::new(scratch));
        return Ok(setup);
    }
    if let Some(dir) = &args.output {
        crate::report::rundir::check_new(dir)?;
    }
    from_args(args, command_line).await
}

/// [`build`] without the look at the output directory (`--resume` continues an existing one).
async fn from_args(args: &ScanArgs, command_line: Vec<String>) -> Result<Setup, SetupError> {
    let mut warnings = Vec::new();
    let ports = targets::parse_ports(&args.ports).map_err(SetupError::Ports)?;
    if args.concurrency == 0 {
        return Err(SetupError::Invalid("--concurrency must be at least 1".into()));
    }
    limits::check_timeouts(&[
        ("--connect-timeout", args.connect_timeout),
        ("--read-timeout", args.read_timeout),
        ("--endpoint-timeout", args.endpoint_timeout),
    ])?;

    let (specs, excl_specs) = resolve::read_targets(args)?;
    if specs.is_empty() {
        return Err(SetupError::NoTargets);
    }
    let mut exclusions = resolve::exclusion_intervals(&excl_specs)?;
    if !args.allow_reserved {
        exclusions.extend(targets::reserved().into_iter().map(|(first, last)| Interval::new(first, last)));
    }
    let (resolved, unresolved) = resolve::resolve(&specs).await;
    for u in &unresolved {
        warnings.push(format!("{}: '{}' did not resolve ({}); not scanned", u.origin, u.target, u.error));
    }
    let plan = Plan::build(&resolved, &ports, &exclusions);
    let follow = if args.follow {
        let scope_specs = args
            .follow_scope
            .iter()
            .enumerate()
            .map(|(i, t)| targets::parse_arg("--follow-scope", i + 1, t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SetupError::Targets(vec![e]))?;
        let mut include: Vec<Interval> =
            resolved.iter().flat_map(|r| r.intervals.iter().flat_map(|i| i.canonical())).collect();
        include.extend(resolve::exclusion_intervals(&scope_specs)?.into_iter().flat_map(Interval::canonical));
        let exclude = exclusions.iter().flat_map(|i| i.canonical()).collect();
        Some(crate::follow::FollowScope { include, exclude })
    } else {
        None
    };
    let shard = match &args.shard {
        Some(s) => crate::permute::Shard::parse(s).map_err(SetupError::Invalid)?,
        None => crate::permute::Shard::default(),
    };
    let seed = args.seed.unwrap_or_else(meta::random_seed);
    let order = Order { seed, shard, ..Default::default() };
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
    let (client, client_proof) = pem::load_client(args.client_cert.as_deref(), args.client_key.as_deref())?;
    let tls = TlsSettings::new(client).map_err(|e| SetupError::File {
        path: args.client_key.clone().unwrap_or_default(),
        reason: format!("client key unusable: {e}"),
    })?;

    let audit = if args.audit { Some(creds::load(args)?) } else { None };
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
    Setup::assemble(Parts {
        plan,
        order,
        sharded: args.shard.is_some(),
        connect_timeout: args.connect_timeout,
        read_timeout: args.read_timeout,
        endpoint_timeout: args.endpoint_timeout,
        sni: args.sni.clone(),
        tls,
        anchors: (anchors, trust),
        client_certificate: client_proof,
        warn_days: args.warn_days,
        cipher_scan: args.cipher_scan,
        rate: args.rate,
        host_concurrency: args.host_concurrency,
        concurrency: args.concurrency,
        output: args.output.clone(),
        output_prefix: "",
        include_closed: args.include_closed,
        fail_on: args.fail_on.map(Severity::from),
        quiet: args.quiet,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        prometheus: args.prometheus.clone(),
        command_line,
        targets: specs.iter().map(|s| format!("{} ({})", s.text, s.origin)).collect(),
        ports,
        exclusions: excl_specs.iter().map(|s| format!("{} ({})", s.text, s.origin)).collect(),
        unresolved,
        reserved_excluded: !args.allow_reserved,
        scanner_host: meta::scanner_host(),
        warnings,
        audit,
        follow,
    })
}

/// A [`SetupError::File`] for `path`.
fn file_error(path: &Path, reason: impl Into<String>) -> SetupError {
    SetupError::File { path: path.to_path_buf(), reason: reason.into() }
}
