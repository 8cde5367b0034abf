//! Target input in the formats other tools write, turned into plain `address:port` targets before
//! [`crate::targets`] parses them: `nmap -oG` (grepable: the open TCP ports of each `Host:` line),
//! `masscan -oL` (`open tcp PORT ADDR TIME`), and `redis://` / `rediss://` URIs (credentials, database
//! and query are dropped: they never reach a report). Also the error for a CIDR prefix that is too long.

use std::net::IpAddr;

/// `address:port` with brackets for IPv6.
fn join(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// A whole input line in one of the recognised formats, as plain targets (possibly none: a `Status:`
/// line of nmap, a masscan banner line); `None` when the line is an ordinary target line.
///
/// # Errors
/// The reason, when the line is in a recognised format but malformed.
pub fn expand(line: &str) -> Option<Result<Vec<String>, String>> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("Host: ") {
        return Some(nmap_grepable(rest));
    }
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("open"), Some("tcp")) => Some(masscan_list(line)),
        (Some("open" | "banner" | "closed"), Some("udp" | "sctp" | "icmp"))
        | (Some("banner" | "closed"), Some("tcp")) => Some(Ok(Vec::new())),
        (Some(first), _) if is_uri(first) => Some(uri(first).map(|t| vec![t])),
        _ => None,
    }
}

/// Whether `s` starts like a `redis://`, `rediss://` or `unix://` URI.
pub fn is_uri(s: &str) -> bool {
    let lower = s.get(..10).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("redis://") || lower.starts_with("rediss://") || lower.starts_with("unix://")
}

/// `Host: ADDR (NAME)<TAB>Ports: 6379/open/tcp//redis///, ...`: the open TCP ports.
fn nmap_grepable(rest: &str) -> Result<Vec<String>, String> {
    let mut fields = rest.split('\t');
    let host = fields.next().and_then(|h| h.split_whitespace().next()).ok_or("nmap -oG line without an address")?;
    if host.parse::<IpAddr>().is_err() {
        return Err(format!("nmap -oG line: '{host}' is not an IP address"));
    }
    let mut out = Vec::new();
    for field in fields {
        let Some(ports) = field.trim().strip_prefix("Ports: ") else { continue };
        for entry in ports.split(',') {
            let parts: Vec<&str> = entry.trim().split('/').collect();
            if let [port, state, proto, ..] = parts.as_slice() {
                if *state == "open" && *proto == "tcp" {
                    let port: u16 = port.parse().map_err(|_| format!("nmap -oG line: bad port '{port}'"))?;
                    out.push(join(host, port));
                }
            } else {
                return Err(format!("nmap -oG line: bad port entry '{}'", entry.trim()));
            }
        }
    }
    Ok(out)
}

/// `open tcp PORT ADDR TIMESTAMP`.
fn masscan_list(line: &str) -> Result<Vec<String>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [_, _, port, addr, ..] = words.as_slice() else {
        return Err("masscan -oL line: expected 'open tcp PORT ADDRESS TIME'".into());
    };
    let port: u16 = port.parse().map_err(|_| format!("masscan -oL line: bad port '{port}'"))?;
    if addr.parse::<IpAddr>().is_err() {
        return Err(format!("masscan -oL line: '{addr}' is not an IP address"));
    }
    Ok(vec![join(addr, port)])
}

/// `redis[s]://[[user]:password@]host[:port][/db][?query]` → `host:port` (6379 by default).
///
/// # Errors
/// A `unix://` socket, or no host.
pub fn uri(text: &str) -> Result<String, String> {
    let (scheme, rest) = text.split_once("://").ok_or("not a URI")?;
    if scheme.eq_ignore_ascii_case("unix") {
        return Err("a unix socket is not a network target".into());
    }
    // Passwords may hold '/', '?', '#' or '@' unencoded: the host starts after the last '@'.
    let after_user = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = after_user.split(['/', '?', '#']).next().unwrap_or("");
    if hostport.is_empty() {
        return Err(format!("{scheme}:// URI without a host"));
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("missing ']' in the URI's host")?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => 6379,
        Some(p) => p.parse().map_err(|_| format!("bad port '{p}' in the URI"))?,
    };
    Ok(join(host, port))
}

