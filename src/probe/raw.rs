//! The raw ClientHello probe: which protocol versions (SSLv3 to TLS 1.3) and which cipher suites a server
//! accepts, including everything rustls will never offer (RC4, 3DES, CBC, NULL, anonymous, EXPORT, TLS
//! 1.3 CCM), and the key-exchange sizes and, for TLS ≤ 1.2, the certificate chain sent in clear.
//!
//! Each hello is its own connection; nothing is ever sent after the ClientHello. A version is accepted
//! only when the ServerHello negotiates exactly that version. Enumeration is testssl.sh's method: offer
//! a bundle of at most 128 suites, remove the one the server chose, repeat until it refuses.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::hello::{
    DEFAULT_GROUPS, HelloSpec, Reply, ServerHello, WEAK_GROUPS, client_hello, complete_records_len, group_bits,
    parse_reply, version_of,
};
use super::suites::{self, bundles, weak_bundles};
use super::{Budget, NoConnection, ReadEnd, connect, read_by, wire, write_by};
use crate::model::{Enumeration, HandshakeFailure, KeyExchange, TlsVersion, VersionProbe, VersionStatus};
use crate::text::escape_bytes;

/// Most bytes read per hello: a ServerHello plus a large certificate chain.
const RAW_CAP: usize = 128 * 1024;

/// Retries of a hello that timed out mid-enumeration (busy server), and the first pause (then x3).
const RETRIES: u32 = 2;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// How much cipher-suite work to do per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CipherScan {
    /// Versions, every accepted suite of every version, server preference, key-exchange sizes.
    Full,
    /// Versions, plus one hello per weak-suite class per accepted version (no full list).
    Quick,
    /// No raw probe: TLS 1.2 and 1.3 through rustls only; SSLv3 to TLS 1.1 not tested.
    Off,
}

impl CipherScan {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Quick => "quick",
            Self::Off => "off",
        }
    }
}

/// What one hello got back.
#[derive(Debug, Clone)]
enum Answer {
    Hello(Box<ServerHello>),
    Alert(u8),
    NotTls(Vec<u8>),
    Io(ReadEnd),
    ConnectFailed,
    /// This machine had no socket to give: says nothing of the server.
    NoSockets,
}

/// What the raw probe learned.
#[derive(Debug, Clone, Default)]
pub struct RawOutcome {
    /// Verdict per version (every version present).
    pub versions: BTreeMap<TlsVersion, VersionProbe>,
    /// Certificates from a TLS ≤ 1.2 Certificate message, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// Key-exchange facts.
    pub key_exchange: KeyExchange,
    /// True when any reply was TLS (a ServerHello or an alert).
    pub tls_reply: bool,
    /// From a complete clear-text TLS ≤ 1.2 flight (through ServerHelloDone): whether it held a
    /// CertificateRequest. `None` when no complete flight was seen.
    pub cert_request: Option<bool>,
    /// Connections used.
    pub connections: u32,
}

/// Per-endpoint probe state.
struct Prober<'a> {
    addr: SocketAddr,
    sni: Option<&'a str>,
    budget: &'a Budget,
    out: RawOutcome,
    random: ring::rand::SystemRandom,
}

