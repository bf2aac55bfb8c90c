#!/usr/bin/env bash
# A bounded load test of `hcmsn serve` on loopback with wrk: POST /api/search with a JSON drawing,
# then GET /api/health, reporting requests/s, latency percentiles, errors and the server's resident
# memory (VmRSS) before, after a warm-up and after each round.
#
# Fails (exit 1) on any non-2xx answer or socket error, or when VmRSS grows by more than
# --max-rss-growth-mib between the end of the warm-up and the end of the last round.
#
#   scripts/load_test.sh [--cli build/hcmsn] [--gallery FILE] [--duration 20] [--connections 4]
#                        [--threads 2] [--rounds 2] [--max-rss-growth-mib 16] [--out REPORT]
#
# Without --gallery, a small one is built with the CLI (synth-images, train, index) in a
# temporary folder.
set -euo pipefail

cli=build/hcmsn
gallery=
duration=20
connections=4
threads=2
rounds=2
max_growth_mib=16
out=

while [[ $# -gt 0 ]]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --gallery) gallery=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --max-rss-growth-mib) max_growth_mib=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x $cli ]] || { echo "no hcmsn binary at $cli; build first or pass --cli" >&2; exit 2; }

work=$(mktemp -d -t hcmsn_load_XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z $gallery ]]; then
  echo "building a gallery in $work ..."
  "$cli" --log-level warn synth-images --quiet --image-size 32 --photos-per-class 10 \
    --sketches-per-class 4 --out "$work/data"
  "$cli" --threads 2 --log-level warn train --quiet --images "$work/data" \
    --semantics "$work/data/semantics.npy" --semantics-classes "$work/data/classes.txt" \
    --unseen "$work/data/unseen.txt" --out "$work/run" --image-size 16 --cnn-channels 4,8 \
    --cnn-out-dim 16 --dim 16 --hidden 32 --classes-per-batch 6 --per-class 2 --epochs 2
  "$cli" --log-level warn index --run "$work/run" --photos "$work/data/photo" \
    --out "$work/gallery.hgi" --quiet
  gallery=$work/gallery.hgi
fi

"$cli" serve --index "$gallery" --port 0 --max-searches "$connections" >"$work/serve.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 600); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/serve.log" | head -1 || true)
  [[ -n $url ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $url ]] || { echo "hcmsn serve did not start:"; cat "$work/serve.log"; exit 1; } >&2
for _ in $(seq 1200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${url}api/health" || true)
  [[ $code == 200 ]] && break
  sleep 0.1
done
[[ $code == 200 ]] || { echo "the index did not load:"; cat "$work/serve.log"; exit 1; } >&2

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }

cat >"$work/search.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/api/search?k=10"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"strokes": [[[10, 60, 110, 60, 10], [10, 0, 10, 60, 10]], [[30, 90], [40, 40]]]}'
LUA

report=$work/report.txt
failed=0
photos=$(curl -s "${url}api/health" | sed -n 's/.*"photos":\([0-9]*\).*/\1/p')
{
  echo "hcmsn serve load test: $(date -u '+%Y-%m-%d %H:%M:%S') UTC, $(nproc) cores"
  echo "gallery: $photos photos; wrk: $threads threads, $connections connections"
  echo "VmRSS after loading: $(rss_kib) KiB"
} | tee "$report"

# One wrk run: prints the summary, fails the test on any error.
round() {
  local name=$1 seconds=$2 path=$3 script=${4:-}
  local args=(-t "$threads" -c "$connections" -d "${seconds}s" --latency --timeout 10s)
  [[ -n $script ]] && args+=(-s "$script")
  local result
  result=$(wrk "${args[@]}" "${url%/}$path")
  local rps p50 p90 p99 non2xx socket
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$result")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$result")
  p90=$(awk '$1 == "90%" {print $2}' <<<"$result")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$result")
  socket=$(grep -o 'Socket errors:.*' <<<"$result" || true)
  local requests
  requests=$(awk '/requests in/ {print $1}' <<<"$result")
  echo "$name: ${seconds}s, $requests requests, $rps req/s, latency p50 $p50 p90 $p90 p99 $p99," \
    "non-2xx ${non2xx:-0}, ${socket:-socket errors 0}, VmRSS $(rss_kib) KiB" | tee -a "$report"
  if [[ -n $non2xx || -n $socket ]]; then
    echo "FAIL: errors in $name" | tee -a "$report"
    echo "$result"
    failed=1
  fi
}

round "warm-up search" 5 /api/search "$work/search.lua"
rss_warm=$(rss_kib)
for i in $(seq "$rounds"); do
  round "search round $i" "$duration" /api/search "$work/search.lua"
done
round "health" 10 /api/health
rss_end=$(rss_kib)

growth_kib=$((rss_end - rss_warm))
echo "VmRSS growth after the warm-up: $growth_kib KiB (bound $((max_growth_mib * 1024)) KiB)" |
  tee -a "$report"
if ((growth_kib > max_growth_mib * 1024)); then
  echo "FAIL: resident memory grew by more than $max_growth_mib MiB" | tee -a "$report"
  failed=1
fi
kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: the server died" | tee -a "$report"; failed=1; }
[[ -n $out ]] && cp "$report" "$out"
((failed == 0)) && echo "PASS" || echo "FAILED"
exit "$failed"
