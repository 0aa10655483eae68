#!/usr/bin/env python3
"""make spack-check: keeps packaging/spack/packages/aml-dma-ze/package.py
honest where Spack itself does not run.

The package is loaded under a stand-in for `spack.package` that records its
directives and the `make` calls its build, install and test phases make,
for both values of the driver variant. Then:
  - its class name is the one Spack derives from the directory name;
  - its newest version is the project's (Makefile VERSION = Cargo.toml);
  - it depends on the C compiler, rust (at least the newest rust-version of
    the locked dependencies, from `cargo metadata`), gmake, pkgconfig and
    oneapi-level-zero, and has the driver variant;
  - every target it asks of make exists (`make -n` accepts it), every
    VAR=value it passes is read by the Makefiles and shows in what make
    would run, install installs into the package prefix, install-driver is
    asked for exactly with +driver, and the install-time test builds and
    runs the demo on the software driver;
  - its url names the archive make dist makes (aml-dma-ze-VERSION.tar.gz),
    and with the archive's path as argument (make spack-check does so in a
    git checkout), the version's sha256 is the archive's;
  - built from the archive it keeps cargo offline with its home in the
    stage, and from a checkout (dev_path) leaves cargo be.
Prints one line per check and exits 1 if any failed."""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import types

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REPO = os.path.join(ROOT, "packaging", "spack")
PACKAGE_NAME = "aml-dma-ze"
PACKAGE_FILE = os.path.join(REPO, "packages", PACKAGE_NAME, "package.py")
MAKEFILES = ["Makefile", "packaging/packaging.mk", "ctests/ctests.mk", "driver/driver.mk", "bench/bench.mk"]

failed = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def version_key(text):
    key = [int(part) for part in re.findall(r"\d+", text)]
    while key and key[-1] == 0:  # 1.85 == 1.85.0
        key.pop()
    return key


# --- a stand-in for spack.package -------------------------------------------

directives = []
make_calls = []


def directive(name):
    def record(*args, **kwargs):
        directives.append((name, args, kwargs))

    return record


class Prefix(str):
    """Like Spack's: attributes are subdirectories."""

    def __getattr__(self, name):
        return Prefix(os.path.join(self, name))


class MakefilePackage:
    pass


class LibraryList(list):
    @property
    def directories(self):
        return sorted({os.path.dirname(lib) for lib in self})


def find_libraries(names, root, shared=True, recursive=False):
    names = [names] if isinstance(names, str) else names
    return LibraryList(os.path.join(root, "lib", name + (".so" if shared else ".a")) for name in names)


def make(*args, **kwargs):
    make_calls.append(list(args))


stand_in = types.ModuleType("spack.package")
for name in ("version", "variant", "depends_on", "requires", "conflicts"):
    setattr(stand_in, name, directive(name))
stand_in.MakefilePackage = MakefilePackage
stand_in.find_libraries = find_libraries
stand_in.make = make
stand_in.join_path = os.path.join
stand_in.__all__ = [
    "version", "variant", "depends_on", "requires", "conflicts",
    "MakefilePackage", "find_libraries", "make", "join_path",
]
sys.modules["spack"] = types.ModuleType("spack")
sys.modules["spack.package"] = stand_in

loading = importlib.util.spec_from_file_location("aml_dma_ze_spack_package", PACKAGE_FILE)
module = importlib.util.module_from_spec(loading)
loading.loader.exec_module(module)

# --- the package's identity -------------------------------------------------

class_name = "".join(part.capitalize() for part in re.split(r"[-_]", PACKAGE_NAME))
package_class = getattr(module, class_name, None)
check(
    isinstance(package_class, type) and issubclass(package_class, MakefilePackage),
    f"packages/{PACKAGE_NAME}/package.py defines {class_name}(MakefilePackage)",
)
if package_class is None:
    sys.exit(1)
namespace = re.search(r"^\s*namespace:\s*(\w+)\s*$", read("packaging/spack/repo.yaml"), re.M)
check(namespace is not None, "packaging/spack/repo.yaml names a namespace")

