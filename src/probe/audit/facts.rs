//! From the audit's replies to facts: pure functions over bytes and [`Value`]s (`INFO` sections,
//! `CONFIG GET` pairs, `CLIENT LIST` lines, `ACL LIST` lines, `ROLE`, `CLUSTER SHARDS`/`NODES`). Only
//! what the report keeps is taken out; everything else a reply holds (password hashes, client names,
//! commands) is dropped here. Remote text is escaped and capped before it is kept.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::reply::Value;
use crate::model::{AclUser, AuditRole, Clients, ClusterNode, Listener, Listeners, ReplicaLink};
use crate::text::escape_bytes;

/// Characters kept of one remote value (a config value, a host, a user name).
pub const VALUE_KEEP: usize = 200;

/// Entries kept per list a server sends (ACL users, replicas, cluster nodes): a Redis cluster tops out
/// near 1,000 nodes, and a hostile server's 8 MiB reply must not become a journal line too long to read
/// back (the journal's line cap is 16 MiB).
pub const LIST_KEPT: usize = 1000;

/// The first [`LIST_KEPT`] entries.
fn kept<T>(mut v: Vec<T>) -> Vec<T> {
    v.truncate(LIST_KEPT);
    v
}

/// Remote bytes as kept in the report.
pub fn text(bytes: &[u8]) -> String {
    escape_bytes(bytes, VALUE_KEEP)
}

/// The `key:value` lines of an `INFO` reply whose key is in `wanted`.
pub fn info(bytes: &[u8], wanted: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(i) = line.iter().position(|&b| b == b':') else { continue };
        let (key, value) = (line.get(..i).unwrap_or_default(), line.get(i + 1..).unwrap_or_default());
        if let Some(k) = wanted.iter().find(|w| w.as_bytes() == key) {
            out.insert((*k).to_string(), text(value));
        }
    }
    out
}

/// `INFO replication`'s `slaveN:ip=...,port=...,state=...` lines as `ip:port`.
pub fn info_replicas(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"slave") else { continue };
        let Some(i) = rest.iter().position(|&b| b == b':') else { continue };
        if !rest.get(..i).unwrap_or_default().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let fields = kv(rest.get(i + 1..).unwrap_or_default(), b',');
        if let (Some(ip), Some(port)) = (fields.get("ip"), fields.get("port")) {
            out.push(format!("{}:{}", text(ip), text(port)));
        }
    }
    kept(out)
}

/// `key=value` pairs separated by `sep`.
fn kv(line: &[u8], sep: u8) -> BTreeMap<String, Vec<u8>> {
    line.split(|&b| b == sep)
        .filter_map(|f| {
            let i = f.iter().position(|&b| b == b'=')?;
            Some((String::from_utf8_lossy(f.get(..i)?).into_owned(), f.get(i + 1..)?.to_vec()))
        })
        .collect()
}

/// `CONFIG GET`'s flat `[name, value, ...]` array, keeping only `allowed` names (a server cannot slip
/// another parameter in).
pub fn config(reply: &Value, allowed: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let items = reply.items().unwrap_or_default();
    for pair in items.chunks(2) {
        if let [name, value] = pair
            && let (Some(n), Some(v)) = (name.bytes(), value.bytes())
            && let Some(k) = allowed.iter().find(|a| a.as_bytes() == n)
        {
            out.insert((*k).to_string(), text(v));
        }
    }
    out
}

/// The listeners from the configuration read, when both ports were.
pub fn listeners(config: &BTreeMap<String, String>) -> Option<Listeners> {
    let port = config.get("port")?.parse().ok()?;
    let tls_port = config.get("tls-port")?.parse().ok()?;
    Some(Listeners { port, tls_port })
}

/// One `CLIENT LIST` line, reduced to what the audit keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLine {
    /// `addr` (the client's address, as text).
    pub addr: String,
    /// `addr` parsed, when it is `ip:port`.
    pub socket: Option<SocketAddr>,
    /// The port of `laddr` (the listener's address); 0 or absent for a Unix socket.
    pub local_port: Option<u16>,
    /// `flags` contains `S`: a replica's connection.
    pub replica: bool,
    /// `flags` contains `M`: this server's own link to its master.
    pub master: bool,
}

