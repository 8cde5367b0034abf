//! Fuzz target: the PING reply classifier, for every way a read can end.
#![no_main]
use libfuzzer_sys::fuzz_target;
use redis_tls_scan::probe::ReadEnd;
use redis_tls_scan::probe::resp::classify;

fuzz_target!(|data: &[u8]| {
    for end in [ReadEnd::Line, ReadEnd::Cap, ReadEnd::Eof, ReadEnd::Reset, ReadEnd::Timeout, ReadEnd::Error] {
        let r = classify(data, end);
        if let Some(reply) = r.reply {
            assert!(reply.chars().all(|c| (' '..='~').contains(&c)), "unescaped reply");
        }
    }
});
