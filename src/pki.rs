//! A tiny certificate authority (rcgen) for the `demo` endpoints and the tests: certificates are made
//! at run time, never committed. Not used by the scan itself.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

pub use rcgen::Error;

/// A CA that can issue leaves and intermediates.
#[derive(Debug)]
pub struct Authority {
    /// Its certificate (DER).
    pub cert: CertificateDer<'static>,
    /// Its certificate (PEM).
    pub pem: String,
    params: CertificateParams,
    key: KeyPair,
}

/// A certificate with its private key.
#[derive(Debug)]
pub struct Issued {
    /// Certificate (DER).
    pub cert: CertificateDer<'static>,
    /// Certificate (PEM).
    pub cert_pem: String,
    /// Private key (PKCS#8 DER).
    pub key: PrivateKeyDer<'static>,
    /// Private key (PEM).
    pub key_pem: String,
}

/// What to put in a leaf certificate.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// Subject common name.
    pub common_name: String,
    /// SANs: IP literals become IP SANs, the rest DNS names.
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Client-auth EKU instead of server-auth.
    pub client: bool,
}

impl LeafSpec {
    /// A server certificate valid from a day ago for `days` days.
    pub fn server(common_name: &str, sans: &[&str], days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            common_name: common_name.into(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(days),
            client: false,
        }
    }
}

fn ca_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, common_name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = now - time::Duration::days(2);
    p.not_after = now + time::Duration::days(3650);
    p
}

impl Authority {
    /// A new self-signed root CA (ECDSA P-256).
    ///
    /// # Errors
    /// On key generation or signing errors.
    pub fn new(common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let params = ca_params(common_name, OffsetDateTime::now_utc());
        let cert = params.self_signed(&key)?;
        Ok(Self { pem: cert.pem(), cert: cert.der().clone(), params, key })
    }

    /// An intermediate CA signed by this one.
    ///
    /// # Errors
    /// On key generation or signing errors.
    pub fn intermediate(&self, common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let params = ca_params(common_name, OffsetDateTime::now_utc());
        let cert = params.signed_by(&key, &Issuer::from_params(&self.params, &self.key))?;
        Ok(Self { pem: cert.pem(), cert: cert.der().clone(), params, key })
    }

    /// Issues a leaf.
    ///
    /// # Errors
    /// On key generation or signing errors.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, Error> {
        let key = KeyPair::generate()?;
        let params = leaf_params(spec)?;
        let cert = params.signed_by(&key, &Issuer::from_params(&self.params, &self.key))?;
        Ok(issued(cert.der().clone(), cert.pem(), &key))
    }

    /// A reproducible CA (for `demo`): an Ed25519 key derived from `common_name`, a serial derived from
    /// it, validity anchored at `day` (pass [`today`]). The same inputs give the same certificate bytes
    /// (Ed25519 signatures are deterministic), so two demo runs of one day compare as unchanged.
    ///
    /// # Errors
    /// When rcgen cannot build it.
    pub fn seeded(common_name: &str, day: OffsetDateTime) -> Result<Self, Error> {
        let key = seeded_key(common_name)?;
        let mut params = ca_params(common_name, day);
        params.serial_number = Some(seeded_serial(common_name));
        let cert = params.self_signed(&key)?;
        Ok(Self { pem: cert.pem(), cert: cert.der().clone(), params, key })
    }

    /// Issues a reproducible leaf (for `demo`): key and serial derived from the spec's names; the
    /// validity is the spec's (make it from [`today`] for the same bytes all day).
    ///
    /// # Errors
    /// When rcgen cannot build it.
    pub fn issue_seeded(&self, spec: &LeafSpec) -> Result<Issued, Error> {
        let label = format!("{} {}", spec.common_name, spec.sans.join(","));
        let key = seeded_key(&label)?;
        let mut params = leaf_params(spec)?;
        params.serial_number = Some(seeded_serial(&label));
        let cert = params.signed_by(&key, &Issuer::from_params(&self.params, &self.key))?;
        Ok(issued(cert.der().clone(), cert.pem(), &key))
    }
}

/// Midnight UTC of the current day: a validity anchor that stays the same all day.
pub fn today() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT)
}

/// An Ed25519 key whose seed is the SHA-256 of `label` (demo material, never a secret).
fn seeded_key(label: &str) -> Result<KeyPair, Error> {
    // PKCS#8 v1 for Ed25519 (RFC 8410): a fixed prefix, then the 32-byte seed.
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, label.as_bytes()).as_ref());
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(der), &rcgen::PKCS_ED25519)
}

/// A positive 16-byte serial derived from `label`.
fn seeded_serial(label: &str) -> rcgen::SerialNumber {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("serial {label}").as_bytes());
    let mut bytes: Vec<u8> = digest.as_ref().iter().take(16).copied().collect();
    if let Some(first) = bytes.first_mut() {
        *first &= 0x7f;
        *first |= 0x01;
    }
    rcgen::SerialNumber::from(bytes)
}

fn leaf_params(spec: &LeafSpec) -> Result<CertificateParams, Error> {
    let mut p = CertificateParams::new(spec.sans.clone())?;
    p.distinguished_name.push(DnType::CommonName, spec.common_name.as_str());
    p.not_before = spec.not_before;
    p.not_after = spec.not_after;
    p.extended_key_usages =
        vec![if spec.client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
    Ok(p)
}

fn issued(cert: CertificateDer<'static>, cert_pem: String, key: &KeyPair) -> Issued {
    Issued {
        cert,
        cert_pem,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        key_pem: key.serialize_pem(),
    }
}

/// A self-signed leaf.
///
/// # Errors
/// On key generation or signing errors.
pub fn self_signed(spec: &LeafSpec) -> Result<Issued, Error> {
    let key = KeyPair::generate()?;
    let cert = leaf_params(spec)?.self_signed(&key)?;
    Ok(issued(cert.der().clone(), cert.pem(), &key))
}