impl Prober<'_> {
    /// One connection, one ClientHello, one reply.
    async fn hello(&mut self, version: TlsVersion, suites: &[u16], groups: &[u16]) -> Answer {
        use ring::rand::SecureRandom;
        let mut random = [0u8; 32];
        let mut key_share = [0u8; 32];
        let _ = self.random.fill(&mut random);
        let _ = self.random.fill(&mut key_share);
        let bytes = client_hello(&HelloSpec { version, suites, sni: self.sni, groups, random, key_share });
        self.out.connections += 1;
        let mut sock = match connect(self.addr, self.budget).await {
            Ok(sock) => sock,
            Err(NoConnection::ResetOnAccept) => return Answer::Io(ReadEnd::Reset),
            Err(NoConnection::OutOfSockets) => {
                // No connection was made.
                self.out.connections -= 1;
                return Answer::NoSockets;
            }
            Err(NoConnection::Dead(_)) => return Answer::ConnectFailed,
        };
        if let Err(end) = write_by(&mut sock, &bytes, self.budget).await {
            return Answer::Io(end);
        }
        // One deadline for the whole first flight, however slowly it trickles in.
        let deadline = self.budget.reply_deadline();
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 8192];
        // Re-parse only when a new record has completed: a peer trickling bytes cannot make us re-parse
        // the whole buffer per byte.
        let mut complete = 0;
        loop {
            let end = match read_by(&mut sock, &mut chunk, deadline).await {
                Err(end) => end,
                Ok(n) => {
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    let now_complete = complete_records_len(&buf, complete);
                    let looks_tls = wire::may_be_record(&buf);
                    if now_complete == complete && looks_tls && buf.len() < RAW_CAP {
                        continue;
                    }
                    complete = now_complete;
                    match parse_reply(&buf) {
                        Reply::Hello { complete: true, hello } => return self.seen(Answer::Hello(Box::new(hello))),
                        Reply::Alert { code, .. } => return self.seen(Answer::Alert(code)),
                        Reply::NotTls => return Answer::NotTls(buf),
                        Reply::Hello { complete: false, .. } | Reply::Incomplete if buf.len() < RAW_CAP => {
                            continue;
                        }
                        Reply::Hello { .. } | Reply::Incomplete => ReadEnd::Cap,
                    }
                }
            };
            // The read ended: use what arrived.
            return match parse_reply(&buf) {
                Reply::Hello { hello, .. } => self.seen(Answer::Hello(Box::new(hello))),
                Reply::Alert { code, .. } => self.seen(Answer::Alert(code)),
                Reply::NotTls => Answer::NotTls(buf),
                Reply::Incomplete => Answer::Io(end),
            };
        }
    }

    /// A hello in the middle of an enumeration, where the server has already answered: a timeout, a
    /// failed connect or a reset there is most likely a busy server, not a refusal, so the same hello is
    /// tried again, at most [`RETRIES`] times, after a growing pause, within the endpoint's deadline.
    async fn hello_again(&mut self, version: TlsVersion, suites: &[u16], groups: &[u16]) -> Answer {
        let mut pause = RETRY_PAUSE;
        let mut answer = self.hello(version, suites, groups).await;
        for _ in 0..RETRIES {
            if !matches!(answer, Answer::Io(ReadEnd::Timeout | ReadEnd::Reset) | Answer::ConnectFailed)
                || self.budget.left() <= pause
            {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 3;
            answer = self.hello(version, suites, groups).await;
        }
        answer
    }

    /// Records what every TLS answer teaches, whatever the probe that asked.
    fn seen(&mut self, a: Answer) -> Answer {
        self.out.tls_reply = true;
        if let Answer::Hello(h) = &a {
            if self.out.chain.is_empty() && !h.certificates.is_empty() {
                self.out.chain = h.certificates.clone();
            }
            if h.done {
                self.out.cert_request = Some(self.out.cert_request.unwrap_or(false) || h.certificate_request);
            }
            let kx = &mut self.out.key_exchange;
            if let Some(bits) = h.dh_bits {
                kx.dh_bits = Some(kx.dh_bits.map_or(bits, |b| b.min(bits)));
            }
            for g in [h.ecdh_group, h.key_share_group].into_iter().flatten() {
                let name = wire::group_name(g);
                if !kx.groups.contains(&name) {
                    kx.groups.push(name);
                }
            }
        }
        a
    }
}

/// A version's probing in progress.
#[derive(Debug, Default)]
struct VersionRun {
    accepted: Vec<u16>,
    /// Which bundle each accepted suite came from.
    bundle_of: Vec<usize>,
    first_failure: Option<(HandshakeFailure, Option<u8>, Option<String>)>,
    incomplete: bool,
    detail: Option<String>,
    server_preference: Option<bool>,
    /// A hello could not be sent for want of a socket on this machine.
    no_sockets: bool,
}

/// Versions the raw probe works on at once, each on its own connection.
pub const PARALLEL_VERSIONS: u32 = 5;

