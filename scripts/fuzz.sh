#!/usr/bin/env bash
# The parsers under cargo fuzz (libFuzzer, AddressSanitizer), each target for FUZZ_SECONDS
# (default 120), seeded with real documents: the demo brands' pages, the dev help center in
# ../shared/data/devdesk, the demo HTML pages and the eval suites. A crash leaves its input in
# fuzz/artifacts/<target>/; turn each into a regression test. Prints one line per target.
# Needs `scripts/setup.sh fuzz` (make fuzz does it).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${ASKDESK_SHARED:-../shared}"
SECONDS_EACH="${FUZZ_SECONDS:-120}"
TARGETS="${FUZZ_TARGETS:-markdown front_matter html suite}"
corpus="$PWD/.cache/fuzz-corpus"
seed() { # TARGET FILE...
  mkdir -p "$corpus/$1"
  local target="$1"; shift
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$corpus/$target/$(sha256sum "$f" | cut -c1-16)"; done
  return 0
}
shopt -s globstar nullglob
seed markdown knowledge/**/*.md "$SHARED"/data/devdesk/knowledge/**/*.md
seed front_matter knowledge/**/*.md
seed html web/**/*.html
seed suite evals/**/*.yaml
echo "| target | seconds | runs | crashes |"
echo "|---|---|---|---|"
for target in $TARGETS; do
  log="$(mktemp)"
  status=0
  (cd fuzz && cargo +nightly fuzz run "$target" "$corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1 || status=$?
  runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
  crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
  echo "| $target | $SECONDS_EACH | ${runs:-?} | $crashes |"
  if [ "$status" -ne 0 ]; then tail -40 "$log" >&2; fi
  rm -f "$log"
done
