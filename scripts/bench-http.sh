#!/usr/bin/env bash
# askdesk serve vs the Python peer's FastAPI server, one after the other in one run, same machine,
# same knowledge, same load: wrk, 2 threads, 32 connections, distinct questions (the peer's own
# chat.lua appends a counter, so no answer comes from a cache), rate limits off. Installs wrk from
# Debian if needed.
# Needs `scripts/setup.sh models peer` and a release build (`make bench-http` does both).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${ASKDESK_SHARED:-../shared}"
DURATION="${DURATION:-15s}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
tmp="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# One IP sends thousands of requests a second here: the rate limits (sized for people) are off.
ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE=0 ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE=0 \
  "${CARGO_TARGET_DIR:-target}/release/askdesk" serve --knowledge knowledge --data "$tmp/data" --bind 127.0.0.1:18091 >"$tmp/askdesk.log" 2>&1 &
askdesk_pid=$!
wait_port 18091
echo "== askdesk (extractive) =="
wrk -t2 -c32 -d"$DURATION" --latency -s "$SHARED/peer/chat.lua" http://127.0.0.1:18091 | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
echo "askdesk peak RSS: $(rss_kb $askdesk_pid) kB"
kill -INT $askdesk_pid; wait $askdesk_pid 2>/dev/null || true

MODEL_DIR="$PWD/.cache/models/minilm" .cache/peer-venv/bin/python "$SHARED/peer/ref_bot.py" serve knowledge --port 18090 >"$tmp/peer.log" 2>&1 &
peer_pid=$!
wait_port 18090
echo "== peer (FastAPI) =="
wrk -t2 -c32 -d"$DURATION" --latency -s "$SHARED/peer/chat.lua" http://127.0.0.1:18090 | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
kill $peer_pid