/// Runs the raw probe on an endpoint.
///
/// The five versions are probed concurrently (each sequentially): at most [`PARALLEL_VERSIONS`]
/// connections to the endpoint at once (each version holds one socket only while its hello is out, and
/// never waits for another while holding it), and the audit takes as long as its busiest version instead of their sum.
pub async fn audit(addr: SocketAddr, sni: Option<&str>, mode: CipherScan, budget: &Budget) -> RawOutcome {
    let mut out = RawOutcome::default();
    for v in TlsVersion::ALL {
        out.versions.insert(v, VersionProbe::not_tested());
    }
    if mode == CipherScan::Off {
        return out;
    }
    let one = |v| audit_version(addr, sni, mode, budget, v);
    let (v13, v12, v11, v10, v3) = tokio::join!(
        one(TlsVersion::Tls13),
        one(TlsVersion::Tls12),
        one(TlsVersion::Tls11),
        one(TlsVersion::Tls10),
        one(TlsVersion::Ssl3)
    );
    for (version, (probe, part)) in [
        (TlsVersion::Tls13, v13),
        (TlsVersion::Tls12, v12),
        (TlsVersion::Tls11, v11),
        (TlsVersion::Tls10, v10),
        (TlsVersion::Ssl3, v3),
    ] {
        out.versions.insert(version, probe);
        out.connections += part.connections;
        out.tls_reply |= part.tls_reply;
        out.cert_request = match (out.cert_request, part.cert_request) {
            (Some(a), Some(b)) => Some(a || b),
            (a, b) => a.or(b),
        };
        // The newest version's chain: the one clients most likely see.
        if out.chain.is_empty() {
            out.chain = part.chain;
        }
        out.key_exchange.merge(&part.key_exchange);
    }
    out
}

/// One version: acceptance, suites (full or quick), server preference, weak curves.
async fn audit_version(
    addr: SocketAddr,
    sni: Option<&str>,
    mode: CipherScan,
    budget: &Budget,
    version: TlsVersion,
) -> (VersionProbe, RawOutcome) {
    let mut p = Prober { addr, sni, budget, out: RawOutcome::default(), random: ring::rand::SystemRandom::new() };
    let mut run = enumerate(&mut p, version, mode).await;
    if !run.accepted.is_empty() {
        match mode {
            CipherScan::Full => preference(&mut p, version, &mut run).await,
            CipherScan::Quick => quick_classes(&mut p, version, &mut run).await,
            CipherScan::Off => {}
        }
        if version != TlsVersion::Tls13 {
            weak_curves(&mut p, version, &run).await;
        }
    }
    (to_probe(run, mode), p.out)
}

/// Offers every candidate suite of `version`, bundle by bundle, removing each one the server picks.
/// In quick mode, stops at the first acceptance (the version is then known to be accepted).
async fn enumerate(p: &mut Prober<'_>, version: TlsVersion, mode: CipherScan) -> VersionRun {
    let mut run = VersionRun::default();
    'bundles: for (b, bundle) in bundles(version).into_iter().enumerate() {
        let mut remaining = bundle;
        while !remaining.is_empty() {
            if p.budget.expired() {
                run.incomplete = true;
                break 'bundles;
            }
            // The first hello of a version is not retried: a silent peer must cost one timeout, and its
            // verdict (rejected: timeout) is read as unknown by `diff`.
            let answer = if run.accepted.is_empty() {
                p.hello(version, &remaining, DEFAULT_GROUPS).await
            } else {
                p.hello_again(version, &remaining, DEFAULT_GROUPS).await
            };
            match answer {
                Answer::Hello(h) if version_of(h.version) == Some(version) => {
                    if !remaining.contains(&h.cipher) {
                        // A protocol violation, whatever the version: what this server accepts is unknown.
                        let why = format!("server chose 0x{:04X}, which was not offered", h.cipher);
                        if run.accepted.is_empty() {
                            run.first_failure = Some((HandshakeFailure::ProtocolViolation, None, Some(why)));
                        } else {
                            run.detail = Some(why);
                            run.incomplete = true;
                        }
                        break 'bundles;
                    }
                    run.accepted.push(h.cipher);
                    run.bundle_of.push(b);
                    remaining.retain(|s| *s != h.cipher);
                    if mode == CipherScan::Quick {
                        break 'bundles;
                    }
                }
                Answer::Hello(h) => {
                    // A lower (or other) version: this one is not supported, whatever the suites.
                    if run.accepted.is_empty() {
                        let named =
                            version_of(h.version).map_or_else(|| format!("0x{:04x}", h.version), |v| v.name().into());
                        run.first_failure =
                            Some((HandshakeFailure::OtherVersion, None, Some(format!("server answered with {named}"))));
                    }
                    break 'bundles;
                }
                Answer::Alert(code) => {
                    if run.accepted.is_empty() && run.first_failure.is_none() {
                        run.first_failure = Some((HandshakeFailure::Alert, Some(code), None));
                    }
                    // protocol_version speaks of the version, not of the suites offered.
                    if code == 70 && run.accepted.is_empty() {
                        break 'bundles;
                    }
                    break;
                }
                Answer::NoSockets => {
                    run.no_sockets = true;
                    run.incomplete = true;
                    break 'bundles;
                }
                other => {
                    let (failure, detail) = match other {
                        Answer::NotTls(bytes) => {
                            (HandshakeFailure::NotTls, Some(format!("reply: {}", escape_bytes(&bytes, 40))))
                        }
                        Answer::Io(ReadEnd::Eof) => (HandshakeFailure::Closed, None),
                        Answer::Io(ReadEnd::Reset) => (HandshakeFailure::Reset, None),
                        Answer::Io(ReadEnd::Timeout) => (HandshakeFailure::Timeout, None),
                        Answer::ConnectFailed => (HandshakeFailure::ConnectFailed, None),
                        _ => (HandshakeFailure::Error, None),
                    };
                    if run.accepted.is_empty() && run.first_failure.is_none() {
                        run.first_failure = Some((failure, None, detail));
                    }
                    // Still no answer after the retries: the list is cut short, and says so.
                    if !run.accepted.is_empty()
                        && matches!(failure, HandshakeFailure::Timeout | HandshakeFailure::ConnectFailed)
                    {
                        run.incomplete = true;
                        break 'bundles;
                    }
                    if run.accepted.is_empty()
                        && matches!(
                            failure,
                            HandshakeFailure::NotTls | HandshakeFailure::Timeout | HandshakeFailure::ConnectFailed
                        )
                    {
                        break 'bundles;
                    }
                    break;
                }
            }
        }
    }
    run
}

