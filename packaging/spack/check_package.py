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
    stage, and from a checkout (dev_path) leaves cargo be;
  - it finds cargo whether the rust external's prefix is the toolchain
    (bin/cargo under it) or the folder holding cargo (what `spack external
    find rust` records for rustup's ~/.cargo/bin);
  - `spack load` puts its lib/ on LD_LIBRARY_PATH (a program built with
    pkg-config runs), and the loader's where it is not in /usr;
  - `spack test run`: the demo's source is kept at install (run_after
    install), and test_demo builds it against the installed prefix with the
    Level Zero loader, runs it (on the installed libswze.so with +driver
    only) and checks its verdict.
Prints one line per check and exits 1 if any failed."""

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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


run_after_hooks = []


def run_after(phase, when=None):
    def register(method):
        run_after_hooks.append((phase, method.__name__))
        return method

    return register


cached_test_sources = []


def cache_extra_test_sources(pkg, srcs):
    cached_test_sources.extend([srcs] if isinstance(srcs, str) else srcs)


commands = []  # (program, args, kwargs) of every Executable or which() call


class Executable:
    def __init__(self, path):
        self.path = path

    def __call__(self, *args, **kwargs):
        commands.append((self.path, list(args), kwargs))
        return "  verified 268435456 bytes: identical\n" if kwargs.get("output") is str else None


def which(*names, required=False):
    return Executable(names[0])


stand_in = types.ModuleType("spack.package")
for name in ("version", "variant", "depends_on", "requires", "conflicts"):
    setattr(stand_in, name, directive(name))
stand_in.MakefilePackage = MakefilePackage
stand_in.find_libraries = find_libraries
stand_in.make = make
stand_in.join_path = os.path.join
stand_in.run_after = run_after
stand_in.cache_extra_test_sources = cache_extra_test_sources
stand_in.Executable = Executable
stand_in.which = which
stand_in.__all__ = [
    "version", "variant", "depends_on", "requires", "conflicts",
    "MakefilePackage", "find_libraries", "make", "join_path",
    "run_after", "cache_extra_test_sources", "Executable", "which",
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

# The url's file name is make dist's archive, with the version in it (a
# mirror holds the archive by its sha256; Spack checks it against the url's
# name and the version's sha256).
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


# A rust external's prefix as a toolchain holds bin/cargo; so does the
# stand-in's. Both shapes are checked further down.
TOOLCHAINS = tempfile.mkdtemp(prefix="spack-check-rust-")
RUST = Prefix(os.path.join(TOOLCHAINS, "toolchain"))
os.makedirs(RUST.bin)
for cargo in (os.path.join(RUST.bin, "cargo"), os.path.join(TOOLCHAINS, "cargo-bin", "cargo")):
    os.makedirs(os.path.dirname(cargo), exist_ok=True)
    with open(cargo, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(cargo, 0o755)
CARGO = os.path.join(RUST.bin, "cargo")


class Spec:
    def __init__(self, variant, dev_path=None, rust=None):
        self.variant = variant
        self.dev_path = dev_path
        self.rust = rust or RUST

    def satisfies(self, constraint):
        if constraint == "dev_path=*":
            return self.dev_path is not None
        return constraint == self.variant or (constraint == "platform=linux")

    def __getitem__(self, name):
        prefixes = {"rust": self.rust, "oneapi-level-zero": "/stand-in/spack/level-zero"}
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
    check(env.prepended == [("LD_LIBRARY_PATH", f"{PREFIX}/lib"), ("LD_LIBRARY_PATH", "/stand-in/spack/level-zero/lib")],
          f"{variant}: spack load puts the library and the Level Zero loader it was built for on LD_LIBRARY_PATH")

    # spack test run: what install keeps, what the test builds and runs.
    run_after_hooks_seen = [name for phase, name in run_after_hooks if phase == "install"]
    cached_test_sources.clear()
    for name in run_after_hooks_seen:
        getattr(package, name)()
    check(cached_test_sources == ["examples/demo.c"] and os.path.isfile(os.path.join(ROOT, "examples", "demo.c")),
          f"{variant}: install keeps examples/demo.c for spack test run")
    tests = sorted(name for name in dir(package_class) if name.startswith("test_") and callable(getattr(package_class, name)))
    check(tests == ["test_demo"] and getattr(package_class, "test_demo").__doc__,
          f"{variant}: spack test run finds test_demo, with its purpose")
    commands.clear()
    cache_dir = Prefix("/stand-in/spack/test-stage/cache/aml-dma-ze")
    package.test_suite = types.SimpleNamespace(current_test_cache_dir=cache_dir)
    package.test_demo()
    build = next((args for program, args, _ in commands if "-laml_dma_ze" in args), [])
    runs = [kwargs for program, args, kwargs in commands if program.endswith("/demo")]
    check(f"{cache_dir}/examples/demo.c" in build and f"-I{PREFIX}/include" in build and f"-L{PREFIX}/lib" in build
          and "-lze_loader" in build,
          f"{variant} spack test run: the demo is built from the kept source against the prefix and the loader")
    driver = runs[0].get("extra_env", {}).get("ZE_ENABLE_ALT_DRIVERS") if runs else None
    check(len(runs) == 1 and driver == (f"{PREFIX}/lib/libswze.so" if variant == "+driver" else None),
          f"{variant} spack test run: the demo runs on " + ("the installed libswze.so" if variant == "+driver" else "the machine's driver"))

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

# The rust external as `spack external find rust` records rustup's: the
# folder holding cargo is the prefix.
package = object.__new__(package_class)
package.spec = Spec("~driver", rust=Prefix(os.path.join(TOOLCHAINS, "cargo-bin")))
package.prefix = PREFIX
check(f"CARGO={TOOLCHAINS}/cargo-bin/cargo" in package._make_args(),
      "a rust external whose prefix is the folder holding cargo: CARGO is that cargo")
package.spec = Spec("~driver")
check(f"CARGO={CARGO}" in package._make_args(), "a rust external whose prefix is the toolchain: CARGO is its bin/cargo")

shutil.rmtree(TOOLCHAINS, ignore_errors=True)
print(f"spack-check: {'FAILED: ' + str(len(failed)) if failed else 'all passed'}")
sys.exit(1 if failed else 0)
