//! The `audit` section of an endpoint record (`scan --audit`): read-only facts the server told an
//! authenticated client about itself (role, listeners, `tls-*` settings, clients per listener,
//! replication links, cluster bus, ACL users). Filled by [`crate::probe::audit`], read by the finding
//! rules and the sinks. Nothing secret is ever stored here: no password, no password hash, no
//! `requirepass`/`masterauth` value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How the audit of an endpoint ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// Authenticated (or no password needed); the facts below were read (items that failed are listed
    /// under `unavailable`).
    Ok,
    /// `AUTH` was refused (`-WRONGPASS`, ...): one attempt, no retry.
    AuthFailed,
    /// The server wants a password and none was configured (`-NOAUTH`).
    AuthRequired,
    /// The audit could not run: no session (connection, TLS verification, deadline), or no reply.
    #[default]
    Unavailable,
}

/// The transport the audit session used: the endpoint's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditTransport {
    /// A plaintext connection (the endpoint answered Redis in plaintext).
    #[default]
    Plaintext,
    /// A verified TLS session (with the client certificate when one is configured).
    Tls,
}

/// A server's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditRole {
    /// A master (primary).
    Master,
    /// A replica.
    Replica,
    /// A Sentinel.
    Sentinel,
}

/// Which listener a client connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listener {
    /// The plaintext `port`.
    Plaintext,
    /// The `tls-port`.
    Tls,
    /// Neither (a Unix socket, or a port the configuration did not tell).
    Other,
}

/// An audit item (one command, or one group of commands) that can be unavailable on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditItem {
    /// `INFO server`.
    InfoServer,
    /// `INFO replication`.
    InfoReplication,
    /// `INFO clients`.
    InfoClients,
    /// `CONFIG GET` of the named parameters.
    ConfigGet,
    /// `CLIENT LIST`.
    ClientList,
    /// `ACL LIST`.
    AclList,
    /// `CLUSTER SHARDS` (or `CLUSTER NODES` where SHARDS is unknown).
    Cluster,
    /// `ROLE`.
    Role,
}

/// The audit section of an endpoint record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Audit {
    /// How the audit ended.
    pub status: AuditStatus,
    /// Why it is not `ok`: the server's reply (sanitised) or the transport failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The transport the session used.
    pub transport: AuditTransport,
    /// The ACL user authenticated as (`--user`); absent for the default user. Never a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `valkey_version`, else `redis_version`, from `INFO server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `run_id` from `INFO server`: one per server process, so the endpoints of one instance group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Master or replica (`ROLE`, else `INFO replication`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<AuditRole>,
    /// The configured listeners (`CONFIG GET port tls-port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Listeners>,
    /// The named configuration parameters read (see [`crate::probe::audit::CONFIG_PARAMETERS`]), values
    /// sanitised; never `requirepass` or `masterauth`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// `connected_clients` of `INFO clients`: every client connection, this audit's included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_clients: Option<u32>,
    /// Clients connected now, per listener (`CLIENT LIST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Clients>,
    /// Replication links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
    /// Cluster mode and bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
    /// ACL users: names and flags only (`ACL LIST`); password hashes are never kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_users: Option<Vec<AclUser>>,
    /// Items that failed (NOPERM, a renamed command, an error), each with the reason; the rest went on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

/// The configured listeners; 0 is off, as in `redis.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Listeners {
    /// `port` (plaintext; 0: off).
    pub port: u16,
    /// `tls-port` (0: off).
    pub tls_port: u16,
}

/// Clients connected now, this audit's own connection left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Clients {
    /// Clients (replicas excluded) on the plaintext `port`.
    pub plaintext: u32,
    /// Clients (replicas excluded) on the `tls-port`.
    pub tls: u32,
    /// Clients on neither (Unix socket, unknown listener).
    pub other: u32,
    /// Addresses (`ip:port`) of the plaintext clients, the first [`crate::probe::audit::ADDRESSES_KEPT`].
    #[serde(default)]
    pub plaintext_addresses: Vec<String>,
    /// More plaintext clients than addresses kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plaintext_addresses_truncated: bool,
}

/// Replication links, as this server sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Replication {
    /// On a replica: the link to its master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<MasterLink>,
    /// On a master: the replicas connected now (`CLIENT LIST` flag `S`) and the listener they came
    /// through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaLink>,
    /// On a master: the replicas' announced `ip:port` (`ROLE`, else `INFO replication`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announced_replicas: Vec<String>,
}

/// A replica's link to its master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterLink {
    /// The master's host as configured (`replicaof`).
    pub host: String,
    /// The master's port.
    pub port: u16,
    /// `master_link_status` (`up`, `down`), or the `ROLE` state (`connected`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_status: Option<String>,
    /// Whether the link uses TLS (`tls-replication`); absent when the configuration was not readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// A replica connected to this master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaLink {
    /// The replica connection's address (`ip:port`, `CLIENT LIST addr`).
    pub address: String,
    /// The listener it came through.
    pub listener: Listener,
}

/// Cluster mode and bus.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cluster {
    /// `cluster-enabled`.
    pub enabled: bool,
    /// `tls-cluster`; absent when the configuration was not readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cluster: Option<bool>,
    /// The bus port: `cluster-port`, else 10000 + the client port it derives from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus_port: Option<u16>,
    /// The nodes `CLUSTER SHARDS` (or `CLUSTER NODES`) names, in address order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<ClusterNode>,
}

/// A cluster node as the topology names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClusterNode {
    /// Its IP address as announced.
    pub ip: String,
    /// Its plaintext client port, if announced (0 and absent alike: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Its TLS client port, if announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    /// `master` or `replica`, as announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// An ACL user: name and flags only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclUser {
    /// The user name (sanitised).
    pub name: String,
    /// `on` (true) or `off`.
    pub enabled: bool,
    /// The user has `nopass`: any password (or none) logs in.
    pub nopass: bool,
}

/// An item that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Which item.
    pub item: AuditItem,
    /// The server's error line (sanitised), or the transport failure.
    pub reason: String,
}

impl Audit {
    /// The value of a configuration parameter read, if any.
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.get(name).map(String::as_str)
    }

    /// A `yes`/`no` parameter, if read.
    pub fn config_flag(&self, name: &str) -> Option<bool> {
        match self.config(name)? {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }
}
