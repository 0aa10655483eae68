//! `AML_DMA_ZE_TRACE=1` prints each failing Level Zero call, each refused
//! argument of a public entry point (named, with the reason), the path each
//! dma takes (in-order lists or barriers) and the likely
//! cause of a failing `zeInit`; without it the library prints nothing. Each
//! case re-runs this binary in a child process (the environment is read once
//! per process, and Level Zero is initialised once).

mod common;

use std::ffi::c_void;
use std::process::Command;
use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;
use common::*;
use ze_sys::*;

const CHILD: &str = "AML_DMA_ZE_TRACE_TEST_CHILD";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// In the child: one failing call (a fault on zeContextCreate).
#[test]
fn child_fails_one_call() {
    if !in_child() {
        return;
    }
    let env = env();
    env.fail("zeContextCreate", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(Dma::with_queue(env.device(), 0, 0).err(), Some(-AML_ENOMEM));
}

/// In the child: every kind of refused argument, each with its code.
#[test]
fn child_refuses_arguments() {
    if !in_child() {
        return;
    }
    let env = env();
    let device = env.device();
    let mut dma = ptr::null_mut();
    // Readable memory that holds no dma and no request.
    let junk = vec![0u64; 4096];
    let junk_at = |i: usize| junk[i..].as_ptr() as *mut c_void;

    assert_eq!(aml_dma_ze_create(ptr::null_mut(), device, 0, 0), -AML_EINVAL);
    assert_eq!(aml_dma_ze_create(&mut dma, ptr::null_mut(), 0, 0), -AML_EINVAL);
    assert_eq!(aml_dma_ze_create(&mut dma, junk_at(64).cast(), 0, 0), -AML_EINVAL);
    assert_eq!(aml_dma_ze_create(&mut dma, device, 99, 0), -AML_EINVAL);
    assert_eq!(aml_dma_ze_create(&mut dma, device, 0, -2), -AML_EINVAL);
    assert_eq!(aml_dma_ze_create(&mut dma, device, 0, 99), -AML_EINVAL);

    let live = Dma::new(device);
    assert_eq!(aml_dma_ze_barrier(ptr::null_mut()), -AML_EINVAL);
    assert_eq!(aml_dma_ze_barrier(junk_at(2048).cast()), -AML_EINVAL);
    assert_eq!(aml_dma_ze_request_wait(live.data(), ptr::null_mut()), -AML_EINVAL);
    let mut req: *mut aml_dma_request = ptr::null_mut();
    assert_eq!(aml_dma_ze_request_wait(live.data(), &mut req), -AML_EINVAL);
    req = junk_at(1024).cast();
    assert_eq!(aml_dma_ze_request_wait(live.data(), &mut req), -AML_EINVAL);
    req = junk_at(1024).cast();
    assert_eq!(aml_dma_ze_request_destroy(live.data(), &mut req), -AML_EINVAL);

    // Operators: copy_1D of a NULL layout and of two sizes, memcpy_op called directly.
    let (mut small, mut large) = (Dense::new(&[16], 1, pattern(1)), Dense::new(&[32], 1, pattern(2)));
    let copy_1d: aml_dma_operator = Some(aml_dma_ze_copy_1D);
    let rc = aml_dma_ze_request_create(live.data(), &mut req, ptr::null_mut(), small.layout(), copy_1d, ptr::null_mut());
    assert_eq!(rc, -AML_EINVAL);
    let rc = aml_dma_ze_request_create(live.data(), &mut req, large.layout(), small.layout(), copy_1d, ptr::null_mut());
    assert_eq!(rc, -AML_EINVAL);
    let memcpy: aml_dma_operator = Some(aml_dma_ze_memcpy_op);
    let rc = aml_dma_ze_request_create(live.data(), &mut req, ptr::null_mut(), small.layout(), memcpy, 16 as *mut c_void);
    assert_eq!(rc, -AML_EINVAL);
    // SAFETY: a NULL arg is refused before anything is read.
    assert_eq!(unsafe { aml_dma_ze_memcpy_op(large.layout(), small.layout(), ptr::null_mut()) }, -AML_EINVAL);

    let mut not_a_dma = aml_dma { ops: ptr::null_mut(), data: ptr::null_mut() };
    let mut not_a_dma_ptr: *mut aml_dma = &mut not_a_dma;
    assert_eq!(aml_dma_ze_destroy(&mut not_a_dma_ptr), -AML_EINVAL);
    assert_eq!(aml_dma_ze_destroy(ptr::null_mut()), -AML_EINVAL);
    assert_eq!(live.destroy(), AML_SUCCESS);
}

/// In the child: a dma on the fast path, then one asked not to take it.
#[test]
fn child_creates_both_paths() {
    if !in_child() {
        return;
    }
    let env = env();
    drop(Dma::new(env.device()));
    drop(Dma::fenced(env.device()));
}

/// In the child: no driver the loader can load, through the default dma.
#[test]
fn child_has_no_driver() {
    if !in_child() {
        return;
    }
    assert_eq!(aml_dma_ze_default_setup(), -AML_ENOTSUP);
}

/// Runs `test` in a child with `vars` set (a `None` value removes the
/// variable) and returns its stderr.
fn run_child(test: &str, vars: &[(&str, Option<&str>)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--nocapture", "--test-threads=1"]).env(CHILD, "1");
    command.env("SWZE_LIB", driver_path());
    command.env_remove("AML_DMA_ZE_TRACE");
    for (name, value) in vars {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.output().expect("the test binary runs");
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn traced(test: &str) -> String {
    run_child(test, &[("AML_DMA_ZE_TRACE", Some("1"))])
}

#[test]
fn the_trace_names_the_failing_call_and_its_result() {
    let stderr = traced("child_fails_one_call");
    assert!(
        stderr.contains("aml_dma_ze: zeContextCreate failed: ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY"),
        "stderr: {stderr}"
    );
}

#[test]
fn the_trace_names_each_refused_argument_and_why() {
    let stderr = traced("child_refuses_arguments");
    for expected in [
        "aml_dma_ze: aml_dma_ze_create: dma is NULL",
        "aml_dma_ze: aml_dma_ze_create: device is NULL",
        ": not a device or subdevice of any Level Zero driver",
        "aml_dma_ze: aml_dma_ze_create: ordinal 99: the device has ",
        "aml_dma_ze: aml_dma_ze_create: index -2: queue group 0 of the device has 1 queue (indices 0 to 0, or -1 for every copy engine)",
        "aml_dma_ze: aml_dma_ze_create: index 99: queue group 0 of the device has ",
        "aml_dma_ze: aml_dma_ze_barrier: data is NULL",
        ": not the data of a live dma",
        "aml_dma_ze: aml_dma_ze_request_wait: req is NULL",
        "aml_dma_ze: aml_dma_ze_request_wait: *req is NULL",
        ": not a live request of this dma",
        "aml_dma_ze: aml_dma_ze_request_destroy: *req 0x",
        "aml_dma_ze: aml_dma_ze_copy_1D: dst 0x0: NULL",
        "aml_dma_ze: aml_dma_ze_copy_1D: dst holds 32 bytes, src 16: the sizes differ",
        "aml_dma_ze: aml_dma_ze_memcpy_op: arg is NULL",
        "aml_dma_ze: aml_dma_ze_request_create: dest is NULL: aml_dma_ze_memcpy_op copies between two pointers",
        "aml_dma_ze: aml_dma_ze_destroy: *dma 0x",
        "aml_dma_ze: aml_dma_ze_destroy: dma is NULL",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in stderr: {stderr}");
    }
    // The device's queue groups, as the driver reports them (a Max 1550 card), are in the message.
    assert!(stderr.contains("aml_dma_ze_create: ordinal 99: the device has 3 queue groups (ordinals 0 to 2)"), "stderr: {stderr}");
}

#[test]
fn the_trace_names_the_path_each_dma_takes() {
    let stderr = traced("child_creates_both_paths");
    for expected in [
        "aml_dma_ze: aml_dma_ze_create: ordinal 0, index 0: 1 list(s), in-order lists, counter-based events\n",
        "aml_dma_ze: aml_dma_ze_create: ordinal 0, index 0: 1 list(s), lists kept in order by barriers, events reset by the host\n",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in stderr: {stderr}");
    }
}

#[test]
fn a_failing_zeinit_names_the_likely_cause() {
    // No driver at all: the hint names ZE_ENABLE_ALT_DRIVERS and the software driver.
    let stderr = run_child("child_has_no_driver", &[("AML_DMA_ZE_TRACE", Some("1")), ("ZE_ENABLE_ALT_DRIVERS", None)]);
    assert!(stderr.contains("aml_dma_ze: zeInit failed: ZE_RESULT_ERROR_UNINITIALIZED"), "stderr: {stderr}");
    assert!(stderr.contains("aml_dma_ze: zeInit: no Level Zero driver found"), "stderr: {stderr}");
    assert!(stderr.contains("set ZE_ENABLE_ALT_DRIVERS to the absolute path of libswze.so"), "stderr: {stderr}");
    // A driver path that does not load: the hint names it.
    let stderr = run_child(
        "child_has_no_driver",
        &[("AML_DMA_ZE_TRACE", Some("1")), ("ZE_ENABLE_ALT_DRIVERS", Some("/nonexistent/libswze.so"))],
    );
    assert!(
        stderr.contains("aml_dma_ze: zeInit: no Level Zero driver could be loaded from ZE_ENABLE_ALT_DRIVERS=/nonexistent/libswze.so"),
        "stderr: {stderr}"
    );
}

#[test]
fn without_the_trace_nothing_is_printed() {
    for value in [None, Some("0")] {
        for test in ["child_fails_one_call", "child_refuses_arguments", "child_creates_both_paths"] {
            let stderr = run_child(test, &[("AML_DMA_ZE_TRACE", value)]);
            assert!(!stderr.contains("aml_dma_ze"), "stderr of {test} with AML_DMA_ZE_TRACE={value:?}: {stderr}");
        }
        let stderr = run_child("child_has_no_driver", &[("AML_DMA_ZE_TRACE", value), ("ZE_ENABLE_ALT_DRIVERS", None)]);
        assert!(!stderr.contains("aml_dma_ze"), "stderr with no driver, AML_DMA_ZE_TRACE={value:?}: {stderr}");
    }
}
