//! Counter-based events and in-order lists, as compute-runtime (release
//! 25.18) and the Level Zero spec (API 1.7 for in-order lists, 1.8 for
//! counter-based pools) define them. The values of the newer flags and
//! structures come from the public headers (oneapi-src/level-zero
//! `include/ze_api.h`; compute-runtime
//! `level_zero/include/level_zero/driver_experimental/zex_common.h` and
//! `ze_stypes.h`): Debian's headers here are API 1.4 and lack them.
//!
//! On Intel's driver a counter-based event names a value of its in-order
//! list's counter: each append that signals it points it at a new value, so
//! it needs no reset, and whoever waits on it waits for the value of the
//! latest append (compute-runtime
//! `level_zero/doc/experimental_extensions/COUNTER_BASED_EVENTS.md`). swze
//! gives each such append a fresh event word of its own (a generation, a
//! [`Slot`]); the event points at the latest one. An earlier append still in
//! flight signals its own word, so it can never make a later one look
//! complete; a word is reused only once its signal has landed and nothing
//! (command or host wait) refers to it any more.
//!
//! The common case costs about what a regular event does: an append whose
//! event's current word is free (a synchronous request's always is) takes it
//! in place without a lock, by taking the word's first use from none; a wait
//! at append and a host wait take a use of the current word and check it is
//! still current; a query reads the current word. Only an append that must
//! look further, or make more words, takes the counter's lock.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use ze_sys::*;

use crate::args;
use crate::config;
use crate::backend::{Backend, CellRef, EventCell, EventMemory, EventUse, RESET, SIGNALED};
use crate::entry::require;

/// `ZE_COMMAND_QUEUE_FLAG_IN_ORDER` (API 1.7), in an immediate list's queue
/// descriptor.
pub const COMMAND_QUEUE_FLAG_IN_ORDER: u32 = 1 << 1;
/// `ZE_COMMAND_LIST_FLAG_IN_ORDER` (API 1.7), in a regular list's descriptor.
pub const COMMAND_LIST_FLAG_IN_ORDER: u32 = 1 << 3;
/// `ZE_STRUCTURE_TYPE_COUNTER_BASED_EVENT_POOL_EXP_DESC`.
pub const COUNTER_BASED_EVENT_POOL_EXP_DESC: ze_structure_type_t = 0x0002_0014;
/// `ZE_EVENT_POOL_COUNTER_BASED_EXP_FLAG_IMMEDIATE` and
/// `ZEX_COUNTER_BASED_EVENT_FLAG_IMMEDIATE`: signalled on immediate lists.
pub const FLAG_IMMEDIATE: u32 = 1 << 0;
/// `..._FLAG_NON_IMMEDIATE`: signalled on regular lists.
pub const FLAG_NON_IMMEDIATE: u32 = 1 << 1;
/// `ZEX_COUNTER_BASED_EVENT_FLAG_IPC`, `_KERNEL_TIMESTAMP`, `_KERNEL_MAPPED_TIMESTAMP`.
pub(crate) const ZEX_FLAG_IPC: u32 = 1 << 3;
pub(crate) const ZEX_FLAG_KERNEL_TIMESTAMP: u32 = 1 << 4;
pub(crate) const ZEX_FLAG_KERNEL_MAPPED_TIMESTAMP: u32 = 1 << 5;
/// `ZE_EVENT_POOL_COUNTER_BASED_EXP_NAME`, version 1.0.
pub const POOL_EXTENSION_NAME: &str = "ZE_experimental_event_pool_counter_based";
/// `ZEX_COUNTER_BASED_EVENT_EXT_NAME`, version 1.0 (`zexCounterBasedEventCreate2`).
pub const EVENT_EXTENSION_NAME: &str = "ZEX_counter_based_event";
pub const EXTENSION_NAMES: [&str; 2] = [POOL_EXTENSION_NAME, EVENT_EXTENSION_NAME];

/// `ze_event_pool_counter_based_exp_desc_t`.
#[repr(C)]
struct PoolDesc {
    stype: ze_structure_type_t,
    next: *const c_void,
    flags: u32,
}

/// `zex_counter_based_event_desc_t` (its `stype` is
/// `ZEX_STRUCTURE_COUNTER_BASED_EVENT_DESC`, 0x0003001C, which Intel's
/// create function does not check).
#[repr(C)]
pub struct ZexDesc {
    stype: u32,
    next: *const c_void,
    pub(crate) flags: u32,
    signal_scope: u32,
    wait_scope: u32,
}

