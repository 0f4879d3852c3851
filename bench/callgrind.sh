#!/usr/bin/env bash
# bench/callgrind.sh: machine-noise-free cost figures for rtmpgate (1 worker),
# from instruction counts under valgrind --tool=callgrind (these VMs have no
# hardware performance counters).
#
#   bench/callgrind.sh
#
# Phase 1: HANDSHAKES [2000] complete sessions (client handshake, backend
# connect + handshake, the ~200-byte connect forwarded, close), HS_CONNS [8]
# at a time, each one checked at the origin sink. Phase 2: one session that
# forwards FORWARD_MIB [64] MiB client -> backend in WRITE_SIZE [16384]-byte
# writes. Counters are zeroed once rtmpgate listens and dumped after each
# phase (callgrind_control, addressed by PID and by a private vgdb prefix), so
# start-up and shutdown are not counted. Prints instructions (Ir, user space
# only: the kernel's share of each syscall is not counted) per completed
# client+backend handshake and per forwarded MiB (the one session's own setup
# subtracted), and the top 10 functions of each phase by self cost.
#
# ACCESS_LOG=default keeps the build's default access log (stderr, where the
# build has one) instead of turning it off.
# Binaries: RTMPGATE_BIN, LOADGEN_BIN [in BUILD_DIR, default <repo>/build-bench;
# built there with -j${JOBS:-1} if missing]. Output files: OUT_DIR [a new
# /tmp/rtmpgate-callgrind.*], kept for callgrind_annotate / kcachegrind.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HANDSHAKES=${HANDSHAKES:-2000}
HS_CONNS=${HS_CONNS:-8}
FORWARD_MIB=${FORWARD_MIB:-64}
WRITE_SIZE=${WRITE_SIZE:-16384}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
RTMPGATE_BIN=${RTMPGATE_BIN:-$BUILD_DIR/rtmpgate}
LOADGEN_BIN=${LOADGEN_BIN:-$BUILD_DIR/bench/loadgen}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/rtmpgate-callgrind.XXXXXX)}
mkdir -p "$OUT_DIR"

log() { echo "callgrind: $*" >&2; }
command -v valgrind >/dev/null || { log "valgrind is not installed (apt-get install valgrind)"; exit 2; }
# Always (re)build: an up-to-date build costs a second, a stale binary a wrong table.
if [[ -z ${SKIP_BUILD:-} ]]; then
  log "building rtmpgate and loadgen in $BUILD_DIR (-j${JOBS:-1})"
  cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"${JOBS:-1}" --target rtmpgate loadgen >/dev/null
fi

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_listen() {
  for _ in $(seq 600); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  log "nothing listens on port $1"; return 1
}
stat_of() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$OUT_DIR/sink.stats" 2>/dev/null || true; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p;T;q" "$2" 2>/dev/null || true; }
wait_sink() {  # KEY MIN: until the sink's KEY >= MIN (and nothing is open), 60 s at most
  for _ in $(seq 1200); do
    local v o
    kill -0 "$GW" 2>/dev/null || { log "rtmpgate exited early (see $OUT_DIR/rtmpgate.log)"; return 1; }
    v=$(stat_of "$1") o=$(stat_of open)
    [[ -n $v ]] && (( v >= $2 )) && [[ $o == 0 ]] && return 0
    sleep 0.05
  done
  log "sink: $1=$(stat_of "$1"), wanted $2"; return 1
}

SINK_PORT=$("$LOADGEN_BIN" freeport)
"$LOADGEN_BIN" sink --listen "127.0.0.1:$SINK_PORT" --stats-file "$OUT_DIR/sink.stats" \
  --max-seconds 1800 >"$OUT_DIR/sink.out" 2>&1 &
PIDS+=($!)
wait_listen "$SINK_PORT"

