#!/usr/bin/env bash
# Bad input to `arcd compile` and `arcd inspect`: each case must end with a clear
# message and the documented exit code (3: bad input) or a valid .mind where
# MindAR itself would make one; never a crash (status > 128) and never a hang
# (each run is bounded by `timeout`).
# usage: test_bad_input.sh ARCD MKIMAGE DATA_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect NAME WANT_STATUS MESSAGE_PATTERN -- COMMAND...
expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local out status
  out=$(timeout 60 "$@" 2>&1)
  status=$?
  if [ "$status" -eq 124 ]; then
    bad "$name: hung (killed after 60 s)"; return
  fi
  if [ "$status" -gt 128 ]; then
    bad "$name: crashed with status $status: $out"; return
  fi
  if [ "$status" -ne "$want" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    bad "$name: status $status (want $want), output: $out"; return
  fi
  ok "$name: $(head -n 1 <<<"$out")"
}

: > empty.jpg
printf 'hello, this is not an image\n' > text.png
head -c 4096 /dev/urandom > random.jpg
printf '\xff\xd8\xff\xe0garbage' > fakejpeg.jpg
$mk convert "$data/card.pgm" jpeg90 card.jpg
head -c 9000 card.jpg > truncated.jpg
$mk convert "$data/card.pgm" rgb8 card.png
head -c $(($(stat -c %s card.png) / 2)) card.png > truncated.png
head -c 100 card.png > header-only.png
$mk flat 1 1 100 one.png
$mk flat 7 300 100 seven.pgm
$mk texture 8 20000 3 tall.png
$mk flat 640 480 128 flat.png
$mk png-header 8000 6000 huge.png
$mk texture 100 100 4 tiny-ok.png
$mk texture 40 60 9 small.pgm

expect "empty file" 3 "empty file" -- "$arcd" compile empty.jpg -o out.mind
expect "text file" 3 "not an image arcd reads" -- "$arcd" compile text.png -o out.mind
expect "random bytes" 3 "not an image arcd reads" -- "$arcd" compile random.jpg -o out.mind
expect "JPEG magic then garbage" 3 "(corrupt|truncated) JPEG" -- "$arcd" compile fakejpeg.jpg -o out.mind
expect "truncated JPEG" 3 "truncated JPEG" -- "$arcd" compile truncated.jpg -o out.mind
expect "truncated PNG" 3 "corrupt PNG" -- "$arcd" compile truncated.png -o out.mind
expect "PNG header only" 3 "corrupt PNG" -- "$arcd" compile header-only.png -o out.mind
expect "1x1 image" 3 "short side must be at least 8" -- "$arcd" compile one.png -o out.mind
expect "7 px wide" 3 "short side must be at least 8" -- "$arcd" compile seven.pgm -o out.mind
expect "8x20000 image" 3 "256x640000.*over the limit" -- "$arcd" compile tall.png -o out.mind
expect "48 megapixels (header only)" 3 "48.0 megapixels\\), over the limit of 40.0" -- "$arcd" compile huge.png -o out.mind
expect "lower pixel limit" 3 "over the limit of 0.0" -- "$arcd" compile card.png -o out.mind --max-pixels 1000
expect "missing file" 4 "cannot open" -- "$arcd" compile no-such-file.png -o out.mind
expect "unwritable output" 4 "cannot create" -- "$arcd" compile card.png -o /no/such/dir/out.mind
expect "no output given" 2 "usage" -- "$arcd" compile card.png
expect "unknown option" 2 "unknown option" -- "$arcd" compile card.png -o out.mind --fast
expect "flat grey image" 0 "no feature points" -- "$arcd" compile flat.png -o flat.mind
expect "flat grey .mind is valid" 0 "0 feature points, 0 tracking points" -- "$arcd" inspect flat.mind
expect "100x100 image" 0 "wrote" -- "$arcd" compile tiny-ok.png -o tiny.mind
expect "40x60 image (upscaled keyframe)" 0 "wrote" -- "$arcd" compile small.pgm -o small.mind
expect "inspect a PNG" 3 "not a .mind file" -- "$arcd" inspect card.png
expect "inspect an empty file" 3 "empty file" -- "$arcd" inspect empty.jpg
head -c 5000 "$data/card.ref.mind" > truncated.mind
expect "inspect a truncated .mind" 3 "truncated" -- "$arcd" inspect truncated.mind

printf '{"compile": {"maxPixel": 5}}' > typo.json
printf '{"compile": {"maxPixels": 1000}}' > small.json
printf '{"compile": {"threads": -1}}' > negative.json
printf '{"compile": ' > broken.json
expect "config with an unknown key" 2 "unknown key 'compile.maxPixel'" -- "$arcd" compile card.png -o out.mind --config typo.json
expect "config with a bad value" 2 "compile.threads must be an integer from 0 to 256" -- "$arcd" compile card.png -o out.mind --config negative.json
expect "config that is not JSON" 2 "config: broken.json:1" -- "$arcd" compile card.png -o out.mind --config broken.json
expect "pixel limit from the config" 3 "over the limit of 0.0 megapixels" -- env ARCD_CONFIG=small.json "$arcd" compile card.png -o out.mind
expect "config of the repository" 0 "wrote" -- "$arcd" compile card.png -o ok.mind --config "$data/../../config/arcd.json"

# No temporary files are left beside the outputs.
if ls ./*.tmp.* >/dev/null 2>&1; then
  bad "temporary files left: $(ls ./*.tmp.*)"
fi
[ ! -e out.mind ] || bad "out.mind written by a failed compile"

finish
