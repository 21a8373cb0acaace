#!/bin/sh
# tessera-cli, tesserad, the engine's messages and the app's own options speak German with
# LANGUAGE=de, from the catalog compiled into the build tree (TESSERA_LOCALEDIR), while --json
# keeps its English keys and codes.
# Usage: check-cli-translation.sh TESSERA_CLI TESSERAD LOCALEDIR [TESSERA_APP]
cli=$1
daemon=$2
app=${4:-}
# LANGUAGE picks the catalog; it is ignored under the plain C locale, and C.UTF-8 exists
# everywhere, whereas de_DE.UTF-8 is often not generated.
export TESSERA_LOCALEDIR="$3" LANGUAGE=de LANG=C.UTF-8
unset LC_ALL LC_MESSAGES
fail=0
dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-l10n-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

expect () { # expect WHAT TEXT PATTERN
  if printf '%s' "$2" | grep -qF -- "$3"; then
    echo "ok: $1"
  else
    echo "not German: $1 lacks “$3”:"; printf '%s\n' "$2"; fail=1
  fi
}

out=$("$cli" --help 2>&1)
expect "tessera-cli --help" "$out" "Aufruf: tessera-cli"
expect "tessera-cli --help, a command's summary" "$out" "eine Datei herunterladen"
out=$("$cli" no-such-command 2>&1)
status=$?
expect "an unknown command" "$out" "unbekannter Befehl „no-such-command“"
[ $status -eq 2 ] || { echo "an unknown command exited with $status, not 2"; fail=1; }
out=$("$cli" --data-dir "$dir/data" whoami 2>&1)
expect "a refusal" "$out" "Nicht angemeldet"
out=$("$cli" --data-dir "$dir/data" --json whoami 2>&1)
expect "--json: the message" "$out" "Nicht angemeldet"
expect "--json: the keys and the code stay English" "$out" '"code":"AUTH"'
# The engine's own messages too: a wrong password, a file that is not there.
echo "passwort eins zwei" | "$cli" --data-dir "$dir/data" register anna --email anna@example.org \
  --password-stdin >/dev/null 2>&1
out=$(echo "falsches passwort" | "$cli" --data-dir "$dir/data" login anna --password-stdin 2>&1)
status=$?
expect "the engine's refusal of a wrong password" "$out" "Falscher Benutzername oder falsches Passwort"
[ $status -eq 3 ] || { echo "a wrong password exited with $status, not 3"; fail=1; }
echo "passwort eins zwei" | "$cli" --data-dir "$dir/data" login anna --password-stdin >/dev/null 2>&1
out=$("$cli" --data-dir "$dir/data" download 0123456789abcdef 2>&1)
expect "the engine's message for a file that is not there" "$out" "Es gibt keine Datei 0123456789abcdef"
out=$("$daemon" --help 2>&1)
expect "tesserad --help" "$out" "Ein Tessera-Speicherknoten"
if [ -n "$app" ]; then
  # --help is answered before any window opens: no display needed.
  out=$(env -u DISPLAY -u WAYLAND_DISPLAY "$app" --help 2>&1)
  expect "tessera --help, the app's own option" "$out" "Cluster, Konten und Katalog in VERZEICHNIS"
fi
# Without LANGUAGE, English.
out=$(LANGUAGE= LANG=C "$cli" --help 2>&1)
expect "English without a translation asked for" "$out" "Usage: tessera-cli"
exit $fail
