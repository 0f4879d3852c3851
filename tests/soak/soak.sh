#!/usr/bin/env bash
# Soak: rtmpgate in front of nginx-rtmp for a given time, under a real ffmpeg
# publisher, periodic ffmpeg players and a mix of good, bad, slow and
# half-open raw clients. Samples RSS, open fds and every counter each second
# and writes a report. Not part of CI (see tests/soak/REPORT.md).
#
#   tests/soak/soak.sh [SECONDS] [REPORT.md]     default 600 s, tests/soak/REPORT.md
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-600}
REPORT=${2:-tests/soak/REPORT.md}
BUILD=${BUILD:-build}

bash deploy/install-deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target rtmpgate grpc-call >/dev/null
GW="$BUILD/rtmpgate"
CALL="$BUILD/tests/support/grpc/grpc-call"

DIR=$(mktemp -d /tmp/rtmpgate-soak.XXXXXX)
mkdir -p "$DIR/logs"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ORIGIN=$(free_port); PORT=$(free_port); CTL=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

cat > "$DIR/nginx.conf" <<NGX
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process on; worker_processes 1;
pid logs/nginx.pid; error_log logs/error.log warn;
events {}
rtmp { server { listen 127.0.0.1:$ORIGIN; application live { live on; record off; } } }
NGX
cat > "$DIR/gw.yaml" <<YAML
workers: 2
listen:
  - address: 127.0.0.1:$PORT
handshake: {timeout: 3s}
limits: {max_connections: 5000, max_connections_per_ip: 0}
upstream:
  backends:
    - address: 127.0.0.1:$ORIGIN
control:
  listen: 127.0.0.1:$CTL
shutdown_timeout: 5s
log: {level: warn}
YAML

nginx -p "$DIR/" -c nginx.conf -e logs/error.log & pids+=($!)
"$GW" --config "$DIR/gw.yaml" 2> "$DIR/gw.log" & GWPID=$!; pids+=($GWPID)
for _ in $(seq 50); do "$CALL" "127.0.0.1:$CTL" list >/dev/null 2>&1 && break; sleep 0.1; done

ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine \
  -t "$DURATION" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -c:a aac -f flv \
  "rtmp://127.0.0.1:$PORT/live/soak" > "$DIR/publisher.log" 2>&1 & PUBPID=$!; pids+=($PUBPID)

# Players: every 20 s, 4 s of playback through the gateway; count video frames.
(
  sleep 3
  end=$((SECONDS + DURATION - 10))
  while ((SECONDS < end)); do
    frames=$(timeout 20 ffmpeg -nostdin -loglevel error -i "rtmp://127.0.0.1:$PORT/live/soak" \
      -t 4 -f framemd5 - 2>>"$DIR/player.log" | grep -c '^0,' || true)
    echo "$(date +%s) $frames" >> "$DIR/players.txt"
    sleep 16
  done
) & pids+=($!)

# Raw client mix, ~40 connections/s: good, garbage, bad echo, trickle, half-open.
python3 - "$PORT" "$DURATION" > "$DIR/clients.txt" 2>&1 <<'PY' & pids+=($!)
import os, random, socket, sys, threading, time
port, duration = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + duration - 5
counts = {"good": 0, "good_fail": 0, "garbage": 0, "bad_echo": 0, "trickle": 0, "half_open": 0}
lock = threading.Lock()
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def good():
    s = conn(); c1 = bytes([3]) + os.urandom(4) + b"\0" * 4 + os.urandom(1528)
    s.sendall(c1); r = recv_exact(s, 3073)
    ok = r[0] == 3 and r[1537:1541] == c1[1:5] and r[1545:] == c1[9:]
    s.sendall(r[1:1537]); time.sleep(random.uniform(0.1, 2)); s.close(); return ok
def garbage():
    s = conn(); s.sendall(os.urandom(random.randint(1, 4000))); time.sleep(0.2); s.close()
def bad_echo():
    s = conn(); c1 = bytes([3]) + os.urandom(1536); s.sendall(c1); r = recv_exact(s, 3073)
    s.sendall(os.urandom(1536)); time.sleep(0.2); s.close()
def trickle():
    s = conn()
    try:
        for _ in range(40):
            s.send(b"\x03"); time.sleep(0.2)
    except OSError:
        pass
    s.close()
def half_open():
    s = conn(); time.sleep(4); s.close()
kinds = [("good", good), ("garbage", garbage), ("bad_echo", bad_echo), ("trickle", trickle), ("half_open", half_open)]
def run(name, fn):
    try:
        r = fn()
        with lock:
            counts[name] += 1
            if name == "good" and r is False: counts["good_fail"] += 1
    except Exception:
        with lock:
            if name == "good": counts["good_fail"] += 1
            else: counts[name] += 1
while time.time() < end:
    name, fn = random.choice(kinds)
    threading.Thread(target=run, args=(name, fn), daemon=True).start()
    time.sleep(0.025)
time.sleep(5)
print(" ".join(f"{k}={v}" for k, v in counts.items()))
PY

