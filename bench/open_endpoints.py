#!/usr/bin/env python3
"""Benchmark: open endpoints at scale (issue 11). Prints figures; asserts nothing but the setup.

Every address of a private range is a real plaintext Redis endpoint: one redis-server listens on
127.0.0.1:6379 inside a private network namespace that has nothing but `lo`; `10.64.0.0/12` is a local
route on that `lo`, and an nftables rule of the namespace (`nat output`) redirects TCP to it on port 6379
to the redis-server. The scanner sweeps N of those addresses (10.64.0.0 upwards, one port), and
`redis-benchmark -k 0` (a new connection per request) sends the same number N of PINGs with the same
concurrency C to one address of the range (10.79.0.1), through the same NAT path, in the same run.
Nothing leaves the namespace: it has no interface but `lo` (the script checks), so there is no route out.

For each N (default 32,768 and 262,144) and each of --runs runs (default 3; the order of the two tools
alternates between runs), it prints:
  - end-to-end PINGs/s of the scanner (N / wall time of the process) and its ratio to redis-benchmark's
    requests/s of the same run; the same for the sweep alone (N / sweep time);
  - redis-benchmark's wall time and the ratio of the two wall times ("x wall"): redis-benchmark prints a
    rate timed from its first to its last request, and its process takes ~0.18 s more (`-n 1` takes
    0.19 s here), so "x rb" compares the scanner's whole run with redis-benchmark's busy part only;
  - the report phase: from the last probe to the end of the process, in seconds and as % of the sweep;
  - the scanner's peak RSS (MiB);
  - journal bytes per endpoint (size of OUTDIR/scan.jsonl / N);
  - as sanity checks, the endpoints in report.json and the endpoint records in the journal (both must be
    N) and the scanner's CPU time (user+sys);
then the median of each column, and at the end the issue's table (medians; ratios are taken within a run).

How:
  - wall time and peak RSS: GNU time (`%e`, `%M`) around the scanner, which runs as
    `redis-tls-scan scan RANGE -p 6379 -q -o OUTDIR --concurrency C --rate 0` inside the namespace;
  - end of the sweep: the journal records each endpoint once, as it is probed, but only to the second
    (`started_at`, `duration_ms`). So the script, outside the namespace (the file system is shared), polls
    the size of OUTDIR/scan.jsonl every 50 ms while the scanner runs. Afterwards it finds the byte offset
    where the last endpoint record ends; the end of the sweep is the first poll that saw the file at least
    that long. Report phase = process exit (seen by a thread blocked in wait()) - end of the sweep; sweep
    time = end of the sweep - spawn. Resolution about 50 ms (the report phase can only be underestimated by
    that much); a scanner that buffered its journal until the end would show a short sweep and report
    phase of about zero, so look at the sweep time too;
  - redis-benchmark: `redis-benchmark -h 10.79.0.1 -p 6379 -k 0 -c C -n N -t ping_mbulk -q` (ping_mbulk is
    `-t ping` without the inline variant: the RESP PING the scanner sends), its "requests per second".
Namespace settings, all local to it: nf_conntrack TIME_WAIT and CLOSE timeouts 2 s (the conntrack table
holds 262,144 entries; 120 s, or 10 s after the scanner's resets, would fill it), tcp_tw_reuse=1 and ports 1024-65535 (redis-benchmark connects from
one address to one address, the scanner from each target address to itself), redis-server with
`--protected-mode no --save '' --appendonly no --maxclients 10000 --tcp-backlog 4096`, open-file limit
raised to 65536 or the hard limit for both tools. After each tool the script prints a warning if listen
queues overflowed or conntrack dropped packets in the namespace (either would stall connects for 1 s+).

Needs root, redis-server, redis-benchmark (Debian's redis-tools), nftables `nft`, iproute2 `ip`, GNU time:
    apt-get install -y redis-server redis-tools nftables iproute2 time
and a release build (default: this tree's target/release/redis-tls-scan; copy it elsewhere and pass
--scanner if the tree is being rebuilt). The namespace is deleted at the end, also on error, Ctrl-C or
SIGTERM; every process it starts is stopped by PID (process group). Output directories go to a temporary
directory, removed after each run (--keep DIR keeps them there).

    python3 bench/open_endpoints.py [--scanner PATH] [--runs K] [--concurrency C] [--keep DIR] [N ...]
"""

