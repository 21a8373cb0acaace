#!/usr/bin/env bash
# bench-cluster: a 1 GiB file uploaded and downloaded through tessera-cli on the default cluster
# (5 embedded nodes, 2 replicas, 64 KiB chunks), against rclone crypt to a local directory in
# the same run, with each process's peak RSS from /usr/bin/time -v and the disk's own
# fdatasync rate (this machine's disk swings between ~160 and ~400 MB/s). Each tool's download is
# measured twice: right after its upload (rclone reads back the page cache its upload filled;
# Tessera's nodes read the first copies an upload keeps in theirs), and from disk, every file
# the tool stored dropped from the page cache first, as when a file is read back days later.
#
# Usage: benchmarks/bench-cluster.sh [BUILD_DIR] [MIB] [CHUNK_SIZE] [ROUNDS]
#        (needs rclone, and fio for the disk's read rate: apt-get install rclone fio)
# CHUNK_SIZE (default 64K, the default cluster's) is passed to `tessera-cli init --chunk-size`.
# ROUNDS (default 5): each tool runs this many times, alternately; the ratios are of medians.
set -euo pipefail

build=$(cd "${1:-_build}" && pwd)
mib=${2:-1024}
chunk=${3:-64K}
rounds=${4:-5}
bytes=$((mib * 1024 * 1024))
cli=$build/src/cli/tessera-cli
command -v rclone >/dev/null || { echo "rclone is not installed (apt-get install rclone)" >&2; exit 1; }
command -v fio >/dev/null || echo "fio is not installed (apt-get install fio): no disk read rate" >&2
work=$(mktemp -d -p "${TMPDIR:-/var/tmp}" tessera-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

# measure LABEL CMD...: runs CMD under /usr/bin/time -v, prints seconds, MB/s, CPU seconds
# (user + system: steadier than wall time on a shared machine) and peak RSS.
measure () {
  local label=$1; shift
  /usr/bin/time -v "$@" >"$work/out.txt" 2>"$work/time.txt"
  local wall rss secs cpu
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$work/time.txt")
  secs=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
  printf '%-34s %7.2f s  %8.1f MB/s  CPU %6.2f s  peak RSS %6.1f MiB\n' "$label" "$secs" \
    "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print b / s / 1e6 }')" "$cpu" \
    "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
  echo "$secs" >"$work/last-secs"
}

echo "input: $mib MiB of random bytes in $work"
head -c "$bytes" /dev/urandom >"$work/input.bin"
sync

dd_rate=$(dd if=/dev/zero of="$work/dd.bin" bs=1M count="$mib" conv=fdatasync 2>&1 |
  sed -n 's/.*, \([0-9.]*\) \([kMG]\)B\/s$/\1 \2/p')
rm -f "$work/dd.bin"
echo "disk (dd conv=fdatasync): $dd_rate""B/s"

# ext4 without a journal skips inodes freed in the last one to six minutes when it creates a
# file (recently_deleted() in fs/ext4/ialloc.c): right after many files were deleted, every
# segment file costs several times more to create. Quiet here: 15-20 us per file.
probe_us=$(python3 - "$work/create-probe" <<'PY'
import os, sys, time
d = sys.argv[1]
os.mkdir(d)
t = time.monotonic()
for i in range(2000):
    os.close(os.open(f"{d}/{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
print(int((time.monotonic() - t) / 2000 * 1e6))
PY
)
rm -rf "$work/create-probe"
echo "file creation: $probe_us us per file"
if [ "$probe_us" -gt 40 ]; then
  echo "  warning: files are slow to create right now (many were deleted in the last minutes?);"
  echo "  upload figures are low. Wait six minutes and run again."
fi

# Each round uploads and downloads with both tools, Tessera first in odd rounds and rclone first
# in even ones; every round keeps its data (deleting it would slow the next round's file
# creation, above). Medians over the rounds are what to quote: single runs on this shared
# machine swing by a third.
export RCLONE_CONFIG_SECRET_TYPE=crypt
RCLONE_CONFIG_SECRET_PASSWORD=$(rclone obscure "bench-password")
export RCLONE_CONFIG_SECRET_PASSWORD
echo "chunk size: $chunk, rounds: $rounds"

tessera_round () {
  local data=$work/data-$1
  "$cli" --data-dir "$data" init --chunk-size "$chunk" >/dev/null
  # File commands need a session (the login derives the key that seals each file's key).
  echo "bench password" | "$cli" --data-dir "$data" register bench --email bench@example.org \
    --password-stdin >/dev/null
  echo "bench password" | "$cli" --data-dir "$data" login bench --password-stdin >/dev/null
  measure "tessera-cli upload (durable)" "$cli" --data-dir "$data" upload "$work/input.bin"
  up[$1]=$(cat "$work/last-secs")
  file_id=$(cut -d' ' -f1 "$work/out.txt")
  measure "tessera-cli download" "$cli" --data-dir "$data" download "$file_id" \
    --output "$work/tessera-out.bin"
  down[$1]=$(cat "$work/last-secs")
  cmp "$work/input.bin" "$work/tessera-out.bin"
  rm -f "$work/tessera-out.bin"
  drop_cached "$data/nodes"
  disk_rd[$1]=$(disk_read_probe)
  [ -z "${disk_rd[$1]}" ] || printf '%-34s %19.1f MB/s\n' "disk: segment reads, output written" \
    "${disk_rd[$1]}"
  measure "tessera-cli download, from disk" "$cli" --data-dir "$data" download "$file_id" \
    --output "$work/tessera-out.bin"
  cold[$1]=$(cat "$work/last-secs")
  cmp "$work/input.bin" "$work/tessera-out.bin"
  rm -f "$work/tessera-out.bin"
}

# drop_cached DIR: takes DIR's files out of the page cache (they are clean once synced), so
# that the next read comes from the disk, as it does when a file is read back days later.
drop_cached () {
  python3 - "$1" <<'PY'
import os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        fd = os.open(os.path.join(root, name), os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}

# disk_read_probe: what the disk itself gives for a download's I/O, just before Tessera's from
# disk: the
# chunks' segments read around the page cache in pieces of 64 KiB and their tag (fio: 68 KiB
# reads at random offsets of a file as big as the input, 16 at a time, O_DIRECT) while the
# output is written (a sequential O_DIRECT write of as much). Prints the reads' MB/s, the bound
# on a download from disk; nothing without fio.
disk_read_probe () {
  command -v fio >/dev/null || return 0
  fio --output-format=json --direct=1 --ioengine=libaio \
    --name=segments --filename="$work/input.bin" --rw=randread --bs=68k --iodepth=16 \
    --size="$bytes" \
    --name=output --filename="$work/probe-out.bin" --rw=write --bs=1m --iodepth=3 \
    --size="$bytes" >"$work/fio.json"
  rm -f "$work/probe-out.bin"
  python3 -c 'import json, sys
jobs = {j["jobname"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
print(round(jobs["segments"]["read"]["bw_bytes"] / 1e6, 1))' "$work/fio.json"
}

rclone_round () {
  export RCLONE_CONFIG_SECRET_REMOTE="$work/rclone-$1"
  measure "rclone crypt copy (not synced)" rclone copy "$work/input.bin" secret:
  rc_up[$1]=$(cat "$work/last-secs")
  measure "sync after rclone" sync -f "$work/rclone-$1"
  rc_sync[$1]=$(cat "$work/last-secs")
  measure "rclone crypt copy back" rclone copy secret:input.bin "$work/rclone-out"
  rc_down[$1]=$(cat "$work/last-secs")
  cmp "$work/input.bin" "$work/rclone-out/input.bin"
  rm -rf "$work/rclone-out"
  drop_cached "$work/rclone-$1"
  measure "rclone crypt copy back, from disk" rclone copy secret:input.bin "$work/rclone-out"
  rc_cold[$1]=$(cat "$work/last-secs")
  cmp "$work/input.bin" "$work/rclone-out/input.bin"
  rm -rf "$work/rclone-out"
}

declare -a up down cold rc_up rc_sync rc_down rc_cold disk_rd
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  if [ $((r % 2)) -eq 1 ]; then
    tessera_round "$r"
    rclone_round "$r"
  else
    rclone_round "$r"
    tessera_round "$r"
  fi
done

median () { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rc_synced=()
ratios_up=""
ratios_down=""
ratios_cold=""
ratios_disk=""
for r in $(seq 1 "$rounds"); do
  [ -z "${disk_rd[r]}" ] || ratios_disk+=$(awk -v t="${cold[r]}" -v d="${disk_rd[r]}" -v b="$bytes" \
    'BEGIN { printf " %.2f", b / t / 1e6 / d }')
  rc_synced[r]=$(awk -v a="${rc_up[r]}" -v b="${rc_sync[r]}" 'BEGIN { print a + b }')
  ratios_up+=$(awk -v t="${up[r]}" -v o="${rc_up[r]}" 'BEGIN { printf " %.2f", o / t }')
  ratios_down+=$(awk -v t="${down[r]}" -v o="${rc_down[r]}" 'BEGIN { printf " %.2f", o / t }')
  ratios_cold+=$(awk -v t="${cold[r]}" -v o="${rc_cold[r]}" 'BEGIN { printf " %.2f", o / t }')
done
up=$(median "${up[@]}")
down=$(median "${down[@]}")
cold=$(median "${cold[@]}")
rc_up=$(median "${rc_up[@]}")
rc_synced=$(median "${rc_synced[@]}")
rc_down=$(median "${rc_down[@]}")
rc_cold=$(median "${rc_cold[@]}")
echo "medians over $rounds rounds:"
awk -v b="$bytes" -v u="$up" -v d="$down" -v c="$cold" -v ru="$rc_up" -v rd="$rc_down" \
  -v rc="$rc_cold" 'BEGIN {
  printf "  tessera upload %.1f MB/s, download %.1f MB/s, from disk %.1f MB/s\n", b / u / 1e6,
    b / d / 1e6, b / c / 1e6
  printf "  rclone  upload %.1f MB/s, download %.1f MB/s, from disk %.1f MB/s\n", b / ru / 1e6,
    b / rd / 1e6, b / rc / 1e6
}'
echo "tessera / rclone within each round: upload$ratios_up; download$ratios_down;" \
  "download from disk$ratios_cold"
if [ -n "$ratios_disk" ]; then
  disk_rd=$(median "${disk_rd[@]}")
  echo "tessera's download from disk / the disk's own read rate for it, within each round:$ratios_disk"
  awk -v d="$cold" -v r="$disk_rd" -v b="$bytes" 'BEGIN {
    printf "download from disk: %.0f MB/s = %.2f of the disk'"'"'s %.0f MB/s for the same reads (median)\n",
      b / d / 1e6, b / d / 1e6 / r, r }'
fi

# A durable upload writes every byte once per replica (two by default), and every node of the
# embedded cluster lives on this one disk: the disk's own rate bounds it at dd / replicas.
replicas=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["replicas"])' \
  "$work/data-1/cluster.json")
awk -v u="$up" -v d="$down" -v c="$cold" -v ru="$rc_up" -v rs="$rc_synced" -v rd="$rc_down" \
  -v b="$bytes" -v rc="$rc_cold" -v dd="$dd_rate" -v r="$replicas" 'BEGIN {
  printf "upload:   tessera / rclone = %.2f (rclone plus its sync: %.2f)\n", ru / u, rs / u
  printf "download: tessera / rclone = %.2f right after the upload, %.2f from disk\n", rd / d, rc / c
  split(dd, p, " "); disk = p[1] * (p[2] == "G" ? 1000 : p[2] == "k" ? 0.001 : 1)
  printf "upload wrote %d copies durably: %.0f MB/s to the disk = %.2fx its dd rate\n", r,
    r * b / u / 1e6, r * b / u / 1e6 / disk
}'
