#!/usr/bin/env python3
"""packaging/trim-vendor.py SOURCE_DIR: empties the vendored crates that no
Linux build needs (windows-sys and the like, a fifth of the archive).

SOURCE_DIR is an unpacked source tree whose .cargo/config.toml already points
crates-io at SOURCE_DIR/vendor. A crate is trimmed when it is in the lock
file's resolve but in none of the resolves `cargo metadata --filter-platform`
gives for the Linux targets below, so a crate a Linux build uses is never
touched. What stays of a trimmed crate is what cargo reads without building
it: Cargo.toml, the license files, and a file at each target's path (lib,
build script...) that fails to compile with a message if it is ever built.
Its .cargo-checksum.json lists exactly the files left, with their sha256, and
keeps the crate's own checksum (compared with Cargo.lock), so cargo's
verification of vendored sources still holds. Prints the crates trimmed."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

# Level Zero and the library are Linux-only (the Spack package requires
# platform=linux); these cover the architectures HPC sites run.
LINUX_TARGETS = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "powerpc64le-unknown-linux-gnu",
    "riscv64gc-unknown-linux-gnu",
]
KEPT = re.compile(r"^(Cargo\.toml|(LICEN[CS]E|COPYING|NOTICE|UNLICENSE)([-._].*)?)$", re.I)
STUB = 'compile_error!("the release archive of aml-dma-ze trims this crate: no Linux build uses it");\n'

root = os.path.abspath(sys.argv[1])
vendor = os.path.join(root, "vendor")


def metadata(*args, rustflags=None):
    env = dict(os.environ)
    if rustflags is not None:
        env["RUSTFLAGS"] = rustflags
    out = subprocess.run(
        [os.environ.get("CARGO", "cargo"), "metadata", "--format-version", "1", "--locked", "--offline", *args],
        cwd=root, check=True, capture_output=True, text=True, env=env,
    ).stdout
    return json.loads(out)


# The workspace's own cfgs change what a Linux build resolves: `--cfg loom`
# (make loom-check) brings loom and its dependencies.
CFG_FLAGS = ["", "--cfg loom"]

everything = metadata()
used = set()
for target in LINUX_TARGETS:
    for flags in CFG_FLAGS:
        nodes = metadata("--filter-platform", target, rustflags=flags)["resolve"]["nodes"]
        used.update(node["id"] for node in nodes)

trimmed = []
for package in everything["packages"]:
    crate = os.path.dirname(package["manifest_path"])
    if package["id"] in used or os.path.dirname(crate) != vendor:
        continue
    with open(os.path.join(crate, ".cargo-checksum.json")) as f:
        crate_checksum = json.load(f)["package"]
    for entry in os.listdir(crate):
        path = os.path.join(crate, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif not KEPT.match(entry):
            os.remove(path)
    for target in package["targets"]:
        os.makedirs(os.path.dirname(target["src_path"]), exist_ok=True)
        with open(target["src_path"], "w") as f:
            f.write(STUB)
    files = {}
    for directory, _, names in os.walk(crate):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, crate)] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(crate, ".cargo-checksum.json"), "w") as f:
        json.dump({"files": files, "package": crate_checksum}, f, sort_keys=True, separators=(",", ":"))
    trimmed.append(f"{package['name']}-{package['version']}")

print("trimmed (no Linux build uses them): " + (", ".join(sorted(trimmed)) or "none"))
