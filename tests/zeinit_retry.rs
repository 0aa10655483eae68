//! A failing `zeInit` fails that create with -AML_ENOTSUP, and the next create
//! tries again and works: a transient failure must not disable the library
//! for the whole process. Its own test binary: the library calls `zeInit`
//! only until it first succeeds.
//!
//! The failure can happen only where the loader calls the driver's `zeInit`
//! again after the program's own (`env()`'s) succeeded: loader 1.8 does;
//! from 1.10 on, a loader runs `zeInit` once per process and answers every
//! later call with that result (oneapi-src/level-zero
//! `source/lib/ze_libapi.cpp`). There the library's `zeInit` never reaches
//! the driver and its dma simply works. (`ctests/test_faults.c` also makes
//! the process's first `zeInit` fail, which every loader keeps.)

mod common;

use aml_dma_ze::abi::*;
use common::{env, Dma, Env};
use ze_sys::{ze_result_t, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY, ZE_RESULT_SUCCESS};

/// Whether a `zeInit` after the program's own reaches the driver.
fn later_zeinit_reaches_the_driver(env: &Env) -> bool {
    // SAFETY: the loader `env()` opened and keeps loaded; RTLD_NOLOAD only finds it.
    let loader = unsafe { libloading::os::unix::Library::open(Some("libze_loader.so.1"), libc::RTLD_NOW | libc::RTLD_NOLOAD) }
        .expect("the loader env() opened");
    // SAFETY: zeInit's signature is that of ze_api.h.
    let init = unsafe { *loader.get::<unsafe extern "C" fn(u32) -> ze_result_t>(b"zeInit\0").expect("zeInit") };
    let before = env.calls("zeInit");
    // SAFETY: plain integer argument.
    assert_eq!(unsafe { init(0) }, ZE_RESULT_SUCCESS);
    env.calls("zeInit") > before
}

#[test]
fn a_failed_zeinit_is_tried_again_by_the_next_create() {
    let env = env();
    if !later_zeinit_reaches_the_driver(env) {
        let calls = env.calls("zeInit");
        env.fail("zeInit", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
        let dma = Dma::with_queue(env.device(), 0, 0).expect("create: the loader answers zeInit");
        assert_eq!(env.calls("zeInit"), calls, "the library's zeInit reached the driver");
        env.clear_faults();
        assert_eq!(dma.barrier(), 0);
        return;
    }
    env.fail("zeInit", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(Dma::with_queue(env.device(), 0, 0).err(), Some(-AML_ENOTSUP));
    env.clear_faults();
    let dma = Dma::with_queue(env.device(), 0, 0).expect("create after a failed zeInit");
    assert_eq!(dma.barrier(), 0);
}
