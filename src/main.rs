//! The `redis-tls-scan` binary: parse flags, run the library, print the summary, map the exit code.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a probe and a record are many small, short-lived allocations made
/// on one scan thread and freed on another (the writer); glibc spent ~15% of a scan thread's user time
/// in malloc and free on an open-endpoint sweep, and the sweep runs ~10% faster without it
/// (bench/open_endpoints.py). Built without transparent huge pages (`no_thp`): they cost ~20 MiB of
/// RSS for nothing a scan needs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, Parser};
use redis_tls_scan::app::{self, Exit, Outcome};
use redis_tls_scan::cli::{Cli, Color, Command};
use redis_tls_scan::config::{self, FinishedRun, Setup, SetupError};
use redis_tls_scan::demo;
use redis_tls_scan::probe::raw::CipherScan;
use redis_tls_scan::progress::Progress;
use redis_tls_scan::report::stream::{Format, Stream};
use redis_tls_scan::text::sanitize;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generators first: they need no runtime and print only what they generate.
    match &cli.command {
        Command::Completions(args) => return ExitCode::from(completions(args.shell)),
        Command::Man => return ExitCode::from(man_page()),
        _ => {}
    }
    init_logging(cli.verbose);
    let (color, verbose) = (cli.color, cli.verbose);
    // The open-file limit, and what the parent left open, before a runtime opens anything: a limit too
    // low for any scan is a setup error here, not a panic in the runtime. A resume's depth is in its
    // journal: the fewest sockets here, its own checked again when the concurrency is clamped.
    let depth = match &cli.command {
        Command::Scan(a) if a.resume.is_none() && !a.resume_existing => Some(a.cipher_scan),
        Command::Scan(_) => Some(CipherScan::Off),
        Command::Demo(_) | Command::Serve(_) => Some(CipherScan::Full),
        _ => None,
    };
    if let Some(depth) = depth
        && let Err(e) = redis_tls_scan::setup::limits::OpenFiles::at_start().check(depth)
    {
        return ExitCode::from(error(&e));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Setup);
        }
    };
    // Recorded in the reports: a redis:// URI's password is not.
    let command_line: Vec<String> = std::env::args()
        .map(
            |a| if redis_tls_scan::target_formats::is_uri(&a) { redis_tls_scan::target_formats::redact(&a) } else { a },
        )
        .collect();
    ExitCode::from(runtime.block_on(async {
        match cli.command {
            Command::Scan(mut args) => {
                // `-f -` is stdin, like the `-` target.
                if args.targets_files.iter().any(|f| f.as_os_str() == "-") {
                    args.targets_files.retain(|f| f.as_os_str() != "-");
                    if !args.targets.iter().any(|t| t == "-") {
                        args.targets.push("-".into());
                    }
                }
                // Checked before the first packet, like every other setup error.
                let push = match args.push_gateway.as_deref().map(redis_tls_scan::push::Gateway::parse).transpose() {
                    Ok(p) => p,
                    Err(e) => return error(&e),
                };
                // --resume-existing: the same command line starts the scan or continues its journal.
                let existing = args
                    .output
                    .as_ref()
                    .filter(|o| args.resume_existing && o.join(redis_tls_scan::report::JOURNAL).is_file());
                match match (&args.resume, existing) {
                    (Some(dir), _) | (None, Some(dir)) => config::resume(dir, args.quiet).await,
                    (None, None) => config::build(&args, command_line).await,
                } {
                    Ok(mut setup) => {
                        setup.format = args.format.into();
                        let metrics = setup.prometheus.clone();
                        let exit = run(setup, color, verbose).await;
                        pushed(exit, push.as_ref(), &args.push_job, args.shard.as_deref(), metrics.as_deref())
                    }
                    Err(SetupError::Finished(f)) => {
                        let exit = finished(&f, args.format.into(), args.quiet, color);
                        pushed(exit, push.as_ref(), &args.push_job, args.shard.as_deref(), f.prometheus.as_deref())
                    }
                    Err(e) => error(&e),
                }
            }
            Command::Demo(args) => match demo::prepare(&args, command_line).await {
                Ok((setup, endpoints)) => {
                    if !setup.quiet {
                        let mut intro = String::from("Demo endpoints on loopback (started by this process):\n");
                        for e in &endpoints {
                            intro.push_str(&format!("  {:<21} {}\n", e.addr.to_string(), e.description));
                        }
                        intro.push('\n');
                        // A closed stdout (`| head`) does not stop the demo: its reports are still written.
                        let _ = write_stdout(intro.as_bytes());
                    }
                    run(setup, color, verbose).await
                }
                Err(e) => error(&e),
            },
            Command::Diff(args) => diff(&args),
            Command::Merge(args) => merge(&args, color),
            Command::Serve(args) => serve(&args).await,
            Command::Completions(_) | Command::Man => Exit::Ok,
        }
    }))
}

