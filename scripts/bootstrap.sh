#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine with Node 20 for kiln: the WebGPU driver
# (lavapipe, so WebGPU works without a GPU), Chromium (for the headless test
# of the HTML report), pnpm 12.4.2, and the workspace's dependencies.
# Idempotent; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-webgpu.sh || echo "bootstrap: no WebGPU driver installed; kiln will run on device 'cpu' only" >&2
bash scripts/setup-chromium.sh || echo "bootstrap: Chromium not installed; the headless report test is skipped (and fails under CI=true)" >&2

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  if [ "$(id -u)" -eq 0 ]; then npm install -g --silent "pnpm@$want"; else sudo npm install -g --silent "pnpm@$want"; fi
fi

if [ "${CI:-}" = "true" ]; then pnpm install --frozen-lockfile; else pnpm install; fi
