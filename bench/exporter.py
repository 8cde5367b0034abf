#!/usr/bin/env python3
"""Benchmark: the `serve` exporter's cost per `quick` probe against a real TLS redis-server on loopback.

Starts a TLS Redis (the bench CA from tls_enum) and `redis-tls-scan serve` trusting that CA, then sends
GET /probe?target=...&module=bench (cipher_scan quick), first one at a time (latency), then from C client
threads at once (throughput), each phase bounded in count and time. Prints probes/s, latency, and the
exporter's CPU per probe (user+system time from /proc/PID/stat over the phase, divided by the probes).
The peer, in the same run and with the same client count: `redis-benchmark --tls -k 0 -t ping_mbulk`, a
new verified TLS connection and one PING per request against the same server; each phase prints the
exporter's probes/s as a ratio to it (a quick probe makes several handshakes, so the ratio says what one
probe costs in TLS PINGs).

    python3 bench/exporter.py [--count 200] [--clients 8] [--seconds 60] [BINARY]

Loopback only; every process it starts is stopped by PID.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tls_enum import free_port, make_pki, start_redis, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def probe(port, target):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET /probe?target={target}&module=bench HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    answer = b"".join(chunks).decode()
    ok = answer.startswith("HTTP/1.1 200") and "redis_tls_scan_probe_success{" in answer and "} 1\n" in answer
    return ok


def phase(name, port, target, count, clients, seconds, pid):
    done, failed, latencies = [0], [0], []
    lock = threading.Lock()
    deadline = time.time() + seconds
    remaining = [count]

    def worker():
        while time.time() < deadline:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            t = time.perf_counter()
            ok = probe(port, target)
            took = time.perf_counter() - t
            with lock:
                latencies.append(took)
                done[0] += 1
                failed[0] += 0 if ok else 1

    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    latencies.sort()
    n = done[0]
    p50 = latencies[n // 2] * 1000 if n else 0
    p99 = latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0
    print(f"{name:<12} probes {n:>5} (failed {failed[0]})  {n / wall:7.1f} probes/s  latency p50 {p50:6.1f} ms "
          f"p99 {p99:6.1f} ms  exporter CPU {cpu:6.2f} s = {cpu / max(n, 1) * 1000:6.2f} ms per probe")
    return failed[0], n / wall


def peer(d, redis_port, clients, count):
    """redis-benchmark's TLS PINGs/s, one new connection each (-k 0), bounded in count and time."""
    out = subprocess.run(
        ["redis-benchmark", "--tls", "--cacert", f"{d}/ca.pem", "-h", "127.0.0.1", "-p", str(redis_port), "-k", "0",
         "-c", str(clients), "-n", str(count), "-t", "ping_mbulk", "-q"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    rate = float(out.strip().splitlines()[-1].split()[1])
    print(f"{'':<12} peer: redis-benchmark --tls -k 0 -c {clients}: {rate:7.1f} TLS PINGs/s")
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "target", "release", "redis-tls-scan"))
    a = ap.parse_args()
    procs = []
    try:
        with tempfile.TemporaryDirectory() as d:
            make_pki(d)
            redis_proc, redis_port = start_redis(d, "redis", [])
            procs.append(redis_proc)
            # Redis logs every refused legacy hello: drained, or it blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in redis_proc.stdout], daemon=True).start()
            with open(f"{d}/modules.toml", "w") as f:
                f.write(f'[modules.bench]\ncipher_scan = "quick"\nca_file = ["{d}/ca.pem"]\ntimeout = "20s"\n')
            port = free_port()
            serve = subprocess.Popen(
                [a.binary, "serve", "--listen", f"127.0.0.1:{port}", "--allow", "127.0.0.1/32", "--config",
                 f"{d}/modules.toml", "--max-concurrent", str(max(a.clients, 1))],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(serve)
            wait_ready(serve, "listening on", "serve")
            threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
            target = f"127.0.0.1:{redis_port}"
            print(f"{a.binary}\nTLS redis-server on {target}, module quick, {os.cpu_count()} CPU(s)")
            failed = 0
            for name, n, clients in [("sequential", max(a.count // 4, 1), 1), (f"{a.clients} clients", a.count, a.clients)]:
                f, rate = phase(name, port, target, n, clients, a.seconds, serve.pid)
                tls_pings = peer(d, redis_port, clients, max(n * 10, 1000))
                print(f"{'':<12} ratio: {rate / tls_pings:.3f}x (one quick probe costs {tls_pings / max(rate, 1e-9):.1f} "
                      f"TLS PINGs of redis-benchmark)")
                failed += f
            return 1 if failed else 0
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    sys.exit(main())
