#!/bin/sh
# meson install --destdir into a temporary directory, then checks the layout a desktop and a
# package need, and runs the installed binaries. Usage: check-install.sh BUILD_DIR PREFIX
set -u
build=$1
prefix=$2
dest=$(mktemp -d "${TMPDIR:-/tmp}/tessera-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT
fail=0

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest.log" 2>&1 || {
  cat "$dest.log"; rm -f "$dest.log"; echo "meson install failed"; exit 1; }
rm -f "$dest.log"
root=$dest$prefix
id=io.github.tessera.Tessera

for f in \
  bin/tessera \
  bin/tessera-cli \
  share/applications/$id.desktop \
  share/metainfo/$id.metainfo.xml \
  share/icons/hicolor/scalable/apps/$id.svg \
  share/icons/hicolor/symbolic/apps/$id-symbolic.svg \
  share/glib-2.0/schemas/$id.gschema.xml \
  share/dbus-1/services/$id.service \
  share/locale/de/LC_MESSAGES/tessera.mo
do
  if [ -e "$root/$f" ]; then echo "ok: $f"; else echo "missing: $f"; fail=1; fi
done

# The D-Bus service starts the installed binary, where it was installed.
grep -qx "Exec=$prefix/bin/tessera --gapplication-service" "$root/share/dbus-1/services/$id.service" ||
  { echo "the D-Bus service does not start $prefix/bin/tessera"; fail=1; }
# The German catalog carries the app's strings.
grep -q "Zwei-Faktor-Authentifizierung" "$root/share/locale/de/LC_MESSAGES/tessera.mo" ||
  { echo "the German catalog lacks the app's strings"; fail=1; }

if out=$("$root/bin/tessera-cli" --help 2>&1) && printf '%s' "$out" | grep -q upload; then
  echo "ok: installed tessera-cli --help"
else
  echo "installed tessera-cli --help failed:"; printf '%s\n' "$out"; fail=1
fi
if out=$("$root/bin/tessera" --version 2>&1) && printf '%s' "$out" | grep -q '^tessera [0-9]'; then
  echo "ok: installed tessera --version: $out"
else
  echo "installed tessera --version failed:"; printf '%s\n' "$out"; fail=1
fi
exit $fail
