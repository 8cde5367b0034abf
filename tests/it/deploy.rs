//! Installed and deployed the way users work: the README's install command, the Debian package
//! (`cargo deb`, `dpkg -i`), the container image (built with podman on a base made by mmdebstrap from
//! Debian's packages, its filesystem exported and run with chroot as the image's user), the Kubernetes
//! manifests (both validators, and every container's command line run against the binary with the pod's
//! environment), and the systemd units (`systemd-analyze verify`, and their commands run). Each needs a
//! peer that the README's test command installs; a missing one fails the test loudly.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{self, Peer, RedisConf, http_get, pushgateway};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_redis-tls-scan");

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// Runs `cmd`, panics with its output unless it exits 0.
fn ok(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Nested builds use their own target directory: the outer `cargo test` holds target/'s lock.
    c.current_dir(root()).env("CARGO_TARGET_DIR", root().join("target/deploy"));
    c
}

/// The Debian package, built once per test run (`cargo deb --locked --strip`: the release build).
fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        support::require("cargo-deb");
        let started = Instant::now();
        let o = ok(cargo().args(["deb", "--locked", "--strip"]));
        let path = String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or_default().trim().to_string();
        let path = PathBuf::from(path);
        assert!(path.is_file(), "cargo deb printed no package path: {}", String::from_utf8_lossy(&o.stdout));
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("deb: {} ({size} bytes) built in {:?}", path.display(), started.elapsed());
        path
    })
}

/// The release binary the package was built from.
fn release_binary() -> PathBuf {
    deb();
    root().join("target/deploy/release/redis-tls-scan")
}

