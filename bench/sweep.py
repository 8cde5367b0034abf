#!/usr/bin/env python3
"""Benchmark: sweeps at scale (issue 5). Prints figures; asserts nothing.

(a) dead space: 127.0.0.0/16 x 6379,6380 (131,072 endpoints, nothing listening): endpoints/s and peak RSS
    of the scanner, of `nmap -sT -Pn -n` on the same endpoints, and of a plain blocking connect() loop on
    every core (examples/connect_floor.rs), all in the same run;
(b) memory: a sweep of 1,048,576 endpoints (127.0.0.0/12 x 1 port) against one of 10,000: peak RSS;
(c) open endpoints: N real TLS Redis servers on loopback, full audit: endpoints/s, and where the CPU goes
    (scanner user+sys against wall time, Redis servers' CPU);
(d) hostile space: 254 addresses of tarpits, garbage senders and resets: throughput, the per-endpoint deadline,
    peak RSS.

Needs redis-server, openssl, nmap, GNU time, and `cargo build --release --examples`. Loopback only;
nothing may listen on 127.0.0.0/16 ports 6379/6380 (the script checks). Every process it starts is
stopped by PID.

    python3 bench/sweep.py [N_TLS_SERVERS]
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNER = os.path.join(ROOT, "target", "release", "redis-tls-scan")
FLOOR = os.path.join(ROOT, "target", "release", "examples", "connect_floor")


def timed(cmd):
    """Runs cmd under GNU time; returns (wall s, user s, sys s, peak RSS KiB, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", *cmd], capture_output=True, text=True)
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)
    if not m:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr[-500:]}")
    return float(m[1]), float(m[2]), float(m[3]), int(m[4]), p.stdout


def listening(port):
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    return any(line.split()[3].endswith(f":{port}") for line in out.splitlines() if len(line.split()) > 3)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_space(d):
    for p in (6379, 6380):
        if listening(p):
            raise SystemExit(f"something listens on port {p}: stop it first (the dead-space run needs nothing there)")
    n = 131072
    print(f"(a) dead space: 127.0.0.0/16 x 6379,6380 = {n} endpoints")
    rows = []
    w, u, s, rss, _ = timed([SCANNER, "scan", "127.0.0.0/16", "-p", "6379,6380", "--rate", "0", "--host-concurrency", "64",
                             "--concurrency", "256", "-q", "-o", f"{d}/dead"])
    rows.append(("redis-tls-scan", w, u, s, rss))
    w, u, s, rss, _ = timed(["nmap", "-sT", "-Pn", "-n", "-p", "6379,6380", "127.0.0.0/16", "-oG", f"{d}/nmap.txt"])
    rows.append(("nmap -sT -Pn -n", w, u, s, rss))
    w, u, s, rss, _ = timed([FLOOR, "127.0.0.0", "16", "6379,6380"])
    rows.append(("connect() floor", w, u, s, rss))
    nmap_rate = n / rows[1][1]
    print(f"  {'tool':<18}{'wall s':>8}{'user s':>8}{'sys s':>8}{'endpoints/s':>13}{'x nmap':>8}{'peak RSS':>11}")
    for name, w, u, s, rss in rows:
        print(f"  {name:<18}{w:>8.2f}{u:>8.2f}{s:>8.2f}{n / w:>13.0f}{(n / w) / nmap_rate:>8.2f}{rss / 1024:>9.1f} MiB")


def memory(d):
    print("\n(b) memory: peak RSS against sweep size (dead space, 1 port)")
    for spec, n in [("127.0.0.0/19", 8192), ("127.0.0.0/12", 1048576)]:
        w, _, _, rss, _ = timed([SCANNER, "scan", spec, "-p", "6379", "--rate", "0", "--host-concurrency", "64", "-q",
                                 "-o", f"{d}/mem-{n}"])
        print(f"  {n:>9} endpoints: {rss / 1024:6.1f} MiB peak RSS, {w:6.2f} s")


