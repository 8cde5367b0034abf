//! Probes: the per-endpoint stage of the pipeline. Each probe opens its own TCP connection, sends as
//! little as it can (a `PING`, a ClientHello), reads with a byte cap and a deadline, and returns data.
//!
//! Probes never print and never fail the scan: every outcome, however hostile the peer, is a value.
//!
//! Every socket a probe opens comes from the scan-wide [`Sockets`] budget (one permit per socket, held
//! for the socket's life by [`Conn`]): when the open-file limit bites, a probe waits for a socket instead
//! of failing, and the wait, like a `--rate` wait, does not count against the endpoint's deadline.

pub mod audit;
pub mod danger;
pub mod hello;
pub mod raw;
pub mod resp;
pub mod suites;
pub mod tls;
pub mod wire;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use rustls::pki_types::ServerName;

use crate::model::Reachability;

/// Who an endpoint should be, resolved once per endpoint: the name a client would send as SNI and check
/// the certificate against (`--sni`, else the target's host name), for every probe and for the verdict.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The name as given, if any: the SNI of the raw hellos.
    pub name: Option<String>,
    /// What rustls sends and verifies, and what the trust verdict checks: the name when it is a DNS name
    /// or an IP address, else the endpoint's address (rustls then sends no SNI).
    pub server_name: ServerName<'static>,
}

impl Identity {
    /// The identity of `addr` under `name`.
    pub fn new(addr: std::net::IpAddr, name: Option<&str>) -> Self {
        let server_name =
            name.and_then(|n| ServerName::try_from(n.to_string()).ok()).unwrap_or_else(|| ServerName::from(addr));
        Self { name: name.map(str::to_string), server_name }
    }
}

/// Sockets one endpoint holds at once, at most: the raw probe runs its [`raw::PARALLEL_VERSIONS`]
/// versions side by side, one connection each; the TLS stage holds [`tls::PARALLEL_HANDSHAKES`]; the
/// plaintext PING, the client-certificate handshake and a host-pass bus probe hold one. The stages run
/// one after the other, never overlapping, so the peak is the largest of them.
pub fn peak_sockets(cipher_scan: raw::CipherScan) -> usize {
    if cipher_scan == raw::CipherScan::Off {
        tls::PARALLEL_HANDSHAKES as usize
    } else {
        (raw::PARALLEL_VERSIONS as usize).max(tls::PARALLEL_HANDSHAKES as usize)
    }
}

/// The scan-wide socket budget: one permit per socket the probes may hold open at once, sized from the
/// open-file limit less what the runtime, the journal and the reports need. Shared by every endpoint and
/// by the host-level pass.
#[derive(Debug)]
pub struct Sockets {
    permits: Arc<Semaphore>,
    total: u32,
}

impl Sockets {
    /// A budget of `total` sockets (at least one).
    pub fn new(total: usize) -> Arc<Self> {
        let total = u32::try_from(total.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Arc::new(Self { permits: Arc::new(Semaphore::new(total as usize)), total })
    }

    /// How many sockets the budget holds.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Sockets free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// `n` sockets if they are free right now (cut to the budget's size, as [`Self::take`]).
    fn try_take(&self, n: u32) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_many_owned(n.clamp(1, self.total)).ok()
    }

    /// Waits until `n` sockets are free together (cut to the budget's size, so that a request can always
    /// be met); `None` only if the budget was closed, which it never is.
    async fn take(&self, n: u32) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().acquire_many_owned(n.clamp(1, self.total)).await.ok()
    }
}

/// Sockets held for a probe that opens several connections at once, taken together so that a probe
/// never holds one socket while it waits for another (two endpoints each holding half of what they need
/// would wait for each other forever). [`connect_in`] hands them out one by one.
#[derive(Debug, Default)]
pub struct Slots(Option<OwnedSemaphorePermit>);

impl Slots {
    /// One socket out of the held ones; `None` when none is left (the connect then waits for its own).
    pub fn one(&mut self) -> Option<OwnedSemaphorePermit> {
        let held = self.0.as_mut()?;
        if held.num_permits() > 1 { held.split(1) } else { self.0.take() }
    }
}

/// An open TCP connection holding its permit of the scan's [`Sockets`] budget: the permit goes back when
/// the connection closes.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Conn {
    /// This end's address (the audit leaves its own connection out of the server's client list).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

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

/// The endpoint's clock, stopped while any of its probes waits for the scanner itself (the `--rate`
/// limiter, a socket of the budget, the system's sockets after `EMFILE`): those waits are the scanner's,
/// not the peer's. Waits of concurrent probes that overlap count once.
#[derive(Debug, Default)]
struct Stopwatch(std::sync::Mutex<Stopped>);

/// The [`Stopwatch`]'s state.
#[derive(Debug, Default)]
struct Stopped {
    /// Waits in progress.
    waiting: u32,
    /// When the current stop began (the first of the waits in progress).
    since: Option<Instant>,
    /// Stopped time of the stops that ended.
    total: Duration,
}

