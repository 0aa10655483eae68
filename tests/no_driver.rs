//! The real loader with no driver it can load: `zeInit` fails, so create
//! returns -AML_ENOTSUP. Its own test binary: Level Zero is initialised once
//! per process.

use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;

#[test]
fn zeinit_failing_makes_create_return_enotsup() {
    std::env::set_var("ZE_ENABLE_ALT_DRIVERS", "/nonexistent/libno_such_driver.so");
    let mut dma = ptr::null_mut();
    let mut not_a_device = [0u64; 8];
    assert_eq!(aml_dma_ze_create(&mut dma, not_a_device.as_mut_ptr().cast(), 0, 0), -AML_ENOTSUP);
    assert!(dma.is_null());
    assert_eq!(aml_dma_ze_default_setup(), -AML_ENOTSUP);
}
