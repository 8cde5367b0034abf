//! Certificate inspection and trust verdict: the stage after the TLS probe, pure and synchronous.
//!
//! [`inspect`] turns the DER chain a server sent into our own [`CertificateInfo`]: facts read with
//! x509-parser (names, validity, key, signature), chain completeness, and a trust verdict that lists
//! *every* reason the chain fails (rustls stops at the first). Nothing here may panic on a malformed
//! certificate: dates are plain `i64` timestamps (x509-parser's `ASN1Time + Duration` can overflow).

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, RootCertStore};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::model::{CertSummary, CertificateInfo, TrustReason, TrustVerdict};
use crate::text::sanitize;
use crate::weak_sig;

/// Longest subject, issuer or SAN kept, in characters.
const NAME_KEEP: usize = 512;
/// Most SANs kept per certificate.
const SANS_KEEP: usize = 100;
/// Most certificates of a chain inspected.
pub const CHAIN_KEEP: usize = 16;

/// The trust anchors a scan verifies against.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    roots: Arc<RootCertStore>,
    /// Subjects of the anchors (DER, as in the anchors), to tell whether a sent chain reaches one.
    subjects: HashSet<Vec<u8>>,
    algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
}

impl TrustAnchors {
    /// Anchors from a root store.
    pub fn new(roots: RootCertStore) -> Self {
        let subjects = roots.roots.iter().map(|a| a.subject.as_ref().to_vec()).collect();
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms.all;
        Self { roots: Arc::new(roots), subjects, algorithms }
    }

    /// The anchors as a rustls root store (the audit's verifying TLS sessions).
    pub fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// True when there is no anchor (every chain is then untrusted).
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// True when `cert` is itself one of the anchors (same subject and key).
    fn is_anchor(&self, cert: &X509Certificate<'_>) -> bool {
        let subject = cert.subject().as_raw();
        let spki = cert.public_key().raw;
        self.roots.roots.iter().any(|a| {
            let s = a.subject.as_ref();
            let k = a.subject_public_key_info.as_ref();
            (s == subject || s == name_contents(subject)) && (k == spki || k == name_contents(spki))
        })
    }

    fn is_anchor_subject(&self, raw_name: &[u8]) -> bool {
        // rustls-webpki keeps the Name's contents without the outer SEQUENCE header; accept both forms.
        self.subjects.contains(raw_name) || self.subjects.contains(name_contents(raw_name))
    }
}

/// Strips the outer DER SEQUENCE header of a Name.
fn name_contents(raw: &[u8]) -> &[u8] {
    let (Some(0x30), Some(&len)) = (raw.first().copied(), raw.get(1)) else {
        return raw;
    };
    let header = if len < 0x80 { 2 } else { 2 + usize::from(len & 0x7f) };
    raw.get(header..).unwrap_or(raw)
}

/// Whether the server proved, in a handshake we verified, that it holds the leaf's private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProof {
    /// A rustls handshake verified the server's signature.
    Proven,
    /// rustls checked the server's handshake signature and it failed (a copied certificate, or a key
    /// rustls refuses such as RSA < 2048).
    Failed(String),
    /// Only the raw probe saw the chain (TLS ≤ 1.2 in clear): nothing was verified.
    Unverified,
}

