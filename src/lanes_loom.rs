//! The lock protocol of a dma over several queues (`lanes`), model-checked
//! by loom on the real code: a `DmaBlock` made as `lifecycle` makes one (on
//! the fake driver, `level_zero::fake`) takes requests and barriers from
//! two loom threads, through `engine`'s entries, in every interleaving that
//! loom explores. The locks they take are loom's under `cfg(loom)` (the
//! dma's append lock, each lane's, the ordering table's, the recycler's
//! books) and so are the atomics they share (tickets, placement, fences:
//! `sync`), so loom both sees every lock and explores every load.
//!
//! The fake's state is per OS thread, and loom runs every thread of a
//! model on the one OS thread of the test: the threads of one run share the
//! fake made at its start. Its entries hold no loom object, so nothing
//! switches inside them. The device is held: nothing completes while the
//! threads run, so their orderings come from the commands alone.
//!
//! Checked in every interleaving, from the fake's log of appends and the
//! tickets (placement order) of the requests:
//! - no deadlock (loom fails a run where every thread is blocked);
//! - every request's copy appended exactly once, and the barrier once on
//!   every list;
//! - on each list, the commands of requests, their markers and the barrier
//!   in ticket order (so a marker or a barrier comes after every request
//!   placed there before it);
//! - the data: of two requests that touch the same bytes (one writes what
//!   the other reads or writes), the later placed runs after the earlier
//!   by what the device is told (each list's order: all of an in-order
//!   list's, only across a barrier on any other; the events a command waits
//!   on) and what the host saw complete before it appended (the barrier it
//!   waited for), and a barrier runs after every request placed before it.
//!
//! The search is bounded (`PREEMPTIONS`, or `LOOM_MAX_PREEMPTIONS`).

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::Arc;

use loom::thread;

use crate::abi::aml_dma_request;
use crate::dma_fake_tests::dma_block;
use crate::engine::DmaBlock;
use crate::in_order::Mode;
use crate::level_zero::fake::{Append, Call, Fake};
use crate::operator::Op;

/// Preemptions loom explores per run, unless `LOOM_MAX_PREEMPTIONS` says.
const PREEMPTIONS: usize = 2;

/// What a thread asks of the dma.
#[derive(Clone, Copy, Debug)]
enum Ask {
    /// A copy of `size` bytes from `src` to `dst`, with a handle.
    Copy { dst: usize, src: usize, size: usize },
    /// `aml_dma_ze_barrier`.
    Barrier,
}

/// A request's copy, with its ticket once known.
#[derive(Clone, Copy, Debug)]
struct Request {
    dst: usize,
    src: usize,
    size: usize,
    ticket: u64,
}

impl Request {
    /// Whether the two touch the same bytes, one of them writing them.
    fn conflicts(&self, other: &Request) -> bool {
        let overlap = |a: usize, b: usize| a < b + other.size && b < a + self.size;
        overlap(self.dst, other.dst) || overlap(self.dst, other.src) || overlap(self.src, other.dst)
    }
}

/// The dma the threads share, and the mutex C would see (dropped after it).
struct Shared {
    block: Box<DmaBlock>,
    _mutex: Box<UnsafeCell<libc::pthread_mutex_t>>,
}

// SAFETY: a dma is used from any number of threads at once, as C's threads
// use it; the test reaches it only through the entries C reaches, and never
// touches `data` (C's own view).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// Runs `ask`; a copy's handle, as an address (pointers are not `Send`).
    fn run(&self, ask: Ask) -> Option<usize> {
        match ask {
            Ask::Copy { dst, src, size } => {
                // SAFETY: `aml_dma_ze_memcpy_op`'s arguments; the fake copies nothing.
                let req = unsafe { self.block.request_create(true, dst as *mut _, src as *mut _, Op::Memcpy, size as *mut c_void) };
                Some(req.expect("created") as usize)
            }
            Ask::Barrier => {
                self.block.barrier().expect("a barrier");
                None
            }
        }
    }

    /// The request behind `req`, with its ticket; then waits for it.
    fn finish(&self, req: usize, ask: Ask) -> Request {
        let Ask::Copy { dst, src, size } = ask else { unreachable!("only copies have handles") };
        // SAFETY: a request this dma handed out, not waited for yet.
        let block = unsafe { self.block.claim_request(req as *mut aml_dma_request) }.expect("live");
        let ticket = block.work().ticket;
        self.block.request_wait(block).expect("waited");
        Request { dst, src, size, ticket }
    }
}

