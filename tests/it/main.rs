//! Integration tests: real peers on loopback (redis-server, openssl s_server), hostile fakes, and the
//! binary end to end. One test binary, one module per concern.

// Test code panics on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod abuse;
mod accuracy;
mod audit;
mod certs;
mod cli;
mod cli_compat;
mod deploy;
mod diff;
mod exporter;
mod fds;
mod hostile;
mod hostpass;
mod hosts;
mod html;
mod legacy;
mod outlets;
mod redis;
mod reports;
mod resume;
mod stream;
mod support;
mod sweep;
