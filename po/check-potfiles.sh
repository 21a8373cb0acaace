#!/bin/sh
# Fails when a file of the app, the CLI, the daemon or the engine marks strings for translation but is missing from
# POTFILES.in (its strings would silently stay English), or when POTFILES.in is not sorted.
# Usage: check-potfiles.sh SOURCE_ROOT
cd "$1" || exit 1
fail=0
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d')
for f in $(grep -lE '(^|[^A-Za-z_])(_|N_|C_|NC_|ngettext|g_dngettext) \(|translatable="yes"' \
             src/app/*.c src/cli/*.c src/daemon/*.c src/engine/*.c ui/*.ui ui/*/*.ui 2>/dev/null | sort); do
  printf '%s\n' "$listed" | grep -qx "$f" || { echo "$f marks strings but is not in po/POTFILES.in"; fail=1; }
done
for f in $listed; do
  [ -f "$f" ] || { echo "po/POTFILES.in lists $f, which does not exist"; fail=1; }
done
[ "$listed" = "$(printf '%s\n' "$listed" | LC_ALL=C sort)" ] || { echo "po/POTFILES.in is not sorted"; fail=1; }
[ $fail -eq 0 ] && echo "po/POTFILES.in lists every file with translatable strings"
exit $fail
