//! The stream queue: one immediate list (or command queue) as a stream.
//! Commands are submitted (given to the stream, or kept on the host behind a
//! wait that may stop it, `backlog.rs`) and retired from what the stream
//! writes or an idle stream (`in_flight.rs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use ze_sys::*;

use super::super::{Action, CellRef, Command, EventMemory, Queue, QueueMode, UseGuard, SIGNALED};
use super::backlog::{Backlog, Waits};
use super::cells::{pinned_cells, tagged_signal, word_address, word_signalled, PinnedCells};
use super::in_flight::{Evidence, InFlight};
use super::poll::poll_until;
use super::stream::Stream;
use super::translate::{translate, Operation};
use super::Shared;

/// One immediate list: a non-blocking stream, the commands it has been given
/// that are not known to be finished, those kept on the host until the
/// stream can take them without stopping the caller (`backlog.rs`), and the
/// word it writes its progress to.
pub struct StreamQueue {
    shared: Arc<Shared>,
    device: usize,
    /// Declared before `progress`: destroyed before the word it writes.
    stream: Stream,
    synchronous: bool,
    progress: PinnedCells,
    state: Mutex<QueueState>,
}

/// A queue's bookkeeping, behind one lock: commands are given to the stream
/// in the order they were submitted, numbered as they go.
struct QueueState {
    flight: InFlight,
    backlog: Backlog,
    /// A kept command that CUDA refused when it was given to the stream
    /// (no caller to tell then): the next submit returns it.
    failed: Option<ze_result_t>,
    /// The list or queue was destroyed: nothing may use the stream.
    destroyed: bool,
}

impl Drop for StreamQueue {
    fn drop(&mut self) {
        // Kept commands dropped unrun (a queue released without `finish`)
        // are no longer the feeder's to wait for.
        let kept = self.state.get_mut().backlog.len();
        self.shared.held.fetch_sub(kept, Ordering::AcqRel);
    }
}

/// What the front holds: `finish` ends the queue's use; the stream is
/// destroyed with the last reference (the feeder may hold one a moment).
pub struct QueueHandle(pub Arc<StreamQueue>);

impl StreamQueue {
    pub fn create(shared: Arc<Shared>, device: usize, mode: QueueMode) -> Result<Arc<StreamQueue>, ze_result_t> {
        shared.enter(device)?;
        let progress = pinned_cells(&shared, 1)?;
        let stream = Stream::create(&shared, device)?;
        Ok(Arc::new(StreamQueue {
            shared,
            device,
            stream,
            synchronous: mode == QueueMode::Synchronous,
            progress,
            state: Mutex::new(QueueState {
                flight: InFlight::new(),
                backlog: Backlog::default(),
                failed: None,
                destroyed: false,
            }),
        }))
    }

    /// Whether commands of this queue are kept on the host.
    pub fn holding(&self) -> bool {
        self.state.lock().backlog.holding()
    }

    /// Enqueues a command's operations on the stream; the caller holds the
    /// state lock. Returns the evidence that the stream ran it, if its
    /// writes give any.
    fn enqueue(&self, plan: &[Operation], state: &InFlight) -> Result<Evidence, ze_result_t> {
        let mut evidence = Evidence::None;
        for operation in plan {
            if let Operation::Close { signal, holds_uses } = *operation {
                evidence = self.close(signal, holds_uses, state)?;
            } else {
                // SAFETY: the command's guard keeps its event words alive,
                // and the caller its ranges (Level Zero contract), until the
                // command is retired.
                unsafe { operation.enqueue(&self.stream) }?;
            }
        }
        Ok(evidence)
    }

    /// A command's one write. Writes after the work carry a memory barrier
    /// before them (flags 0), so the host that sees one sees the work's
    /// results. A command that signals nothing writes nothing, unless a
    /// checkpoint is due.
    fn close(&self, signal: Option<CellRef>, holds_uses: bool, state: &InFlight) -> Result<Evidence, ze_result_t> {
        let sequence = state.next();
        let Some(signalled) = signal else {
            if !state.wants_checkpoint(holds_uses) {
                return Ok(Evidence::None);
            }
            self.write_progress(sequence)?;
            return Ok(Evidence::Progress);
        };
        // SAFETY: the command's guard keeps the cell alive until retired.
        let cell = unsafe { signalled.cell() };
        let word = word_address(cell);
        if self.shared.tagged_signals.load(Ordering::Relaxed) {
            let mut tag = self.shared.next_tag();
            // A tag left in the cell by a command 2^32 tags ago would pass
            // for this one's: take the next.
            if cell.sleepers.load(Ordering::Acquire) == tag {
                tag = self.shared.next_tag();
            }
            self.stream.write_value64(word, tagged_signal(tag))?;
            return Ok(Evidence::Tag(signalled, tag));
        }
        // Progress before the signal, in one batch (ops run in array order,
        // each after a memory barrier): a host that saw the signal finds the
        // command finished too.
        let progress = word_address(&self.progress.cells()[0]);
        self.stream.write_values32([(progress, sequence), (word, SIGNALED)])?;
        Ok(Evidence::Progress)
    }

