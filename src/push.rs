//! `--push-gateway URL`: after a sweep (or a merge), its Prometheus exposition (the `--prometheus` file) is
//! pushed to a Prometheus Pushgateway, for scheduled jobs that have no node_exporter beside them.
//!
//! One HTTP/1.1 `PUT` to `URL/metrics/job/<job>[/shard/<I_of_N>]` (the grouping key: one group per shard,
//! replaced by the shard's next run), over plain HTTP, with a connect timeout and one deadline for the
//! whole exchange; the status line is read with a byte cap. Nothing else is sent, nothing is followed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A Pushgateway to push to, parsed from `--push-gateway`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    host: String,
    port: u16,
    prefix: String,
}

/// Why a push failed, or why a URL is refused.
#[derive(Debug, thiserror::Error)]
#[error("--push-gateway {0}")]
pub struct PushError(String);

/// Bytes of the Pushgateway's answer kept: its status line is all that matters.
const ANSWER_CAP: usize = 8 * 1024;

impl Gateway {
    /// Parses `http://host[:port][/prefix]`.
    ///
    /// # Errors
    /// For another scheme, credentials in the URL (they would be recorded with the command line), or
    /// a malformed host or port.
    pub fn parse(url: &str) -> Result<Self, PushError> {
        let bad = |why: &str| PushError(format!("{}: {why}", crate::text::sanitize(url, 200)));
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.contains('@') {
            return Err(bad("credentials in the URL would be recorded with the command line"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad("not a port number"))?)
            }
            _ => (authority, 9091),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:_".contains(c)) {
            return Err(bad("not a host name or address"));
        }
        Ok(Self { host: host.to_string(), port, prefix: prefix.trim_end_matches('/').to_string() })
    }

    /// The path of the group: `[/prefix]/metrics/job/<job>[/shard/<shard>]`.
    fn path(&self, job: &str, shard: Option<&str>) -> String {
        let mut path = String::new();
        if !self.prefix.is_empty() {
            path.push('/');
            path.push_str(&self.prefix);
        }
        path.push_str("/metrics/job/");
        path.push_str(&segment(job));
        if let Some(s) = shard {
            path.push_str("/shard/");
            path.push_str(&segment(s));
        }
        path
    }

    /// Pushes `exposition` as the group of `job` (and `shard`, `I/N`), replacing what the group held.
    ///
    /// # Errors
    /// When the gateway cannot be reached in time or does not answer 2xx.
    pub fn push(&self, job: &str, shard: Option<&str>, exposition: &[u8], timeout: Duration) -> Result<(), PushError> {
        let deadline = Instant::now() + timeout;
        let failed = |why: String| PushError(format!("http://{}:{}: {why}", self.host, self.port));
        let addrs = (self.host.as_str(), self.port).to_socket_addrs().map_err(|e| failed(e.to_string()))?;
        let mut last = String::from("no address");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let mut s = stream.ok_or_else(|| failed(last))?;
        let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let shard = shard.map(|s| s.replace('/', "_of_"));
        let head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path(job, shard.as_deref()),
            self.host,
            self.port,
            exposition.len()
        );
        s.set_write_timeout(Some(left())).map_err(|e| failed(e.to_string()))?;
        s.write_all(head.as_bytes()).and_then(|()| s.write_all(exposition)).map_err(|e| failed(e.to_string()))?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while answer.len() < ANSWER_CAP && !answer.contains(&b'\n') {
            s.set_read_timeout(Some(left())).map_err(|e| failed(e.to_string()))?;
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) => return Err(failed(e.to_string())),
            }
        }
        let line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
        let status = line.split(|b| *b == b' ').nth(1).unwrap_or_default();
        if status.first() == Some(&b'2') && status.len() == 3 {
            Ok(())
        } else {
            Err(failed(format!("answered {}", crate::text::escape_bytes(line, 120).trim_end_matches("\\r"))))
        }
    }
}

/// A grouping-key path segment: letters, digits and `_.-` as they are; anything else replaced.
fn segment(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let g = Gateway::parse("http://pushgateway.monitoring:9091").unwrap();
        assert_eq!((g.host.as_str(), g.port), ("pushgateway.monitoring", 9091));
        assert_eq!(g.path("nightly", Some("2_of_4")), "/metrics/job/nightly/shard/2_of_4");
        let g = Gateway::parse("http://127.0.0.1/prefix/").unwrap();
        assert_eq!((g.port, g.path("j", None).as_str()), (9091, "/prefix/metrics/job/j"));
        assert!(Gateway::parse("https://x").is_err());
        assert!(Gateway::parse("http://user:pw@x:9091").is_err());
        assert!(Gateway::parse("http://x:port").is_err());
        assert!(Gateway::parse("http:// x").is_err());
        assert_eq!(segment("a b/c"), "a_b_c");
    }
}