/// Inspects a chain (leaf first). `identity` is the name (or IP) the hostname check uses; `now` is the scan
/// time as a Unix timestamp. Returns `None` for an empty chain.
pub fn inspect(
    chain: &[CertificateDer<'_>],
    identity: &ServerName<'_>,
    anchors: &TrustAnchors,
    now: i64,
    proof: &KeyProof,
) -> Option<CertificateInfo> {
    let chain = chain.get(..chain.len().min(CHAIN_KEEP))?;
    let leaf_der = chain.first()?;
    let parsed: Vec<Option<X509Certificate<'_>>> =
        chain.iter().map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c)).collect();
    let summaries: Vec<CertSummary> =
        chain.iter().zip(&parsed).map(|(der, cert)| summarize(der, cert.as_ref(), now)).collect();
    let leaf = summaries.first()?.clone();
    let (path, chain_complete) = issuer_path(&parsed, anchors);

    let hostname_match = ParsedCertificate::try_from(leaf_der).is_ok_and(|p| verify_server_name(&p, identity).is_ok());
    let mut reasons = trust_reasons(chain, &parsed, &path, anchors, now);
    if !hostname_match {
        reasons.push(TrustReason::NameMismatch);
    }
    match proof {
        KeyProof::Proven => {}
        KeyProof::Failed(_) => reasons.push(TrustReason::HandshakeSignatureInvalid),
        KeyProof::Unverified => reasons.push(TrustReason::KeyNotProven),
    }
    reasons.sort();
    reasons.dedup();
    Some(CertificateInfo {
        leaf,
        chain: summaries,
        chain_complete,
        trust: TrustVerdict { trusted: reasons.is_empty(), reasons },
        checked_identity: identity_string(identity),
        hostname_match,
    })
}

fn identity_string(identity: &ServerName<'_>) -> String {
    match identity {
        ServerName::DnsName(n) => n.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

/// Every reason the chain does not validate, apart from the name.
fn trust_reasons(
    chain: &[CertificateDer<'_>],
    parsed: &[Option<X509Certificate<'_>>],
    path: &[usize],
    anchors: &TrustAnchors,
    now: i64,
) -> Vec<TrustReason> {
    let mut reasons = Vec::new();
    let (Some(leaf_der), Some(Some(_))) = (chain.first(), parsed.first()) else {
        return vec![TrustReason::BadEncoding];
    };
    let Ok(leaf) = ParsedCertificate::try_from(leaf_der) else {
        return vec![TrustReason::BadEncoding];
    };
    let intermediates = chain.get(1..).unwrap_or_default();
    // Time, from every certificate on the issuer path as sent (an extra, unused certificate in the
    // chain, e.g. an expired cross-sign, does not matter): rustls would report only the first problem.
    for cert in path.iter().filter_map(|i| parsed.get(*i)).flatten() {
        let v = cert.validity();
        if now > v.not_after.timestamp() {
            reasons.push(TrustReason::Expired);
        }
        if now < v.not_before.timestamp() {
            reasons.push(TrustReason::NotYetValid);
        }
    }
    let verify_with = |t: i64, algorithms: &[&'static dyn SignatureVerificationAlgorithm]| {
        let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0)));
        verify_server_cert_signed_by_trust_anchor(&leaf, &anchors.roots, intermediates, t, algorithms)
    };
    let mut algorithms = anchors.algorithms;
    let mut result = verify_with(now, algorithms);
    if matches!(&result, Err(rustls::Error::InvalidCertificate(e)) if is_algorithm_error(e)) {
        // Refused for a weak key or hash on the path: name that, and look past it for every other reason.
        let legacy = verify_with(now, &weak_sig::PATH);
        if !matches!(&legacy, Err(rustls::Error::InvalidCertificate(e)) if is_algorithm_error(e)) {
            let on_path: Vec<&X509Certificate<'_>> = path.iter().filter_map(|i| parsed.get(*i)).flatten().collect();
            let weak_hash = on_path
                .iter()
                .any(|c| is_weak_signature(&signature_name(&c.signature_algorithm.algorithm.to_id_string())));
            let weak_key = on_path.iter().any(|c| {
                let (kind, bits, _) = key_facts(c);
                is_weak_key(&kind, bits)
            });
            if weak_key || !weak_hash {
                // A key under 2048 bits signed part of the path (when no weak hash explains the refusal,
                // the key of an anchor that was not sent did).
                reasons.push(TrustReason::WeakKey);
            }
            if weak_hash {
                reasons.push(TrustReason::UnsupportedSignatureAlgorithm);
            }
            algorithms = &weak_sig::PATH;
            result = legacy;
        }
    }
    let verify = |t: i64| verify_with(t, algorithms);
    if reasons.iter().any(|r| matches!(r, TrustReason::Expired | TrustReason::NotYetValid))
        || matches!(&result, Err(rustls::Error::InvalidCertificate(e)) if is_time_error(e))
    {
        // Validate again at a moment when every certificate was valid, to see what else is wrong.
        if let Some(t) = valid_moment(parsed) {
            result = verify(t);
        }
    }
    match result {
        Ok(()) => {}
        // A self-signed CA certificate used as the server's (`openssl req -x509` sets CA:TRUE): OpenSSL
        // clients accept it when it is their trust anchor, and otherwise it has no known issuer.
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(_)))
            if parsed.first().and_then(Option::as_ref).is_some_and(|c| is_self_signed(c)) =>
        {
            let leaf = parsed.first().and_then(Option::as_ref);
            if !leaf.is_some_and(|c| anchors.is_anchor(c)) {
                reasons.push(TrustReason::UnknownIssuer);
            }
            // It signed itself: a weak key made that signature.
            if leaf.is_some_and(|c| {
                let (kind, bits, _) = key_facts(c);
                is_weak_key(&kind, bits)
            }) {
                reasons.push(TrustReason::WeakKey);
            }
        }
        Err(rustls::Error::InvalidCertificate(e)) => reasons.push(reason_of(&e)),
        Err(_) => reasons.push(TrustReason::Other),
    }
    reasons
}

