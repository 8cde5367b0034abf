//! How an endpoint answered the TCP connect and the plaintext `PING`.

use serde::{Deserialize, Serialize};

/// Outcome of the TCP connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// The connection was accepted.
    Open,
    /// The connection was refused (RST): nothing listens.
    Closed,
    /// No answer before the connect timeout: dropped by a firewall, or no host.
    Filtered,
    /// The network or host is unreachable, or another connect error occurred.
    Unreachable,
    /// Not a property of the target: this machine had no socket to give (`EMFILE`, `ENFILE`, `ENOBUFS`,
    /// `ENOMEM`) even after waiting; the endpoint was not probed and should be scanned again.
    ScannerOutOfResources,
}

/// Classified reply to a RESP `PING`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingResult {
    /// What the reply was.
    pub status: PingStatus,
    /// First line of the reply (at most 200 characters), non-printable bytes escaped as `\xNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// Classification of a `PING` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingStatus {
    /// `+PONG`: Redis answered without any credentials.
    Pong,
    /// `-NOAUTH`: Redis wants a password (`requirepass` or ACL).
    Noauth,
    /// `-DENIED`: Redis in protected mode refuses non-loopback clients.
    Denied,
    /// `-WRONGPASS`: Redis rejected credentials.
    Wrongpass,
    /// `-NOPERM`: no credentials were needed, but the default user may not run PING (ACL).
    Noperm,
    /// `-LOADING`: Redis is loading its dataset; sent only after the authentication check passed.
    Loading,
    /// `-BUSY`: Redis is running a script or module command; sent only after authentication passed.
    Busy,
    /// `-MASTERDOWN`: a replica cut from its master; sent only after authentication passed.
    Masterdown,
    /// Another RESP error (`-ERR ...`, renamed or disabled command, ...).
    Error,
    /// A well-formed RESP reply other than the above.
    OtherResp,
    /// The reply is a TLS record: a TLS server answered a plaintext probe.
    TlsReply,
    /// Bytes that are not RESP (HTTP, banners, garbage, an over-long line).
    NotResp,
    /// Connected, but no byte came before the read timeout.
    Silent,
    /// The peer closed the connection without sending anything.
    Closed,
    /// The peer reset the connection (a Redis TLS port does this to plaintext).
    Reset,
    /// The PING could not be sent or read for another reason (e.g. a TLS failure after the handshake).
    Failed,
}

impl PingStatus {
    /// True when the reply proves a Redis server (any recognised Redis reply).
    pub fn is_redis(self) -> bool {
        // A "+OK" greeting (POP3) or another RESP-shaped line is not a reply a Redis PING can produce.
        matches!(
            self,
            Self::Pong
                | Self::Noauth
                | Self::Denied
                | Self::Wrongpass
                | Self::Noperm
                | Self::Loading
                | Self::Busy
                | Self::Masterdown
                | Self::Error
        )
    }

    /// True when Redis executed or considered the command without any credentials: `+PONG`, or an error
    /// Redis checks only after the authentication check passed (src/server.c `processCommand`).
    pub fn no_credentials_needed(self) -> bool {
        matches!(self, Self::Pong | Self::Noperm | Self::Loading | Self::Busy | Self::Masterdown)
    }
}
