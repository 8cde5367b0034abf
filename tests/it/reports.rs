//! The report contract: `reports/README.md` documents exactly the fields and columns the tool writes
//! (golden tests), CSV cells are safe, and a run directory holds every file with valid checksums.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use redis_tls_scan::model::*;
use redis_tls_scan::report::csv::{ENDPOINT_COLUMNS, FINDING_COLUMNS, endpoint_row, finding_rows};
use serde_json::Value;

/// A record with every optional field present, so that every JSON path appears.
pub(crate) fn full_record() -> EndpointRecord {
    let summary = CertSummary {
        subject: "CN=redis".into(),
        issuer: "CN=CA".into(),
        subject_cn: Some("redis".into()),
        issuer_cn: Some("CA".into()),
        sans: vec!["DNS:redis.test".into(), "IP:127.0.0.1".into()],
        serial: "01:02".into(),
        not_before: "2026-01-01T00:00:00Z".into(),
        not_after: "2027-01-01T00:00:00Z".into(),
        days_left: Some(40),
        key_type: "EC".into(),
        key_bits: Some(256),
        key_curve: Some("secp256r1".into()),
        signature_algorithm: "ecdsa-with-SHA256".into(),
        sha256: "ab".repeat(32),
        self_signed: false,
        is_ca: false,
    };
    let probe = VersionProbe {
        status: VersionStatus::Rejected,
        failure: Some(HandshakeFailure::Alert),
        alert: Some(Alert { code: 70, name: "protocol_version".into() }),
        detail: Some("TLS alert protocol_version (70)".into()),
        cipher_suite: Some("TLS_AES_128_GCM_SHA256".into()),
        key_exchange_group: Some("x25519".into()),
        cipher_suites: vec![SuiteInfo {
            name: "TLS_AES_128_GCM_SHA256".into(),
            id: "0x1301".into(),
            class: SuiteClass::Recommended,
        }],
        enumeration: Enumeration::Full,
        server_preference: Some(false),
    };
    let mut versions = BTreeMap::new();
    for v in TlsVersion::ALL {
        versions.insert(v, probe.clone());
    }
    let ping = PingResult { status: PingStatus::Pong, reply: Some("+PONG".into()) };
    EndpointRecord {
        address: "127.0.0.1".parse::<IpAddr>().unwrap(),
        port: 6380,
        name: Some("redis.test".into()),
        reachability: Reachability::Open,
        plaintext: Some(PingResult { status: PingStatus::Reset, reply: Some("x".into()) }),
        tls: Some(TlsResult {
            speaks_tls: true,
            versions,
            negotiated: Some(Negotiated {
                version: TlsVersion::Tls13,
                cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
                key_exchange_group: Some("x25519".into()),
            }),
            client_auth: ClientAuth::None,
            ping: Some(ping.clone()),
            ping_with_client_cert: Some(ping),
            key_exchange: KeyExchange {
                dh_bits: Some(2048),
                groups: vec!["x25519".into()],
                weak_groups_accepted: vec!["secp192r1".into()],
            },
        }),
        certificate: Some(CertificateInfo {
            leaf: summary.clone(),
            chain: vec![summary],
            chain_complete: true,
            trust: TrustVerdict { trusted: false, reasons: vec![TrustReason::UnknownIssuer] },
            checked_identity: "redis.test".into(),
            hostname_match: true,
        }),
        audit: Some(full_audit()),
        findings: vec![Finding {
            id: FindingId::UnauthenticatedAccess,
            severity: Severity::Critical,
            evidence: "=cmd|' /C calc'!A0".into(),
        }],
        started_at: "2026-11-22T00:00:00Z".into(),
        duration_ms: 12,
        connections: 3,
        deadline_exceeded: false,
    }
}