/// A plaintext Redis on a free loopback port (started by this test).
fn plain_redis(dir: &Path) -> Peer {
    support::redis(dir, RedisConf { plaintext: true, ..RedisConf::default() })
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Endpoint addresses listed in a report.json.
fn endpoints_of(report: &Path) -> Vec<String> {
    let r = read_json(report);
    let mut out: Vec<String> = r["endpoints"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no endpoints array", report.display()))
        .iter()
        .map(|e| format!("{}:{}", e["address"].as_str().unwrap_or("?"), e["port"]))
        .collect();
    out.sort();
    out
}

fn is_root() -> bool {
    let o = ok(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&o.stdout).trim() == "0"
}

// ---------------------------------------------------------------------------------------------------
// README install, Debian package

/// The README's install section, run as written (into a temporary cargo root instead of ~/.cargo):
/// the binary lands in ROOT/bin and runs by name from PATH; the first real scan writes its reports where
/// the README says.
#[test]
fn readme_install_command_puts_the_binary_on_path() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("## Install").expect("README has an Install section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let install = section
        .lines()
        .find(|l| l.starts_with("cargo install "))
        .expect("README's Install section has a `cargo install` line");
    let words: Vec<&str> = install.split('#').next().unwrap().split_whitespace().collect();
    assert_eq!(words, ["cargo", "install", "--path", ".", "--locked"], "README's install command changed");
    assert!(section.contains("~/.cargo/bin"), "README says where the binary lands");
    assert!(section.contains("reports/<UTC time>/"), "README says where reports go");
    let first_scan = section.lines().find(|l| l.starts_with("redis-tls-scan scan ")).expect("a first real scan");

    deb(); // the release build, reused by cargo install through the shared target directory
    let home = TempDir::new().unwrap();
    ok(cargo().args(&words[1..]).arg("--root").arg(home.path()));
    let bin_dir = home.path().join("bin");
    assert!(bin_dir.join("redis-tls-scan").is_file(), "cargo install put no redis-tls-scan into ROOT/bin");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display());
    let o = ok(Command::new("redis-tls-scan").env("PATH", &path).arg("--version"));
    assert!(String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")));

    // The first real scan, with the README's example target and ports replaced by a loopback Redis.
    let work = TempDir::new().unwrap();
    let redis = plain_redis(work.path());
    let args: Vec<String> =
        first_scan.split('#').next().unwrap().split_whitespace().skip(1).map(String::from).collect();
    let args: Vec<String> = args
        .into_iter()
        .map(|a| match a.as_str() {
            "10.20.30.40" => "127.0.0.1".to_string(),
            "6379,6380" => redis.port.to_string(),
            _ => a,
        })
        .collect();
    let cwd = work.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let o = Command::new("redis-tls-scan").env("PATH", &path).args(&args).current_dir(&cwd).output().unwrap();
    assert!(o.status.code() == Some(0), "first scan failed: {}", String::from_utf8_lossy(&o.stderr));
    let runs: Vec<PathBuf> = std::fs::read_dir(cwd.join("reports")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "one run directory under reports/");
    for f in ["report.json", "report.html", "summary.md", "SHA256SUMS"] {
        assert!(runs[0].join(f).is_file(), "{f} missing in {}", runs[0].display());
    }
    assert_eq!(endpoints_of(&runs[0].join("report.json")), [format!("127.0.0.1:{}", redis.port)]);
}

/// `cargo deb` builds a package with the binary, man page, completions, systemd units and README;
/// `dpkg -i` installs it on this machine and the installed binary runs; the installed units verify.
#[test]
fn debian_package_installs_and_runs() {
    assert!(is_root(), "dpkg -i needs root: run the tests as root (CI does)");
    let deb = deb();
    let o = ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    let listing = String::from_utf8_lossy(&o.stdout);
    for f in [
        "./usr/bin/redis-tls-scan",
        "./usr/share/man/man1/redis-tls-scan.1.gz",
        "./usr/share/bash-completion/completions/redis-tls-scan",
        "./usr/share/zsh/vendor-completions/_redis-tls-scan",
        "./usr/share/fish/vendor_completions.d/redis-tls-scan.fish",
        "./lib/systemd/system/redis-tls-scan-sweep.service",
        "./lib/systemd/system/redis-tls-scan-sweep.timer",
        "./lib/systemd/system/redis-tls-scan-exporter.service",
        "./usr/share/doc/redis-tls-scan/README.md",
        "./usr/share/doc/redis-tls-scan/examples/prometheus/alerts.yml",
        "./usr/share/doc/redis-tls-scan/examples/prometheus/modules.example.toml",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(f)), "{f} not in the package:\n{listing}");
    }
    ok(Command::new("dpkg").arg("-i").arg(deb));
    let installed = Path::new("/usr/bin/redis-tls-scan");
    let o = ok(Command::new(installed).arg("--version"));
    assert!(String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")));
    let work = TempDir::new().unwrap();
    let out = work.path().join("demo");
    ok(Command::new(installed).args(["demo", "-q", "-o"]).arg(&out));
    assert!(out.join("report.html").is_file());
    // The installed units, with the installed binary and man page in place.
    let units = [
        "/lib/systemd/system/redis-tls-scan-sweep.service",
        "/lib/systemd/system/redis-tls-scan-sweep.timer",
        "/lib/systemd/system/redis-tls-scan-exporter.service",
    ];
    support::require("systemd-analyze");
    let man = if Path::new("/usr/bin/man").is_file() { "--man=yes" } else { "--man=no" };
    ok(Command::new("systemd-analyze").args(["verify", man]).args(units));
    ok(Command::new("dpkg").args(["--purge", "redis-tls-scan"]));
    assert!(!installed.exists(), "dpkg --purge left the binary");
}

/// The committed man page and completions (what the package ships) are what the binary generates.
#[test]
fn shipped_man_page_and_completions_are_current() {
    for (args, file) in [
        (vec!["man"], "deploy/man/redis-tls-scan.1"),
        (vec!["completions", "bash"], "deploy/completions/redis-tls-scan.bash"),
        (vec!["completions", "zsh"], "deploy/completions/_redis-tls-scan"),
        (vec!["completions", "FISH"], "deploy/completions/redis-tls-scan.fish"),
    ] {
        let o = ok(Command::new(BIN).args(&args));
        let shipped = std::fs::read(root().join(file)).unwrap();
        assert!(o.stdout == shipped, "{file} is stale: regenerate with `cargo run -- {} > {file}`", args.join(" "));
    }
    let man = String::from_utf8(std::fs::read(root().join("deploy/man/redis-tls-scan.1")).unwrap()).unwrap();
    for needle in ["REDIS\\-TLS\\-SCAN SCAN", "\\-\\-cacert", "EXIT STATUS", "\\-\\-resume\\-existing"] {
        assert!(man.contains(needle), "man page lacks {needle}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Container image

/// The mmdebstrap command of deploy/container/README.md: a bookworm base of only what the binary needs
/// (glibc, libgcc, base-files, netbase), no shell and no package manager.
const BASE_PACKAGES: &str = "--include=base-files,libc6,libgcc-s1,netbase";

/// That base, made from Debian's packages by mmdebstrap (cached in target/deploy between runs).
fn bookworm_tar() -> PathBuf {
    let cached = root().join("target/deploy/bookworm-minimal.tar");
    if cached.is_file() {
        return cached;
    }
    support::require("mmdebstrap");
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    let partial = cached.with_extension("partial");
    let started = Instant::now();
    ok(Command::new("mmdebstrap")
        .args(["--variant=extract", BASE_PACKAGES, "--format=tar", "--quiet", "bookworm"])
        .arg(&partial));
    eprintln!("mmdebstrap bookworm: {:?}", started.elapsed());
    std::fs::rename(&partial, &cached).unwrap();
    cached
}

/// podman's id for what `args` creates (last line of its output).
fn podman(args: &[&str]) -> String {
    let o = ok(Command::new("podman").args(args));
    String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or_default().trim().to_string()
}

/// Images and containers this test made, removed by id when it ends.
struct PodmanObjects(Vec<(&'static str, String)>);

impl Drop for PodmanObjects {
    fn drop(&mut self) {
        for (kind, id) in self.0.iter().rev() {
            let _ = Command::new("podman").args([kind, "rm", "--force", id.as_str()]).output();
        }
    }
}

#[test]
fn container_image_builds_on_a_debian_base_and_its_filesystem_runs() {
    support::require("podman");
    support::require("chroot");
    let readme = std::fs::read_to_string(root().join("deploy/container/README.md")).unwrap();
    assert!(readme.contains(BASE_PACKAGES), "deploy/container/README.md gives the base's mmdebstrap command");
    let containerfile = std::fs::read_to_string(root().join("deploy/container/Containerfile")).unwrap();
    let instructions: Vec<&str> =
        containerfile.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert!(!instructions.iter().any(|l| l.starts_with("RUN")), "no RUN: the image is assembled, not built in a shell");
    assert!(instructions.contains(&"USER 10001:10001"));
    assert!(instructions.contains(&"ENTRYPOINT [\"/usr/bin/redis-tls-scan\"]"), "exec-form entry point, no shell");

    let binary = release_binary();
    let base_tar = bookworm_tar();
    let work = TempDir::new().unwrap();
    let tag = format!("localhost/redis-tls-scan-test:{}", std::process::id());
    let base_tag = format!("localhost/redis-tls-scan-test-base:{}", std::process::id());
    let mut objects = PodmanObjects(Vec::new());
    let started = Instant::now();
    objects.0.push(("image", podman(&["import", base_tar.to_str().unwrap(), &base_tag])));

    // The build context: the stripped release binary and the CA roots, as deploy/container/README.md says.
    let ctx = work.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    ok(Command::new("install").args(["-s", "-m", "0755"]).arg(&binary).arg(&ctx));
    let roots = Path::new("/etc/ssl/certs/ca-certificates.crt");
    assert!(roots.is_file(), "{} missing: apt-get install ca-certificates", roots.display());
    std::fs::copy(roots, ctx.join("ca-certificates.crt")).unwrap();
    let file = root().join("deploy/container/Containerfile");
    objects.0.push((
        "image",
        podman(&[
            "build",
            "--quiet",
            "--build-arg",
            &format!("BASE={base_tag}"),
            "-f",
            file.to_str().unwrap(),
            "-t",
            &tag,
            ctx.to_str().unwrap(),
        ]),
    ));
    let build_time = started.elapsed();
    let inspect =
        podman(&["image", "inspect", &tag, "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Size}}"]);
    let parts: Vec<&str> = inspect.split('|').collect();
    assert_eq!(parts[0], "10001:10001", "non-root user");
    assert_eq!(parts[1], "[\"/usr/bin/redis-tls-scan\"]");
    eprintln!("image {tag}: {} bytes, import + build {build_time:?}", parts[2]);

    // Its filesystem, exported and run as the image's user.
    let container = podman(&["create", &tag]);
    objects.0.push(("container", container.clone()));
    let fs_tar = work.path().join("fs.tar");
    ok(Command::new("podman").args(["export", "-o"]).arg(&fs_tar).arg(&container));
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    ok(Command::new("tar").args(["-xpf"]).arg(&fs_tar).arg("-C").arg(&rootfs));
    assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file(), "CA roots in the image");
    assert!(!rootfs.join("bin/sh").exists() && !rootfs.join("usr/bin/sh").exists(), "no shell in the image");
    let in_image = |args: &[&str]| -> Output {
        ok(Command::new("chroot").arg("--userspec=10001:10001").arg(&rootfs).arg("/usr/bin/redis-tls-scan").args(args))
    };
    let v = in_image(&["--version"]);
    assert!(String::from_utf8_lossy(&v.stdout).contains(env!("CARGO_PKG_VERSION")));
    in_image(&["demo", "-q", "-o", "/tmp/demo"]);
    assert!(rootfs.join("tmp/demo/report.html").is_file(), "demo wrote no report in the image");
    let redis = plain_redis(work.path());
    in_image(&["scan", &format!("127.0.0.1:{}", redis.port), "-q", "-o", "/tmp/scan"]);
    assert_eq!(endpoints_of(&rootfs.join("tmp/scan/report.json")), [format!("127.0.0.1:{}", redis.port)]);
    let trust = read_json(&rootfs.join("tmp/scan/report.json"));
    assert!(
        trust["scan"]["trust"]["anchors"].as_u64().unwrap_or(0) > 50,
        "system roots loaded in the image: {}",
        trust["scan"]["trust"]
    );
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

fn manifests() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn kubernetes_manifests_pass_both_validators() {
    support::require("kubernetes-validate");
    support::require("checkov");
    let files = manifests();
    ok(Command::new("kubernetes-validate").args(["--strict", "--quiet"]).args(&files));
    let o = ok(Command::new("checkov")
        .args(["--framework", "kubernetes", "--compact", "--quiet", "--skip-download", "-d"])
        .arg(root().join("deploy/kubernetes")));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("Failed checks: 0"), "checkov:\n{report}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for shell in ["/bin/sh", "bash", "command:", "date -", "$(date"] {
            assert!(!text.contains(shell), "{}: '{shell}': no shell in the manifests", f.display());
        }
    }
    // What the validators do not insist on, but the manifests promise.
    for doc in docs() {
        let (kind, name) = (doc["kind"].as_str().unwrap_or(""), doc["metadata"]["name"].as_str().unwrap_or(""));
        if kind == "CronJob" {
            assert_eq!(doc["spec"]["concurrencyPolicy"], "Forbid", "{name}");
            assert!(doc["spec"]["timeZone"].is_string(), "{name}");
        }
        if let Some(job) = job_spec(&doc) {
            assert!(job["activeDeadlineSeconds"].is_u64() && job["ttlSecondsAfterFinished"].is_u64(), "{name}");
            if job["completionMode"] == "Indexed" {
                assert!(job["backoffLimitPerIndex"].is_u64(), "{name}");
            }
            let pod = pod_spec(&doc).unwrap();
            assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
            assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{name}");
            for c in containers(pod) {
                let cname = c["name"].as_str().unwrap();
                assert!(fail_job_codes(job, cname).contains(&2), "{name}/{cname}: exit 2 must fail the Job");
                let sc = &c["securityContext"];
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}/{cname}");
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}/{cname}");
                assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{name}/{cname}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{name}/{cname}");
            }
        }
    }
}

/// Every document of every manifest, as JSON (PyYAML, which kubernetes-validate brings).
fn docs() -> Vec<Value> {
    support::require("python3");
    let script = "import json,sys,yaml\nout=[]\nfor f in sys.argv[1:]:\n  out+=[d for d in yaml.safe_load_all(open(f)) if d]\nprint(json.dumps(out))";
    let o = ok(Command::new("python3").arg("-c").arg(script).args(manifests()));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array().unwrap().clone()
}

fn doc<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind && d["metadata"]["name"] == name).unwrap_or_else(|| panic!("{kind} {name}"))
}

fn job_spec(doc: &Value) -> Option<&Value> {
    match doc["kind"].as_str() {
        Some("Job") => Some(&doc["spec"]),
        Some("CronJob") => Some(&doc["spec"]["jobTemplate"]["spec"]),
        _ => None,
    }
}

fn pod_spec(doc: &Value) -> Option<&Value> {
    job_spec(doc).map(|j| &j["template"]["spec"])
}

/// Init containers, then containers, in order.
fn containers(pod: &Value) -> Vec<&Value> {
    let list = |k: &str| pod[k].as_array().map(|a| a.iter().collect::<Vec<_>>()).unwrap_or_default();
    let mut v = list("initContainers");
    v.extend(list("containers"));
    v
}

/// Exit codes of `container` that the Job's podFailurePolicy turns into a failed Job.
fn fail_job_codes(job: &Value, container: &str) -> Vec<i64> {
    job["podFailurePolicy"]["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .filter(|r| r["action"] == "FailJob" && r["onExitCodes"]["operator"] == "In")
                .filter(|r| r["onExitCodes"]["containerName"] == container)
                .flat_map(|r| r["onExitCodes"]["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_i64())
                .collect()
        })
        .unwrap_or_default()
}

/// Where a pod runs here: each volume as a directory; the Job name and completion index.
struct PodEnv<'a> {
    volumes: &'a BTreeMap<String, PathBuf>,
    job_name: &'a str,
    index: Option<u64>,
    /// The test's own Pushgateway on loopback, in place of the manifests' `PUSHGATEWAY_URL`.
    push_url: &'a str,
}

/// A container's command line as the kubelet would run it: the image's entry point (the binary), its
/// args with `$(VAR)` expanded from the container's env (values and the downward API), and mount paths
/// mapped to the volumes' directories.
fn container_command(c: &Value, env: &PodEnv<'_>) -> Command {
    assert!(c.get("command").is_none(), "the image's entry point (the binary) runs, no command override");
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    if let Some(i) = env.index {
        vars.insert("JOB_COMPLETION_INDEX".into(), i.to_string());
    }
    for e in c["env"].as_array().cloned().unwrap_or_default() {
        let name = e["name"].as_str().unwrap().to_string();
        let value = match (e["value"].as_str(), e["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
            // Nothing may leave the machine: the manifests' Pushgateway is the test's, on loopback.
            (Some(_), _) if name == "PUSHGATEWAY_URL" => env.push_url.to_string(),
            (Some(v), _) => v.to_string(),
            (None, Some("metadata.labels['batch.kubernetes.io/job-name']")) => env.job_name.to_string(),
            other => panic!("env {name}: unsupported source {other:?}"),
        };
        vars.insert(name, value);
    }
    let mounts: Vec<(String, PathBuf)> = c["volumeMounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let vol = m["name"].as_str().unwrap();
            (
                m["mountPath"].as_str().unwrap().to_string(),
                env.volumes.get(vol).unwrap_or_else(|| panic!("volume {vol}")).clone(),
            )
        })
        .collect();
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.as_str().unwrap().to_string();
            while let Some(start) = a.find("$(") {
                let end = a[start..].find(')').map(|e| start + e).unwrap_or_else(|| panic!("unclosed $( in {a}"));
                let name = &a[start + 2..end];
                let value = vars.get(name).unwrap_or_else(|| panic!("$({name}) is not in the container's env"));
                a = format!("{}{value}{}", &a[..start], &a[end + 1..]);
            }
            if let Some((_, path)) = a.split_once("=/") {
                let (mount, dir) = mounts
                    .iter()
                    .find(|(m, _)| format!("/{path}").starts_with(m.as_str()))
                    .unwrap_or_else(|| panic!("{a}: an absolute path outside the volumes"));
                a = a.replacen(&format!("={mount}"), &format!("={}", dir.display()), 1);
            }
            a
        })
        .collect();
    let mut cmd = Command::new(BIN);
    cmd.args(&args).envs(&vars).env_remove("RUST_LOG").stdin(Stdio::null());
    cmd
}

