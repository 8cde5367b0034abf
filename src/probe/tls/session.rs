//! One rustls client connection driven by hand over a [`Conn`]: flush what rustls queued, read a capped
//! chunk within the reply deadline, feed it to rustls, and the `PING` inside the session. Keeps the
//! first bytes the server sent, so that a failed handshake can still tell "not TLS".

use std::io::{Read, Write};

use rustls::ClientConnection;

use crate::model::PingResult;
use crate::probe::resp::{self, PING};
use crate::probe::{Budget, Conn, ReadEnd, io_end, read_by, write_by};

/// Most bytes read from one TLS connection: a generous certificate chain plus a PING reply.
pub(super) const TLS_READ_CAP: usize = 256 * 1024;

/// Why the session stopped.
#[derive(Debug)]
pub(super) enum Stop {
    /// rustls refused what the peer sent (an alert, a protocol error).
    Tls(rustls::Error),
    /// The connection ended, failed or timed out.
    Io(ReadEnd),
    /// More than [`TLS_READ_CAP`] bytes.
    TooMuch,
}

/// Per-connection state: socket, rustls connection, byte accounting.
pub(super) struct Session<'a> {
    sock: Conn,
    /// The rustls state (negotiated version, suite, group) is read by the handshake after it stops.
    pub(super) conn: ClientConnection,
    budget: &'a Budget,
    /// The first 16 bytes the server sent.
    pub(super) first_bytes: Vec<u8>,
    read_total: usize,
    /// When the peer's answer to what we last sent must have arrived in full (a whole handshake flight,
    /// a whole PING reply): one read timeout from our last write, however the bytes trickle in.
    reply_deadline: tokio::time::Instant,
}

impl<'a> Session<'a> {
    /// A session on `sock`, the reply clock started.
    pub(super) fn new(sock: Conn, conn: ClientConnection, budget: &'a Budget) -> Self {
        Self { sock, conn, budget, first_bytes: Vec::new(), read_total: 0, reply_deadline: budget.reply_deadline() }
    }

    /// Sends whatever rustls has queued (handshake messages, alerts, application data), and starts the
    /// clock for the peer's answer.
    async fn flush(&mut self) -> Result<(), Stop> {
        if self.conn.wants_write() {
            self.reply_deadline = self.budget.reply_deadline();
        }
        while self.conn.wants_write() {
            let mut out = Vec::new();
            self.conn.write_tls(&mut out).map_err(|_| Stop::Io(ReadEnd::Error))?;
            write_by(&mut self.sock, &out, self.budget).await.map_err(Stop::Io)?;
        }
        Ok(())
    }

    /// Reads one chunk from the socket and feeds it to rustls.
    async fn read_some(&mut self) -> Result<(), Stop> {
        let mut buf = [0u8; 8192];
        let n = read_by(&mut self.sock, &mut buf, self.reply_deadline).await.map_err(Stop::Io)?;
        let mut data = buf.get(..n).unwrap_or_default();
        if self.first_bytes.len() < 16 {
            let take = data.len().min(16 - self.first_bytes.len());
            self.first_bytes.extend_from_slice(data.get(..take).unwrap_or_default());
        }
        self.read_total += n;
        if self.read_total > TLS_READ_CAP {
            return Err(Stop::TooMuch);
        }
        while !data.is_empty() {
            match self.conn.read_tls(&mut data) {
                // After a close_notify rustls takes nothing more; what follows is ignored (RFC 8446 §6.1).
                // Without this, the loop would spin forever with no await point.
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return Err(Stop::TooMuch),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // Let rustls tell the peer why we stop; best effort.
                let _ = self.flush().await;
                return Err(Stop::Tls(e));
            }
        }
        Ok(())
    }

    /// Drives the handshake to its end: writes, reads, until rustls is no longer handshaking.
    pub(super) async fn complete_handshake(&mut self) -> Result<(), Stop> {
        loop {
            self.flush().await?;
            if !self.conn.is_handshaking() {
                return Ok(());
            }
            self.read_some().await?;
        }
    }

    /// `PING` inside the session; the reply is classified like a plaintext one.
    pub(super) async fn ping(&mut self) -> Result<PingResult, Stop> {
        self.conn.writer().write_all(PING).map_err(|_| Stop::Io(ReadEnd::Error))?;
        self.flush().await?;
        let mut reply = resp::reply_line();
        loop {
            let mut chunk = [0u8; 512];
            let want = chunk.len().min(reply.room());
            let slot = chunk.get_mut(..want).unwrap_or_default();
            match self.conn.reader().read(slot) {
                Ok(0) => return Ok(resp::classify(&reply.kept, ReadEnd::Eof)),
                Ok(n) => {
                    if let Some(end) = reply.push(slot.get(..n).unwrap_or_default()) {
                        return Ok(resp::classify(&reply.kept, end));
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Ok(resp::classify(&reply.kept, io_end(&e))),
            }
            match self.read_some().await {
                Ok(()) => {}
                Err(Stop::Io(end)) => return Ok(resp::classify(&reply.kept, end)),
                Err(Stop::TooMuch) => return Ok(resp::classify(&reply.kept, ReadEnd::Cap)),
                Err(e @ Stop::Tls(_)) => return Err(e),
            }
        }
    }
}
