#!/usr/bin/env bash
# Memory of one replica per 1,000 passages: generated FAQ knowledge bases (scripts/gen_kb.py) of
# SIZES passages (default "1000 10000 30000") are indexed, then served; after 5 s of distinct
# questions (wrk, so the search index's pages have been read) the replica's resident memory
# (VmRSS) is read. The per-1,000 figure is the slope between the smallest and the largest size;
# what is left at zero passages is the model and the runtime.
# Needs a release build and `scripts/setup.sh models`.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="${SIZES:-1000 10000 30000}"
BIN="${CARGO_TARGET_DIR:-target}/release/askdesk"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
tmp="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat >"$tmp/bench.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/api/v1/chat", nil, '{"tenant":"bench","message":"how do I export a report from the web dashboard ' .. i .. '"}')
end
LUA
echo "| passages | index time | RSS serving |"
echo "|---|---|---|"
declare -A rss
for n in $SIZES; do
  python3 scripts/gen_kb.py "$tmp/kb$n" --passages "$n" --queries 10 >/dev/null
  start=$(date +%s.%N)
  "$BIN" index --knowledge "$tmp/kb$n/knowledge" --data "$tmp/data$n" >/dev/null 2>&1
  took=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE=0 ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE=0 \
    "$BIN" serve --knowledge "$tmp/kb$n/knowledge" --data "$tmp/data$n" --bind 127.0.0.1:18301 >"$tmp/serve$n.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18301/readyz >/dev/null && break; sleep 0.1; done
  wrk -t1 -c4 -d5s -s "$tmp/bench.lua" http://127.0.0.1:18301 >/dev/null
  rss[$n]=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -INT $pid; wait $pid 2>/dev/null || true
  echo "| $n | $took s | $((rss[$n] / 1024)) MB |"
done
sizes=($SIZES); lo=${sizes[0]}; hi=${sizes[-1]}
python3 -c "
per = ($((rss[$hi])) - $((rss[$lo]))) / ($hi - $lo) * 1000 / 1024
base = $((rss[$lo])) / 1024 - per * $lo / 1000
print('per 1,000 passages: %.1f MB; at zero passages: %.0f MB' % (per, base))"
