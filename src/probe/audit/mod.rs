//! The authenticated audit (`scan --audit`), the last probe of an endpoint that speaks Redis: one more
//! connection over the endpoint's own transport (plaintext, or a *verified* TLS session with the client
//! certificate when one is configured), one `AUTH` when a password is configured (never retried), then
//! read-only commands: `INFO server|replication|clients`, `CONFIG GET` of [`CONFIG_PARAMETERS`] only,
//! `CLIENT LIST`, `ACL LIST`, `ROLE`, and `CLUSTER SHARDS` (else `CLUSTER NODES`) on a cluster node.
//!
//! Each reply is read by [`reply::parse`] with a byte cap ([`REPLY_CAP`]) and one deadline for the whole
//! reply; [`facts`] keeps only what the report needs. An item that fails (NOPERM, a renamed command, an
//! error) is recorded as unavailable and the audit goes on. The result is an [`Audit`] for the record;
//! nothing secret is in it (the password is scrubbed from anything a server could echo back).

pub mod creds;
pub mod facts;
pub mod reply;

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use tokio::io::{AsyncRead, AsyncWrite};

use self::creds::{CredentialMap, Credentials, Secret};
use self::reply::{Parsed, Value};
use super::tls::TlsSettings;
use super::{Budget, Identity, ReadEnd, connect, read_by, write_by};
use crate::cert::TrustAnchors;
use crate::model::{
    Audit, AuditItem, AuditRole, AuditStatus, AuditTransport, Cluster, EndpointRecord, Listeners, MasterLink,
    Replication, Unavailable,
};

/// Largest reply read (`CLIENT LIST` of some twenty thousand clients); a larger one is unavailable.
pub const REPLY_CAP: usize = 8 << 20;

/// Plaintext client addresses kept per endpoint.
pub const ADDRESSES_KEPT: usize = 50;

/// The configuration parameters read, by name (no glob): never `requirepass` or `masterauth`, whose
/// values are secrets.
pub const CONFIG_PARAMETERS: [&str; 14] = [
    "port",
    "tls-port",
    "bind",
    "protected-mode",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-auth-clients",
    "tls-replication",
    "tls-cluster",
    "cluster-enabled",
    "cluster-port",
    "replica-announce-ip",
    "replica-announce-port",
];

/// The `INFO` fields kept.
const INFO_FIELDS: [&str; 9] = [
    "redis_version",
    "valkey_version",
    "run_id",
    "redis_mode",
    "role",
    "master_host",
    "master_port",
    "master_link_status",
    "connected_clients",
];

/// What every audit of a scan shares; built once.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// Who to authenticate as, per endpoint.
    pub credentials: CredentialMap,
    /// The verifying TLS client configuration for TLS endpoints, or why there is none.
    tls: Result<Arc<ClientConfig>, String>,
    /// Audits in flight at once, scan-wide: a reply may hold up to [`REPLY_CAP`] bytes, so this (not the
    /// scan's concurrency) bounds the audit's memory, even against peers that answer with the cap.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Audits in flight at once ([`AuditSettings::slots`]): at most 8 x [`REPLY_CAP`] = 64 MiB of replies.
pub const AUDITS_AT_ONCE: usize = 8;

impl AuditSettings {
    /// Settings authenticating with `credentials`; TLS sessions verify the server against `anchors`
    /// (and the endpoint's identity) and present the client certificate of `tls` when the server asks.
    pub fn new(credentials: CredentialMap, anchors: &TrustAnchors, tls: &TlsSettings) -> Self {
        let provider = tls.provider.clone();
        let config = WebPkiServerVerifier::builder_with_provider(anchors.roots(), provider.clone())
            .build()
            .map_err(|e| format!("no TLS verifier ({e}): the audit sends credentials only over a verified session"))
            .and_then(|verifier| {
                let builder = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS configuration error: {e}"))?
                    .with_webpki_verifier(verifier);
                Ok(match &tls.client_key {
                    Some(key) => builder.with_client_cert_resolver(Arc::new(
                        crate::probe::danger::RecordingResolver::new(Some(key.clone())),
                    )),
                    None => builder.with_no_client_auth(),
                })
            });
        Self { credentials, tls: config.map(Arc::new), slots: Arc::new(tokio::sync::Semaphore::new(AUDITS_AT_ONCE)) }
    }
}

