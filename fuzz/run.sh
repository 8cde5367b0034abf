#!/usr/bin/env bash
# Runs every fuzz target for a fixed time (default 60 s each) on corpora seeded from real captures:
# replies and TLS flights recorded from a redis-server and openssl s_server started here on loopback,
# and certificates generated here. Prints executions and findings per target.
#   fuzz/run.sh [SECONDS]
# Needs: rustup nightly, cargo install cargo-fuzz, redis-server, openssl, python3.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
seeds=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$seeds"' EXIT
mkdir -p corpus/{resp,hello,cert,targets,audit}

# Certificates: an EC and an RSA one, self-signed and CA-issued.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=fuzz \
  -addext subjectAltName=IP:127.0.0.1,DNS:redis.test -keyout "$seeds/k.pem" -out "$seeds/c.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=fuzz-rsa -keyout "$seeds/rk.pem" -out "$seeds/rc.pem" 2>/dev/null
openssl x509 -in "$seeds/c.pem" -outform der -out corpus/cert/ec
openssl x509 -in "$seeds/rc.pem" -outform der -out corpus/cert/rsa
cat corpus/cert/ec corpus/cert/rsa > corpus/cert/chain

# Real servers on free loopback ports: Redis plaintext and TLS, and a TLS 1.0-only s_server.
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
p1=$(port); p2=$(port); p3=$(port)
redis-server --bind 127.0.0.1 --port "$p1" --tls-port "$p2" --save '' --appendonly no --daemonize no --logfile '' \
  --dir "$seeds" --tls-cert-file "$seeds/c.pem" --tls-key-file "$seeds/k.pem" --tls-ca-cert-file "$seeds/c.pem" \
  --tls-auth-clients no > "$seeds/redis.log" 2>&1 &
openssl s_server -accept "127.0.0.1:$p3" -cert "$seeds/rc.pem" -key "$seeds/rk.pem" -tls1 -cipher 'ALL:@SECLEVEL=0' \
  -naccept 10 > "$seeds/s.log" 2>&1 &
for _ in $(seq 100); do grep -q "Ready to accept" "$seeds/redis.log" && grep -q ACCEPT "$seeds/s.log" && break; sleep 0.1; done
python3 - "$p1" "$p2" "$p3" <<'PY'
import os, socket, struct, sys
p1, p2, p3 = map(int, sys.argv[1:])
def ask(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(data)
    out = b""
    try:
        while len(out) < 65536:
            b = s.recv(65536)
            if not b: break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out
def hello(version, suites, ext=b""):
    body = struct.pack(">H", version) + os.urandom(32) + b"\x00"
    cs = b"".join(struct.pack(">H", c) for c in suites)
    body += struct.pack(">H", len(cs)) + cs + b"\x01\x00"
    if ext: body += struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs
groups = bytes.fromhex("000a0010000e001d00170018001900" + "1e01000101")
sigalgs = bytes.fromhex("000d001c001a040305030603080408050806040105010601020302010807 0808".replace(" ", ""))
w = lambda name, data: open(name, "wb").write(data)
w("corpus/resp/pong", ask(p1, b"*1\r\n$4\r\nPING\r\n"))
w("corpus/resp/error", ask(p1, b"*1\r\n$7\r\nNOTACMD\r\n"))
w("corpus/resp/noauth", b"-NOAUTH Authentication required.\r\n")
w("corpus/hello/tls12", ask(p2, hello(0x0303, [0xc02b, 0xc02f, 0xc030, 0x00ff], groups + sigalgs)))
w("corpus/hello/tls10", ask(p3, hello(0x0301, [0x002f, 0x0035, 0x000a, 0x0005])))
w("corpus/hello/alert", ask(p2, hello(0x0301, [0x002f])))
cmd = lambda *a: b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
for name, args in [("info", [b"INFO", b"replication"]), ("config", [b"CONFIG", b"GET", b"port"]),
                   ("clients", [b"CLIENT", b"LIST"]), ("acl", [b"ACL", b"LIST"]), ("role", [b"ROLE"]),
                   ("info_server", [b"INFO", b"server"])]:
    w("corpus/audit/" + name, ask(p1, cmd(*args)))
w("corpus/targets/lines", b"# fleet\n10.0.0.0/24\n127.0.0.1:6380\n[::1]:6379\nredis.example\n10.0.0.5-10.0.1.4\n")
PY

for t in resp hello cert targets audit; do
  log="$seeds/$t.log"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1 \
    > "$log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  echo "$t: $execs executions in ${secs}s, $crashes finding(s)$( [ "$crashes" -gt 0 ] && echo " in fuzz/artifacts/$t" )"
done
