#!/usr/bin/env bash
# The committed .clang-format is the style: every C file must already be formatted.
# usage: check_format.sh SOURCE_ROOT
set -u
root=${1:-.}
cd "$root" || exit 2
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed (scripts/setup.sh installs it)"; exit 1
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include workers tests -name '*.[ch]')
if clang-format --dry-run --Werror $files 2> format.log.$$; then
  rm -f format.log.$$
  echo "$(echo "$files" | wc -w) files formatted"; echo "1 passed, 0 failed"; exit 0
fi
head -n 40 format.log.$$; rm -f format.log.$$
echo "run: clang-format -i \$(git ls-files '*.c' '*.h')"
echo "0 passed, 1 failed"
exit 1
