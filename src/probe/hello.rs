//! Raw TLS bytes for the legacy/enumeration probe: a hand-built ClientHello (RFC 5246 §7.4.1.2, RFC 8446
//! §4.1.2) for any version from SSLv3 to TLS 1.3 and any suite ids, and a parser of the server's first
//! flight (ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone, or an alert).
//!
//! Pure functions, no I/O and no crypto: reading a ServerHello needs none. The parser takes whatever
//! bytes have arrived and says whether it has an answer yet; it is bounded by its input and fuzzed.

use tls_parser::{
    ECParametersContent, TlsExtension, TlsMessage, TlsMessageHandshake, TlsRecordType, parse_dh_params,
    parse_ecdh_params, parse_tls_message_handshake, parse_tls_raw_record, parse_tls_server_hello_extensions,
};

use crate::model::TlsVersion;

/// Renegotiation-info SCSV (RFC 5746), appended to every hello as testssl.sh does.
pub const SCSV_RENEGOTIATION: u16 = 0x00ff;

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Most records a first flight may span (a 16-certificate chain needs under 20).
pub const MAX_RECORDS: usize = 64;

/// Length of the prefix of `bytes` made of complete records (record headers only; cheap).
pub fn complete_records_len(bytes: &[u8], mut from: usize) -> usize {
    while let Some([_, _, _, a, b]) = bytes.get(from..from + 5) {
        let end = from + 5 + usize::from(u16::from_be_bytes([*a, *b]));
        if end > bytes.len() {
            break;
        }
        from = end;
    }
    from
}

/// Groups offered by default: modern curves first, then finite-field groups (RFC 7919).
pub const DEFAULT_GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102];

/// Elliptic curves of fewer than 224 bits (RFC 4492 ids), offered alone to detect weak ECDHE.
pub const WEAK_GROUPS: &[u16] =
    &[0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x000f, 0x0010, 0x0011, 0x0012, 0x0013];

/// Signature algorithms (TLS 1.2+): ECDSA, RSA-PSS, RSA PKCS#1, EdDSA, then SHA-1 and legacy ones so that
/// old servers still answer (we verify nothing here).
const SIGALGS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0808, 0x0203, 0x0201, 0x0402,
    0x0202,
];

/// Everything a ClientHello varies by.
#[derive(Debug, Clone)]
pub struct HelloSpec<'a> {
    /// Version to offer.
    pub version: TlsVersion,
    /// Cipher suite ids, in preference order (at most 128 are sent; the SCSV is added).
    pub suites: &'a [u16],
    /// Server name for SNI; never an IP literal (RFC 6066 §3).
    pub sni: Option<&'a str>,
    /// Supported groups.
    pub groups: &'a [u16],
    /// ClientHello.random.
    pub random: [u8; 32],
    /// Our x25519 key share for TLS 1.3 (any 32 bytes will do for a probe).
    pub key_share: [u8; 32],
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let b = u32::try_from(v).unwrap_or(0).to_be_bytes();
    out.extend_from_slice(b.get(1..).unwrap_or_default());
}

fn len16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn ext(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    put_u16(out, kind);
    put_u16(out, len16(body.len()));
    out.extend_from_slice(body);
}

fn list16(items: &[u16]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + items.len() * 2);
    put_u16(&mut v, len16(items.len() * 2));
    for i in items {
        put_u16(&mut v, *i);
    }
    v
}

/// `client_version` on the wire.
pub fn wire_version(v: TlsVersion) -> u16 {
    match v {
        TlsVersion::Ssl3 => 0x0300,
        TlsVersion::Tls10 => 0x0301,
        TlsVersion::Tls11 => 0x0302,
        TlsVersion::Tls12 | TlsVersion::Tls13 => 0x0303,
    }
}