def open_endpoints(d, count):
    print(f"\n(c) open endpoints: {count} TLS Redis servers (default TLS 1.2+1.3), full audit")
    ext = f"{d}/ext.cnf"
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                    "-subj", "/CN=bench", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", f"{d}/k.pem", "-out",
                    f"{d}/c.pem"], check=True, capture_output=True)
    procs, ports = [], []
    try:
        for _ in range(count):
            port = free_port()
            p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port), "--save", "",
                                  "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--dir", d,
                                  "--tls-cert-file", f"{d}/c.pem", "--tls-key-file", f"{d}/k.pem",
                                  "--tls-ca-cert-file", f"{d}/c.pem", "--tls-auth-clients", "no"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in p.stdout:
                if "Ready to accept connections" in line:
                    break
            procs.append(p)
            ports.append(port)

        def redis_cpu():
            total = 0
            for p in procs:
                with open(f"/proc/{p.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")

        before = redis_cpu()
        targets = [f"127.0.0.1:{p}" for p in ports]
        w, u, s, rss, _ = timed([SCANNER, "scan", *targets, "--rate", "0", "--host-concurrency", "64", "--ca-file", f"{d}/c.pem",
                                 "-q", "-o", f"{d}/open"])
        redis = redis_cpu() - before
        print(f"  {count} endpoints in {w:.2f} s: {count / w:.1f} endpoints/s, peak RSS {rss / 1024:.1f} MiB")
        print(f"  CPU: scanner {u + s:.2f} s (user {u:.2f}, sys {s:.2f}) = {100 * (u + s) / (w * os.cpu_count()):.0f}% of "
              f"{os.cpu_count()} cores; redis-servers {redis:.2f} s")
    finally:
        for p in procs:
            p.kill()
            p.wait()


HOSTILE_SERVER = r"""
import asyncio, socket, struct, sys
port = int(sys.argv[1])
async def tarpit(r, w):
    await asyncio.sleep(30); w.close()
async def garbage(r, w):
    try:
        w.write(b"A" * 65536); await w.drain(); await asyncio.sleep(30)
    except Exception: pass
    w.close()
async def reset(r, w):
    s = w.get_extra_info("socket")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); w.close()
async def main():
    kinds = [tarpit, garbage, reset]
    for i in range(1, 255):
        await asyncio.start_server(kinds[i % 3], f"127.0.2.{i}", port)
    print("ready", flush=True)
    await asyncio.sleep(120)
asyncio.run(main())
"""


def hostile_space(d):
    print("\n(d) hostile space: 127.0.2.1-254, one port: tarpits, 64 KiB of garbage, resets (a third each)")
    port = free_port()
    p = subprocess.Popen([sys.executable, "-c", HOSTILE_SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        w, u, s, rss, _ = timed([SCANNER, "scan", "127.0.2.1-127.0.2.254", "-p", str(port), "--rate", "0",
                                 "--read-timeout", "1s", "--endpoint-timeout", "3s", "--include-closed", "-q",
                                 "-o", f"{d}/hostile"])
        import json
        with open(f"{d}/hostile/report.json") as f:
            r = json.load(f)
        durations = [e["duration_ms"] for e in r["endpoints"]]
        over = sum(1 for x in durations if x > 3000 + 250)
        print(f"  254 endpoints in {w:.2f} s ({254 / w:.0f}/s), peak RSS {rss / 1024:.1f} MiB, "
              f"slowest endpoint {max(durations)} ms, {over} over the 3 s deadline (+250 ms)")
    finally:
        p.kill()
        p.wait()


def main():
    for tool in ["redis-server", "openssl", "nmap", "/usr/bin/time"]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing")
    for f in [SCANNER, FLOOR]:
        if not os.path.exists(f):
            raise SystemExit("build first: cargo build --release --examples")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    d = tempfile.mkdtemp(prefix="sweep-bench-")
    try:
        print(f"machine: {os.cpu_count()} CPUs, {os.uname().release}\n")
        dead_space(d)
        memory(d)
        open_endpoints(d, count)
        hostile_space(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
