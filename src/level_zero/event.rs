//! Event pools and their events. The recycler (`events`) is the only maker:
//! its pools live until the dma's destroy, and with them every event made in
//! them, so the events its request blocks name are valid meanwhile.

use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use ze_sys::*;

use super::context::{destroy_unless_exiting, Context};
use super::newer::COUNTER_BASED_POOL;
use super::topology::Device;
use crate::error::ZeError;
use crate::loader::Ze;

/// An event: a name, made only by its `EventPool` and valid as long as the
/// pool lives. Transparent over the handle, so a slice of events is a Level
/// Zero wait list, and `Option<Event>` is a handle or NULL.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event(NonNull<_ze_event_handle_t>);

// SAFETY: an event handle is an opaque value Level Zero accepts from any
// thread; the host's calls on one are thread-safe.
unsafe impl Send for Event {}
// SAFETY: as above; the name is never written.
unsafe impl Sync for Event {}

impl Event {
    /// `zeEventHostSynchronize` with no timeout: returns once it is signalled.
    #[inline]
    pub fn host_synchronize(self, ze: &Ze) -> Result<(), ZeError> {
        // SAFETY: a live event (its pool outlives every use of its name).
        unsafe { ze.event_host_synchronize(self.0.as_ptr(), u64::MAX) }
    }

    /// `zeEventQueryStatus`: `Ok(true)` once signalled, `Ok(false)` while not.
    #[inline]
    pub fn is_signalled(self, ze: &Ze) -> Result<bool, ZeError> {
        // SAFETY: as above.
        unsafe { ze.event_is_signalled(self.0.as_ptr()) }
    }

    /// `zeEventHostReset`.
    #[inline]
    pub fn host_reset(self, ze: &Ze) -> Result<(), ZeError> {
        // SAFETY: as above.
        unsafe { ze.event_host_reset(self.0.as_ptr()) }
    }

    /// The event behind a handle read back from a C-visible request (NULL: none).
    ///
    /// # Safety
    /// `handle` is NULL or an event of a pool that outlives every use of the result.
    pub unsafe fn from_raw(handle: ze_event_handle_t) -> Option<Event> {
        NonNull::new(handle).map(Event)
    }

    /// The handle, for the C-visible request.
    #[inline(always)]
    pub fn as_raw(self) -> ze_event_handle_t {
        self.0.as_ptr()
    }

    /// The handle of `event`, or NULL: what Level Zero takes for a signal.
    #[inline(always)]
    pub(super) fn raw(event: Option<Event>) -> ze_event_handle_t {
        event.map_or(ptr::null_mut(), Event::as_raw)
    }

    /// A name that is no event, for unit tests that never reach Level Zero.
    #[cfg(test)]
    pub(crate) fn fake(n: usize) -> Event {
        Event(NonNull::new(n as ze_event_handle_t).expect("a fake event is not NULL"))
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({:p})", self.0)
    }
}

/// A pool of host-visible events for one device (`zeEventPoolCreate`), and
/// the events made in it, at its indices in turn. Dropping it destroys them
/// all, then the pool.
pub struct EventPool {
    handle: ze_event_pool_handle_t,
    ze: &'static Ze,
    capacity: u32,
    events: Vec<Event>,
    /// Keeps the context alive for as long as the pool.
    _context: Arc<Context>,
}

// SAFETY: handles are opaque values Level Zero accepts from any thread; the
// pool is only changed through `&mut`.
unsafe impl Send for EventPool {}
// SAFETY: as above.
unsafe impl Sync for EventPool {}