/// `text` with a URI's user and password replaced by `***`, for error messages.
pub fn redact(text: &str) -> String {
    match (text.split_once("://"), text.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", text.get(at..).unwrap_or("")),
        _ => text.to_string(),
    }
}

/// The reason a CIDR's prefix length is wrong, naming it (`/33 is longer than the 32 bits of IPv4`).
pub fn prefix_error(body: &str) -> Option<String> {
    let (addr, prefix) = body.split_once('/')?;
    let bits = match addr.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return Some(format!("'{addr}' before /{prefix} is not an IP address")),
    };
    let family = if bits == 32 { "IPv4" } else { "IPv6" };
    match prefix.trim().parse::<u32>() {
        Ok(p) if p > bits => Some(format!("prefix length /{p} is longer than the {bits} bits of {family}")),
        Ok(_) => None,
        Err(_) => Some(format!("prefix length '/{prefix}' is not a number from 0 to {bits}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmap_grepable_open_tcp_ports_only() {
        let line = "Host: 10.0.0.5 (redis-a)\tPorts: 22/open/tcp//ssh///, 6379/open/tcp//redis///, 6380/closed/tcp//redis///, 53/open/udp//domain///\tIgnored State: filtered (997)";
        assert_eq!(
            expand(line),
            Some(Ok(vec!["10.0.0.5:6379".to_string(), "10.0.0.5:22".to_string()].into_iter().rev().collect()))
        );
        assert_eq!(expand("Host: 10.0.0.5 ()\tStatus: Up"), Some(Ok(vec![])));
        assert_eq!(expand("Host: ::1 ()\tPorts: 6380/open/tcp//redis///"), Some(Ok(vec!["[::1]:6380".into()])));
        assert!(matches!(expand("Host: nope ()\tPorts: 1/open/tcp"), Some(Err(_))));
        assert!(matches!(expand("Host: 10.0.0.1 ()\tPorts: 99999/open/tcp//x///"), Some(Err(_))));
    }

    #[test]
    fn masscan_list_lines() {
        assert_eq!(expand("open tcp 6379 10.1.2.3 1700000000"), Some(Ok(vec!["10.1.2.3:6379".into()])));
        assert_eq!(expand("banner tcp 6379 10.1.2.3 1700000000 redis x"), Some(Ok(vec![])));
        assert!(matches!(expand("open tcp x 10.1.2.3 1"), Some(Err(_))));
        assert_eq!(expand("10.1.2.3"), None);
        assert_eq!(expand("opennet.example"), None);
    }

    #[test]
    fn uris_drop_credentials_and_default_the_port() {
        assert_eq!(uri("rediss://default:s3cr@t@cache.example:6380/0?x=1"), Ok("cache.example:6380".into()));
        assert_eq!(uri("redis://10.0.0.1"), Ok("10.0.0.1:6379".into()));
        assert_eq!(uri("REDISS://[::1]:7000"), Ok("[::1]:7000".into()));
        assert!(uri("unix:///run/redis.sock").is_err());
        assert!(uri("redis://:pw@").is_err());
        assert_eq!(expand("rediss://h:1 # comment"), Some(Ok(vec!["h:1".into()])));
        assert_eq!(uri("redis://u:p/w#d@h?x:7/1"), Ok("h:6379".into()));
        assert_eq!(redact("redis://u:s3cret@h:x"), "redis://***@h:x");
        assert_eq!(redact("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn prefix_errors_name_the_prefix() {
        assert_eq!(
            prefix_error("10.0.0.0/33").as_deref(),
            Some("prefix length /33 is longer than the 32 bits of IPv4")
        );
        assert!(prefix_error("::/129").is_some_and(|e| e.contains("/129")));
        assert!(prefix_error("10.0.0.0/x").is_some_and(|e| e.contains("'/x'")));
        assert_eq!(prefix_error("10.0.0.0/8"), None);
    }
}