    /// The stream writes `sequence` to its progress word after the work
    /// before it.
    fn write_progress(&self, sequence: u32) -> Result<(), ze_result_t> {
        Ok(self.stream.write_value32(word_address(&self.progress.cells()[0]), sequence)?)
    }

    /// Waits until every command submitted so far is known finished (those
    /// kept on the host given to the stream first). When nothing the stream
    /// writes would tell that the newest ran (they signal nothing), it is
    /// asked to write its progress.
    fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        if !self.drain_backlog(deadline) {
            return false;
        }
        let last = {
            let mut state = self.state.lock();
            let last = state.flight.newest();
            if state.flight.newest_unmarked() && self.shared.enter(self.device).is_ok() && self.write_progress(last).is_ok()
            {
                state.flight.marked(last);
                state.backlog.wrote(1);
            }
            last
        };
        let polls = std::cell::Cell::new(0u32);
        poll_until(deadline, || {
            self.retire();
            if self.state.lock().flight.finished(last) {
                return true;
            }
            // A command whose tag was replaced shows up only as an idle stream.
            polls.set(polls.get().wrapping_add(1));
            polls.get().is_multiple_of(64) && {
                self.retire_if_idle();
                self.state.lock().flight.finished(last)
            }
        })
    }

    /// Gives the command to the stream, or keeps it on the host when the
    /// stream might stop at a wait with too much behind it already (or
    /// others are kept before it): then the feeder, or a later call on this
    /// queue, gives it once the stream can take it.
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        // A stream has no operation that stores a clock; a host callback
        // could not write device memory. Refused before any of its parts
        // reaches the stream (a kept command could not be refused later).
        if matches!(command.action, Action::WriteTimestamp { .. }) {
            return Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
        }
        self.shared.enter(self.device)?;
        let mut state = self.state.lock();
        if state.flight.closed {
            return Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        }
        if let Some(failed) = state.failed.take() {
            return Err(failed);
        }
        self.give_held(&mut state);
        let waits = state.backlog.waits(&command, word_signalled);
        let plan = translate(&command, &self.shared)?;
        let returns_after_run = || self.shared.enqueue_returns_after_run(&command.action);
        if state.backlog.holding() || !state.backlog.admits(plan.len() as u64, &waits, returns_after_run) {
            state.backlog.hold(command);
            drop(state);
            Shared::kept(&self.shared);
            if !self.synchronous {
                return Ok(());
            }
            self.synchronize();
            return self.state.lock().failed.take().map_or(Ok(()), Err);
        }
        let given = self.give(&mut state, command, plan, waits);
        drop(state);
        if given.is_err() || self.synchronous {
            // A part may be on the stream: let it drain before anything is
            // released, so no event is freed under the device.
            self.synchronize();
        } else {
            self.retire();
        }
        given
    }

    /// Gives one command to the stream, numbered next; the caller holds
    /// the state lock and made the device's context current.
    fn give(&self, state: &mut QueueState, command: Command, plan: Vec<Operation>, waits: Waits)
        -> Result<(), ze_result_t> {
        let sequence = state.flight.next();
        let reset = match command.action {
            Action::ResetEvent(cell) => Some(cell),
            _ => None,
        };
        let operations = plan.len() as u64;
        let enqueued = self.enqueue(&plan, &state.flight);
        drop(plan);
        state.flight.record(command.guard, *enqueued.as_ref().unwrap_or(&Evidence::None));
        // Even a failed command may have put its waits on the stream.
        state.backlog.given(sequence, operations, waits, reset);
        enqueued.map(|_| ())
    }

    /// Gives the kept commands the stream can now take, in order; true if
    /// none is left. The caller holds the state lock and made the context current.
    fn give_held(&self, state: &mut QueueState) -> bool {
        let flight = &state.flight;
        state.backlog.refresh(|sequence| flight.finished(sequence), word_signalled);
        while let Some(command) = state.backlog.front() {
            let waits = state.backlog.waits(command, word_signalled);
            let plan = translate(command, &self.shared);
            let operations = plan.as_ref().map_or(0, |plan| plan.len() as u64);
            if !state.backlog.admits(operations, &waits, || self.shared.enqueue_returns_after_run(&command.action)) {
                return false;
            }
            let command = state.backlog.take_front().expect("front checked");
            self.shared.held.fetch_sub(1, Ordering::AcqRel);
            if let Err(error) = plan.and_then(|plan| self.give(state, command, plan, waits)) {
                state.failed.get_or_insert(error);
            }
        }
        true
    }

    /// Learns what the stream ran (asking CUDA whether it is idle too, if
    /// `query_idle`) and gives it the kept commands it can now take; true
    /// if none is left on the host.
    pub fn pump(&self, query_idle: bool) -> bool {
        self.retire();
        if query_idle {
            self.retire_if_idle();
        }
        if self.shared.enter(self.device).is_err() {
            return false;
        }
        let mut state = self.state.lock();
        state.destroyed || self.give_held(&mut state)
    }

    /// Waits until no command of this queue is kept on the host.
    pub fn drain_backlog(&self, deadline: Option<Instant>) -> bool {
        if !self.state.lock().backlog.holding() {
            return true;
        }
        let polls = std::cell::Cell::new(0u32);
        poll_until(deadline, || {
            polls.set(polls.get().wrapping_add(1));
            self.pump(polls.get().is_multiple_of(64))
        })
    }

    /// Gives the stream what is kept on the host, drains it, then retires
    /// everything given before the drain.
    fn synchronize(&self) {
        self.drain_backlog(None);
        let newest = self.state.lock().flight.newest();
        if self.shared.enter(self.device).is_ok() {
            let _ = self.stream.synchronize();
        }
        let finished = self.state.lock().flight.retire_through(newest);
        finish_all(finished);
    }

    /// Releases the commands the stream's writes show finished.
    fn retire(&self) {
        let progress = self.progress.cells()[0].value.load(Ordering::Acquire);
        let finished = self.state.lock().flight.retire_seen(progress);
        finish_all(finished);
    }

    /// Releases every command given so far if the stream has run them all.
    fn retire_if_idle(&self) {
        if self.shared.enter(self.device).is_err() {
            return;
        }
        let finished = {
            let mut state = self.state.lock();
            let newest = state.flight.newest();
            if state.destroyed || state.flight.finished(newest) {
                return;
            }
            // Asked under the state lock, so that the list or queue is not
            // destroyed meanwhile (the feeder may ask while it is).
            if !self.stream.is_idle() {
                return;
            }
            state.flight.retire_through(newest)
        };
        finish_all(finished);
    }
}


