//! The C API's argument checking, queue validation, the default dma, the
//! exported symbol set, the soname, and the committed header being current.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;
use common::*;

#[test]
fn null_and_foreign_arguments_are_refused_and_nulls_are_accepted_where_documented() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());

    assert_eq!(aml_dma_ze_create(ptr::null_mut(), env.device(), 0, 0), -AML_EINVAL);
    let mut out = ptr::null_mut();
    assert_eq!(aml_dma_ze_create(&mut out, ptr::null_mut(), 0, 0), -AML_EINVAL);
    let mut not_a_device = [0u64; 64];
    assert_eq!(aml_dma_ze_create(&mut out, not_a_device.as_mut_ptr().cast(), 0, 0), -AML_EINVAL);
    assert!(out.is_null());

    assert_eq!(aml_dma_ze_destroy(ptr::null_mut()), -AML_EINVAL);
    let mut null_dma: *mut aml_dma = ptr::null_mut();
    assert_eq!(aml_dma_ze_destroy(&mut null_dma), 0, "destroy(&NULL) succeeds");

    assert_eq!(aml_dma_ze_barrier(ptr::null_mut()), -AML_EINVAL);
    let mut foreign = [0u64; 32];
    let foreign_data = foreign.as_mut_ptr().cast::<aml_dma_data>();
    assert_eq!(aml_dma_ze_barrier(foreign_data.wrapping_byte_add(64)), -AML_EINVAL, "foreign data is refused");

    let mut req = ptr::null_mut();
    assert_eq!(aml_dma_ze_request_create(ptr::null_mut(), &mut req, ptr::null_mut(), ptr::null_mut(), None, ptr::null_mut()), -AML_EINVAL);
    assert_eq!(aml_dma_ze_request_wait(dma.data(), ptr::null_mut()), -AML_EINVAL);
    assert_eq!(aml_dma_ze_request_wait(dma.data(), &mut req), -AML_EINVAL, "wait(&NULL)");
    assert_eq!(aml_dma_ze_request_destroy(dma.data(), ptr::null_mut()), 0, "destroy(NULL req)");
    assert_eq!(aml_dma_ze_request_destroy(dma.data(), &mut req), 0, "destroy(&NULL)");
    let mut fake_request = [0u64; 8];
    let mut fake = fake_request.as_mut_ptr().cast::<aml_dma_request>();
    assert_eq!(aml_dma_ze_request_wait(dma.data(), &mut fake), -AML_EINVAL, "a foreign request is refused");
    assert!(!fake.is_null());

    // A request belongs to the dma that made it.
    let other = Dma::new(env.device());
    let mut src = Dense::new(&[8], 1, pattern(1));
    let mut dst = Dense::new(&[8], 1, |_| 0);
    let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(other.wait(&mut req), -AML_EINVAL);
    assert_eq!(dma.wait(&mut req), 0);
    assert_eq!(other.destroy(), 0);
}

#[test]
fn queue_ordinal_and_index_are_validated() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    // The Max 1550 model's composite root, as Intel's driver reports one:
    // group 0 compute (1 queue), 1 the main copy engine, 2 the 7 link copy engines.
    assert!(Dma::with_queue(env.device(), 0, 0).is_ok());
    assert!(Dma::with_queue(env.device(), 1, 0).is_ok());
    assert!(Dma::with_queue(env.device(), 2, 6).is_ok());
    // Index -1 (the extension) is every copy engine, from the group's first queue; -2 is nothing.
    assert!(Dma::with_queue(env.device(), 1, -1).is_ok());
    for (ordinal, index) in [(0, 1), (1, 1), (2, 7), (3, 0), (-1, 0), (0, -2), (3, -1), (i32::MAX, 0)] {
        assert_eq!(Dma::with_queue(env.device(), ordinal, index).err(), Some(-AML_EINVAL), "ordinal {ordinal} index {index}");
    }
    assert_eq!(env.live_objects(), baseline, "nothing leaked");
}

