# Sourced by the CLI test scripts: their arguments (ARCD MKIMAGE DATA_DIR), a
# scratch folder removed on exit, and pass/fail counting ending in the
# "N passed, N failed" line.
set -u
arcd=$(realpath "$1") mk=$(realpath "$2") data=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
fail=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() {
  echo "$passed passed, $fail failed"
  [ "$fail" -eq 0 ]
}
