//! The cipher-suite table: every assigned IANA suite (from tls-parser's copy of the IANA registry), which
//! versions can negotiate it, in what order to offer it, and its strength class.
//!
//! Classes (documented in `reports/README.md`): `insecure` (NULL encryption, anonymous, EXPORT, RC4,
//! DES, RC2, MD5 MAC), `weak` (3DES, CBC mode, no forward secrecy), `recommended` (TLS 1.3 AES-GCM /
//! ChaCha20 / CCM, ECDHE with AES-GCM or ChaCha20), `secure` (every other forward-secret AEAD suite).

use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsPRF};

use crate::model::{SuiteClass, SuiteInfo, TlsVersion};

/// Suites per ClientHello: "some servers can't handle a handshake with >= 128 ciphers" (testssl.sh);
/// 127 plus the renegotiation SCSV.
pub const BUNDLE: usize = 127;

/// Why a suite is insecure or weak, most serious reason first; `None` for secure suites.
pub fn weakness(s: &TlsCipherSuite) -> Option<&'static str> {
    let anon = s.au == TlsCipherAu::Null && !matches!(s.kx, TlsCipherKx::Null | TlsCipherKx::Tls13)
        || s.kx == TlsCipherKx::Aecdh;
    Some(if s.enc == TlsCipherEnc::Null {
        "NULL"
    } else if anon {
        "anon"
    } else if s.name.contains("EXPORT") {
        "EXPORT"
    } else if s.enc == TlsCipherEnc::Rc4 {
        "RC4"
    } else if s.enc == TlsCipherEnc::Des {
        "DES"
    } else if s.enc == TlsCipherEnc::Rc2 {
        "RC2"
    } else if s.mac == TlsCipherMac::HmacMd5 {
        "MD5"
    } else if s.enc == TlsCipherEnc::TripleDes {
        "3DES"
    } else if s.enc_mode == TlsCipherEncMode::Cbc {
        "CBC"
    } else if !forward_secret(s) {
        "no forward secrecy"
    } else {
        return None;
    })
}

fn forward_secret(s: &TlsCipherSuite) -> bool {
    matches!(s.kx, TlsCipherKx::Dhe | TlsCipherKx::Ecdhe | TlsCipherKx::Tls13 | TlsCipherKx::Eccpwd)
}

/// Reasons that make a suite insecure (the rest of [`weakness`] makes it weak).
const INSECURE: [&str; 7] = ["NULL", "anon", "EXPORT", "RC4", "DES", "RC2", "MD5"];

/// Class of a suite id; unknown ids are `weak` (we cannot vouch for them).
pub fn class(id: u16) -> SuiteClass {
    let Some(s) = TlsCipherSuite::from_id(id) else {
        return SuiteClass::Weak;
    };
    match weakness(s) {
        Some(w) if INSECURE.contains(&w) => SuiteClass::Insecure,
        Some(_) => SuiteClass::Weak,
        None => {
            let modern = matches!(s.enc, TlsCipherEnc::Aes | TlsCipherEnc::Chacha20_Poly1305)
                && matches!(s.enc_mode, TlsCipherEncMode::Gcm | TlsCipherEncMode::Ccm | TlsCipherEncMode::Null)
                && s.mac == TlsCipherMac::Aead;
            match s.kx {
                TlsCipherKx::Tls13 if modern => SuiteClass::Recommended,
                TlsCipherKx::Ecdhe
                    if modern
                        && s.enc_mode != TlsCipherEncMode::Ccm
                        && matches!(s.au, TlsCipherAu::Rsa | TlsCipherAu::Ecdsa) =>
                {
                    SuiteClass::Recommended
                }
                _ => SuiteClass::Secure,
            }
        }
    }
}

/// True for the signalling values that are not real suites.
fn is_scsv(id: u16) -> bool {
    matches!(id, 0x00ff | 0x5600)
}

/// Every assigned suite that `version` can negotiate, most commonly deployed first.
pub fn candidates(version: TlsVersion) -> Vec<u16> {
    let mut v: Vec<&TlsCipherSuite> = tls_parser::CIPHERS
        .values()
        .filter(|s| !is_scsv(s.id.0))
        .filter(|s| match version {
            TlsVersion::Tls13 => s.kx == TlsCipherKx::Tls13,
            TlsVersion::Tls12 => s.kx != TlsCipherKx::Tls13,
            // Suites with a SHA-256/384 PRF (every AEAD suite) exist only from TLS 1.2 on.
            TlsVersion::Ssl3 | TlsVersion::Tls10 | TlsVersion::Tls11 => {
                s.kx != TlsCipherKx::Tls13 && s.prf == TlsPRF::Default
            }
        })
        .collect();
    v.sort_by_key(|s| (popularity(s), s.id.0));
    v.into_iter().map(|s| s.id.0).collect()
}

/// Rank for offering order: what servers actually run goes into the first bundle.
fn popularity(s: &TlsCipherSuite) -> u8 {
    let kx = match (s.kx, s.au) {
        (TlsCipherKx::Tls13, _) => 0,
        (TlsCipherKx::Ecdhe, TlsCipherAu::Rsa | TlsCipherAu::Ecdsa) => 0,
        (TlsCipherKx::Dhe, TlsCipherAu::Rsa | TlsCipherAu::Dss) => 1,
        (TlsCipherKx::Rsa, TlsCipherAu::Rsa) => 1,
        (TlsCipherKx::Dh | TlsCipherKx::Aecdh, TlsCipherAu::Null) => 2,
        (TlsCipherKx::Ecdh | TlsCipherKx::Dh, _) => 3,
        _ => 4,
    };
    let enc = match s.enc {
        TlsCipherEnc::Aes | TlsCipherEnc::Chacha20_Poly1305 | TlsCipherEnc::TripleDes => 0,
        TlsCipherEnc::Rc4 | TlsCipherEnc::Des | TlsCipherEnc::Null | TlsCipherEnc::Rc2 => 1,
        TlsCipherEnc::Camellia | TlsCipherEnc::Seed | TlsCipherEnc::Idea | TlsCipherEnc::Aria => 2,
        TlsCipherEnc::Sm4 | TlsCipherEnc::Aegis => 3,
    };
    kx * 4 + enc
}

