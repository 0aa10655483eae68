//! A loom model of the lock protocol of a dma over several queues
//! (`lanes`): which locks a request and a barrier take, in which order, and
//! when they let go. Appends are pushes of `(ticket, kind)` onto a log per
//! lane; a ticket is the order of placement under the dma's lock.
//!
//! The protocol:
//! - the dma has one lock, which serialises placement; lane 0's appends are
//!   serialised by it too; every other lane has its own lock, only ever taken
//!   while holding the dma's;
//! - a request takes the dma's lock, gets its ticket and its lane q; for
//!   each other lane L it depends on, takes L's lock, appends a marker on L
//!   and lets go of L; then takes q's lock, lets go of the dma's (unless
//!   q is 0, whose lock the dma's is), appends its command on q and lets go;
//! - a barrier takes the dma's lock, then for each lane q >= 1 takes q's
//!   lock, appends its entry on q and lets go; appends on lane 0 and lets go
//!   of the dma's lock.
//!
//! Checked in every interleaving: no deadlock (loom fails a model where
//! every thread is blocked); on each lane, tickets in increasing order; a
//! marker or a barrier entry on a lane comes after every request placed on
//! that lane with a smaller ticket; every append happened exactly once.

use loom::sync::{Arc, Mutex, MutexGuard};
use loom::thread;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Command,
    Marker,
    Barrier,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    ticket: u32,
    kind: Kind,
}

/// What a thread asks of the dma.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A request placed on `lane`, after the work already on the lanes of `after`.
    Request { lane: usize, after: &'static [usize] },
    Barrier,
}

/// When a request on a lane other than 0 lets go of the dma's lock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    /// The protocol: once it holds the lane's lock.
    AfterLaneLock,
    /// A broken protocol, to show the checks fail on it.
    BeforeLaneLock,
}

/// What the dma's lock guards.
struct Placement {
    next_ticket: u32,
    /// Lane 0's log: its appends are serialised by the dma's lock.
    lane_zero: Vec<Entry>,
    /// Every request placed: (ticket, lane). What the checks go by.
    placed: Vec<(u32, usize)>,
    /// Every append asked for: (lane, entry).
    expected: Vec<(usize, Entry)>,
}

struct Dma {
    placement: Mutex<Placement>,
    /// The logs of lanes 1.., each behind its lane's lock.
    other_lanes: Vec<Mutex<Vec<Entry>>>,
    release: Release,
}

impl Dma {
    fn new(lanes: usize, release: Release) -> Arc<Self> {
        Arc::new(Dma {
            placement: Mutex::new(Placement {
                next_ticket: 0,
                lane_zero: Vec::new(),
                placed: Vec::new(),
                expected: Vec::new(),
            }),
            other_lanes: (1..lanes).map(|_| Mutex::new(Vec::new())).collect(),
            release,
        })
    }

    fn lanes(&self) -> usize {
        self.other_lanes.len() + 1
    }

