# Shared by build-aux/run, build-aux/test and .ci/run. Source it; do not run it.
# shellcheck shell=bash

TSR_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

tsr_log () { printf '%s\n' "tessera: $*" >&2; }

# Installs the packages of build-aux/debian-packages.txt that are missing. Says what it
# installs; says nothing and touches nothing when all are present.
tsr_ensure_packages () {
  local wanted missing=() pkg sudo=""
  wanted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TSR_TOP/build-aux/debian-packages.txt")
  if ! command -v dpkg-query >/dev/null 2>&1; then
    tsr_log "not a Debian-based system: install the equivalents of build-aux/debian-packages.txt yourself"
    return 0
  fi
  for pkg in $wanted; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      tsr_log "missing packages: ${missing[*]}"
      tsr_log "run as root: apt-get install ${missing[*]}"
      return 1
    fi
  fi
  tsr_log "installing missing packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || return 1
}

# tsr_build DIR [MESON SETUP ARGS...]: configures DIR once, then builds it.
tsr_build () {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$TSR_TOP" "$@" >"$TSR_TOP/$(basename "$dir")-setup.log" 2>&1 || {
      cat "$TSR_TOP/$(basename "$dir")-setup.log" >&2
      rm -f "$TSR_TOP/$(basename "$dir")-setup.log"
      return 1
    }
    rm -f "$TSR_TOP/$(basename "$dir")-setup.log"
  fi
  ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

# tsr_run_tests DIR [MESON TEST ARGS...]: the whole suite, under a virtual X server when
# there is no display.
tsr_run_tests () {
  local dir=$1; shift
  local wrapper=()
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
    wrapper=(xvfb-run -a -s "-screen 0 1280x1024x24")
  fi
  "${wrapper[@]}" meson test -C "$dir" --print-errorlogs --num-processes "$(nproc)" "$@"
}

# tsr_summary TESTLOG.json...: prints "N passed, N failed[, N skipped]"; fails on any failure.
tsr_summary () {
  python3 "$TSR_TOP/build-aux/test-summary.py" "$@"
}