import argparse
import ipaddress
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNER = os.path.join(ROOT, "target", "release", "redis-tls-scan")
RANGE = ipaddress.ip_network("10.64.0.0/12")   # redirected to the redis-server; only inside the namespace
FIRST = RANGE.network_address                   # the scanner sweeps FIRST .. FIRST + N - 1
MAX_N = 1 << 19                                 # the lower half of RANGE; the benchmark address is above it
BENCH_ADDR = "10.79.0.1"
PORT = 6379
POLL = 0.05
NOFILE = 65536

CHECK = r"""
import socket, sys
for a in sys.argv[1:]:
    with socket.create_connection((a, 6379), timeout=3) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        s.settimeout(3)
        r = s.recv(64)
    if r != b"+PONG\r\n":
        raise SystemExit(f"{a}: {r!r}")
print("ok")
"""


class Lab:
    """The namespace, its redis-server and nftables rule; everything it starts, to stop by PID."""

    def __init__(self, tmp):
        self.ns = f"rtsbench{os.getpid()}"
        self.tmp = tmp
        self.procs = []
        self.created = False

    def ip(self, *args, **kw):
        return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30, **kw)

    def run(self, cmd, **kw):
        """Runs cmd inside the namespace, bounded."""
        return subprocess.run(["ip", "netns", "exec", self.ns, *cmd], check=True, capture_output=True, text=True,
                              timeout=60, **kw)

    def spawn(self, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # its own process group, made by spawn()
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def up(self):
        if self.ns in self.ip("netns", "list").stdout.split():
            raise SystemExit(f"namespace {self.ns} exists already")
        self.ip("netns", "add", self.ns)
        self.created = True
        self.ip("-n", self.ns, "link", "set", "lo", "up")
        self.ip("-n", self.ns, "route", "add", "local", str(RANGE), "dev", "lo")
        links = [line.split(":")[1].strip() for line in self.ip("-n", self.ns, "-o", "link", "show").stdout.splitlines()]
        if links != ["lo"]:
            raise SystemExit(f"namespace {self.ns} has interfaces besides lo: {links}")
        self.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=2",
                  "net.netfilter.nf_conntrack_tcp_timeout_close=2", "net.ipv4.tcp_tw_reuse=1",
                  "net.ipv4.ip_local_port_range=1024 65535"])
        self.run(["nft", "-f", "-"], input=f"""
table ip rtsbench {{
    chain output {{
        type nat hook output priority -100; policy accept;
        ip daddr {RANGE} tcp dport {PORT} redirect to :{PORT}
    }}
}}
""")
        log = os.path.join(self.tmp, "redis.log")
        self.redis = self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(PORT), "--protected-mode", "no",
                                 "--save", "", "--appendonly", "no", "--maxclients", "10000", "--tcp-backlog", "4096",
                                 "--daemonize", "no", "--logfile", log, "--dir", self.tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            if os.path.exists(log) and "Ready to accept connections" in open(log, errors="replace").read():
                break
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start: {open(log).read()[-500:] if os.path.exists(log) else ''}")
            time.sleep(0.05)
        # The redirect works (first and last address of the largest sweep, the benchmark address) ...
        self.run([sys.executable, "-c", CHECK, str(FIRST), str(FIRST + MAX_N - 1), BENCH_ADDR])
        # ... and only on the redirected range: 127.0.0.2 (not redirected) must not reach the server.
        try:
            self.run([sys.executable, "-c", CHECK, "127.0.0.2"])
            raise SystemExit("127.0.0.2 reached the redis-server: the setup is not what it seems")
        except subprocess.CalledProcessError:
            pass

    def counters(self):
        """(listen overflows + drops, conntrack insert_failed + drop + early_drop) of the namespace."""
        out = self.run(["cat", "/proc/net/netstat", "/proc/net/stat/nf_conntrack"]).stdout.splitlines()
        listen = 0
        for head, vals in zip(out, out[1:]):
            if head.startswith("TcpExt:") and vals.startswith("TcpExt:"):
                d = dict(zip(head.split()[1:], vals.split()[1:]))
                listen = int(d.get("ListenOverflows", 0)) + int(d.get("ListenDrops", 0))
        ct = 0
        for i, line in enumerate(out):
            if line.startswith("entries"):
                names = line.split()
                for row in out[i + 1:]:
                    vals = row.split()
                    if len(vals) != len(names):
                        break
                    d = dict(zip(names, vals))
                    ct += sum(int(d.get(k, "0"), 16) for k in ("insert_failed", "drop", "early_drop"))
        return listen, ct

    def down(self):
        for p in reversed(self.procs):
            self.stop(p)
        if self.created:
            # Anything still inside is ours (the namespace is private to this run).
            try:
                for pid in self.ip("netns", "pids", self.ns).stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            except subprocess.SubprocessError:
                pass
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)
            self.created = False


