//! TLS wire idioms every probe that reads a server's first bytes shares (the rustls probe, the raw
//! probe, the host pass's bus probe, the plaintext PING's "is this TLS?"): what a record header looks
//! like, and the names of alerts and key-exchange groups.

use rustls::AlertDescription;

use crate::model::Alert;

/// A TLS record header: a known content type (change_cipher_spec, alert, handshake, application data)
/// and major version 3.
pub fn is_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x14..=0x17, 0x03, ..])
}

/// The start of a TLS record, or too little to tell (one byte of a known content type).
pub fn may_be_record(bytes: &[u8]) -> bool {
    is_record(bytes) || matches!(bytes, [0x14..=0x17])
}

/// What a TLS server answers a ClientHello with: a handshake or an alert record, major version 3.
pub fn is_server_answer(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}

/// The alert with this description code, named.
pub fn alert(code: u8) -> Alert {
    Alert { code, name: alert_name(code).to_string() }
}

/// How an alert reads in a detail: `TLS alert handshake_failure (40)`.
pub fn alert_text(a: &Alert) -> String {
    format!("TLS alert {} ({})", a.name, a.code)
}

/// IANA name of a key-exchange group id.
pub fn group_name(id: u16) -> String {
    match id {
        0x0013 => "secp192r1".into(),
        0x0015 => "secp224r1".into(),
        0x0017 => "secp256r1".into(),
        0x0018 => "secp384r1".into(),
        0x0019 => "secp521r1".into(),
        0x001d => "x25519".into(),
        0x001e => "x448".into(),
        0x0100 => "ffdhe2048".into(),
        0x0101 => "ffdhe3072".into(),
        0x0102 => "ffdhe4096".into(),
        0x0103 => "ffdhe6144".into(),
        0x0104 => "ffdhe8192".into(),
        0x11eb => "SecP256r1MLKEM768".into(),
        0x11ec => "X25519MLKEM768".into(),
        0x11ed => "SecP384r1MLKEM1024".into(),
        _ => format!("0x{id:04x}"),
    }
}

/// RFC 8446 §6 (and RFC 5246) name of an alert description.
pub fn alert_name(code: u8) -> &'static str {
    match AlertDescription::from(code) {
        AlertDescription::CloseNotify => "close_notify",
        AlertDescription::UnexpectedMessage => "unexpected_message",
        AlertDescription::BadRecordMac => "bad_record_mac",
        AlertDescription::DecryptionFailed => "decryption_failed",
        AlertDescription::RecordOverflow => "record_overflow",
        AlertDescription::DecompressionFailure => "decompression_failure",
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::NoCertificate => "no_certificate",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::IllegalParameter => "illegal_parameter",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::DecodeError => "decode_error",
        AlertDescription::DecryptError => "decrypt_error",
        AlertDescription::ExportRestriction => "export_restriction",
        AlertDescription::ProtocolVersion => "protocol_version",
        AlertDescription::InsufficientSecurity => "insufficient_security",
        AlertDescription::InternalError => "internal_error",
        AlertDescription::InappropriateFallback => "inappropriate_fallback",
        AlertDescription::UserCanceled => "user_canceled",
        AlertDescription::NoRenegotiation => "no_renegotiation",
        AlertDescription::MissingExtension => "missing_extension",
        AlertDescription::UnsupportedExtension => "unsupported_extension",
        AlertDescription::CertificateUnobtainable => "certificate_unobtainable",
        AlertDescription::UnrecognisedName => "unrecognized_name",
        AlertDescription::BadCertificateStatusResponse => "bad_certificate_status_response",
        AlertDescription::BadCertificateHashValue => "bad_certificate_hash_value",
        AlertDescription::UnknownPSKIdentity => "unknown_psk_identity",
        AlertDescription::CertificateRequired => "certificate_required",
        AlertDescription::NoApplicationProtocol => "no_application_protocol",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_records() {
        assert_eq!(alert_name(116), "certificate_required");
        assert_eq!(alert_name(70), "protocol_version");
        assert_eq!(alert_name(250), "unknown");
        assert_eq!(alert_text(&alert(40)), "TLS alert handshake_failure (40)");
        assert_eq!(group_name(0x001d), "x25519");
        assert!(is_record(&[0x17, 0x03, 0x03]) && !is_record(b"-ERR") && !is_record(&[0x16]));
        assert!(may_be_record(&[0x16]) && !may_be_record(b"+"));
        assert!(is_server_answer(&[0x15, 0x03, 0x01]) && !is_server_answer(&[0x17, 0x03, 0x03]));
    }
}
