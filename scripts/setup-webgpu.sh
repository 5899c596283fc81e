#!/usr/bin/env bash
# Installs what Dawn (the `webgpu` npm package) needs to find a WebGPU adapter
# on a machine without a GPU: Mesa's lavapipe Vulkan driver. Debian 12's own
# Mesa is too old for Dawn; bookworm-backports ships a recent enough one.
# Idempotent; needs root (or sudo). Safe to run on machines that have a GPU.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

if ! grep -qs '^ID=debian' /etc/os-release || ! grep -qs 'bookworm' /etc/os-release; then
  echo "setup-webgpu: not Debian 12 (bookworm); install a Vulkan driver (Mesa lavapipe >= 24) with your package manager." >&2
  exit 0
fi

# Already installed from backports? Nothing to do.
if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q 'bpo'; then
  echo "setup-webgpu: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

# Use the same Debian mirror the machine already uses for bookworm.
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -v security | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
list=/etc/apt/sources.list.d/kiln-bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb ${mirror%/} bookworm-backports main" | $SUDO tee "$list" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "setup-webgpu: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
