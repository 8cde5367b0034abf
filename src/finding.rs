//! Findings: pure rules from an endpoint's record to the contract's finding ids (design.md §2).
//!
//! Runs after the probes, before the record is journaled. Each finding carries its evidence (what was
//! observed) and the remediation as the concrete `redis.conf` change.

use crate::cert::{is_weak_key, is_weak_signature};
use crate::model::{
    ClientAuth, EndpointRecord, Finding, FindingId, PingResult, PingStatus, Severity, SuiteClass, TlsResult,
    TlsVersion, TrustReason, VersionStatus,
};

/// Policy knobs the rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `cert_expiring_soon` when the leaf has at most this many days left.
    pub warn_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self { warn_days: 30 }
    }
}

/// Severity of a finding id; `legacy_protocol` and `weak_cipher` vary with what was seen, so the
/// finding's own severity field is authoritative.
pub fn default_severity(id: FindingId) -> Severity {
    match id {
        FindingId::UnauthenticatedAccess => Severity::Critical,
        FindingId::PlaintextEnabled
        | FindingId::CertExpired
        | FindingId::CertNotYetValid
        | FindingId::CertUntrusted
        | FindingId::CertWeakKey
        | FindingId::LegacyProtocol
        | FindingId::WeakCipher => Severity::High,
        FindingId::WeakKeyExchange
        | FindingId::CertExpiringSoon
        | FindingId::CertSelfSigned
        | FindingId::CertChainIncomplete
        | FindingId::CertHostnameMismatch
        | FindingId::CertWeakSignature
        | FindingId::MixedMode
        | FindingId::ClusterBusPlaintext => Severity::Medium,
        FindingId::ClientAuthNotRequired => Severity::Low,
    }
}

/// A finding with its id's default severity.
pub(crate) fn finding(id: FindingId, title: &str, evidence: String, remediation: &str) -> Finding {
    Finding {
        id,
        severity: default_severity(id),
        title: title.to_string(),
        evidence,
        remediation: remediation.to_string(),
    }
}

