#!/usr/bin/env bash
# Demo: an nginx-rtmp origin on 127.0.0.1:1936 with rtmpgate in front of it on
# 0.0.0.0:1935. Installs what is missing, builds rtmpgate, starts both, prints
# the commands to publish and play through the gateway, and stops both on
# Ctrl-C or exit.
#
# Environment:
#   DEMO_SMOKE=1        instead of waiting, publish 5 s through the gateway,
#                       play 2 s, print OK or FAIL and exit 0 or 1 (tests this
#                       script and the whole path)
#   DEMO_SKIP_BUILD=1   skip install-deps and the build; use RTMPGATE_BIN
#   RTMPGATE_BIN        gateway binary (default: build/rtmpgate)
#   DEMO_KEEP=1         keep the temp dir with logs and recordings
# shellcheck disable=SC2317  # cleanup and stop_pid run from traps
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

GATEWAY_PORT=1935   # deploy/rtmpgate.yaml
ORIGIN_PORT=1936    # deploy/nginx-origin.conf
RTMPGATE_BIN=${RTMPGATE_BIN:-$REPO/build/rtmpgate}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
STREAM=demo
URL="rtmp://127.0.0.1:$GATEWAY_PORT/live/$STREAM"

say() { printf 'demo: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

port_in_use() {
  if command -v ss >/dev/null; then
    [[ -n $(ss -Hltn "sport = :$1") ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Polls until 127.0.0.1:$1 accepts, while process $3 lives, for at most $2 s.
wait_for_port() {
  local port=$1 deadline=$((SECONDS + $2)) pid=$3
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Sends SIGTERM to $1, waits up to $2 s, then SIGKILL.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + $2))
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

busy=()
for port in "$GATEWAY_PORT" "$ORIGIN_PORT"; do
  port_in_use "$port" && busy+=("$port")
done
if ((${#busy[@]})); then
  say "port(s) ${busy[*]} already in use; the demo needs $GATEWAY_PORT (rtmpgate) and $ORIGIN_PORT (nginx origin) free."
  command -v ss >/dev/null && for port in "${busy[@]}"; do ss -Hltnp "sport = :$port" >&2 || true; done
  die "stop whatever listens there (an earlier demo, a system nginx) and try again."
fi

if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then
  "$REPO/deploy/install-deps.sh"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j2 --target rtmpgate
fi
[[ -x $RTMPGATE_BIN ]] || die "no gateway binary at $RTMPGATE_BIN"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtmpgate-demo-XXXXXX")
mkdir -p "$WORK/logs"
NGINX_PID=""
GATEWAY_PID=""
PUBLISHER_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $PUBLISHER_PID ]] && stop_pid "$PUBLISHER_PID" 3
  # Gateway first, so it drains toward a live origin rather than a dead one.
  [[ -n $GATEWAY_PID ]] && stop_pid "$GATEWAY_PID" 35
  [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID" 5
  if [[ ${DEMO_KEEP:-0} == 1 ]]; then
    say "logs kept in $WORK/logs"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NGINX_ARGS=(-p "$WORK/" -c "$REPO/deploy/nginx-origin.conf" -e logs/error.log)
"$NGINX" -t -q "${NGINX_ARGS[@]}" || die "nginx rejected deploy/nginx-origin.conf"
"$NGINX" "${NGINX_ARGS[@]}" >"$WORK/logs/nginx-console.log" 2>&1 &
NGINX_PID=$!
wait_for_port "$ORIGIN_PORT" 10 "$NGINX_PID" || {
  tail -n 20 "$WORK/logs/error.log" "$WORK/logs/nginx-console.log" >&2 || true
  die "nginx origin did not open port $ORIGIN_PORT"
}
say "nginx origin (pid $NGINX_PID) on 127.0.0.1:$ORIGIN_PORT, logs in $WORK/logs"

GATEWAY_LOG=$WORK/logs/rtmpgate.log
if [[ ${DEMO_SMOKE:-0} == 1 ]]; then
  "$RTMPGATE_BIN" --config "$REPO/deploy/rtmpgate.yaml" 2>"$GATEWAY_LOG" &
else
  # Interactive: show the gateway's log on the terminal too.
  "$RTMPGATE_BIN" --config "$REPO/deploy/rtmpgate.yaml" 2> >(tee "$GATEWAY_LOG" >&2) &
fi
GATEWAY_PID=$!
wait_for_port "$GATEWAY_PORT" 10 "$GATEWAY_PID" || {
  tail -n 30 "$GATEWAY_LOG" >&2 || true
  die "rtmpgate did not open port $GATEWAY_PORT"
}
say "rtmpgate (pid $GATEWAY_PID) on 0.0.0.0:$GATEWAY_PORT -> 127.0.0.1:$ORIGIN_PORT"

PUBLISH=(ffmpeg -nostdin -hide_banner -re -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -c:a aac -f flv)

if [[ ${DEMO_SMOKE:-0} == 1 ]]; then
  timeout 30 "${PUBLISH[@]}" -t 5 "$URL" >"$WORK/logs/publisher.log" 2>&1 &
  PUBLISHER_PID=$!
  # ffmpeg prints "Output #0" once the publish is under way; a player that
  # comes earlier finds no stream.
  for _ in $(seq 100); do
    grep -q 'Output #0' "$WORK/logs/publisher.log" 2>/dev/null && break
    kill -0 "$PUBLISHER_PID" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1
  player_rc=0
  timeout 20 ffmpeg -nostdin -hide_banner -analyzeduration 1000000 -i "$URL" -t 2 -f framemd5 -y "$WORK/play.framemd5" \
    >"$WORK/logs/player.log" 2>&1 || player_rc=$?
  publisher_rc=0
  wait "$PUBLISHER_PID" || publisher_rc=$?
  PUBLISHER_PID=""
  frames=$(grep -c '^0,' "$WORK/play.framemd5" 2>/dev/null || true)
  # nginx hands a new player the stream mid-GOP and ffmpeg decodes from the
  # next keyframe (up to 1 s away with -g 25), so 2 s of play can hold as few
  # as ~25 frames: 15 proves video flows without being flaky.
  if [[ $player_rc == 0 && $publisher_rc == 0 && ${frames:-0} -ge 15 ]]; then
    echo "OK: published 5 s and played ${frames} video frames through rtmpgate on $GATEWAY_PORT"
    exit 0
  fi
  echo "FAIL: player exit $player_rc, publisher exit $publisher_rc, ${frames:-0} video frames (want >= 15)"
  for f in publisher.log player.log rtmpgate.log error.log; do
    echo "----- $f"
    tail -n 15 "$WORK/logs/$f" 2>/dev/null | tr '\r' '\n' | tail -n 15 || true
  done
  exit 1
fi

cat <<EOF

rtmpgate is running. In another terminal:

  publish:  ${PUBLISH[*]} $URL
  play:     ffplay $URL
            ffmpeg -nostdin -i $URL -t 5 -f framemd5 -     (no display needed)
  record:   rtmpdump -r $URL -v -o $STREAM.flv
  stats:    grpcurl -plaintext 127.0.0.1:50051 rtmpgate.v1.Control/GetStats

Ctrl-C stops rtmpgate and nginx.
EOF

# Returns when either dies; the EXIT trap stops the other.
set +e
wait -n "$NGINX_PID" "$GATEWAY_PID"
rc=$?
set -e
kill -0 "$GATEWAY_PID" 2>/dev/null || say "rtmpgate exited (status $rc)"
kill -0 "$NGINX_PID" 2>/dev/null || say "nginx exited (status $rc); see $WORK/logs/error.log"
exit "$rc"