/// Server preference: offer the first two accepted suites in reverse order; if the server still picks
/// the first, it imposes its own order. Then, if the accepted suites came from several bundles, order them
/// by offering them all again (the server's pick order is then its preference order).
async fn preference(p: &mut Prober<'_>, version: TlsVersion, run: &mut VersionRun) {
    let (Some(&first), Some(&second)) = (run.accepted.first(), run.accepted.get(1)) else {
        return;
    };
    if p.budget.expired() {
        return;
    }
    let server_order = match p.hello_again(version, &[second, first], DEFAULT_GROUPS).await {
        Answer::Hello(h) if h.cipher == first => true,
        Answer::Hello(h) if h.cipher == second => false,
        _ => return,
    };
    run.server_preference = Some(server_order);
    let mut bundles_used = run.bundle_of.clone();
    bundles_used.dedup();
    if server_order && bundles_used.len() > 1 {
        let mut remaining = run.accepted.clone();
        let mut ordered = Vec::new();
        while !remaining.is_empty() && !p.budget.expired() {
            match p.hello_again(version, &remaining, DEFAULT_GROUPS).await {
                Answer::Hello(h) if remaining.contains(&h.cipher) => {
                    ordered.push(h.cipher);
                    remaining.retain(|s| *s != h.cipher);
                }
                _ => break,
            }
        }
        ordered.extend(remaining);
        run.accepted = ordered;
    }
}

/// Quick mode: offer the insecure suites, then the weak ones; one acceptance per class is enough.
async fn quick_classes(p: &mut Prober<'_>, version: TlsVersion, run: &mut VersionRun) {
    for (_, offers) in weak_bundles(version) {
        for offer in offers {
            if p.budget.expired() {
                run.incomplete = true;
                return;
            }
            let offer: Vec<u16> = offer.into_iter().filter(|s| !run.accepted.contains(s)).collect();
            if offer.is_empty() {
                continue;
            }
            match p.hello_again(version, &offer, DEFAULT_GROUPS).await {
                Answer::Hello(h) if version_of(h.version) == Some(version) && offer.contains(&h.cipher) => {
                    run.accepted.push(h.cipher);
                    break;
                }
                Answer::Io(ReadEnd::Timeout) | Answer::ConnectFailed | Answer::NoSockets => run.incomplete = true,
                _ => {}
            }
        }
    }
}