#[test]
fn the_default_dma_is_set_up_once_and_torn_down() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    // SAFETY: reading the exported variable; writers are serialised by the library.
    let read = || unsafe { ptr::addr_of!(aml_dma_ze_default).read_volatile() };
    assert!(read().is_null());
    assert_eq!(aml_dma_ze_default_teardown(), 0, "teardown with nothing set up does nothing");
    let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(|| aml_dma_ze_default_setup())).collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap() == 0));
    let dma = read();
    assert!(!dma.is_null());
    assert_eq!(aml_dma_ze_default_setup(), 0);
    assert_eq!(read(), dma, "setup is idempotent");
    assert_eq!(env.live("context"), baseline[0] + 1, "exactly one default dma");
    // It works.
    let wrapped = std::mem::ManuallyDrop::new(Dma(dma));
    let mut src = Dense::new(&[100], 1, pattern(7));
    let mut dst = Dense::new(&[100], 1, |_| 0);
    let mut req = wrapped.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(wrapped.wait(&mut req), 0);
    assert!(dst.bytes == src.bytes);
    // SAFETY: a live dma.
    assert_eq!(unsafe { (*(*dma).data.cast::<aml_dma_ze_data>()).device }, env.device(), "first device of the first driver");
    assert_eq!(aml_dma_ze_default_teardown(), 0);
    assert!(read().is_null());
    assert_eq!(env.live_objects(), baseline);
    assert_eq!(aml_dma_ze_default_teardown(), 0, "teardown is idempotent");
}

/// The cdylib cargo built next to this test binary.
fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let lib = dir.join("libaml_dma_ze.so");
    assert!(lib.exists(), "{} exists", lib.display());
    lib
}

#[test]
fn the_library_exports_exactly_the_aml_dma_ze_abi() {
    let output = Command::new("nm").args(["-D", "--defined-only"]).arg(cdylib()).output().expect("nm runs");
    assert!(output.status.success());
    let mut exported: Vec<(String, String)> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().rev();
            let name = fields.next()?.to_owned();
            let kind = fields.next()?.to_owned();
            Some((name, kind))
        })
        .collect();
    exported.sort();
    let mut expected: Vec<(String, String)> = [
        ("aml_dma_ze_barrier", "T"),
        ("aml_dma_ze_copy_1D", "T"),
        ("aml_dma_ze_copy_nd", "T"),
        ("aml_dma_ze_create", "T"),
        ("aml_dma_ze_default", "B"),
        ("aml_dma_ze_default_setup", "T"),
        ("aml_dma_ze_default_teardown", "T"),
        ("aml_dma_ze_destroy", "T"),
        ("aml_dma_ze_host_imports", "T"),
        ("aml_dma_ze_host_prepare", "T"),
        ("aml_dma_ze_host_release", "T"),
        ("aml_dma_ze_memcpy_op", "T"),
        ("aml_dma_ze_ops", "D"),
        ("aml_dma_ze_request_create", "T"),
        ("aml_dma_ze_request_destroy", "T"),
        ("aml_dma_ze_request_wait", "T"),
    ]
    .iter()
    .map(|(n, k)| (n.to_string(), k.to_string()))
    .collect();
    expected.sort();
    assert_eq!(exported, expected);
}

#[test]
fn the_library_has_a_versioned_soname() {
    let output = Command::new("readelf").arg("-d").arg(cdylib()).output().expect("readelf runs");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Library soname: [libaml_dma_ze.so.0]"), "{text}");
    assert!(!text.contains("libze_loader"), "Level Zero is never linked: {text}");
}

/// build.rs rewrites include/ on every build, so the working file is always
/// fresh: compare with the header in the last commit, which is what ships.
/// (Outside a git checkout, the working file is all there is.)
#[test]
fn the_committed_header_is_what_cbindgen_generates() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new().with_crate(&root).with_config(config).generate().unwrap();
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let committed = Command::new("git")
        .args(["show", "HEAD:include/aml/dma/ze.h"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| output.stdout)
        .unwrap_or_else(|| std::fs::read(root.join("include/aml/dma/ze.h")).unwrap());
    assert!(fresh == committed, "include/aml/dma/ze.h in HEAD is stale: build, then commit the regenerated header");
}

#[test]
fn the_header_compiles_alone_as_strict_c11() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("aml_dma_ze_header_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("use.c");
    std::fs::write(
        &source,
        "#include <aml/dma/ze.h>\n\
         _Static_assert(sizeof(struct aml_dma_ze_data) == 72, \"data\");\n\
         _Static_assert(sizeof(struct aml_dma_ze_request) == 24, \"request\");\n\
         _Static_assert(sizeof(struct aml_dma_ops) == 40, \"ops\");\n\
         int use(void) { struct aml_dma *dma = aml_dma_ze_default; return aml_dma_ze_destroy(&dma) == -AML_EINVAL; }\n",
    )
    .unwrap();
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "-o"])
        .arg(dir.join("use.o"))
        .arg("-I")
        .arg(root.join("include"))
        .arg(&source)
        .status()
        .expect("gcc runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(status.success());
}