    fn lane_lock(&self, lane: usize) -> MutexGuard<'_, Vec<Entry>> {
        self.other_lanes[lane - 1].lock().unwrap()
    }

    /// Appends on `lane` while the dma's lock is held (`placement`).
    fn append_under_dma_lock(&self, placement: &mut Placement, lane: usize, entry: Entry) {
        placement.expected.push((lane, entry));
        if lane == 0 {
            placement.lane_zero.push(entry);
        } else {
            self.lane_lock(lane).push(entry);
        }
    }

    fn run(&self, op: Op) {
        match op {
            Op::Request { lane, after } => self.request(lane, after),
            Op::Barrier => self.barrier(),
        }
    }

    fn request(&self, lane: usize, after: &[usize]) {
        assert!(lane < self.lanes() && !after.contains(&lane), "a request depends on other lanes only");
        let mut placement = self.placement.lock().unwrap();
        let ticket = placement.next_ticket;
        placement.next_ticket += 1;
        placement.placed.push((ticket, lane));
        for &other in after {
            self.append_under_dma_lock(&mut placement, other, Entry { ticket, kind: Kind::Marker });
        }
        let command = Entry { ticket, kind: Kind::Command };
        if lane == 0 {
            self.append_under_dma_lock(&mut placement, 0, command);
            return;
        }
        placement.expected.push((lane, command));
        let mut log = match self.release {
            Release::AfterLaneLock => {
                let log = self.lane_lock(lane);
                drop(placement);
                log
            }
            Release::BeforeLaneLock => {
                drop(placement);
                self.lane_lock(lane)
            }
        };
        log.push(command);
    }

    fn barrier(&self) {
        let mut placement = self.placement.lock().unwrap();
        let ticket = placement.next_ticket;
        placement.next_ticket += 1;
        let entry = Entry { ticket, kind: Kind::Barrier };
        for lane in 1..self.lanes() {
            self.append_under_dma_lock(&mut placement, lane, entry);
        }
        self.append_under_dma_lock(&mut placement, 0, entry);
    }

    /// The checks, once every thread is done.
    fn check(&self) {
        let placement = self.placement.lock().unwrap();
        let mut logs = vec![placement.lane_zero.clone()];
        logs.extend((1..self.lanes()).map(|lane| self.lane_lock(lane).clone()));
        for (lane, log) in logs.iter().enumerate() {
            assert!(
                log.windows(2).all(|pair| pair[0].ticket < pair[1].ticket),
                "lane {lane} out of ticket order: {log:?}"
            );
            for (at, entry) in log.iter().enumerate().filter(|(_, entry)| entry.kind != Kind::Command) {
                for &(earlier, _) in placement.placed.iter().filter(|&&(ticket, on)| on == lane && ticket < entry.ticket) {
                    let command = Entry { ticket: earlier, kind: Kind::Command };
                    assert!(
                        log[..at].contains(&command),
                        "lane {lane}: {:?} {} before request {earlier}: {log:?}",
                        entry.kind,
                        entry.ticket
                    );
                }
            }
            let mut expected: Vec<Entry> =
                placement.expected.iter().filter(|&&(on, _)| on == lane).map(|&(_, entry)| entry).collect();
            let mut got = log.clone();
            expected.sort_by_key(|entry| (entry.ticket, entry.kind as u8));
            got.sort_by_key(|entry| (entry.ticket, entry.kind as u8));
            assert_eq!(got, expected, "lane {lane}: appends lost or doubled");
        }
    }
}

/// Runs each sequence of ops in its own thread (the last in the model's
/// main thread) on a dma of `lanes` lanes, then checks the logs.
fn model(lanes: usize, release: Release, threads: &'static [&'static [Op]]) {
    loom::model(move || {
        let dma = Dma::new(lanes, release);
        let (last, others) = threads.split_last().expect("at least one thread");
        let spawned: Vec<_> = others
            .iter()
            .map(|&ops| {
                let dma = dma.clone();
                thread::spawn(move || ops.iter().for_each(|&op| dma.run(op)))
            })
            .collect();
        last.iter().for_each(|&op| dma.run(op));
        for thread in spawned {
            thread.join().unwrap();
        }
        dma.check();
    });
}

#[test]
fn requests_with_markers_and_a_barrier_keep_ticket_order_on_every_lane() {
    model(
        3,
        Release::AfterLaneLock,
        &[
            &[Op::Request { lane: 1, after: &[2] }],
            &[Op::Request { lane: 2, after: &[0, 1] }],
            &[Op::Barrier],
        ],
    );
}

#[test]
fn a_request_on_lane_zero_orders_with_requests_on_the_other_lanes() {
    model(
        3,
        Release::AfterLaneLock,
        &[
            &[Op::Request { lane: 0, after: &[1] }],
            &[Op::Request { lane: 1, after: &[] }, Op::Request { lane: 2, after: &[1] }],
            &[Op::Barrier, Op::Request { lane: 1, after: &[0] }],
        ],
    );
}

/// Evidence that the checks have teeth: letting go of the dma's lock before
/// taking the lane's lets a later request append ahead of an earlier one.
#[test]
#[should_panic(expected = "out of ticket order")]
fn releasing_the_dma_lock_before_the_lane_lock_breaks_ticket_order() {
    model(2, Release::BeforeLaneLock, &[&[Op::Request { lane: 1, after: &[] }], &[Op::Request { lane: 1, after: &[] }]]);
}
