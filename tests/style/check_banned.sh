#!/usr/bin/env bash
# curl's rule: a short list of C functions arcd never calls, because each has a
# safer form in the project (snprintf, memcpy with a known size, strtol, strtok_r).
# usage: check_banned.sh SOURCE_ROOT
set -u
root=${1:-.}
banned='sprintf|vsprintf|strcpy|strcat|strncpy|strncat|atoi|atol|atoll|atof|strtok|gets|tmpnam|mktemp|alloca'
cd "$root" || exit 2
hits=$(grep -nE "(^|[^a-zA-Z0-9_])($banned)[[:space:]]*\(" \
         $(git ls-files '*.c' '*.h' 2>/dev/null || find src include workers tests -name '*.[ch]') \
       | grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)' || true)
if [ -n "$hits" ]; then
  echo "banned functions used:"
  echo "$hits"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "no banned function in $(git ls-files '*.c' '*.h' 2>/dev/null | wc -l) C files"
echo "1 passed, 0 failed"
