#!/usr/bin/env python3
"""Benchmark: protocol-version and cipher-suite enumeration, redis-tls-scan vs nmap ssl-enum-ciphers vs sslyze.

Starts local TLS endpoints on free loopback ports (default Redis TLS, TLS 1.2-only, TLS 1.3-only,
legacy-enabled, NULL/anon-enabled, a TLS 1.0-only openssl s_server), runs the three tools on the whole
set in one go, prints each tool's wall time and whether each peer's accepted versions and suites agree
with the scanner's. Needs: redis-server, openssl, nmap, sslyze (pip install sslyze), a release build
(cargo build --release). Loopback only; every process it starts is stopped by PID.

    python3 bench/tls_enum.py [--keep DIR]
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNER = os.path.join(ROOT, "target", "release", "redis-tls-scan")
VERSIONS = ["ssl3", "tls1_0", "tls1_1", "tls1_2", "tls1_3"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def make_pki(d):
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30", "-subj", "/CN=bench CA",
         "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem"])
    run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bench",
         "-keyout", f"{d}/srv.key", "-out", f"{d}/srv.csr"])
    run(["openssl", "x509", "-req", "-in", f"{d}/srv.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
         "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", f"{d}/srv.pem"])


def wait_ready(proc, needle, what):
    deadline = time.time() + 20
    for line in proc.stdout:
        if needle in line:
            # Keep reading what the server prints from now on: a full pipe would block it mid-benchmark
            # (s_server prints a line per connection).
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return
        if time.time() > deadline:
            break
    raise SystemExit(f"{what} did not start")


def start_redis(d, name, extra):
    port = free_port()
    cmd = ["redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port), "--save", "",
           "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--dir", d,
           "--tls-cert-file", f"{d}/srv.pem", "--tls-key-file", f"{d}/srv.key", "--tls-ca-cert-file", f"{d}/ca.pem",
           "--tls-auth-clients", "no"] + extra
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_ready(p, "Ready to accept connections", name)
    return p, port


def start_s_server(d, name, extra):
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", f"{d}/srv.pem", "-key", f"{d}/srv.key",
           "-rev", "-naccept", "100000"] + extra
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, text=True)
    wait_ready(p, "ACCEPT", name)
    return p, port


ALL = "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"
SERVERS = [
    ("redis default", "redis", []),
    ("redis TLS 1.2 only", "redis", ["--tls-protocols", "TLSv1.2"]),
    ("redis TLS 1.3 only", "redis", ["--tls-protocols", "TLSv1.3"]),
    ("redis legacy enabled", "redis", ["--tls-protocols", ALL, "--tls-ciphers", "DEFAULT:@SECLEVEL=0"]),
    ("redis NULL+anon", "redis", ["--tls-protocols", ALL, "--tls-ciphers", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]),
    ("s_server TLS 1.0 only", "s_server", ["-tls1", "-cipher", "ALL:@SECLEVEL=0"]),
]


def scanner_results(out_dir):
    with open(os.path.join(out_dir, "report.json")) as f:
        report = json.load(f)
    res = {}
    for e in report["endpoints"]:
        vers = {}
        for v in VERSIONS:
            p = e["tls"]["versions"][v]
            if p["status"] == "accepted":
                vers[v] = {s["name"] for s in p["cipher_suites"]}
        res[e["port"]] = (vers, e["connections"])
    return res


NMAP_VERSIONS = {"SSLv3": "ssl3", "TLSv1.0": "tls1_0", "TLSv1.1": "tls1_1", "TLSv1.2": "tls1_2", "TLSv1.3": "tls1_3"}


def nmap_results(xml_path):
    res = {}
    root = ET.parse(xml_path).getroot()
    for port in root.iter("port"):
        vers = {}
        for script in port.iter("script"):
            if script.get("id") != "ssl-enum-ciphers":
                continue
            for table in script.findall("table"):
                v = NMAP_VERSIONS.get(table.get("key"))
                if not v:
                    continue
                names = set()
                for ciphers in table.findall("table[@key='ciphers']"):
                    for c in ciphers.findall("table"):
                        for elem in c.findall("elem[@key='name']"):
                            # nmap still uses the TLS 1.3 draft names (TLS_AKE_WITH_AES_128_GCM_SHA256).
                            names.add(elem.text.replace("TLS_AKE_WITH_", "TLS_"))
                vers[v] = names
        res[int(port.get("portid"))] = vers
    return res


SSLYZE_KEYS = {"ssl_3_0_cipher_suites": "ssl3", "tls_1_0_cipher_suites": "tls1_0", "tls_1_1_cipher_suites": "tls1_1",
               "tls_1_2_cipher_suites": "tls1_2", "tls_1_3_cipher_suites": "tls1_3"}


def sslyze_results(json_path):
    with open(json_path) as f:
        data = json.load(f)
    res, errors = {}, {}
    for sr in data.get("server_scan_results", []):
        port = sr["server_location"]["port"]
        vers = {}
        for key, v in SSLYZE_KEYS.items():
            attempt = (sr.get("scan_result") or {}).get(key) or {}
            result = attempt.get("result") or {}
            names = {a["cipher_suite"]["name"] for a in result.get("accepted_cipher_suites", [])}
            if names:
                vers[v] = names
            # sslyze files handshakes that timed out under "rejected": count them, they are not verdicts.
            errors[port] = errors.get(port, 0) + sum(
                1 for r in result.get("rejected_cipher_suites", []) if "timed out" in (r.get("error_message") or ""))
        res[port] = vers
    return res, errors


def timed(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return time.monotonic() - t, p


def compare(name, ours, theirs):
    """Differences between our accepted (version -> suites) and a peer's, as text lines."""
    lines = []
    for v in VERSIONS:
        a, b = ours.get(v, set()), theirs.get(v, set())
        if a == b:
            continue
        if not b and a:
            lines.append(f"    {v}: {name} reports nothing, scanner {len(a)} suite(s)")
        elif not a and b:
            lines.append(f"    {v}: scanner reports nothing, {name} {len(b)}: {sorted(b)[:4]}")
        else:
            if a - b:
                lines.append(f"    {v}: only scanner: {sorted(a - b)}")
            if b - a:
                lines.append(f"    {v}: only {name}: {sorted(b - a)}")
    return lines