/// `serve`: binds, says where it listens (stderr), serves until SIGTERM/SIGINT, exits 0.
async fn serve(args: &redis_tls_scan::cli::ServeArgs) -> Exit {
    let server = match redis_tls_scan::serve::prepare(args).await {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    for w in &server.warnings {
        eprintln!("warning: {w}");
    }
    match server.local_addr() {
        Ok(addr) => eprintln!("serve: listening on http://{addr} (GET /probe?target=host:port, /metrics)"),
        Err(e) => return error(&e),
    }
    redis_tls_scan::serve::run(server, redis_tls_scan::serve::signals()).await;
    eprintln!("serve: stopped");
    Exit::Ok
}

/// `completions SHELL`: clap's generator over the same command definition as the parser.
fn completions(shell: redis_tls_scan::cli::Shell) -> Exit {
    use clap_complete::Shell as S;
    use redis_tls_scan::cli::Shell;
    let target = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "redis-tls-scan", &mut out);
    write_stdout(&out)
}

/// `man`: the roff man page, generated from the command definition (subcommands included).
fn man_page() -> Exit {
    let mut out = Vec::new();
    if let Err(e) = redis_tls_scan::manpage::render(Cli::command(), &mut out) {
        return error(&e);
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Exit {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => error(&e),
    }
}

/// `merge`: the shards given, or every `shard-<I>` of `--run DIR` (of the newest run under
/// `--latest-in PARENT`) into `DIR/merged` unless `-o` says otherwise.
fn merge(args: &redis_tls_scan::cli::MergeArgs, color: Color) -> Exit {
    use redis_tls_scan::runs;
    let run = match (&args.run, &args.latest_in) {
        (Some(run), _) => Ok(Some(run.clone())),
        (None, Some(parent)) => runs::latest_sweep(parent).map(Some),
        (None, None) => Ok(None),
    };
    let (shards, output) = match run.and_then(|run| match (run, &args.output) {
        (Some(run), out) => Ok((runs::shards_of(&run)?, out.clone().unwrap_or_else(|| run.join(runs::MERGED)))),
        (None, Some(out)) => Ok((args.shards.clone(), out.clone())),
        (None, None) => Err(runs::RunsError("merge needs -o DIR (or --run / --latest-in)".into())),
    }) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    let push = match args.push_gateway.as_deref().map(redis_tls_scan::push::Gateway::parse).transpose() {
        Ok(p) => p,
        Err(e) => return error(&e),
    };
    let exit = match redis_tls_scan::merge::merge(&shards, &output, args.prometheus.as_deref()) {
        Ok((digest, rendered)) => {
            let interrupted = digest.meta.interrupted;
            let outcome = Outcome { digest, rendered, dir: output, interrupted };
            report(&outcome, args.quiet, color);
            outcome.exit_code(args.fail_on.map(Into::into))
        }
        Err(e) => error(&e),
    };
    // The merged sweep is one group (no shard label): it replaces the shards' view of the night.
    pushed(exit, push.as_ref(), &args.push_job, None, args.prometheus.as_deref())
}

fn diff(args: &redis_tls_scan::cli::DiffArgs) -> Exit {
    let pair = match (&args.latest_in, &args.old, &args.new) {
        (Some(parent), _, _) => match redis_tls_scan::runs::latest_reports(parent) {
            Ok(reports) => match reports.as_slice() {
                [.., old, new] => (old.report.clone(), new.report.clone(), Some(new.run.clone())),
                [only] => {
                    let run = sanitize(&only.run.display().to_string(), usize::MAX);
                    eprintln!("{run}: the only run so far; nothing to compare");
                    return Exit::Ok;
                }
                [] => {
                    let parent = parent.display().to_string();
                    return error(&format!("{parent}: no run directory with a report.json"));
                }
            },
            Err(e) => return error(&e),
        },
        (None, Some(old), Some(new)) => (old.clone(), new.clone(), None),
        _ => return error(&"diff needs OLD and NEW (or --latest-in DIR)"),
    };
    let (old, new) = match (redis_tls_scan::diff::load(&pair.0), redis_tls_scan::diff::load(&pair.1)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return error(&e),
    };
    let d = redis_tls_scan::diff::compare(&old, &new);
    let text = if args.json {
        match serde_json::to_string_pretty(&d) {
            Ok(j) => j + "\n",
            Err(e) => return error(&e),
        }
    } else {
        redis_tls_scan::diff::render(&d)
    };
    // With --latest-in the comparison is also kept in the newer run (diff.txt or diff.json).
    let kept = pair.2.map(|run| run.join(if args.json { "diff.json" } else { "diff.txt" }));
    for file in args.output.iter().chain(kept.iter()) {
        if let Err(e) = redis_tls_scan::runs::replace_file(file, text.as_bytes()) {
            return error(&format!("{}: {e}", file.display()));
        }
    }
    if write_stdout(text.as_bytes()) != Exit::Ok {
        return Exit::Setup;
    }
    if d.worse { Exit::Findings } else { Exit::Ok }
}

async fn run(setup: Setup, color: Color, verbose: u8) -> Exit {
    // Lines streamed to a terminal would be torn by a bar redrawn on the same terminal: no bar then.
    let streamed_to_terminal = setup.format == Format::Jsonl && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let progress = Progress::new(setup.meta.endpoints_planned, setup.progress && !streamed_to_terminal)
        .with_endpoint_lines(verbose > 0);
    for w in &setup.warnings {
        progress.println(&format!("warning: {}", sanitize(w, usize::MAX)));
    }
    let (quiet, fail_on) = (setup.quiet, setup.fail_on);
    let (format, kept) = (setup.format, setup.scratch.is_none());
    let stop = app::stop_on_signals();
    match app::execute(setup, stop, &progress).await {
        Ok(outcome) => {
            if format == Format::Text {
                report(&outcome, quiet, color);
            } else if kept && !quiet {
                // stdout is the stream's; where the reports went is a message.
                eprintln!("Reports: {}", sanitize(&outcome.dir.display().to_string(), usize::MAX));
            }
            outcome.exit_code(fail_on)
        }
        Err(e) => error(&e),
    }
}

fn report(outcome: &Outcome, quiet: bool, color: Color) {
    use std::io::IsTerminal;
    if quiet {
        return;
    }
    // By default colour only for a person at a terminal (https://no-color.org); a pipe gets plain text.
    let color = color.enabled(std::io::stdout().is_terminal());
    let _ = write_stdout(outcome.rendered.text(color).as_bytes());
}

/// `--resume` of a run whose sweep had finished: its reports (and `--prometheus`) rebuilt from the
/// journal, and the exit code the uninterrupted run would have given.
fn finished(f: &FinishedRun, format: Format, quiet: bool, color: Color) -> Exit {
    match app::rebuild(f) {
        Ok(outcome) => {
            eprintln!(
                "{}: the sweep had finished; reports rebuilt from the journal",
                sanitize(&f.dir.display().to_string(), usize::MAX)
            );
            if format == Format::Text {
                report(&outcome, quiet, color);
            } else {
                // Nothing was left to scan: the stream is its end (the summary line, or report.json).
                Stream::new(format, std::io::stdout()).finish(&outcome.digest, &outcome.dir);
            }
            outcome.exit_code(f.fail_on)
        }
        Err(e) => error(&e),
    }
}

/// `--push-gateway`: pushes the run's Prometheus file once the reports are written. A failed push is an
/// error (exit 2): a scheduled job that cannot report its metrics must not look green.
fn pushed(
    exit: Exit,
    gateway: Option<&redis_tls_scan::push::Gateway>,
    job: &str,
    shard: Option<&str>,
    metrics: Option<&std::path::Path>,
) -> Exit {
    let (Some(gateway), Some(path)) = (gateway, metrics) else { return exit };
    if exit == Exit::Setup {
        return exit;
    }
    let body = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return error(&format!("{}: {e}", path.display())),
    };
    match gateway.push(job, shard, &body, std::time::Duration::from_secs(10)) {
        Ok(()) => exit,
        Err(e) => error(&format!("{e} (the reports are written)")),
    }
}

/// Prints an error, one `error: ` line per line, local text escaped (a file name or target line may hold
/// ESC or BEL), and gives the setup exit code.
fn error(e: &dyn std::fmt::Display) -> Exit {
    for line in e.to_string().lines() {
        eprintln!("error: {}", sanitize(line, usize::MAX));
    }
    Exit::Setup
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
