#!/usr/bin/env bash
# The layers (docs/architecture.md), checked on the includes: every C file and
# header may include only the arcd headers of its own layer and of the layers
# below it that it may use. The link checks (CMakeLists.txt, arcd_layer) hold
# the same rule for calls; this holds it for headers, so that no file even
# sees a type of a layer it must not use. In particular: nothing under
# src/daemon, src/http or src/db includes a worker or compiler header, nothing
# under workers/ includes a daemon, http or db header, and nothing outside
# src/cli includes arcd/cli.h. Both forms of an include count, "arcd/x.h" and
# <arcd/x.h> (the include path finds either), however the line is spaced; a
# private header of another folder counts in its quoted form. Files not yet
# committed are checked too.
# usage: check_layers.sh SOURCE_ROOT
set -u
root=${1:-.}
cd "$root" || exit 2

# The headers of each layer.
declare -A layer_of=(
  [error.h]=util [file.h]=util [clock.h]=util [buf.h]=util [sniff.h]=util [tpl.h]=util
  [assert.h]=util [limits.h]=util [net.h]=util [addrmap.h]=util [compress.h]=util [log.h]=util
  [id.h]=util
  [config.h]=config [proto.h]=proto [image.h]=image [mind.h]=mind [compiler.h]=compiler
  [http.h]=http [router.h]=http [multipart.h]=http [pg.h]=db [db.h]=db
  [daemon.h]=daemon [check.h]=daemon [worker.h]=pipeline [cli.h]=cli
)
# What each layer may use (itself included), already closed under "uses".
declare -A may_use=(
  [util]="util"
  [proto]="util proto"
  [config]="util proto config"
  [image]="util image"
  [mind]="util mind"
  [compiler]="util image mind compiler"
  [http]="util http"
  [db]="util db"
  [daemon]="util proto config http db daemon"
  [pipeline]="util proto image mind compiler pipeline"
  [cli]="util proto config image mind compiler http db daemon pipeline cli"
)

# The layer of a source file, by its folder (headers by their name).
layer_of_file() {
  case $1 in
    src/util/*) echo util ;;
    src/config/*) echo config ;;
    src/proto/*) echo proto ;;
    src/image/*) echo image ;;
    src/mind/*) echo mind ;;
    workers/compiler/*) echo compiler ;;
    src/http/*) echo http ;;
    src/db/*) echo db ;;
    src/daemon/*) echo daemon ;;
    workers/*) echo pipeline ;;
    src/cli/*) echo cli ;;
    include/arcd/*) echo "${layer_of[$(basename "$1")]:-unknown}" ;;
    *) echo unknown ;;
  esac
}

# The header an #include line names, as "q path" (quoted) or "a path"
# (angle brackets); nothing for any other line.
included() {
  sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/q \1/p
           s/^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]*)>.*/a \1/p'
}

# The check's own check: each of these lines names its header, so that no
# spelling of an include slips past unread.
while IFS='|' read -r line want; do
  got=$(printf '%s\n' "$line" | included)
  if [ "$got" != "$want" ]; then
    echo "check_layers.sh reads '$line' as '$got', not '$want'"
    echo "0 passed, 1 failed"
    exit 1
  fi
done <<'EOF'
#include "arcd/worker.h"|q arcd/worker.h
#include <arcd/worker.h>|a arcd/worker.h
#  include <arcd/pg.h> /* spaced */|a arcd/pg.h
	# include	"../src/daemon/core.h"|q ../src/daemon/core.h
#include<arcd/http.h>|a arcd/http.h
#include <stdio.h>|a stdio.h
#define X "arcd/worker.h"|
// #include <arcd/worker.h>|
EOF

bad=0
checked=0
files=$( { git ls-files --cached --others --exclude-standard 'src/*.[ch]' 'workers/*.[ch]' \
             'include/*.h' 2>/dev/null || find src workers include -name '*.[ch]'; } | sort -u)
for f in $files; do
  [ -f "$f" ] || continue # deleted, not yet committed
  layer=$(layer_of_file "$f")
  if [ "$layer" = unknown ]; then
    echo "$f: in no layer (add it to tests/style/check_layers.sh and docs/architecture.md)"
    bad=$((bad + 1))
    continue
  fi
  checked=$((checked + 1))
  while read -r form inc; do
    case $inc in
      arcd/*)
        h=${inc#arcd/}
        l=${layer_of[$h]:-}
        if [ -z "$l" ]; then
          echo "$f: includes $inc, which is in no layer"
          bad=$((bad + 1))
        elif [[ " ${may_use[$layer]} " != *" $l "* ]]; then
          echo "$f ($layer) includes $inc ($l): a layer it may not use"
          bad=$((bad + 1))
        fi
        ;;
      */*)
        # A private header of another folder (../src/daemon/core.h and the
        # like); in angle brackets, a system header (sys/socket.h).
        if [ "$form" = q ]; then
          echo "$f: includes $inc from another folder"
          bad=$((bad + 1))
        fi
        ;;
    esac
  done < <(included <"$f")
done
if [ "$bad" -ne 0 ]; then
  echo "0 passed, 1 failed ($bad wrong includes)"
  exit 1
fi
echo "$checked files include only what their layer may use"
echo "1 passed, 0 failed"
