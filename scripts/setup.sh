#!/usr/bin/env bash
# Idempotent set-up for `npm run demo` and `npm test`: npm packages, then the Debian
# packages looptool runs on. Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Debian packages. python3-torch is the CPU policy's torch (1.13); without
#    libopenblas0-pthread torch falls back to the reference BLAS and is 20-60x slower.
need=()
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
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
