#!/usr/bin/env bash
# bench-small-files: a folder of many small files uploaded with one tessera-cli command, into a
# data dir that already holds a large file (so each node's index is not small), against rclone
# crypt copying the same folder to a local directory, with and without a sync after it
# (Tessera's upload is durable when it returns: every segment and manifest is on the disk).
#
# Usage: benchmarks/bench-small-files.sh [BUILD_DIR] [FILES] [PRELOAD_MIB] [ROUNDS]
#        (needs rclone: apt-get install rclone)
# FILES (default 1000) of 1 byte to 32 KiB; PRELOAD_MIB (default 1024) stored first;
# ROUNDS (default 3), each with a new folder; the figures are medians.
set -euo pipefail

build=$(cd "${1:-_build}" && pwd)
files=${2:-1000}
preload=${3:-1024}
rounds=${4:-3}
cli=$build/src/cli/tessera-cli
command -v rclone >/dev/null || { echo "rclone is not installed (apt-get install rclone)" >&2; exit 1; }
work=$(mktemp -d -p "${TMPDIR:-/var/tmp}" tessera-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export RCLONE_CONFIG_SECRET_TYPE=crypt RCLONE_CONFIG_SECRET_REMOTE="$work/rclone"
RCLONE_CONFIG_SECRET_PASSWORD=$(rclone obscure "bench-password")
export RCLONE_CONFIG_SECRET_PASSWORD

# seconds CMD...: runs CMD, prints its wall-clock seconds.
seconds () {
  /usr/bin/time -f '%e' -o "$work/time.txt" "$@" >/dev/null
  cat "$work/time.txt"
}

data=$work/data
echo "bench password" | "$cli" --data-dir "$data" register bench --email bench@example.org \
  --password-stdin >/dev/null
echo "bench password" | "$cli" --data-dir "$data" login bench --password-stdin >/dev/null
head -c $((preload * 1024 * 1024)) /dev/urandom >"$work/preload.bin"
"$cli" --data-dir "$data" upload "$work/preload.bin" >/dev/null
rm -f "$work/preload.bin"
echo "data dir holds $preload MiB: $(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["segment_count"])' \
  "$data/nodes/Node_01/metadata.json") segments on Node_01"

declare -a tsr rc rc_synced
for r in $(seq 1 "$rounds"); do
  dir=$work/folder-$r
  python3 - "$dir" "$files" "$r" <<'PY'
import os, random, sys
d, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
os.mkdir(d)
for i in range(n):
    with open(f"{d}/file-{i:05d}.txt", "wb") as f:
        f.write(os.urandom(rng.randint(1, 32 * 1024)))
PY
  sync
  tsr[r]=$(seconds "$cli" --data-dir "$data" upload "$dir"/*)
  rc[r]=$(seconds rclone -q copy "$dir" "secret:round-$r")
  rc_synced[r]=$(awk -v a="${rc[r]}" -v b="$(seconds sync -f "$work/rclone")" 'BEGIN { print a + b }')
  printf 'round %d: tessera %.2f s, rclone %.2f s (%.2f s with its sync)\n' "$r" "${tsr[r]}" \
    "${rc[r]}" "${rc_synced[r]}"
done

median () { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
t=$(median "${tsr[@]}")
o=$(median "${rc[@]}")
s=$(median "${rc_synced[@]}")
awk -v n="$files" -v t="$t" -v o="$o" -v s="$s" 'BEGIN {
  printf "medians: tessera %.2f s (%.0f files/s, durable), rclone %.2f s (%.0f files/s), %.2f s with its sync\n",
    t, n / t, o, n / o, s
  printf "tessera / rclone: %.2f; against rclone and its sync: %.2f\n", o / t, s / t
}'
