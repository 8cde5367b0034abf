//! `serve`'s HTTP/1.1 request head: a pure parser over the bytes read so far (no I/O), so the server's
//! caps live in one place: at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] header lines, GET without a body,
//! the query percent-decoded, and the one header a scrape sends that matters here
//! (`X-Prometheus-Scrape-Timeout-Seconds`). Anything else is refused, never guessed.

use std::time::Duration;

/// Most bytes of a request head (request line and headers) read before refusing it.
pub const MAX_HEAD: usize = 8 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 64;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method, as sent (`GET`, `HEAD`, ...).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// `X-Prometheus-Scrape-Timeout-Seconds`, when present and a sane positive number of seconds.
    pub scrape_timeout: Option<Duration>,
}

impl Request {
    /// The value of query parameter `key`; `Err` when it is given more than once (ambiguous).
    pub fn param(&self, key: &str) -> Result<Option<&str>, String> {
        let mut values = self.query.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("query parameter '{key}' given more than once"));
        }
        Ok(first)
    }
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Parse {
    /// The head is not complete yet: read more (the caller stops at [`MAX_HEAD`]).
    Incomplete,
    /// A complete, acceptable head.
    Done(Request),
    /// A head that is refused, and why (answered with 400).
    Bad(&'static str),
}

/// Parses a request head from `buf` (everything read from the connection so far).
pub fn parse(buf: &[u8]) -> Parse {
    let Some(end) = find_end(buf) else {
        return if buf.len() >= MAX_HEAD { Parse::Bad("request head too large") } else { Parse::Incomplete };
    };
    let Some(head) = buf.get(..end) else { return Parse::Bad("request head too large") };
    if head.len() > MAX_HEAD {
        return Parse::Bad("request head too large");
    }
    let Ok(head) = std::str::from_utf8(head) else { return Parse::Bad("request head is not UTF-8") };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let Some(request_line) = lines.next() else { return Parse::Bad("empty request") };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parse::Bad("malformed request line");
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Parse::Bad("malformed method");
    }
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Parse::Bad("only HTTP/1.0 and HTTP/1.1 are spoken");
    }
    if !target.starts_with('/') {
        return Parse::Bad("request target must be a path");
    }
    let mut scrape_timeout = None;
    let mut count = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        count += 1;
        if count > MAX_HEADERS {
            return Parse::Bad("too many header lines");
        }
        let Some((name, value)) = line.split_once(':') else { return Parse::Bad("malformed header line") };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("content-length") && value != "0")
        {
            return Parse::Bad("a request body is not accepted");
        }
        if name.eq_ignore_ascii_case("x-prometheus-scrape-timeout-seconds") {
            scrape_timeout = value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                .map(Duration::from_secs_f64);
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(path) = decode(path) else { return Parse::Bad("malformed percent-encoding") };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (decode(k), decode(v)) else { return Parse::Bad("malformed percent-encoding") };
        params.push((k, v));
    }
    Parse::Done(Request { method: method.to_string(), path, query: params, scrape_timeout })
}

/// Where the head ends (the blank line), if it is in `buf`.
fn find_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Percent-decoding (`+` is a space, as in a form query); `None` for a bad escape or non-UTF-8 result.
fn decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// An HTTP response, written whole then the connection is closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content type of the body.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

/// The exposition format's content type.
pub const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Response {
    /// A plain-text response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self { status, content_type: "text/plain; charset=utf-8", body: body.into() }
    }

    /// A Prometheus exposition.
    pub fn metrics(body: String) -> Self {
        Self { status: 200, content_type: EXPOSITION, body }
    }

    /// The bytes on the wire (`head_only`: for HEAD, no body).
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        if !head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(raw: &str) -> Request {
        match parse(raw.as_bytes()) {
            Parse::Done(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_prometheus_scrape_parses_with_its_timeout_and_decoded_target() {
        let r = done(
            "GET /probe?module=quick&target=%5B%3A%3A1%5D%3A6379 HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 9.5\r\n\r\n",
        );
        assert_eq!(r.path, "/probe");
        assert_eq!(r.param("target"), Ok(Some("[::1]:6379")));
        assert_eq!(r.param("module"), Ok(Some("quick")));
        assert_eq!(r.scrape_timeout, Some(Duration::from_millis(9500)));
    }

    #[test]
    fn hostile_heads_are_refused_or_incomplete_never_guessed() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parse::Incomplete);
        assert_eq!(parse(&vec![b'a'; MAX_HEAD]), Parse::Bad("request head too large"));
        assert_eq!(parse(b"GET / HTTP/2\r\n\r\n"), Parse::Bad("only HTTP/1.0 and HTTP/1.1 are spoken"));
        assert_eq!(parse(b"GET http://x/ HTTP/1.1\r\n\r\n"), Parse::Bad("request target must be a path"));
        assert_eq!(parse(b"GET /?t=%zz HTTP/1.1\r\n\r\n"), Parse::Bad("malformed percent-encoding"));
        assert_eq!(parse(b"GET /?t=%ff HTTP/1.1\r\n\r\n"), Parse::Bad("malformed percent-encoding"));
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Parse::Bad("a request body is not accepted")
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\nnocolon\r\n\r\n"), Parse::Bad("malformed header line"));
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(parse(many.as_bytes()), Parse::Bad("too many header lines"));
        let r = done("GET /probe?target=a&target=b HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: NaN\r\n\r\n");
        assert!(r.param("target").is_err());
        assert_eq!(r.scrape_timeout, None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse(&bytes);
        }
    }
}