/// An audit section with every optional field present.
pub(crate) fn full_audit() -> Audit {
    Audit {
        status: AuditStatus::Ok,
        detail: Some("d".into()),
        transport: AuditTransport::Tls,
        user: Some("audit".into()),
        version: Some("7.0.15".into()),
        run_id: Some("ab".into()),
        role: Some(AuditRole::Master),
        listeners: Some(Listeners { port: 6379, tls_port: 6380 }),
        config: [("tls-protocols".to_string(), "TLSv1.2 TLSv1.3".to_string())].into_iter().collect(),
        connected_clients: Some(4),
        clients: Some(Clients {
            plaintext: 1,
            tls: 2,
            other: 0,
            plaintext_addresses: vec!["127.0.0.1:5000".into()],
            plaintext_addresses_truncated: true,
        }),
        replication: Some(Replication {
            master: Some(MasterLink {
                host: "10.0.0.1".into(),
                port: 6379,
                link_status: Some("up".into()),
                tls: Some(true),
            }),
            replicas: vec![ReplicaLink { address: "127.0.0.1:5001".into(), listener: Listener::Tls }],
            announced_replicas: vec!["127.0.0.1:7001".into()],
        }),
        cluster: Some(Cluster {
            enabled: true,
            tls_cluster: Some(true),
            bus_port: Some(16380),
            nodes: vec![ClusterNode {
                ip: "127.0.0.1".into(),
                port: Some(7000),
                tls_port: Some(17000),
                role: Some("master".into()),
            }],
        }),
        acl_users: Some(vec![AclUser { name: "default".into(), enabled: true, nopass: true }]),
        unavailable: vec![Unavailable { item: AuditItem::ConfigGet, reason: "NOPERM".into() }],
    }
}

fn full_meta() -> ScanMeta {
    let proof = FileProof { path: "ca.pem".into(), sha256: "00".repeat(32) };
    ScanMeta {
        tool: "redis-tls-scan".into(),
        version: "0".into(),
        schema_version: SCHEMA_VERSION.into(),
        started_at: "s".into(),
        finished_at: Some("f".into()),
        scanner_host: "h".into(),
        command_line: vec!["redis-tls-scan".into()],
        targets: vec!["127.0.0.1 (argument:1)".into()],
        ports: vec![6379],
        exclusions: vec!["10.0.0.0/8 (--exclude:1)".into()],
        unresolved: vec![Unresolved { target: "x".into(), origin: "f:1".into(), error: "e".into() }],
        sni: Some("redis.test".into()),
        trust: TrustSource { roots: "system".into(), ca_files: vec![proof.clone()], anchors: 1 },
        client_certificate: Some(proof),
        timeouts_ms: Timeouts { connect: 1, read: 1, endpoint: 1 },
        concurrency: 1,
        rate: 1000,
        host_concurrency: 4,
        cipher_scan: "full".into(),
        warn_days: 30,
        endpoints_planned: 1,
        plan_digest: Some("22".repeat(32)),
        seed: 7,
        shard: Some("0/2".into()),
        reserved_excluded: true,
        merged_from: vec![FileProof { path: "shard0/scan.jsonl".into(), sha256: "11".repeat(32) }],
        // Every optional count present: `scanner_out_of_resources` and `followed` are written only when not 0.
        counts: Some(Counts { scanner_out_of_resources: 1, followed: 1, ..Counts::default() }),
        interrupted: false,
    }
}

fn full_summary() -> Summary {
    let mut s = Summary { max_severity: Some(Severity::High), ..Default::default() };
    s.findings_by_severity.insert(Severity::High, 1);
    s.findings_by_id.insert(FindingId::CertExpired, 1);
    s
}

/// Flattens a JSON value into dotted paths; arrays as `[]`, version maps as `<version>`, severity and
/// finding maps as `<severity>` / `<finding_id>`.
fn paths(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    out.insert(prefix.to_string());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let key = if TlsVersion::ALL.iter().any(|t| t.key() == k) && prefix.ends_with(".versions") {
                    "<version>".to_string()
                } else if prefix.ends_with("findings_by_severity") {
                    "<severity>".to_string()
                } else if prefix.ends_with(".audit.config") {
                    "<parameter>".to_string()
                } else if prefix.ends_with("findings_by_id") || prefix == "findings_catalog" {
                    "<finding_id>".to_string()
                } else {
                    k.clone()
                };
                paths(&format!("{prefix}.{key}"), child, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                paths(&format!("{prefix}[]"), child, out);
            }
        }
        _ => {}
    }
}

