//! `AML_DMA_ZE_TRACE=1` prints each failing Level Zero call; without it the
//! library prints nothing. Each case re-runs this binary in a child process
//! (the environment is read once per process).

mod common;

use std::process::Command;

use aml_dma_ze::abi::*;
use common::*;
use ze_sys::*;

const CHILD: &str = "AML_DMA_ZE_TRACE_TEST_CHILD";

/// In the child: one failing call (a fault on zeContextCreate).
#[test]
fn child_fails_one_call() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let env = env();
    env.fail("zeContextCreate", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(Dma::with_queue(env.device(), 0, 0).err(), Some(-AML_ENOMEM));
}

fn run_child(trace: Option<&str>) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "child_fails_one_call", "--nocapture", "--test-threads=1"]).env(CHILD, "1");
    command.env("SWZE_LIB", driver_path());
    match trace {
        Some(value) => command.env("AML_DMA_ZE_TRACE", value),
        None => command.env_remove("AML_DMA_ZE_TRACE"),
    };
    let output = command.output().expect("the test binary runs");
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_trace_names_the_failing_call_and_its_result() {
    let stderr = run_child(Some("1"));
    assert!(
        stderr.contains("aml_dma_ze: zeContextCreate failed: ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY"),
        "stderr: {stderr}"
    );
}

#[test]
fn without_the_trace_nothing_is_printed() {
    for value in [None, Some("0")] {
        let stderr = run_child(value);
        assert!(!stderr.contains("aml_dma_ze"), "stderr with AML_DMA_ZE_TRACE={value:?}: {stderr}");
    }
}
