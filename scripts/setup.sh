#!/usr/bin/env bash
# Installs the Debian packages Warden's analyzers, demo and tests use, when they are missing.
# Called by .ci/run, `npm test` and `npm run demo`; safe to run again (it does nothing when all are there).
set -euo pipefail
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }

packages=(pocketsphinx pocketsphinx-en-us pocketsphinx-testdata espeak-ng chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "Debian packages present: ${packages[*]}"
  exit 0
fi
echo "setup: installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/warden-setup-apt.log 2>&1; then
  $sudo apt-get update >>/tmp/warden-setup-apt.log 2>&1
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/warden-setup-apt.log 2>&1 || {
    echo "setup: apt-get install failed; see /tmp/warden-setup-apt.log" >&2; tail -5 /tmp/warden-setup-apt.log >&2; exit 1; }
fi
say "installed: ${missing[*]}"