/// A signature algorithm or key refused by the algorithms in use (not a bad signature).
fn is_algorithm_error(e: &CertificateError) -> bool {
    #[allow(deprecated)]
    let unsupported = matches!(
        e,
        CertificateError::UnsupportedSignatureAlgorithm
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
    );
    unsupported
}

fn is_time_error(e: &CertificateError) -> bool {
    matches!(
        e,
        CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. }
    )
}

#[allow(deprecated)] // the context-free variants still arrive from older code paths
fn reason_of(e: &CertificateError) -> TrustReason {
    match e {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => TrustReason::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => TrustReason::NotYetValid,
        CertificateError::UnknownIssuer => TrustReason::UnknownIssuer,
        CertificateError::BadSignature => TrustReason::BadSignature,
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            TrustReason::UnsupportedSignatureAlgorithm
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TrustReason::NameMismatch
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            TrustReason::InvalidPurpose
        }
        CertificateError::BadEncoding => TrustReason::BadEncoding,
        _ => TrustReason::Other,
    }
}

/// A time inside every sent certificate's validity (or inside the leaf's when they do not overlap).
fn valid_moment(parsed: &[Option<X509Certificate<'_>>]) -> Option<i64> {
    let windows: Vec<(i64, i64)> = parsed
        .iter()
        .flatten()
        .map(|c| (c.validity().not_before.timestamp(), c.validity().not_after.timestamp()))
        .collect();
    let start = windows.iter().map(|w| w.0).max()?;
    let end = windows.iter().map(|w| w.1).min()?;
    if start <= end {
        return Some(start + (end - start) / 2);
    }
    let (s, e) = *windows.first()?;
    (s <= e).then_some(s + (e - s) / 2)
}

/// The certificates met following issuer names from the leaf through those sent (indices, leaf first),
/// and whether the walk reaches a self-signed certificate or one issued by a trust anchor.
fn issuer_path(parsed: &[Option<X509Certificate<'_>>], anchors: &TrustAnchors) -> (Vec<usize>, bool) {
    let mut path = vec![0];
    let Some(Some(mut cur)) = parsed.first().map(Option::as_ref) else { return (path, false) };
    for _ in 0..parsed.len() {
        if is_self_signed(cur) || anchors.is_anchor_subject(cur.issuer().as_raw()) {
            return (path, true);
        }
        let next = parsed.iter().enumerate().find_map(|(i, c)| {
            c.as_ref().filter(|c| c.subject().as_raw() == cur.issuer().as_raw() && !path.contains(&i)).map(|c| (i, c))
        });
        match next {
            Some((i, c)) => {
                path.push(i);
                cur = c;
            }
            None => return (path, false),
        }
    }
    (path, false)
}

fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    match verify_own_signature(cert) {
        Some(ok) => ok,
        // An algorithm ring cannot check at all: fall back to the key identifiers, when both exist.
        None => {
            let ski = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
                _ => None,
            });
            let aki = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
                _ => None,
            });
            matches!((aki, ski), (Some(a), Some(s)) if a == s)
        }
    }
}

