//! redis-tls-scan: audits the transport security of Redis endpoints.
//!
//! ```text
//! targets (args, -f files, stdin)  ──input (byte caps)──targets::parse──►  endpoints::Plan (lazy, indexed,
//!        │                          exclusions cut out, each (address, port) once, digest in the metadata)
//!        │  setup: resolve (targets, DNS) · pem (anchors, client cert) · limits (timeouts, fd budget)
//!        │         · meta · resume (a journal read back) → Setup::assemble, the one constructor
//!        │  report::rundir: the run directory claimed and locked (flock) before the first packet
//!        │
//!        ▼  scan::run(Sweep): concurrency cap, per-endpoint deadline, Ctrl-C/SIGTERM → graceful stop
//!  ┌──────────── scan::probe_endpoint, a fresh TCP connection per probe ──────────────┐
//!  │ probe::Identity       SNI / hostname-check identity, resolved once               │
//!  │ probe::connect        a socket from the scan's Sockets budget (waits, never      │
//!  │                       fails for want of one); refused / timeout → closed /       │
//!  │                       filtered; EMFILE → scanner_out_of_resources; stop          │
//!  │ probe::resp::ping     plaintext PING → pong / noauth / denied / ... / reset      │
//!  │ probe::tls::probe     TLS 1.3 and 1.2 via rustls (session, handshake, auth):     │
//!  │                       version, suite, group, chain, client-auth policy, PING     │
//!  │                       over TLS (+ with --client-cert)                            │
//!  │ probe::raw::audit     raw ClientHellos: SSLv3..TLS 1.3, every suite, weak groups │
//!  │ cert::inspect         x509 facts, chain completeness, trust verdict (all reasons)│
//!  │ finding::assess       contract finding ids with evidence and remediation         │
//!  └──────────────────────────────── model::EndpointRecord ───────────────────────────┘
//!        │ bounded channel
//!        ▼
//!  app::execute (the one writer): report::Journal (scan.jsonl, flushed per record), progress bar
//!        │ at the end: hosts::assess (mixed mode, cluster bus) → host findings journaled
//!        ▼
//!  report::finalize: report.json, endpoints.csv, findings.csv, summary.txt, SHA256SUMS
//! ```
//!
//! Modules: [`input`] bounded local reads · [`targets`] syntax · [`endpoints`] the lazy plan · [`setup`] validated setup
//! ([`config`]: its old path) · [`scan`] scheduler and pipeline · [`probe`] network probes (shared wire idioms in
//! [`probe::wire`], the socket budget in [`probe::Sockets`]) · [`cert`] certificate facts and trust · [`finding`]
//! rules · [`hosts`] host-level pass · [`model`] the report schema · [`report`] sinks · [`progress`] bar · [`text`] sanitising ·
//! [`app`] running a setup · [`diff`] comparing sweeps · [`demo`] built-in endpoints · [`pki`] test/demo certificates · [`cli`] flags.

pub mod app;
pub mod cert;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diff;
pub mod endpoints;
pub mod finding;
pub mod hosts;
pub mod input;
pub mod merge;
pub mod model;
pub mod permute;
pub mod pki;
pub mod probe;
pub mod progress;
pub mod report;
pub mod scan;
pub mod setup;
pub mod targets;
pub mod text;
pub mod weak_sig;
