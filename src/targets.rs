//! Target and port syntax: the first stage of the pipeline.
//!
//! Turns command-line arguments, target files and stdin lines into [`TargetSpec`]s, and `-p` lists into
//! ports. Nothing here touches the network or expands a range: expansion is lazy, in [`crate::endpoints`].
//! Every bad line is reported with where it came from (`file:line`), so the user can fix them all at once.

use std::fmt;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

use ipnetwork::IpNetwork;

/// Where a target line came from, for error messages and provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `argument`, `stdin`, `--exclude`, or a file path.
    pub source: String,
    /// 1-based line (or argument position).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 is the whole file (it cannot be opened): named without a line.
        if self.line == 0 { write!(f, "{}", self.source) } else { write!(f, "{}:{}", self.source, self.line) }
    }
}

/// What a target names, before expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// An inclusive range of addresses of one family (a single address, a CIDR or `a-b`).
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (same family, `>= first`).
        last: IpAddr,
    },
    /// A DNS name: all its addresses are scanned, and the name is used for SNI and the hostname check.
    Host(String),
}

/// One parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// Addresses it names.
    pub kind: TargetKind,
    /// Port given with the target (`host:port`); otherwise the `-p` list applies.
    pub port: Option<u16>,
    /// The text as written (comment stripped).
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
}

/// A bad input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// Where.
    pub origin: Origin,
    /// The offending text (truncated to 80 characters).
    pub text: String,
    /// Why it is bad.
    pub reason: String,
}

/// Special-purpose ranges (RFC 6890 and successors) a sweep never touches unless `--allow-reserved`:
/// "this network", link-local, IETF protocol assignments, documentation, benchmarking, multicast, the
/// reserved class E (with the limited broadcast), and their IPv6 counterparts. Loopback and private
/// ranges stay scannable: they are where Redis fleets live.
pub fn reserved() -> Vec<(IpAddr, IpAddr)> {
    [
        "0.0.0.0/8",
        "169.254.0.0/16",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "100::/64",
        "2001:db8::/32",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|c| IpNetwork::from_str(c).ok())
    .map(network_bounds)
    .collect()
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Local text is escaped like remote text: a line of a target file may hold ESC or BEL.
        let origin = crate::text::sanitize(&self.origin.to_string(), usize::MAX);
        if self.text.is_empty() {
            write!(f, "{origin}: {}", self.reason)
        } else {
            write!(f, "{origin}: {}: '{}'", self.reason, crate::text::sanitize(&self.text, 80))
        }
    }
}

impl std::error::Error for TargetError {}

/// Parses one target: address, CIDR, `first-last` range or hostname, optionally with `:port` (`[v6]:port`).
///
/// # Errors
/// A human-readable reason when the text is not a valid target.
pub fn parse_target(text: &str) -> Result<(TargetKind, Option<u16>), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty target".into());
    }
    let (body, port) = split_port(text)?;
    Ok((parse_body(body)?, port))
}

/// Splits an optional `:port` off; IPv6 needs brackets to carry a port.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or("missing ']' after '['")?;
        return match after {
            "" => Ok((inner, None)),
            _ => {
                let port = after.strip_prefix(':').ok_or("expected ':port' after ']'")?;
                Ok((inner, Some(parse_port(port)?)))
            }
        };
    }
    match text.matches(':').count() {
        0 => Ok((text, None)),
        1 => {
            let (body, port) = text.split_once(':').ok_or("unreachable split")?;
            Ok((body, Some(parse_port(port)?)))
        }
        // Several colons and no brackets: an IPv6 literal without a port.
        _ => Ok((text, None)),
    }
}

fn parse_body(body: &str) -> Result<TargetKind, String> {
    if body.is_empty() {
        return Err("empty address".into());
    }
    if body.contains('/') {
        let net = IpNetwork::from_str(body)
            .map_err(|e| crate::target_formats::prefix_error(body).unwrap_or_else(|| format!("bad CIDR ({e})")))?;
        let (first, last) = network_bounds(net);
        return Ok(TargetKind::Range { first, last });
    }
    if let Ok(ip) = IpAddr::from_str(body) {
        return Ok(TargetKind::Range { first: ip, last: ip });
    }
    if let Some((a, b)) = body.split_once('-')
        && let (Ok(first), Ok(last)) = (IpAddr::from_str(a.trim()), IpAddr::from_str(b.trim()))
    {
        if first.is_ipv4() != last.is_ipv4() {
            return Err("range mixes IPv4 and IPv6".into());
        }
        if ip_to_u128(first) > ip_to_u128(last) {
            return Err("range ends before it starts".into());
        }
        return Ok(TargetKind::Range { first, last });
    }
    if is_hostname(body) {
        return Ok(TargetKind::Host(body.to_ascii_lowercase()));
    }
    Err("not an IP address, CIDR, range or hostname".into())
}

