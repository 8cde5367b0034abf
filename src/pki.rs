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

fn ca_params(common_name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, common_name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
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
        let params = ca_params(common_name);
        let cert = params.self_signed(&key)?;
        Ok(Self { pem: cert.pem(), cert: cert.der().clone(), params, key })
    }

    /// An intermediate CA signed by this one.
    ///
    /// # Errors
    /// On key generation or signing errors.
    pub fn intermediate(&self, common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let params = ca_params(common_name);
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