/// The lines of a `CLIENT LIST` reply.
pub fn client_list(bytes: &[u8]) -> Vec<ClientLine> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f = kv(l, b' ');
            let addr = f.get("addr").map(|a| text(a)).unwrap_or_default();
            let local_port = f
                .get("laddr")
                .and_then(|a| std::str::from_utf8(a).ok()?.rsplit_once(':')?.1.parse::<u16>().ok())
                .filter(|p| *p != 0);
            let flags = f.get("flags").cloned().unwrap_or_default();
            ClientLine {
                socket: addr.parse().ok(),
                addr,
                local_port,
                replica: flags.contains(&b'S'),
                master: flags.contains(&b'M'),
            }
        })
        .collect()
}

/// Which listener a client came through, by its local port.
pub fn listener_of(local_port: Option<u16>, listeners: &Listeners) -> Listener {
    match local_port {
        Some(p) if p == listeners.port => Listener::Plaintext,
        Some(p) if p == listeners.tls_port => Listener::Tls,
        _ => Listener::Other,
    }
}

/// The clients of `CLIENT LIST` lines by listener, and the replicas' connections: this audit's own
/// connection (`local`) and this server's link to its master left out; the first `keep` plaintext
/// addresses kept, sorted.
pub fn clients(
    lines: &[ClientLine],
    local: Option<SocketAddr>,
    listeners: &Listeners,
    keep: usize,
) -> (Clients, Vec<ReplicaLink>) {
    let own = lines.iter().position(|l| l.socket.is_some() && l.socket == local);
    let mut c = Clients::default();
    let mut replicas = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if Some(i) == own || l.master {
            continue;
        }
        let listener = listener_of(l.local_port, listeners);
        if l.replica {
            replicas.push(ReplicaLink { address: l.addr.clone(), listener });
            continue;
        }
        match listener {
            Listener::Plaintext => {
                c.plaintext += 1;
                if c.plaintext_addresses.len() < keep {
                    c.plaintext_addresses.push(l.addr.clone());
                } else {
                    c.plaintext_addresses_truncated = true;
                }
            }
            Listener::Tls => c.tls += 1,
            Listener::Other => c.other += 1,
        }
    }
    c.plaintext_addresses.sort();
    replicas.sort_by(|a, b| a.address.cmp(&b.address));
    (c, kept(replicas))
}

/// The users of an `ACL LIST` reply: name, `on`/`off`, `nopass`. Nothing else of a line is looked at
/// twice: the `#<hash>` and `><password>` rules are never copied.
pub fn acl_users(reply: &Value) -> Vec<AclUser> {
    let mut out = Vec::new();
    for line in reply.items().unwrap_or_default().iter().filter_map(Value::bytes) {
        let mut tokens = line.split(|&b| b == b' ');
        if tokens.next() != Some(b"user") {
            continue;
        }
        let Some(name) = tokens.next() else { continue };
        let (mut enabled, mut nopass) = (false, false);
        for t in tokens {
            match t {
                b"on" => enabled = true,
                b"off" => enabled = false,
                b"nopass" => nopass = true,
                _ => {}
            }
        }
        out.push(AclUser { name: text(name), enabled, nopass });
    }
    kept(out)
}

/// What `ROLE` tells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleFacts {
    /// The role.
    pub role: Option<AuditRole>,
    /// On a replica: the master's host, port and link state.
    pub master: Option<(String, u16, Option<String>)>,
    /// On a master: the replicas' `ip:port`.
    pub replicas: Vec<String>,
}

/// A `ROLE` reply.
pub fn role(reply: &Value) -> RoleFacts {
    let items = reply.items().unwrap_or_default();
    let mut out = RoleFacts::default();
    match items.first().and_then(Value::bytes) {
        Some(b"master") => {
            out.role = Some(AuditRole::Master);
            for r in items.get(2).and_then(Value::items).unwrap_or_default() {
                let r = r.items().unwrap_or_default();
                if let (Some(ip), Some(port)) = (r.first().and_then(Value::bytes), r.get(1).and_then(Value::int)) {
                    out.replicas.push(format!("{}:{port}", text(ip)));
                }
            }
            out.replicas.truncate(LIST_KEPT);
        }
        Some(b"slave" | b"replica") => {
            out.role = Some(AuditRole::Replica);
            let host = items.get(1).and_then(Value::bytes).map(text);
            let port = items.get(2).and_then(Value::int).and_then(|p| u16::try_from(p).ok());
            let state = items.get(3).and_then(Value::bytes).map(text);
            if let (Some(h), Some(p)) = (host, port) {
                out.master = Some((h, p, state));
            }
        }
        Some(b"sentinel") => out.role = Some(AuditRole::Sentinel),
        _ => {}
    }
    out
}

