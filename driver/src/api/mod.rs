//! The front: one module per Level Zero object, each with its entry points,
//! argument rules (Intel's by default, the spec's under `SWZE_STRICT`), handle
//! registry and object lifetimes. The front decides what a call means; the
//! backend (`crate::backend`) makes it happen. An object whose code outgrew
//! one file is split by job: the driver into `driver` (zeInit, the driver's
//! queries), `device` (the devices' queries) and `topology` (their
//! arrangement); command lists into `command_list` (the list, its recording
//! and replay), `append` (the append entry points) and `reach` (what a copy
//! may touch).
//!
//! Imports run one way: `command_queue` → `command_list` → `event` →
//! `context` → `allocations`, `append` → `command_list`, `reach` (→
//! `allocations`), `command_queue` → `fence`, `memory`, `virtual_memory` →
//! `context`, and all of them → `driver` (devices, the backend) →
//! `topology`, which names only the backend; `device` names `driver`;
//! `host_pointer` (`zeDriverGetExtensionFunctionAddress` and Intel's
//! host-pointer import) names `driver`, and `counter` and `event` for Intel's
//! counter-based create function; `counter` (counter-based events'
//! generations, Intel's rules, the newer flags) is named by `event`,
//! `command_list`, `driver` and `host_pointer`, and names no other module of
//! the front.

mod allocations;
pub mod append;
pub mod command_list;
pub mod command_queue;
pub mod context;
pub mod counter;
pub mod device;
pub mod driver;
pub mod event;
pub mod fence;
pub mod host_pointer;
pub mod memory;
mod reach;
mod topology;
pub mod virtual_memory;
