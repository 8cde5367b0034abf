//! redis-tls-scan: audits the transport security of Redis endpoints.
//!
//! ```text
//! targets (args, -f files, stdin)  ──input (byte caps)──targets::parse──►  endpoints::Plan (lazy, indexed,
//!        │                          exclusions cut out, each (address, port) once, digest in the metadata)
//!        │  report::rundir: the run directory claimed and locked (flock) before the first packet
//!        │
//!        ▼  scan::run: concurrency cap, per-endpoint deadline, Ctrl-C/SIGTERM → graceful stop
//!  ┌──────────── scan::probe_endpoint, a fresh TCP connection per probe ────────────┐
//!  │ probe::connect        refused / timeout → closed / filtered; stop               │
//!  │ probe::resp::ping     plaintext PING → pong / noauth / denied / ... / reset      │
//!  │ probe::tls::probe     TLS 1.3 and 1.2 via rustls: version, suite, group, chain,  │
//!  │                       client-auth policy, PING over TLS (+ with --client-cert)   │
//!  │ cert::inspect         x509 facts, chain completeness, trust verdict (all reasons)│
//!  │ finding::assess       contract finding ids with evidence and remediation         │
//!  └──────────────────────────────── model::EndpointRecord ─────────────────────────┘
//!        │ bounded channel
//!        ▼
//!  app::execute (the one writer): report::Journal (scan.jsonl, flushed per record), progress bar
//!        │ at the end: hosts::assess (mixed mode, cluster bus) → host findings journaled
//!        ▼
//!  report::finalize: report.json, endpoints.csv, findings.csv, summary.txt, SHA256SUMS
//! ```
//!
//! Modules: [`input`] bounded local reads · [`targets`] syntax · [`endpoints`] the lazy plan · [`config`] validated setup · [`scan`]
//! scheduler and pipeline · [`probe`] network probes · [`cert`] certificate facts and trust · [`finding`]
//! rules · [`hosts`] host-level pass · [`model`] the report schema · [`report`] sinks · [`progress`] bar · [`text`] sanitising ·
//! [`app`] running a setup · [`diff`] comparing sweeps · [`demo`] built-in endpoints · [`pki`] test/demo certificates · [`cli`] flags · [`manpage`] the man page ·
//! [`runs`] run directories for scheduled jobs · [`target_formats`] nmap/masscan/URI target input.

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
pub mod manpage;
pub mod merge;
pub mod model;
pub mod permute;
pub mod pki;
pub mod probe;
pub mod progress;
pub mod report;
pub mod runs;
pub mod scan;
pub mod target_formats;
pub mod targets;
pub mod text;
pub mod weak_sig;