/// The transport an audit of this record uses: plaintext when the endpoint answered Redis in
/// plaintext, TLS when it answered Redis over TLS (with or without the client certificate); `None`
/// when it does not speak Redis.
pub fn transport(rec: &EndpointRecord) -> Option<AuditTransport> {
    if rec.plaintext.as_ref().is_some_and(|p| p.status.is_redis()) {
        return Some(AuditTransport::Plaintext);
    }
    let tls = rec.tls.as_ref()?;
    let redis = |p: &Option<crate::model::PingResult>| p.as_ref().is_some_and(|p| p.status.is_redis());
    (redis(&tls.ping) || redis(&tls.ping_with_client_cert)).then_some(AuditTransport::Tls)
}

/// Audits the endpoint of `rec` (which has run every other probe) if it speaks Redis; returns the audit
/// and the connections it cost.
pub async fn audit(
    addr: SocketAddr,
    rec: &EndpointRecord,
    identity: &Identity,
    settings: &AuditSettings,
    budget: &Budget,
) -> Option<(Audit, u32)> {
    let transport = transport(rec)?;
    let failed = |detail: String| Audit {
        status: AuditStatus::Unavailable,
        detail: Some(detail),
        transport,
        ..Audit::default()
    };
    let Ok(Ok(_slot)) = tokio::time::timeout(budget.left(), settings.slots.clone().acquire_owned()).await else {
        return Some((failed("not run: the endpoint's deadline passed first".into()), 0));
    };
    if budget.expired() {
        return Some((failed("not run: the endpoint's deadline passed first".into()), 0));
    }
    let sock = match connect(addr, budget).await {
        Ok(s) => s,
        Err(e) => return Some((failed(format!("no connection: {}", e.reachability().as_str())), 1)),
    };
    let local = sock.local_addr();
    let creds = settings.credentials.for_endpoint(addr.ip(), rec.name.as_deref());
    let audit = match transport {
        AuditTransport::Plaintext => run_on(sock, creds, local, addr.port(), transport, budget).await,
        AuditTransport::Tls => {
            let config = match &settings.tls {
                Ok(c) => c.clone(),
                Err(why) => return Some((failed(why.clone()), 1)),
            };
            let connector = tokio_rustls::TlsConnector::from(config);
            let session = connector.connect(identity.server_name.clone(), sock);
            match tokio::time::timeout_at(budget.reply_deadline(), session).await {
                Ok(Ok(s)) => run_on(s, creds, local, addr.port(), transport, budget).await,
                Ok(Err(e)) => failed(format!(
                    "no verified TLS session ({}): credentials are sent only over a verified session",
                    crate::text::sanitize(&e.to_string(), 200)
                )),
                Err(_) => failed("TLS handshake timed out".into()),
            }
        }
    };
    Some((audit, 1))
}

/// Why an item got no reply.
#[derive(Debug, Clone, Copy)]
enum Fail {
    Io(ReadEnd),
    TooBig,
    Invalid(&'static str),
}

impl Fail {
    fn reason(self) -> String {
        match self {
            Self::Io(ReadEnd::Timeout) => "no whole reply before the read deadline".into(),
            Self::Io(ReadEnd::Eof) => "the server closed the connection".into(),
            Self::Io(ReadEnd::Reset) => "the server reset the connection".into(),
            Self::Io(_) => "connection error".into(),
            Self::TooBig => format!("reply larger than {} MiB", REPLY_CAP >> 20),
            Self::Invalid(why) => format!("not a RESP reply: {why}"),
        }
    }
}

/// One audit connection: the stream and what was read beyond the last reply.
struct Session<'b, S> {
    stream: S,
    buf: Vec<u8>,
    chunk: Box<[u8]>,
    budget: &'b Budget,
    /// Set once the connection failed: later items are not asked.
    broken: Option<Fail>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Sends one command and reads its whole reply (capped, under one deadline).
    async fn command(&mut self, args: &[&[u8]]) -> Result<Value, Fail> {
        if let Some(f) = self.broken {
            return Err(f);
        }
        let r = self.exchange(args).await;
        if let Err(f) = r {
            self.broken = Some(f);
        }
        r
    }

