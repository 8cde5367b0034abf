//! `serve`: the exporter mode. Prometheus scrapes `GET /probe?target=host:port[&module=NAME]` (the way
//! blackbox_exporter and ssl_exporter are scraped, so the usual `__param_target` relabelling works) and
//! gets the exposition of that one endpoint, probed through the scan's pipeline
//! ([`crate::scan::probe_endpoint`]) and rendered by [`crate::report::prometheus::exposition`], the same
//! series the textfile holds. `GET /metrics` is the exporter's own ([`metrics`]).
//!
//! ```text
//! accept (cap on open connections) → head read (byte cap, deadline; http::parse)
//!   → /probe: module (modules) → target (allow: refused before any packet) → a probe slot (cap, short wait)
//!             → probe_endpoint under min(module timeout, scrape timeout − margin) → exposition
//!   → /metrics: ExporterMetrics::render
//! SIGTERM/SIGINT: stop accepting, finish what is in flight, exit 0
//! ```
//!
//! HTTP is a small hand-written HTTP/1.1 GET responder over tokio ([`http`]): one request per connection,
//! `Connection: close`. That is all a scraper needs, it keeps the caps (head size, header count, read
//! deadline, no body) explicit and testable as a pure parser, and adds no HTTP stack to the build.

pub mod allow;
pub mod http;
pub mod metrics;
pub mod modules;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use self::allow::{AllowList, Refusal};
use self::http::{Parse, Request, Response};
use self::metrics::{ExporterMetrics, Refused};
use self::modules::Module;
use crate::cli::ServeArgs;
use crate::config::SetupError;
use crate::endpoints::Endpoint;

/// Time a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Taken off a scrape's timeout, so the answer arrives before Prometheus gives up (as blackbox does).
const SCRAPE_MARGIN: Duration = Duration::from_millis(500);
/// The shortest probe deadline a scrape timeout can ask for.
const MIN_DEADLINE: Duration = Duration::from_millis(200);
/// Longest wait for a probe slot before answering 503.
const SLOT_WAIT: Duration = Duration::from_secs(1);
/// Open HTTP connections at most; more are closed at once.
const MAX_CONNECTIONS: usize = 512;

/// A validated exporter, its socket bound: ready to [`run`].
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
    /// Notices for the user (a clamped `--max-concurrent`).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
struct State {
    allow: AllowList,
    modules: BTreeMap<String, Module>,
    slots: Arc<Semaphore>,
    metrics: ExporterMetrics,
    /// The longest module deadline: how long shutdown waits for probes in flight.
    longest: Duration,
}

impl Server {
    /// The address it listens on.
    ///
    /// # Errors
    /// When the socket cannot say.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Validates the flags, loads the modules, and binds the listening socket: every error is a setup error
/// (exit 2) before anything is probed.
///
/// # Errors
/// [`SetupError`].
pub async fn prepare(args: &ServeArgs) -> Result<Server, SetupError> {
    let allow = AllowList::parse(&args.allow).map_err(SetupError::Invalid)?;
    if args.max_concurrent == 0 {
        return Err(SetupError::Invalid("--max-concurrent must be at least 1".into()));
    }
    let mut warnings = Vec::new();
    let (concurrent, sockets) =
        crate::setup::clamp_concurrency(args.max_concurrent, crate::probe::raw::CipherScan::Full, &mut warnings)?;
    let modules = modules::load(args.config.as_deref(), &sockets)?;
    let longest = modules.values().map(|m| m.ctx.endpoint_timeout).max().unwrap_or(modules::DEFAULT_TIMEOUT);
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| SetupError::Invalid(format!("--listen {}: {e}", args.listen)))?;
    let metrics = ExporterMetrics::new(modules.keys().cloned());
    let state = State { allow, modules, slots: Arc::new(Semaphore::new(concurrent)), metrics, longest };
    Ok(Server { listener, state: Arc::new(state), warnings })
}

