//! The `redis-tls-scan` binary: parse flags, run the library, print the summary, map the exit code.

use std::process::ExitCode;

use clap::Parser;
use redis_tls_scan::app::{self, Outcome, exit};
use redis_tls_scan::cli::{Cli, Command};
use redis_tls_scan::config::{self, FinishedRun, Setup, SetupError};
use redis_tls_scan::demo;
use redis_tls_scan::progress::Progress;
use redis_tls_scan::text::sanitize;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::SETUP);
        }
    };
    let command_line: Vec<String> = std::env::args().collect();
    ExitCode::from(runtime.block_on(async {
        match cli.command {
            Command::Scan(args) => match match &args.resume {
                Some(dir) => config::resume(dir, args.quiet).await,
                None => config::build(&args, command_line).await,
            } {
                Ok(setup) => run(setup, None).await,
                Err(SetupError::Finished(f)) => finished(&f, args.quiet),
                Err(e) => error(&e),
            },
            Command::Demo(args) => match demo::prepare(&args, command_line).await {
                Ok((setup, endpoints)) => {
                    if !setup.quiet {
                        println!("Demo endpoints on loopback (started by this process):");
                        for e in &endpoints {
                            println!("  {:<21} {}", e.addr.to_string(), e.description);
                        }
                        println!();
                    }
                    run(setup, Some("demo")).await
                }
                Err(e) => error(&e),
            },
            Command::Diff(args) => diff(&args),
            Command::Merge(args) => {
                match redis_tls_scan::merge::merge(&args.shards, &args.output, args.prometheus.as_deref()) {
                    Ok((digest, rendered)) => {
                        let interrupted = digest.meta.interrupted;
                        let outcome = Outcome { digest, rendered, dir: args.output.clone(), interrupted };
                        report(&outcome, args.quiet);
                        outcome.exit_code(args.fail_on.map(Into::into))
                    }
                    Err(e) => error(&e),
                }
            }
        }
    }))
}

fn diff(args: &redis_tls_scan::cli::DiffArgs) -> u8 {
    let (old, new) = match (redis_tls_scan::diff::load(&args.old), redis_tls_scan::diff::load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return error(&e),
    };
    let d = redis_tls_scan::diff::compare(&old, &new);
    if args.json {
        match serde_json::to_string_pretty(&d) {
            Ok(j) => println!("{j}"),
            Err(e) => return error(&e),
        }
    } else {
        print!("{}", redis_tls_scan::diff::render(&d));
    }
    if d.worse { exit::FINDINGS } else { exit::OK }
}

async fn run(setup: Setup, _label: Option<&str>) -> u8 {
    let progress = Progress::new(setup.meta.endpoints_planned, setup.progress);
    for w in &setup.warnings {
        progress.println(&format!("warning: {}", sanitize(w, usize::MAX)));
    }
    let (quiet, fail_on) = (setup.quiet, setup.fail_on);
    let stop = app::stop_on_signals();
    match app::execute(setup, stop, &progress).await {
        Ok(outcome) => {
            report(&outcome, quiet);
            outcome.exit_code(fail_on)
        }
        Err(e) => error(&e),
    }
}

fn report(outcome: &Outcome, quiet: bool) {
    use std::io::IsTerminal;
    if quiet {
        return;
    }
    // Colour only for a person at a terminal (https://no-color.org); a pipe gets the plain report.
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    print!("{}", outcome.rendered.text(color));
}

/// `--resume` of a run whose sweep had finished: its reports (and `--prometheus`) rebuilt from the
/// journal, and the exit code the uninterrupted run would have given.
fn finished(f: &FinishedRun, quiet: bool) -> u8 {
    match app::rebuild(f) {
        Ok(outcome) => {
            eprintln!(
                "{}: the sweep had finished; reports rebuilt from the journal",
                sanitize(&f.dir.display().to_string(), usize::MAX)
            );
            report(&outcome, quiet);
            outcome.exit_code(f.fail_on)
        }
        Err(e) => error(&e),
    }
}

/// Prints an error, one `error: ` line per line, local text escaped (a file name or target line may hold
/// ESC or BEL), and gives the setup exit code.
fn error(e: &dyn std::fmt::Display) -> u8 {
    for line in e.to_string().lines() {
        eprintln!("error: {}", sanitize(line, usize::MAX));
    }
    exit::SETUP
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