/// `SWZE_COUNTER_EVENTS` (`config`): off, the extensions are not reported,
/// Intel's create function is not given and a pool's counter-based
/// descriptor is skipped like any unknown extension (a driver without the feature).
pub fn enabled() -> bool {
    config::counter_events()
}

/// The counter-based flags a pool's descriptor asks for, `None` for a pool of
/// regular events. As compute-runtime's `EventPool::setupDescriptorFlags` and
/// `EventPool::initialize` (`level_zero/core/source/event/event.cpp`): flags
/// 0 mean IMMEDIATE; an IPC pool is `UNSUPPORTED_FEATURE`; flags with
/// neither IMMEDIATE nor NON_IMMEDIATE are `INVALID_ARGUMENT`. (Intel's
/// driver looks only at the first `pNext`; swze finds it anywhere in the chain.)
///
/// # Safety
/// `desc.pNext` is a valid extension chain (the Level Zero contract).
pub unsafe fn pool_flags(desc: &ze_event_pool_desc_t) -> Result<Option<u32>, ze_result_t> {
    if !enabled() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let Some(extension) = (unsafe { args::find_extension(desc.pNext, COUNTER_BASED_EVENT_POOL_EXP_DESC) }) else {
        return Ok(None);
    };
    // SAFETY: an extension of this stype is a `ze_event_pool_counter_based_exp_desc_t`.
    let flags = unsafe { (*(extension as *const ze_base_desc_t).cast::<PoolDesc>()).flags };
    require(desc.flags & ZE_EVENT_POOL_FLAG_IPC == 0, ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)?;
    let flags = if flags == 0 { FLAG_IMMEDIATE } else { flags };
    require(flags & (FLAG_IMMEDIATE | FLAG_NON_IMMEDIATE) != 0, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    Ok(Some(flags))
}

/// The flag a counter-based event needs for an append to a list
/// (`in_order`, `immediate`) to signal it; 0, none will do. As
/// compute-runtime's `handleCounterBasedEventOperations`
/// (`level_zero/core/source/cmdlist/cmdlist_hw.inl`), which refuses a list
/// that is not in order, an immediate list for an event without IMMEDIATE
/// and a regular one without NON_IMMEDIATE, each with `INVALID_ARGUMENT`.
/// Found once, when the list is made.
pub fn signal_kind(in_order: bool, immediate: bool) -> u32 {
    match (in_order, immediate) {
        (false, _) => 0,
        (true, true) => FLAG_IMMEDIATE,
        (true, false) => FLAG_NON_IMMEDIATE,
    }
}

/// Whether an append to a list of `kind` ([`signal_kind`]) may signal a
/// counter-based event of `flags`.
#[inline]
pub fn may_signal(flags: u32, kind: u32) -> bool {
    flags & kind != 0
}

/// One generation of a counter-based event: an event word and the commands
/// and host waits that still refer to it.
pub struct Slot {
    /// The word, found once: every append, query and host wait reads it.
    cell: CellRef,
    uses: AtomicUsize,
    /// The memory `cell` lies in, kept alive by whoever holds the slot (a
    /// command in flight outlives a destroyed event).
    _memory: Arc<dyn EventMemory>,
}

impl Slot {
    pub fn cell(&self) -> &EventCell {
        // SAFETY: the cell lies in `self._memory`, which this slot keeps
        // alive, and event memory never moves.
        unsafe { self.cell.cell() }
    }

    /// Takes the word for a new append if it is free: nothing refers to it
    /// and its signal has landed (a backend reports a command finished just
    /// before its signal is written, so that a host woken by the signal
    /// sees the event free, and a word reset in between would read complete
    /// for the new append). The use is taken first, and only from none, so
    /// that two appends never both take a word, nor an append one that a
    /// wait holds; the word is read after it: every earlier use has
    /// finished, so what it reads is at least the reset of the latest
    /// append (a signal still to come reads not signalled), and the use is
    /// given back.
    #[inline]
    fn claim(&self) -> bool {
        // Read before the atomics, which would make the compiler read it again.
        let cell = self.cell();
        if self.uses.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return false;
        }
        if cell.is_signaled() {
            return true;
        }
        self.uses.fetch_sub(1, Ordering::Release);
        false
    }
}

