//! The RESP `PING` probe: sends `*1\r\n$4\r\nPING\r\n` and classifies the first reply line.
//!
//! Used in plaintext on its own connection and, by [`super::tls`], inside a TLS session. The classifier
//! is a pure function of the bytes read and how the read ended, so it is unit-tested and fuzzed.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{Budget, LineRead, ReadEnd, io_end, read_line_capped};
use crate::model::{PingResult, PingStatus};
use crate::text::escape_bytes;

/// The one command the scanner sends by default.
pub const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// Bytes of a reply kept in memory: a PING reply is one short line.
pub const REPLY_CAP: usize = 512;

/// Longest reply line read to its end (beyond [`REPLY_CAP`] only counted, not kept). Redis' longest
/// unsolicited line, the protected-mode `-DENIED` text written on accept, is about 1 KB; a line longer
/// than this is not a Redis reply.
pub const LINE_CAP: usize = 4096;

/// A fresh reply line buffer with the PING caps.
pub fn reply_line() -> LineRead {
    LineRead::new(REPLY_CAP, LINE_CAP)
}

/// Characters of the reply kept in the record.
const REPLY_KEEP: usize = 200;

/// Sends `PING` on an open stream and classifies the reply.
pub async fn ping<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, budget: &Budget) -> PingResult {
    let sent = tokio::time::timeout(budget.read(), async {
        stream.write_all(PING).await?;
        stream.flush().await
    })
    .await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return classify(&[], io_end(&e)),
        Err(_) => return classify(&[], ReadEnd::Timeout),
    }
    let (line, end) = read_line_capped(stream, reply_line(), budget).await;
    classify(&line.kept, end)
}

/// Classifies what a `PING` got back: `bytes` are the first bytes kept, `end` how the read ended
/// ([`ReadEnd::Line`] when a line ended, possibly beyond the bytes kept: the line is then classified by
/// its first token).
pub fn classify(bytes: &[u8], end: ReadEnd) -> PingResult {
    if bytes.is_empty() {
        let status = match end {
            ReadEnd::Eof => PingStatus::Closed,
            ReadEnd::Reset => PingStatus::Reset,
            ReadEnd::Timeout => PingStatus::Silent,
            ReadEnd::Line | ReadEnd::Cap | ReadEnd::Error => PingStatus::Failed,
        };
        return PingResult { status, reply: None };
    }
    let line_end = bytes.iter().position(|&b| b == b'\n');
    let line = match line_end {
        Some(i) => bytes.get(..i).unwrap_or_default(),
        None => bytes,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let reply = Some(escape_bytes(line, REPLY_KEEP));
    let status = if looks_like_tls(bytes) {
        PingStatus::TlsReply
    } else if line_end.is_none() && end != ReadEnd::Line {
        // No line end before the line cap, EOF or timeout: not a RESP reply.
        PingStatus::NotResp
    } else {
        classify_line(line)
    };
    PingResult { status, reply }
}

/// A TLS record header: alert or handshake, major version 3.
fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}

fn classify_line(line: &[u8]) -> PingStatus {
    let Some((&kind, rest)) = line.split_first() else {
        return PingStatus::NotResp;
    };
    let text_ok = rest.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80);
    match kind {
        b'+' if text_ok && rest == b"PONG" => PingStatus::Pong,
        b'+' if text_ok => PingStatus::OtherResp,
        b'-' if text_ok => {
            let word = rest.split(|&b| b == b' ').next().unwrap_or_default();
            // The error codes Redis (src/server.c processCommand, networking.c on accept) and Valkey can
            // answer an unauthenticated PING with. LOADING, BUSY, MASTERDOWN and NOPERM are checked
            // after authentication: they prove the PING needed no credentials.
            match word {
                b"NOAUTH" => PingStatus::Noauth,
                b"DENIED" => PingStatus::Denied,
                b"WRONGPASS" => PingStatus::Wrongpass,
                b"NOPERM" => PingStatus::Noperm,
                b"LOADING" => PingStatus::Loading,
                b"BUSY" => PingStatus::Busy,
                b"MASTERDOWN" => PingStatus::Masterdown,
                _ => PingStatus::Error,
            }
        }
        // Integer, bulk string, array and the RESP3 length-prefixed types: a number follows.
        b':' | b'$' | b'*' | b'%' | b'~' | b'>' | b'=' | b'!' | b'|' | b'(' | b',' if is_number(rest) => {
            PingStatus::OtherResp
        }
        b'_' if rest.is_empty() => PingStatus::OtherResp,
        b'#' if rest == b"t" || rest == b"f" => PingStatus::OtherResp,
        _ => PingStatus::NotResp,
    }
}