/// Offers ECDHE with only curves under 224 bits; a server that accepts one has a weak key exchange.
async fn weak_curves(p: &mut Prober<'_>, version: TlsVersion, run: &VersionRun) {
    let ecdhe: Vec<u16> = suites::candidates(version)
        .into_iter()
        .filter(|id| tls_parser::TlsCipherSuite::from_id(*id).is_some_and(|s| s.kx == tls_parser::TlsCipherKx::Ecdhe))
        .take(suites::BUNDLE)
        .collect();
    let server_has_ecdhe = run.accepted.iter().any(|id| ecdhe.contains(id));
    if !server_has_ecdhe || p.budget.expired() {
        return;
    }
    if let Answer::Hello(h) = p.hello(version, &ecdhe, WEAK_GROUPS).await
        && let Some(g) = h.ecdh_group.filter(|g| group_bits(*g).is_some_and(|b| b < 224))
    {
        let name = wire::group_name(g);
        if !p.out.key_exchange.weak_groups_accepted.contains(&name) {
            p.out.key_exchange.weak_groups_accepted.push(name);
        }
    }
}

fn to_probe(run: VersionRun, mode: CipherScan) -> VersionProbe {
    let enumeration = if run.incomplete {
        Enumeration::Incomplete
    } else if mode == CipherScan::Quick {
        Enumeration::Quick
    } else {
        Enumeration::Full
    };
    if run.accepted.is_empty() && run.first_failure.is_none() && run.no_sockets {
        // Never asked: this machine's limit, not the server's verdict.
        return VersionProbe { detail: Some(super::OUT_OF_SOCKETS.into()), ..VersionProbe::not_tested() };
    }
    if run.accepted.is_empty() {
        let (failure, alert, detail) = run.first_failure.unwrap_or((HandshakeFailure::Error, None, None));
        let alert = alert.map(wire::alert);
        return VersionProbe {
            status: VersionStatus::Rejected,
            failure: Some(failure),
            detail: detail.or(run.detail).or_else(|| alert.as_ref().map(wire::alert_text)),
            alert,
            enumeration,
            ..VersionProbe::not_tested()
        };
    }
    let mut cipher_suites: Vec<_> = run.accepted.iter().map(|id| suites::info(*id)).collect();
    if run.server_preference != Some(true) {
        // Without a server order, the pick order is just our offer order: show the strongest first.
        cipher_suites.sort_by(|a, b| b.class.cmp(&a.class).then_with(|| a.name.cmp(&b.name)));
    }
    VersionProbe {
        status: VersionStatus::Accepted,
        cipher_suites,
        enumeration,
        server_preference: run.server_preference,
        detail: run
            .detail
            .or_else(|| run.no_sockets.then(|| "suites cut short: the scanner ran out of sockets".into())),
        ..VersionProbe::not_tested()
    }
}

/// Folds the raw probe's verdicts into the rustls probe's result. The raw probe offers every suite, so its
/// "accepted" wins; the rustls handshake's own details (alert, negotiated suite) are kept beside it.
pub fn merge(tls: &mut crate::model::TlsResult, raw: &RawOutcome) {
    tls.speaks_tls |= raw.tls_reply;
    for (version, r) in &raw.versions {
        let Some(t) = tls.versions.get_mut(version) else {
            continue;
        };
        if r.status == VersionStatus::NotTested {
            continue;
        }
        if t.status == VersionStatus::NotTested {
            *t = r.clone();
            continue;
        }
        match (t.status, r.status) {
            (VersionStatus::Accepted, VersionStatus::Accepted) => {
                t.cipher_suites = r.cipher_suites.clone();
                t.enumeration = r.enumeration;
                t.server_preference = r.server_preference;
            }
            (_, VersionStatus::Accepted) => {
                let why = t.detail.clone().or_else(|| t.failure.map(|f| format!("{f:?}").to_lowercase()));
                *t = VersionProbe {
                    detail: Some(format!(
                        "accepted by the raw probe; the rustls handshake failed: {}",
                        why.unwrap_or_default()
                    )),
                    ..r.clone()
                };
            }
            (VersionStatus::Accepted, _) => {
                let why = r.detail.clone().or_else(|| r.failure.map(|f| format!("{f:?}").to_lowercase()));
                t.detail.get_or_insert_with(|| format!("the raw probe was refused: {}", why.unwrap_or_default()));
            }
            _ => {
                // Both refused: the raw probe's reason is the protocol-level one (it offered every suite
                // and no supported_versions extension below TLS 1.3); keep rustls' as detail.
                let rustls_said = t.detail.clone();
                *t = r.clone();
                if let Some(d) = rustls_said.filter(|d| Some(d) != r.detail.as_ref()) {
                    let raw = t.detail.take().map_or_else(String::new, |x| format!("{x}; "));
                    t.detail = Some(format!("{raw}rustls: {d}"));
                }
            }
        }
    }
    tls.key_exchange.merge(&raw.key_exchange);
}