impl EventUse for Slot {
    fn use_finished(&self) {
        self.uses.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A host wait on one generation: keeps it from being reused meanwhile.
pub struct HostHold(Arc<Slot>);

impl HostHold {
    pub fn cell(&self) -> &EventCell {
        self.0.cell()
    }
}

impl Drop for HostHold {
    fn drop(&mut self) {
        self.0.use_finished();
    }
}

/// The generations of one counter-based event.
///
/// An append that signals it takes the current word when that is free (a
/// synchronous request always finds it so) without a lock, as on Intel's
/// driver, where such an event only names a value of the list's counter;
/// one that has to look further, or make more words, takes `slots`' lock.
/// A wait at append, a host wait and a query read `current` without a lock.
pub struct Counter {
    pub flags: u32,
    /// The backend that made its words: asked for more, or to retire
    /// finished commands, when none is free.
    backend: &'static dyn Backend,
    /// The latest generation's slot: a pointer of `Arc::into_raw` whose
    /// count the counter owns (given back when it changes, and at drop).
    /// Every slot is also in `slots`, which holds it until the counter is
    /// dropped: a pointer read here stays valid while the counter is,
    /// current or not. Changed only under `slots`' lock, after the new word
    /// has been taken and reset.
    current: AtomicPtr<Slot>,
    /// Some append signalled it: before that, a wait on it is refused.
    appended: AtomicBool,
    /// Every word made so far.
    slots: Mutex<Vec<Arc<Slot>>>,
}

/// Words allocated at a time, first; then as many as there are already.
const FIRST_CHUNK: usize = 4;

/// Words an event grows to before an append with none free asks the backend
/// to retire finished commands (which frees their words).
const GROW_BEFORE_ASKING: usize = 32;

/// `count` new words, each complete: no append is pending on it, so that
/// it is free to take (a word only an append's signal made complete would
/// never be, and every word of a chunk but the one its append took would
/// be lost).
fn chunk(backend: &dyn Backend, count: usize) -> Result<Vec<Arc<Slot>>, ze_result_t> {
    let memory: Arc<dyn EventMemory> = Arc::from(backend.event_memory(count)?);
    let cells = memory.cells();
    for cell in cells {
        cell.value.store(SIGNALED, Ordering::Release);
    }
    Ok((0..count)
        .map(|index| Arc::new(Slot { cell: CellRef::new(&cells[index]), uses: AtomicUsize::new(0), _memory: Arc::clone(&memory) }))
        .collect())
}

/// A command's or a host wait's own reference to a slot the counter holds.
///
/// # Safety
/// `slot` came from `Arc::into_raw` (it is, or was, `Counter::current`)
/// and the counter that holds it is alive.
#[inline]
unsafe fn share(slot: *const Slot) -> Arc<Slot> {
    // SAFETY: the counter's `slots` holds a count of this allocation for as
    // long as it lives (caller's contract), so the count is at least one
    // throughout, and the pointer is one of `Arc::into_raw`.
    unsafe {
        Arc::increment_strong_count(slot);
        Arc::from_raw(slot)
    }
}

impl Counter {
    /// A new event: complete until an append signals it (Intel's
    /// `queryCounterBasedEventStatus` answers success without a counter).
    pub fn new(backend: &'static dyn Backend, flags: u32) -> Result<Counter, ze_result_t> {
        let slots = chunk(backend, FIRST_CHUNK)?;
        let current = AtomicPtr::new(Arc::into_raw(Arc::clone(&slots[0])).cast_mut());
        Ok(Counter { flags, backend, current, appended: AtomicBool::new(false), slots: Mutex::new(slots) })
    }

    /// The slot `current` names.
    #[inline]
    fn current(&self) -> &Slot {
        // SAFETY: `current` always names a slot of `self.slots`, which holds
        // it until the counter is dropped, and `self` is borrowed.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// A new generation for an append that signals the event: a word nothing
    /// refers to any more (the current one if it is free), reset, made
    /// current and marked in use by the command.
    ///
    /// The current word taken without the lock stays current; if another
    /// append has moved `current` meanwhile (it began before this one took
    /// the word, so they overlap), the word taken is one that nothing
    /// else refers to, and the event names that other append's, as if it
    /// came after this one: a late signal of either lands on its own word.
    #[inline]
    pub fn signal(&self) -> Result<(CellRef, Arc<Slot>), ze_result_t> {
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: as in `current()`.
        let slot = unsafe { &*current };
        let (cell, word) = (slot.cell, slot.cell());
        if !slot.claim() {
            return self.signal_elsewhere();
        }
        word.value.store(RESET, Ordering::Release);
        self.appended.store(true, Ordering::Release);
        // SAFETY: `current` came from `Arc::into_raw` and `self` holds the slot.
        Ok((cell, unsafe { share(current) }))
    }

    /// As `signal`, when the current word is in use: the first free word
    /// (the current one first, as it may have come free meanwhile), else
    /// more words; made current.
    #[cold]
    #[inline(never)]
    fn signal_elsewhere(&self) -> Result<(CellRef, Arc<Slot>), ze_result_t> {
        let mut slots = self.slots.lock();
        let mut claimed = self.claim_free(&slots);
        // A device reports finished commands only when asked, and asking
        // looks at every queue: up to `GROW_BEFORE_ASKING` words the event
        // grows instead, so that an event appended and waited for in turn
        // (a synchronous request) asks once every so many appends, not at each.
        if claimed.is_none() && slots.len() >= GROW_BEFORE_ASKING {
            self.backend.retire_finished();
            claimed = self.claim_free(&slots);
        }
        let slot = match claimed {
            Some(slot) => slot,
            None => {
                let more = chunk(self.backend, slots.len().max(FIRST_CHUNK))?;
                // Nobody sees the new words before they are in `slots`: the
                // first is this append's without a claim.
                more[0].uses.store(1, Ordering::Relaxed);
                let slot = Arc::clone(&more[0]);
                slots.extend(more);
                slot
            }
        };
        slot.cell().value.store(RESET, Ordering::Release);
        // After the reset: whoever finds the new word current reads it not
        // signalled.
        let previous = self.current.swap(Arc::into_raw(Arc::clone(&slot)).cast_mut(), Ordering::AcqRel);
        // SAFETY: `previous` came from `Arc::into_raw` and its count was the
        // counter's, given back once, here; `slots` still holds the slot,
        // for those that read the pointer before the swap.
        drop(unsafe { Arc::from_raw(previous) });
        self.appended.store(true, Ordering::Release);
        drop(slots);
        Ok((slot.cell, slot))
    }

    /// The current word if it is free, else the first free one, taken.
    fn claim_free(&self, slots: &[Arc<Slot>]) -> Option<Arc<Slot>> {
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: as in `current()`.
        if unsafe { &*current }.claim() {
            // SAFETY: `current` came from `Arc::into_raw` and `self` holds the slot.
            return Some(unsafe { share(current) });
        }
        slots.iter().find(|slot| slot.claim()).cloned()
    }

    /// The current slot, with a use taken while it is still current: no
    /// append can take its word until the use is given back, and the word
    /// is that of the latest append at the moment the use was seen taken
    /// (an append that took it just before is that latest one).
    #[inline]
    fn pin_current(&self) -> Arc<Slot> {
        loop {
            let current = self.current.load(Ordering::Acquire);
            // SAFETY: as in `current()`.
            let slot = unsafe { &*current };
            slot.uses.fetch_add(1, Ordering::AcqRel);
            if self.current.load(Ordering::Acquire) == current {
                // SAFETY: `current` came from `Arc::into_raw` and `self` holds the slot.
                return unsafe { share(current) };
            }
            // Another append moved on meanwhile: its word instead.
            slot.uses.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The latest generation, for a command that waits on the event.
    // Not inlined: `event::wait_use`, which calls it, is inlined into every
    // append, and regular events should not pay for this loop there.
    #[inline(never)]
    pub fn wait(&self) -> (CellRef, Arc<Slot>) {
        let slot = self.pin_current();
        (slot.cell, slot)
    }

    /// Whether an append has signalled it: compute-runtime's
    /// `appendWaitOnEvents` refuses a wait on one never signalled
    /// (`INVALID_ARGUMENT`, "in-order event not signaled yet").
    #[inline]
    pub fn appended(&self) -> bool {
        self.appended.load(Ordering::Acquire)
    }

    /// The latest generation is complete. Read without the lock, as Intel's
    /// driver reads an in-order list's counter: the word read was current
    /// at some moment of the call. An append that reuses it meanwhile makes
    /// it read not signalled, the answer for that newer append; one that
    /// moves to another word began during the call, so that the answer may
    /// be for the append before it.
    #[inline]
    pub fn is_signaled(&self) -> bool {
        self.current().cell().is_signaled()
    }

    /// The latest generation, held for a host wait.
    pub fn hold(&self) -> HostHold {
        HostHold(self.pin_current())
    }

    /// Words made so far (for tests).
    #[cfg(test)]
    fn words(&self) -> usize {
        self.slots.lock().len()
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        // SAFETY: `current` came from `Arc::into_raw` and owns one count,
        // given back once, here.
        drop(unsafe { Arc::from_raw(*self.current.get_mut()) });
    }
}

#[cfg(test)]
mod tests;