/// Runs a container to its end; its exit code.
fn run_container(c: &Value, env: &PodEnv<'_>) -> i64 {
    let o = container_command(c, env).output().unwrap();
    let code = i64::from(o.status.code().unwrap_or(-1));
    eprintln!("{} (index {:?}) exit {code}: {}", c["name"], env.index, String::from_utf8_lossy(&o.stderr).trim());
    code
}

/// A listener that accepts and never answers (keeps a pod busy for the read timeouts), on loopback.
fn tarpit() -> (u16, std::thread::JoinHandle<()>, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        let end = Instant::now() + Duration::from_secs(120);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < end {
            if let Ok((s, _)) = l.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (port, h, stop)
}

/// The ConfigMap's files, with targets.txt replaced by `targets` (the environment of this test).
fn configmap_dir(docs: &[Value], dir: &Path, targets: &str) -> PathBuf {
    let cm = doc(docs, "ConfigMap", "redis-tls-sweep-targets");
    std::fs::create_dir_all(dir).unwrap();
    for (file, text) in cm["data"].as_object().unwrap() {
        std::fs::write(dir.join(file), text.as_str().unwrap()).unwrap();
    }
    assert!(dir.join("targets.txt").is_file() && dir.join("exclude.txt").is_file());
    std::fs::write(dir.join("targets.txt"), targets).unwrap();
    dir.to_path_buf()
}

/// The one-off Indexed Job and merge Job: every index runs; pods killed mid-scan are replaced and the
/// same command line resumes their shard; the merge sees every endpoint once; a retried merge pod
/// succeeds; bad targets exit 2, which the podFailurePolicy turns into a failed Job.
#[test]
fn kubernetes_indexed_job_and_merge_run_against_the_binary() {
    let gateway = pushgateway();
    let push_url = format!("http://127.0.0.1:{}", gateway.port);
    let docs = docs();
    let work = TempDir::new().unwrap();
    let redis = plain_redis(work.path());
    let (slow, slow_thread, stop) = tarpit();
    let closed = support::closed_port();
    let targets = format!("127.0.0.1:{}\n127.0.0.1:{slow}\n127.0.0.1:{closed}\n", redis.port);
    let mut volumes = BTreeMap::new();
    volumes.insert("targets".to_string(), configmap_dir(&docs, &work.path().join("targets"), &targets));
    volumes.insert("reports".to_string(), work.path().join("pvc"));
    std::fs::create_dir(work.path().join("pvc")).unwrap();

    let sweep = doc(&docs, "Job", "redis-tls-sweep");
    let job = job_spec(sweep).unwrap();
    let completions = job["completions"].as_u64().unwrap();
    let scan = containers(pod_spec(sweep).unwrap())[0];
    let env = |i| PodEnv { volumes: &volumes, job_name: "redis-tls-sweep", index: Some(i), push_url: &push_url };
    // All pods at once, as the Job runs them; whoever is still scanning after its journal appeared is
    // killed (node lost), and a replacement pod runs the same command line.
    let mut pods: Vec<(u64, Child)> = (0..completions)
        .map(|i| (i, container_command(scan, &env(i)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()))
        .collect();
    let run_dir = work.path().join("pvc").join(scan_run_name(scan));
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && !(0..completions).all(|i| run_dir.join(format!("shard-{i}/scan.jsonl")).is_file())
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The pods without the tarpit finish on their own (polled, not slept on): only the one the tarpit
    // holds is still scanning, and it is the one killed mid-scan.
    while Instant::now() < deadline
        && pods.iter_mut().map(|(_, c)| c.try_wait().unwrap().is_none()).filter(|running| *running).count() > 1
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut killed = 0;
    for (_, child) in &mut pods {
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed > 0, "the tarpit keeps one pod busy: it is killed and replaced");
    for i in 0..completions {
        assert_eq!(run_container(scan, &env(i)), 0, "the replacement pod of index {i} resumes (or finds it done)");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    slow_thread.join().unwrap();

    let merge_doc = doc(&docs, "Job", "redis-tls-sweep-merge");
    let merge = containers(pod_spec(merge_doc).unwrap())[0];
    let menv = PodEnv { volumes: &volumes, job_name: "redis-tls-sweep-merge", index: None, push_url: &push_url };
    assert_eq!(run_container(merge, &menv), 0);
    let merged = run_dir.join("merged/report.json");
    let expected = [format!("127.0.0.1:{}", redis.port), format!("127.0.0.1:{slow}")];
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(endpoints_of(&merged), expected, "every open endpoint once");
    // The merged sweep's metrics reached the Pushgateway, one group for the job.
    let pushed = http_get(gateway.port, "/metrics");
    assert!(
        pushed
            .lines()
            .any(|l| l.starts_with("redis_tls_scan_endpoints_scanned{") && l.contains("job=\"redis_tls_scan\"")),
        "{pushed}"
    );
    assert_eq!(read_json(&merged)["summary"]["counts"]["scanned"], 3, "every endpoint scanned once overall");
    assert_eq!(run_container(merge, &menv), 0, "a retried merge pod succeeds");
    assert_eq!(endpoints_of(&merged), expected);

    // Bad setup: exit 2, and the Job fails at once instead of retrying.
    let bad = TempDir::new().unwrap();
    let mut bad_volumes = BTreeMap::new();
    bad_volumes.insert("targets".to_string(), configmap_dir(&docs, &bad.path().join("targets"), "not a target!\n"));
    bad_volumes.insert("reports".to_string(), bad.path().to_path_buf());
    let code = run_container(
        scan,
        &PodEnv { volumes: &bad_volumes, job_name: "redis-tls-sweep", index: Some(0), push_url: &push_url },
    );
    assert_eq!(code, 2);
    assert!(fail_job_codes(job, "scan").contains(&code));
}

/// The run directory name an Indexed Job's scan writes into (the `--output` argument's `$(RUN)`).
fn scan_run_name(c: &Value) -> String {
    c["env"].as_array().unwrap().iter().find(|e| e["name"] == "RUN").unwrap()["value"].as_str().unwrap().to_string()
}

/// The nightly CronJob pair over two nights: each night's shards land under the Job's name, the merge
/// takes the newest sweep and the diff compares it with the night before (exit 1 when worse, which fails
/// the Job; diff.txt kept in the run). No shell, no date arithmetic.
#[test]
fn kubernetes_nightly_cronjobs_run_against_the_binary() {
    let gateway = pushgateway();
    let push_url = format!("http://127.0.0.1:{}", gateway.port);
    let docs = docs();
    let work = TempDir::new().unwrap();
    let first = plain_redis(work.path());
    let second = plain_redis(work.path());
    let pvc = work.path().join("pvc");
    std::fs::create_dir(&pvc).unwrap();
    let sweep = doc(&docs, "CronJob", "redis-tls-nightly-sweep");
    let merge_doc = doc(&docs, "CronJob", "redis-tls-nightly-merge");
    let completions = job_spec(sweep).unwrap()["completions"].as_u64().unwrap();
    let scan = containers(pod_spec(sweep).unwrap())[0];
    let merge_pod = containers(pod_spec(merge_doc).unwrap());
    assert_eq!(merge_pod.len(), 2, "merge (init container), then diff");

    // A CronJob names its Jobs NAME-<scheduled minutes since the epoch>: 01:00 UTC on two nights.
    let nights = [
        ("redis-tls-nightly-sweep-29000000", vec![first.port]),
        ("redis-tls-nightly-sweep-29001440", vec![first.port, second.port]),
    ];
    for (n, (job_name, ports)) in nights.iter().enumerate() {
        let targets: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
        let mut volumes = BTreeMap::new();
        volumes
            .insert("targets".to_string(), configmap_dir(&docs, &work.path().join(format!("targets-{n}")), &targets));
        volumes.insert("reports".to_string(), pvc.clone());
        for i in 0..completions {
            assert_eq!(
                run_container(scan, &PodEnv { volumes: &volumes, job_name, index: Some(i), push_url: &push_url }),
                0
            );
        }
        let menv = PodEnv {
            volumes: &volumes,
            job_name: "redis-tls-nightly-merge-29000180",
            index: None,
            push_url: &push_url,
        };
        assert_eq!(run_container(merge_pod[0], &menv), 0, "merge");
        let diff = run_container(merge_pod[1], &menv);
        let run = pvc.join("nightly").join(job_name);
        assert_eq!(endpoints_of(&run.join("merged/report.json")).len(), ports.len());
        if n == 0 {
            assert_eq!(diff, 0, "the first night has nothing to compare");
        } else {
            assert_eq!(diff, 1, "a new plaintext Redis: worse");
            assert!(fail_job_codes(job_spec(merge_doc).unwrap(), "diff").contains(&diff), "worse fails the Job");
            let text = std::fs::read_to_string(run.join("diff.txt")).unwrap();
            assert!(text.contains(&second.port.to_string()), "diff.txt names the new endpoint:\n{text}");
            // The retried Job pod: merge replaces its output, the diff says the same.
            assert_eq!(run_container(merge_pod[0], &menv), 0, "retried merge");
            assert_eq!(run_container(merge_pod[1], &menv), 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// systemd

/// The units pass `systemd-analyze verify` and its security review, and their commands, run with the
/// unit's paths mapped to a temporary state directory, sweep twice and compare.
#[test]
fn systemd_units_verify_and_their_commands_run() {
    support::require("systemd-analyze");
    let work = TempDir::new().unwrap();
    let dir = root().join("deploy/systemd");
    let service = std::fs::read_to_string(dir.join("redis-tls-scan-sweep.service")).unwrap();
    for f in ["redis-tls-scan-sweep.service", "redis-tls-scan-sweep.timer"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap().replace("/usr/bin/redis-tls-scan", BIN);
        std::fs::write(work.path().join(f), text).unwrap();
    }
    let units = [work.path().join("redis-tls-scan-sweep.service"), work.path().join("redis-tls-scan-sweep.timer")];
    ok(Command::new("systemd-analyze").args(["verify", "--man=no"]).args(&units));
    let o = ok(Command::new("systemd-analyze").args(["security", "--offline=true", "--threshold=20"]).arg(&units[0]));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or_default());
    for hardening in ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
        assert!(service.lines().any(|l| l == hardening), "{hardening}");
    }

    // ExecStart and ExecStartPost as the unit runs them, twice (two nights).
    let etc = work.path().join("etc");
    let state = work.path().join("state");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let map = |s: &str| {
        s.replace("/usr/bin/redis-tls-scan", BIN)
            .replace("/etc/redis-tls-scan", etc.to_str().unwrap())
            .replace("/var/lib/redis-tls-scan", state.to_str().unwrap())
    };
    let exec = |key: &str| -> Command {
        let line = service.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("{key}"));
        let words: Vec<String> = line.split_whitespace().map(map).collect();
        let mut c = Command::new(&words[0]);
        c.args(&words[1..]).current_dir(&state).stdin(Stdio::null());
        c
    };
    let first = plain_redis(work.path());
    let second = plain_redis(work.path());
    std::fs::write(etc.join("targets.txt"), format!("127.0.0.1:{}\n", first.port)).unwrap();
    ok(&mut exec("ExecStart="));
    ok(&mut exec("ExecStartPost="));
    // No pause: a second run in the same second takes `<second>-02`, which sorts after the first.
    std::fs::write(etc.join("targets.txt"), format!("127.0.0.1:{}\n127.0.0.1:{}\n", first.port, second.port)).unwrap();
    ok(&mut exec("ExecStart="));
    let post = exec("ExecStartPost=").output().unwrap();
    assert_eq!(post.status.code(), Some(1), "worse: the unit fails");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(state.join("reports")).unwrap().map(|e| e.unwrap().path()).collect();
    runs.sort();
    assert_eq!(runs.len(), 2);
    assert!(runs[1].join("diff.txt").is_file(), "diff.txt kept in the newer run");
}
