//! The counter's unit tests: its words against a backend that only makes
//! event memory, and Intel's pool and signalling rules.

use super::*;
use crate::backend::QueueSpec;
use std::ptr::NonNull;

struct Cells(Vec<EventCell>);
impl EventMemory for Cells {
    fn cells(&self) -> &[EventCell] {
        &self.0
    }
}

/// A backend that only makes event memory.
struct Words;
impl Backend for Words {
    fn name(&self) -> &'static std::ffi::CStr {
        c"test"
    }
    fn devices(&self) -> &[crate::backend::DeviceDescription] {
        &[]
    }
    fn product(&self) -> &'static crate::backend::model::Product {
        &crate::backend::model::MAX_1550
    }
    fn allocate(&self, _: crate::backend::MemoryKind, _: usize, _: usize, _: usize) -> Result<NonNull<u8>, ze_result_t> {
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    unsafe fn free(&self, _: crate::backend::MemoryKind, _: NonNull<u8>, _: usize, _: usize) {}
    fn event_memory(&self, count: usize) -> Result<Box<dyn EventMemory>, ze_result_t> {
        Ok(Box::new(Cells((0..count).map(|_| EventCell { value: RESET.into(), sleepers: 0.into() }).collect())))
    }
    fn create_queue(&self, _: &QueueSpec) -> Result<Box<dyn crate::backend::Queue>, ze_result_t> {
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    fn signal_from_host(&self, cell: &EventCell) {
        cell.value.store(SIGNALED, Ordering::Release);
    }
    fn wait_from_host(&self, cell: &EventCell, _: Option<std::time::Instant>) -> bool {
        cell.is_signaled()
    }
    fn wait_all_idle(&self) {}
}

fn signal(cell: CellRef) {
    // SAFETY: the test keeps the use (and so the slot) alive.
    unsafe { cell.cell() }.value.store(SIGNALED, Ordering::Release);
}

#[test]
fn complete_before_any_append_and_not_ready_from_the_append_on() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    assert!(counter.is_signaled());
    assert!(!counter.appended());
    let (cell, first) = counter.signal().unwrap();
    assert!(counter.appended());
    assert!(!counter.is_signaled());
    signal(cell);
    first.use_finished();
    assert!(counter.is_signaled());
}

#[test]
fn an_earlier_signal_in_flight_never_completes_a_later_append() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (early, early_use) = counter.signal().unwrap();
    let (late, late_use) = counter.signal().unwrap();
    assert!(early != late, "a word still in use is never reused");
    signal(early);
    early_use.use_finished();
    assert!(!counter.is_signaled(), "the event names the later append");
    signal(late);
    late_use.use_finished();
    assert!(counter.is_signaled());
}

#[test]
fn a_wait_refers_to_the_append_it_followed() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (first, first_use) = counter.signal().unwrap();
    let (waited, wait_use) = counter.wait();
    assert!(waited == first);
    signal(first);
    first_use.use_finished();
    // The word is still waited on: the next append takes another.
    let (second, second_use) = counter.signal().unwrap();
    assert!(second != first);
    // SAFETY: `wait_use` keeps the first word alive.
    assert!(unsafe { waited.cell() }.is_signaled(), "the waiter still sees its append complete");
    wait_use.use_finished();
    second_use.use_finished();
}

#[test]
fn finished_words_are_reused_and_words_grow_with_appends_in_flight() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    for _ in 0..1000 {
        let (cell, done) = counter.signal().unwrap();
        signal(cell);
        done.use_finished();
    }
    assert_eq!(counter.words(), FIRST_CHUNK, "one word serves appends that finish in turn");
    let in_flight: Vec<_> = (0..10).map(|_| counter.signal().unwrap()).collect();
    assert!(counter.words() >= 10);
    let hold = counter.hold();
    assert!(!hold.cell().is_signaled());
    for (cell, done) in &in_flight {
        signal(*cell);
        done.use_finished();
    }
    assert!(counter.is_signaled());
    drop(hold);
}

#[test]
fn a_finished_command_whose_signal_has_not_landed_keeps_its_word() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (first, first_use) = counter.signal().unwrap();
    // The backend says the command finished; its signal is still to come.
    first_use.use_finished();
    let (second, second_use) = counter.signal().unwrap();
    assert!(second != first, "the late signal must not land on the new append's word");
    signal(first);
    assert!(!counter.is_signaled());
    signal(second);
    second_use.use_finished();
    assert!(counter.is_signaled());
}

fn address(cell: CellRef) -> usize {
    // SAFETY: the caller holds the use that keeps the word alive.
    unsafe { cell.cell() as *const EventCell as usize }
}

#[test]
fn every_word_of_a_chunk_serves_before_the_event_grows() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let in_flight: Vec<_> = (0..FIRST_CHUNK).map(|_| counter.signal().unwrap()).collect();
    assert_eq!(counter.words(), FIRST_CHUNK, "the first chunk holds an append in flight on each word");
    let more: Vec<_> = (0..FIRST_CHUNK).map(|_| counter.signal().unwrap()).collect();
    assert_eq!(counter.words(), 2 * FIRST_CHUNK, "and so does the second");
    let mut words: Vec<_> = in_flight.iter().chain(&more).map(|(cell, _)| address(*cell)).collect();
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), 2 * FIRST_CHUNK, "each on a word of its own");
    for (cell, done) in in_flight.into_iter().chain(more) {
        done.use_finished();
        signal(cell);
    }
    assert!(counter.is_signaled());
}

