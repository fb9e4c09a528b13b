#!/usr/bin/env bash
# Installs playwright-core and axe-core (pinned) into var/node for the browser
# tests, which drive Debian's own Chromium (/usr/bin/chromium, from setup.sh):
# no browser is ever downloaded. axe-core checks the operator app's pages.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/var/node"
if [ -f "$dest/node_modules/playwright-core/package.json" ] &&
   [ -f "$dest/node_modules/axe-core/axe.min.js" ]; then
  exit 0
fi
mkdir -p "$dest"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$dest" \
  playwright-core@1.64.1 axe-core@4.14.1 >/dev/null
echo "browser: playwright-core 1.64.1 and axe-core 4.14.1 in $dest"
