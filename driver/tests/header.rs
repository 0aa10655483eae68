//! `include/swze.h` compiles warning-free as C11 and its `swze_api_load`
//! finds the driver the loader loaded, from a program linking only the loader.

mod support;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_c_program_reaches_the_control_api_through_swze_api_load() {
    let driver = support::driver_path();
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let program = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("swze_header");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(compiler)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&program)
        .arg(crate_dir.join("tests/swze_header.c"))
        .arg("-I")
        .arg(crate_dir.join("include"))
        .args(["-lze_loader", "-ldl"])
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "swze_header.c did not compile");
    let output = Command::new(&program).env("ZE_ENABLE_ALT_DRIVERS", &driver).output().expect("run swze_header");
    assert!(
        output.status.success(),
        "swze_header failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "swze.h: ok");
}
