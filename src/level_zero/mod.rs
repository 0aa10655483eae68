//! The library's safe Level Zero layer, over `loader`'s table of entry points
//! (which is to this layer what cudarc's `driver::result` is to its `safe`):
//! code above it names no raw handle, reads no raw result code and writes no
//! `unsafe` for a Level Zero call, except where C's memory is vouched for.
//!
//! - Owners, never `Clone`, each destroyed on drop: `Context`,
//!   `ImmediateList`, `EventPool` (with every event made in it). Once the
//!   process exits (`loader::exiting`) a drop calls no driver: Level Zero may
//!   be gone, so teardown only frees memory.
//! - Names, `Copy`, never destroyed through them: `Driver` and `Device`
//!   (Level Zero's own, alive for the process; a `Device` is only made by
//!   enumerating a driver's devices, so a caller's handle becomes one only once
//!   found there), and `Event` (made only by its `EventPool`, alive as long as
//!   the pool: a dma's pools are dropped only at its destroy, once no entry
//!   uses it, so the events its request blocks name stay valid meanwhile).
//! - Appends go through an `Appender`: Level Zero's lists are not
//!   thread-safe, and an appender is made only by the holder of its list's
//!   lock (`ImmediateList::appender`, whose caller vouches for that: the
//!   dma's append lock for its first list, a lane's lock for each other).
//! - A copy appends a `Copy`, whose constructor is where a copy's pointers are
//!   vouched for.
//! - Level Zero's count-then-fill queries go through one helper,
//!   `topology::enumerate`.

mod context;
mod event;
// A scripted fake driver, behind `loader::Ze::from_entries`, for unit tests.
#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod fake_tests;
mod list;
mod newer;
mod topology;

pub use context::{Context, Memory};
pub use event::{Event, EventPool, WaitList};
pub use list::{Appender, Copy, ImmediateList};
pub(crate) use newer::{COMMAND_QUEUE_FLAG_IN_ORDER, COUNTER_BASED_EXTENSION};
pub use topology::{Device, Driver, HostImport};
