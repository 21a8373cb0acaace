#!/usr/bin/env python3
"""Counts test results from meson's testlog.json files and prints one closing line.

TAP tests count per subtest ("ok"/"not ok" lines), so a test program with twelve cases
counts twelve; a crashed program counts one failure more than its "not ok" lines. Other
tests count one each. Exits 1 when anything failed or nothing ran.
"""
import json
import re
import sys

FAILED = {"FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS", "INTERRUPT"}
TAP_LINE = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path, skipped_names):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            test = json.loads(line)
            result = test.get("result", "ERROR")
            tap_ok = tap_fail = tap_skip = 0
            for out in (test.get("stdout") or "").splitlines():
                m = TAP_LINE.match(out.strip())
                if not m:
                    continue
                rest = m.group(2).upper()
                if "# SKIP" in rest:
                    tap_skip += 1
                    skipped_names.append(f"{test.get('name', '?')}: {m.group(2).strip()}")
                elif m.group(1) == "ok" or "# TODO" in rest:
                    tap_ok += 1
                else:
                    tap_fail += 1
            if tap_ok + tap_fail + tap_skip > 0:
                passed += tap_ok
                skipped += tap_skip
                failed += tap_fail
                if result in FAILED and tap_fail == 0:
                    failed += 1  # it crashed or timed out between subtests
            elif result == "SKIP":
                skipped += 1
                skipped_names.append(test.get("name", "?"))
            elif result in FAILED:
                failed += 1
            else:
                passed += 1
    return passed, failed, skipped


def main(paths):
    passed = failed = skipped = 0
    skipped_names = []
    for path in paths:
        try:
            p, f, s = count(path, skipped_names)
        except OSError as e:
            print(f"tessera: no test log {path}: {e.strerror}", file=sys.stderr)
            f, p, s = 1, 0, 0
        passed, failed, skipped = passed + p, failed + f, skipped + s
    # A skip is named, so that one never hides in the count (a crash once did, as exit 77).
    for name in skipped_names:
        print(f"skipped: {name}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
