//! `libaml_dma_ze.so`: a drop-in replacement for AML's Level Zero DMA engine
//! (`aml_dma_ze_*`), reaching Level Zero through `libze_loader.so.1` opened at
//! run time. See ARCHITECTURE.md for the map of the modules.

pub mod abi;
mod append_lock;
pub mod capi;
mod copy_nd;
mod default_dma;
mod diag;
mod dependencies;
// A dma (one list, and several lanes) against the fake driver.
#[cfg(test)]
mod dma_fake_tests;
mod fence;
pub mod engine;
mod lifecycle;
pub mod error;
pub mod events;
mod pending;
mod footprint;
mod free_stack;
mod host_ranges;
mod in_order;
mod lanes;
// The lanes' lock protocol, their real code under loom (make loom-check).
#[cfg(all(test, loom))]
mod lanes_loom;
pub mod layout;
mod level_zero;
mod loader;
pub mod operator;
mod operators;
mod placement;
mod request_block;
mod split;
mod spread;
mod sync;
