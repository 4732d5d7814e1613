#!/usr/bin/env bash
# Replicas on PostgreSQL, measured in one run on this machine, demo knowledge, extractive mode,
# rate limits off (one client sends thousands of requests a second):
#  1. HTTP throughput, wrk as in bench-http.sh (2 threads, 32 connections, distinct questions):
#     one replica on SQLite, one on PostgreSQL, two on PostgreSQL (one wrk per replica with 16
#     connections each, as a load balancer would split them; requests/s summed; each of the two
#     with PAIR_SESSIONS embedding sessions, default half the cores), in turn, ROUNDS times;
#  2. a soak: SOAK seconds (default 600) on two replicas at 80% of their measured capacity, with
#     the open-loop generator of examples/load.rs (fixed rate, so a growing tail shows instead of
#     slowing the client down): shed (503) and other errors, p50/p99 per minute and each
#     replica's RSS after the first minute and at the end; and one replica at 80% of its own
#     capacity for 60 s, the p99 the soak's is compared with.
# Needs PostgreSQL (PGURL, default postgres://postgres@127.0.0.1:5432/test) with psql, and a
# release build (`make bench-replicas` does the build).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${ASKDESK_SHARED:-../shared}"
DURATION="${DURATION:-15s}"
SOAK="${SOAK:-600}"
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432/test}"
BIN="${CARGO_TARGET_DIR:-target}/release/askdesk"
LOAD="${CARGO_TARGET_DIR:-target}/release/examples/load"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
tmp="$(mktemp -d)"
schema="askdesk_bench_$$"
psql "$PGURL" -qc "CREATE SCHEMA $schema"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; psql "$PGURL" -qc "DROP SCHEMA $schema CASCADE" || true; rm -rf "$tmp"; }
trap cleanup EXIT
PG="$PGURL?options[search_path]=$schema"

wait_ready() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "port $1 never became ready" >&2; exit 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# serve PORT NAME [DATABASE_URL [EMBED_SESSIONS]]: starts a replica in the background; its pid
# is in $served. Replicas sharing one machine share its cores: each gets its share of embedding
# sessions (PAIR_SESSIONS, default half the cores), as the README tells operators to do.
serve() {
  mkdir -p "$tmp/$2"
  ASKDESK_EMBED_SESSIONS="${4:-}" ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE=0 ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE=0 ASKDESK_DATABASE_URL="${3:-}" \
    "$BIN" serve --knowledge knowledge --data "$tmp/$2" --bind "127.0.0.1:$1" >"$tmp/$2.log" 2>&1 &
  served=$!
  wait_ready "$1"
}
stop() { kill -INT "$@"; wait "$@" 2>/dev/null || true; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; } # WRK_OUTPUT
wrk_rps() { # PORT CONNECTIONS
  wrk -t1 -c"$2" -d"$DURATION" --latency -s "$SHARED/peer/chat.lua" "http://127.0.0.1:$1" >"$tmp/wrk.$1"
  rps "$tmp/wrk.$1"
}
wrk_row() { # NAME PORT
  wrk -t2 -c32 -d"$DURATION" --latency -s "$SHARED/peer/chat.lua" "http://127.0.0.1:$2" >"$tmp/wrk"
  echo "| $1 | $(rps "$tmp/wrk") | $(awk '$1=="50%" {print $2}' "$tmp/wrk") | $(awk '$1=="99%" {print $2}' "$tmp/wrk") | $(grep -c 'Non-2xx\|Socket errors' "$tmp/wrk" || true) |"
}

