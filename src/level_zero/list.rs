//! Immediate command lists and what the library appends to them: barriers
//! and copies. Level Zero's lists are not thread-safe, so appends go through
//! an `Appender`, made only by the holder of the list's lock.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

use ze_sys::*;

use super::context::{destroy_unless_exiting, Context};
use super::event::Event;
use super::topology::Device;
use crate::error::ZeError;
use crate::loader::Ze;

/// An immediate command list (`zeCommandListCreateImmediate`), destroyed on
/// drop. Any thread may hold it; appends need an `Appender`.
pub struct ImmediateList {
    handle: ze_command_list_handle_t,
    ze: &'static Ze,
    /// Keeps the context alive for as long as the list.
    context: Arc<Context>,
}

// SAFETY: a list handle is an opaque value Level Zero accepts from any
// thread; what is not thread-safe (appends) needs an `Appender`, which only
// the holder of the list's lock makes.
unsafe impl Send for ImmediateList {}
// SAFETY: as above: `&ImmediateList` alone appends nothing.
unsafe impl Sync for ImmediateList {}

impl ImmediateList {
    /// A list on queue `index` of group `ordinal` of `device`, asynchronous,
    /// at normal priority, with `flags`. The driver checks the ordinal and
    /// index (a failure, not a fault).
    pub fn create(
        context: &Arc<Context>,
        device: Device,
        ordinal: u32,
        index: u32,
        flags: ze_command_queue_flags_t,
    ) -> Result<ImmediateList, ZeError> {
        let desc = ze_command_queue_desc_t {
            stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
            ordinal,
            index,
            flags,
            mode: ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
            priority: ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
            ..Default::default()
        };
        let ze = context.ze();
        let mut handle = ptr::null_mut();
        // SAFETY: a live context and one of its driver's devices; a complete
        // descriptor; a valid out-pointer.
        unsafe { ze.command_list_create_immediate(context.handle(), device.handle(), &desc, &mut handle) }?;
        Ok(ImmediateList { handle, ze, context: Arc::clone(context) })
    }

    /// The right to append to this list until the appender is dropped.
    ///
    /// # Safety
    /// Until then nothing else appends to the list: the caller holds the lock
    /// that serialises its appends (the dma's append lock for its first list,
    /// a lane's own lock for each other) and keeps it while the appender lives.
    #[inline(always)]
    pub unsafe fn appender(&self) -> Appender<'_> {
        Appender { list: self, _one_thread: PhantomData }
    }

    /// The context it was made in.
    pub fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// The handle, for the C-visible `aml_dma_ze_data`.
    pub fn as_raw(&self) -> ze_command_list_handle_t {
        self.handle
    }
}

impl Drop for ImmediateList {
    fn drop(&mut self) {
        // SAFETY: made by `create` and destroyed only here; its owner drops it
        // once its work is done (or the device gave up), before the events
        // its commands signal.
        destroy_unless_exiting(|| unsafe { self.ze.command_list_destroy(self.handle) });
    }
}

/// The right to append to one list, held by the holder of its lock; not
/// `Send`, as the lock is the thread's.
pub struct Appender<'a> {
    list: &'a ImmediateList,
    _one_thread: PhantomData<*const ()>,
}

/// A wait list as Level Zero takes it: NULL when empty.
#[inline(always)]
fn wait_list(wait: &[Event]) -> (u32, *mut ze_event_handle_t) {
    if wait.is_empty() {
        (0, ptr::null_mut())
    } else {
        // `Event` is a transparent handle, so the slice is an array of handles
        // (which Level Zero only reads, whatever its pointer's type).
        (wait.len() as u32, wait.as_ptr() as *mut ze_event_handle_t)
    }
}

