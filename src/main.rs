//! The `redis-tls-scan` binary: parse flags, run the library, print the summary, map the exit code.

use std::process::ExitCode;

use clap::Parser;
use redis_tls_scan::app::{self, Outcome, exit};
use redis_tls_scan::cli::{Cli, Command};
use redis_tls_scan::config::{self, Setup, SetupError};
use redis_tls_scan::demo;
use redis_tls_scan::progress::Progress;

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
                Err(e) => fail(&e),
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
                Err(e) => fail(&e),
            },
            Command::Diff(args) => diff(&args),
            Command::Merge(args) => match redis_tls_scan::merge::merge(&args.shards, &args.output).and_then(|d| {
                if let Some(p) = &args.prometheus {
                    let journal = args.output.join(redis_tls_scan::report::JOURNAL);
                    redis_tls_scan::report::prometheus::write(p, &d, &journal)?;
                }
                Ok(d)
            }) {
                Ok(digest) => {
                    let interrupted = digest.meta.interrupted;
                    let outcome = Outcome { digest, dir: args.output.clone(), interrupted };
                    report(&outcome, args.quiet);
                    outcome.exit_code(args.fail_on)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::SETUP
                }
            },
        }
    }))
}

fn diff(args: &redis_tls_scan::cli::DiffArgs) -> u8 {
    let (old, new) = match (redis_tls_scan::diff::load(&args.old), redis_tls_scan::diff::load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return exit::SETUP;
        }
    };
    let d = redis_tls_scan::diff::compare(&old, &new);
    if args.json {
        match serde_json::to_string_pretty(&d) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::SETUP;
            }
        }
    } else {
        print!("{}", redis_tls_scan::diff::render(&d));
    }
    if d.worse { exit::FINDINGS } else { exit::OK }
}

async fn run(setup: Setup, _label: Option<&str>) -> u8 {
    let progress = Progress::new(setup.meta.endpoints_planned, setup.progress);
    for w in &setup.warnings {
        progress.println(&format!("warning: {w}"));
    }
    let (quiet, fail_on) = (setup.quiet, setup.fail_on);
    let stop = app::stop_on_signals();
    match app::execute(setup, stop, &progress).await {
        Ok(outcome) => {
            report(&outcome, quiet);
            outcome.exit_code(fail_on)
        }
        Err(e) => fail(&e),
    }
}

fn report(outcome: &Outcome, quiet: bool) {
    use std::io::IsTerminal;
    if quiet {
        return;
    }
    // Colour only for a person at a terminal (https://no-color.org); a pipe gets the plain report.
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let journal = outcome.dir.join(redis_tls_scan::report::JOURNAL);
    match redis_tls_scan::report::summary::render_styled(&outcome.digest, &journal, &outcome.dir, color) {
        Ok(text) => print!("{text}"),
        Err(e) => eprintln!("warning: cannot render the summary: {e}"),
    }
}

fn fail(e: &SetupError) -> u8 {
    // Killed after the sweep but before (or while) the reports were written: rebuild them.
    if let SetupError::Finished(dir) = e {
        let journal = dir.join(redis_tls_scan::report::JOURNAL);
        let include_closed = redis_tls_scan::report::digest(&journal)
            .is_ok_and(|d| d.meta.command_line.iter().any(|a| a == "--include-closed"));
        return match redis_tls_scan::report::finalize(dir, include_closed) {
            Ok(digest) => {
                let outcome = Outcome { digest, dir: dir.clone(), interrupted: false };
                eprintln!("{}: the sweep had finished; reports rebuilt from the journal", dir.display());
                outcome.exit_code(None)
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::SETUP
            }
        };
    }
    for line in e.to_string().lines() {
        eprintln!("error: {line}");
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
