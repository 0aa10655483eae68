//! A failing `zeInit` fails that create with -AML_ENOTSUP, and the next create
//! tries again and works: a transient failure must not disable the library
//! for the whole process. Its own test binary: the library calls `zeInit`
//! only until it first succeeds.

mod common;

use aml_dma_ze::abi::*;
use common::{env, Dma};
use ze_sys::ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY;

#[test]
fn a_failed_zeinit_is_tried_again_by_the_next_create() {
    let env = env();
    env.fail("zeInit", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(Dma::with_queue(env.device(), 0, 0).err(), Some(-AML_ENOTSUP));
    env.clear_faults();
    let dma = Dma::with_queue(env.device(), 0, 0).expect("create after a failed zeInit");
    assert_eq!(dma.barrier(), 0);
}
