#!/usr/bin/env bash
# Control-plane cost under load (issue 4's benchmark): GetStats and
# ListSessions latency while ~10,000 sessions are open on one worker, and
# forwarding throughput with and without a WatchStats subscriber at 10 Hz.
#   bench/control_bench.sh        prints a markdown table
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
CONNS=${CONNS:-9950}
cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target rtmpgate loadgen grpc-call >/dev/null
GW=$BUILD_DIR/rtmpgate LG=$BUILD_DIR/bench/loadgen CALL=$BUILD_DIR/tests/support/grpc/grpc-call
DIR=$(mktemp -d /tmp/rtmpgate-ctlbench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
SINK=$("$LG" freeport); PORT=$("$LG" freeport); CTL=$("$LG" freeport)
"$LG" sink --listen "127.0.0.1:$SINK" --stats-file "$DIR/sink.stats" --max-seconds 600 >"$DIR/sink.out" 2>&1 & pids+=($!)
cat >"$DIR/gw.yaml" <<YAML
workers: 1
listen: [{address: 127.0.0.1:$PORT}]
limits: {max_connections: 20000, max_connections_per_ip: 0}
upstream: {backends: [{address: 127.0.0.1:$SINK}]}
control: {listen: 127.0.0.1:$CTL}
log: {level: warn, access_log: off}
YAML
"$GW" --config "$DIR/gw.yaml" 2>"$DIR/gw.log" & GWPID=$!; pids+=($GWPID)
for _ in $(seq 50); do "$CALL" "127.0.0.1:$CTL" list >/dev/null 2>&1 && break; sleep 0.1; done

row() { printf '| %s | %s |\n' "$1" "$2"; }
echo "| measurement | result |"
echo "|---|---|"
row "GetStats, idle gateway" "$("$CALL" --repeat 200 "127.0.0.1:$CTL" rtmpgate.v1.Control/GetStats)"
row "ListSessions, idle gateway" "$("$CALL" --repeat 50 "127.0.0.1:$CTL" rtmpgate.v1.Control/ListSessions)"
"$LG" idle --target "$PORT" --conns "$CONNS" --hold 40 --target-pids "$GWPID" >"$DIR/idle.out" 2>&1 & IDLE=$!; pids+=($IDLE)
for _ in $(seq 200); do
  open=$("$CALL" "127.0.0.1:$CTL" rtmpgate.v1.Control/GetStats | python3 -c 'import json,sys;print(json.load(sys.stdin).get("sessions_active",0))')
  [[ $open -ge $CONNS ]] && break; sleep 0.2
done
row "sessions open during the next two rows" "$open"
row "GetStats, $open sessions open" "$("$CALL" --repeat 200 "127.0.0.1:$CTL" rtmpgate.v1.Control/GetStats)"
row "ListSessions (all), $open sessions open" "$("$CALL" --repeat 20 "127.0.0.1:$CTL" rtmpgate.v1.Control/ListSessions)"
row "ListSessions limit 100, $open sessions open" "$("$CALL" --repeat 50 "127.0.0.1:$CTL" rtmpgate.v1.Control/ListSessions '{"limit":100}')"
kill "$IDLE" 2>/dev/null || true; wait "$IDLE" 2>/dev/null || true
sleep 2
tp() { "$LG" throughput --target "$PORT" --conns 8 --duration 10 --write-size 16384 --sink-stats "$DIR/sink.stats" 2>/dev/null | sed -n 's/.* sink_mbps=\([0-9.]*\) .*/\1/p'; }
row "throughput MB/s (8 sessions, 10 s), no subscriber" "$(tp)"
"$CALL" --watch 14 "127.0.0.1:$CTL" rtmpgate.v1.Control/WatchStats '{"interval_ms":100}' >"$DIR/watch.out" 2>&1 & W=$!; pids+=($W)
sleep 1
row "throughput MB/s, one WatchStats subscriber at 10 Hz" "$(tp)"
wait "$W" || true
row "WatchStats messages received by the subscriber" "$(cat "$DIR/watch.out")"
