//! The command line as redis-cli and ripgrep users expect it: redis-cli's TLS flag names, `-f -`,
//! target files written by nmap and masscan and redis:// URIs, `--color`, `-v` lines per endpoint,
//! case-insensitive values, completions and the man page, and error messages that say what is wrong.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redis-tls-scan"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Scans with `args` and `stdin`, returns the output and the endpoints of the report.
fn scan(args: &[&str], stdin: &str) -> (Output, Vec<String>) {
    let (o, endpoints, _) = scan_report(args, stdin);
    (o, endpoints)
}

/// [`scan`], also returning every report file's text.
fn scan_report(args: &[&str], stdin: &str) -> (Output, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = bin()
        .arg("scan")
        .args(args)
        .args(["--cipher-scan", "off", "-o"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let endpoints = std::fs::read_to_string(out.join("report.json"))
        .map(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            let mut e: Vec<String> = v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| format!("{}:{}", e["address"].as_str().unwrap(), e["port"]))
                .collect();
            e.sort();
            e
        })
        .unwrap_or_default();
    let all: String = ["report.json", "report.html", "summary.md", "summary.txt", "scan.jsonl", "endpoints.csv"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(out.join(f)).ok())
        .collect();
    (o, endpoints, all)
}

#[test]
fn target_files_from_nmap_masscan_uris_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let a = redis(dir.path(), RedisConf { plaintext: true, ..RedisConf::default() });
    let b = redis(dir.path(), RedisConf { plaintext: true, ..RedisConf::default() });
    let closed = closed_port();
    let both = {
        let mut v = vec![format!("127.0.0.1:{}", a.port), format!("127.0.0.1:{}", b.port)];
        v.sort();
        v
    };
    // nmap -oG: only the open TCP ports of each host.
    let nmap = format!(
        "# Nmap 7.93 scan initiated as: nmap -oG - -p {a},{b},{closed} 127.0.0.1\nHost: 127.0.0.1 (localhost)\tStatus: Up\nHost: 127.0.0.1 (localhost)\tPorts: {a}/open/tcp//redis///, {b}/open/tcp//redis///, {closed}/closed/tcp/////\n# Nmap done\n",
        a = a.port,
        b = b.port
    );
    let file = write(dir.path(), "scan.gnmap", &nmap);
    let (o, eps) = scan(&["-q", "-f", file.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eps, both);
    // masscan -oL, read from stdin with `-f -`.
    let masscan = format!(
        "#masscan\nopen tcp {} 127.0.0.1 1700000000\nopen tcp {} 127.0.0.1 1700000001\n# end\n",
        a.port, b.port
    );
    let (o, eps) = scan(&["-q", "-f", "-"], &masscan);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eps, both);
    // URIs, as arguments and in a file; the password never reaches the report.
    let uri_file = write(dir.path(), "uris.txt", &format!("redis://default:s3cret#x@127.0.0.1:{}/0\n", b.port));
    let (o, eps) =
        scan(&["-q", &format!("rediss://:hunter2@127.0.0.1:{}", a.port), "-f", uri_file.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eps, both);
}

#[test]
fn redis_cli_tls_flag_names_and_case_insensitive_values() {
    let help = bin().args(["scan", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for alias in ["--cacert", "--cert", "--key"] {
        assert!(help.contains(alias), "{alias} in scan --help");
    }
    let pki = Pki::new();
    let (cert, key) = pki.client();
    let closed = closed_port();
    let (o, _) = scan(
        &[
            &format!("127.0.0.1:{closed}"),
            "-q",
            "--cacert",
            pki.ca_file.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--fail-on",
            "HIGH",
            "--roots",
            "None",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn errors_name_the_file_and_the_prefix() {
    let (o, _) = scan(&["-f", "/nonexistent/targets.txt"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("/nonexistent/targets.txt: cannot read"), "{err}");
    assert!(!err.contains(":0:"), "no line 0 for a whole-file error: {err}");
    let (o, _) = scan(&["10.0.0.0/33"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("prefix length /33 is longer than the 32 bits of IPv4"), "{}", stderr(&o));
    let (o, _) = scan(&["unix:///run/redis.sock"], "");
    assert!(stderr(&o).contains("unix socket"), "{}", stderr(&o));
}

#[test]
fn verbose_prints_a_line_per_endpoint_and_color_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let r = redis(dir.path(), RedisConf { plaintext: true, ..RedisConf::default() });
    let target = format!("127.0.0.1:{}", r.port);
    let (o, _) = scan(&[&target, "-v", "--color", "always"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.lines().any(|l| l.starts_with(&format!("done {target}"))), "a line for the endpoint:\n{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("\u{1b}["), "--color always colours a pipe");
    let (o, _) = scan(&[&target, "--color", "NEVER"], "");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\u{1b}["), "--color never");
    let (o, _) = scan(&[&target], "");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\u{1b}["), "auto: a pipe gets plain text");
}

#[test]
fn completions_and_man_page_come_from_the_binary() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef redis-tls-scan"),
        ("fish", "complete -c redis-tls-scan"),
        ("elvish", "edit:completion"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains(marker), "{shell}");
    }
    let o = bin().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH redis-tls-scan 1"), "{page}");
    for section in
        [".SH SYNOPSIS", "REDIS\\-TLS\\-SCAN SCAN", "REDIS\\-TLS\\-SCAN MERGE", ".SH \"EXIT STATUS\"", ".SH FILES"]
    {
        assert!(page.contains(section), "{section}");
    }
    // `| head` closes the pipe early: no panic, no error.
    let mut child = bin().arg("man").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
