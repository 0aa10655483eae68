//! A dma destroyed during process exit (from an `atexit` handler that runs
//! after Level Zero's own teardown) frees its memory without calling Level
//! Zero. The case runs in a child process that exits for real.

mod common;

use std::process::Command;

use aml_dma_ze::capi::*;
use common::*;

const CHILD: &str = "AML_DMA_ZE_EXIT_TEST_CHILD";

extern "C" fn teardown_at_exit() {
    let env = env();
    let level_zero_calls = || env.calls("zeContextDestroy") + env.calls("zeCommandListDestroy") + env.calls("zeEventDestroy");
    let before = level_zero_calls();
    let rc = aml_dma_ze_default_teardown();
    eprintln!("teardown at exit returned {rc} after {} Level Zero calls", level_zero_calls() - before);
}

#[test]
fn child_destroys_at_exit() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // Registered before the loader is opened, so it runs after the loader's teardown.
    // SAFETY: a plain function registered once.
    unsafe { libc::atexit(teardown_at_exit) };
    let env = env();
    assert_eq!(aml_dma_ze_default_setup(), 0);
    let _ = env.device();
}

#[test]
fn destroying_during_process_exit_is_safe() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_destroys_at_exit", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("SWZE_LIB", driver_path())
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child: {:?} {stderr}", output.status);
    assert!(stderr.contains("teardown at exit returned 0 after 0 Level Zero calls"), "stderr: {stderr}");
}
