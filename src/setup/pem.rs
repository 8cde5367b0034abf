//! PEM files: the trust anchors (built-in roots plus every `--ca-file`) and the client certificate and
//! key, each file read with a size cap and proven by its SHA-256 in the metadata.

use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{SetupError, file_error};
use crate::cert::{TrustAnchors, sha256_hex};
use crate::cli::Roots;
use crate::model::{FileProof, TrustSource};

/// A PEM file's bytes (capped) and its proof.
fn read_file(path: &Path) -> Result<(Vec<u8>, FileProof), SetupError> {
    let bytes = crate::input::read_capped(path, crate::input::MAX_PEM_FILE).map_err(|e| match e {
        crate::input::InputError::Io(e) => file_error(path, format!("cannot read: {e}")),
        other => file_error(path, other.to_string()),
    })?;
    let sha = sha256_hex(&bytes);
    Ok((bytes, FileProof { path: path.display().to_string(), sha256: sha }))
}

/// Loads the trust anchors: built-in roots plus every `--ca-file`.
///
/// # Errors
/// When a CA file is unreadable or holds no usable certificate.
pub fn load_anchors(roots: Option<Roots>, ca_files: &[PathBuf]) -> Result<(TrustAnchors, TrustSource), SetupError> {
    // Like redis-cli --cacert: a private CA replaces the system store unless --roots says otherwise.
    let roots = roots.unwrap_or(if ca_files.is_empty() { Roots::System } else { Roots::None });
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Roots::Mozilla => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::None => {}
    }
    let mut proofs = Vec::new();
    for path in ca_files {
        let (bytes, proof) = read_file(path)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(file_error(path, "no certificate in file"));
        }
        for c in certs {
            store.add(c).map_err(|e| file_error(path, format!("unusable CA certificate: {e}")))?;
        }
        proofs.push(proof);
    }
    let source = TrustSource { roots: format!("{roots:?}").to_lowercase(), ca_files: proofs, anchors: store.len() };
    Ok((TrustAnchors::new(store), source))
}

/// A client chain and key, and the proof of the certificate file.
pub type ClientMaterial = (Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, Option<FileProof>);

/// The client certificate chain and key of `--client-cert`/`--client-key`, when both are given.
pub fn load_client(cert: Option<&Path>, key: Option<&Path>) -> Result<ClientMaterial, SetupError> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Ok((None, None));
    };
    let (cert_bytes, proof) = read_file(cert)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(cert, "no certificate in file"));
    }
    let (key_bytes, _) = read_file(key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| file_error(key, format!("no usable private key: {e}")))?;
    Ok((Some((chain, key_der)), Some(proof)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozilla_roots_are_built_in_and_a_ca_file_replaces_the_system_store() {
        let (anchors, source) = load_anchors(Some(Roots::Mozilla), &[]).unwrap();
        assert!(anchors.len() > 100, "{}", anchors.len());
        assert_eq!(source.roots, "mozilla");

        let dir = tempfile::tempdir().unwrap();
        let ca = crate::pki::Authority::new("cfg CA").unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &ca.pem).unwrap();
        let (anchors, source) = load_anchors(None, std::slice::from_ref(&path)).unwrap();
        assert_eq!((anchors.len(), source.roots.as_str()), (1, "none"));
        assert_eq!(source.ca_files[0].sha256.len(), 64);
    }

    #[test]
    fn bad_ca_files_are_setup_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for path in [empty, dir.path().join("missing.pem")] {
            let err = load_anchors(None, std::slice::from_ref(&path)).unwrap_err().to_string();
            assert!(err.starts_with(&path.display().to_string()), "{err}");
        }
    }
}