# Sampler: one process, one sample per second (RSS, fds, every counter).
python3 - "$GWPID" "$CALL" "127.0.0.1:$CTL" "$DURATION" "$DIR/samples.csv" <<'PY'
import json, os, subprocess, sys, time
pid, call, addr, duration, out = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
cols = ["connections_open", "sessions_active", "handshakes_completed", "handshakes_failed_bad_version",
        "handshakes_failed_echo_mismatch", "handshakes_failed_timeout", "handshakes_failed_client_closed",
        "upstream_no_backend", "bytes_client_to_backend"]
start = time.time()
with open(out, "w") as f:
    f.write("t,rss_kib,fds," + ",".join(cols) + "\n")
    while time.time() - start < duration and os.path.exists(f"/proc/{pid}"):
        t = time.time() - start
        try:
            rss = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            break
        r = subprocess.run([call, addr, "rtmpgate.v1.Control/GetStats"], capture_output=True, text=True)
        d = json.loads(r.stdout) if r.returncode == 0 else {}
        f.write(f"{t:.1f},{rss},{fds}," + ",".join(str(d.get(c, 0)) for c in cols) + "\n")
        f.flush()
        time.sleep(max(0.0, 1.0 - (time.time() - start - t)))
PY
alive=yes; kill -0 "$GWPID" 2>/dev/null || alive=no
wait "$PUBPID" 2>/dev/null; pub_rc=$?
sleep 6
final=$("$CALL" "127.0.0.1:$CTL" rtmpgate.v1.Control/GetStats 2>/dev/null || echo '{}')
final_rss=$(awk '/VmRSS/{print $2}' "/proc/$GWPID/status" 2>/dev/null || echo 0)
final_fds=$(ls "/proc/$GWPID/fd" 2>/dev/null | wc -l)

python3 - "$DIR" "$REPORT" "$DURATION" "$alive" "$pub_rc" "$final_rss" "$final_fds" "$final" <<'PY'
import csv, json, sys, statistics, datetime, platform, subprocess
d, report, duration, alive, pub_rc, final_rss, final_fds, final = sys.argv[1:9]
rows = list(csv.DictReader(open(f"{d}/samples.csv")))
rss = [int(r["rss_kib"]) for r in rows]; fds = [int(r["fds"]) for r in rows]
opn = [int(r["connections_open"]) for r in rows]
players = [l.split() for l in open(f"{d}/players.txt")] if __import__("os").path.exists(f"{d}/players.txt") else []
clients = open(f"{d}/clients.txt").read().strip()
stats = json.loads(final or "{}")
q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))] if xs else 0
warm = rss[len(rss)//10:] or rss
lines = [
 "# Soak report", "",
 f"Command: `tests/soak/soak.sh {duration}` — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, "
 f"{subprocess.run(['nproc'],capture_output=True,text=True).stdout.strip()} cores, {platform.platform()}", "",
 "Load: one ffmpeg publisher (320x240 x264 + AAC) for the whole run; an ffmpeg player every 20 s for 4 s;",
 "~40 raw connections/s mixing good handshakes, random garbage, bad C2 echoes, one-byte-every-200-ms",
 "trickles and idle half-open sockets (handshake timeout 3 s). Gateway: 2 workers, log level warn.", "",
 "| what | value |", "|---|---|",
 f"| gateway alive at the end | {alive} |",
 f"| publisher exit code | {pub_rc} |",
 f"| samples (1/s) | {len(rows)} |",
 f"| RSS KiB min / median / max / final | {min(rss)} / {statistics.median(rss):.0f} / {max(rss)} / {final_rss} |",
 f"| RSS KiB, first 10% excluded: min / max | {min(warm)} / {max(warm)} |",
 f"| open fds min / max / final | {min(fds)} / {max(fds)} / {final_fds} |",
 f"| connections open p50 / max | {q(opn,.5)} / {max(opn)} |",
 f"| player runs (video frames in 4 s each) | {len(players)} runs: {' '.join(p[1] for p in players)} |",
 f"| raw clients (python) | {clients} |",
]
for k in ["connections_accepted","handshakes_completed","handshakes_failed_bad_version","handshakes_failed_echo_mismatch",
          "handshakes_failed_timeout","handshakes_failed_client_closed","upstream_connect_failures","upstream_handshake_failures",
          "upstream_no_backend","sessions_forwarded","sessions_closed","bytes_client_to_backend","bytes_backend_to_client",
          "backpressure_pauses","connections_open","sessions_active","handshakes_in_progress","handshake_p50_us","handshake_p99_us"]:
    lines.append(f"| {k} | {stats.get(k, 0)} |")
lines += ["", "Samples: every second, columns as in samples.csv (first and last 5 rows):", "", "```"]
raw = open(f"{d}/samples.csv").read().splitlines()
lines += raw[:6] + ["..."] + raw[-5:] + ["```"]
open(report, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
ok = alive == "yes" and pub_rc == "0" and int(final_fds or 0) <= min(fds) + 20
sys.exit(0 if ok else 1)
PY
