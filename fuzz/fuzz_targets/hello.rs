//! Fuzz target: the server-flight parser of the raw ClientHello probe.
#![no_main]
use libfuzzer_sys::fuzz_target;
use redis_tls_scan::probe::hello::{complete_records_len, parse_reply};

fuzz_target!(|data: &[u8]| {
    let _ = parse_reply(data);
    let n = complete_records_len(data, 0);
    assert!(n <= data.len());
});
