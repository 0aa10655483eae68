//! Without a usable Level Zero loader, create fails cleanly with -AML_ENOTSUP.
//! Its own test binary: the loader is opened once per process.

use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;

#[test]
fn a_missing_loader_makes_create_return_enotsup_every_time() {
    std::env::set_var("AML_DMA_ZE_LOADER", "/nonexistent/libze_loader.so.1");
    let mut dma = ptr::null_mut();
    let mut not_a_device = [0u64; 8];
    for _ in 0..2 {
        assert_eq!(aml_dma_ze_create(&mut dma, not_a_device.as_mut_ptr().cast(), 0, 0), -AML_ENOTSUP);
        assert!(dma.is_null());
    }
    assert_eq!(aml_dma_ze_default_setup(), -AML_ENOTSUP);
    // SAFETY: reading the exported variable.
    assert!(unsafe { ptr::addr_of!(aml_dma_ze_default).read() }.is_null());
    assert_eq!(aml_dma_ze_default_teardown(), 0);
    assert_eq!(aml_dma_ze_destroy(&mut dma), 0);
}
