//! Fuzz target: certificate inspection and the trust verdict on arbitrary DER (one certificate, or a
//! chain cut at each 0x30 0x82 that starts a new SEQUENCE).
#![no_main]
use libfuzzer_sys::fuzz_target;
use redis_tls_scan::cert::{KeyProof, TrustAnchors, inspect};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, ServerName};

fuzz_target!(|data: &[u8]| {
    let mut chain = Vec::new();
    let mut start = 0;
    for i in 1..data.len().saturating_sub(1) {
        if data[i] == 0x30 && data[i + 1] == 0x82 && chain.len() < 20 {
            chain.push(CertificateDer::from(data[start..i].to_vec()));
            start = i;
        }
    }
    chain.push(CertificateDer::from(data[start..].to_vec()));
    let anchors = TrustAnchors::new(RootCertStore::empty());
    let id = ServerName::try_from("redis.test").unwrap();
    if let Some(info) = inspect(&chain, &id, &anchors, 1_800_000_000, &KeyProof::Unverified) {
        assert!(!info.leaf.subject.chars().any(char::is_control), "unsanitised subject");
    }
});