/// On a dma of `lanes` lists of `mode`: `before` asked first, from the
/// model's thread; then each of `threads` from a thread of its own (the
/// last from the model's thread); then the checks.
fn model(mode: Mode, lanes: usize, before: &'static [Ask], threads: &'static [&'static [Ask]]) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    builder.check(move || {
        // First made, last dropped: it checks what it saw when dropped.
        let fake = Fake::new();
        let (block, mutex) = dma_block(&fake, mode, lanes, 0);
        let dma = Arc::new(Shared { block, _mutex: mutex });
        fake.hold();
        let run = |dma: &Shared, asks: &[Ask]| -> Vec<(Ask, Option<usize>)> { asks.iter().map(|&ask| (ask, dma.run(ask))).collect() };
        let mut done = run(&dma, before);
        let (last, others) = threads.split_last().expect("a thread");
        let spawned: Vec<_> = others
            .iter()
            .map(|&asks| {
                let dma = dma.clone();
                thread::spawn(move || run(&dma, asks))
            })
            .collect();
        let mine = run(&dma, last);
        for thread in spawned {
            done.extend(thread.join().expect("a thread"));
        }
        done.extend(mine);
        let (appends, observed) = (fake.appends(), fake.observed());
        fake.finish();
        let requests: Vec<Request> = done.iter().filter_map(|&(ask, req)| req.map(|req| dma.finish(req, ask))).collect();
        let barriers = done.iter().filter(|(ask, _)| matches!(ask, Ask::Barrier)).count();
        check(mode, &lists(&dma.block), &appends, &observed, &requests, barriers);
    });
}

/// The dma's lists, its first first.
fn lists(block: &DmaBlock) -> Vec<usize> {
    let line = block.lanes.lists_line("", block.first.list());
    let named = line.split(['(', ')']).nth(1).expect("the lists, named");
    named.split(' ').map(|l| usize::from_str_radix(&l[2..], 16).expect("a pointer")).collect()
}

/// The checks of the module doc, on the log of one run.
fn check(mode: Mode, lists: &[usize], appends: &[Append], observed: &[(usize, usize)], requests: &[Request], barriers: usize) {
    assert!(barriers <= 1, "one barrier at most: its ticket is the one no request has");
    assert!(appends.len() <= 64, "a set of appends per u64");
    let tickets = requests.len() as u64 + barriers as u64;
    let barrier_ticket = (1..=tickets).find(|ticket| requests.iter().all(|r| r.ticket != *ticket));
    let list_of = |append: &Append| lists.iter().position(|&l| l == append.list).expect("a list of the dma");
    // The command that signalled `event` last before the `at`-th append.
    let signaller = |event: usize, at: usize| appends[..at].iter().rposition(|a| a.signal == event);
    // Who waits on what the `at`-th append signals (before it is signalled again).
    let waiters = |at: usize| {
        let event = appends[at].signal;
        let until = appends[at + 1..].iter().position(|a| a.signal == event).map_or(appends.len(), |n| at + 1 + n);
        (at + 1..until).filter(move |&j| appends[j].wait.contains(&event))
    };

    // Each append's ticket: a copy's is its request's, a marker's the request
    // whose copy waits on it, the barrier's parts and its last command the
    // barrier's; a fence (a barrier that signals nothing) has none.
    let copy_of = |append: &Append| requests.iter().position(|r| r.dst == append.dst);
    let ticket: Vec<Option<u64>> = (0..appends.len())
        .map(|at| {
            let append = &appends[at];
            if append.call == Call::AppendCopy {
                return Some(requests[copy_of(append).expect("a request's copy")].ticket);
            }
            if append.signal == 0 {
                return None;
            }
            let mut waiting = waiters(at).map(|j| &appends[j]);
            match waiting.next() {
                Some(copy) if copy.call == Call::AppendCopy => Some(requests[copy_of(copy).expect("a request")].ticket),
                _ => Some(barrier_ticket.expect("a barrier's command")),
            }
        })
        .collect();

    for (index, request) in requests.iter().enumerate() {
        let copies = appends.iter().filter(|a| a.call == Call::AppendCopy && copy_of(a) == Some(index)).count();
        assert_eq!(copies, 1, "request {request:?}: its copy appended {copies} times: {appends:#?}");
    }
    if let Some(barrier) = barrier_ticket {
        for list in 0..lists.len() {
            let on_list = (0..appends.len()).filter(|&at| list_of(&appends[at]) == list && ticket[at] == Some(barrier)).count();
            assert_eq!(on_list, 1, "the barrier appended {on_list} times on list {list}: {appends:#?}");
        }
    }
    for list in 0..lists.len() {
        let order: Vec<u64> =
            (0..appends.len()).filter(|&at| list_of(&appends[at]) == list).filter_map(|at| ticket[at]).collect();
        assert!(order.windows(2).all(|pair| pair[0] <= pair[1]), "list {list} out of ticket order: {order:?}: {appends:#?}");
    }

    // What the device is told: `before[j]` holds every append that runs
    // before the `j`-th (each edge runs from an earlier append to a later).
    let mut before = vec![0u64; appends.len()];
    for j in 0..appends.len() {
        let list = list_of(&appends[j]);
        for i in (0..j).filter(|&i| list_of(&appends[i]) == list) {
            // An in-order list runs in order; any other orders only across a barrier.
            let barrier = |at: usize| appends[at].call == Call::AppendBarrier;
            if mode.in_order() || barrier(i) || barrier(j) {
                before[j] |= before[i] | 1 << i;
            }
        }
        for &event in &appends[j].wait {
            let i = signaller(event, j).unwrap_or_else(|| panic!("append {j} waits on an event nothing signalled: {appends:#?}"));
            before[j] |= before[i] | 1 << i;
        }
        // What the host saw complete before it appended this (a barrier it
        // waited for, say) ran before.
        for &(_, event) in observed.iter().filter(|&&(made, _)| made <= j) {
            let i = signaller(event, j).expect("an observed event was signalled");
            before[j] |= before[i] | 1 << i;
        }
    }
    let copy_at = |request: &Request| appends.iter().position(|a| a.call == Call::AppendCopy && a.dst == request.dst).expect("its copy");
    for earlier in requests {
        for later in requests.iter().filter(|later| later.ticket > earlier.ticket && later.conflicts(earlier)) {
            assert!(
                before[copy_at(later)] & 1 << copy_at(earlier) != 0,
                "{later:?} may run before {earlier:?}, placed before it and touching its bytes: {appends:#?}"
            );
        }
        if let Some(barrier) = barrier_ticket.filter(|&barrier| barrier > earlier.ticket) {
            // The barrier's last command: on the first list, waiting on its parts.
            let last = (0..appends.len()).rfind(|&at| ticket[at] == Some(barrier) && list_of(&appends[at]) == 0).expect("appended");
            assert!(before[last] & 1 << copy_at(earlier) != 0, "the barrier may complete before {earlier:?}: {appends:#?}");
        }
    }
}