def target(n):
    """The scanner's target spec for the first n addresses of RANGE: a CIDR when n is a power of two."""
    if n & (n - 1) == 0:
        return f"{FIRST}/{32 - n.bit_length() + 1}"
    return f"{FIRST}-{FIRST + n - 1}"


def sweep_end_offset(journal):
    """(byte offset where the last endpoint record ends, number of endpoint records) of the journal."""
    end, count, off = None, 0, 0
    with open(journal, "rb") as f:
        for line in f:
            off += len(line)
            if b'"type":"endpoint"' in line:
                is_endpoint = True
            elif b'"address"' not in line:
                is_endpoint = False
            else:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                is_endpoint = isinstance(rec, dict) and (rec.get("type") == "endpoint" or
                                                         ("type" not in rec and "address" in rec))
            if is_endpoint:
                end, count = off, count + 1
    return end, count


def count_report_endpoints(path):
    """Elements of the top-level "endpoints" array of report.json, decoded one at a time (bounded memory)."""
    dec = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        buf = ""
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                return None
            buf += chunk
            m = re.search(r'"endpoints"\s*:\s*\[', buf)
            if m:
                buf = buf[m.end():]
                break
            buf = buf[-64:]
        n, pos, eof = 0, 0, False
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf) and buf[pos] == "]":
                return n
            if pos < len(buf):
                try:
                    _, pos = dec.raw_decode(buf, pos)
                    n += 1
                    continue
                except json.JSONDecodeError:
                    if eof:
                        raise
            if eof:
                raise ValueError(f"{path}: truncated")
            chunk = f.read(1 << 24)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0


def warn_counters(lab, before, what):
    after = lab.counters()
    if after[0] > before[0] or after[1] > before[1]:
        print(f"    warning: {what}: {after[0] - before[0]} listen-queue overflows/drops, "
              f"{after[1] - before[1]} conntrack drops in the namespace (connects stalled)")


