#!/usr/bin/env python3
"""Checks the Flatpak manifest statically (the build itself needs the GNOME runtime, which
cannot be downloaded everywhere): it parses, names a GNOME runtime version, keeps the
sandbox narrow, and pins every dependency module with a URL and a sha256."""
import json
import re
import sys

NEEDED = ["libsodium", "libqrencode", "libssh", "protobuf-c"]
ALLOWED_ARGS = {"--share=network", "--share=ipc", "--socket=wayland", "--socket=fallback-x11",
                "--device=dri"}

def main(path):
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    problems = []
    if manifest.get("id") != "io.github.tessera.Tessera":
        problems.append("id is not io.github.tessera.Tessera")
    if manifest.get("runtime") != "org.gnome.Platform" or manifest.get("sdk") != "org.gnome.Sdk":
        problems.append("runtime/sdk are not org.gnome.Platform/org.gnome.Sdk")
    if not re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))):
        problems.append("runtime-version names no GNOME release")
    for arg in manifest.get("finish-args", []):
        if arg not in ALLOWED_ARGS:
            problems.append(f"finish-arg {arg} widens the sandbox (files go through portals)")
    modules = {m["name"]: m for m in manifest.get("modules", []) if isinstance(m, dict)}
    for name in NEEDED + ["tessera"]:
        if name not in modules:
            problems.append(f"no module {name}")
    for name, module in modules.items():
        if name == "tessera":
            continue
        for source in module.get("sources", []):
            url, sha = source.get("url", ""), source.get("sha256", "")
            if not url.startswith("https://"):
                problems.append(f"{name}: source without an https URL")
            if not re.fullmatch(r"[0-9a-f]{64}", sha):
                problems.append(f"{name}: source without a sha256")
        if not module.get("sources"):
            problems.append(f"{name}: no sources")
    if modules.get("tessera", {}).get("buildsystem") != "meson":
        problems.append("tessera is not built with meson")
    for p in problems:
        print(p)
    if not problems:
        print(f"manifest ok: runtime {manifest['runtime']} {manifest['runtime-version']}, "
              f"modules {', '.join(modules)}")
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
