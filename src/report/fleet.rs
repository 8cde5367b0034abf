//! The `--audit` fleet table, shared by the terminal summary, `summary.md` and `report.html`: one row per
//! Redis instance (its audited endpoints grouped by `run_id`), with what a TLS rollout is judged by:
//! client-server TLS, replication TLS, cluster-bus TLS, plaintext clients. Also the one-line text of an
//! endpoint's audit for the per-endpoint views. Bounded: [`FLEET_MAX`] instances, the rest counted.

use std::collections::BTreeMap;

use crate::model::{Audit, AuditRole, AuditStatus, EndpointRecord, Listener};

/// Instances listed at most.
pub const FLEET_MAX: usize = 500;

/// Column titles.
pub const HEADER: [&str; 7] =
    ["instance", "role", "client-server TLS", "replication TLS", "cluster-bus TLS", "plaintext clients", "audit"];

/// One instance: the endpoints it was audited through, and the cells of its first complete audit.
#[derive(Debug, Clone)]
struct Instance {
    address: String,
    ports: Vec<u16>,
    cells: [String; 6],
    complete: bool,
}

/// The fleet table being gathered, one record at a time.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    instances: BTreeMap<String, Instance>,
    /// Instances beyond [`FLEET_MAX`].
    pub more: usize,
}

impl Fleet {
    /// Takes in one record (records without an audit are ignored).
    pub fn add(&mut self, r: &EndpointRecord) {
        let Some(a) = &r.audit else { return };
        let complete = a.status == AuditStatus::Ok;
        let key = match (&a.run_id, complete) {
            (Some(id), true) => id.clone(),
            _ => r.endpoint().to_string(),
        };
        if let Some(i) = self.instances.get_mut(&key) {
            if !i.ports.contains(&r.port) {
                i.ports.push(r.port);
                i.ports.sort_unstable();
            }
            if complete && !i.complete {
                i.cells = cells(a);
                i.complete = true;
            }
            return;
        }
        if self.instances.len() >= FLEET_MAX {
            self.more += 1;
            return;
        }
        let address = r.address.to_string();
        self.instances.insert(key, Instance { address, ports: vec![r.port], cells: cells(a), complete });
    }