/// The version a wire value names.
pub fn version_of(wire: u16) -> Option<TlsVersion> {
    match wire {
        0x0300 => Some(TlsVersion::Ssl3),
        0x0301 => Some(TlsVersion::Tls10),
        0x0302 => Some(TlsVersion::Tls11),
        0x0303 => Some(TlsVersion::Tls12),
        0x0304 => Some(TlsVersion::Tls13),
        _ => None,
    }
}

/// Builds the ClientHello record.
pub fn client_hello(spec: &HelloSpec<'_>) -> Vec<u8> {
    let v = spec.version;
    let tls13 = v == TlsVersion::Tls13;
    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, wire_version(v));
    body.extend_from_slice(&spec.random);
    if tls13 {
        // A non-empty legacy_session_id: middlebox compatibility mode (RFC 8446 §D.4).
        body.push(32);
        body.extend_from_slice(&spec.random);
    } else {
        body.push(0);
    }
    let mut suites: Vec<u16> = spec.suites.iter().copied().filter(|s| *s != SCSV_RENEGOTIATION).take(127).collect();
    suites.push(SCSV_RENEGOTIATION);
    body.extend_from_slice(&list16(&suites));
    body.extend_from_slice(&[1, 0]); // compression: null only

    if v != TlsVersion::Ssl3 {
        let mut exts = Vec::with_capacity(256);
        if let Some(name) = spec.sni.filter(|n| n.parse::<std::net::IpAddr>().is_err()) {
            let mut sni = Vec::new();
            put_u16(&mut sni, len16(name.len() + 3));
            sni.push(0); // host_name
            put_u16(&mut sni, len16(name.len()));
            sni.extend_from_slice(name.as_bytes());
            ext(&mut exts, 0x0000, &sni);
        }
        ext(&mut exts, 0x000a, &list16(spec.groups));
        ext(&mut exts, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
        // signature_algorithms exists from TLS 1.2 on; older servers may reject it (RFC 5246 §7.4.1.4.1).
        if matches!(v, TlsVersion::Tls12 | TlsVersion::Tls13) {
            ext(&mut exts, 0x000d, &list16(SIGALGS));
        }
        if tls13 {
            ext(&mut exts, 0x002b, &[2, 0x03, 0x04]); // supported_versions: TLS 1.3 only
            ext(&mut exts, 0x002d, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
            let mut ks = Vec::with_capacity(38);
            put_u16(&mut ks, 36);
            put_u16(&mut ks, 0x001d);
            put_u16(&mut ks, 32);
            ks.extend_from_slice(&spec.key_share);
            ext(&mut exts, 0x0033, &ks);
        }
        // RFC 7685 padding: some servers and middleboxes hang on hellos of 256 to 511 bytes.
        let hello_len = 4 + body.len() + 2 + exts.len();
        if (256..512).contains(&hello_len) {
            let pad = 512usize.saturating_sub(hello_len + 4);
            ext(&mut exts, 0x0015, &vec![0u8; pad]);
        }
        put_u16(&mut body, len16(exts.len()));
        body.extend_from_slice(&exts);
    }

    let mut hs = Vec::with_capacity(body.len() + 4);
    hs.push(1); // client_hello
    put_u24(&mut hs, body.len());
    hs.extend_from_slice(&body);
    let mut record = Vec::with_capacity(hs.len() + 5);
    record.push(0x16);
    // Record version 3.1 except for SSLv3: some servers reject a first record claiming 3.3.
    put_u16(&mut record, if v == TlsVersion::Ssl3 { 0x0300 } else { 0x0301 });
    put_u16(&mut record, len16(hs.len()));
    record.extend_from_slice(&hs);
    record
}

/// What the server's first flight said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// Negotiated version: `supported_versions` if present, else `server_version`.
    pub version: u16,
    /// Chosen cipher suite.
    pub cipher: u16,
    /// This was a HelloRetryRequest (TLS 1.3): the server accepts the version and suite but wants
    /// another key share.
    pub retry_request: bool,
    /// Group of the server's key share (TLS 1.3) or the one a HelloRetryRequest asks for.
    pub key_share_group: Option<u16>,
    /// DER certificates of the Certificate message (TLS ≤ 1.2, sent in clear).
    pub certificates: Vec<Vec<u8>>,
    /// Size in bits of the ephemeral DH prime (ServerKeyExchange of a DHE suite).
    pub dh_bits: Option<u32>,
    /// Named curve of the ephemeral ECDH key (ServerKeyExchange of an ECDHE suite).
    pub ecdh_group: Option<u16>,
    /// A CertificateRequest arrived.
    pub certificate_request: bool,
    /// ServerHelloDone arrived (the flight is complete).
    pub done: bool,
}