echo "## Throughput (wrk, $DURATION each)"
echo "| setup | requests/s | p50 | p99 | error lines |"
echo "|---|---|---|---|---|"
# One replica on SQLite, one and two on PostgreSQL, in turn, ROUNDS times (default 3): figures
# on a shared machine drift between minutes, so each setup is compared with the others measured
# next to it, and the medians are reported.
PAIR_SESSIONS="${PAIR_SESSIONS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}"
ROUNDS="${ROUNDS:-3}"
sqlites=(); singles=(); pairs=()
for round in $(seq 1 "$ROUNDS"); do
  serve 18201 sqlite; a=$served
  wrk_row "one replica, SQLite (round $round)" 18201
  sqlites+=("$(rps "$tmp/wrk")")
  stop $a
  serve 18202 pg-one "$PG"; a=$served
  wrk_row "one replica, PostgreSQL (round $round)" 18202
  singles+=("$(rps "$tmp/wrk")")
  stop $a
  serve 18203 pg-a "$PG" "$PAIR_SESSIONS"; a=$served
  serve 18204 pg-b "$PG" "$PAIR_SESSIONS"; b=$served
  wrk_rps 18203 16 >"$tmp/rps.a" & w1=$!
  wrk_rps 18204 16 >"$tmp/rps.b" & w2=$!
  wait $w1 $w2
  pairs+=("$(python3 -c "print(round($(cat "$tmp/rps.a") + $(cat "$tmp/rps.b"), 2))")")
  echo "| two replicas, PostgreSQL (round $round; 16 connections each, summed) | ${pairs[-1]} | | | |"
  [ "$round" = "$ROUNDS" ] || stop $a $b
done
python3 -c "
import statistics, sys
lite, one, two = (list(map(float, x.split())) for x in sys.argv[1:4])
m = statistics.median
def per_round(a, b): return ', '.join('%+.1f%%' % (100 * (y / x - 1)) for x, y in zip(a, b))
print()
print('Medians of %d rounds (requests/s): one replica on SQLite %.1f, on PostgreSQL %.1f, two on PostgreSQL %.1f' % (len(one), m(lite), m(one), m(two)))
print('PostgreSQL against SQLite, one replica: %+.1f%% (per round %s)' % (100 * (m(one) / m(lite) - 1), per_round(lite, one)))
print('Two replicas against one, PostgreSQL: %+.1f%% (per round %s)' % (100 * (m(two) / m(one) - 1), per_round(one, two)))
" "${sqlites[*]}" "${singles[*]}" "${pairs[*]}"

# The open-loop capacity: the highest rate (steps of 20%, 15 s each) answered with no error and
# a p99 under 250 ms, with the generator on the same cores as everything else.
capacity() { # URL...
  local rate=100 good=0 out
  while :; do
    out=$("$LOAD" --rate "$rate" --seconds 15 --interval 1000 "$@" | tail -1)
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d['errors']==0 and d['ok']==d['sent'] and d['p99_ms']<250 else 1)" "$out" || break
    good=$rate
    rate=$(python3 -c "print(int($rate * 1.2))")
  done
  echo "$good"
}
pair=$(capacity http://127.0.0.1:18203 http://127.0.0.1:18204)
pair_rate=$(python3 -c "print(round(0.8 * $pair))")
echo
echo "Open-loop capacity (no error, p99 < 250 ms): two replicas $pair requests/s"
echo
echo "## Soak: two replicas at $pair_rate requests/s (80%) for $SOAK s"
"$LOAD" --rate "$pair_rate" --seconds 60 --interval 60 http://127.0.0.1:18203 http://127.0.0.1:18204 >/dev/null
rss_a0=$(rss_kb $a); rss_b0=$(rss_kb $b)
"$LOAD" --rate "$pair_rate" --seconds "$SOAK" --interval 60 http://127.0.0.1:18203 http://127.0.0.1:18204 | tee "$tmp/soak.json"
rss_a1=$(rss_kb $a); rss_b1=$(rss_kb $b)
echo "RSS after a minute's warm-up and at the end: replica A $rss_a0 -> $rss_a1 kB, replica B $rss_b0 -> $rss_b1 kB"
python3 -c "print('RSS growth: A %.1f%%, B %.1f%%' % (100*($rss_a1/$rss_a0-1), 100*($rss_b1/$rss_b0-1)))"
stop $a $b

serve 18205 pg-single "$PG"; a=$served
single=$(capacity http://127.0.0.1:18205)
single_rate=$(python3 -c "print(round(0.8 * $single))")
echo
echo "Open-loop capacity (no error, p99 < 250 ms): one replica $single requests/s"
echo "## One replica at $single_rate requests/s (80%), 60 s"
"$LOAD" --rate "$single_rate" --seconds 60 --interval 60 http://127.0.0.1:18205 | tail -1
stop $a