const KB: usize = 1024;
/// Placed first, on lane 0 (every lane idle): the next goes to the lane
/// with least outstanding, lane 1.
const ON_LANE_0: Ask = Ask::Copy { dst: 0x10_0000, src: 0x80_0000, size: 128 * KB };
/// Placed next, on lane 1; its bytes follow `ON_LANE_0`'s.
const ON_LANE_1: Ask = Ask::Copy { dst: 0x12_0000, src: 0x90_0000, size: 64 * KB };
/// As `ON_LANE_1`, with more outstanding than lane 0.
const LARGE_ON_LANE_1: Ask = Ask::Copy { dst: 0x12_0000, src: 0x90_0000, size: 256 * KB };
/// Reads what both write: follows both, on lane 1 (the one with less
/// outstanding) behind a marker on lane 0; after `LARGE_ON_LANE_1`, on
/// lane 0 behind a marker on lane 1.
const READS_BOTH: Ask = Ask::Copy { dst: 0x60_0000, src: 0x11_f000, size: 8 * KB };
/// Writes what `READS_Y` reads.
const WRITES_Y: Ask = Ask::Copy { dst: 0x40_0000, src: 0x30_0000, size: 4 * KB };
const READS_Y: Ask = Ask::Copy { dst: 0x50_0000, src: 0x40_0000, size: 4 * KB };
const ELSEWHERE: Ask = Ask::Copy { dst: 0x70_0000, src: 0x71_0000, size: 4 * KB };

#[test]
fn two_copies_that_touch_the_same_bytes_run_in_placement_order() {
    // The second placed follows the first on its lane (1), which only the
    // lane's fence keeps in order.
    model(Mode::Fenced, 2, &[ON_LANE_0], &[&[WRITES_Y], &[READS_Y]]);
}

#[test]
fn a_barrier_comes_after_every_copy_placed_before_it() {
    model(Mode::Fenced, 2, &[ON_LANE_0], &[&[WRITES_Y], &[Ask::Barrier]]);
}

#[test]
fn a_copy_behind_a_marker_and_the_barrier_keep_ticket_order_on_every_lane() {
    model(Mode::Fenced, 3, &[ON_LANE_0, ON_LANE_1], &[&[READS_BOTH], &[Ask::Barrier]]);
}

#[test]
fn three_threads_on_three_in_order_lanes() {
    model(Mode::InOrder, 3, &[ON_LANE_0, LARGE_ON_LANE_1], &[&[READS_BOTH], &[WRITES_Y, READS_Y], &[ELSEWHERE, Ask::Barrier]]);
}