make_version = re.search(r"^VERSION\s*:?=\s*(\S+)\s*$", read("Makefile"), re.M).group(1)
package_section = read("Cargo.toml").split("[package]", 1)[1]
cargo_version = re.search(r'^version\s*=\s*"([^"]+)"', package_section, re.M).group(1)
check(make_version == cargo_version, f"Makefile VERSION {make_version} = Cargo.toml version {cargo_version}")
versions = [args[0] for name, args, _ in directives if name == "version"]
newest = max(versions, key=version_key) if versions else None
check(newest == make_version, f"the package's newest version {newest} is the project's {make_version}")

# A mirror holds the archive as aml-dma-ze/<the url's file name>, with the
# version in it; make dist names it the same way.
archive_name = f"{PACKAGE_NAME}-{make_version}.tar.gz"
url = getattr(package_class, "url", None)
check(url is not None and url.rsplit("/", 1)[-1] == archive_name,
      f"the package's url {url} names make dist's archive {archive_name}")
sha256 = next((kwargs.get("sha256") for name, args, kwargs in directives
               if name == "version" and args[0] == make_version), None)
check(sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", sha256) is not None,
      f"version {make_version} has a sha256")
if len(sys.argv) > 1:
    with open(sys.argv[1], "rb") as f:
        archive_sha256 = hashlib.sha256(f.read()).hexdigest()
    check(sha256 == archive_sha256,
          f"version {make_version}'s sha256 is that of {sys.argv[1]} ({archive_sha256}; make spack-sha writes it)")
else:
    print(f"skip the sha256 of version {make_version} against make dist's archive: not a git checkout")

variants = {args[0] for name, args, _ in directives if name == "variant"}
check("driver" in variants, "the package has the driver variant")

dependencies = {}
for name, args, kwargs in directives:
    if name == "depends_on":
        spec = args[0]
        dependencies[re.split(r"[@+~ ]", spec, 1)[0]] = (spec, kwargs.get("type"))
for dependency, wanted in [
    ("c", "build"),
    ("rust", "build"),
    ("gmake", "build"),
    ("pkgconfig", "build"),
    ("oneapi-level-zero", "run"),
]:
    spec, deptype = dependencies.get(dependency, (None, None))
    types_ = (deptype,) if isinstance(deptype, str) else tuple(deptype or ())
    check(spec is not None and wanted in types_, f"depends_on({dependency!r}) with type {wanted!r}")