# Warnings only and, where this build has the key, no per-session access log.
printf '%s\n' 'listen: [{address: "127.0.0.1:1"}]' 'upstream: {backends: [{address: "127.0.0.1:2"}]}' \
  'control: {listen: ""}' 'log: {level: warn, access_log: off}' >"$OUT_DIR/probe.yaml"
GW_LOG='log: {level: warn}'
if [[ ${ACCESS_LOG:-off} == off ]] && "$RTMPGATE_BIN" --config "$OUT_DIR/probe.yaml" --check >/dev/null 2>&1; then
  GW_LOG='log: {level: warn, access_log: off}'
fi

PORT=$("$LOADGEN_BIN" freeport)
cat >"$OUT_DIR/rtmpgate.yaml" <<EOF
workers: 1
listen:
  - address: 127.0.0.1:$PORT
handshake: {timeout: 60s}
limits: {max_connections: 1000, max_connections_per_ip: 0}
upstream:
  connect_timeout: 30s
  max_tries: 1
  backends:
    - address: 127.0.0.1:$SINK_PORT
control: {listen: ""}
shutdown_timeout: 1s
$GW_LOG
EOF
VGDB=$OUT_DIR/vgdb
valgrind --tool=callgrind --vgdb=yes --vgdb-prefix="$VGDB" \
  --callgrind-out-file="$OUT_DIR/callgrind.out" \
  "$RTMPGATE_BIN" --config "$OUT_DIR/rtmpgate.yaml" >"$OUT_DIR/rtmpgate.log" 2>&1 &
GW=$!
PIDS+=("$GW")
wait_listen "$PORT"
ctl() { callgrind_control --vgdb-prefix="$VGDB" "$@" "$GW" >>"$OUT_DIR/control.log" 2>&1; }
ctl --zero

log "phase 1: $HANDSHAKES handshakes through rtmpgate under callgrind"
"$LOADGEN_BIN" handshake --target "127.0.0.1:$PORT" --conns "$HS_CONNS" --max-loops "$HANDSHAKES" \
  --duration 600 --loop-timeout 60 >"$OUT_DIR/handshake.txt" 2>"$OUT_DIR/handshake.err"
wait_sink reached "$HANDSHAKES"
ctl --dump=handshakes
HS_DONE=$(field completed "$OUT_DIR/handshake.txt")
HS_ERR=$(field errors "$OUT_DIR/handshake.txt")
REACHED=$(stat_of reached)

log "phase 2: $FORWARD_MIB MiB forwarded by one session"
BYTES=$((FORWARD_MIB * 1024 * 1024))
BYTES_BEFORE=$(stat_of bytes_in)
"$LOADGEN_BIN" throughput --target "127.0.0.1:$PORT" --conns 1 --bytes "$BYTES" --warmup 0 \
  --duration 1200 --loop-timeout 60 --write-size "$WRITE_SIZE" \
  --sink-stats "$OUT_DIR/sink.stats" >"$OUT_DIR/forward.txt" 2>"$OUT_DIR/forward.err"
wait_sink bytes_in $((BYTES_BEFORE + BYTES))
ctl --dump=forward
FW_ERR=$(field errors "$OUT_DIR/forward.txt")