/// Verifies a certificate's signature with its own key, legacy algorithms included (SHA-1, RSA from
/// 1024 bits), since a weak self-signed certificate is still self-signed. `None` when ring has no
/// algorithm for it (MD5, DSA, ...).
fn verify_own_signature(cert: &X509Certificate<'_>) -> Option<bool> {
    use ring::signature as sig;
    let spki = cert.public_key();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
    let p256 = curve.as_deref() == Some("1.2.840.10045.3.1.7");
    let p384 = curve.as_deref() == Some("1.3.132.0.34");
    let alg: &dyn sig::VerificationAlgorithm = match cert.signature_algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.5" => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.11" => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.12" => &sig::RSA_PKCS1_2048_8192_SHA384,
        "1.2.840.113549.1.1.13" => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        "1.2.840.10045.4.3.2" if p256 => &sig::ECDSA_P256_SHA256_ASN1,
        "1.2.840.10045.4.3.2" if p384 => &sig::ECDSA_P384_SHA256_ASN1,
        "1.2.840.10045.4.3.3" if p256 => &sig::ECDSA_P256_SHA384_ASN1,
        "1.2.840.10045.4.3.3" if p384 => &sig::ECDSA_P384_SHA384_ASN1,
        "1.3.101.112" => &sig::ED25519,
        _ => return None,
    };
    let key = sig::UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref());
    Some(key.verify(cert.tbs_certificate.as_ref(), cert.signature_value.data.as_ref()).is_ok())
}

/// Facts about one certificate; an unparseable one still gets its fingerprint.
fn summarize(der: &[u8], cert: Option<&X509Certificate<'_>>, now: i64) -> CertSummary {
    let sha256 = sha256_hex(der);
    let Some(cert) = cert else {
        return CertSummary {
            subject: "(unparseable certificate)".into(),
            issuer: String::new(),
            subject_cn: None,
            issuer_cn: None,
            sans: Vec::new(),
            serial: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            days_left: None,
            key_type: "unknown".into(),
            key_bits: None,
            key_curve: None,
            signature_algorithm: "unknown".into(),
            sha256,
            self_signed: false,
            is_ca: false,
        };
    };
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let (key_type, key_bits, key_curve) = key_facts(cert);
    CertSummary {
        subject: sanitize(&cert.subject().to_string(), NAME_KEEP),
        issuer: sanitize(&cert.issuer().to_string(), NAME_KEEP),
        subject_cn: common_name(cert.subject()),
        issuer_cn: common_name(cert.issuer()),
        sans: sans(cert),
        serial: cert.raw_serial_as_string(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: Some(not_after.saturating_sub(now).div_euclid(86_400)),
        key_type,
        key_bits,
        key_curve,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha256,
        self_signed: is_self_signed(cert),
        is_ca: cert.is_ca(),
    }
}

/// A name's first CN, sanitised (a CN that is not a string is left out, not guessed).
fn common_name(name: &X509Name<'_>) -> Option<String> {
    let cn = name.iter_common_name().next()?.as_str().ok()?;
    Some(sanitize(cn, NAME_KEEP))
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
            GeneralName::IPAddress(b) => Some(format!("IP:{}", ip_from_bytes(b)?)),
            GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
            GeneralName::URI(u) => Some(format!("URI:{u}")),
            _ => None,
        })
        .take(SANS_KEEP)
        .map(|s| sanitize(&s, NAME_KEEP))
        .collect()
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// Key algorithm, size in bits and EC curve.
fn key_facts(cert: &X509Certificate<'_>) -> (String, Option<u32>, Option<String>) {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return ("Ed25519".into(), Some(256), None),
        "1.3.101.113" => return ("Ed448".into(), Some(456), None),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".into(), Some(bit_length(rsa.modulus)), None),
        Ok(PublicKey::EC(point)) => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
            let (name, bits) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("secp256r1".to_string(), 256),
                Some("1.3.132.0.34") => ("secp384r1".to_string(), 384),
                Some("1.3.132.0.35") => ("secp521r1".to_string(), 521),
                Some("1.3.132.0.33") => ("secp224r1".to_string(), 224),
                Some("1.3.132.0.10") => ("secp256k1".to_string(), 256),
                Some("1.2.840.10045.3.1.1") => ("secp192r1".to_string(), 192),
                Some(other) => (other.to_string(), ec_bits(point.data())),
                None => ("unknown".to_string(), ec_bits(point.data())),
            };
            ("EC".into(), Some(bits), Some(name))
        }
        Ok(PublicKey::DSA(y)) => ("DSA".into(), Some(bit_length(y)), None),
        _ => ("unknown".into(), None, None),
    }
}

