#!/usr/bin/env bash
# Installs Chromium from Debian's packages, for the test that opens kiln's
# HTML report in a headless browser (test/report-browser.test.ts, driven by
# playwright-core; Playwright's own browser downloads are not used).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-chromium: no apt-get; install Chromium yourself and set KILN_CHROMIUM to its path." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update once if the first try fails.
$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
echo "setup-chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
