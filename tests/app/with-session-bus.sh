#!/bin/sh
# Runs "$@" on a private session bus, as in a desktop session (GTK looks for one at start-up).
# The bus and the services it starts write to stderr so that the test's stdout stays pure TAP.
exec 3>&1
exec dbus-run-session -- sh -c 'exec "$@" 1>&3 3>&-' sh "$@" 1>&2
