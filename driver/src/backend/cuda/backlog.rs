//! Commands kept on the host so that no CUDA call of the application's
//! thread waits behind a stream wait.
//!
//! A stream holds a finite amount of queued work (CUDA's pushbuffer); an
//! enqueue that finds it full blocks until the device has consumed some. A
//! stream stopped at a `cuStreamWaitValue32` consumes nothing, so an
//! application that appends many commands waiting on an event it signals
//! from the host only afterwards (a use Level Zero allows and Intel's driver
//! runs) would block in the append, before its signal, forever.
//!
//! So the operations given to a stream behind a wait that may still stop
//! it (its "exposure") are kept below [`WINDOW`]; what does not fit waits
//! here, in order, and is given to the stream once the wait is passed: its
//! word seen signalled by the host, or its command known finished. Waits on
//! words already signalled expose nothing, so chains whose events are
//! signalled in time never wait here.
//!
//! Pure bookkeeping (no CUDA call), so that it is tested without a GPU.

use std::collections::VecDeque;

use crate::backend::{CellRef, Command};

/// Operations at most on a stream behind a wait that may stop it: well
/// below what a stream holds (about a thousand small operations, by what
/// is seen on GPUs; the size is not documented).
pub const WINDOW: u64 = 128;

/// A wait given to the stream that the host has not yet seen passed.
struct OpenWait {
    /// The command it belongs to: its guard (in the queue's in-flight
    /// bookkeeping until the command is known finished) keeps the cell alive.
    sequence: u32,
    cell: CellRef,
    /// Operations given to the stream before this wait.
    before: u64,
    /// A reset of the same event given earlier on this stream and not known
    /// finished: until it is, the word read as signalled may be the value
    /// the reset will overwrite, so it says nothing.
    reset_before: Option<u32>,
}

/// A reset given to the stream, not known finished.
struct PendingReset {
    sequence: u32,
    cell: CellRef,
}

#[derive(Default)]
pub struct Backlog {
    open: VecDeque<OpenWait>,
    resets: VecDeque<PendingReset>,
    /// Operations given to the stream so far.
    given: u64,
    held: VecDeque<Command>,
}

/// The waits of a command that may stop the stream, as read now: those on
/// words not signalled, or on an event a pending reset of this stream
/// will clear first.
pub struct Waits {
    open: Vec<(CellRef, Option<u32>)>,
}

impl Waits {
    pub fn any(&self) -> bool {
        !self.open.is_empty()
    }
}

impl Backlog {
    /// Whether commands wait here (then every new one waits behind them).
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// How many commands are kept.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Keeps `command` on the host, after those already kept.
    pub fn hold(&mut self, command: Command) {
        self.held.push_back(command);
    }

    pub fn front(&self) -> Option<&Command> {
        self.held.front()
    }

    pub fn take_front(&mut self) -> Option<Command> {
        self.held.pop_front()
    }

    /// What `command`'s waits would expose, with `signalled` reading a cell's
    /// word (the command's guard keeps its cells alive).
    pub fn waits(&self, command: &Command, signalled: impl Fn(CellRef) -> bool) -> Waits {
        let mut open = Vec::new();
        for &cell in &command.waits {
            let reset_before = self.resets.iter().rev().find(|reset| reset.cell == cell).map(|reset| reset.sequence);
            if reset_before.is_some() || !signalled(cell) {
                open.push((cell, reset_before));
            }
        }
        Waits { open }
    }

    /// Operations given behind the oldest wait not seen passed.
    fn exposure(&self) -> u64 {
        self.open.front().map_or(0, |wait| self.given - wait.before)
    }

