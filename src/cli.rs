//! Command-line surface (clap derive). Raw arguments only: [`crate::config`] validates them into a
//! [`crate::config::Setup`]; nothing downstream sees these types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Severity;

/// `--fail-on` values; the model's [`Severity`] carries no CLI derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Info => Self::Info,
            SeverityArg::Low => Self::Low,
            SeverityArg::Medium => Self::Medium,
            SeverityArg::High => Self::High,
            SeverityArg::Critical => Self::Critical,
        }
    }
}

/// Audit the transport security of Redis endpoints: plaintext exposure, TLS, certificates.
///
/// Scan only networks you are authorised to test.
#[derive(Debug, Parser)]
#[command(name = "redis-tls-scan", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs;
    /// RUST_LOG overrides the log level.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN", global = true, ignore_case = true)]
    pub color: Color,
}

/// When to colour the terminal output (as ripgrep's `--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always (also into pipes and files).
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Whether to colour, given whether the output is a terminal and the NO_COLOR variable.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// What `scan` writes on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// The human summary (the default).
    #[default]
    Text,
    /// One JSON object per finished endpoint as it finishes (the journal's endpoint lines), the
    /// host-level findings, then one summary object: for `jq` and pipelines.
    Jsonl,
    /// `report.json`, once the scan is done.
    Json,
}

impl From<Format> for crate::report::stream::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => Self::Text,
            Format::Jsonl => Self::Jsonl,
            Format::Json => Self::Json,
        }
    }
}

/// Shells `completions` can write a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// Elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets and write reports.
    Scan(Box<ScanArgs>),
    /// Start built-in example endpoints on loopback, scan them, and show the reports (no setup needed).
    Demo(DemoArgs),
    /// What changed between two scans (report.json files or run directories); exit 1 when worse.
    Diff(DiffArgs),
    /// Combine the shard directories of one sweep (--shard I/N, one seed) into one run directory.
    Merge(MergeArgs),
    /// Prometheus exporter: GET /probe?target=host:port[&module=NAME] probes one endpoint (like
    /// blackbox_exporter), GET /metrics the exporter's own metrics; targets limited by --allow.
    Serve(ServeArgs),
    /// Print a shell completion script (e.g. `redis-tls-scan completions bash > /etc/bash_completion.d/redis-tls-scan`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout (e.g. `redis-tls-scan man | man -l -`).
    Man,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, ignore_case = true)]
    pub shell: Shell,
}

/// `merge` arguments.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard run directories (every index of the sweep once).
    #[arg(required_unless_present_any = ["run", "latest_in"])]
    pub shards: Vec<PathBuf>,
    /// Merge every `shard-*` directory of this run directory (no shell glob needed); output defaults to
    /// `DIR/merged`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["shards", "latest_in"])]
    pub run: Option<PathBuf>,
    /// Like --run, on the newest run directory under PARENT (the greatest name holding a `shard-*`
    /// directory; CronJob and `reports/<UTC time>` names sort by time).
    #[arg(long, value_name = "PARENT", conflicts_with = "shards")]
    pub latest_in: Option<PathBuf>,
    /// Output directory for the merged run [default with --run/--latest-in: RUN/merged].
    #[arg(short, long, value_name = "DIR", required_unless_present_any = ["run", "latest_in"])]
    pub output: Option<PathBuf>,
    /// Also write the merged results in Prometheus text format to FILE.
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Push the --prometheus file to this Prometheus Pushgateway (http://host[:port]) at the end, grouped
    /// by --push-job and the shard; a failed push exits 2 (the reports are written).
    #[arg(long, value_name = "URL", requires = "prometheus")]
    pub push_gateway: Option<String>,
    /// Job name of the pushed group.
    #[arg(long, value_name = "NAME", default_value = "redis_tls_scan")]
    pub push_job: String,
    /// Exit with code 1 when a finding of this severity or higher is found (any case: high, HIGH).
    #[arg(long, value_enum, value_name = "SEVERITY", ignore_case = true)]
    pub fail_on: Option<SeverityArg>,
    /// No summary on the terminal.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:9739 or [::]:9739.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Targets the exporter may probe: an address or CIDR, or a host name (*.example.com for every name
    /// under it); repeatable. Anything else is refused (400) before any connection; a name must resolve
    /// only to allowed addresses unless it is allowed by name. Special-purpose ranges are never probed.
    #[arg(long, value_name = "CIDR|HOST", required = true)]
    pub allow: Vec<String>,
    /// Probe modules (TOML): depth, trust anchors, client certificate, timeout per module. Built in:
    /// quick (the default) and full.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Probes running at once (clamped to the open-file limit); more wait up to a second, then get 503.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_concurrent: usize,
}