metadata = json.loads(
    subprocess.run(
        [os.environ.get("CARGO", "cargo"), "metadata", "--format-version", "1", "--locked", "--offline"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
)
rust_versions = [p["rust_version"] for p in metadata["packages"] if p.get("rust_version")]
needed = max(rust_versions, key=version_key) if rust_versions else None
rust_spec = dependencies.get("rust", ("rust",))[0]
declared = rust_spec.split("@", 1)[1].rstrip(":") if "@" in rust_spec else None
check(
    needed is not None and declared is not None and version_key(declared) == version_key(needed),
    f"depends_on({rust_spec!r}): the newest rust-version of the locked dependencies is {needed}",
)

# --- what the package asks of make ------------------------------------------

PREFIX = Prefix("/stand-in/spack/opt/aml-dma-ze")
CARGO = "/stand-in/spack/rust/bin/cargo"


class Spec:
    def __init__(self, variant, dev_path=None):
        self.variant = variant
        self.dev_path = dev_path

    def satisfies(self, constraint):
        if constraint == "dev_path=*":
            return self.dev_path is not None
        return constraint == self.variant or (constraint == "platform=linux")

    def __getitem__(self, name):
        prefixes = {"rust": "/stand-in/spack/rust", "oneapi-level-zero": "/stand-in/spack/level-zero"}
        return types.SimpleNamespace(prefix=Prefix(prefixes[name]), external=False)


class Env:
    def __init__(self):
        self.prepended = []
        self.set_ = {}

    def prepend_path(self, name, value):
        self.prepended.append((name, value))

    def set(self, name, value):
        self.set_[name] = value


makefile_text = "".join(read(path) for path in MAKEFILES if os.path.exists(os.path.join(ROOT, path)))


def dry_run(call):
    """What make would run for this call, or None if make refuses it."""
    env = dict(os.environ, MAKEFLAGS="", MAKELEVEL="")
    done = subprocess.run(["make", "-n", "--no-print-directory", *call], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


for variant in ("+driver", "~driver"):
    package = object.__new__(package_class)
    package.spec = Spec(variant)
    package.prefix = PREFIX
    phases = {
        "build": list(package.build_targets),
        "install": list(package.install_targets),
    }
    callbacks = {
        "build_time_test_callbacks": list(getattr(package, "build_time_test_callbacks", [])),
        "install_time_test_callbacks": list(getattr(package, "install_time_test_callbacks", [])),
    }
    for callback_list in callbacks.values():
        for callback in callback_list:
            make_calls.clear()
            getattr(package, callback)()
            phases[callback] = [arg for call in make_calls for arg in call]
    check(callbacks["install_time_test_callbacks"] != [], f"{variant}: an install-time test is declared")

    outputs = {}
    for phase, call in phases.items():
        targets = [arg for arg in call if "=" not in arg]
        assignments = [arg for arg in call if "=" in arg]
        output = dry_run(call)
        outputs[phase] = output or ""
        check(output is not None and targets != [], f"{variant} {phase}: make -n {' '.join(targets)} is accepted")
        for assignment in assignments:
            name, value = assignment.split("=", 1)
            check(re.search(r"\$[({]" + re.escape(name) + r"[)}]", makefile_text) is not None,
                  f"{variant} {phase}: the Makefiles read {name}")
    # A variable make reads but ignores would leave its value out of every
    # command make runs.
    every_output = "".join(outputs.values())
    for assignment in sorted({arg for call in phases.values() for arg in call if "=" in arg}):
        name, value = assignment.split("=", 1)
        check(value in every_output, f"{variant}: {name}={value} shows in the commands make runs")

    install = outputs["install"]
    check(f"{PREFIX}/lib/libaml_dma_ze.so.{make_version}" in install
          and f"{PREFIX}/lib/cmake/aml-dma-ze" in install
          and f"{PREFIX}/lib/pkgconfig/aml-dma-ze.pc" in install,
          f"{variant} install: the library, CMake package and .pc file go into the package prefix")
    check(("install-driver" in phases["install"]) == (variant == "+driver")
          and ((f"{PREFIX}/lib/libswze.so" in install) == (variant == "+driver")),
          f"{variant} install: libswze.so is {'' if variant == '+driver' else 'not '}installed (install-driver only with +driver)")
    tests = "".join(outputs.get(c, "") for c in callbacks["install_time_test_callbacks"])
    check("examples/demo.c" in tests and "ZE_ENABLE_ALT_DRIVERS=" in tests and PREFIX in tests,
          f"{variant} install-time test: the demo is built against the prefix and run on the software driver")

    env = Env()
    package.setup_run_environment(env)
    check(env.prepended == [("LD_LIBRARY_PATH", "/stand-in/spack/level-zero/lib")],
          f"{variant}: the run environment finds the Level Zero loader the package was built for")

# Built from the release archive (any spec but a develop one) and from a
# checkout (spack dev-build, spack develop: dev_path is set).
for shape, dev_path in (("the archive", None), ("a checkout", ROOT)):
    package = object.__new__(package_class)
    package.spec = Spec("~driver", dev_path)
    package.prefix = PREFIX
    stage_path = "/stand-in/spack/stage/aml-dma-ze"
    package.stage = types.SimpleNamespace(path=stage_path, source_path=dev_path or stage_path + "/spack-src")
    env = Env()
    package.setup_build_environment(env)
    if dev_path is None:
        home = env.set_.get("CARGO_HOME", "")
        check(env.set_.get("CARGO_NET_OFFLINE") == "true" and home.startswith(stage_path + "/"),
              f"from {shape}, cargo is offline with its home in the stage")
    else:
        check(env.set_ == {}, f"from {shape}, cargo's network and home are left as they are")

print(f"spack-check: {'FAILED: ' + str(len(failed)) if failed else 'all passed'}")
sys.exit(1 if failed else 0)