    /// Whether a command of `operations` with these waits may go to the
    /// stream now: nothing may stop the stream, or all it would put behind
    /// a possible stop still fits the window. `returns_after_run`: whether
    /// CUDA returns from enqueueing it only once the stream ran it (asked
    /// only where the stream may stop); such a command goes only where
    /// nothing can stop the stream.
    pub fn admits(&self, operations: u64, waits: &Waits, returns_after_run: impl FnOnce() -> bool) -> bool {
        if self.open.is_empty() && !waits.any() {
            return true;
        }
        self.exposure() + operations <= WINDOW && !returns_after_run()
    }

    /// The command `sequence`, of `operations`, went to the stream, with
    /// these waits, and resetting `reset` if it does.
    pub fn given(&mut self, sequence: u32, operations: u64, waits: Waits, reset: Option<CellRef>) {
        for (cell, reset_before) in waits.open {
            self.open.push_back(OpenWait { sequence, cell, before: self.given, reset_before });
        }
        if let Some(cell) = reset {
            self.resets.push_back(PendingReset { sequence, cell });
        }
        self.given += operations;
    }

    /// The stream was given `operations` outside of any command (a progress
    /// write asked by a synchronize).
    pub fn wrote(&mut self, operations: u64) {
        self.given += operations;
    }

