//! Integration tests: real peers on loopback (redis-server, openssl s_server), hostile fakes, and the
//! binary end to end. One test binary, one module per concern.

mod support;
mod certs;
mod hostile;
mod redis;
mod reports;
