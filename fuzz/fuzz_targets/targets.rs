//! Fuzz target: target-file lines, single targets and port lists.
#![no_main]
use libfuzzer_sys::fuzz_target;
use redis_tls_scan::endpoints::{Plan, Resolved};
use redis_tls_scan::targets::{parse_lines, parse_ports, parse_target};

fuzz_target!(|data: &[u8]| {
    let (specs, _errors) = parse_lines("fuzz", data);
    let resolved: Vec<Resolved> = specs.iter().map(Resolved::from_spec).collect();
    let plan = Plan::build(&resolved, &[6379, 6380], &[]);
    // The plan is lazy: indexing anywhere is fine, even for a huge space.
    let _ = plan.get(plan.len() / 2);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_target(s);
        let _ = parse_ports(s);
    }
});
