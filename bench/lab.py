#!/usr/bin/env python3
"""Benchmark: a lab-style sweep of real servers and hostile peers, wall time and connections per endpoint.

Starts on loopback: Redis plaintext (open, password), Redis TLS (open, client certificate required,
legacy protocols enabled, mixed plaintext+TLS), stunnel4 in front of a plaintext Redis, openssl s_server
(answering, silent to PING, TLS 1.0 only), and hostile peers (tarpit, one byte every 2 s, accept+reset,
64 KiB of garbage). Scans them all in one run with each given binary (default: this tree's release build;
pass an older build to compare) and prints, per binary: the wall time, the slowest honest endpoint, the
bound "slowest honest + one read timeout + 1 s", and per endpoint its duration and connections.

    python3 bench/lab.py [--read-timeout 2] [BINARY ...]

Loopback only; every process it starts is stopped by PID.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tls_enum import make_pki  # the same CA and server certificate for 127.0.0.1

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNER = os.path.join(ROOT, "target", "release", "redis-tls-scan")
PROCS = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, needle, stdin=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=stdin, text=True)
    PROCS.append(p)
    deadline = time.time() + 20
    for line in p.stdout:
        if needle in line:
            # Keep draining so the peer never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p
        if time.time() > deadline:
            break
    raise SystemExit(f"did not start: {cmd}")


def redis(d, plain=None, tls=None, extra=()):
    cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(plain or 0), "--save", "", "--appendonly", "no",
           "--daemonize", "no", "--logfile", "", "--dir", d]
    if tls:
        cmd += ["--tls-port", str(tls), "--tls-cert-file", f"{d}/srv.pem", "--tls-key-file", f"{d}/srv.key",
                "--tls-ca-cert-file", f"{d}/ca.pem"]
    start(cmd + list(extra), "Ready to accept connections")


def s_server(d, port, extra):
    start(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", f"{d}/srv.pem", "-key", f"{d}/srv.key",
           "-naccept", "100000"] + extra, "ACCEPT", stdin=subprocess.PIPE)


def stunnel(d, port, upstream):
    conf = f"{d}/stunnel-{port}.conf"
    with open(conf, "w") as f:
        f.write(f"foreground = yes\npid =\n[redis]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{upstream}\n"
                f"cert = {d}/srv.pem\nkey = {d}/srv.key\n")
    p = subprocess.Popen(["stunnel4", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    PROCS.append(p)
    for _ in range(200):  # readiness: the port accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("stunnel did not start")


def hostile(kind):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve(c):
        try:
            if kind == "tarpit":
                time.sleep(90)
            elif kind == "drip":
                for b in b"+PONGPONGPONGPONGPONGPONG":
                    c.sendall(bytes([b]))
                    time.sleep(2)
            elif kind == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            elif kind == "garbage":
                c.sendall(b"A" * 65536)
                time.sleep(10)
        except OSError:
            pass
        finally:
            c.close()

    def loop():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1]


def lab(d):
    """Starts everything; returns {port: (name, honest)}."""
    ports = {}

    def p(name, honest=True):
        port = free_port()
        ports[port] = (name, honest)
        return port

    redis(d, plain=p("redis plaintext open"), extra=["--protected-mode", "no"])
    redis(d, plain=p("redis plaintext password"), extra=["--requirepass", "pw"])
    redis(d, tls=p("redis TLS"), extra=["--tls-auth-clients", "no"])
    redis(d, tls=p("redis mTLS required"))
    redis(d, tls=p("redis TLS legacy"), extra=["--tls-auth-clients", "no", "--tls-protocols",
                                               "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "--tls-ciphers", "DEFAULT:@SECLEVEL=0"])
    redis(d, plain=p("redis mixed (plaintext)"), tls=p("redis mixed (TLS)"), extra=["--tls-auth-clients", "no"])
    upstream = free_port()
    redis(d, plain=upstream, extra=["--protected-mode", "no"])
    stunnel(d, p("stunnel -> redis"), upstream)
    s_server(d, p("s_server answering"), ["-rev"])
    s_server(d, p("s_server TLS 1.0 only"), ["-rev", "-tls1", "-cipher", "ALL:@SECLEVEL=0"])
    s_server(d, p("s_server silent to PING"), [])
    for kind in ["tarpit", "drip", "reset", "garbage"]:
        port = hostile(kind)
        ports[port] = (f"hostile {kind}", False)
    return ports


def sweep(binary, ports, d, read_timeout, tag):
    out = f"{d}/out-{tag}"
    targets = [f"127.0.0.1:{p}" for p in ports]
    t0 = time.monotonic()
    subprocess.run([binary, "scan", *targets, "-q", "--read-timeout", f"{read_timeout}s", "--ca-file", f"{d}/ca.pem",
                    "-o", out], capture_output=True)
    wall = time.monotonic() - t0
    with open(f"{out}/report.json") as f:
        report = json.load(f)
    rows = {e["port"]: (e["duration_ms"], e["connections"]) for e in report["endpoints"]}
    return wall, rows


def main():
    args = sys.argv[1:]
    read_timeout = 2.0
    if args[:1] == ["--read-timeout"]:
        read_timeout = float(args[1])
        args = args[2:]
    binaries = args or [SCANNER]
    with tempfile.TemporaryDirectory() as d:
        make_pki(d)
        try:
            ports = lab(d)
            for i, b in enumerate(binaries):
                wall, rows = sweep(b, ports, d, read_timeout, str(i))
                honest = [rows.get(p, (0, 0))[0] for p, (_, h) in ports.items() if h]
                slowest = max(honest) / 1000
                bound = slowest + read_timeout + 1
                total_conns = sum(c for _, c in rows.values())
                print(f"\n{b}\n  wall {wall:.2f} s, slowest honest endpoint {slowest:.2f} s, "
                      f"bound {bound:.2f} s: {'within' if wall <= bound else 'OVER'}; "
                      f"{total_conns} connections for {len(rows)} endpoints ({total_conns / len(rows):.1f} each)")
                for p, (name, _) in sorted(ports.items(), key=lambda kv: kv[1][0]):
                    ms, conns = rows.get(p, (None, None))
                    print(f"  {name:28} {ms if ms is not None else '-':>6} ms {conns if conns is not None else '-':>4} conns")
        finally:
            for p in PROCS:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