/// Names in backticks at the start of table rows, within the section that starts with `heading`.
fn documented(readme: &str, heading: &str) -> Vec<String> {
    let start = readme.find(heading).unwrap_or_else(|| panic!("reports/README.md lacks '{heading}'"));
    let section = &readme[start + heading.len()..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/README.md")).unwrap()
}

#[test]
fn endpoints_csv_columns_are_documented_in_order() {
    assert_eq!(documented(&readme(), "## endpoints.csv"), ENDPOINT_COLUMNS.to_vec());
}

#[test]
fn findings_csv_columns_are_documented_in_order() {
    assert_eq!(documented(&readme(), "## findings.csv"), FINDING_COLUMNS.to_vec());
}

#[test]
fn every_json_field_is_documented_and_nothing_more() {
    let mut actual = BTreeSet::new();
    paths("scan", &serde_json::to_value(full_meta()).unwrap(), &mut actual);
    // Every optional value present: `deadline_exceeded` is written only when true.
    let mut record = full_record();
    record.deadline_exceeded = true;
    paths("endpoints", &serde_json::to_value(vec![record]).unwrap(), &mut actual);
    paths("findings_catalog", &serde_json::to_value(redis_tls_scan::report::json::catalog()).unwrap(), &mut actual);
    paths("summary", &serde_json::to_value(full_summary()).unwrap(), &mut actual);
    actual.insert("schema_version".into());
    let documented: BTreeSet<String> = documented(&readme(), "## report.json").into_iter().collect();
    let missing: Vec<_> = actual.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&actual).collect();
    assert!(missing.is_empty() && stale.is_empty(), "undocumented: {missing:#?}\nno longer written: {stale:#?}");
}

#[test]
fn finding_ids_and_severities_are_documented() {
    let readme = readme();
    let rows = documented(&readme, "## Findings");
    let all = [
        "unauthenticated_access",
        "plaintext_enabled",
        "legacy_protocol",
        "weak_cipher",
        "weak_key_exchange",
        "cert_expired",
        "cert_not_yet_valid",
        "cert_expiring_soon",
        "cert_untrusted",
        "cert_self_signed",
        "cert_chain_incomplete",
        "cert_hostname_mismatch",
        "cert_weak_key",
        "cert_weak_signature",
        "client_auth_not_required",
        "mixed_mode",
        "cluster_bus_plaintext",
        "replication_plaintext",
        "plaintext_clients_connected",
        "tls_legacy_protocols_configured",
        "acl_user_without_password",
    ];
    assert_eq!(rows, all.to_vec());
    for id in all {
        let parsed: FindingId = serde_json::from_value(Value::String(id.into())).unwrap();
        assert_eq!(parsed.as_str(), id);
    }
}

#[test]
fn golden_csv_rows() {
    let r = full_record();
    let row = endpoint_row(&r).join(",");
    assert_eq!(
        row,
        "127.0.0.1,6380,redis.test,open,reset,x,true,rejected:alert:protocol_version,rejected:alert:protocol_version,\
rejected:alert:protocol_version,rejected:alert:protocol_version,rejected:alert:protocol_version,tls1_3,\
TLS_AES_128_GCM_SHA256,x25519,tls1_3:TLS_AES_128_GCM_SHA256;tls1_2:TLS_AES_128_GCM_SHA256;\
tls1_1:TLS_AES_128_GCM_SHA256;tls1_0:TLS_AES_128_GCM_SHA256;ssl3:TLS_AES_128_GCM_SHA256,,2048,secp192r1,none,pong,'+PONG,pong,CN=redis,CN=CA,DNS:redis.test;IP:127.0.0.1,01:02,\
2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,40,EC,256,ecdsa-with-SHA256,abababababababababababababababababababababababababababababababab,\
false,CN=redis,true,false,unknown_issuer,true,unauthenticated_access,critical,2026-11-22T00:00:00Z,12,3,false"
    );
    let f = &finding_rows(&r)[0];
    // A formula in remote-influenced text is neutralised.
    assert_eq!(f[6], "'=cmd|' /C calc'!A0");
}