#[test]
fn a_free_current_word_is_taken_again_in_place() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (first, first_use) = counter.signal().unwrap();
    let current = counter.current.load(Ordering::Relaxed);
    signal(first);
    first_use.use_finished();
    drop(first_use);
    let (second, second_use) = counter.signal().unwrap();
    assert!(second == first, "the same word serves the next append");
    assert_eq!(counter.current.load(Ordering::Relaxed), current, "and stays current");
    assert!(!counter.is_signaled(), "read without the lock: the new append is not complete");
    signal(second);
    second_use.use_finished();
    assert!(counter.is_signaled());
}

#[test]
fn a_word_is_claimed_only_when_unused_and_signalled() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (cell, first_use) = counter.signal().unwrap();
    let slot = counter.current();
    assert!(!slot.claim(), "in use by its append");
    first_use.use_finished();
    assert!(!slot.claim(), "finished, its signal still to come");
    assert_eq!(slot.uses.load(Ordering::Relaxed), 0, "a failed claim gives its use back");
    signal(cell);
    assert!(slot.claim());
    assert!(!slot.claim(), "taken once");
    slot.use_finished();
}

#[test]
fn a_host_wait_holds_its_word() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (first, first_use) = counter.signal().unwrap();
    let hold = counter.hold();
    signal(first);
    first_use.use_finished();
    let (second, second_use) = counter.signal().unwrap();
    assert!(second != first, "the held word is not reused");
    assert!(hold.cell().is_signaled(), "the host wait still sees its append complete");
    drop(hold);
    signal(second);
    second_use.use_finished();
}

#[test]
fn a_command_in_flight_keeps_its_word_past_the_event() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let (cell, done) = counter.signal().unwrap();
    drop(counter);
    // The engine's side: its signal lands on memory its use keeps alive.
    signal(cell);
    done.use_finished();
    // SAFETY: `done` still holds the word.
    assert!(unsafe { cell.cell() }.is_signaled());
}

/// Appends, waits and host waits on one event from several threads, each
/// append's command run by its own thread: no word is ever taken by two
/// appends whose signals are both still to land.
#[test]
fn concurrent_appends_never_share_a_word_in_flight() {
    let counter = Counter::new(&Words, FLAG_IMMEDIATE).unwrap();
    let in_flight = Mutex::new(std::collections::HashSet::new());
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (counter, in_flight) = (&counter, &in_flight);
            scope.spawn(move || {
                for round in 0..5000 {
                    let (cell, done) = counter.signal().unwrap();
                    assert!(in_flight.lock().insert(address(cell)), "two appends in flight on one word");
                    match (round + thread) % 3 {
                        0 => counter.wait().1.use_finished(),
                        1 => drop(counter.hold()),
                        _ => {}
                    }
                    let _ = counter.is_signaled();
                    // The command runs: finished, then its signal lands.
                    in_flight.lock().remove(&address(cell));
                    done.use_finished();
                    signal(cell);
                }
            });
        }
    });
    assert!(counter.is_signaled());
    assert!(counter.words() <= 32, "words are reused: {}", counter.words());
}

#[test]
fn only_in_order_lists_of_the_flagged_kind_signal() {
    let may_signal = |flags, in_order, immediate| may_signal(flags, signal_kind(in_order, immediate));
    assert!(may_signal(FLAG_IMMEDIATE, true, true));
    assert!(!may_signal(FLAG_IMMEDIATE, false, true), "not in order");
    assert!(!may_signal(FLAG_IMMEDIATE, true, false), "a regular list");
    assert!(may_signal(FLAG_NON_IMMEDIATE, true, false));
    assert!(!may_signal(FLAG_NON_IMMEDIATE, true, true));
    assert!(may_signal(FLAG_IMMEDIATE | FLAG_NON_IMMEDIATE, true, false));
    assert!(!may_signal(FLAG_IMMEDIATE | FLAG_NON_IMMEDIATE, false, false), "not in order");
}

#[test]
fn pool_flags_as_compute_runtime_reads_them() {
    let with = |pool_flags: u32, flags: u32| {
        let extension = PoolDesc { stype: COUNTER_BASED_EVENT_POOL_EXP_DESC, next: std::ptr::null(), flags };
        let desc = ze_event_pool_desc_t {
            stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
            pNext: (&extension as *const PoolDesc).cast(),
            flags: pool_flags,
            count: 1,
        };
        // SAFETY: a chain of one valid extension.
        unsafe { super::pool_flags(&desc) }
    };
    assert_eq!(with(0, 0), Ok(Some(FLAG_IMMEDIATE)));
    assert_eq!(with(ZE_EVENT_POOL_FLAG_HOST_VISIBLE, FLAG_NON_IMMEDIATE), Ok(Some(FLAG_NON_IMMEDIATE)));
    assert_eq!(with(0, 4), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
    assert_eq!(with(ZE_EVENT_POOL_FLAG_IPC, FLAG_IMMEDIATE), Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE));
    let plain = ze_event_pool_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, pNext: std::ptr::null(), flags: 0, count: 1 };
    // SAFETY: no chain.
    assert_eq!(unsafe { super::pool_flags(&plain) }, Ok(None));
}
