//! A scripted fake Level Zero driver for the library's unit tests, reached
//! through the same typed table as the loader's (`Ze::from_entries`), so that
//! the code under test is the code that ships, call for call.
//!
//! It models the spec and Intel's driver only as far as the tests need:
//! - one driver (`DRIVER`) with one root device (`DEVICE`) of two
//!   sub-devices (`SUB_DEVICES`, flagged as such), each with a compute group
//!   of one queue then a copy-only group of two; count-then-fill queries as
//!   the spec has them;
//! - contexts, immediate lists (in-order when created with the flag), event
//!   pools (counter-based when the experimental descriptor is chained) and
//!   their events, one per index;
//! - appends of copies and barriers: a command runs once the commands before
//!   it on its list have run and every event it waits on is signalled, and
//!   then signals its event. Nothing is copied. Commands run at once, unless
//!   the test `hold`s the device: then only when it `finish`es, or when the
//!   host synchronizes on an event (the host waits for the device);
//! - a host reset unsignals an event; a counter-based event is re-armed by
//!   its next append, and its host reset is refused (`UNSUPPORTED_FEATURE`,
//!   as Intel's `EventImp::reset` does);
//! - `zeMemGetAllocProperties` answers from the ranges the test declares
//!   (`allocation`), unknown elsewhere; the driver lists the extensions the
//!   test offers and has no extension function.
//!
//! Script: `fail(call, n, result)` makes the `n`-th call of `call` from now
//! return `result` and do nothing else, as a failing call does. Every call is
//! counted (`calls`), every append logged (`appends`), and every event
//! the host saw signalled (`observed`). What a real driver
//! would punish later, or what breaks the library's invariants, is recorded as
//! a violation: a reset, destroy or new signal of an event the device may
//! still signal; a signal of an event not reset since it was signalled; a
//! host reset of a counter-based event; a stale or foreign handle; a pool,
//! list or context destroyed before what depends on it; a host synchronize
//! that would never return. Dropping the `Fake` fails the test if any was.
//!
//! State is per thread (libtest runs each test on a thread of its own; the
//! threads of a loom model all run on the test's, so they share it),
//! installed by `Fake::new` and removed by its drop: make the `Fake` first,
//! so that it is dropped after everything made through it. Handles are
//! non-null fake pointers, keys of the fake's maps, never dereferenced.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::sync::OnceLock;

use ze_sys::*;

use crate::loader::Ze;

mod entries;

/// The fake's one driver, root device and sub-devices, as handles.
pub(crate) const DRIVER: usize = 0xd0;
pub(crate) const DEVICE: usize = 0xde0;
pub(crate) const SUB_DEVICES: [usize; 2] = [0xde8, 0xdf0];
/// Where the handles of made objects start (one counter for every kind).
const FIRST_HANDLE: usize = 0x10_0000;
/// `ZE_STRUCTURE_TYPE_COUNTER_BASED_EVENT_POOL_EXP_DESC` (`ze_api.h`).
const COUNTER_BASED_POOL_DESC: ze_structure_type_t = 0x0002_0014;
/// `ZE_COMMAND_QUEUE_FLAG_IN_ORDER` (`ze_api.h`).
const IN_ORDER: ze_command_queue_flags_t = 1 << 1;

/// The entry points the fake counts and can fail, one per `Ze` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Call {
    Init,
    DriverGet,
    DeviceGet,
    SubDevices,
    DeviceProperties,
    QueueGroups,
    ContextCreate,
    ContextDestroy,
    ListCreate,
    ListDestroy,
    AppendCopy,
    AppendCopyRegion,
    AppendBarrier,
    PoolCreate,
    PoolDestroy,
    EventCreate,
    EventDestroy,
    HostSynchronize,
    HostReset,
    QueryStatus,
    AllocProperties,
    ExtensionProperties,
    ExtensionFunction,
}

/// A command as it was appended; `signal` 0 is none, `dst` the address a
/// copy writes to (what tells one request's copy from another's), 0 for a
/// barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Append {
    pub call: Call,
    pub list: usize,
    pub dst: usize,
    pub signal: usize,
    pub wait: Vec<usize>,
}

/// How many objects of each kind are alive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Live {
    pub contexts: usize,
    pub lists: usize,
    pub pools: usize,
    pub events: usize,
}

struct EventState {
    pool: usize,
    index: u32,
    signalled: bool,
    live: bool,
}