    /// Forgets the waits seen passed (their command known finished, by
    /// `finished`, or their word seen signalled, by `signalled`, which is
    /// asked only of a command not known finished, whose cells are alive)
    /// and the resets known finished, oldest first.
    pub fn refresh(&mut self, finished: impl Fn(u32) -> bool, signalled: impl Fn(CellRef) -> bool) {
        while self.resets.front().is_some_and(|reset| finished(reset.sequence)) {
            self.resets.pop_front();
        }
        while let Some(wait) = self.open.front() {
            let passed = finished(wait.sequence)
                || (wait.reset_before.is_none_or(&finished) && signalled(wait.cell));
            if !passed {
                break;
            }
            self.open.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::backend::{Action, EventCell, UseGuard, SIGNALED};

    fn cell() -> Box<EventCell> {
        Box::new(EventCell { value: AtomicU32::new(0), sleepers: AtomicU32::new(0) })
    }

    fn waiting_on(cells: &[&EventCell]) -> Command {
        Command {
            waits: cells.iter().map(|cell| CellRef::new(cell)).collect(),
            action: Action::Copy { destination: 0, source: 0, size: 64 },
            signal: None,
            guard: UseGuard::new(None, None, Vec::new()),
        }
    }

    fn signalled(cell: CellRef) -> bool {
        // SAFETY: the tests' cells outlive every backlog that names them.
        unsafe { cell.cell() }.is_signaled()
    }

    /// Gives the command to the "stream" if admitted, as the queue does.
    fn offer(backlog: &mut Backlog, sequence: u32, command: &Command, operations: u64) -> bool {
        let waits = backlog.waits(command, signalled);
        if !backlog.admits(operations, &waits, || false) {
            return false;
        }
        backlog.given(sequence, operations, waits, None);
        true
    }

    #[test]
    fn waits_on_an_unsignalled_word_fill_the_window_then_stop() {
        let gate = cell();
        let mut backlog = Backlog::default();
        let command = waiting_on(&[&gate]);
        let mut given = 0u32;
        while offer(&mut backlog, given + 1, &command, 2) {
            given += 1;
        }
        assert_eq!(u64::from(given) * 2, WINDOW, "wait and copy, 2 operations each, up to the window");
        // Seen signalled: the stream passes; everything fits again.
        gate.value.store(SIGNALED, Ordering::Release);
        backlog.refresh(|_| false, signalled);
        assert!(offer(&mut backlog, given + 1, &command, 2));
        assert_eq!(backlog.exposure(), 0, "a wait on a signalled word exposes nothing");
    }

    #[test]
    fn a_signalled_word_exposes_nothing_and_a_large_command_waits_for_its_own_wait() {
        let done = cell();
        done.value.store(SIGNALED, Ordering::Release);
        let gate = cell();
        let mut backlog = Backlog::default();
        for sequence in 1..=1000 {
            assert!(offer(&mut backlog, sequence, &waiting_on(&[&done]), 2));
        }
        assert!(offer(&mut backlog, 1001, &waiting_on(&[]), WINDOW * 10), "nothing can stop the stream");
        assert!(!offer(&mut backlog, 1002, &waiting_on(&[&gate]), WINDOW + 1));
        gate.value.store(SIGNALED, Ordering::Release);
        assert!(offer(&mut backlog, 1002, &waiting_on(&[&gate]), WINDOW + 1));
    }

    #[test]
    fn a_finished_command_passes_its_wait_whatever_the_word() {
        let gate = cell();
        let mut backlog = Backlog::default();
        assert!(offer(&mut backlog, 1, &waiting_on(&[&gate]), WINDOW));
        assert!(!offer(&mut backlog, 2, &waiting_on(&[]), 1));
        // The word was signalled and reset again by the time the host looks.
        backlog.refresh(|sequence| sequence <= 1, |_| panic!("a finished command's cells are not read"));
        assert!(offer(&mut backlog, 2, &waiting_on(&[]), 1));
    }

    #[test]
    fn a_signal_read_before_a_pending_reset_of_the_stream_says_nothing() {
        let event = cell();
        event.value.store(SIGNALED, Ordering::Release);
        let mut backlog = Backlog::default();
        // Reset the event on the stream, then wait on it: the stream will
        // stop there, whatever the host reads now.
        let waits = backlog.waits(&waiting_on(&[]), signalled);
        backlog.given(1, 1, waits, Some(CellRef::new(&event)));
        assert!(offer(&mut backlog, 2, &waiting_on(&[&event]), WINDOW));
        assert!(!offer(&mut backlog, 3, &waiting_on(&[]), 1));
        backlog.refresh(|_| false, signalled);
        assert!(!offer(&mut backlog, 3, &waiting_on(&[]), 1), "still signalled from before the reset");
        // The reset ran (known finished), and the word reads signalled: a
        // signal after the reset.
        backlog.refresh(|sequence| sequence <= 1, signalled);
        assert!(offer(&mut backlog, 3, &waiting_on(&[]), 1));
    }

    #[test]
    fn a_command_whose_call_waits_for_the_stream_goes_only_where_nothing_can_stop_it() {
        let gate = cell();
        let mut backlog = Backlog::default();
        let copy = waiting_on(&[]);
        let asked = std::cell::Cell::new(0);
        let synchronous = || {
            asked.set(asked.get() + 1);
            true
        };
        assert!(backlog.admits(1, &backlog.waits(&copy, signalled), synchronous), "nothing can stop the stream");
        assert_eq!(asked.get(), 0, "not asked where nothing can stop the stream");
        let gated = waiting_on(&[&gate]);
        assert!(!backlog.admits(2, &backlog.waits(&gated, signalled), synchronous), "its own wait may stop it");
        assert!(offer(&mut backlog, 1, &gated, 2));
        assert!(!backlog.admits(1, &backlog.waits(&copy, signalled), synchronous), "behind an open wait");
        assert_eq!(asked.get(), 2);
        gate.value.store(SIGNALED, Ordering::Release);
        backlog.refresh(|_| false, signalled);
        assert!(backlog.admits(1, &backlog.waits(&copy, signalled), synchronous));
    }

    #[test]
    fn held_commands_keep_their_order() {
        let mut backlog = Backlog::default();
        for size in 1..=3 {
            let mut command = waiting_on(&[]);
            command.action = Action::Copy { destination: 0, source: 0, size };
            backlog.hold(command);
        }
        assert!(backlog.holding());
        let sizes: Vec<usize> = std::iter::from_fn(|| backlog.take_front())
            .map(|command| match command.action {
                Action::Copy { size, .. } => size,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(sizes, [1, 2, 3]);
        assert!(!backlog.holding());
    }
}