/// Serves until `shutdown` completes, then stops accepting and waits for the requests in flight (at most
/// the longest module deadline and the write timeout).
pub async fn run(server: Server, shutdown: impl Future<Output = ()>) {
    let Server { listener, state, .. } = server;
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        while tasks.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else {
            // EMFILE and friends: wait a little instead of spinning on the error.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            state.metrics.http_error();
            continue;
        };
        let state = state.clone();
        tasks.spawn(async move {
            connection(stream, &state).await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = state.longest + SLOT_WAIT + HEAD_TIMEOUT + WRITE_TIMEOUT;
    let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
}

/// SIGTERM or SIGINT (Ctrl-C), whichever comes first.
pub async fn signals() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One connection: one request head read under its caps, one response, close.
async fn connection(mut stream: TcpStream, state: &State) {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut buf = vec![0u8; http::MAX_HEAD];
    let mut len = 0;
    let request = loop {
        match http::parse(buf.get(..len).unwrap_or_default()) {
            Parse::Done(r) => break r,
            Parse::Bad(why) => {
                state.metrics.http_error();
                respond(&mut stream, &Response::text(400, format!("{why}\n")), false).await;
                return;
            }
            Parse::Incomplete => {}
        }
        let Some(free) = buf.get_mut(len..) else { return };
        match tokio::time::timeout_at(deadline, stream.read(free)).await {
            Ok(Ok(n)) if n > 0 => len += n,
            // Closed before a byte (a TCP health check): not an error.
            Ok(Ok(_)) if len == 0 => return,
            // Closed, failed or too slow before a whole head: nothing to answer.
            _ => {
                state.metrics.http_error();
                return;
            }
        }
    };
    let head_only = request.method == "HEAD";
    let response = if request.method != "GET" && !head_only {
        state.metrics.refused(Refused::NotFound);
        Response::text(405, "only GET and HEAD\n")
    } else {
        route(&request, state).await
    };
    respond(&mut stream, &response, head_only).await;
}

async fn respond(stream: &mut TcpStream, response: &Response, head_only: bool) {
    let bytes = response.to_bytes(head_only);
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

async fn route(request: &Request, state: &State) -> Response {
    match request.path.as_str() {
        "/probe" => probe(request, state).await,
        "/metrics" => Response::metrics(state.metrics.render()),
        "/" => Response::text(
            200,
            format!(
                "redis-tls-scan exporter\n\nGET /probe?target=host:port[&module=NAME]   modules: {}\nGET /metrics\n",
                state.modules.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ),
        _ => {
            state.metrics.refused(Refused::NotFound);
            Response::text(404, "not found: GET /probe?target=host:port or /metrics\n")
        }
    }
}

/// `/probe`: the module, the target on the allow-list, a slot, then the probe.
async fn probe(request: &Request, state: &State) -> Response {
    let started = Instant::now();
    let refuse = |why: Refused, text: String| {
        state.metrics.refused(why);
        Response::text(400, format!("{}\n", crate::text::sanitize(&text, 300)))
    };
    let (module_name, target) = match (request.param("module"), request.param("target")) {
        (Ok(m), Ok(Some(t))) => (m.unwrap_or(modules::DEFAULT_MODULE), t),
        (Ok(_), Ok(None)) => return refuse(Refused::BadRequest, "missing target=host:port".into()),
        (Err(e), _) | (_, Err(e)) => return refuse(Refused::BadRequest, e),
    };
    let Some(module) = state.modules.get(module_name) else {
        return refuse(Refused::UnknownModule, format!("unknown module '{module_name}'"));
    };
    let target = match allow::parse_target(target) {
        Ok(t) => t,
        Err(e) => return refuse(Refused::BadRequest, e),
    };
    // The scrape's own timeout, less a margin, bounds the whole probe; the module's deadline otherwise.
    let mut deadline = module.ctx.endpoint_timeout;
    if let Some(scrape) = request.scrape_timeout {
        deadline = deadline.min(scrape.saturating_sub(SCRAPE_MARGIN).max(MIN_DEADLINE));
    }
    let (addr, name) = match state.allow.admit(&target, deadline).await {
        Ok(a) => a,
        Err(Refusal::NotAllowed(why)) => return refuse(Refused::NotAllowed, why),
        Err(Refusal::Unresolved(_)) => {
            state.metrics.probed(module_name, false, started.elapsed());
            return Response::metrics(unresolved(&target));
        }
    };
    let wait = SLOT_WAIT.min(deadline / 2);
    let Ok(Ok(_slot)) = tokio::time::timeout(wait, state.slots.clone().acquire_owned()).await else {
        state.metrics.refused(Refused::Busy);
        return Response::text(503, "every probe slot is busy\n");
    };
    let _in_flight = state.metrics.start();
    let left = deadline.saturating_sub(started.elapsed()).max(MIN_DEADLINE);
    let mut ctx = (*module.ctx).clone();
    ctx.endpoint_timeout = left;
    ctx.connect_timeout = ctx.connect_timeout.min(left);
    ctx.read_timeout = ctx.read_timeout.min(left);
    let ep = Endpoint { addr, name: name.map(Arc::from) };
    // The pipeline keeps its deadline; the outer bound only guards against a stage that would not.
    let Ok(record) = tokio::time::timeout(left + Duration::from_secs(1), crate::scan::probe_endpoint(&ep, &ctx)).await
    else {
        state.metrics.probed(module_name, false, started.elapsed());
        return Response::metrics(unresolved(&target));
    };
    let success = crate::report::prometheus::probe_success(&record);
    state.metrics.probed(module_name, success, started.elapsed());
    Response::metrics(crate::report::prometheus::exposition(&record))
}

/// The answer for a target that could not be probed at all (its name did not resolve, or the probe
/// overran): `probe_success 0`, as blackbox answers a failed lookup.
fn unresolved(target: &allow::Target) -> String {
    let host = match &target.host {
        allow::Host::Ip(ip) => format!("address=\"{ip}\""),
        allow::Host::Name(n) => format!("name=\"{}\"", crate::report::prometheus::label(n)),
    };
    let name = "redis_tls_scan_probe_success";
    format!(
        "# HELP {name} {}\n# TYPE {name} gauge\n{name}{{{host},port=\"{}\"}} 0\n",
        crate::report::prometheus::help(name),
        target.port
    )
}
