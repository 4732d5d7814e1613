#!/usr/bin/env bash
# The browser tests (tests/e2e, `node --test` driving Debian's chromium through playwright-core)
# against the real service: the release binary indexes the demo knowledge into a temp data
# folder and serves it with web/, handoff emails go to a real SMTP server (aiosmtpd) on loopback
# that stores them in a maildir the tests read. Both servers are always stopped on exit.
# Needs: a release build, `scripts/setup.sh test e2e`. Usage: scripts/e2e.sh [test file...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${ASKDESK_BIN:-${CARGO_TARGET_DIR:-target}/release/askdesk}"
PYTHON=.cache/test-venv/bin/python
[ -x "$BIN" ] || { echo "e2e: $BIN not found: run cargo build --release first" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "e2e: $PYTHON not found: run scripts/setup.sh test" >&2; exit 1; }
[ -d tests/e2e/node_modules ] || { echo "e2e: run scripts/setup.sh e2e first" >&2; exit 1; }

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

"$BIN" index --data "$TMP/data" >"$TMP/index.log" 2>&1 || { cat "$TMP/index.log" >&2; exit 1; }

SMTP_PORT="$(free_port)"
"$PYTHON" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$TMP/maildir" \
  >"$TMP/smtp.log" 2>&1 &
PIDS+=($!)

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
ADMIN_KEY="e2e-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# The whole suite is one client on 127.0.0.1 sending more than a customer would in a minute: the
# per-IP limit is off here (429 handling is tested with scripted responses; the limits
# themselves in tests/integration/limits.rs).
ASKDESK_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" ASKDESK_ADMIN_KEY="$ADMIN_KEY" \
ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE=0 \
  "$BIN" serve --data "$TMP/data" --bind "127.0.0.1:$PORT" >"$TMP/serve.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 600); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "${PIDS[1]}" 2>/dev/null || { echo "e2e: askdesk serve exited:" >&2; cat "$TMP/serve.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "e2e: askdesk serve not ready in 60 s" >&2; cat "$TMP/serve.log" >&2; exit 1; }

mkdir -p tests/e2e/screenshots
status=0
(
  cd tests/e2e
  if [ "$#" -gt 0 ]; then set -- "${@#tests/e2e/}"; else set -- *.test.mjs; fi
  ASKDESK_E2E_BASE="$BASE" ASKDESK_E2E_ADMIN_KEY="$ADMIN_KEY" ASKDESK_E2E_MAILDIR="$TMP/maildir" \
    node --test --test-concurrency=1 "$@"
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "e2e: failed; the server's log:" >&2
  tail -n 50 "$TMP/serve.log" >&2
fi
exit "$status"