def main():
    for tool in ["redis-server", "openssl", "nmap", "sslyze"]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install -y redis-server openssl nmap; pip install sslyze)")
    if not os.path.exists(SCANNER):
        raise SystemExit("build first: cargo build --release")
    keep = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--keep" else None
    d = keep or tempfile.mkdtemp(prefix="tls-enum-bench-")
    os.makedirs(d, exist_ok=True)
    make_pki(d)
    procs, endpoints = [], []
    try:
        for name, kind, extra in SERVERS:
            p, port = (start_redis if kind == "redis" else start_s_server)(d, name, extra)
            procs.append(p)
            endpoints.append((name, port))
        ports = ",".join(str(p) for _, p in endpoints)
        targets = [f"127.0.0.1:{p}" for _, p in endpoints]

        out = os.path.join(d, "scan")
        t_scan, p = timed([SCANNER, "scan", *targets, "--ca-file", f"{d}/ca.pem", "-q", "-o", out])
        if p.returncode not in (0, 1):
            raise SystemExit(f"scanner failed: {p.stderr}")
        t_nmap, p = timed(["nmap", "-sT", "-Pn", "-n", "-p", ports, "--script", "ssl-enum-ciphers", "-oX",
                           f"{d}/nmap.xml", "127.0.0.1"])
        # Only sslyze's cipher-suite plugins (the question the other two answer); --slow_connection because
        # its default parallelism times out handshakes against six servers on two cores, giving wrong verdicts.
        t_sslyze, p = timed(["sslyze", "--slow_connection", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                             "--json_out", f"{d}/sslyze.json", *targets])

        ours = scanner_results(out)
        nmap = nmap_results(f"{d}/nmap.xml")
        sslyze, sslyze_timeouts = sslyze_results(f"{d}/sslyze.json")

        print(f"machine: {os.cpu_count()} CPUs; {len(endpoints)} endpoints on loopback\n")
        print(f"{'tool':<16}{'wall s':>9}{'vs scanner':>12}")
        for tool, t in [("redis-tls-scan", t_scan), ("nmap", t_nmap), ("sslyze", t_sslyze)]:
            print(f"{tool:<16}{t:>9.2f}{t / t_scan:>11.1f}x")
        print()
        for name, port in endpoints:
            vers, conns = ours.get(port, ({}, 0))
            summary = ", ".join(f"{v}:{len(s)}" for v, s in vers.items())
            print(f"{name} (:{port}) scanner: {summary} [{conns} connections]")
            for peer, res in [("nmap", nmap), ("sslyze", sslyze)]:
                diff = compare(peer, vers, res.get(port, {}))
                note = ""
                if peer == "sslyze" and sslyze_timeouts.get(port):
                    note = f" ({sslyze_timeouts[port]} of its handshakes timed out: not a verdict)"
                print(f"  {peer}: {'agrees' if not diff else 'differs'}{note}")
                for line in diff:
                    print(line)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
