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
  postgresql postgresql-common
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
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
"$(dirname "${BASH_SOURCE[0]}")/vendor.sh"
"$(dirname "${BASH_SOURCE[0]}")/browser.sh"