    async fn exchange(&mut self, args: &[&[u8]]) -> Result<Value, Fail> {
        write_by(&mut self.stream, &encode(args), self.budget).await.map_err(Fail::Io)?;
        let deadline = self.budget.reply_deadline();
        // The reply's end is looked for across reads without starting over; it is parsed once, whole.
        let mut end = reply::End::default();
        loop {
            if let Some(n) = end.find(&self.buf).map_err(Fail::Invalid)? {
                let parsed = reply::parse(self.buf.get(..n).unwrap_or_default());
                self.buf.drain(..n.min(self.buf.len()));
                return match parsed {
                    Parsed::Complete(v, _) => Ok(v),
                    Parsed::Invalid(why) => Err(Fail::Invalid(why)),
                    Parsed::Incomplete(_) => Err(Fail::Invalid("a reply cut short")),
                };
            }
            if self.buf.len() > REPLY_CAP + reply::MAX_LINE {
                return Err(Fail::TooBig);
            }
            let n = read_by(&mut self.stream, &mut self.chunk, deadline).await.map_err(Fail::Io)?;
            self.buf.extend_from_slice(self.chunk.get(..n).unwrap_or_default());
        }
    }
}

/// A command as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What the items of an audit returned, before they become facts.
struct Items<'s, 'b, S> {
    session: &'s mut Session<'b, S>,
    unavailable: Vec<Unavailable>,
    /// `-NOAUTH`: the server wants a password the audit does not have.
    noauth: Option<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Items<'_, '_, S> {
    /// The reply of one item, or `None` with the item recorded as unavailable.
    async fn ask(&mut self, item: AuditItem, args: &[&[u8]]) -> Option<Value> {
        if self.noauth.is_some() {
            return None;
        }
        match self.session.command(args).await {
            Ok(Value::Error(e)) => {
                let reason = facts::text(&e);
                if e.starts_with(b"NOAUTH") {
                    self.noauth = Some(reason);
                } else {
                    self.unavailable.push(Unavailable { item, reason });
                }
                None
            }
            Ok(v) => Some(v),
            Err(f) => {
                self.unavailable.push(Unavailable { item, reason: f.reason() });
                None
            }
        }
    }
}

/// The audit over an open stream (plaintext or TLS): `local` is this end's address (to leave the audit's
/// own connection out of `CLIENT LIST`), `port` the endpoint's.
async fn run_on<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    creds: &Credentials,
    local: Option<SocketAddr>,
    port: u16,
    transport: AuditTransport,
    budget: &Budget,
) -> Audit {
    let mut session =
        Session { stream, buf: Vec::new(), chunk: vec![0u8; 64 << 10].into_boxed_slice(), budget, broken: None };
    let mut audit = Audit { status: AuditStatus::Ok, transport, ..Audit::default() };
    if let Some(password) = &creds.password {
        audit.user = creds.user.clone();
        if let Err((status, detail)) = authenticate(&mut session, creds.user.as_deref(), password).await {
            audit.status = status;
            audit.detail = Some(detail);
            return scrub(audit, password);
        }
    }
    let mut items = Items { session: &mut session, unavailable: Vec::new(), noauth: None };
    let server = items.ask(AuditItem::InfoServer, &[b"INFO", b"server"]).await;
    let repl = items.ask(AuditItem::InfoReplication, &[b"INFO", b"replication"]).await;
    let clients = items.ask(AuditItem::InfoClients, &[b"INFO", b"clients"]).await;
    let mut get: Vec<&[u8]> = vec![b"CONFIG", b"GET"];
    get.extend(CONFIG_PARAMETERS.iter().map(|p| p.as_bytes()));
    let config = items.ask(AuditItem::ConfigGet, &get).await;
    let client_list = items.ask(AuditItem::ClientList, &[b"CLIENT", b"LIST"]).await;
    let acl = items.ask(AuditItem::AclList, &[b"ACL", b"LIST"]).await;
    let role = items.ask(AuditItem::Role, &[b"ROLE"]).await;

    let bytes = |v: &Option<Value>| v.as_ref().and_then(Value::bytes).map(<[u8]>::to_vec).unwrap_or_default();
    let server = facts::info(&bytes(&server), &INFO_FIELDS);
    let repl_bytes = bytes(&repl);
    let repl_info = facts::info(&repl_bytes, &INFO_FIELDS);
    audit.config = config.as_ref().map(|c| facts::config(c, &CONFIG_PARAMETERS)).unwrap_or_default();
    let cluster_enabled =
        audit.config_flag("cluster-enabled").or_else(|| server.get("redis_mode").map(|m| m == "cluster"));
    let mut nodes = Vec::new();
    if cluster_enabled == Some(true) {
        match items.ask(AuditItem::Cluster, &[b"CLUSTER", b"SHARDS"]).await {
            Some(v) => nodes = facts::cluster_shards(&v),
            // Before Redis 7: CLUSTER NODES; its failure is the item's reason in place of SHARDS'.
            None if items.noauth.is_none() && items.session.broken.is_none() => {
                if let Some(v) = items.ask(AuditItem::Cluster, &[b"CLUSTER", b"NODES"]).await {
                    items.unavailable.retain(|u| u.item != AuditItem::Cluster);
                    nodes = facts::cluster_nodes(&bytes(&Some(v)));
                }
            }
            None => {}
        }
    }
    if let Some(reason) = items.noauth.take() {
        audit.status = AuditStatus::AuthRequired;
        audit.detail = Some(reason);
        audit.config.clear();
        return match &creds.password {
            Some(p) => scrub(audit, p),
            None => audit,
        };
    }
    audit.unavailable = items.unavailable;
    if let Some(f) = session.broken
        && server.is_empty()
        && audit.config.is_empty()
    {
        audit.status = AuditStatus::Unavailable;
        audit.detail = Some(f.reason());
    }

    // Valkey reports the Redis version it is compatible with too; its own comes first.
    audit.version = server.get("valkey_version").or_else(|| server.get("redis_version")).cloned();
    audit.run_id = server.get("run_id").cloned();
    let role = role.as_ref().map(facts::role).unwrap_or_default();
    audit.role = role.role.or_else(|| repl_info.get("role").and_then(|r| facts::info_role(r)));
    audit.listeners = facts::listeners(&audit.config);
    // Without the configuration, the one listener known is the one this audit came through.
    let known = audit.listeners.unwrap_or(match transport {
        AuditTransport::Plaintext => Listeners { port, tls_port: 0 },
        AuditTransport::Tls => Listeners { port: 0, tls_port: port },
    });
    audit.connected_clients =
        facts::info(&bytes(&clients), &INFO_FIELDS).get("connected_clients").and_then(|n| n.parse().ok());
    let mut replicas = Vec::new();
    if let Some(lines) = client_list.as_ref().and_then(Value::bytes).map(facts::client_list) {
        let (c, r) = facts::clients(&lines, local, &known, ADDRESSES_KEPT);
        audit.clients = Some(c);
        replicas = r;
    }
    if audit.role.is_some() || !replicas.is_empty() {
        let master = (audit.role == Some(AuditRole::Replica))
            .then(|| {
                let (host, port, state) = role.master.clone().or_else(|| {
                    let host = repl_info.get("master_host")?.clone();
                    let port = repl_info.get("master_port")?.parse().ok()?;
                    Some((host, port, None))
                })?;
                Some(MasterLink {
                    host,
                    port,
                    link_status: repl_info.get("master_link_status").cloned().or(state),
                    tls: audit.config_flag("tls-replication"),
                })
            })
            .flatten();
        let announced = if role.replicas.is_empty() { facts::info_replicas(&repl_bytes) } else { role.replicas };
        audit.replication = Some(Replication { master, replicas, announced_replicas: announced });
    }
    if let Some(enabled) = cluster_enabled {
        let tls_cluster = audit.config_flag("tls-cluster");
        let bus_port = enabled.then(|| bus_port(&audit, tls_cluster)).flatten();
        audit.cluster = Some(Cluster { enabled, tls_cluster, bus_port, nodes });
    }
    audit.acl_users = acl.as_ref().map(facts::acl_users);
    match &creds.password {
        Some(p) => scrub(audit, p),
        None => audit,
    }
}

