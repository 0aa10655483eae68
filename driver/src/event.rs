//! Event pools and events. An event is a flag plus a condition variable:
//! signalling is one atomic store (and a wake-up only if someone sleeps on
//! it), waiting from the host blocks on the condition variable, never spins.
//!
//! Destroying an event that a pending command (wait, signal or reset) or
//! another thread's host wait still needs is refused with `ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE`; so is
//! destroying a pool that still has events (the spec asks for events first).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use ze_sys::*;

use crate::args;
use crate::context;
use crate::control::Kind;
use crate::entry::{guarded, require, Api};
use crate::registry::{Registry, RemoveError};
use crate::topology;

pub struct EventPool {
    context: usize,
    slots: Mutex<Slots>,
}

/// The indices of a pool that hold an event.
struct Slots {
    in_use: Vec<bool>,
    /// How many of `in_use` are set: lets a pool destroy check for live
    /// events in O(1) instead of scanning every event of the process.
    live: usize,
}

pub struct Event {
    pool: Arc<EventPool>,
    index: u32,
    signaled: AtomicBool,
    /// Appended commands that will still wait on, signal or reset this event.
    pending_uses: AtomicUsize,
    /// Threads sleeping in `wait`; lets `signal` skip the lock when zero.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

pub static EVENT_POOLS: Registry<EventPool> = Registry::new(Kind::EventPool);
pub static EVENTS: Registry<Event> = Registry::new(Kind::Event);

impl Event {
    /// A command that will use this event was appended.
    pub fn use_pending(&self) {
        self.pending_uses.fetch_add(1, Ordering::AcqRel);
    }

    /// A command finished using this event (called before it signals, so that
    /// a host woken by the signal may destroy the event right away).
    pub fn use_done(&self) {
        self.pending_uses.fetch_sub(1, Ordering::AcqRel);
    }

    fn in_use(&self) -> bool {
        self.pending_uses.load(Ordering::Acquire) > 0 || self.sleepers.load(Ordering::Acquire) > 0
    }

    pub fn is_signaled(&self) -> bool {
        self.signaled.load(Ordering::Acquire)
    }

    /// Publishes every write made before it (the copied bytes) to whoever
    /// observes the event signalled.
    pub fn signal(&self) {
        self.signaled.store(true, Ordering::SeqCst);
        // SeqCst pairs with the sleeper's increment-then-check in `wait`:
        // either we see the sleeper, or the sleeper sees the flag.
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.wake.notify_all();
        }
    }

    pub fn reset(&self) {
        self.signaled.store(false, Ordering::Release);
    }

    /// Blocks until signalled or until `deadline`; true if signalled.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_signaled() {
            return true;
        }
        let mut guard = self.lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let signaled = loop {
            if self.signaled.load(Ordering::SeqCst) {
                break true;
            }
            match deadline {
                None => self.wake.wait(&mut guard),
                Some(deadline) => {
                    if self.wake.wait_until(&mut guard, deadline).timed_out() {
                        break self.signaled.load(Ordering::SeqCst);
                    }
                }
            }
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        signaled
    }
}

pub fn any_pool_on_context(context: usize) -> bool {
    EVENT_POOLS.any(|pool| pool.context == context)
}

/// Resolves an event used as a synchronisation object: NULL is
/// `INVALID_NULL_HANDLE`, a stale or foreign handle `INVALID_SYNCHRONIZATION_OBJECT`.
pub fn sync_event(handle: ze_event_handle_t) -> Result<Arc<Event>, ze_result_t> {
    require(!handle.is_null(), ZE_RESULT_ERROR_INVALID_NULL_HANDLE)?;
    EVENTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)
}

/// Resolves a wait list; `INVALID_SIZE` for a missing array with a count.
///
/// # Safety
/// If non-NULL, `handles` must be valid for reads of `count` handles.
pub unsafe fn wait_list(count: u32, handles: *const ze_event_handle_t) -> Result<Vec<Arc<Event>>, ze_result_t> {
    if count == 0 {
        return Ok(Vec::new());
    }
    require(!handles.is_null(), ZE_RESULT_ERROR_INVALID_SIZE)?;
    // SAFETY: non-NULL and holding `count` handles (caller's contract).
    let handles = unsafe { std::slice::from_raw_parts(handles, count as usize) };
    handles
        .iter()
        .map(|&handle| {
            require(!handle.is_null(), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)?;
            sync_event(handle)
        })
        .collect()
}