struct PoolState {
    context: usize,
    capacity: u32,
    counter_based: bool,
    live: bool,
}

struct ListState {
    context: usize,
    in_order: bool,
    live: bool,
    /// Commands not yet run: (signal, wait).
    pending: VecDeque<(usize, Vec<usize>)>,
}

#[derive(Default)]
struct State {
    next_handle: usize,
    calls: HashMap<Call, u32>,
    /// (call, the number of the call that fails, its result).
    faults: Vec<(Call, u32, ze_result_t)>,
    contexts: HashMap<usize, bool>,
    lists: HashMap<usize, ListState>,
    pools: HashMap<usize, PoolState>,
    events: HashMap<usize, EventState>,
    held: bool,
    appends: Vec<Append>,
    /// The host saw these events signalled: (how many appends were made by
    /// then, the event).
    observed: Vec<(usize, usize)>,
    violations: Vec<String>,
    /// (start, length, type, device).
    allocations: Vec<(usize, usize, ze_memory_type_t, usize)>,
    extensions: Vec<Vec<u8>>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Counts `call`, applies its scripted fault if this is the call, else runs
/// `body`. Without a `Fake` on this thread: `UNINITIALIZED`.
fn enter(call: Call, body: impl FnOnce(&mut State) -> Result<(), ze_result_t>) -> ze_result_t {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        let Some(state) = state.as_mut() else { return ZE_RESULT_ERROR_UNINITIALIZED };
        let count = state.calls.entry(call).or_insert(0);
        *count += 1;
        let number = *count;
        if let Some(at) = state.faults.iter().position(|&(c, n, _)| c == call && n == number) {
            return state.faults.remove(at).2;
        }
        body(state).err().unwrap_or(ZE_RESULT_SUCCESS)
    })
}

impl State {
    fn handle(&mut self) -> usize {
        self.next_handle += 0x10;
        self.next_handle
    }

    /// The host saw `event` signalled.
    fn observe(&mut self, event: usize) {
        self.observed.push((self.appends.len(), event));
    }