/// Bits of a big-endian unsigned integer, leading zeros excluded (x509-parser's `key_size` is off for
/// moduli that are not a multiple of 8 bits).
pub fn bit_length(n: &[u8]) -> u32 {
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => n.get(i..).unwrap_or_default(),
        None => return 0,
    };
    let first = n.first().copied().unwrap_or(0);
    u32::try_from(n.len()).unwrap_or(u32::MAX / 8).saturating_mul(8).saturating_sub(first.leading_zeros())
}

/// Field size of an uncompressed EC point (04 || X || Y).
fn ec_bits(point: &[u8]) -> u32 {
    u32::try_from(point.len().saturating_sub(1) / 2 * 8).unwrap_or(0)
}

/// Common name of a signature algorithm OID.
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        other => return other.to_string(),
    }
    .to_string()
}

/// True for keys under the contract's strength floor: RSA/DSA < 2048 bits, EC < 256 bits.
pub fn is_weak_key(key_type: &str, bits: Option<u32>) -> bool {
    match (key_type, bits) {
        ("RSA" | "DSA", Some(b)) => b < 2048,
        ("EC", Some(b)) => b < 256,
        _ => false,
    }
}

/// True for signature algorithms built on MD2, MD5 or SHA-1.
pub fn is_weak_signature(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("md2") || n.contains("md5") || n.contains("sha1")
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 (UTC) of a Unix timestamp; out-of-range values keep their number.
pub fn rfc3339(ts: i64) -> String {
    ::time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&::time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("@{ts}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rsa_bits_exactly() {
        assert_eq!(bit_length(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
        assert_eq!(bit_length(&[0x00, 0x00]), 0);
        let mut m = vec![0x00, 0x7f];
        m.extend([0xffu8; 255]);
        assert_eq!(bit_length(&m), 2047);
    }

    #[test]
    fn weak_signatures() {
        assert!(is_weak_signature("sha1WithRSAEncryption"));
        assert!(is_weak_signature("ecdsa-with-SHA1"));
        assert!(is_weak_signature("md5WithRSAEncryption"));
        assert!(!is_weak_signature("sha256WithRSAEncryption"));
    }

    #[test]
    fn far_dates_do_not_panic() {
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), format!("@{}", i64::MAX));
    }

    fn leaf_der(common_name: &str, sans: &[&str]) -> CertificateDer<'static> {
        let ca = crate::pki::Authority::new("unit CA").unwrap();
        let mut spec = crate::pki::LeafSpec::server("x", sans, 30);
        spec.common_name = common_name.into();
        ca.issue(&spec).unwrap().cert
    }

    #[test]
    fn hostile_names_are_sanitised_when_captured() {
        let der = leaf_der("\u{1b}]0;owned\u{7}\u{202e}evil\nline", &["127.0.0.1"]);
        let anchors = TrustAnchors::new(RootCertStore::empty());
        let id = ServerName::from(std::net::IpAddr::from([127, 0, 0, 1]));
        let info = inspect(&[der], &id, &anchors, 0, &KeyProof::Proven).unwrap();
        assert_eq!(info.leaf.subject, "CN=\\u{1b}]0;owned\\u{7}\\u{202e}evil\\u{a}line");
        assert!(info.leaf.subject.chars().all(|c| !c.is_control()));
        assert_eq!(info.leaf.sans, vec!["IP:127.0.0.1"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn mutated_certificates_never_panic(
            flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 1..8),
            cut in 0usize..2000,
        ) {
            let mut der = leaf_der("mutant", &["127.0.0.1", "redis.test"]).to_vec();
            let len = der.len().max(1);
            for (i, b) in flips {
                if let Some(slot) = der.get_mut(i % len) {
                    *slot = b;
                }
            }
            der.truncate(cut.max(1));
            let anchors = TrustAnchors::new(RootCertStore::empty());
            let id = ServerName::try_from("redis.test").unwrap();
            let _ = inspect(&[CertificateDer::from(der.clone()), CertificateDer::from(der)], &id, &anchors, 1_800_000_000, &KeyProof::Unverified);
        }
    }

    #[test]
    fn an_extra_expired_certificate_off_the_path_does_not_matter() {
        let ca = crate::pki::Authority::new("path CA").unwrap();
        let leaf = ca.issue(&crate::pki::LeafSpec::server("leaf", &["127.0.0.1"], 90)).unwrap();
        let mut old = crate::pki::LeafSpec::server("old cross-sign", &["x.test"], 1);
        old.not_before = ::time::OffsetDateTime::now_utc() - ::time::Duration::days(900);
        old.not_after = ::time::OffsetDateTime::now_utc() - ::time::Duration::days(400);
        let stale = crate::pki::self_signed(&old).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.cert.clone()).unwrap();
        let anchors = TrustAnchors::new(roots);
        let id = ServerName::from(std::net::IpAddr::from([127, 0, 0, 1]));
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let info = inspect(&[leaf.cert, stale.cert], &id, &anchors, now, &KeyProof::Proven).unwrap();
        assert!(info.trust.trusted, "{:?}", info.trust);
        assert!(info.chain_complete);
        assert_eq!(info.chain.len(), 2);
    }

    #[test]
    fn unparseable_leaf_has_no_days_left() {
        let anchors = TrustAnchors::new(RootCertStore::empty());
        let id = ServerName::try_from("redis.test").unwrap();
        let info = inspect(&[CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])], &id, &anchors, 0, &KeyProof::Proven);
        assert_eq!(info.unwrap().leaf.days_left, None);
    }

    #[test]
    fn deeply_nested_and_huge_der_do_not_overflow_or_hang() {
        // 100,000 nested SEQUENCE headers (definite lengths), and 1 MiB of one byte.
        let depth = 100_000usize;
        let mut nested = Vec::new();
        for i in 0..depth {
            let inner = (depth - i - 1) * 6;
            nested.push(0x30);
            nested.push(0x84);
            nested.extend_from_slice(&u32::try_from(inner).unwrap().to_be_bytes());
        }
        let anchors = TrustAnchors::new(RootCertStore::empty());
        let id = ServerName::try_from("redis.test").unwrap();
        for der in [nested, vec![0x30; 1 << 20]] {
            let info = inspect(&[CertificateDer::from(der)], &id, &anchors, 0, &KeyProof::Unverified).unwrap();
            assert!(info.trust.reasons.contains(&TrustReason::BadEncoding));
        }
    }

    #[test]
    fn garbage_chain_is_inspected_without_panic() {
        let anchors = TrustAnchors::new(RootCertStore::empty());
        let der = CertificateDer::from(vec![0x30, 0x82, 0xff, 0xff, 1, 2, 3]);
        let id = ServerName::try_from("redis.test").unwrap();
        let info = inspect(&[der], &id, &anchors, 0, &KeyProof::Proven).unwrap();
        assert_eq!(info.leaf.subject, "(unparseable certificate)");
        assert!(info.trust.reasons.contains(&TrustReason::BadEncoding));
        assert!(!info.chain_complete);
    }
}