/// `role` from `INFO replication`.
pub fn info_role(value: &str) -> Option<AuditRole> {
    match value {
        "master" => Some(AuditRole::Master),
        "slave" | "replica" => Some(AuditRole::Replica),
        _ => None,
    }
}

/// The nodes of a `CLUSTER SHARDS` reply (RESP2: maps as flat `[key, value, ...]` arrays).
pub fn cluster_shards(reply: &Value) -> Vec<ClusterNode> {
    let mut out = Vec::new();
    for shard in reply.items().unwrap_or_default() {
        let Some(nodes) = field(shard, b"nodes").and_then(Value::items) else { continue };
        for node in nodes {
            let port =
                |k: &[u8]| field(node, k).and_then(Value::int).and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0);
            let Some(ip) = field(node, b"ip").and_then(Value::bytes) else { continue };
            out.push(ClusterNode {
                ip: text(ip),
                port: port(b"port"),
                tls_port: port(b"tls-port"),
                role: field(node, b"role").and_then(Value::bytes).map(text),
            });
        }
    }
    out.sort();
    out.dedup();
    kept(out)
}

/// The value after `key` in a flat map array.
fn field<'a>(map: &'a Value, key: &[u8]) -> Option<&'a Value> {
    let items = map.items()?;
    items.chunks(2).find(|p| p.first().and_then(Value::bytes) == Some(key)).and_then(|p| p.get(1))
}