/// RFC 1123 host name: dot-separated labels of letters, digits, `-` and `_`, not all-numeric.
pub fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        // "1.2.3.999" must be an error, not a host name.
        && !s.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// First and last address of a network (host bits in the input are ignored).
pub fn network_bounds(net: IpNetwork) -> (IpAddr, IpAddr) {
    match net {
        IpNetwork::V4(n) => (IpAddr::V4(n.network()), IpAddr::V4(n.broadcast())),
        IpNetwork::V6(n) => {
            let bits = 128 - u32::from(n.prefix());
            let start = u128::from(n.network());
            let last = start | low_mask(bits);
            (IpAddr::V6(n.network()), IpAddr::V6(Ipv6Addr::from(last)))
        }
    }
}

fn low_mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// An address as an integer (IPv4 in the low 32 bits).
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The inverse of [`ip_to_u128`] for a given family.
pub fn u128_to_ip(v: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(v))
    } else {
        // Callers only pass values that came from IPv4 addresses.
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        Ok(_) => Err(format!("port '{s}' out of range 1-65535")),
        Err(_) => Err(format!("bad port '{s}'")),
    }
}

/// Parses a port list like `6379,6380,7000-7005` into sorted, unique ports.
///
/// # Errors
/// A reason naming the bad element.
pub fn parse_ports(s: &str) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("empty element in port list '{s}'"));
        }
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_port(a)?, parse_port(b)?);
                if a > b {
                    return Err(format!("port range '{part}' ends before it starts"));
                }
                ports.extend(a..=b);
            }
            None => ports.push(parse_port(part)?),
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Parses lines of a target file (or stdin): `#` comments and blank lines are skipped.
///
/// Returns the specs and every error found; the caller decides that any error is fatal.
pub fn parse_lines(source: &str, reader: impl BufRead) -> (Vec<TargetSpec>, Vec<TargetError>) {
    use crate::input::{BoundedLines, MAX_TARGET_FILE, MAX_TARGET_LINE};
    // Past this many bad lines the input is not a target list at all (a binary file): stop reading.
    const MAX_ERRORS: usize = 20;
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut lines = BoundedLines::new(reader, MAX_TARGET_LINE, MAX_TARGET_FILE);
    let mut bytes = Vec::new();
    loop {
        let origin = |line| Origin { source: source.to_string(), line };
        let info = match lines.next_line(&mut bytes) {
            Ok(Some(info)) => info,
            Ok(None) => break,
            Err(e) => {
                // A line or file over the cap (`/dev/zero`) or a read error: nothing after it is read.
                errors.push(TargetError {
                    origin: origin(lines.line_number()),
                    text: String::new(),
                    reason: e.to_string(),
                });
                break;
            }
        };
        // A UTF-8 byte-order mark (Windows editors) is not part of the first target.
        let body = if info.number == 1 { bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes) } else { &bytes };
        let Ok(line) = std::str::from_utf8(body) else {
            // Not text (a binary file, `/dev/urandom`): nothing after it is read.
            let reason = "not UTF-8 text: reading stopped".into();
            errors.push(TargetError { origin: origin(info.number), text: String::new(), reason });
            break;
        };
        if line.contains('\0') {
            let reason = "binary data (NUL byte): not a target list".into();
            errors.push(TargetError { origin: origin(info.number), text: String::new(), reason });
            break;
        }
        // nmap -oG, masscan -oL and redis:// lines (whole, before '#' comments are cut).
        if let Some(expanded) = crate::target_formats::expand(line) {
            match expanded {
                Ok(targets) => targets.iter().for_each(|t| push_spec(&mut specs, &mut errors, t, origin(info.number))),
                Err(reason) => {
                    let text = crate::target_formats::redact(line.trim()).chars().take(80).collect();
                    errors.push(TargetError { origin: origin(info.number), text, reason });
                }
            }
            continue;
        }
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        push_spec(&mut specs, &mut errors, text, origin(info.number));
        if errors.len() >= MAX_ERRORS {
            errors.push(TargetError {
                origin: origin(info.number),
                text: String::new(),
                reason: format!("{MAX_ERRORS} bad lines: reading stopped"),
            });
            break;
        }
    }
    (specs, errors)
}

