#!/usr/bin/env bash
# Installs every Debian package rtmpgate needs to build, test and run its demo.
# Idempotent: does nothing when everything is present. Waits for the apt lock.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config libgrpc++-dev protobuf-compiler-grpc
  libprotobuf-dev protobuf-compiler libuv1-dev libyaml-cpp-dev libssl-dev grpc-proto
  libgtest-dev libgmock-dev libsystemd-dev ccache)
PEER_PKGS=(ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream rtmpdump)

want=("${BUILD_PKGS[@]}")
[[ "${1:-}" == "--build-only" ]] || want+=("${PEER_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
