//! The library's safe Level Zero layer, over `loader`'s table of entry points
//! (which is to this layer what cudarc's `driver::result` is to its `safe`):
//! code above it names no raw handle, reads no raw result code and writes no
//! `unsafe` for a Level Zero call, except where C's memory is vouched for.
//!
//! - Names, `Copy`, never destroyed through them: `Driver` and `Device`
//!   (Level Zero's own, alive for the process; a `Device` is only made by
//!   enumerating a driver's devices, so a caller's handle becomes one only once
//!   found there).
//! - A copy appends a `Copy`, whose constructor is where a copy's pointers
//!   are vouched for.
//! - Level Zero's count-then-fill queries go through `enumerate`.

mod list;
mod topology;

pub use list::Copy;
pub use topology::{Device, Driver, HostImport};

use std::ptr;

use crate::error::ZeError;

/// Level Zero's count-then-fill query: `query(&mut count, NULL)` asks for
/// the count, then `query(&mut count, items)` fills that many (skipped when
/// there are none); the items the second call says it wrote, `blank` copies
/// (a struct with its `stype` set) before it.
fn enumerate<T: Clone>(blank: T, mut query: impl FnMut(&mut u32, *mut T) -> Result<(), ZeError>) -> Result<Vec<T>, ZeError> {
    let mut count = 0u32;
    query(&mut count, ptr::null_mut())?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut items = vec![blank; count as usize];
    query(&mut count, items.as_mut_ptr())?;
    items.truncate(count as usize);
    Ok(items)
}

/// The first item of a count-then-fill query, asked for alone (a count of
/// one and room for one), or `None` when there is none.
fn first<T: Clone>(blank: T, query: impl FnOnce(&mut u32, *mut T) -> Result<(), ZeError>) -> Result<Option<T>, ZeError> {
    let mut count = 1u32;
    let mut item = blank;
    query(&mut count, &mut item)?;
    Ok((count > 0).then_some(item))
}
