# Spack package of aml-dma-ze, kept in the project's own repository (see
# packaging/spack/repo.yaml). `make spack-check` keeps it true to the
# Makefile and to the project's version.

import os

from spack.package import *

try:  # Spack >= 1.0: the build systems live in the builtin package repository
    from spack_repo.builtin.build_systems.makefile import MakefilePackage
except ImportError:  # Spack < 1.0 exports them from spack.package
    pass


class AmlDmaZe(MakefilePackage):
    """Drop-in replacement, written in Rust, for AML's Level Zero DMA engine
    (aml_dma_ze_*): link libaml_dma_ze.so ahead of libaml, or LD_PRELOAD it.
    The +driver variant also installs swze (libswze.so), a software Level
    Zero driver that the Level Zero loader loads through
    ZE_ENABLE_ALT_DRIVERS, to run Level Zero programs without a GPU."""

    # The release archive is `make dist`'s build/aml-dma-ze-<version>.tar.gz.
    # No public host serves it: a site copies it into its Spack mirror as
    # _source-cache/archive/<sha256[:2]>/<sha256>.tar.gz (docs/install.md),
    # where Spack 0.23 and later look before the url. The url's host is reserved never to resolve
    # (RFC 2606 .invalid), so a fetch that misses the mirror fails at once.
    # A checkout builds too: `spack dev-build aml-dma-ze@0.1.0` in it, or
    # `spack develop` in an environment.
    url = "https://aml-dma-ze.invalid/releases/aml-dma-ze-0.1.0.tar.gz"

    # The version is the project's own (Makefile VERSION). The sha256 is that
    # of make dist's archive of the release commit: `make spack-sha` writes it,
    # `make spack-check` compares it (packaging/spack/README.md).
    version("0.1.0", sha256="4ef3ca2822be459a6dc56cb4c6bc130f14d9e2fe191beec33c6b035141eb9847")

    variant(
        "driver",
        default=False,
        description="Also install the software Level Zero driver libswze.so and swze.h",
    )

    requires("platform=linux", msg="Level Zero and the library are Linux-only")

    depends_on("c", type="build")
    # The newest rust-version among the locked dependencies (make spack-check
    # compares it with `cargo metadata`).
    depends_on("rust@1.88:", type="build")
    depends_on("gmake", type="build")
    # installcheck builds the demo with pkg-config.
    depends_on("pkgconfig", type="build")
    # Level Zero: aml/dma/ze.h includes <level_zero/ze_api.h>, so the headers
    # are needed to build the tests and by every dependent that includes ours
    # (build, link: dependents get its include directory). The library never
    # links the loader (no DT_NEEDED): it dlopens libze_loader.so.1 on its
    # first aml_dma_ze_create, so the loader must be findable at run time
    # (run, and setup_run_environment below). 1.8 is the oldest loader tested.
    depends_on("oneapi-level-zero@1.8:", type=("build", "link", "run"))

    def setup_build_environment(self, env):
        # Compute nodes have no network: the release archive (the source of
        # every build but a develop one) holds every crate in vendor/ and a
        # .cargo/config.toml that uses them, so cargo stays offline, with its
        # home inside the stage so that nothing outside it is read or written.
        # Spack sets this up before it unpacks the source, hence the spec and
        # not the source decides. A checkout (spack dev-build, spack develop:
        # dev_path is set) has no vendor/ and fetches its crates as a plain
        # cargo build does.
        if not self.spec.satisfies("dev_path=*"):
            env.set("CARGO_NET_OFFLINE", "true")
            env.set("CARGO_HOME", join_path(self.stage.path, "cargo-home"))

    def _cargo(self):
        # A rust external may name the toolchain (bin/cargo under it) or, as
        # `spack external find rust` records a rustup install, the folder
        # holding cargo itself (~/.cargo/bin).
        prefix = self.spec["rust"].prefix
        for candidate in (join_path(prefix, "bin", "cargo"), join_path(prefix, "cargo")):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return join_path(prefix, "bin", "cargo")

    def _make_args(self):
        return [f"PREFIX={self.prefix}", f"CARGO={self._cargo()}"]

    @property
    def build_targets(self):
        return ["all"] + self._make_args()

    @property
    def install_targets(self):
        targets = ["install"]
        if self.spec.satisfies("+driver"):
            targets.append("install-driver")
        return targets + self._make_args()

    # `spack install --test=root`: at build time the demo runs from the
    # build tree on the software driver; after install it is built again
    # against the installed prefix (pkg-config only) and run on the driver
    # (the installed one with +driver, else the build tree's).
    build_time_test_callbacks = ["check"]
    install_time_test_callbacks = ["installcheck"]

    def check(self):
        make("demo", *self._make_args())

    def installcheck(self):
        make("installcheck", *self._make_args())

    # `spack test run aml-dma-ze`: the demo, kept from the source at install
    # time, built against the installed prefix and run; with +driver on the
    # installed software driver, else on whatever Level Zero driver the
    # machine has.
    test_requires_compiler = True

    @run_after("install")
    def cache_demo(self):
        cache_extra_test_sources(self, [join_path("examples", "demo.c")])

    def test_demo(self):
        """build the demo against the installed prefix and move 256 MiB through it"""
        source = join_path(self.test_suite.current_test_cache_dir, "examples", "demo.c")
        loader = self.spec["oneapi-level-zero"].prefix
        compiler = which(os.environ.get("CC", "cc"), "cc", "gcc", required=True)
        compiler(
            "-std=c11", "-O2", "-D_GNU_SOURCE", "-o", "demo", source,
            f"-I{self.prefix.include}", f"-I{loader.include}",
            f"-L{self.prefix.lib}", f"-Wl,-rpath,{self.prefix.lib}", "-laml_dma_ze",
            f"-L{loader.lib}", f"-L{loader.lib64}", "-lze_loader",
        )
        environment = {}
        if self.spec.satisfies("+driver"):
            environment["ZE_ENABLE_ALT_DRIVERS"] = join_path(self.prefix.lib, "libswze.so")
        demo = Executable(join_path(os.getcwd(), "demo"))
        output = demo(output=str, error=str, extra_env=environment)
        assert "identical" in output, f"the demo did not verify its bytes: {output}"

    def setup_run_environment(self, env):
        # `spack load aml-dma-ze`: a program built with pkg-config (which
        # Spack points at lib/pkgconfig) finds libaml_dma_ze.so.0 at run time,
        # as a site's module would make it.
        env.prepend_path("LD_LIBRARY_PATH", self.prefix.lib)
        # Where dlopen("libze_loader.so.1") finds the loader this was built
        # for; a loader in /usr is on the dynamic linker's default path.
        loader = self.spec["oneapi-level-zero"]
        if loader.prefix in ("/", "/usr"):
            return
        libs = find_libraries("libze_loader", root=loader.prefix, shared=True, recursive=True)
        for directory in libs.directories:
            env.prepend_path("LD_LIBRARY_PATH", directory)
