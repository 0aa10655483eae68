//! `libaml_dma_ze.so`: a drop-in replacement for AML's Level Zero DMA engine
//! (`aml_dma_ze_*`), reaching Level Zero through `libze_loader.so.1` opened at
//! run time. See ARCHITECTURE.md for the map of the modules.

pub mod abi;
pub mod capi;
mod copy_nd;
mod default_dma;
pub mod engine;
pub mod error;
pub mod events;
mod free_stack;
// A model of `queues`' lock protocol, checked by loom (make loom-check).
#[cfg(all(test, loom))]
mod lane_protocol;
pub mod layout;
mod loader;
mod queues;
mod sync;