impl Stopwatch {
    fn state(&self) -> std::sync::MutexGuard<'_, Stopped> {
        // The state stays consistent whatever panicked while holding it: every update is one statement.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops the clock until the returned guard drops (at the wait's end, or when the wait is cancelled).
    fn stop(&self) -> Stop<'_> {
        let mut s = self.state();
        if s.waiting == 0 {
            s.since = Some(Instant::now());
        }
        s.waiting += 1;
        Stop(self)
    }

    /// Time the clock has been stopped, the stop in progress included.
    fn stopped(&self) -> Duration {
        let s = self.state();
        s.total + s.since.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// A wait for the scanner in progress: the endpoint's clock runs again when the last one ends.
struct Stop<'a>(&'a Stopwatch);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.waiting = s.waiting.saturating_sub(1);
        if s.waiting == 0
            && let Some(t) = s.since.take()
        {
            s.total += t.elapsed();
        }
    }
}

/// Time limits for one endpoint: per-operation timeouts bounded by a total deadline. Time spent
/// waiting for the scanner itself (the `--rate` limiter, a free socket) does not count against the
/// deadline.
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
    /// The scan-wide socket budget, if any (without one, sockets are opened at will).
    pub sockets: Option<Arc<Sockets>>,
    /// The endpoint's whole time: also how long a connect waits for the system to have a socket again.
    pub total: Duration,
    /// Stopped while the endpoint waits for the limiter or for sockets (that time extends the deadline).
    clock: Arc<Stopwatch>,
}

impl Budget {
    /// A budget of `total` from now.
    pub fn new(
        connect_timeout: Duration,
        read_timeout: Duration,
        total: Duration,
        rate: Option<Arc<RateLimiter>>,
    ) -> Self {
        Self {
            connect_timeout,
            read_timeout,
            deadline: Instant::now() + total,
            rate,
            sockets: None,
            total,
            clock: Arc::default(),
        }
    }

    /// The same budget drawing its sockets from `sockets`.
    #[must_use]
    pub fn with_sockets(mut self, sockets: Option<Arc<Sockets>>) -> Self {
        self.sockets = sockets;
        self
    }

    /// Waits until `n` sockets of the scan's budget are free and holds them (see [`Slots`]); the wait
    /// extends the deadline. Without a budget, holds nothing.
    pub async fn slots(&self, n: u32) -> Slots {
        let Some(sockets) = &self.sockets else { return Slots::default() };
        // Free sockets are taken without touching the clock: the common case, on the hot path of a sweep.
        if let Some(held) = sockets.try_take(n) {
            return Slots(Some(held));
        }
        let _stop = self.clock.stop();
        Slots(sockets.take(n).await)
    }

    /// Time left until the deadline.
    pub fn left(&self) -> Duration {
        (self.deadline + self.clock.stopped()).saturating_duration_since(Instant::now())
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

/// Writes all of `bytes` and flushes, unless one read timeout (cut to the deadline) passes first: the
/// write side of [`read_by`], for a peer that stops reading.
///
/// # Errors
/// How the write ended: `Timeout`, or the I/O error as [`io_end`] maps it.
pub async fn write_by<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8], budget: &Budget) -> Result<(), ReadEnd> {
    use tokio::io::AsyncWriteExt;
    let sent = tokio::time::timeout(budget.read(), async {
        writer.write_all(bytes).await?;
        writer.flush().await
    });
    match sent.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_end(&e)),
        Err(_) => Err(ReadEnd::Timeout),
    }
}

/// Why a connect gave no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoConnection {
    /// The endpoint did not take it: `Closed` (refused), `Filtered` (timeout) or `Unreachable`.
    Dead(Reachability),
    /// The listener accepted and reset at once: an open port whose answer is a reset.
    ResetOnAccept,
    /// This machine had no socket to give (see [`connect_in`]): nothing is known of the target.
    OutOfSockets,
}

impl NoConnection {
    /// What the endpoint's record says of it.
    pub fn reachability(self) -> Reachability {
        match self {
            Self::Dead(r) => r,
            Self::ResetOnAccept => Reachability::Open,
            Self::OutOfSockets => Reachability::ScannerOutOfResources,
        }
    }
}

/// Opens a TCP connection within the budget; the socket comes from the scan's [`Sockets`] budget
/// (waiting for one if none is free).
///
/// # Errors
/// [`NoConnection`]: refused, timed out or unreachable; reset right after the accept; or no socket on
/// this machine.
pub async fn connect(addr: SocketAddr, budget: &Budget) -> Result<Conn, NoConnection> {
    connect_in(addr, budget, None).await
}

/// The detail of a probe that could not run for want of a socket on this machine.
pub const OUT_OF_SOCKETS: &str = "not tested: the scanner ran out of sockets";

/// First pause after a resource error (doubled each time, at most one second).
const RESOURCE_PAUSE: Duration = Duration::from_millis(10);