/// Candidates cut into ClientHello-sized bundles.
pub fn bundles(version: TlsVersion) -> Vec<Vec<u16>> {
    candidates(version).chunks(BUNDLE).map(<[u16]>::to_vec).collect()
}

/// Quick mode's offers for `version`: the insecure candidates, then the weak ones, each cut into bundles.
/// One acceptance per class proves the class is accepted.
pub fn weak_bundles(version: TlsVersion) -> Vec<(SuiteClass, Vec<Vec<u16>>)> {
    let all = candidates(version);
    [SuiteClass::Insecure, SuiteClass::Weak]
        .into_iter()
        .map(|c| {
            let ids: Vec<u16> = all.iter().copied().filter(|id| class(*id) == c).collect();
            (c, ids.chunks(BUNDLE).map(<[u16]>::to_vec).collect::<Vec<_>>())
        })
        .filter(|(_, b)| !b.is_empty())
        .collect()
}

/// The report's view of a suite id.
pub fn info(id: u16) -> SuiteInfo {
    SuiteInfo { name: suite_name(id), id: format!("0x{id:04X}"), class: class(id) }
}

/// IANA name of a cipher suite id.
pub fn suite_name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04X}"), |s| s.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names() {
        assert_eq!(suite_name(0x1302), "TLS_AES_256_GCM_SHA384");
        assert_eq!(suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(suite_name(0xfefe), "0xFEFE");
    }

    fn id(name: &str) -> u16 {
        TlsCipherSuite::from_name(name).unwrap().id.0
    }

    #[test]
    fn classes_follow_the_documented_rules() {
        let cases = [
            ("TLS_AES_128_GCM_SHA256", SuiteClass::Recommended),
            ("TLS_CHACHA20_POLY1305_SHA256", SuiteClass::Recommended),
            ("TLS_AES_128_CCM_SHA256", SuiteClass::Recommended),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", SuiteClass::Recommended),
            ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", SuiteClass::Recommended),
            ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", SuiteClass::Secure),
            ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", SuiteClass::Secure),
            ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", SuiteClass::Weak),
            ("TLS_RSA_WITH_AES_128_GCM_SHA256", SuiteClass::Weak),
            ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", SuiteClass::Weak),
            ("TLS_RSA_WITH_RC4_128_SHA", SuiteClass::Insecure),
            ("TLS_RSA_WITH_NULL_SHA256", SuiteClass::Insecure),
            ("TLS_DH_anon_WITH_AES_128_CBC_SHA", SuiteClass::Insecure),
            ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", SuiteClass::Insecure),
            ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", SuiteClass::Insecure),
            ("TLS_RSA_WITH_DES_CBC_SHA", SuiteClass::Insecure),
            ("TLS_RSA_WITH_RC4_128_MD5", SuiteClass::Insecure),
        ];
        for (name, want) in cases {
            assert_eq!(class(id(name)), want, "{name}");
        }
        assert_eq!(weakness(TlsCipherSuite::from_id(0x0003).unwrap()), Some("EXPORT"));
    }

    #[test]
    fn candidates_per_version() {
        let v13 = candidates(TlsVersion::Tls13);
        for s in [0x1301, 0x1302, 0x1303, 0x1304, 0x1305] {
            assert!(v13.contains(&s), "{s:04x}");
        }
        let v12 = candidates(TlsVersion::Tls12);
        let v10 = candidates(TlsVersion::Tls10);
        assert!(v12.len() > 300 && v12.contains(&0xc02f) && !v12.contains(&0x1301) && !v12.contains(&0x00ff));
        assert!(v10.contains(&0x002f) && v10.contains(&0x0003) && !v10.contains(&0xc02f), "no AEAD before 1.2");
        assert_eq!(candidates(TlsVersion::Ssl3), v10);
        // The suites servers deploy sit in the first bundle.
        let first = &bundles(TlsVersion::Tls12)[0];
        for s in [0xc02f, 0xc030, 0xcca8, 0xc02b, 0x009e, 0x002f, 0x000a, 0x0005, 0x0034, 0x0001] {
            assert!(first.contains(&s), "{s:04x} not in the first bundle");
        }
        assert!(bundles(TlsVersion::Tls12).iter().all(|b| b.len() <= BUNDLE));
    }

    #[test]
    fn quick_offers_cover_every_weak_suite() {
        let offers = weak_bundles(TlsVersion::Tls12);
        assert_eq!(offers.iter().map(|o| o.0).collect::<Vec<_>>(), vec![SuiteClass::Insecure, SuiteClass::Weak]);
        let offered: usize = offers.iter().flat_map(|o| o.1.iter()).map(Vec::len).sum();
        let weak = candidates(TlsVersion::Tls12).iter().filter(|id| class(**id) <= SuiteClass::Weak).count();
        assert_eq!(offered, weak);
        assert!(offers.iter().flat_map(|o| o.1.iter()).all(|b| b.len() <= BUNDLE));
    }
}