/// One `AUTH [user] password`, never retried: `Err` with the status and the detail when it is refused or
/// gets no reply.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session<'_, S>,
    user: Option<&str>,
    password: &Secret,
) -> Result<(), (AuditStatus, String)> {
    let mut args: Vec<&[u8]> = vec![b"AUTH"];
    args.extend(user.map(str::as_bytes));
    args.push(password.expose().as_bytes());
    match session.command(&args).await {
        Ok(Value::Simple(ok)) if ok == b"OK" => Ok(()),
        Ok(Value::Error(e)) => Err((AuditStatus::AuthFailed, facts::text(&e))),
        Ok(_) => Err((AuditStatus::AuthFailed, "AUTH got a reply other than +OK".into())),
        Err(f) => Err((AuditStatus::Unavailable, format!("AUTH: {}", f.reason()))),
    }
}

/// The cluster bus port, as Redis 7 derives it: `cluster-port`, else 10000 + `tls-port` with
/// `tls-cluster yes`, else 10000 + `port` (10000 when `port 0`).
fn bus_port(audit: &Audit, tls_cluster: Option<bool>) -> Option<u16> {
    let configured: u16 = audit.config("cluster-port")?.parse().ok()?;
    if configured != 0 {
        return Some(configured);
    }
    let l = audit.listeners?;
    let base = if tls_cluster == Some(true) { l.tls_port } else { l.port };
    base.checked_add(10000)
}