/// The state of a reply so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Not enough bytes to decide yet.
    Incomplete,
    /// A ServerHello; `final` when nothing more useful can follow (flight done, TLS 1.3, HRR).
    Hello {
        /// What it says.
        hello: ServerHello,
        /// The flight is complete.
        complete: bool,
    },
    /// An alert before any ServerHello.
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description.
        code: u8,
    },
    /// Bytes that are not a TLS server flight.
    NotTls,
}

/// Parses what has arrived. `bytes` is everything read so far from the connection.
pub fn parse_reply(bytes: &[u8]) -> Reply {
    match bytes {
        [] | [_] => return Reply::Incomplete,
        b if super::wire::is_record(b) => {}
        _ => return Reply::NotTls,
    }
    let mut rest = bytes;
    let mut handshake = Vec::new();
    let mut alert = None;
    let mut records = 0;
    while !rest.is_empty() {
        records += 1;
        if records > MAX_RECORDS {
            // A real first flight is a handful of records; thousands of tiny ones are an attack.
            return Reply::NotTls;
        }
        match parse_tls_raw_record(rest) {
            Ok((next, rec)) => {
                rest = next;
                match rec.hdr.record_type {
                    TlsRecordType::Handshake => handshake.extend_from_slice(rec.data),
                    TlsRecordType::Alert => {
                        if let [level, code, ..] = rec.data {
                            alert.get_or_insert((*level, *code));
                        }
                        break;
                    }
                    // TLS 1.3 middlebox-compatibility CCS, then encrypted records: nothing to read.
                    TlsRecordType::ChangeCipherSpec | TlsRecordType::ApplicationData => break,
                    _ => return Reply::NotTls,
                }
            }
            Err(tls_parser::Err::Incomplete(_)) => break,
            Err(_) => return Reply::NotTls,
        }
    }
    let hello = parse_handshake(&handshake);
    match (hello, alert) {
        (Some(h), alert) => {
            let complete = h.done || h.retry_request || h.version == 0x0304 || alert.is_some();
            Reply::Hello { hello: h, complete }
        }
        (None, Some((level, code))) => Reply::Alert { level, code },
        (None, None) if handshake_is_garbage(&handshake) => Reply::NotTls,
        (None, None) => Reply::Incomplete,
    }
}

/// The first handshake message is complete and is not a ServerHello.
fn handshake_is_garbage(hs: &[u8]) -> bool {
    match hs {
        [t, a, b, c, rest @ ..] => {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            *t != 2 && rest.len() >= len
        }
        _ => false,
    }
}