def bench(lab, n, c, timeout):
    """redis-benchmark -k 0: the requests/s it prints (timed from its first to its last request) and its
    wall time (GNU time, as the scanner's: start-up and exit included)."""
    before = lab.counters()
    p = lab.spawn(["/usr/bin/time", "-f", "RBTIME %e", "redis-benchmark", "-h", BENCH_ADDR, "-p", str(PORT), "-k", "0", "-c", str(c), "-n", str(n),
                   "-t", "ping_mbulk", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        lab.stop(p)
        raise SystemExit(f"redis-benchmark took more than {timeout:.0f} s")
    warn_counters(lab, before, "redis-benchmark")
    rates = re.findall(r"([\d.]+) requests per second", out)
    walls = re.findall(r"RBTIME ([\d.]+)", out)
    if p.returncode != 0 or not rates or not walls:
        raise SystemExit(f"redis-benchmark failed: {out[-500:]}")
    return float(rates[-1]), float(walls[-1])


def scan(lab, scanner, n, c, out, timeout):
    """Runs the scanner under GNU time, polling its journal; returns a dict of figures."""
    tfile = out + ".time"
    journal = os.path.join(out, "scan.jsonl")
    cmd = ["/usr/bin/time", "-o", tfile, "-f", "TIME %e %U %S %M", scanner, "scan", target(n), "-p", str(PORT), "-q",
           "-o", out, "--concurrency", str(c), "--rate", "0"]
    before = lab.counters()
    samples = []  # (monotonic time, journal size) whenever the size changed
    t0 = time.monotonic()
    p = lab.spawn(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    exited = {}
    errors = []

    def waiter():
        p.wait()
        exited["t"] = time.monotonic()

    def drain():  # stderr, kept short; read concurrently so the scanner never blocks on it
        for chunk in iter(lambda: p.stderr.read(65536), b""):
            errors.append(chunk)
            del errors[:-4]

    threads = [threading.Thread(target=waiter, daemon=True), threading.Thread(target=drain, daemon=True)]
    for t in threads:
        t.start()
    last = -1
    while threads[0].is_alive():
        now = time.monotonic()
        if now - t0 > timeout:
            lab.stop(p)
            raise SystemExit(f"the scanner took more than {timeout:.0f} s")
        try:
            size = os.stat(journal).st_size
        except FileNotFoundError:
            size = -1
        if size != last:
            samples.append((now, size))
            last = size
        time.sleep(POLL)
    threads[1].join(timeout=10)
    t_exit = exited["t"]
    warn_counters(lab, before, "scanner")
    stderr = b"".join(errors).decode(errors="replace")
    try:
        with open(tfile) as f:
            timing = f.read()
    except FileNotFoundError:
        timing = ""
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", timing)
    if p.returncode != 0 or not m:
        raise SystemExit(f"the scanner failed (exit {p.returncode}): {(stderr + timing)[-800:]}")
    wall, user, sys_, rss = float(m[1]), float(m[2]), float(m[3]), int(m[4])
    end_off, records = sweep_end_offset(journal)
    t_sweep = next((t for t, s in samples if end_off is not None and s >= end_off), None)
    report = os.path.join(out, "report.json")
    return {
        "wall": wall,
        "cpu": user + sys_,
        "rss": rss / 1024,
        "sweep": None if t_sweep is None else t_sweep - t0,
        "report": None if t_sweep is None else t_exit - t_sweep,
        "journal": os.path.getsize(journal) / n,
        "records": records,
        "in_report": count_report_endpoints(report) if os.path.exists(report) else None,
    }


COLS = [  # (header, width, format)
    ("rb req/s", 9, "{:.0f}"), ("wall s", 7, "{:.2f}"), ("e2e /s", 8, "{:.0f}"), ("x rb", 6, "{:.2f}"),
    ("rb wall", 8, "{:.2f}"), ("x wall", 7, "{:.2f}"),
    ("sweep s", 8, "{:.2f}"), ("sweep/s", 8, "{:.0f}"), ("x rb", 6, "{:.2f}"), ("report s", 9, "{:.2f}"),
    ("% sweep", 8, "{:.0f}"), ("RSS MiB", 8, "{:.1f}"), ("B/endp", 7, "{:.0f}"), ("cpu s", 7, "{:.2f}"),
    ("in report", 10, "{:.0f}"), ("in journal", 11, "{:.0f}"),
]


def figures(rb_run, s, n):
    (rb, rb_wall), sweep, report = rb_run, s["sweep"], s["report"]
    return [rb, s["wall"], n / s["wall"], n / s["wall"] / rb, rb_wall, rb_wall / s["wall"],
            sweep, None if not sweep else n / sweep, None if not sweep else n / sweep / rb,
            report, None if not sweep else 100 * report / sweep,
            s["rss"], s["journal"], s["cpu"], s["in_report"], s["records"]]


def row(label, vals):
    cells = [("-" if v is None else fmt.format(v)).rjust(w) for (_, w, fmt), v in zip(COLS, vals)]
    return f"  {label:<7}" + "".join(cells)


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description="Open-endpoint benchmark (issue 11): scanner vs redis-benchmark -k 0")
    ap.add_argument("sizes", nargs="*", type=int, default=[32768, 262144], help="endpoint counts N")
    ap.add_argument("--scanner", default=SCANNER, help="redis-tls-scan binary to measure")
    ap.add_argument("--runs", type=int, default=3, help="runs per N (default 3)")
    ap.add_argument("--concurrency", "-c", type=int, default=256, help="C, for both tools (default 256)")
    ap.add_argument("--keep", metavar="DIR", help="keep the scanner's output directories under DIR")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespace, nftables)")
    for tool in ["ip", "nft", "redis-server", "redis-benchmark", "/usr/bin/time"]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install -y redis-server redis-tools nftables iproute2 time")
    scanner = os.path.abspath(a.scanner)
    if not os.access(scanner, os.X_OK):
        raise SystemExit(f"{scanner}: no such executable (cargo build --release, or --scanner PATH)")
    if not 1 <= a.runs <= 50 or not 1 <= a.concurrency <= 5000:
        raise SystemExit("--runs 1..50, --concurrency 1..5000")
    for n in a.sizes:
        if not 1 <= n <= MAX_N:
            raise SystemExit(f"N must be 1..{MAX_N}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))  # inherited by every tool

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    tmp = tempfile.mkdtemp(prefix="open-endpoints-")
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
    lab = Lab(tmp)
    summary = {}
    try:
        lab.up()
        print(f"machine: {os.cpu_count()} CPUs, {os.uname().release}; open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
        print(f"scanner: {scanner}")
        print(f"namespace {lab.ns}: lo only; {RANGE} port {PORT} redirected (nftables) to one redis-server; "
              f"redis-benchmark -> {BENCH_ADDR}; concurrency {a.concurrency}")
        for n in a.sizes:
            timeout = 120 + n / 100
            print(f"\nN = {n} endpoints: scan {target(n)} -p {PORT}; redis-benchmark -k 0 -c {a.concurrency} -n {n}")
            print("  " + " " * 7 + "".join(h.rjust(w) for h, w, _ in COLS))
            rows = []
            for r in range(a.runs):
                out = os.path.join(a.keep or tmp, f"n{n}-run{r + 1}")
                if r % 2 == 0:
                    rb = bench(lab, n, a.concurrency, timeout)
                    time.sleep(3)  # conntrack TIME_WAIT entries (2 s) expire
                    s = scan(lab, scanner, n, a.concurrency, out, timeout)
                else:
                    s = scan(lab, scanner, n, a.concurrency, out, timeout)
                    time.sleep(3)
                    rb = bench(lab, n, a.concurrency, timeout)
                if not a.keep:
                    shutil.rmtree(out, ignore_errors=True)
                    try:
                        os.remove(out + ".time")
                    except FileNotFoundError:
                        pass
                vals = figures(rb, s, n)
                rows.append(vals)
                print(row(f"run {r + 1}", vals), flush=True)
                if s["in_report"] != n or s["records"] != n:
                    print(f"    warning: {s['in_report']} endpoints in report.json, {s['records']} in the journal, "
                          f"expected {n}")
                time.sleep(3)
            med = [median([v[i] for v in rows]) for i in range(len(COLS))]
            print(row("median", med))
            summary[n] = med
        print(f"\nThe issue's table (medians of {a.runs} runs; ratios within each run):")
        print("| measure | " + " | ".join(f"{n:,} endpoints" for n in summary) + " |")
        print("|---|" + "---|" * len(summary))
        fmt = lambda v, f: "-" if v is None else f.format(v)
        print("| end-to-end PINGs/s vs `redis-benchmark -k 0`, same run | " + " | ".join(
            f"{fmt(m[2], '{:,.0f}')}/s = {fmt(m[3], '{:.2f}')}x (sweep alone {fmt(m[8], '{:.2f}')}x; "
            f"redis-benchmark {fmt(m[0], '{:,.0f}')}/s; wall time against wall time {fmt(m[5], '{:.2f}')}x)"
            for m in summary.values()) + " |")
        print("| report phase after the last probe | " + " | ".join(
            f"{fmt(m[9], '{:.2f}')} s = {fmt(m[10], '{:.0f}')} % of the sweep ({fmt(m[6], '{:.2f}')} s)"
            for m in summary.values()) + " |")
        print("| peak RSS, open endpoints | " + " | ".join(f"{fmt(m[11], '{:.1f}')} MiB" for m in summary.values()) + " |")
        print("| journal bytes per plaintext Redis endpoint | " + " | ".join(
            f"{fmt(m[12], '{:,.0f}')}" for m in summary.values()) + " |")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lab.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
