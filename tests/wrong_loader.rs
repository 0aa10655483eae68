//! A loader file lacking Level Zero entry points makes create return
//! -AML_ENOTSUP. Its own test binary: the loader is opened once per process.

use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;

#[test]
fn a_loader_without_the_entry_points_makes_create_return_enotsup() {
    // A real shared library, present on every glibc system, with no ze* symbol.
    std::env::set_var("AML_DMA_ZE_LOADER", "libm.so.6");
    let mut dma = ptr::null_mut();
    let mut not_a_device = [0u64; 8];
    assert_eq!(aml_dma_ze_create(&mut dma, not_a_device.as_mut_ptr().cast(), 0, 0), -AML_ENOTSUP);
    assert!(dma.is_null());
}