fn is_number(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    !digits.is_empty() && digits.len() <= 20 && digits.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(bytes: &[u8], end: ReadEnd) -> PingStatus {
        classify(bytes, end).status
    }

    #[test]
    fn classifies_redis_replies() {
        assert_eq!(status(b"+PONG\r\n", ReadEnd::Line), PingStatus::Pong);
        assert_eq!(status(b"-NOAUTH Authentication required.\r\n", ReadEnd::Line), PingStatus::Noauth);
        assert_eq!(status(b"-DENIED Redis is running in protected mode\r\n", ReadEnd::Line), PingStatus::Denied);
        assert_eq!(status(b"-WRONGPASS invalid username-password pair\r\n", ReadEnd::Line), PingStatus::Wrongpass);
        assert_eq!(status(b"-ERR unknown command 'PING'\r\n", ReadEnd::Line), PingStatus::Error);
        assert_eq!(status(b"+OK\r\n", ReadEnd::Line), PingStatus::OtherResp);
        assert_eq!(status(b"$4\r\nPONG\r\n", ReadEnd::Line), PingStatus::OtherResp);
        assert_eq!(status(b"*2\r\n", ReadEnd::Line), PingStatus::OtherResp);
        assert_eq!(status(b"_\r\n", ReadEnd::Line), PingStatus::OtherResp);
    }

    /// The texts Redis 7 writes (src/server.c `createSharedObjects`, `processCommand`, networking.c).
    #[test]
    fn classifies_every_redis_error_text() {
        for (text, want) in [
            ("-NOAUTH Authentication required.", PingStatus::Noauth),
            ("-WRONGPASS invalid username-password pair or user is disabled.", PingStatus::Wrongpass),
            ("-LOADING Redis is loading the dataset in memory", PingStatus::Loading),
            (
                "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
                PingStatus::Busy,
            ),
            ("-BUSY Redis is busy running a module command.", PingStatus::Busy),
            (
                "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                PingStatus::Masterdown,
            ),
            ("-NOPERM User default has no permissions to run the 'ping' command", PingStatus::Noperm),
            ("-ERR max number of clients reached", PingStatus::Error),
            ("-ERR unknown command 'PING', with args beginning with: ", PingStatus::Error),
        ] {
            assert_eq!(status(format!("{text}\r\n").as_bytes(), ReadEnd::Line), want, "{text}");
        }
    }

    #[tokio::test]
    async fn a_reply_longer_than_what_is_kept_is_read_to_its_end() {
        // Redis' protected-mode text is ~1.1 KB, written on accept, then the connection is closed.
        let denied = format!("-DENIED Redis is running in protected mode {}\r\n", "x".repeat(1100));
        let (mut client, mut server) = tokio::io::duplex(4096);
        let srv = tokio::spawn(async move {
            let mut buf = [0u8; PING.len()];
            tokio::io::AsyncReadExt::read_exact(&mut server, &mut buf).await.unwrap();
            server.write_all(denied.as_bytes()).await.unwrap();
        });
        let budget = Budget::new(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(5),
            None,
        );
        let r = ping(&mut client, &budget).await;
        srv.await.unwrap();
        assert_eq!(r.status, PingStatus::Denied);
        assert!(r.reply.unwrap().len() <= 203);
    }

    #[test]
    fn classifies_non_redis_and_failures() {
        assert_eq!(status(b"HTTP/1.1 400 Bad Request\r\n", ReadEnd::Line), PingStatus::NotResp);
        assert_eq!(status(b"SSH-2.0-OpenSSH_9.2\r\n", ReadEnd::Line), PingStatus::NotResp);
        assert_eq!(status(&[b'A'; 512], ReadEnd::Cap), PingStatus::NotResp);
        assert_eq!(status(b"+PONG", ReadEnd::Eof), PingStatus::NotResp);
        // A kept prefix of a line that ended beyond it is classified by its first token; a prefix whose
        // line never ended is not RESP.
        assert_eq!(status(b"-DENIED Redis is running in protected mode because", ReadEnd::Line), PingStatus::Denied);
        assert_eq!(status(b"-DENIED Redis is running in protected mode because", ReadEnd::Cap), PingStatus::NotResp);
        assert_eq!(status(b"-DENIED Redis is running", ReadEnd::Eof), PingStatus::NotResp);
        assert_eq!(status(b"\x15\x03\x03\x00\x02\x02\x46", ReadEnd::Eof), PingStatus::TlsReply);
        assert_eq!(status(b"", ReadEnd::Timeout), PingStatus::Silent);
        assert_eq!(status(b"", ReadEnd::Eof), PingStatus::Closed);
        assert_eq!(status(b"", ReadEnd::Reset), PingStatus::Reset);
        assert_eq!(status(b"+\x1b[2J\r\n", ReadEnd::Line), PingStatus::NotResp);
    }

    #[test]
    fn a_greeting_banner_is_not_a_redis_reply() {
        // POP3 greets first; its "+OK" is read as the reply to PING, and must not count as Redis.
        let r = classify(b"+OK Dovecot ready.\r\n", ReadEnd::Line);
        assert_eq!(r.status, PingStatus::OtherResp);
        assert!(!r.status.is_redis());
    }

    #[test]
    fn reply_is_first_line_escaped() {
        let r = classify(b"-ERR \x1b[31mx\r\n+more\r\n", ReadEnd::Line);
        assert_eq!(r.reply.as_deref(), Some("-ERR \\x1b[31mx"));
    }

    #[tokio::test]
    async fn ping_over_an_in_memory_pipe() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let budget = Budget::new(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(5),
            None,
        );
        let srv = tokio::spawn(async move {
            let mut buf = [0u8; PING.len()];
            tokio::io::AsyncReadExt::read_exact(&mut server, &mut buf).await.unwrap();
            assert_eq!(&buf, PING);
            server.write_all(b"+PONG\r\n").await.unwrap();
        });
        assert_eq!(ping(&mut client, &budget).await.status, PingStatus::Pong);
        srv.await.unwrap();
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let r = classify(&bytes, ReadEnd::Line);
            if let Some(reply) = r.reply {
                proptest::prop_assert!(reply.chars().all(|c| (' '..='~').contains(&c)));
            }
        }
    }
}
