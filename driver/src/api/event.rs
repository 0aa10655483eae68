//! Event pools and events. An event is a word in its pool's memory, which the
//! backend allocated where its device can write it (pinned, device-mapped
//! memory on a GPU); the device signals it after the preceding work, and the
//! host reads it to query or wait and writes it to signal or reset.
//!
//! Destroying an event that a pending command (wait, signal or reset) or
//! another thread's host wait still needs is refused with
//! `ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE`; so is destroying a pool that still
//! has events (the spec asks for events first).
//!
//! A counter-based event (a pool with `ze_event_pool_counter_based_exp_desc_t`,
//! or Intel's `zexCounterBasedEventCreate2`) has a word per append instead
//! (`counter.rs`); the host neither signals nor resets it, and it may be
//! destroyed with appends in flight, as on Intel's driver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::context::{self, Context};
use crate::api::counter::{self, Counter};
use crate::api::driver;
use crate::args;
use crate::backend::{CellRef, EventCell, EventMemory, EventUse};
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require};
use crate::registry::{Registry, RemoveError};

pub struct EventPool {
    context: Arc<Context>,
    memory: Box<dyn EventMemory>,
    slots: Mutex<Slots>,
    /// The counter-based flags of its events (IMMEDIATE, NON_IMMEDIATE), or
    /// `None` for regular events.
    counter_flags: Option<u32>,
}

/// The events alive at each index of a pool.
struct Slots {
    /// Intel's driver lets two events share an index (they alias one word of
    /// the pool's memory), so this counts rather than flags.
    events_at: Vec<u32>,
    /// The sum of `events_at`: lets a pool destroy check in O(1).
    live: usize,
}

pub struct Event {
    /// `None` for an event of `zexCounterBasedEventCreate2`.
    pool: Option<Arc<EventPool>>,
    index: u32,
    /// This event's cell in `pool`'s memory, found once: every append,
    /// query and reset reads it (a counter-based event's words are in `counter`).
    cell: CellRef,
    counter: Option<Counter>,
    /// Appended commands that will still wait on, signal or reset this event.
    pending_uses: AtomicUsize,
    /// Host threads inside `zeEventHostSynchronize` on this event.
    host_waiters: AtomicUsize,
}

pub static EVENT_POOLS: Registry<EventPool> = Registry::new(Kind::EventPool);
pub static EVENTS: Registry<Event> = Registry::new(Kind::Event);

impl Event {
    /// A regular event's word (a counter-based event's is its
    /// `counter`'s, per append).
    fn cell(&self) -> &EventCell {
        // SAFETY: the cell lies in the memory of `self.pool`, which this
        // event keeps alive, and pool memory never moves.
        unsafe { self.cell.cell() }
    }

    pub fn cell_ref(&self) -> CellRef {
        self.cell
    }

    fn in_use(&self) -> bool {
        self.pending_uses.load(Ordering::Acquire) > 0 || self.host_waiters.load(Ordering::Acquire) > 0
    }

    pub fn is_counter_based(&self) -> bool {
        self.counter.is_some()
    }

    /// Whether an append to a list whose `counter::signal_kind` is `kind`
    /// may signal it: a counter-based event only on an in-order list of the
    /// kind its flags name, else `INVALID_ARGUMENT`, as on Intel's driver.
    pub fn check_signal(&self, kind: u32) -> Result<(), ze_result_t> {
        match &self.counter {
            Some(counter) => require(counter::may_signal(counter.flags, kind), ZE_RESULT_ERROR_INVALID_ARGUMENT),
            None => Ok(()),
        }
    }

    /// Whether an append may wait on it: a counter-based event no append
    /// has signalled yet is `INVALID_ARGUMENT`, as on Intel's driver.
    pub fn check_wait(&self) -> Result<(), ze_result_t> {
        match &self.counter {
            Some(counter) => require(counter.appended(), ZE_RESULT_ERROR_INVALID_ARGUMENT),
            None => Ok(()),
        }
    }

    /// Whether it reads signalled now (a counter-based event: its latest append).
    fn is_signaled(&self) -> bool {
        match &self.counter {
            Some(counter) => counter.is_signaled(),
            None => self.cell().is_signaled(),
        }
    }
}

