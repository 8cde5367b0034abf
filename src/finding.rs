//! Findings: pure rules from an endpoint's record to the contract's finding ids (design.md §2).
//!
//! Runs after the probes, before the record is journaled. Each finding carries its evidence (what was
//! observed) and the remediation as the concrete `redis.conf` change.

use crate::cert::{is_weak_key, is_weak_signature};
use crate::model::{
    Audit, ClientAuth, EndpointRecord, Finding, FindingId, Listener, PingResult, PingStatus, Severity, SuiteClass,
    TlsResult, TlsVersion, TrustReason, VersionStatus,
};

/// Policy knobs the rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `cert_expiring_soon` when the leaf has at most this many days left.
    pub warn_days: i64,
    /// The instant certificate ages are measured from (Unix time): the scan's start, the same for every
    /// endpoint of a sweep, so that a day boundary cannot fall between two endpoints' `days_left`.
    pub as_of: i64,
}

impl Rules {
    /// Rules with `warn_days`, certificate ages as of now.
    pub fn new(warn_days: i64) -> Self {
        Self { warn_days, as_of: time::OffsetDateTime::now_utc().unix_timestamp() }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self::new(30)
    }
}

/// How an unauthenticated PING was answered, for the evidence.
fn answered(p: &PingResult) -> String {
    match p.status {
        PingStatus::Pong => "+PONG".into(),
        s => format!(
            "{} (Redis checks this only after authentication, so no credential was needed)",
            p.reply.as_deref().unwrap_or(s.as_str())
        ),
    }
}