    fn note(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Refuses, and flags, a handle that is no live object of the kind its
    /// caller looked it up as (`alive` false).
    fn check(&mut self, alive: bool, doing: &str, handle: usize) -> Result<(), ze_result_t> {
        if alive {
            return Ok(());
        }
        self.note(format!("{doing}: {handle:#x} is no live object of its kind"));
        Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
    }

    fn live_context(&mut self, doing: &str, handle: usize) -> Result<(), ze_result_t> {
        let alive = self.contexts.get(&handle) == Some(&true);
        self.check(alive, doing, handle)
    }

    fn live_event(&mut self, doing: &str, handle: usize) -> Result<(), ze_result_t> {
        let alive = self.events.get(&handle).is_some_and(|event| event.live);
        self.check(alive, doing, handle)
    }

    fn known_device(&mut self, doing: &str, handle: usize) -> Result<(), ze_result_t> {
        let known = handle == DEVICE || SUB_DEVICES.contains(&handle);
        self.check(known, doing, handle)
    }

    /// Whether a command not yet run signals (`signals`) or waits on `event`.
    fn pending_on(&self, event: usize, signals_only: bool) -> bool {
        self.lists.values().flat_map(|list| &list.pending).any(|(signal, wait)| {
            *signal == event || (!signals_only && wait.contains(&event))
        })
    }

    fn counter_based(&self, event: usize) -> bool {
        self.pools[&self.events[&event].pool].counter_based
    }

    /// Runs what can run (everything, `force`d, as when the host waits),
    /// list by list in order, until nothing more can.
    fn run(&mut self, force: bool) {
        if self.held && !force {
            return;
        }
        loop {
            let mut ran = false;
            for list in self.lists.values_mut() {
                while let Some((signal, wait)) = list.pending.front() {
                    if !wait.iter().all(|e| self.events.get(e).is_some_and(|e| e.signalled)) {
                        break;
                    }
                    if let Some(event) = self.events.get_mut(signal) {
                        event.signalled = true;
                    }
                    list.pending.pop_front();
                    ran = true;
                }
            }
            if !ran {
                return;
            }
        }
    }

    fn append(&mut self, call: Call, list: usize, dst: usize, signal: usize, wait: Vec<usize>) -> Result<(), ze_result_t> {
        let (alive, in_order) = self.lists.get(&list).map_or((false, false), |l| (l.live, l.in_order));
        self.check(alive, "append", list)?;
        for &event in &wait {
            self.live_event("append's wait", event)?;
        }
        if signal != 0 {
            self.live_event("append's signal", signal)?;
            if self.pending_on(signal, true) {
                self.note(format!("append signals {signal:#x}, which a pending command signals"));
            }
            if self.counter_based(signal) {
                if !in_order {
                    self.note(format!("append signals counter-based {signal:#x} on a list not in-order"));
                }
                self.events.get_mut(&signal).expect("live").signalled = false;
            } else if self.events[&signal].signalled {
                self.note(format!("append signals {signal:#x}, signalled and not reset since"));
            }
        }
        self.appends.push(Append { call, list, dst, signal, wait: wait.clone() });
        self.lists.get_mut(&list).expect("live").pending.push_back((signal, wait));
        self.run(false);
        Ok(())
    }
}

/// The fake driver of this thread, from `new` until dropped.
pub(crate) struct Fake {
    _one_thread: PhantomData<*const ()>,
}

impl Fake {
    /// Installs a fresh fake on this thread. Panics if one is installed.
    pub fn new() -> Fake {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            assert!(state.is_none(), "one Fake per thread at a time");
            *state = Some(State { next_handle: FIRST_HANDLE, ..State::default() });
        });
        Fake { _one_thread: PhantomData }
    }

    /// The table whose every entry is this fake's (the same for every test:
    /// the state is the thread's).
    pub fn ze(&self) -> &'static Ze {
        static ZE: OnceLock<Ze> = OnceLock::new();
        ZE.get_or_init(|| {
            Ze::from_entries(entries::entries())
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        STATE.with(|state| f(state.borrow_mut().as_mut().expect("installed by Fake::new")))
    }

    /// The `nth` call of `call` from now (1: the next) returns `result`.
    pub fn fail(&self, call: Call, nth: u32, result: ze_result_t) {
        assert!(nth > 0, "the first call from now is the 1st");
        self.with(|s| {
            let at = s.calls.get(&call).copied().unwrap_or(0) + nth;
            s.faults.push((call, at, result));
        });
    }

    /// How many times `call` was made (failed ones too).
    pub fn calls(&self, call: Call) -> u32 {
        self.with(|s| s.calls.get(&call).copied().unwrap_or(0))
    }

    /// From now, appended commands wait until `finish` (or a host synchronize).
    pub fn hold(&self) {
        self.with(|s| s.held = true);
    }

    /// Runs everything that can run, and stops holding.
    pub fn finish(&self) {
        self.with(|s| {
            s.held = false;
            s.run(true);
        });
    }

    /// Every command appended so far, in order.
    pub fn appends(&self) -> Vec<Append> {
        self.with(|s| s.appends.clone())
    }

    /// Every time the host saw an event signalled (a synchronize or a query
    /// that succeeded): how many appends were made by then, and the event.
    /// Read by the loom test of the lanes only.
    #[cfg_attr(not(loom), allow(dead_code))]
    pub fn observed(&self) -> Vec<(usize, usize)> {
        self.with(|s| s.observed.clone())
    }

    pub fn live(&self) -> Live {
        self.with(|s| Live {
            contexts: s.contexts.values().filter(|&&alive| alive).count(),
            lists: s.lists.values().filter(|l| l.live).count(),
            pools: s.pools.values().filter(|p| p.live).count(),
            events: s.events.values().filter(|e| e.live).count(),
        })
    }

    /// Whether `event` is signalled now, as the device sees it.
    pub fn signalled(&self, event: ze_event_handle_t) -> bool {
        self.with(|s| s.events.get(&(event as usize)).is_some_and(|e| e.signalled))
    }

    /// `[start, start + len)` is memory of `kind` (on `device`, if not 0).
    pub fn allocation(&self, start: usize, len: usize, kind: ze_memory_type_t, device: usize) {
        self.with(|s| s.allocations.push((start, len, kind, device)));
    }

    /// The driver lists extension `name`.
    pub fn offer_extension(&self, name: &CStr) {
        self.with(|s| s.extensions.push(name.to_bytes().to_vec()));
    }

    /// The violations so far, taken: for a test that provokes one on purpose.
    pub fn take_violations(&self) -> Vec<String> {
        self.with(|s| std::mem::take(&mut s.violations))
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let state = STATE.with(|state| state.borrow_mut().take()).expect("installed by Fake::new");
        if !std::thread::panicking() {
            assert!(state.violations.is_empty(), "the fake driver saw: {:#?}", state.violations);
        }
    }
}