/// The audit with every occurrence of the password replaced: a hostile server could echo it back in an
/// error line or a value, and nothing it sends may carry the password into a report.
fn scrub(audit: Audit, password: &Secret) -> Audit {
    let secret = password.expose();
    if secret.is_empty() {
        return audit;
    }
    let Ok(json) = serde_json::to_string(&audit) else { return audit };
    let forms: Vec<String> =
        [serde_json::to_string(secret).ok(), serde_json::to_string(&facts::text(secret.as_bytes())).ok()]
            .into_iter()
            .flatten()
            .map(|s| s.trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect();
    if !forms.iter().any(|f| json.contains(f.as_str())) {
        return audit;
    }
    let mut clean = json;
    for f in &forms {
        clean = clean.replace(f.as_str(), "<redacted>");
    }
    serde_json::from_str(&clean).unwrap_or_else(|_| Audit {
        status: audit.status,
        transport: audit.transport,
        detail: Some("the server echoed the password: audit facts dropped".into()),
        ..Audit::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn budget() -> Budget {
        Budget::new(Duration::from_secs(1), Duration::from_secs(1), Duration::from_secs(5), None)
    }

    /// A fake server answering each command (in order) with a canned reply.
    async fn serve(mut server: tokio::io::DuplexStream, replies: Vec<(&'static str, Vec<u8>)>) -> Vec<String> {
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        for (expect, reply) in replies {
            // Read until a whole command is in.
            loop {
                if let Parsed::Complete(v, n) = reply::parse(&buf) {
                    buf.drain(..n);
                    let words: Vec<String> = v
                        .items()
                        .unwrap()
                        .iter()
                        .map(|w| String::from_utf8_lossy(w.bytes().unwrap()).into_owned())
                        .collect();
                    seen.push(words.join(" "));
                    break;
                }
                let mut chunk = [0u8; 1024];
                let n = server.read(&mut chunk).await.unwrap();
                if n == 0 {
                    return seen;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            assert!(seen.last().unwrap().starts_with(expect), "{seen:?} vs {expect}");
            server.write_all(&reply).await.unwrap();
        }
        seen
    }

    fn bulk(s: &str) -> Vec<u8> {
        format!("${}\r\n{s}\r\n", s.len()).into_bytes()
    }

    fn creds(pw: &str) -> Credentials {
        Credentials { user: Some("audit".into()), password: Some(Secret::new(pw.into())) }
    }

    #[tokio::test]
    async fn wrong_password_is_a_status_and_is_never_retried() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let srv = tokio::spawn(serve(
            server,
            vec![("AUTH audit hunter2", b"-WRONGPASS invalid username-password pair hunter2\r\n".to_vec())],
        ));
        let a = run_on(client, &creds("hunter2"), None, 6379, AuditTransport::Plaintext, &budget()).await;
        let seen = srv.await.unwrap();
        assert_eq!(seen.len(), 1, "one AUTH, nothing after it");
        assert_eq!(a.status, AuditStatus::AuthFailed);
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("WRONGPASS"));
    }

    #[tokio::test]
    async fn items_that_fail_are_unavailable_and_the_rest_goes_on() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let config = b"*4\r\n$4\r\nport\r\n$4\r\n6379\r\n$8\r\ntls-port\r\n$4\r\n6380\r\n".to_vec();
        let clients = "id=1 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 flags=N\nid=2 addr=127.0.0.1:5001 laddr=127.0.0.1:6380 flags=N\nid=3 addr=127.0.0.1:9 laddr=127.0.0.1:6379 flags=N cmd=client|list\n";
        let srv = tokio::spawn(serve(
            server,
            vec![
                ("INFO server", bulk("redis_version:7.0.15\r\nrun_id:ab\r\nredis_mode:standalone\r\n")),
                ("INFO replication", bulk("role:master\r\nconnected_slaves:0\r\n")),
                ("INFO clients", b"-NOPERM no\r\n".to_vec()),
                ("CONFIG GET", config),
                ("CLIENT LIST", bulk(clients)),
                ("ACL LIST", b"-ERR unknown command 'ACL'\r\n".to_vec()),
                ("ROLE", b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n".to_vec()),
            ],
        ));
        let local = Some("127.0.0.1:9".parse().unwrap());
        let a = run_on(client, &Credentials::default(), local, 6379, AuditTransport::Plaintext, &budget()).await;
        srv.await.unwrap();
        assert_eq!(a.status, AuditStatus::Ok);
        assert_eq!(a.version.as_deref(), Some("7.0.15"));
        assert_eq!(a.role, Some(AuditRole::Master));
        assert_eq!(a.listeners, Some(Listeners { port: 6379, tls_port: 6380 }));
        let c = a.clients.unwrap();
        assert_eq!((c.plaintext, c.tls, c.other), (1, 1, 0));
        assert_eq!(c.plaintext_addresses, vec!["127.0.0.1:5000"]);
        let items: Vec<AuditItem> = a.unavailable.iter().map(|u| u.item).collect();
        assert_eq!(items, vec![AuditItem::InfoClients, AuditItem::AclList]);
        assert!(a.acl_users.is_none());
        assert_eq!(a.cluster, Some(Cluster { enabled: false, ..Cluster::default() }), "from redis_mode");
    }

    #[tokio::test]
    async fn noauth_without_a_password_is_auth_required() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let srv = tokio::spawn(serve(server, vec![("INFO server", b"-NOAUTH Authentication required.\r\n".to_vec())]));
        let a = run_on(client, &Credentials::default(), None, 6379, AuditTransport::Plaintext, &budget()).await;
        srv.await.unwrap();
        assert_eq!(a.status, AuditStatus::AuthRequired);
    }

    #[tokio::test]
    async fn a_silent_server_costs_one_read_deadline() {
        let (client, _server) = tokio::io::duplex(1 << 16);
        let b = Budget::new(Duration::from_millis(100), Duration::from_millis(100), Duration::from_secs(5), None);
        let start = std::time::Instant::now();
        let a = run_on(client, &Credentials::default(), None, 6379, AuditTransport::Plaintext, &b).await;
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(a.status, AuditStatus::Unavailable);
        assert!(a.unavailable.iter().all(|u| u.reason.contains("deadline")), "{:?}", a.unavailable);
    }

    #[test]
    fn never_asks_for_secrets() {
        for p in CONFIG_PARAMETERS {
            assert!(!["requirepass", "masterauth", "masteruser"].contains(&p) && !p.contains('*'), "{p}");
        }
    }
}
