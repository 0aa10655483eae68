//! A C program (PIE, the Debian default) built against the generated header
//! and linked to the cdylib: it owns copy-relocated copies of
//! `aml_dma_ze_default` and `aml_dma_ze_ops`, and must see the library's
//! writes and `dma->ops == &aml_dma_ze_ops`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

#[test]
fn a_pie_program_sees_the_default_dma_and_its_own_ops_address() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::current_exe().unwrap();
    let cdylib = exe.parent().unwrap().parent().unwrap().join("libaml_dma_ze.so");
    let dir = std::env::temp_dir().join(format!("aml_dma_ze_pie_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The soname is libaml_dma_ze.so.0: give the dynamic linker that name.
    let versioned = dir.join("libaml_dma_ze.so.0");
    let _ = std::fs::remove_file(&versioned);
    std::os::unix::fs::symlink(&cdylib, &versioned).unwrap();
    let program = dir.join("pie_default");
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIE", "-pie", "-o"])
        .arg(&program)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("tests/c/pie_default.c"))
        .arg(&versioned)
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .status()
        .expect("gcc runs");
    assert!(status.success(), "the C program builds");

    let relocations = Command::new("readelf").arg("-rW").arg(&program).output().unwrap();
    let relocations = String::from_utf8_lossy(&relocations.stdout);
    let copied = |name: &str| relocations.lines().any(|l| l.contains("R_X86_64_COPY") && l.contains(name));
    assert!(copied("aml_dma_ze_default") && copied("aml_dma_ze_ops"), "the program owns copies: {relocations}");

    let output = Command::new(&program)
        .env("ZE_ENABLE_ALT_DRIVERS", driver_path())
        .output()
        .expect("the C program runs");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(output.status.code(), Some(0), "exit code names the failed check; stderr: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn preloading_into_a_program_that_never_uses_level_zero_loads_nothing() {
    let exe = std::env::current_exe().unwrap();
    let cdylib = exe.parent().unwrap().parent().unwrap().join("libaml_dma_ze.so");
    let output = Command::new("/bin/true")
        .env("LD_PRELOAD", &cdylib)
        .env("LD_DEBUG", "files")
        .env("ZE_ENABLE_ALT_DRIVERS", driver_path())
        .output()
        .expect("/bin/true runs");
    assert!(output.status.success());
    let trace = String::from_utf8_lossy(&output.stderr);
    assert!(trace.contains("libaml_dma_ze.so"), "the library was preloaded: {trace}");
    assert!(!trace.contains("libze_loader") && !trace.contains("libswze"), "nothing of Level Zero at load time: {trace}");
    assert!(output.stdout.is_empty());
}