pub unsafe extern "C" fn ze_event_pool_create(
    context_handle: ze_context_handle_t,
    desc: *const ze_event_pool_desc_t,
    device_count: u32,
    devices: *mut ze_device_handle_t,
    pool_out: *mut ze_event_pool_handle_t,
) -> ze_result_t {
    guarded(Api::zeEventPoolCreate, || {
        context::context(context_handle)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(desc) }?;
        require(!pool_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(desc.flags <= 0x7, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        require(desc.count != 0, ZE_RESULT_ERROR_INVALID_SIZE)?;
        if device_count > 0 {
            require(!devices.is_null(), ZE_RESULT_ERROR_INVALID_SIZE)?;
            // SAFETY: non-NULL and holding `device_count` handles (caller's contract).
            let devices = unsafe { std::slice::from_raw_parts(devices, device_count as usize) };
            for &device in devices {
                topology::device(device)?;
            }
        }
        let pool = EventPool {
            context: context_handle as usize,
            slots: Mutex::new(Slots { in_use: vec![false; desc.count as usize], live: 0 }),
        };
        let handle = EVENT_POOLS.insert(pool);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(pool_out, handle as ze_event_pool_handle_t) }
    })
}

pub unsafe extern "C" fn ze_event_pool_destroy(handle: ze_event_pool_handle_t) -> ze_result_t {
    guarded(Api::zeEventPoolDestroy, || {
        topology::topology()?;
        let key = handle as usize;
        // A slot is taken before its event is registered and freed after it
        // is unregistered, so `live` counts at least every registered event.
        match EVENT_POOLS.remove_if(key, |pool| pool.slots.lock().live == 0) {
            Ok(_) => Ok(()),
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE),
        }
    })
}

pub unsafe extern "C" fn ze_event_create(
    pool_handle: ze_event_pool_handle_t,
    desc: *const ze_event_desc_t,
    event_out: *mut ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeEventCreate, || {
        let pool = EVENT_POOLS.get(pool_handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(desc) }?;
        require(!event_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(desc.signal <= 0x7 && desc.wait <= 0x7, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        {
            let mut slots = pool.slots.lock();
            let slot = slots.in_use.get_mut(desc.index as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            require(!*slot, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            *slot = true;
            slots.live += 1;
        }
        let event = Event {
            pool: Arc::clone(&pool),
            index: desc.index,
            signaled: AtomicBool::new(false),
            pending_uses: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        };
        let handle = EVENTS.insert(event);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(event_out, handle as ze_event_handle_t) }
    })
}

pub unsafe extern "C" fn ze_event_destroy(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventDestroy, || {
        topology::topology()?;
        // A pending command or a sleeping host thread still needs it. (Their
        // `Arc`s would keep the memory valid anyway; this is the spec's answer.)
        match EVENTS.remove_if(handle as usize, |event| !event.in_use()) {
            Ok(event) => {
                let mut slots = event.pool.slots.lock();
                slots.in_use[event.index as usize] = false;
                slots.live -= 1;
                Ok(())
            }
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE),
        }
    })
}

pub unsafe extern "C" fn ze_event_host_signal(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventHostSignal, || {
        sync_event(handle)?.signal();
        Ok(())
    })
}

pub unsafe extern "C" fn ze_event_host_synchronize(handle: ze_event_handle_t, timeout_ns: u64) -> ze_result_t {
    guarded(Api::zeEventHostSynchronize, || {
        let event = sync_event(handle)?;
        let signaled = match timeout_ns {
            0 => event.is_signaled(),
            u64::MAX => event.wait(None),
            _ => event.wait(Instant::now().checked_add(Duration::from_nanos(timeout_ns))),
        };
        require(signaled, ZE_RESULT_NOT_READY)
    })
}

pub unsafe extern "C" fn ze_event_query_status(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventQueryStatus, || require(sync_event(handle)?.is_signaled(), ZE_RESULT_NOT_READY))
}

pub unsafe extern "C" fn ze_event_host_reset(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventHostReset, || {
        sync_event(handle)?.reset();
        Ok(())
    })
}

