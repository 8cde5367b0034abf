//! Signature verification for what the default (ring) provider refuses: RSA keys under 2048 bits (PKCS#1
//! v1.5 and PSS) and SHA-1 with RSA. Used at two places, never to decide trust by itself:
//!
//! - [`crate::probe::danger`]: a server with a weak key still proves, with a real signature check, that it
//!   holds its certificate's key, so the handshake completes and PING over TLS and client auth are known
//!   (OpenSSL clients talk to such servers; the weakness is reported as `cert_weak_key`);
//! - [`crate::cert`]: a chain that fails only because a signature on its path uses a weak key or SHA-1 is
//!   re-checked with these algorithms, so the verdict names the real reason (`weak_key`) and every other.
//!
//! Verification only (no private-key operation), with RustCrypto's `rsa`: ring has no RSA-PSS below
//! 2048 bits, and TLS 1.3 signs with PSS.

use std::sync::LazyLock;

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id};
use sha2::Digest;

/// The digest of a legacy algorithm.
#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// One RSA signature algorithm, for any key size the `rsa` crate accepts (up to 4096 bits; bigger keys
/// are never weak and ring verifies them).
#[derive(Debug)]
struct WeakRsa {
    pss: bool,
    hash: Hash,
    sig_alg: AlgorithmIdentifier,
}

/// sha1WithRSAEncryption (1.2.840.113549.1.1.5) with NULL parameters, as pki-types encodes them.
const RSA_PKCS1_SHA1: AlgorithmIdentifier =
    AlgorithmIdentifier::from_slice(&[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00]);

impl SignatureVerificationAlgorithm for WeakRsa {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        let key = RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        let ok = match (self.pss, self.hash) {
            (false, Hash::Sha1) => {
                key.verify(Pkcs1v15Sign::new::<sha1::Sha1>(), &sha1::Sha1::digest(message), signature)
            }
            (false, Hash::Sha256) => {
                key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(message), signature)
            }
            (false, Hash::Sha384) => {
                key.verify(Pkcs1v15Sign::new::<sha2::Sha384>(), &sha2::Sha384::digest(message), signature)
            }
            (false, Hash::Sha512) => {
                key.verify(Pkcs1v15Sign::new::<sha2::Sha512>(), &sha2::Sha512::digest(message), signature)
            }
            (true, Hash::Sha256) => key.verify(Pss::new::<sha2::Sha256>(), &sha2::Sha256::digest(message), signature),
            (true, Hash::Sha384) => key.verify(Pss::new::<sha2::Sha384>(), &sha2::Sha384::digest(message), signature),
            (true, Hash::Sha512) => key.verify(Pss::new::<sha2::Sha512>(), &sha2::Sha512::digest(message), signature),
            (true, Hash::Sha1) => return Err(InvalidSignature),
        };
        ok.map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.sig_alg
    }

    fn fips(&self) -> bool {
        false
    }
}

static PKCS1_SHA1: WeakRsa = WeakRsa { pss: false, hash: Hash::Sha1, sig_alg: RSA_PKCS1_SHA1 };
static PKCS1_SHA256: WeakRsa = WeakRsa { pss: false, hash: Hash::Sha256, sig_alg: alg_id::RSA_PKCS1_SHA256 };
static PKCS1_SHA384: WeakRsa = WeakRsa { pss: false, hash: Hash::Sha384, sig_alg: alg_id::RSA_PKCS1_SHA384 };
static PKCS1_SHA512: WeakRsa = WeakRsa { pss: false, hash: Hash::Sha512, sig_alg: alg_id::RSA_PKCS1_SHA512 };
static PSS_SHA256: WeakRsa = WeakRsa { pss: true, hash: Hash::Sha256, sig_alg: alg_id::RSA_PSS_SHA256 };
static PSS_SHA384: WeakRsa = WeakRsa { pss: true, hash: Hash::Sha384, sig_alg: alg_id::RSA_PSS_SHA384 };
static PSS_SHA512: WeakRsa = WeakRsa { pss: true, hash: Hash::Sha512, sig_alg: alg_id::RSA_PSS_SHA512 };

/// The weak algorithms, for the handshake signature fallback (TLS 1.2 and 1.3 schemes).
pub static HANDSHAKE: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&PKCS1_SHA1, &PKCS1_SHA256, &PKCS1_SHA384, &PKCS1_SHA512, &PSS_SHA256, &PSS_SHA384, &PSS_SHA512],
    mapping: &[
        (SignatureScheme::RSA_PSS_SHA256, &[&PSS_SHA256]),
        (SignatureScheme::RSA_PSS_SHA384, &[&PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA512, &[&PSS_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[&PKCS1_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[&PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[&PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA1, &[&PKCS1_SHA1]),
    ],
};

/// The default provider's algorithms followed by the weak ones, for re-checking a certificate path.
pub static PATH: LazyLock<Vec<&'static dyn SignatureVerificationAlgorithm>> = LazyLock::new(|| {
    let strong = rustls::crypto::ring::default_provider().signature_verification_algorithms.all;
    strong.iter().copied().chain(HANDSHAKE.all.iter().copied()).collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_rsa_1024_pkcs1_and_pss_and_refuses_a_forgery() {
        use rsa::RsaPrivateKey;
        use rsa::pkcs1::EncodeRsaPublicKey;
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let public = key.to_public_key().to_pkcs1_der().unwrap();
        let msg = b"handshake transcript";
        let sig = key.sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(msg)).unwrap();
        assert!(PKCS1_SHA256.verify_signature(public.as_bytes(), msg, &sig).is_ok());
        assert!(PKCS1_SHA256.verify_signature(public.as_bytes(), b"other", &sig).is_err());
        let pss = key.sign_with_rng(&mut rng, Pss::new::<sha2::Sha256>(), &sha2::Sha256::digest(msg)).unwrap();
        assert!(PSS_SHA256.verify_signature(public.as_bytes(), msg, &pss).is_ok());
        assert!(PSS_SHA384.verify_signature(public.as_bytes(), msg, &pss).is_err());
        assert!(PKCS1_SHA1.verify_signature(b"not a key", msg, &sig).is_err());
    }
}
