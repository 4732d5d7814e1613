#!/usr/bin/env bash
# askdesk and the lean Python peer (../shared/peer) side by side, in one run, on the same machine:
# retrieval quality on the StackFAQ sets and per-query latency on the generated 10,000-passage
# corpus. The peer runs the packaged model as it ships (.cache/models/minilm); askdesk runs its
# default int8 derivation of the same weights, and once more with the packaged model. Needs `scripts/setup.sh models peer` and a release build (`make bench-peer` does both).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${ASKDESK_SHARED:-../shared}"
PEER="$PWD/.cache/peer-venv/bin/python"
export MODEL_DIR="$PWD/.cache/models/minilm"
BIN="${CARGO_TARGET_DIR:-target}/release/askdesk"
[ -d .cache/bench/beir ] || python3 scripts/gen_kb.py .cache/bench

row() { # name json
  python3 -c 'import json,sys; d=json.loads(sys.argv[2]); print("| %s | %.4f | %.4f | %.4f | %.2f | %.2f |" % (sys.argv[1], d["ndcg_at_10"], d["recall_at_10"], d["mrr_at_10"], d["p50_ms"], d["p99_ms"]))' "$1" "$2"
}

echo "| run | nDCG@10 | Recall@10 | MRR@10 | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
for set in stackfaq-threads stackfaq-pairs; do
  for mode in bm25 dense hybrid; do
    row "askdesk $mode, $set" "$($BIN beir "$SHARED/data/$set" --mode $mode --json)"
  done
  row "askdesk hybrid, original fp32-dequantized model, $set" "$(ASKDESK_MODEL_DIR=.cache/models/minilm $BIN beir "$SHARED/data/$set" --json)"
  row "peer dense, $set" "$(DENSE_ONLY=1 "$PEER" "$SHARED/peer/ref_bot.py" beir "$SHARED/data/$set")"
  row "peer rrf, $set" "$("$PEER" "$SHARED/peer/ref_bot.py" beir "$SHARED/data/$set")"
done
row "askdesk hybrid, generated 10k" "$($BIN beir .cache/bench/beir --data .cache/bench/data --json)"
row "peer rrf, generated 10k" "$("$PEER" "$SHARED/peer/ref_bot.py" beir .cache/bench/beir)"