/// `diff` arguments.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older scan: a run directory or its report.json.
    #[arg(required_unless_present = "latest_in")]
    pub old: Option<PathBuf>,
    /// The newer scan.
    #[arg(required_unless_present = "latest_in")]
    pub new: Option<PathBuf>,
    /// Compare the two newest runs under PARENT (by name; a run is a directory holding `report.json` or
    /// `merged/report.json`) and keep the result in the newer one (diff.txt, or diff.json with --json).
    /// With a single run there is nothing to compare: exit 0.
    #[arg(long, value_name = "PARENT", conflicts_with_all = ["old", "new"])]
    pub latest_in: Option<PathBuf>,
    /// Also write the comparison to FILE (replaced when it exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Which built-in trust anchors to verify certificates against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Roots {
    /// The operating system's store (honours SSL_CERT_FILE / SSL_CERT_DIR).
    System,
    /// Mozilla's root program, built in (reproducible across machines).
    Mozilla,
    /// None: only --ca-file anchors.
    None,
}

/// `scan` arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Targets: IP, CIDR, first-last range, hostname, each optionally with :port ([v6]:port); '-' reads stdin.
    pub targets: Vec<String>,
    /// Read targets from a file ('-': stdin); repeatable. One target per line ('#' comments), or the
    /// output of `nmap -oG`, `masscan -oL`, or redis:// and rediss:// URIs.
    #[arg(short = 'f', long = "targets-file", value_name = "FILE")]
    pub targets_files: Vec<PathBuf>,
    /// Ports for targets without one: list and ranges, e.g. 6379,6380,7000-7005.
    #[arg(short, long, default_value = "6379,6380", value_name = "LIST")]
    pub ports: String,
    /// Never scan these addresses (IP, CIDR or range); repeatable.
    #[arg(long, value_name = "CIDR")]
    pub exclude: Vec<String>,
    /// Read exclusions from a file; repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Also scan special-purpose ranges (0.0.0.0/8, multicast, 240.0.0.0/4, documentation, link-local, ...),
    /// which are never scanned by default.
    #[arg(long)]
    pub allow_reserved: bool,
    /// Seed of the visiting order (a pseudo-random permutation); the same seed gives the same order.
    /// Default: random, recorded in the metadata.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Scan only shard I of N (0-based), e.g. 3/8: with one seed, N shards are disjoint and cover all.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Output directory [default: reports/<UTC timestamp>]; `none`: no run directory (see --no-output).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// No run directory: the results go only to stdout (--format) and --prometheus. Same as `-o none`.
    /// Such a scan cannot be resumed.
    #[arg(long, conflicts_with_all = ["output", "resume", "resume_existing"])]
    pub no_output: bool,
    /// What to write on stdout: text (the summary), jsonl (one line per endpoint as it finishes, then
    /// a summary line), json (report.json at the end). Progress and messages stay on stderr.
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT", ignore_case = true)]
    pub format: Format,
    /// Endpoints probed at once (clamped to the open-file limit).
    #[arg(short, long, default_value_t = 256, value_name = "N")]
    pub concurrency: usize,
    /// New TCP connections per second, scan-wide (0: unlimited). The default is gentle on production
    /// networks; a full TLS audit costs 20-40 connections per TLS endpoint.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub rate: u32,
    /// Endpoints of one address probed at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub host_concurrency: usize,
    /// Timeout of one TCP connect.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub connect_timeout: Duration,
    /// Timeout of one read (waiting for a reply).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub read_timeout: Duration,
    /// Total time allowed per endpoint, all probes included.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub endpoint_timeout: Duration,
    /// Name for SNI and the hostname check (default: the target's hostname; IP identity otherwise).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Built-in trust anchors [default: system, or none when --ca-file is given].
    #[arg(long, value_enum, ignore_case = true)]
    pub roots: Option<Roots>,
    /// PEM file of CA certificates to trust (your private CA); repeatable. Alias --cacert (redis-cli).
    #[arg(long, value_name = "PEM", visible_alias = "cacert")]
    pub ca_file: Vec<PathBuf>,
    /// Client certificate chain (PEM) to present in an extra handshake, to test PING with mTLS.
    /// Alias --cert (redis-cli).
    #[arg(long, value_name = "PEM", requires = "client_key", visible_alias = "cert")]
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) of --client-cert. Alias --key (redis-cli).
    #[arg(long, value_name = "PEM", requires = "client_cert", visible_alias = "key")]
    pub client_key: Option<PathBuf>,
    /// Raw ClientHello probe: full (every accepted suite of SSLv3..TLS 1.3), quick (versions and weak-suite
    /// classes only: fewer connections for huge sweeps), off (TLS 1.2/1.3 through rustls only).
    #[arg(long, value_enum, default_value = "full", value_name = "MODE", ignore_case = true)]
    pub cipher_scan: crate::probe::raw::CipherScan,
    /// Authenticated audit (opt-in): after the probes, log in to each endpoint that speaks Redis (over its
    /// own transport; TLS sessions are verified) and read what only the server can tell with read-only
    /// commands: replication and cluster-bus TLS, clients per listener, ACL users, tls-* settings. The
    /// password comes from REDISCLI_AUTH or --password-file, never from the command line; one AUTH per
    /// endpoint, never retried.
    #[arg(long)]
    pub audit: bool,
    /// ACL user for --audit (AUTH NAME password) [default: the default user]. Alias of redis-cli's --user.
    #[arg(long, value_name = "NAME", requires = "audit")]
    pub user: Option<String>,
    /// File whose first line is the --audit password (instead of REDISCLI_AUTH).
    #[arg(long, value_name = "FILE", requires = "audit")]
    pub password_file: Option<PathBuf>,
    /// --audit credentials per scope, for fleets: one line each `SCOPE USER PASSWORD-FILE` (SCOPE an IP,
    /// CIDR, range or host name; USER `-` for the default user; '#' comments); the first line covering an
    /// endpoint wins, the others use --user / --password-file / REDISCLI_AUTH.
    #[arg(long, value_name = "FILE", requires = "audit")]
    pub credentials_file: Option<PathBuf>,
    /// With --audit: after the sweep, also probe and audit the masters, replicas and cluster nodes the
    /// audited servers name, when they fall inside the scope (the targets' addresses, or --follow-scope),
    /// exclusions applied, each endpoint once.
    #[arg(long, requires = "audit")]
    pub follow: bool,
    /// Widen --follow's scope to this CIDR (or address, or range); repeatable.
    #[arg(long, value_name = "CIDR", requires = "follow")]
    pub follow_scope: Vec<String>,
    /// Raise cert_expiring_soon when the certificate has at most this many days left.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub warn_days: i64,
    /// Exit with code 1 when a finding of this severity or higher is found (any case: high, HIGH).
    #[arg(long, value_enum, value_name = "SEVERITY", ignore_case = true)]
    pub fail_on: Option<SeverityArg>,
    /// Refuse to scan more endpoints than this (protects against typos like a /8 instead of a /24).
    #[arg(long, default_value_t = 100_000_000, value_name = "N")]
    pub max_endpoints: u64,
    /// Also list closed, filtered and unreachable endpoints in the reports.
    #[arg(long)]
    pub include_closed: bool,
    /// Also write the results in Prometheus text format to FILE (for node_exporter's textfile collector).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Push the --prometheus file to this Prometheus Pushgateway (http://host[:port]) at the end, grouped
    /// by --push-job and the shard; a failed push exits 2 (the reports are written).
    #[arg(long, value_name = "URL", requires = "prometheus")]
    pub push_gateway: Option<String>,
    /// Job name of the pushed group.
    #[arg(long, value_name = "NAME", default_value = "redis_tls_scan")]
    pub push_job: String,
    /// No progress bar and no summary on the terminal.
    #[arg(short, long)]
    pub quiet: bool,
    /// Continue an interrupted scan from its directory (journal): same targets, seed and shard; every
    /// endpoint is scanned exactly once overall. Takes no targets.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["targets", "targets_files"])]
    pub resume: Option<PathBuf>,
    /// When the -o directory already holds this scan's journal, resume it instead of refusing to
    /// overwrite it; otherwise start it. For restarted Job pods and retried timers: the same command
    /// line starts or continues.
    #[arg(long, requires = "output")]
    pub resume_existing: bool,
}

impl ScanArgs {
    /// `--no-output` or `-o none`: no run directory is kept.
    pub fn no_output(&self) -> bool {
        self.no_output || self.output.as_deref().is_some_and(|o| o.as_os_str() == "none")
    }
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory [default: reports/demo-<UTC timestamp>].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// No summary on the terminal.
    #[arg(short, long)]
    pub quiet: bool,
    /// The port every demo endpoint listens on (each on its own 127.0.0.N), when free; a busy one
    /// falls back to a free port. Two runs with one port name the same endpoints, so `diff` compares them.
    #[arg(long, value_name = "PORT", default_value_t = crate::demo::DEMO_PORT)]
    pub port: u16,
}