impl EventPool {
    /// A pool of `capacity` events for `device`; counter-based ones (for
    /// in-order immediate lists, never reset by the host) if `counter_based`.
    pub fn create(context: &Arc<Context>, device: Device, capacity: u32, counter_based: bool) -> Result<EventPool, ZeError> {
        let desc = ze_event_pool_desc_t {
            stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
            pNext: if counter_based { ptr::addr_of!(COUNTER_BASED_POOL).cast() } else { ptr::null() },
            flags: ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
            count: capacity,
        };
        let ze = context.ze();
        let mut device = device.handle();
        let mut handle = ptr::null_mut();
        // SAFETY: a live context and one of its driver's devices (a list of
        // one); a complete descriptor whose chain is a static; a valid out-pointer.
        unsafe { ze.event_pool_create(context.handle(), &desc, 1, &mut device, &mut handle) }?;
        Ok(EventPool { handle, ze, capacity, events: Vec::new(), _context: Arc::clone(context) })
    }

    /// Every index has its event.
    pub fn is_full(&self) -> bool {
        self.events.len() >= self.capacity as usize
    }

    /// The event at the next unused index (`zeEventCreate`), waited on in
    /// `wait_scope`. Panics if the pool is full.
    pub fn create_event(&mut self, wait_scope: ze_event_scope_flags_t) -> Result<Event, ZeError> {
        assert!(!self.is_full(), "an event pool of {} events is full", self.capacity);
        let desc = ze_event_desc_t {
            stype: ZE_STRUCTURE_TYPE_EVENT_DESC,
            index: self.events.len() as u32,
            signal: 0,
            wait: wait_scope,
            ..Default::default()
        };
        let mut handle = ptr::null_mut();
        // SAFETY: a live pool; an index below its capacity that no event of it has.
        unsafe { self.ze.event_create(self.handle, &desc, &mut handle) }?;
        let event = Event(NonNull::new(handle).ok_or(ZeError(ZE_RESULT_ERROR_UNKNOWN))?);
        self.events.push(event);
        Ok(event)
    }

    /// The handle, for the C-visible request.
    pub fn as_raw(&self) -> ze_event_pool_handle_t {
        self.handle
    }
}

impl Drop for EventPool {
    fn drop(&mut self) {
        for &event in &self.events {
            // SAFETY: made by this pool and destroyed only here; its owner
            // drops the pool once nothing can signal or wait on its events.
            destroy_unless_exiting(|| unsafe { self.ze.event_destroy(event.as_raw()) });
        }
        // SAFETY: as above, and its events were destroyed just before.
        destroy_unless_exiting(|| unsafe { self.ze.event_pool_destroy(self.handle) });
    }
}

/// The events one command waits on, at most `N`, as Level Zero takes them.
pub struct WaitList<const N: usize> {
    events: [Option<Event>; N],
    len: usize,
}

impl<const N: usize> WaitList<N> {
    pub fn new() -> Self {
        WaitList { events: [None; N], len: 0 }
    }

    /// Adds `event`. Panics past `N`.
    #[inline]
    pub fn push(&mut self, event: Event) {
        self.events[self.len] = Some(event);
        self.len += 1;
    }

    /// The event at `index`, if pushed.
    #[inline]
    pub fn get(&self, index: usize) -> Option<Event> {
        self.events.get(index).copied().flatten()
    }

    #[inline]
    pub fn as_slice(&self) -> &[Event] {
        let pushed = &self.events[..self.len];
        // SAFETY: `Option<Event>` has `Event`'s layout (a transparent
        // `NonNull`, NULL for `None`), and the first `len` are all `Some`.
        unsafe { &*(pushed as *const [Option<Event>] as *const [Event]) }
    }
}

impl<const N: usize> Default for WaitList<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_list_is_the_events_pushed_in_order() {
        let mut wait = WaitList::<4>::new();
        assert!(wait.as_slice().is_empty());
        wait.push(Event::fake(10));
        wait.push(Event::fake(11));
        assert_eq!(wait.as_slice(), &[Event::fake(10), Event::fake(11)]);
        assert_eq!((wait.get(1), wait.get(2)), (Some(Event::fake(11)), None));
        assert_eq!(Event::raw(None), ptr::null_mut());
        assert_eq!(Event::raw(Some(Event::fake(12))), 12 as ze_event_handle_t);
    }
}
