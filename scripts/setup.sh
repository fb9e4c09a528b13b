#!/usr/bin/env bash
# Installs the Debian packages arcd needs to build and test, if any is missing.
# Idempotent and non-interactive (CI runs it with no stdin); needs root or sudo.
# Then the npm parts: the viewer's scripts (vendor.sh) and playwright-core for the
# browser test (browser.sh), with the machine's own Node.js and npm.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3 bsdutils time curl
  clang-format clang
  libjpeg62-turbo-dev libpng-dev libmsgpack-dev libjansson-dev
  libuv1-dev libhttp-parser-dev libpq-dev libssl-dev libqrencode-dev libexif-dev
  libseccomp-dev libcurl4-openssl-dev libbrotli-dev zlib1g-dev brotli
  libheif-dev libwebp-dev liblcms2-dev libheif-examples webp
  libcairo2-dev libfontconfig-dev libfreetype-dev fonts-dejavu-core poppler-utils
  libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev
  ffmpeg
  zbar-tools chromium strace python3-aiosmtpd
  caddy nginx openssl
  postgresql postgresql-common
  dpkg-dev systemd # the .deb (cpack, dpkg-shlibdeps) and its units (systemd-analyze verify)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  "$(dirname "${BASH_SOURCE[0]}")/vendor.sh"
  "$(dirname "${BASH_SOURCE[0]}")/browser.sh"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# caddy and nginx are for tests/integration/96_https.py, which runs its own on
# 127.0.0.1. Their packages would start and enable system services on port 80
# of every address: a policy-rc.d of our own (when the machine has none) keeps
# those two from starting while they install, and they are disabled after.
web=()
for p in caddy nginx; do
  if [[ " ${missing[*]} " == *" $p "* ]]; then web+=("$p"); fi
done
if [ ${#web[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  $sudo tee /usr/sbin/policy-rc.d >/dev/null <<'EOF'
#!/bin/sh
# Put here by arcd's scripts/setup.sh for the time of its apt-get install.
case "$1" in caddy*|nginx*) exit 101 ;; esac
exit 0
EOF
  $sudo chmod 755 /usr/sbin/policy-rc.d
  ours() { grep -qs "arcd's scripts/setup.sh" /usr/sbin/policy-rc.d; }
  trap 'if ours; then $sudo rm -f /usr/sbin/policy-rc.d; fi' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ ${#web[@]} -gt 0 ] && command -v systemctl >/dev/null; then
  $sudo systemctl disable --quiet "${web[@]}" 2>/dev/null || true
fi
echo "setup: done"
"$(dirname "${BASH_SOURCE[0]}")/vendor.sh"
"$(dirname "${BASH_SOURCE[0]}")/browser.sh"