# Dumps are numbered in order: .1 handshakes, .2 forward.
HS_FILE=$(ls "$OUT_DIR"/callgrind.out.*1 2>/dev/null | head -1 || true)
FW_FILE=$(ls "$OUT_DIR"/callgrind.out.*2 2>/dev/null | head -1 || true)
[[ -f $HS_FILE && -f $FW_FILE ]] || { log "callgrind dumps missing (see $OUT_DIR/control.log)"; exit 1; }
total_ir() { sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$1" | head -1; }
HS_IR=$(total_ir "$HS_FILE")
FW_IR=$(total_ir "$FW_FILE")

# Calls to libc's syscall wrappers, from the call counts in a dump: the
# kernel's work is invisible to callgrind, so count what enters it. (libuv
# closes fds through syscall(2).)
syscalls() {  # FILE DIVISOR -> "total_per_unit (name per_unit, ...)"
  awk -v div="$2" '
    /^c?fn=\(/ {
      match($0, /\([0-9]+\)/); id = substr($0, RSTART + 1, RLENGTH - 2)
      rest = substr($0, RSTART + RLENGTH); sub(/^ /, "", rest)
      if (rest != "") name[id] = rest
      if ($0 ~ /^cfn=/) cur = id
      next
    }
    /^calls=/ { split(substr($0, 7), a, " "); calls[name[cur]] += a[1] }
    END {
      n = split("epoll_ctl read write writev readv recv recvmsg send sendmsg accept4 connect " \
                "shutdown syscall socket setsockopt getsockopt getpeername getsockname " \
                "epoll_wait epoll_pwait ioctl fcntl", L, " ")
      for (i = 1; i <= n; i++) {
        c = calls[L[i]] / div
        if (c >= 0.01) { total += c; detail = detail sprintf("%s%s %.2f", detail == "" ? "" : ", ", L[i] == "syscall" ? "close" : L[i], c) }
      }
      printf "%.1f (%s)", total, detail
    }' "$1"
}
HS_SYS=$(syscalls "$HS_FILE" "$HS_DONE")
FW_SYS=$(syscalls "$FW_FILE" "$FORWARD_MIB")

ok=1
[[ $HS_DONE == "$HANDSHAKES" && $HS_ERR == 0 && $REACHED -ge $HANDSHAKES ]] || ok=0
[[ $FW_ERR == 0 ]] || ok=0
awk -v date="$(date -u +%Y-%m-%d)" -v hs="$HS_IR" -v n="$HS_DONE" -v fw="$FW_IR" -v mib="$FORWARD_MIB" -v ws="$WRITE_SIZE" \
    -v sess="$HANDSHAKES" -v reached="$REACHED" 'BEGIN {
  per_hs = hs / n
  printf "\n## rtmpgate under callgrind (1 worker, %s)\n\n", date
  printf "| figure | instructions (Ir) |\n|---|---|\n"
  printf "| per completed client+backend handshake (%d sessions, all %d reached the sink) | %.0f |\n", n, reached, per_hs
  printf "| per forwarded MiB (%d MiB in %d-byte writes, one session, its setup subtracted) | %.0f |\n", mib, ws, (fw - per_hs) / mib
  printf "| phase totals: handshakes / forward | %.0f / %.0f |\n", hs, fw
}'
echo
echo "Syscalls per handshake: $HS_SYS."
echo "Syscalls per forwarded MiB (setup included): $FW_SYS."
for phase in handshakes forward; do
  f=$HS_FILE; [[ $phase == forward ]] && f=$FW_FILE
  echo
  echo "Top 10 functions by self cost, phase \"$phase\" (callgrind_annotate $f):"
  echo
  echo '```'
  # Frames still on the stack at dump time (thread start, Worker::run, the
  # event loop) show their inclusive cost there (~100%): skip them.
  callgrind_annotate --threshold=100 "$f" 2>/dev/null |
    awk '/^-+$/ {sep++; next}
         sep >= 3 && /^ *[0-9]/ && n < 10 {
           if (match($0, /\(([0-9.]+)%\)/)) { pct = substr($0, RSTART + 1, RLENGTH - 3) + 0; if (pct >= 99) next }
           if (match($0, / \[[^]]*\]$/)) {  # keep the object file name, not its path
             obj = substr($0, RSTART + 2, RLENGTH - 3); sub(/.*\//, "", obj)
             $0 = substr($0, 1, RSTART - 1) " [" obj "]"
           }
           print; n++
         }'
  echo '```'
done
echo
echo "Raw files: $OUT_DIR"
if [[ $ok != 1 ]]; then
  log "FAILED: handshakes completed=$HS_DONE errors=$HS_ERR reached=$REACHED; forward errors=$FW_ERR"
  exit 1
fi