const RENEW: &str =
    "renew the certificate and point tls-cert-file / tls-key-file at it, then CONFIG SET them or restart";

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
        out.push(finding(
            FindingId::UnauthenticatedAccess,
            "Redis answers commands without any credentials",
            format!("PING answered {how}"),
            "requirepass <long random secret> (or ACL users with 'user default off'), and keep protected-mode yes",
        ));
    }
    if let Some(p) = plain.filter(|p| p.status.is_redis()) {
        out.push(finding(
            FindingId::PlaintextEnabled,
            "Redis is reachable without TLS",
            format!("plaintext PING answered {}", p.reply.as_deref().unwrap_or(p.status.as_str())),
            "port 0 and tls-port <port> (with tls-cert-file, tls-key-file, tls-ca-cert-file)",
        ));
    }
    if let Some(t) = tls {
        let ping_ok = t.ping.as_ref().is_some_and(|p| p.status.is_redis());
        if ping_ok && t.client_auth != ClientAuth::Required {
            out.push(finding(
                FindingId::ClientAuthNotRequired,
                "TLS clients are not required to present a certificate",
                format!(
                    "PING over TLS answered {} without a client certificate (client auth: {})",
                    t.ping.as_ref().and_then(|p| p.reply.as_deref()).unwrap_or("a Redis reply"),
                    t.client_auth.as_str()
                ),
                "tls-auth-clients yes",
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
            out.push(finding(FindingId::CertExpired, "The certificate has expired", expired.join("; "), RENEW));
        }
        if reasons.contains(&TrustReason::NotYetValid) {
            out.push(finding(
                FindingId::CertNotYetValid,
                "The certificate is not valid yet",
                format!(
                    "'{}' valid from {} (check the server clock and the issuing process)",
                    leaf.subject, leaf.not_before
                ),
                RENEW,
            ));
        }
        if let Some(days) = leaf.days_left.filter(|d| (0..=rules.warn_days).contains(d)) {
            out.push(finding(
                FindingId::CertExpiringSoon,
                "The certificate expires soon",
                format!("{days} days left (not after {}), threshold {} days", leaf.not_after, rules.warn_days),
                RENEW,
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
            out.push(finding(
                FindingId::CertUntrusted,
                "The certificate chain does not validate to a trusted anchor",
                format!("{} (issuer '{}')", path_reasons.join(", "), leaf.issuer),
                "use a certificate issued by the CA your clients trust (tls-cert-file), and send its intermediates",
            ));
        }
        if leaf.self_signed {
            out.push(finding(
                FindingId::CertSelfSigned,
                "The certificate is self-signed",
                format!("subject and issuer '{}'", leaf.subject),
                "issue the server certificate from a CA (private CA is fine) and set tls-cert-file; clients pin tls-ca-cert-file",
            ));
        } else if !c.chain_complete {
            out.push(finding(
                FindingId::CertChainIncomplete,
                "The server does not send the intermediate certificates validation needs",
                format!(
                    "chain sent: {} certificate(s), last issuer '{}' not sent and not an anchor",
                    c.chain.len(),
                    c.chain.last().map_or("", |s| s.issuer.as_str())
                ),
                "put the leaf followed by its intermediates in the PEM file named by tls-cert-file",
            ));
        }
        if !c.hostname_match {
            out.push(finding(
                FindingId::CertHostnameMismatch,
                "The certificate does not name this endpoint",
                format!("'{}' not in SANs [{}]", c.checked_identity, leaf.sans.join(", ")),
                "reissue the certificate with the DNS name (and IP, if clients connect by IP) in subjectAltName",
            ));
        }
        let weak_keys: Vec<String> = c
            .chain
            .iter()
            .filter(|s| is_weak_key(&s.key_type, s.key_bits))
            .map(|s| format!("'{}' {} {} bits", s.subject, s.key_type, s.key_bits.unwrap_or(0)))
            .collect();
        if !weak_keys.is_empty() {
            out.push(finding(
                FindingId::CertWeakKey,
                "A certificate key is too small",
                weak_keys.join("; "),
                "generate an RSA >= 2048-bit or ECDSA P-256+ key, reissue, and set tls-key-file / tls-cert-file",
            ));
        }
        let weak_sigs: Vec<String> = c
            .chain
            .iter()
            .filter(|s| !s.self_signed && is_weak_signature(&s.signature_algorithm))
            .map(|s| format!("'{}' signed with {}", s.subject, s.signature_algorithm))
            .collect();
        if !weak_sigs.is_empty() {
            out.push(finding(
                FindingId::CertWeakSignature,
                "A certificate is signed with SHA-1 or MD5",
                weak_sigs.join("; "),
                "reissue the certificate signed with SHA-256 or better, then update tls-cert-file",
            ));
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    out
}

/// `legacy_protocol`, `weak_cipher` and `weak_key_exchange` from the version and suite verdicts.
fn legacy_and_weak(t: &TlsResult, out: &mut Vec<Finding>) {
    let accepted = |v: TlsVersion| t.versions.get(&v).is_some_and(|p| p.status == VersionStatus::Accepted);
    let legacy: Vec<TlsVersion> =
        [TlsVersion::Ssl3, TlsVersion::Tls10, TlsVersion::Tls11].into_iter().filter(|v| accepted(*v)).collect();
    if let Some(oldest) = legacy.first() {
        let mut f = finding(
            FindingId::LegacyProtocol,
            "The server accepts protocol versions older than TLS 1.2",
            format!("accepts {}", legacy.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")),
            "tls-protocols \"TLSv1.2 TLSv1.3\"",
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
        let mut f = finding(
            FindingId::WeakCipher,
            if insecure { "The server accepts broken cipher suites" } else { "The server accepts weak cipher suites" },
            format!(
                "{} weak or insecure suite(s): {}{}",
                weak.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
            "tls-ciphers \"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\" and tls-prefer-server-ciphers yes",
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
        out.push(finding(
            FindingId::WeakKeyExchange,
            "The key exchange is too small",
            why.join("; "),
            "tls-dh-params-file with a 2048-bit (or larger) group, and restrict curves in the OpenSSL configuration (Groups = X25519:P-256:P-384)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_strength_thresholds() {
        assert!(is_weak_key("RSA", Some(1024)));
        assert!(is_weak_key("RSA", Some(2047)));
        assert!(!is_weak_key("RSA", Some(2048)));
        assert!(is_weak_key("EC", Some(224)));
        assert!(!is_weak_key("EC", Some(256)));
        assert!(!is_weak_key("Ed25519", Some(256)));
    }
}
