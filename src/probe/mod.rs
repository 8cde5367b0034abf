//! Probes: the per-endpoint stage of the pipeline. Each probe opens its own TCP connection, sends as
//! little as it can (a `PING`, a ClientHello), reads with a byte cap and a deadline, and returns data.
//!
//! Probes never print and never fail the scan: every outcome, however hostile the peer, is a value.

pub mod danger;
pub mod hello;
pub mod raw;
pub mod resp;
pub mod suites;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::model::Reachability;

/// `--rate`: at most one new connection per `interval`, across the whole scan (no burst).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: std::sync::Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter for `per_second` new connections per second; `None` for 0 (unlimited).
    pub fn new(per_second: u32) -> Option<Arc<Self>> {
        (per_second > 0).then(|| {
            Arc::new(Self {
                interval: Duration::from_secs(1) / per_second,
                next: std::sync::Mutex::new(Instant::now()),
            })
        })
    }

    /// Waits for this connection's slot; returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let now = Instant::now();
        let slot = match self.next.lock() {
            Ok(mut next) => {
                let slot = (*next).max(now);
                *next = slot + self.interval;
                slot
            }
            Err(_) => now,
        };
        tokio::time::sleep_until(slot).await;
        slot.saturating_duration_since(now)
    }
}

/// Time limits for one endpoint: per-operation timeouts bounded by a total deadline. Time spent
/// waiting for the `--rate` limiter does not count against the deadline.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Timeout of one TCP connect.
    pub connect_timeout: Duration,
    /// Timeout of one read (or write) while waiting for the peer.
    pub read_timeout: Duration,
    /// Instant after which no new operation starts and running ones stop (plus `rate` waits).
    pub deadline: Instant,
    /// The scan-wide connection rate limiter, if any.
    pub rate: Option<Arc<RateLimiter>>,
    /// Nanoseconds spent waiting for the limiter (they extend the deadline).
    waited_ns: Arc<AtomicU64>,
}

impl Budget {
    /// A budget of `total` from now.
    pub fn new(
        connect_timeout: Duration,
        read_timeout: Duration,
        total: Duration,
        rate: Option<Arc<RateLimiter>>,
    ) -> Self {
        Self { connect_timeout, read_timeout, deadline: Instant::now() + total, rate, waited_ns: Arc::default() }
    }

    /// Time left until the deadline.
    pub fn left(&self) -> Duration {
        let waited = Duration::from_nanos(self.waited_ns.load(Ordering::Relaxed));
        (self.deadline + waited).saturating_duration_since(Instant::now())
    }

    /// The timeout for the next read: the read timeout, cut to the deadline.
    pub fn read(&self) -> Duration {
        self.read_timeout.min(self.left())
    }

    /// The timeout for the next connect, cut to the deadline.
    pub fn connect(&self) -> Duration {
        self.connect_timeout.min(self.left())
    }

    /// True once the deadline has passed.
    pub fn expired(&self) -> bool {
        self.left().is_zero()
    }

    /// The instant by which a whole reply (or a whole handshake flight) that starts now must have
    /// arrived: one read timeout from now, cut to the deadline. A peer that dribbles a byte at a time
    /// cannot stretch it, as it could a per-read timeout.
    pub fn reply_deadline(&self) -> Instant {
        Instant::now() + self.read()
    }
}

/// Reads some bytes into `buf` unless `deadline` passes first; how the read ended when no byte came.
///
/// # Errors
/// The [`ReadEnd`] when the peer closed, reset, failed, or the deadline passed.
pub async fn read_by<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, ReadEnd> {
    match tokio::time::timeout_at(deadline, reader.read(buf)).await {
        Err(_) => Err(ReadEnd::Timeout),
        Ok(Err(e)) => Err(io_end(&e)),
        Ok(Ok(0)) => Err(ReadEnd::Eof),
        Ok(Ok(n)) => Ok(n),
    }
}