/// Walks the reassembled handshake messages; `None` until a ServerHello is complete.
fn parse_handshake(mut hs: &[u8]) -> Option<ServerHello> {
    let mut hello: Option<ServerHello> = None;
    let mut kx_params: Option<&[u8]> = None;
    while let [_, a, b, c, ..] = hs {
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        let Some(msg) = hs.get(..4 + len) else { break };
        hs = hs.get(4 + len..).unwrap_or_default();
        match parse_tls_message_handshake(msg) {
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) if hello.is_none() => {
                let mut h = ServerHello {
                    version: sh.version.0,
                    cipher: sh.cipher.0,
                    retry_request: sh.random == HRR_RANDOM,
                    ..ServerHello::default()
                };
                if let Some(Ok((_, exts))) = sh.ext.map(parse_tls_server_hello_extensions) {
                    for e in exts {
                        match e {
                            TlsExtension::SupportedVersions(v) => {
                                if let Some(first) = v.first() {
                                    h.version = first.0;
                                }
                            }
                            TlsExtension::KeyShare([x, y, ..]) => {
                                h.key_share_group = Some(u16::from_be_bytes([*x, *y]));
                            }
                            _ => {}
                        }
                    }
                }
                hello = Some(h);
            }
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) => {
                if let Some(h) = hello.as_mut() {
                    h.certificates =
                        c.cert_chain.iter().take(crate::cert::CHAIN_KEEP).map(|rc| rc.data.to_vec()).collect();
                }
            }
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerKeyExchange(ske)))) => {
                kx_params = Some(ske.parameters);
            }
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::CertificateRequest(_)))) => {
                if let Some(h) = hello.as_mut() {
                    h.certificate_request = true;
                }
            }
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerDone(_)))) => {
                if let Some(h) = hello.as_mut() {
                    h.done = true;
                }
            }
            _ => {}
        }
    }
    let mut hello = hello?;
    if let Some(params) = kx_params {
        read_key_exchange(&mut hello, params);
    }
    Some(hello)
}

/// DH prime size or ECDH curve from ServerKeyExchange parameters, by the chosen suite's key exchange.
fn read_key_exchange(hello: &mut ServerHello, params: &[u8]) {
    let kx = tls_parser::TlsCipherSuite::from_id(hello.cipher).map(|s| s.kx);
    match kx {
        Some(tls_parser::TlsCipherKx::Dhe | tls_parser::TlsCipherKx::Dh) => {
            if let Ok((_, dh)) = parse_dh_params(params) {
                hello.dh_bits = Some(crate::cert::bit_length(dh.dh_p));
            }
        }
        Some(tls_parser::TlsCipherKx::Ecdhe | tls_parser::TlsCipherKx::Aecdh | tls_parser::TlsCipherKx::Ecdh) => {
            if let Ok((_, ec)) = parse_ecdh_params(params)
                && let ECParametersContent::NamedGroup(g) = ec.curve_params.params_content
            {
                hello.ecdh_group = Some(g.0);
            }
        }
        _ => {}
    }
}

