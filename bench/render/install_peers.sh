#!/usr/bin/env bash
# Installs the peers that bench/render/render_bench.py compares visrl's render pool with.
# Idempotent: installs only what is missing, a second run takes a second.
#   - chromium        headless screenshots of HTML tables (the reference table pipeline)
#   - librsvg2-bin    rsvg-convert (also installed by scripts/setup)
#   - python3-matplotlib python3-numpy (also installed by scripts/setup)
set -euo pipefail

say() { printf '[install_peers] %s\n' "$*"; }

PACKAGES=(chromium librsvg2-bin python3-matplotlib python3-numpy)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  say "all present: ${PACKAGES[*]}"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
say "installing: ${missing[*]}"
# Package lists may be missing (fresh image) or stale (a 404 on install): refresh once.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ]; then
  $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
say "done: $(command -v chromium || echo 'chromium missing') $(command -v rsvg-convert || echo 'rsvg-convert missing')"