/// [`connect`] on a socket already held (one of a probe's [`Slots`]), or on one taken from the budget.
///
/// A socket the system refuses to create (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: this machine's limits,
/// not the target's) is asked for again after a pause, for up to one endpoint timeout in all (waits that
/// do not count against the deadline: the endpoint still gets its whole time once it has a socket); the run warns
/// once on stderr. If the system still has none, the answer is `ScannerOutOfResources`, never a verdict
/// on the target.
///
/// # Errors
/// As [`connect`].
pub async fn connect_in(
    addr: SocketAddr,
    budget: &Budget,
    held: Option<OwnedSemaphorePermit>,
) -> Result<Conn, NoConnection> {
    let permit = match held {
        Some(p) => Some(p),
        None => budget.slots(1).await.0,
    };
    if let Some(rate) = &budget.rate {
        let _stop = budget.clock.stop();
        rate.acquire().await;
    }
    let mut pause = RESOURCE_PAUSE;
    let mut patience = budget.total;
    loop {
        return match tokio::time::timeout(budget.connect(), connect_fast(addr)).await {
            Ok(Ok(stream)) => {
                // Small request/response exchanges: do not let Nagle delay them.
                let _ = stream.set_nodelay(true);
                Ok(Conn { stream, _permit: permit })
            }
            Ok(Err(e)) if local_exhaustion(&e) => {
                warn_exhausted(&e);
                if patience.is_zero() {
                    return Err(NoConnection::OutOfSockets);
                }
                let nap = pause.min(patience);
                {
                    let _stop = budget.clock.stop();
                    tokio::time::sleep(nap).await;
                }
                patience = patience.saturating_sub(nap);
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Err(NoConnection::Dead(Reachability::Closed)),
            // A refused SYN is ECONNREFUSED; a reset seen while or right after the connect completes means
            // the handshake finished and the listener dropped us.
            Ok(Err(e)) if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                Err(NoConnection::ResetOnAccept)
            }
            Ok(Err(_)) => Err(NoConnection::Dead(Reachability::Unreachable)),
            Err(_) => Err(NoConnection::Dead(Reachability::Filtered)),
        };
    }
}

/// An error that speaks of this machine's resources, not of the target: no file descriptor (process or
/// system), no buffer space, no memory for a socket.
pub fn local_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// Says once per run, on stderr, that the scanner ran short of sockets: the results stay honest (the
/// probes wait), but the run is slower than asked and the limit should be raised.
fn warn_exhausted(e: &io::Error) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "the scanner ran out of sockets ({e}); probes wait and retry (raise the open-file limit with ulimit -n, or lower --concurrency)"
        );
    }
}

/// A non-blocking connect that looks at the socket's error right away: on a refused port nearby (loopback,
/// a LAN) the RST has usually been processed before `connect()` returns, so the refusal is known without
/// registering with epoll and waiting, which is most of the cost of sweeping dead space.
async fn connect_fast(addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
    // Closed with a reset (SO_LINGER 0), as masscan and zmap do: no TIME_WAIT left on this machine (a
    // sweep of one host's ports would run out of ephemeral ports), no FIN exchange to process, and
    // stateful firewalls on the path forget the connection at once. Every exchange is complete by then
    // (a probe drops its socket only after the reply it waits for, or after giving up on it).
    let _ = socket.set_linger(Some(Duration::ZERO));
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

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_socket_does_not_eat_the_deadline_and_slots_come_back() {
        let sockets = Sockets::new(2);
        let budget = Budget::new(Duration::from_secs(1), Duration::from_secs(1), Duration::from_secs(5), None)
            .with_sockets(Some(sockets.clone()));
        // Another endpoint holds both sockets for 10 s (virtual time), twice the deadline.
        let mut other = budget.slots(2).await;
        assert_eq!(sockets.available(), 0);
        let holder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            // Handed out one by one, given back one by one.
            drop(other.one());
            drop(other);
        });
        let before = budget.left();
        let mut mine = budget.slots(5).await;
        // Cut to the budget's size, so that the request could be met at all; the wait gave the time back.
        assert!(budget.left() >= before - Duration::from_millis(1), "{:?} vs {:?}", budget.left(), before);
        assert!(!budget.expired());
        holder.await.unwrap();
        let (a, b, c) = (mine.one(), mine.one(), mine.one());
        assert!(a.is_some() && b.is_some() && c.is_none());
        assert_eq!(sockets.available(), 0);
        drop((a, b));
        assert_eq!(sockets.available(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_waits_stop_the_clock_once() {
        let sockets = Sockets::new(2);
        let budget = Budget::new(Duration::from_secs(1), Duration::from_secs(1), Duration::from_secs(5), None)
            .with_sockets(Some(sockets.clone()));
        // Another endpoint holds both sockets for 10 s.
        let held = budget.slots(2).await;
        let holder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(held);
        });
        let start = Instant::now();
        // Two probes of the endpoint wait for the same 10 s at once: the deadline moves by 10 s, not 20.
        let (a, b) = tokio::join!(budget.slots(1), async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            budget.slots(1).await
        });
        holder.await.unwrap();
        drop((a, b));
        let extended = (budget.deadline + budget.clock.stopped()).duration_since(start);
        assert!(extended < Duration::from_secs(16), "{extended:?}");
        assert!(extended >= Duration::from_secs(14), "{extended:?}");
    }
}