/// Opens a TCP connection within the budget, mapping failures to a [`Reachability`].
///
/// # Errors
/// `Closed` when refused, `Filtered` on timeout, `Open` when the peer accepted the connection and reset
/// it at once (a listener that drops clients: the port is open, its answer is a reset), `Unreachable` for
/// any other error.
pub async fn connect(addr: SocketAddr, budget: &Budget) -> Result<TcpStream, Reachability> {
    if let Some(rate) = &budget.rate {
        let waited = rate.acquire().await;
        budget.waited_ns.fetch_add(u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
    match tokio::time::timeout(budget.connect(), connect_fast(addr)).await {
        Ok(Ok(s)) => {
            // Small request/response exchanges: do not let Nagle delay them.
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Err(Reachability::Closed),
        // A refused SYN is ECONNREFUSED; a reset seen while or right after the connect completes means
        // the handshake finished and the listener dropped us.
        Ok(Err(e)) if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
            Err(Reachability::Open)
        }
        Ok(Err(_)) => Err(Reachability::Unreachable),
        Err(_) => Err(Reachability::Filtered),
    }
}

/// A non-blocking connect that looks at the socket's error right away: on a refused port nearby (loopback,
/// a LAN) the RST has usually been processed before `connect()` returns, so the refusal is known without
/// registering with epoll and waiting, which is most of the cost of sweeping dead space.
async fn connect_fast(addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    stream.writable().await?;
    match stream.take_error()? {
        Some(e) => Err(e),
        None => Ok(stream),
    }
}

/// How a capped read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// A `\n` arrived.
    Line,
    /// The byte cap was reached without a `\n`.
    Cap,
    /// The peer closed the connection.
    Eof,
    /// The peer reset the connection.
    Reset,
    /// The read timeout (or the deadline) expired.
    Timeout,
    /// Another I/O error.
    Error,
}

/// A reply line being read: keeps the first `keep` bytes and counts the rest, so that a long but
/// well-formed line (Redis' ~1 KB protected-mode `-DENIED` text) is still seen to end while memory stays
/// capped. Shared by the plaintext read and the PING inside a TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRead {
    /// The first bytes of the reply, at most `keep` of them.
    pub kept: Vec<u8>,
    keep: usize,
    line_cap: usize,
    total: usize,
}

impl LineRead {
    /// An empty reply that keeps `keep` bytes and gives up on a line longer than `line_cap`.
    pub fn new(keep: usize, line_cap: usize) -> Self {
        Self { kept: Vec::with_capacity(keep.min(512)), keep, line_cap, total: 0 }
    }

    /// How many more bytes may be read before the line cap.
    pub fn room(&self) -> usize {
        self.line_cap.saturating_sub(self.total)
    }

    /// Adds bytes that arrived; `Some(end)` once the line ended (`Line`) or hit the cap (`Cap`).
    pub fn push(&mut self, got: &[u8]) -> Option<ReadEnd> {
        let room = self.keep.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(got.get(..room.min(got.len())).unwrap_or_default());
        self.total = self.total.saturating_add(got.len());
        if got.contains(&b'\n') {
            Some(ReadEnd::Line)
        } else if self.total >= self.line_cap {
            Some(ReadEnd::Cap)
        } else {
            None
        }
    }
}

/// Reads one reply line: until a `\n`, the line cap, EOF, an error or the reply deadline (one read
/// timeout for the whole reply), whichever comes first.
pub async fn read_line_capped<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut line: LineRead,
    budget: &Budget,
) -> (LineRead, ReadEnd) {
    let deadline = budget.reply_deadline();
    let mut chunk = [0u8; 512];
    loop {
        let want = chunk.len().min(line.room());
        let Some(slot) = chunk.get_mut(..want) else {
            return (line, ReadEnd::Error);
        };
        let n = match read_by(reader, slot, deadline).await {
            Ok(n) => n,
            Err(end) => return (line, end),
        };
        if let Some(end) = line.push(slot.get(..n).unwrap_or_default()) {
            return (line, end);
        }
    }
}

/// Maps an I/O error to how a read ended.
pub fn io_end(e: &io::Error) -> ReadEnd {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => ReadEnd::Reset,
        io::ErrorKind::UnexpectedEof => ReadEnd::Eof,
        io::ErrorKind::TimedOut => ReadEnd::Timeout,
        _ => ReadEnd::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_connections_and_does_not_eat_the_deadline() {
        let rate = RateLimiter::new(10).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            rate.acquire().await;
        }
        // Five slots 100 ms apart, the first at once (virtual time: no sleeping in the test).
        assert_eq!(start.elapsed(), Duration::from_millis(400));

        let budget = Budget::new(Duration::from_secs(1), Duration::from_secs(1), Duration::from_secs(1), Some(rate));
        let before = budget.left();
        // A refused connect to a port we just closed: the limiter's wait is added back to the budget.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap();
        let _ = connect(closed, &budget).await;
        assert!(budget.left() >= before - Duration::from_millis(1), "{:?} vs {:?}", budget.left(), before);
        assert!(RateLimiter::new(0).is_none());
    }
}
