#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for
# SECONDS, one after the other, one job each:
#   tests/fuzz/run.sh SECONDS [TARGET...]    (default: all three targets)
# Each run starts from the committed corpus (tests/fuzz/corpus/<target>/,
# read only) plus a fresh scratch corpus that receives what it finds
# (build-fuzz/fuzz-work/<target>/). A summary line per target is appended
# to tests/fuzz/RESULTS.md under a dated heading with this command. Crash,
# leak, timeout and OOM inputs are copied to tests/fuzz/crashes/<target>/
# (rename them after what broke: crashes/README.md); the exit status is 1
# when there was any.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (build jobs, 1),
# CXX (default clang++), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail

usage() {
  echo "usage: $0 SECONDS [fuzz_server_handshake|fuzz_client_handshake|fuzz_config ...]" >&2
  exit 2
}
[[ $# -ge 1 && "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]] || usage
command_line="tests/fuzz/run.sh $*"
seconds=$1
shift
all=(fuzz_server_handshake fuzz_client_handshake fuzz_config)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target: $t" >&2; usage; }
done

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${FUZZ_BUILD_DIR:-build-fuzz}
cxx=${CXX:-clang++}
[[ "$($cxx --version 2>/dev/null)" == *clang* ]] || { echo "$cxx is not clang" >&2; exit 2; }

cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DRTMPGATE_FUZZ=ON >/dev/null
cmake --build "$build" -j"${JOBS:-1}" --target "${targets[@]}"

results=tests/fuzz/RESULTS.md
{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
  echo
  dirty=$(git status --porcelain -- proxy control | wc -l)
  echo "Commit $(git rev-parse --short HEAD)$([[ $dirty -gt 0 ]] && echo " plus uncommitted changes to $dirty file(s) under proxy/ and control/"),"\
       "$($cxx --version | head -1), $(nproc) cores, load average at start$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')."
  echo "Each target: ${seconds}s, \`-jobs=1 -timeout=10\`, ASan + UBSan, committed corpus + empty scratch"\
       "corpus, \`tests/fuzz/<target>.dict\` where there is one (fuzz_config)${FUZZ_ARGS:+, extra flags \`$FUZZ_ARGS\`}."
  echo
  echo "| target | executions | exec/s | coverage (cov / ft) | corpus | new units | peak RSS | crashes |"
  echo "|---|---|---|---|---|---|---|---|"
} >>"$results"

status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  args=(-max_total_time="$seconds" -jobs=1 -print_final_stats=1 -timeout=10
        -artifact_prefix="$root/$work/artifacts/")
  [[ -f "tests/fuzz/$t.dict" ]] && args+=(-dict="$root/tests/fuzz/$t.dict")
  # shellcheck disable=SC2206
  args+=(${FUZZ_ARGS:-})
  echo "== $t: ${seconds}s"
  # With -jobs the fuzzing happens in a child that logs to fuzz-0.log in the
  # working directory. New inputs go to the first corpus directory only.
  (cd "$work" && "$root/$build/tests/fuzz/$t" "${args[@]}" corpus "$root/tests/fuzz/corpus/$t") \
    >"$work/driver.log" 2>&1 || true
  log="$work/fuzz-0.log"
  [[ -f "$log" ]] || log="$work/driver.log"
  tail -n 12 "$log"

  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  units=$(stat new_units_added)
  rss=$(stat peak_rss_mb)
  last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")

  crashes=0
  names=()
  for f in "$work"/artifacts/*; do
    [[ -f "$f" ]] || continue
    crashes=$((crashes + 1))
    mkdir -p "tests/fuzz/crashes/$t"
    cp "$f" "tests/fuzz/crashes/$t/"
    names+=("crashes/$t/$(basename "$f")")
  done
  if [[ -z "$execs" && $crashes -eq 0 ]]; then
    crashes="? (no final stats; see $log)"
    status=1
  fi
  [[ $crashes == 0 ]] || status=1
  echo "| $t | ${execs:-?} | ${rate:-?} | ${cov:-?} / ${ft:-?} | ${corp:-?} | ${units:-?} | ${rss:-?} MB | $crashes${names:+ (${names[*]})} |" \
    | tee -a "$results"
done
echo "Appended to $results"
exit $status
