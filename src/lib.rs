//! redis-tls-scan: audits the transport security of Redis endpoints.
//!
//! ```text
//! targets (args, -f files, stdin)  ──input (byte caps)──targets::parse──►  endpoints::Plan (lazy, indexed,
//!        │                          exclusions cut out, each (address, port) once, digest in the metadata)
//!        │  setup: resolve (targets, DNS) · pem (anchors, client cert) · limits (timeouts; the fd floor,
//!        │         counted in main before any runtime, with what the parent left open; the socket budget)
//!        │         · meta · resume (a journal read back) → Setup::assemble, the one constructor
//!        │  report::rundir: the run directory claimed and locked (flock) before the first packet
//!        │
//!        ▼  scan::run(Sweep): concurrency cap, per-endpoint deadline, Ctrl-C/SIGTERM → graceful stop
//!  ┌──────────── scan::probe_endpoint, a fresh TCP connection per probe ──────────────┐
//!  │ probe::Identity       SNI / hostname-check identity, resolved once               │
//!  │ probe::connect        a socket from the scan's Sockets budget (waits, never      │
//!  │                       fails for want of one); refused / timeout → closed /       │
//!  │                       filtered; accept+reset → open; EMFILE after waiting →      │
//!  │                       scanner_out_of_resources, never a verdict on the target    │
//!  │ probe::resp::ping     plaintext PING → pong / noauth / denied / loading / ...    │
//!  │ probe::tls::probe     TLS 1.3 and 1.2 handshakes at once via rustls (session,    │
//!  │                       handshake, auth; weak keys verified by weak_sig), one      │
//!  │                       PING; + with --client-cert                                 │
//!  │ probe::raw::audit     hand-built ClientHellos: versions, every suite, DH, curves │
//!  │ cert::inspect         x509 facts, chain completeness, trust verdict (all reasons)│
//!  │ probe::audit          --audit: one AUTH, read-only INFO/CONFIG GET/CLIENT LIST/  │
//!  │                       ACL LIST/ROLE/CLUSTER SHARDS over the endpoint's transport │
//!  │ finding::assess       contract finding ids with evidence                         │
//!  └──────────────────────────────── model::EndpointRecord ───────────────────────────┘
//!        │ bounded channel, batches of 32 records (or 50 ms) per scan thread
//!        ▼
//!  app::execute (the one writer): report::Journal (scan.jsonl, flushed per batch, hashed as
//!        │ written) + report::index::Builder (address, port, offset: ~40 B per open endpoint)
//!        │ + report::spool (each record's CSV rows rendered now, next to its JSON: 24 MiB in
//!        │   memory, the rest in a temp file),
//!        │ progress bar, report::stream (--format jsonl: the same line bytes on stdout)
//!        │ at the end: follow::run (--follow: endpoints the audits name, inside the scope),
//!        │ hosts::assess (mixed mode; bus ports asked concurrently, cancellable)
//!        ▼
//!  report::finalize_index: one pass over the records in (address, port) order (each record read
//!  once, from the spool or the journal, and parsed, by two reader threads taking alternate batches)
//!  feeding every report::Sink on three lanes (threads) at once: endpoints.csv | findings.csv |
//!  report.json, summary.txt (+ the terminal text), summary.md, report.html, --prometheus (the CSVs
//!  and report.json copy bytes already rendered); SHA256SUMS from the hashes taken while writing,
//!  once the journal's sync (run alongside) is done. A resumed run or `merge` first reads the journal
//!  once to index it, and renders the rows in the pass.
//!  `--format json` then copies report.json to stdout; `-o none` runs in a scratch directory.
//!
//!  serve (the exporter): GET /probe?target=&module= ──serve::http (capped head)──serve::allow (before
//!  any packet)──a probe slot──► scan::probe_endpoint (the module's ProbeContext, deadline = the scrape's
//!  timeout) ──► report::prometheus::exposition (the textfile's series for one record); GET /metrics:
//!  serve::metrics.
//! ```
//!
//! Modules: [`input`] bounded local reads · [`targets`] syntax · [`endpoints`] the lazy plan · [`setup`] validated
//! setup ([`config`]: its old path) · [`scan`] scheduler and pipeline · [`probe`] network probes (wire idioms in
//! [`probe::wire`], the socket budget in [`probe::Sockets`]) · [`cert`] certificate facts and trust · [`finding`]
//! rules · [`follow`] `--follow` (topology named by audits) · [`hosts`] host-level pass · [`model`] the report schema · [`report`] journal, index, row spool and sinks · [`weak_sig`] legacy signature checks · [`progress`] bar · [`text`] sanitising ·
//! [`app`] running a setup · [`diff`] comparing sweeps · [`demo`] built-in endpoints · [`pki`] test/demo certificates · [`cli`] flags · [`manpage`] the man page ·
//! [`runs`] run directories for scheduled jobs · [`serve`] the Prometheus exporter · [`push`] Pushgateway · [`target_formats`] nmap/masscan/URI target input.

pub mod app;
pub mod cert;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diff;
pub mod endpoints;
pub mod finding;
pub mod follow;
pub mod hosts;
pub mod input;
pub mod manpage;
pub mod merge;
pub mod model;
pub mod permute;
pub mod pki;
pub mod probe;
pub mod progress;
pub mod push;
pub mod report;
pub mod runs;
pub mod scan;
pub mod serve;
pub mod setup;
pub mod target_formats;
pub mod targets;
pub mod text;
pub mod weak_sig;