/// The nodes of a `CLUSTER NODES` reply (`<id> <ip:port@cport[,host]> <flags> ...`); the port is the
/// one the node announces to clients, TLS or not.
pub fn cluster_nodes(bytes: &[u8]) -> Vec<ClusterNode> {
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut f = line.split(|&b| b == b' ');
        let (Some(_id), Some(addr), Some(flags)) = (f.next(), f.next(), f.next()) else { continue };
        let addr = addr.split(|&b| b == b'@').next().unwrap_or_default();
        let Some(i) = addr.iter().rposition(|&b| b == b':') else { continue };
        let port = std::str::from_utf8(addr.get(i + 1..).unwrap_or_default()).ok().and_then(|p| p.parse().ok());
        let role = if flags.windows(6).any(|w| w == b"master") {
            Some("master".to_string())
        } else if flags.windows(5).any(|w| w == b"slave") {
            Some("replica".to_string())
        } else {
            None
        };
        out.push(ClusterNode { ip: text(addr.get(..i).unwrap_or_default()), port, tls_port: None, role });
    }
    out.sort();
    out.dedup();
    kept(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Some(s.as_bytes().to_vec()))
    }

    #[test]
    fn lists_a_server_sends_are_capped() {
        let nodes: String = (0..3000)
            .map(|i| format!("id 10.0.{}.{}:6379@16379 master - 0 0 1 connected\n", i / 256, i % 256))
            .collect();
        assert_eq!(cluster_nodes(nodes.as_bytes()).len(), LIST_KEPT);
        let users = Value::Array(Some((0..3000).map(|i| bulk(&format!("user u{i} on nopass ~* +@all"))).collect()));
        assert_eq!(acl_users(&users).len(), LIST_KEPT);
        let info: String = (0..3000).map(|i| format!("slave{i}:ip=10.0.0.1,port={i},state=online\r\n")).collect();
        assert_eq!(info_replicas(info.as_bytes()).len(), LIST_KEPT);
    }

    #[test]
    fn info_keeps_only_wanted_keys() {
        let m =
            info(b"# Server\r\nredis_version:7.0.15\r\nexecutable:/x\r\nrun_id:ab\r\n", &["redis_version", "run_id"]);
        assert_eq!(m.len(), 2);
        assert_eq!(m["redis_version"], "7.0.15");
        let r = info_replicas(b"role:master\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=1,lag=0\r\n");
        assert_eq!(r, vec!["127.0.0.1:7001"]);
    }

    #[test]
    fn config_keeps_only_what_was_asked() {
        let reply = Value::Array(Some(vec![
            bulk("tls-port"),
            bulk("6380"),
            bulk("requirepass"),
            bulk("hunter2"),
            bulk("port"),
            bulk("0"),
        ]));
        let m = config(&reply, &["port", "tls-port"]);
        assert_eq!(m.len(), 2);
        assert_eq!(listeners(&m), Some(Listeners { port: 0, tls_port: 6380 }));
    }

    #[test]
    fn client_list_lines() {
        let text = b"id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=app age=1 flags=N cmd=get user=default\n\
id=4 addr=127.0.0.1:5001 laddr=127.0.0.1:6380 fd=9 name= age=1 flags=S cmd=replconf\n\
id=5 addr=/tmp/r.sock:0 laddr=/tmp/r.sock:0 fd=10 flags=N\n";
        let c = client_list(text);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].socket, Some("127.0.0.1:5000".parse().unwrap()));
        assert_eq!((c[0].local_port, c[0].replica), (Some(6379), false));
        assert!(c[1].replica && !c[1].master);
        assert_eq!(c[2].local_port, None);
        let l = Listeners { port: 6379, tls_port: 6380 };
        assert_eq!(listener_of(c[0].local_port, &l), Listener::Plaintext);
        assert_eq!(listener_of(c[1].local_port, &l), Listener::Tls);
        assert_eq!(listener_of(c[2].local_port, &l), Listener::Other);
        // Seen from 127.0.0.1:5000 itself: that line is the audit's own; one plaintext address kept of two.
        let mut more = c.clone();
        more.push(ClientLine {
            addr: "127.0.0.1:5002".into(),
            socket: None,
            local_port: Some(6379),
            replica: false,
            master: false,
        });
        let (own, replicas) = clients(&more, "127.0.0.1:5000".parse().ok(), &l, 0);
        assert_eq!((own.plaintext, own.tls, own.other, own.plaintext_addresses_truncated), (1, 0, 1, true));
        assert_eq!(replicas, vec![ReplicaLink { address: "127.0.0.1:5001".into(), listener: Listener::Tls }]);
    }

    #[test]
    fn acl_users_never_keep_hashes() {
        let reply = Value::Array(Some(vec![
            bulk("user audit on #30c952fab122c3f9 resetchannels -@all +info"),
            bulk("user default on nopass ~* &* +@all"),
            bulk("user old off >plain nopass"),
        ]));
        let u = acl_users(&reply);
        assert_eq!(
            u,
            vec![
                AclUser { name: "audit".into(), enabled: true, nopass: false },
                AclUser { name: "default".into(), enabled: true, nopass: true },
                AclUser { name: "old".into(), enabled: false, nopass: true },
            ]
        );
    }

    #[test]
    fn roles() {
        let master = Value::Array(Some(vec![
            bulk("master"),
            Value::Int(10),
            Value::Array(Some(vec![Value::Array(Some(vec![bulk("127.0.0.1"), bulk("7001"), bulk("10")]))])),
        ]));
        assert_eq!(role(&master).replicas, vec!["127.0.0.1:7001"]);
        let replica = Value::Array(Some(vec![
            bulk("slave"),
            bulk("127.0.0.1"),
            Value::Int(7000),
            bulk("connected"),
            Value::Int(10),
        ]));
        let r = role(&replica);
        assert_eq!(r.role, Some(AuditRole::Replica));
        assert_eq!(r.master, Some(("127.0.0.1".into(), 7000, Some("connected".into()))));
        assert_eq!(role(&Value::Int(1)), RoleFacts::default());
    }

    #[test]
    fn cluster_topologies() {
        let node = Value::Array(Some(vec![
            bulk("id"),
            bulk("abc"),
            bulk("port"),
            Value::Int(7000),
            bulk("tls-port"),
            Value::Int(17000),
            bulk("ip"),
            bulk("127.0.0.1"),
            bulk("role"),
            bulk("master"),
        ]));
        let shard = Value::Array(Some(vec![
            bulk("slots"),
            Value::Array(Some(vec![])),
            bulk("nodes"),
            Value::Array(Some(vec![node])),
        ]));
        let n = cluster_shards(&Value::Array(Some(vec![shard])));
        assert_eq!(
            n,
            vec![ClusterNode {
                ip: "127.0.0.1".into(),
                port: Some(7000),
                tls_port: Some(17000),
                role: Some("master".into())
            }]
        );
        let n = cluster_nodes(b"abc 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460\n");
        assert_eq!(n[0].port, Some(7001));
        assert_eq!(n[0].role.as_deref(), Some("master"));
    }
}