impl EventUse for Event {
    fn use_finished(&self) {
        self.pending_uses.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks an event that a command resets or waits on in use, from its append
/// until the backend reports it finished: the word it names, and the use
/// the command's guard holds (which keeps that word alive). A counter-based
/// event names the word of its latest append.
#[inline]
pub fn wait_use(event: Arc<Event>) -> (CellRef, Arc<dyn EventUse>) {
    if let Some(counter) = &event.counter {
        let (cell, slot) = counter.wait();
        return (cell, slot);
    }
    event.pending_uses.fetch_add(1, Ordering::AcqRel);
    (event.cell, event)
}

/// As [`wait_use`], for the command that signals the event: a counter-based
/// event gets a new word for this append (its new generation).
#[inline]
pub fn signal_use(event: Arc<Event>) -> Result<(CellRef, Arc<dyn EventUse>), ze_result_t> {
    if let Some(counter) = &event.counter {
        // The command holds the word, not the event. (An `Arc<Slot>` is one
        // pointer: the pair comes back in two registers.)
        let (cell, slot) = counter.signal()?;
        return Ok((cell, slot));
    }
    Ok(wait_use(event))
}

/// Registers a counter-based event of no pool (`zexCounterBasedEventCreate2`).
pub fn create_standalone(counter: Counter) -> ze_event_handle_t {
    let event = Event {
        pool: None,
        index: 0,
        cell: CellRef::new(&counter_placeholder()[0]),
        counter: Some(counter),
        pending_uses: AtomicUsize::new(0),
        host_waiters: AtomicUsize::new(0),
    };
    EVENTS.insert(event) as ze_event_handle_t
}

/// The cell a counter-based event's `cell` names: never read or written
/// (its words are its counter's), only there so that `cell` is always valid.
fn counter_placeholder() -> &'static [EventCell; 1] {
    static PLACEHOLDER: [EventCell; 1] =
        [EventCell { value: std::sync::atomic::AtomicU32::new(0), sleepers: std::sync::atomic::AtomicU32::new(0) }];
    &PLACEHOLDER
}

/// Resolves an event used as a synchronisation object: NULL is
/// `INVALID_NULL_HANDLE`, a stale or foreign handle `INVALID_SYNCHRONIZATION_OBJECT`.
pub fn sync_event(handle: ze_event_handle_t) -> Result<Arc<Event>, ze_result_t> {
    require(!handle.is_null(), ZE_RESULT_ERROR_INVALID_NULL_HANDLE)?;
    EVENTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)
}

/// The optional signal event of an append: NULL means none.
pub fn optional_event(handle: ze_event_handle_t) -> Result<Option<Arc<Event>>, ze_result_t> {
    if handle.is_null() {
        Ok(None)
    } else {
        sync_event(handle).map(Some)
    }
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
        let context = context::context(context_handle)?;
        let backend = driver::backend()?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(Api::zeEventPoolCreate, desc) }?;
        require(!pool_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(Api::zeEventPoolCreate, "desc->flags", desc.flags, 0x7)?;
        require(desc.count != 0, ZE_RESULT_ERROR_INVALID_SIZE)?;
        // SAFETY: the descriptor's extension chain (Level Zero contract).
        let counter_flags = unsafe { counter::pool_flags(desc) }?;
        if device_count > 0 {
            require(!devices.is_null(), ZE_RESULT_ERROR_INVALID_SIZE)?;
            // SAFETY: non-NULL and holding `device_count` handles (caller's contract).
            let devices = unsafe { std::slice::from_raw_parts(devices, device_count as usize) };
            for &device in devices {
                driver::device(device)?;
            }
        }
        let memory = backend.event_memory(desc.count as usize)?;
        context.adopt();
        let pool = EventPool {
            context,
            memory,
            slots: Mutex::new(Slots { events_at: vec![0; desc.count as usize], live: 0 }),
            counter_flags,
        };
        let handle = EVENT_POOLS.insert(pool);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(pool_out, handle as ze_event_pool_handle_t) }
    })
}

pub unsafe extern "C" fn ze_event_pool_destroy(handle: ze_event_pool_handle_t) -> ze_result_t {
    guarded(Api::zeEventPoolDestroy, || {
        driver::topology()?;
        // A slot is taken before its event is registered and freed after it
        // is unregistered, so `live` counts at least every registered event.
        match EVENT_POOLS.remove_if(handle as usize, |pool| pool.slots.lock().live == 0) {
            Ok(pool) => {
                pool.context.release();
                Ok(())
            }
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
        let desc = unsafe { args::descriptor(Api::zeEventCreate, desc) }?;
        require(!event_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(Api::zeEventCreate, "desc->signal", desc.signal, 0x7)?;
        args::spec_range(Api::zeEventCreate, "desc->wait", desc.wait, 0x7)?;
        {
            let mut slots = pool.slots.lock();
            let slot = slots.events_at.get_mut(desc.index as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            // Intel's driver creates a second event on a used index (both
            // name the same word); the spec forbids it.
            args::spec_rule(Api::zeEventCreate, *slot == 0, ZE_RESULT_ERROR_INVALID_ARGUMENT, || {
                format!("desc->index = {} is already in use", desc.index)
            })?;
            *slot += 1;
            slots.live += 1;
        }
        let cell = CellRef::new(&pool.memory.cells()[desc.index as usize]);
        let counter = match pool.counter_flags {
            Some(flags) => match Counter::new(driver::backend()?, flags) {
                Ok(counter) => Some(counter),
                Err(error) => {
                    let mut slots = pool.slots.lock();
                    slots.events_at[desc.index as usize] -= 1;
                    slots.live -= 1;
                    return Err(error);
                }
            },
            None => None,
        };
        let event = Event {
            pool: Some(Arc::clone(&pool)),
            index: desc.index,
            cell,
            counter,
            pending_uses: AtomicUsize::new(0),
            host_waiters: AtomicUsize::new(0),
        };
        // A new event starts unsignalled, whatever the slot's last event did
        // (a counter-based one complete: its counter's first word).
        event.cell().value.store(crate::backend::RESET, Ordering::Release);
        let handle = EVENTS.insert(event);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(event_out, handle as ze_event_handle_t) }
    })
}

pub unsafe extern "C" fn ze_event_destroy(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventDestroy, || {
        let backend = driver::backend()?;
        // A counter-based event may go with appends in flight: they hold
        // their own words (Intel's: "No need to wait for completion before
        // reusing/destroying").
        let remove = || EVENTS.remove_if(handle as usize, |event| event.is_counter_based() || !event.in_use());
        // A device does not report finished commands by itself: ask the
        // backend to catch up before calling the event busy.
        let removed = match remove() {
            Err(RemoveError::Refused) => {
                backend.retire_finished();
                remove()
            }
            other => other,
        };
        match removed {
            Ok(event) => {
                if let Some(pool) = &event.pool {
                    let mut slots = pool.slots.lock();
                    slots.events_at[event.index as usize] -= 1;
                    slots.live -= 1;
                }
                Ok(())
            }
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE),
        }
    })
}

