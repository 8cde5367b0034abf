//! Fuzz target: the audit's RESP reply parser and the fact extractors over what it parsed (a
//! hostile server's replies to INFO, CONFIG GET, CLIENT LIST, ACL LIST, ROLE, CLUSTER SHARDS/NODES).
#![no_main]
use libfuzzer_sys::fuzz_target;
use redis_tls_scan::probe::audit::{facts, reply};

fuzz_target!(|data: &[u8]| {
    let found = reply::End::default().find(data);
    match reply::parse(data) {
        reply::Parsed::Complete(v, end) => {
            assert!(end <= data.len(), "a reply cannot end past its bytes");
            assert_eq!(found, Ok(Some(end)), "End and parse disagree on where the reply ends");
            let config = facts::config(&v, &["port", "tls-port", "tls-protocols"]);
            let _ = facts::listeners(&config);
            let _ = facts::acl_users(&v);
            let _ = facts::role(&v);
            let _ = facts::cluster_shards(&v);
        }
        reply::Parsed::Incomplete(_) => assert_eq!(found, Ok(None), "End and parse disagree"),
        reply::Parsed::Invalid(_) => assert!(found.is_err(), "End and parse disagree"),
    }
    // Bulk-string payloads, as the text extractors see them.
    let _ = facts::info(data, &["role", "master_host", "redis_version"]);
    let _ = facts::info_replicas(data);
    let _ = facts::client_list(data);
    let _ = facts::cluster_nodes(data);
    let _ = facts::text(data);
});