/// Bits of security-relevant size of a named group (the curve's field size, the FFDHE prime size).
pub fn group_bits(group: u16) -> Option<u32> {
    Some(match group {
        0x0001..=0x0003 => 163,
        0x0004 | 0x0005 => 193,
        0x0006 | 0x0007 => 233,
        0x0008 => 239,
        0x0009 | 0x000a => 283,
        0x000b | 0x000c => 409,
        0x000d | 0x000e => 571,
        0x000f..=0x0011 => 160,
        0x0012 | 0x0013 => 192,
        0x0014 | 0x0015 => 224,
        0x0016 | 0x0017 => 256,
        0x0018 => 384,
        0x0019 => 521,
        0x001a => 256,
        0x001b => 384,
        0x001c => 512,
        0x001d => 255,
        0x001e => 448,
        0x0100 => 2048,
        0x0101 => 3072,
        0x0102 => 4096,
        0x0103 => 6144,
        0x0104 => 8192,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: TlsVersion, suites: &[u16], sni: Option<&'static str>) -> Vec<u8> {
        client_hello(&HelloSpec { version, suites, sni, groups: DEFAULT_GROUPS, random: [7; 32], key_share: [9; 32] })
    }

    /// Walks the extensions of a hello built by `client_hello`.
    fn extensions(record: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let body = &record[9..];
        let sid_len = body[34] as usize;
        let mut p = 35 + sid_len;
        let suites_len = u16::from_be_bytes([body[p], body[p + 1]]) as usize;
        p += 2 + suites_len;
        p += 1 + body[p] as usize;
        if p == body.len() {
            return Vec::new();
        }
        let total = u16::from_be_bytes([body[p], body[p + 1]]) as usize;
        p += 2;
        assert_eq!(p + total, body.len(), "extensions fill the hello");
        let mut out = Vec::new();
        while p < body.len() {
            let kind = u16::from_be_bytes([body[p], body[p + 1]]);
            let len = u16::from_be_bytes([body[p + 2], body[p + 3]]) as usize;
            out.push((kind, body[p + 4..p + 4 + len].to_vec()));
            p += 4 + len;
        }
        out
    }

    #[test]
    fn tls12_hello_matches_rfc5246_layout() {
        let r = spec(TlsVersion::Tls12, &[0xc02f], Some("redis.test"));
        assert_eq!(&r[..3], &[0x16, 0x03, 0x01], "handshake record, version 3.1");
        assert_eq!(u16::from_be_bytes([r[3], r[4]]) as usize, r.len() - 5, "record length");
        assert_eq!(r[5], 1, "client_hello");
        assert_eq!(u32::from_be_bytes([0, r[6], r[7], r[8]]) as usize, r.len() - 9, "handshake length");
        assert_eq!(&r[9..11], &[0x03, 0x03], "client_version");
        assert_eq!(&r[11..43], &[7; 32], "random");
        assert_eq!(r[43], 0, "empty session id");
        assert_eq!(&r[44..50], &[0x00, 0x04, 0xc0, 0x2f, 0x00, 0xff], "suites + SCSV");
        assert_eq!(&r[50..52], &[1, 0], "null compression");
        let exts: Vec<u16> = extensions(&r).iter().map(|e| e.0).collect();
        assert_eq!(exts, vec![0x0000, 0x000a, 0x000b, 0x000d]);
        let sni = &extensions(&r)[0].1;
        assert_eq!(sni, &[&[0, 13, 0, 0, 10][..], b"redis.test"].concat());
        let parsed = tls_parser::parse_tls_plaintext(&r).unwrap();
        assert!(parsed.0.is_empty());
    }

    #[test]
    fn tls13_hello_carries_versions_and_key_share() {
        let r = spec(TlsVersion::Tls13, &[0x1301, 0x1302], None);
        assert_eq!(r[43], 32, "legacy session id for middleboxes");
        let exts = extensions(&r);
        let kinds: Vec<u16> = exts.iter().map(|e| e.0).collect();
        assert_eq!(kinds, vec![0x000a, 0x000b, 0x000d, 0x002b, 0x002d, 0x0033]);
        assert_eq!(exts[3].1, vec![2, 3, 4]);
        assert_eq!(&exts[5].1[..6], &[0, 36, 0, 0x1d, 0, 32]);
        assert_eq!(exts[5].1.len(), 38);
    }

    #[test]
    fn sslv3_hello_has_no_extensions_and_ip_gets_no_sni() {
        let r = spec(TlsVersion::Ssl3, &[0x000a, 0x0005], Some("redis.test"));
        assert_eq!(&r[..3], &[0x16, 0x03, 0x00]);
        assert_eq!(&r[9..11], &[0x03, 0x00]);
        assert!(extensions(&r).is_empty());
        let r = spec(TlsVersion::Tls10, &[0x002f], Some("127.0.0.1"));
        let kinds: Vec<u16> = extensions(&r).iter().map(|e| e.0).collect();
        assert_eq!(kinds, vec![0x000a, 0x000b], "no SNI for an IP, no sigalgs before 1.2");
    }

    #[test]
    fn hellos_between_256_and_511_bytes_are_padded_to_512() {
        let suites: Vec<u16> = (0xc001..0xc001 + 100).collect();
        let r = spec(TlsVersion::Tls12, &suites, None);
        assert_eq!(r.len() - 5, 512, "handshake message padded");
        assert!(extensions(&r).iter().any(|e| e.0 == 0x0015));
        let r = spec(TlsVersion::Tls12, &[0xc02f], None);
        assert!(r.len() - 5 < 256);
    }

    #[test]
    fn at_most_128_suites_are_sent() {
        let suites: Vec<u16> = (1..=300).collect();
        let r = spec(TlsVersion::Tls12, &suites, None);
        assert_eq!(u16::from_be_bytes([r[44], r[45]]), 256);
    }

    fn server_hello(version: u16, cipher: u16, random: [u8; 32], exts: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&version.to_be_bytes());
        body.extend_from_slice(&random);
        body.push(0);
        body.extend_from_slice(&cipher.to_be_bytes());
        body.push(0);
        if !exts.is_empty() {
            body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
            body.extend_from_slice(exts);
        }
        let mut hs = vec![2, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        hs
    }

    fn record(kind: u8, version: u16, payload: &[u8]) -> Vec<u8> {
        let mut r = vec![kind];
        r.extend_from_slice(&version.to_be_bytes());
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn parses_a_tls12_flight_split_across_records() {
        let mut hs = server_hello(0x0303, 0xc030, [1; 32], &[0xff, 0x01, 0x00, 0x01, 0x00]);
        hs.extend_from_slice(&[14, 0, 0, 0]); // ServerHelloDone
        let (a, b) = hs.split_at(20);
        let mut bytes = record(0x16, 0x0303, a);
        assert_eq!(parse_reply(&bytes), Reply::Incomplete);
        bytes.extend(record(0x16, 0x0303, b));
        let Reply::Hello { hello, complete } = parse_reply(&bytes) else { panic!() };
        assert!(complete && hello.done);
        assert_eq!((hello.version, hello.cipher), (0x0303, 0xc030));
        assert!(!hello.retry_request);
    }

    #[test]
    fn parses_tls13_supported_versions_and_hello_retry_request() {
        let exts = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x02, 0x00, 0x17];
        let bytes = record(0x16, 0x0303, &server_hello(0x0303, 0x1304, HRR_RANDOM, &exts));
        let Reply::Hello { hello, complete } = parse_reply(&bytes) else { panic!() };
        assert!(complete && hello.retry_request);
        assert_eq!((hello.version, hello.cipher, hello.key_share_group), (0x0304, 0x1304, Some(0x0017)));
    }

    #[test]
    fn parses_alerts_and_rejects_non_tls() {
        assert_eq!(parse_reply(&record(0x15, 0x0303, &[2, 70])), Reply::Alert { level: 2, code: 70 });
        assert_eq!(parse_reply(b"-ERR unknown command\r\n"), Reply::NotTls);
        assert_eq!(parse_reply(b"+PONG\r\n"), Reply::NotTls);
        assert_eq!(parse_reply(&[0x16]), Reply::Incomplete);
        assert_eq!(parse_reply(&[0x16, 0x03, 0x01, 0x00]), Reply::Incomplete);
        // A complete handshake record that is not a ServerHello.
        assert_eq!(parse_reply(&record(0x16, 0x0303, &[1, 0, 0, 0])), Reply::NotTls);
    }

    #[test]
    fn thousands_of_empty_records_are_not_a_flight() {
        let bytes: Vec<u8> = std::iter::repeat_n([0x16u8, 3, 3, 0, 0], 100).flatten().collect();
        assert_eq!(parse_reply(&bytes), Reply::NotTls);
        assert_eq!(complete_records_len(&bytes, 0), 500);
        assert_eq!(complete_records_len(&bytes[..7], 0), 5);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..3000)) {
            let _ = parse_reply(&bytes);
        }

        #[test]
        fn parser_never_panics_on_mutated_flights(flips in proptest::collection::vec((0usize..200, proptest::num::u8::ANY), 0..10)) {
            let mut hs = server_hello(0x0303, 0x009e, [3; 32], &[]);
            hs.extend_from_slice(&[12, 0, 0, 10, 0, 2, 0xff, 0xfb, 0, 1, 2, 0, 1, 5]);
            hs.extend_from_slice(&[14, 0, 0, 0]);
            let mut bytes = record(0x16, 0x0303, &hs);
            let len = bytes.len();
            for (i, b) in flips { bytes[i % len] = b; }
            let _ = parse_reply(&bytes);
        }
    }
}