pub unsafe extern "C" fn ze_event_host_signal(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventHostSignal, || {
        let event = sync_event(handle)?;
        // Intel's `hostSignal(false)` on a counter-based event.
        require(!event.is_counter_based(), ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)?;
        driver::backend()?.signal_from_host(event.cell());
        Ok(())
    })
}

pub unsafe extern "C" fn ze_event_host_synchronize(handle: ze_event_handle_t, timeout_ns: u64) -> ze_result_t {
    guarded(Api::zeEventHostSynchronize, || {
        let event = sync_event(handle)?;
        if event.is_signaled() {
            return Ok(());
        }
        let backend = driver::backend()?;
        // A counter-based event: the word of its latest append, held so that
        // no later append reuses it meanwhile.
        let hold = event.counter.as_ref().map(Counter::hold);
        let cell = hold.as_ref().map_or_else(|| event.cell(), |hold| hold.cell());
        let signaled = match timeout_ns {
            0 => cell.is_signaled(),
            u64::MAX => wait_counted(&event, || backend.wait_from_host(cell, None)),
            _ => {
                let deadline = Instant::now().checked_add(Duration::from_nanos(timeout_ns));
                wait_counted(&event, || backend.wait_from_host(cell, deadline))
            }
        };
        require(signaled, ZE_RESULT_NOT_READY)
    })
}

/// Runs a host wait with the event counted as in use meanwhile.
fn wait_counted(event: &Event, wait: impl FnOnce() -> bool) -> bool {
    event.host_waiters.fetch_add(1, Ordering::AcqRel);
    let signaled = wait();
    event.host_waiters.fetch_sub(1, Ordering::AcqRel);
    signaled
}

pub unsafe extern "C" fn ze_event_query_status(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventQueryStatus, || require(sync_event(handle)?.is_signaled(), ZE_RESULT_NOT_READY))
}

pub unsafe extern "C" fn ze_event_host_reset(handle: ze_event_handle_t) -> ze_result_t {
    guarded(Api::zeEventHostReset, || {
        let event = sync_event(handle)?;
        // Intel's `EventImp::reset` refuses a counter-based event.
        require(!event.is_counter_based(), ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)?;
        event.cell().value.store(crate::backend::RESET, Ordering::Release);
        Ok(())
    })
}

/// `zexCounterBasedEventCreate2`, through `zeDriverGetExtensionFunctionAddress`
/// (compute-runtime `level_zero/api/driver_experimental/public/zex_event.cpp`):
/// a counter-based event of no pool. A NULL device, descriptor or
/// out-pointer is `INVALID_ARGUMENT`; so is IPC with timestamps; flags
/// without IMMEDIATE or NON_IMMEDIATE mean IMMEDIATE. The context is not
/// looked at (Intel's does not either); the event is destroyed with
/// `zeEventDestroy`.
pub unsafe extern "C" fn zex_counter_based_event_create2(
    _context: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const counter::ZexDesc,
    event_out: *mut ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zexCounterBasedEventCreate2, || {
        let backend = driver::backend()?;
        require(!device.is_null() && !desc.is_null() && !event_out.is_null(), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        driver::device(device)?;
        // SAFETY: non-NULL, the caller's descriptor (Intel's contract).
        let desc = unsafe { &*desc };
        let timestamps = desc.flags & (counter::ZEX_FLAG_KERNEL_TIMESTAMP | counter::ZEX_FLAG_KERNEL_MAPPED_TIMESTAMP) != 0;
        require(!(desc.flags & counter::ZEX_FLAG_IPC != 0 && timestamps), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let flags = match desc.flags & (counter::FLAG_IMMEDIATE | counter::FLAG_NON_IMMEDIATE) {
            0 => counter::FLAG_IMMEDIATE,
            flags => flags,
        };
        let handle = create_standalone(Counter::new(backend, flags)?);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(event_out, handle) }
    })
}