/// Parses a target file.
pub fn parse_file(path: &Path) -> (Vec<TargetSpec>, Vec<TargetError>) {
    let source = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(f) => parse_lines(&source, std::io::BufReader::new(f)),
        Err(e) => {
            let origin = Origin { source, line: 0 };
            (Vec::new(), vec![TargetError { origin, text: String::new(), reason: format!("cannot read: {e}") }])
        }
    }
}

/// Parses one command-line target (`position` is 1-based, for messages).
pub fn parse_arg(source: &str, position: usize, text: &str) -> Result<TargetSpec, TargetError> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    push_spec(&mut specs, &mut errors, text, Origin { source: source.into(), line: position });
    match (specs.pop(), errors.pop()) {
        (Some(spec), None) => Ok(spec),
        (_, Some(e)) => Err(e),
        (None, None) => Err(TargetError {
            origin: Origin { source: source.into(), line: position },
            text: String::new(),
            reason: "empty target".into(),
        }),
    }
}

fn push_spec(specs: &mut Vec<TargetSpec>, errors: &mut Vec<TargetError>, text: &str, origin: Origin) {
    // A redis:// or rediss:// URI names host and port; its credentials are never kept.
    let uri = match crate::target_formats::is_uri(text).then(|| crate::target_formats::uri(text)) {
        Some(Ok(target)) => Some(target),
        Some(Err(reason)) => {
            let text = crate::target_formats::redact(text).chars().take(80).collect();
            return errors.push(TargetError { origin, text, reason });
        }
        None => None,
    };
    let text = uri.as_deref().unwrap_or(text);
    match parse_target(text) {
        Ok((kind, port)) => specs.push(TargetSpec { kind, port, text: text.to_string(), origin }),
        Err(reason) => errors.push(TargetError { origin, text: text.chars().take(80).collect(), reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: &str, b: &str) -> TargetKind {
        TargetKind::Range { first: a.parse().unwrap(), last: b.parse().unwrap() }
    }

    #[test]
    fn parses_every_target_form() {
        let cases: &[(&str, TargetKind, Option<u16>)] = &[
            ("127.0.0.1", range("127.0.0.1", "127.0.0.1"), None),
            ("127.0.0.1:6380", range("127.0.0.1", "127.0.0.1"), Some(6380)),
            ("10.1.2.3/24", range("10.1.2.0", "10.1.2.255"), None),
            ("10.0.0.0/8:6379", range("10.0.0.0", "10.255.255.255"), Some(6379)),
            ("10.0.0.5-10.0.1.4", range("10.0.0.5", "10.0.1.4"), None),
            ("::1", range("::1", "::1"), None),
            ("[::1]:6379", range("::1", "::1"), Some(6379)),
            ("fd00::/126", range("fd00::", "fd00::3"), None),
            ("[fd00::/127]:7000", range("fd00::", "fd00::1"), Some(7000)),
            ("0.0.0.0/0", range("0.0.0.0", "255.255.255.255"), None),
            ("Redis-1.Example.com", TargetKind::Host("redis-1.example.com".into()), None),
            ("cache:6380", TargetKind::Host("cache".into()), Some(6380)),
        ];
        for (text, kind, port) in cases {
            assert_eq!(parse_target(text), Ok((kind.clone(), *port)), "{text}");
        }
    }

    #[test]
    fn rejects_bad_targets_with_reasons() {
        for bad in [
            "1.2.3.999",
            "10.0.0.0/33",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-::1",
            "host:0",
            "host:70000",
            "host:x",
            "[::1",
            "[::1]6379",
            "bad host",
            "-lead.example",
            "",
        ] {
            assert!(parse_target(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn port_lists() {
        assert_eq!(parse_ports("6380,6379,6379"), Ok(vec![6379, 6380]));
        assert_eq!(parse_ports("7000-7002, 6379"), Ok(vec![6379, 7000, 7001, 7002]));
        assert_eq!(parse_ports("1-65535").map(|p| p.len()), Ok(65535));
        for bad in ["", "0", "65536", "7005-7000", "a", "1,,2"] {
            assert!(parse_ports(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_lines_report_every_error_with_line_numbers() {
        let input = "# fleet\n127.0.0.1\n\n  10.0.0.0/30 # office\nnope nope\n1.2.3.4:99999\n";
        let (specs, errors) = parse_lines("t.txt", input.as_bytes());
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].origin.to_string(), "t.txt:4");
        assert_eq!(errors.iter().map(|e| e.origin.line).collect::<Vec<_>>(), vec![5, 6]);
        assert!(errors[0].to_string().starts_with("t.txt:5: "));
    }

    #[test]
    fn binary_input_is_an_error_not_a_panic() {
        let (_, errors) = parse_lines("bin", &b"\xff\xfe\x00garbage\n"[..]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("UTF-8"));
    }
}