/// All findings for one endpoint, most severe first.
pub fn assess(rec: &EndpointRecord, rules: &Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    let plain = rec.plaintext.as_ref();
    let tls = rec.tls.as_ref();

    // +PONG, or an error Redis sends only after the authentication check passed (-LOADING, -BUSY,
    // -MASTERDOWN, -NOPERM): either way no credential was needed.
    let open_plain = plain.filter(|p| p.status.no_credentials_needed());
    let open_tls = tls.and_then(|t| t.ping.as_ref()).filter(|p| p.status.no_credentials_needed());
    if open_plain.is_some() || open_tls.is_some() {
        let how = match (open_plain, open_tls) {
            (Some(p), Some(_)) => format!("{} in plaintext and over TLS", answered(p)),
            (Some(p), None) => format!("{} in plaintext", answered(p)),
            (None, Some(t)) => format!("{} over TLS without a client certificate", answered(t)),
            (None, None) => String::new(),
        };
        // Evidence kept short: it is journaled for every open Redis of a sweep.
        out.push(Finding::new(FindingId::UnauthenticatedAccess, how));
    }
    if let Some(p) = plain.filter(|p| p.status.is_redis()) {
        out.push(Finding::new(
            FindingId::PlaintextEnabled,
            format!("plaintext PING: {}", p.reply.as_deref().unwrap_or(p.status.as_str())),
        ));
    }
    if let Some(t) = tls {
        let ping_ok = t.ping.as_ref().is_some_and(|p| p.status.is_redis());
        if ping_ok && t.client_auth != ClientAuth::Required {
            out.push(Finding::new(
                FindingId::ClientAuthNotRequired,
                format!(
                    "PING over TLS answered {} without a client certificate (client auth: {})",
                    t.ping.as_ref().and_then(|p| p.reply.as_deref()).unwrap_or("a Redis reply"),
                    t.client_auth.as_str()
                ),
            ));
        }
    }
    if let Some(t) = tls {
        legacy_and_weak(t, &mut out);
    }
    if let Some(c) = &rec.certificate {
        let leaf = &c.leaf;
        let reasons = &c.trust.reasons;
        if reasons.contains(&TrustReason::Expired) {
            let expired: Vec<String> = c
                .chain
                .iter()
                .filter(|s| s.days_left.is_some_and(|d| d < 0))
                .map(|s| format!("'{}' expired {}", s.subject, s.not_after))
                .collect();
            out.push(Finding::new(FindingId::CertExpired, expired.join("; ")));
        }
        if reasons.contains(&TrustReason::NotYetValid) {
            out.push(Finding::new(
                FindingId::CertNotYetValid,
                format!(
                    "'{}' valid from {} (check the server clock and the issuing process)",
                    leaf.subject, leaf.not_before
                ),
            ));
        }
        if let Some(days) = leaf.days_left.filter(|d| (0..=rules.warn_days).contains(d)) {
            out.push(Finding::new(
                FindingId::CertExpiringSoon,
                format!("{days} days left (not after {}), threshold {} days", leaf.not_after, rules.warn_days),
            ));
        }
        let path_reasons: Vec<&str> = reasons
            .iter()
            .filter(|r| {
                !matches!(
                    r,
                    TrustReason::Expired
                        | TrustReason::NotYetValid
                        | TrustReason::NameMismatch
                        | TrustReason::KeyNotProven
                )
            })
            .map(|r| r.as_str())
            .collect();
        if !path_reasons.is_empty() {
            out.push(Finding::new(
                FindingId::CertUntrusted,
                format!("{} (issuer '{}')", path_reasons.join(", "), leaf.issuer),
            ));
        }
        if leaf.self_signed {
            out.push(Finding::new(FindingId::CertSelfSigned, format!("subject and issuer '{}'", leaf.subject)));
        } else if !c.chain_complete {
            out.push(Finding::new(
                FindingId::CertChainIncomplete,
                format!(
                    "chain sent: {} certificate(s), last issuer '{}' not sent and not an anchor",
                    c.chain.len(),
                    c.chain.last().map_or("", |s| s.issuer.as_str())
                ),
            ));
        }
        if !c.hostname_match {
            out.push(Finding::new(
                FindingId::CertHostnameMismatch,
                format!("'{}' not in SANs [{}]", c.checked_identity, leaf.sans.join(", ")),
            ));
        }
        let weak_keys: Vec<String> = c
            .chain
            .iter()
            .filter(|s| is_weak_key(&s.key_type, s.key_bits))
            .map(|s| format!("'{}' {} {} bits", s.subject, s.key_type, s.key_bits.unwrap_or(0)))
            .collect();
        if !weak_keys.is_empty() {
            out.push(Finding::new(FindingId::CertWeakKey, weak_keys.join("; ")));
        }
        let weak_sigs: Vec<String> = c
            .chain
            .iter()
            .filter(|s| !s.self_signed && is_weak_signature(&s.signature_algorithm))
            .map(|s| format!("'{}' signed with {}", s.subject, s.signature_algorithm))
            .collect();
        if !weak_sigs.is_empty() {
            out.push(Finding::new(FindingId::CertWeakSignature, weak_sigs.join("; ")));
        }
    }
    if let Some(a) = &rec.audit {
        audited(rec, a, &mut out);
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    out
}

/// Addresses listed in evidence, at most.
const EVIDENCE_ADDRESSES: usize = 20;

/// `a, b, c (+N more)`.
fn listed(items: &[String], total: usize) -> String {
    let shown: Vec<&str> = items.iter().take(EVIDENCE_ADDRESSES).map(String::as_str).collect();
    let more = total.saturating_sub(shown.len());
    if more > 0 { format!("{} (+{more} more)", shown.join(", ")) } else { shown.join(", ") }
}

/// The `--audit` findings: what the server said about its replication, clients, cluster bus,
/// `tls-protocols` and ACL users.
fn audited(rec: &EndpointRecord, a: &Audit, out: &mut Vec<Finding>) {
    let here = rec.endpoint();
    let plain_port = a.listeners.map_or(0, |l| l.port);
    if let Some(r) = &a.replication {
        let mut links = Vec::new();
        let plain: Vec<String> =
            r.replicas.iter().filter(|l| l.listener == Listener::Plaintext).map(|l| l.address.clone()).collect();
        if !plain.is_empty() {
            links.push(format!(
                "master {here}: replica connection(s) {} on the plaintext port {plain_port}",
                listed(&plain, plain.len())
            ));
        }
        if let Some(m) = &r.master
            && m.tls == Some(false)
        {
            links.push(format!("replica {here} replicates from master {}:{} with tls-replication no", m.host, m.port));
        }
        if !links.is_empty() {
            out.push(Finding::new(FindingId::ReplicationPlaintext, links.join("; ")));
        }
    }
    if let Some(c) = &a.clients
        && c.plaintext > 0
    {
        out.push(Finding::new(
            FindingId::PlaintextClientsConnected,
            format!(
                "{} client(s) on the plaintext port {plain_port}: {}",
                c.plaintext,
                listed(&c.plaintext_addresses, c.plaintext as usize)
            ),
        ));
    }
    if let (Some(cl), Some(l)) = (&a.cluster, a.listeners)
        && cl.enabled
        && cl.tls_cluster == Some(false)
        && l.tls_port != 0
    {
        let bus = cl.bus_port.map_or_else(|| "?".to_string(), |p| p.to_string());
        out.push(Finding::new(
            FindingId::ClusterBusPlaintext,
            format!("configuration: cluster-enabled yes, tls-cluster no: the bus (port {bus}) is plaintext next to tls-port {}", l.tls_port),
        ));
    }
    if let Some(p) = a.config("tls-protocols") {
        let legacy: Vec<&str> = p
            .split_whitespace()
            .filter(|t| t.eq_ignore_ascii_case("TLSv1") || t.eq_ignore_ascii_case("TLSv1.1"))
            .collect();
        if !legacy.is_empty() {
            out.push(Finding::new(
                FindingId::TlsLegacyProtocolsConfigured,
                format!("tls-protocols \"{p}\" allows {}", legacy.join(", ")),
            ));
        }
    }
    if let Some(users) = &a.acl_users {
        let open: Vec<String> = users.iter().filter(|u| u.enabled && u.nopass).map(|u| u.name.clone()).collect();
        if !open.is_empty() {
            let mut f = Finding::new(
                FindingId::AclUserWithoutPassword,
                format!("enabled with nopass: {}", listed(&open, open.len())),
            );
            if open.iter().any(|u| u == "default") {
                f.severity = Severity::Critical;
            }
            out.push(f);
        }
    }
}

/// `legacy_protocol`, `weak_cipher` and `weak_key_exchange` from the version and suite verdicts.
fn legacy_and_weak(t: &TlsResult, out: &mut Vec<Finding>) {
    let accepted = |v: TlsVersion| t.versions.get(&v).is_some_and(|p| p.status == VersionStatus::Accepted);
    let legacy: Vec<TlsVersion> =
        [TlsVersion::Ssl3, TlsVersion::Tls10, TlsVersion::Tls11].into_iter().filter(|v| accepted(*v)).collect();
    if let Some(oldest) = legacy.first() {
        let mut f = Finding::new(
            FindingId::LegacyProtocol,
            format!("accepts {}", legacy.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")),
        );
        f.severity = if *oldest == TlsVersion::Tls11 { Severity::Medium } else { Severity::High };
        out.push(f);
    }
    let mut weak: Vec<(SuiteClass, String)> = Vec::new();
    for (v, p) in &t.versions {
        for s in p.cipher_suites.iter().filter(|s| s.class <= SuiteClass::Weak) {
            weak.push((s.class, format!("{} ({})", s.name, v.short())));
        }
    }
    if !weak.is_empty() {
        weak.sort();
        let insecure = weak.iter().any(|(c, _)| *c == SuiteClass::Insecure);
        let shown: Vec<&str> = weak.iter().take(12).map(|(_, n)| n.as_str()).collect();
        let more = weak.len().saturating_sub(shown.len());
        let mut f = Finding::new(
            FindingId::WeakCipher,
            format!(
                "{} weak or insecure suite(s): {}{}",
                weak.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
        );
        f.severity = if insecure { Severity::High } else { Severity::Low };
        out.push(f);
    }
    let kx = &t.key_exchange;
    let mut why = Vec::new();
    if let Some(bits) = kx.dh_bits.filter(|b| *b < 2048) {
        why.push(format!("ephemeral DH group of {bits} bits"));
    }
    if !kx.weak_groups_accepted.is_empty() {
        why.push(format!("accepts curves under 224 bits: {}", kx.weak_groups_accepted.join(", ")));
    }
    if !why.is_empty() {
        out.push(Finding::new(FindingId::WeakKeyExchange, why.join("; ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CertSummary, CertificateInfo};

    #[test]
    fn key_strength_thresholds() {
        assert!(is_weak_key("RSA", Some(1024)));
        assert!(is_weak_key("RSA", Some(2047)));
        assert!(!is_weak_key("RSA", Some(2048)));
        assert!(is_weak_key("EC", Some(224)));
        assert!(!is_weak_key("EC", Some(256)));
        assert!(!is_weak_key("Ed25519", Some(256)));
    }

    fn open_record() -> EndpointRecord {
        EndpointRecord {
            address: "10.0.0.1".parse().unwrap(),
            port: 6379,
            name: None,
            reachability: crate::model::Reachability::Open,
            plaintext: None,
            tls: None,
            certificate: None,
            audit: None,
            findings: Vec::new(),
            started_at: String::new(),
            duration_ms: 0,
            connections: 1,
            deadline_exceeded: false,
        }
    }

    fn ping(status: PingStatus) -> Option<PingResult> {
        Some(PingResult { status, reply: None })
    }

    fn tls(ping_status: Option<PingStatus>, client_auth: ClientAuth) -> TlsResult {
        TlsResult {
            speaks_tls: true,
            versions: Default::default(),
            negotiated: None,
            client_auth,
            ping: ping_status.and_then(ping),
            ping_with_client_cert: None,
            key_exchange: Default::default(),
        }
    }

    fn accepting(mut t: TlsResult, v: TlsVersion, suites: &[u16]) -> TlsResult {
        let mut p = crate::model::VersionProbe::not_tested();
        p.status = VersionStatus::Accepted;
        p.cipher_suites = suites.iter().map(|id| crate::probe::suites::info(*id)).collect();
        t.versions.insert(v, p);
        t
    }

    fn cert(
        days_left: i64,
        reasons: Vec<TrustReason>,
        key_bits: u32,
        signature: &str,
        self_signed: bool,
    ) -> CertificateInfo {
        let leaf = CertSummary {
            subject: "CN=leaf".into(),
            issuer: if self_signed { "CN=leaf".into() } else { "CN=ca".into() },
            subject_cn: None,
            issuer_cn: None,
            sans: vec!["IP:10.0.0.1".into()],
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_left: Some(days_left),
            key_type: "RSA".into(),
            key_bits: Some(key_bits),
            key_curve: None,
            signature_algorithm: signature.into(),
            sha256: String::new(),
            self_signed,
            is_ca: false,
        };
        let hostname_match = !reasons.contains(&TrustReason::NameMismatch);
        CertificateInfo {
            leaf: leaf.clone(),
            chain: vec![leaf],
            chain_complete: true,
            trust: crate::model::TrustVerdict { trusted: reasons.is_empty(), reasons },
            checked_identity: "10.0.0.1".into(),
            hostname_match,
        }
    }

    /// The contract's rules over hand-built records: each row a record and the (id, severity) it raises.
    #[test]
    fn finding_rules_table() {
        use FindingId as F;
        use Severity as S;
        let good_cert = || cert(200, vec![], 2048, "sha256WithRSAEncryption", false);
        let required = || tls(None, ClientAuth::Required);
        type Row = (&'static str, EndpointRecord, Vec<(FindingId, Severity)>);
        let rows: Vec<Row> = vec![
            ("open, nothing answered", open_record(), vec![]),
            (
                "plaintext +PONG",
                EndpointRecord { plaintext: ping(PingStatus::Pong), ..open_record() },
                vec![(F::UnauthenticatedAccess, S::Critical), (F::PlaintextEnabled, S::High)],
            ),
            (
                "plaintext -NOAUTH",
                EndpointRecord { plaintext: ping(PingStatus::Noauth), ..open_record() },
                vec![(F::PlaintextEnabled, S::High)],
            ),
            (
                "plaintext -DENIED (protected mode)",
                EndpointRecord { plaintext: ping(PingStatus::Denied), ..open_record() },
                vec![(F::PlaintextEnabled, S::High)],
            ),
            (
                "plaintext -LOADING: checked after authentication",
                EndpointRecord { plaintext: ping(PingStatus::Loading), ..open_record() },
                vec![(F::UnauthenticatedAccess, S::Critical), (F::PlaintextEnabled, S::High)],
            ),
            ("not RESP", EndpointRecord { plaintext: ping(PingStatus::NotResp), ..open_record() }, vec![]),
            (
                "TLS +PONG without a client certificate",
                EndpointRecord {
                    tls: Some(tls(Some(PingStatus::Pong), ClientAuth::None)),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::UnauthenticatedAccess, S::Critical), (F::ClientAuthNotRequired, S::Low)],
            ),
            (
                "TLS -NOAUTH, optional client auth",
                EndpointRecord {
                    tls: Some(tls(Some(PingStatus::Noauth), ClientAuth::Optional)),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::ClientAuthNotRequired, S::Low)],
            ),
            (
                "TLS, client certificate required",
                EndpointRecord { tls: Some(required()), certificate: Some(good_cert()), ..open_record() },
                vec![],
            ),
            (
                "TLS 1.0 accepted",
                EndpointRecord {
                    tls: Some(accepting(required(), TlsVersion::Tls10, &[0xc02f])),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::LegacyProtocol, S::High)],
            ),
            (
                "TLS 1.1 the oldest accepted, with a CBC suite",
                EndpointRecord {
                    tls: Some(accepting(required(), TlsVersion::Tls11, &[0xc013])),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::LegacyProtocol, S::Medium), (F::WeakCipher, S::Low)],
            ),
            (
                "an RC4 suite",
                EndpointRecord {
                    tls: Some(accepting(required(), TlsVersion::Tls12, &[0x0005])),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::WeakCipher, S::High)],
            ),
            (
                "a 1024-bit DH group",
                EndpointRecord {
                    tls: Some(TlsResult {
                        key_exchange: crate::model::KeyExchange { dh_bits: Some(1024), ..Default::default() },
                        ..required()
                    }),
                    certificate: Some(good_cert()),
                    ..open_record()
                },
                vec![(F::WeakKeyExchange, S::Medium)],
            ),
            (
                "expired, from an unknown issuer, for another name",
                EndpointRecord {
                    tls: Some(required()),
                    certificate: Some(cert(
                        -3,
                        vec![TrustReason::Expired, TrustReason::UnknownIssuer, TrustReason::NameMismatch],
                        2048,
                        "sha256WithRSAEncryption",
                        false,
                    )),
                    ..open_record()
                },
                vec![(F::CertExpired, S::High), (F::CertUntrusted, S::High), (F::CertHostnameMismatch, S::Medium)],
            ),
            (
                "expiring in 10 days",
                EndpointRecord {
                    tls: Some(required()),
                    certificate: Some(cert(10, vec![], 2048, "sha256WithRSAEncryption", false)),
                    ..open_record()
                },
                vec![(F::CertExpiringSoon, S::Medium)],
            ),
            (
                "self-signed RSA-1024 SHA-1",
                EndpointRecord {
                    tls: Some(required()),
                    certificate: Some(cert(
                        200,
                        vec![TrustReason::UnknownIssuer, TrustReason::WeakKey],
                        1024,
                        "sha1WithRSAEncryption",
                        true,
                    )),
                    ..open_record()
                },
                vec![(F::CertUntrusted, S::High), (F::CertWeakKey, S::High), (F::CertSelfSigned, S::Medium)],
            ),
            (
                "a SHA-1 signature by a CA",
                EndpointRecord {
                    tls: Some(required()),
                    certificate: Some(cert(
                        200,
                        vec![TrustReason::UnsupportedSignatureAlgorithm],
                        2048,
                        "sha1WithRSAEncryption",
                        false,
                    )),
                    ..open_record()
                },
                vec![(F::CertUntrusted, S::High), (F::CertWeakSignature, S::Medium)],
            ),
        ];
        for (what, record, want) in rows {
            let got: Vec<(FindingId, Severity)> =
                assess(&record, &Rules { warn_days: 30, as_of: 0 }).iter().map(|f| (f.id, f.severity)).collect();
            assert_eq!(got, want, "{what}");
        }
    }
}