impl<'a> Appender<'a> {
    /// The list appended to.
    #[inline(always)]
    pub fn list(&self) -> &'a ImmediateList {
        self.list
    }

    /// `zeCommandListAppendBarrier`: what follows runs after everything before
    /// it and after every event of `wait`; `signal`, if any, is signalled then.
    #[inline]
    pub fn barrier(&self, signal: Option<Event>, wait: &[Event]) -> Result<(), ZeError> {
        let (wait_count, wait_events) = wait_list(wait);
        let list = self.list;
        // SAFETY: a live list whose appends this appender serialises; live
        // events (`Event`), the wait list only read.
        unsafe { list.ze.command_list_append_barrier(list.handle, Event::raw(signal), wait_count, wait_events) }
    }

    /// `zeCommandListAppendMemoryCopy` of `copy`, after every event of `wait`,
    /// signalling `signal`, if any.
    #[inline]
    pub fn copy(&self, copy: &Copy, signal: Option<Event>, wait: &[Event]) -> Result<(), ZeError> {
        let (wait_count, wait_events) = wait_list(wait);
        let list = self.list;
        // SAFETY: as in `barrier`; the copy's bytes were vouched for by its maker.
        unsafe {
            list.ze.command_list_append_memory_copy(
                list.handle,
                copy.dst.cast(),
                copy.src.cast(),
                copy.size,
                Event::raw(signal),
                wait_count,
                wait_events,
            )
        }
    }

    /// `zeCommandListAppendMemoryCopyRegion`, signalling `signal`, if any.
    ///
    /// # Safety
    /// Both regions, at their pitches, lie in memory the device may write
    /// (`dst`) and read (`src`) until the copy completes.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn copy_region(
        &self,
        dst: *mut c_void,
        dst_region: &ze_copy_region_t,
        dst_pitch: u32,
        dst_slice_pitch: u32,
        src: *const c_void,
        src_region: &ze_copy_region_t,
        src_pitch: u32,
        src_slice_pitch: u32,
        signal: Option<Event>,
    ) -> Result<(), ZeError> {
        let list = self.list;
        // SAFETY: as in `barrier`; the regions by the caller's contract, both
        // outliving the call.
        unsafe {
            list.ze.command_list_append_memory_copy_region(
                list.handle,
                dst,
                dst_region,
                dst_pitch,
                dst_slice_pitch,
                src,
                src_region,
                src_pitch,
                src_slice_pitch,
                Event::raw(signal),
                0,
                ptr::null_mut(),
            )
        }
    }
}

/// A contiguous copy whose pointers its maker vouched for: `size` bytes at
/// `src` the device may read and `size` bytes at `dst` it may write, until the
/// copy completes. `footprint` reads a request's into one.
#[derive(Debug, Clone, Copy)]
pub struct Copy {
    dst: *mut u8,
    src: *const u8,
    size: usize,
}

impl Copy {
    /// # Safety
    /// `size` bytes at `dst` are memory the device may write, and `size`
    /// bytes at `src` memory it may read, until the copy completes.
    #[inline(always)]
    pub unsafe fn new(dst: *mut u8, src: *const u8, size: usize) -> Copy {
        Copy { dst, src, size }
    }

    #[inline(always)]
    pub fn dst(&self) -> *mut u8 {
        self.dst
    }

    #[inline(always)]
    pub fn src(&self) -> *const u8 {
        self.src
    }

    #[inline(always)]
    pub fn size(&self) -> usize {
        self.size
    }

    /// The `len` bytes from `offset` on, which lie inside this copy and so
    /// are vouched for as it is. Panics if they do not.
    pub fn part(&self, offset: usize, len: usize) -> Copy {
        assert!(offset <= self.size && len <= self.size - offset, "part {offset}+{len} of a copy of {}", self.size);
        Copy { dst: self.dst.wrapping_add(offset), src: self.src.wrapping_add(offset), size: len }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_lies_inside_its_copy() {
        // SAFETY: never appended: only its arithmetic is tested.
        let copy = unsafe { Copy::new(0x1000 as *mut u8, 0x9000 as *const u8, 100) };
        let part = copy.part(40, 60);
        assert_eq!((part.dst() as usize, part.src() as usize, part.size()), (0x1028, 0x9028, 60));
        assert_eq!(copy.part(100, 0).size(), 0);
        assert!(std::panic::catch_unwind(|| copy.part(41, 60)).is_err(), "past the end");
        assert!(std::panic::catch_unwind(|| copy.part(101, 0)).is_err());
    }
}
