//! The report model: what every probe produces and every sink reads.
//!
//! These are our own types (schema [`SCHEMA_VERSION`]); rustls and x509-parser types never appear here,
//! so the JSON and CSV contracts documented in `reports/README.md` survive dependency upgrades. Every
//! enum has one spelling, serde's ([`names::name_of`]); a section that was not tested is absent from a
//! record, not a block of nulls.
//!
//! - [`record`]: the endpoint record;
//! - [`audit`]: what `--audit` read from the server itself;
//! - [`ping`]: the TCP connect and the plaintext `PING`;
//! - [`tls`]: versions, suites, key exchange, client authentication;
//! - [`cert`]: the chain and the trust verdict;
//! - [`finding`]: finding ids, severities, titles and remediations;
//! - [`scan`]: metadata, counts, summary;
//! - [`journal`]: the lines of `scan.jsonl`.

pub mod audit;
pub mod cert;
pub mod finding;
pub mod journal;
pub mod names;
pub mod ping;
pub mod record;
pub mod scan;
pub mod tls;

pub use audit::*;
pub use cert::*;
pub use finding::*;
pub use journal::*;
pub use names::name_of;
pub use ping::*;
pub use record::*;
pub use scan::*;
pub use tls::*;

names::serde_names!(
    Reachability,
    PingStatus,
    Enumeration,
    SuiteClass,
    VersionStatus,
    HandshakeFailure,
    ClientAuth,
    TrustReason,
    Severity,
    FindingId,
    AuditStatus,
    AuditTransport,
    AuditRole,
    Listener,
    AuditItem,
);