    /// True when no record had an audit.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The rows, in instance order (address, then ports).
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<(&Instance, Vec<String>)> = self
            .instances
            .values()
            .map(|i| {
                let ports: Vec<String> = i.ports.iter().map(u16::to_string).collect();
                let mut row = vec![format!("{} ({})", i.address, ports.join(", "))];
                row.extend(i.cells.iter().cloned());
                (i, row)
            })
            .collect();
        rows.sort_by(|a, b| {
            let ip = |i: &Instance| i.address.parse::<std::net::IpAddr>().ok();
            (ip(a.0), &a.0.ports).cmp(&(ip(b.0), &b.0.ports))
        });
        rows.into_iter().map(|(_, r)| r).collect()
    }

    /// The table as aligned plain text (the terminal summary).
    pub fn text(&self) -> String {
        let rows = self.rows();
        let widths: Vec<usize> = (0..HEADER.len())
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .chain(HEADER.get(c).map(|h| h.len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> =
                cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(HEADER.to_vec());
        for r in &rows {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        if self.more > 0 {
            out.push_str(&format!("... and {} more instance(s): see report.json\n", self.more));
        }
        out
    }
}

/// The cells after the instance: role, client-server TLS, replication TLS, cluster-bus TLS, plaintext
/// clients, audit status.
fn cells(a: &Audit) -> [String; 6] {
    let unknown = || "?".to_string();
    let role = match (a.role, &a.version) {
        (Some(r), Some(v)) => format!("{} {v}", r.as_str()),
        (Some(r), None) => r.as_str().to_string(),
        (None, _) => unknown(),
    };
    let client = a.listeners.map_or_else(unknown, |l| match (l.port, l.tls_port) {
        (0, 0) => "no listener".into(),
        (0, _) => "yes (TLS only)".into(),
        (p, 0) => format!("no (port {p})"),
        (p, _) => format!("partial (plaintext port {p} open)"),
    });
    let replication = a.replication.as_ref().map_or_else(unknown, |r| {
        if let Some(m) = &r.master {
            let to = format!("to {}:{}", m.host, m.port);
            return match m.tls {
                Some(true) => format!("yes ({to})"),
                Some(false) => format!("no ({to})"),
                None => format!("? ({to})"),
            };
        }
        if a.role == Some(AuditRole::Replica) {
            return unknown();
        }
        let plain = r.replicas.iter().filter(|x| x.listener == Listener::Plaintext).count();
        match (r.replicas.len(), plain) {
            (0, _) => "- (no replica)".into(),
            (n, 0) if r.replicas.iter().all(|x| x.listener == Listener::Tls) => format!("yes ({n} replica(s))"),
            (n, 0) => format!("? ({n} replica(s))"),
            (n, p) => format!("no ({p} of {n} replica(s) in plaintext)"),
        }
    });
    let bus = a.cluster.as_ref().map_or_else(unknown, |c| match (c.enabled, c.tls_cluster) {
        (false, _) => "- (no cluster)".into(),
        (true, Some(true)) => "yes".into(),
        (true, Some(false)) => "no".into(),
        (true, None) => unknown(),
    });
    let clients = match (&a.clients, a.connected_clients) {
        (Some(c), _) => c.plaintext.to_string(),
        (None, Some(n)) => format!("? ({n} connected)"),
        (None, None) => unknown(),
    };
    let status = match a.unavailable.len() {
        0 => a.status.as_str().to_string(),
        n => format!("{} ({n} item(s) unavailable)", a.status.as_str()),
    };
    [role, client, replication, bus, clients, status]
}

/// One line on an endpoint's audit, for the per-endpoint views.
pub fn audit_line(a: &Audit) -> String {
    let how = format!("{} over {}", a.status.as_str(), a.transport.as_str());
    if a.status != AuditStatus::Ok {
        return format!("{how}: {}", a.detail.as_deref().unwrap_or("-"));
    }
    let [role, client, replication, bus, clients, _] = cells(a);
    let mut out = format!(
        "{how}: {role}; client-server TLS {client}; replication TLS {replication}; cluster-bus TLS {bus}; {clients} plaintext client(s)"
    );
    if let Some(users) = &a.acl_users {
        let names: Vec<String> = users
            .iter()
            .map(|u| {
                format!(
                    "{}{}",
                    u.name,
                    if !u.enabled {
                        " (off)"
                    } else if u.nopass {
                        " (nopass)"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        out.push_str(&format!("; ACL users: {}", names.join(", ")));
    }
    for u in &a.unavailable {
        out.push_str(&format!("; {} unavailable: {}", u.item.as_str(), u.reason));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn record(port: u16, audit: Audit) -> EndpointRecord {
        let mut r: EndpointRecord = serde_json::from_value(serde_json::json!({
            "address": "127.0.0.1", "port": port, "reachability": "open",
            "started_at": "", "duration_ms": 0, "connections": 1
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        r.audit = Some(audit);
        r
    }

    #[test]
    fn one_row_per_instance() {
        let a = Audit {
            status: AuditStatus::Ok,
            run_id: Some("r1".into()),
            role: Some(AuditRole::Master),
            version: Some("7.0.15".into()),
            listeners: Some(Listeners { port: 6379, tls_port: 6380 }),
            clients: Some(Clients { plaintext: 2, ..Clients::default() }),
            replication: Some(Replication {
                replicas: vec![ReplicaLink { address: "10.0.0.2:5000".into(), listener: Listener::Plaintext }],
                ..Replication::default()
            }),
            cluster: Some(Cluster::default()),
            ..Audit::default()
        };
        let mut f = Fleet::default();
        f.add(&record(6380, a.clone()));
        f.add(&record(6379, a));
        f.add(&record(
            7000,
            Audit { status: AuditStatus::AuthFailed, detail: Some("WRONGPASS".into()), ..Audit::default() },
        ));
        let rows = f.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![
                "127.0.0.1 (6379, 6380)",
                "master 7.0.15",
                "partial (plaintext port 6379 open)",
                "no (1 of 1 replica(s) in plaintext)",
                "- (no cluster)",
                "2",
                "ok"
            ]
        );
        assert_eq!(rows[1].last().map(String::as_str), Some("auth_failed"));
        assert!(f.text().starts_with("instance"));
    }
}