fn finish_all(guards: impl IntoIterator<Item = UseGuard>) {
    for mut guard in guards {
        guard.finished();
    }
}

impl Queue for QueueHandle {
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        self.0.submit(command)
    }

    fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        self.0.wait_idle(deadline)
    }

    fn finish(&self) {
        let queue = &self.0;
        queue.state.lock().flight.closed = true;
        queue.synchronize();
        // Marked under the state lock: nothing uses the stream after this;
        // it is destroyed with the queue.
        queue.state.lock().destroyed = true;
    }
}

/// Whether a stream can write an event's two words at once (64-bit stream
/// writes need a capable device and driver): one such write on a scratch
/// stream, checked.
pub fn probe_tagged_signals(shared: &Arc<Shared>) -> bool {
    let Ok(queue) = StreamQueue::create(Arc::clone(shared), 0, QueueMode::Asynchronous) else {
        return false;
    };
    let cell = &queue.progress.cells()[0];
    let expected = tagged_signal(u32::MAX);
    let written = queue.stream.write_value64(word_address(cell), expected);
    // Its context current (made so by `create`).
    let drained = queue.stream.synchronize();
    let seen = u64::from(cell.value.load(Ordering::Acquire)) | u64::from(cell.sleepers.load(Ordering::Acquire)) << 32;
    let works = written.is_ok() && drained.is_ok() && seen == expected;
    QueueHandle(queue).finish();
    works
}
