//! What a stream's host side knows of the commands it enqueued: which are
//! known to have run, which still hold event uses, and what the stream will
//! write that tells how far it got.
//!
//! The stream writes only what someone can observe: a command that signals
//! an event writes it (with a tag unique to the command beside the word, or,
//! without 64-bit stream writes, after a progress write); a command that
//! signals nothing writes nothing. The host learns that a command ran from
//! later evidence: a later tag or progress seen (stream order: what came
//! before ran before), an idle stream, or a synchronize. So a run of
//! unsignalled copies costs the copies alone, as in raw CUDA, and the uses
//! they hold (their wait events) are released when the next evidence
//! arrives. Two bounds keep that from waiting forever: after
//! [`HELD_CHECKPOINT`] unsignalled commands holding uses, or
//! [`ANY_CHECKPOINT`] of any kind, with no evidence between them, the next
//! one writes a progress word.
//!
//! Pure bookkeeping (no CUDA call), so that it is tested without a GPU.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use crate::backend::{CellRef, UseGuard};

/// Unsignalled commands holding event uses that may pile up with nothing
/// written: then one progress write lets their uses be released.
pub const HELD_CHECKPOINT: u32 = 256;
/// Unsignalled commands of any kind between two pieces of evidence: keeps
/// the distance between the newest command and the newest known finished
/// far below the 2^31 that wrapping sequence numbers can compare.
pub const ANY_CHECKPOINT: u32 = 1 << 16;

/// How many of the oldest tags are looked at beyond the newest: the oldest
/// tag may have been replaced by a later signal of its event.
const LOOK_AHEAD: usize = 8;

/// What the stream writes after a command that tells the host it ran.
#[derive(Clone, Copy)]
pub enum Evidence {
    /// Nothing: a later command's evidence, or an idle stream, will tell.
    None,
    /// The stream's progress word, set to the command's sequence number.
    Progress,
    /// This tag beside the signalled event's word (a tagged signal).
    Tag(CellRef, u32),
}

/// A command still holding event uses.
struct Held {
    sequence: u32,
    guard: UseGuard,
}

/// A tagged signal not yet known to have been written. Its cell is kept
/// alive by the guard of the same command, held until the tag is dropped.
struct TagMark {
    sequence: u32,
    cell: CellRef,
    tag: u32,
}

impl TagMark {
    fn seen(&self) -> bool {
        // SAFETY: the command's guard, in `held` as long as this mark is in
        // `tags` (both are dropped together, by sequence), keeps the cell alive.
        unsafe { self.cell.cell() }.sleepers.load(Ordering::Acquire) == self.tag
    }
}

pub struct InFlight {
    next_sequence: u32,
    /// Every command up to this one is known to have run.
    finished_through: u32,
    /// The newest command after which the stream writes evidence.
    marked_through: u32,
    held: VecDeque<Held>,
    tags: VecDeque<TagMark>,
    /// Commands, and commands holding uses, since the last evidence.
    unmarked: u32,
    unmarked_held: u32,
    /// Set when the queue is being released: no more commands.
    pub closed: bool,
}

/// `sequence` is at or before `reached`; sequence numbers wrap, so compare by
/// distance, as the device's GEQ does.
pub fn reached(reached: u32, sequence: u32) -> bool {
    reached.wrapping_sub(sequence) as i32 >= 0
}

impl InFlight {
    pub fn new() -> InFlight {
        InFlight {
            next_sequence: 1,
            finished_through: 0,
            marked_through: 0,
            held: VecDeque::new(),
            tags: VecDeque::new(),
            unmarked: 0,
            unmarked_held: 0,
            closed: false,
        }
    }

    /// The sequence number of the next command.
    pub fn next(&self) -> u32 {
        self.next_sequence
    }

    /// The newest command handed out (0 before the first).
    pub fn newest(&self) -> u32 {
        self.next_sequence.wrapping_sub(1)
    }

    /// Whether an unsignalled command about to be enqueued should write the
    /// progress word anyway (see the checkpoints above).
    pub fn wants_checkpoint(&self, holds_uses: bool) -> bool {
        self.unmarked + 1 >= ANY_CHECKPOINT || (holds_uses && self.unmarked_held + 1 >= HELD_CHECKPOINT)
    }

    /// Records the command just enqueued as `next()`, with its uses and the
    /// evidence its writes give.
    pub fn record(&mut self, guard: UseGuard, evidence: Evidence) {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        let holds_uses = !guard.holds_nothing();
        if holds_uses {
            self.held.push_back(Held { sequence, guard });
        }
        match evidence {
            Evidence::None => {
                self.unmarked += 1;
                self.unmarked_held += u32::from(holds_uses);
            }
            Evidence::Progress => self.marked(sequence),
            Evidence::Tag(cell, tag) => {
                debug_assert!(holds_uses, "a signal's guard holds its event, which keeps the tag's cell alive");
                self.tags.push_back(TagMark { sequence, cell, tag });
                self.marked(sequence);
            }
        }
    }

    /// The stream will write evidence after `sequence` (a progress write
    /// made outside of any command, by a synchronize).
    pub fn marked(&mut self, sequence: u32) {
        self.marked_through = sequence;
        self.unmarked = 0;
        self.unmarked_held = 0;
    }

    /// Nothing the stream writes will tell that the newest command ran.
    pub fn newest_unmarked(&self) -> bool {
        let newest = self.newest();
        !reached(self.finished_through, newest) && !reached(self.marked_through, newest)
    }

    pub fn finished(&self, sequence: u32) -> bool {
        reached(self.finished_through, sequence)
    }

    /// Every command up to `through` has run: hands back their guards (to
    /// be finished outside the queue's lock).
    pub fn retire_through(&mut self, through: u32) -> Vec<UseGuard> {
        if reached(self.finished_through, through) {
            return Vec::new();
        }
        self.finished_through = through;
        while self.tags.front().is_some_and(|mark| reached(through, mark.sequence)) {
            self.tags.pop_front();
        }
        let mut finished = Vec::new();
        while self.held.front().is_some_and(|held| reached(through, held.sequence)) {
            finished.push(self.held.pop_front().expect("front checked").guard);
        }
        finished
    }

    /// Retires what the stream's writes show: everything up to `progress`
    /// (the progress word's value), up to the newest tag if it is seen, and
    /// up to any seen among the oldest few.
    pub fn retire_seen(&mut self, progress: u32) -> Vec<UseGuard> {
        let mut finished = Vec::new();
        // Progress is written in stream order: a value past what is known is
        // evidence. (Before the first progress write the word is 0, which is
        // never past `finished_through`.)
        if reached(progress, self.finished_through) && reached(self.newest(), progress) {
            finished = self.retire_through(progress);
        }
        if let Some(newest) = self.tags.back().filter(|mark| mark.seen()).map(|mark| mark.sequence) {
            finished.extend(self.retire_through(newest));
            return finished;
        }
        while let Some(position) = self.tags.iter().take(LOOK_AHEAD).rposition(TagMark::seen) {
            let through = self.tags[position].sequence;
            finished.extend(self.retire_through(through));
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, AtomicUsize};
    use std::sync::Arc;

    use super::*;
    use crate::backend::{EventCell, EventUse};

    /// Counts the uses still open, as the front's events do.
    struct Uses(AtomicUsize);

    impl EventUse for Uses {
        fn use_finished(&self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn wait_on(uses: &Arc<Uses>) -> UseGuard {
        uses.0.fetch_add(1, Ordering::AcqRel);
        UseGuard::new(None, None, vec![Arc::clone(uses) as Arc<dyn EventUse>])
    }

    fn signal_of(uses: &Arc<Uses>) -> UseGuard {
        uses.0.fetch_add(1, Ordering::AcqRel);
        UseGuard::new(Some(Arc::clone(uses) as Arc<dyn EventUse>), None, Vec::new())
    }

    fn nothing() -> UseGuard {
        UseGuard::new(None, None, Vec::new())
    }

    fn cell() -> Box<EventCell> {
        Box::new(EventCell { value: AtomicU32::new(0), sleepers: AtomicU32::new(0) })
    }

    /// The device writing a tagged signal.
    fn write_tag(cell: &EventCell, tag: u32) {
        cell.value.store(1, Ordering::Release);
        cell.sleepers.store(tag, Ordering::Release);
    }

    fn finish(guards: Vec<UseGuard>) {
        for mut guard in guards {
            guard.finished();
        }
    }

    #[test]
    fn an_unsignalled_run_is_retired_by_the_signal_after_it() {
        let waited = Arc::new(Uses(AtomicUsize::new(0)));
        let signalled = Arc::new(Uses(AtomicUsize::new(0)));
        let event = cell();
        let mut in_flight = InFlight::new();
        for _ in 0..1000 {
            assert!(!in_flight.wants_checkpoint(false));
            in_flight.record(nothing(), Evidence::None);
            in_flight.record(wait_on(&waited), Evidence::None);
        }
        in_flight.record(signal_of(&signalled), Evidence::Tag(CellRef::new(&event), 7));
        assert!(!in_flight.newest_unmarked());
        // Nothing written yet: nothing retires, every use stays counted.
        finish(in_flight.retire_seen(0));
        assert_eq!(waited.0.load(Ordering::Acquire), 1000);
        assert!(!in_flight.finished(1));
        write_tag(&event, 7);
        finish(in_flight.retire_seen(0));
        assert_eq!(waited.0.load(Ordering::Acquire), 0);
        assert_eq!(signalled.0.load(Ordering::Acquire), 0);
        assert!(in_flight.finished(in_flight.newest()));
    }

    #[test]
    fn held_uses_ask_for_a_checkpoint_and_progress_retires_them() {
        let waited = Arc::new(Uses(AtomicUsize::new(0)));
        let mut in_flight = InFlight::new();
        let mut checkpoint = None;
        for _ in 0..HELD_CHECKPOINT {
            if in_flight.wants_checkpoint(true) {
                checkpoint = Some(in_flight.next());
                in_flight.record(wait_on(&waited), Evidence::Progress);
            } else {
                in_flight.record(wait_on(&waited), Evidence::None);
            }
        }
        assert_eq!(checkpoint, Some(HELD_CHECKPOINT), "the 256th writes progress");
        finish(in_flight.retire_seen(HELD_CHECKPOINT - 1));
        assert_eq!(waited.0.load(Ordering::Acquire), 1, "up to the progress seen, no further");
        finish(in_flight.retire_seen(HELD_CHECKPOINT));
        assert_eq!(waited.0.load(Ordering::Acquire), 0);
    }

    #[test]
    fn commands_holding_nothing_ask_for_a_checkpoint_only_rarely() {
        let mut in_flight = InFlight::new();
        for _ in 0..ANY_CHECKPOINT - 1 {
            assert!(!in_flight.wants_checkpoint(false));
            in_flight.record(nothing(), Evidence::None);
        }
        assert!(in_flight.wants_checkpoint(false));
    }

    #[test]
    fn a_synchronize_marks_the_newest_and_an_idle_stream_retires_all() {
        let waited = Arc::new(Uses(AtomicUsize::new(0)));
        let mut in_flight = InFlight::new();
        assert!(!in_flight.newest_unmarked(), "nothing handed out yet");
        in_flight.record(wait_on(&waited), Evidence::None);
        in_flight.record(nothing(), Evidence::None);
        assert!(in_flight.newest_unmarked());
        in_flight.marked(in_flight.newest());
        assert!(!in_flight.newest_unmarked());
        finish(in_flight.retire_through(in_flight.newest()));
        assert_eq!(waited.0.load(Ordering::Acquire), 0);
        assert!(in_flight.finished(2));
    }

    #[test]
    fn a_replaced_tag_is_caught_up_by_a_later_one_among_the_oldest() {
        let first = Arc::new(Uses(AtomicUsize::new(0)));
        let event = cell();
        let other = cell();
        let mut in_flight = InFlight::new();
        // The event signalled twice; then another event, whose tag is not
        // written yet. The first tag was replaced by the second.
        in_flight.record(signal_of(&first), Evidence::Tag(CellRef::new(&event), 1));
        in_flight.record(signal_of(&first), Evidence::Tag(CellRef::new(&event), 2));
        in_flight.record(signal_of(&first), Evidence::Tag(CellRef::new(&other), 3));
        write_tag(&event, 2);
        finish(in_flight.retire_seen(0));
        assert_eq!(first.0.load(Ordering::Acquire), 1, "the second tag retires the first command too");
        assert!(in_flight.finished(2) && !in_flight.finished(3));
    }

    #[test]
    fn a_synchronize_retires_only_what_was_enqueued_before_it() {
        let waited = Arc::new(Uses(AtomicUsize::new(0)));
        let mut in_flight = InFlight::new();
        in_flight.record(wait_on(&waited), Evidence::None);
        let before_drain = in_flight.newest();
        // Another thread appends while the stream drains.
        in_flight.record(wait_on(&waited), Evidence::None);
        finish(in_flight.retire_through(before_drain));
        assert_eq!(waited.0.load(Ordering::Acquire), 1, "the later command still holds its use");
        assert!(!in_flight.finished(in_flight.newest()));
    }

    #[test]
    fn stale_progress_retires_nothing() {
        let waited = Arc::new(Uses(AtomicUsize::new(0)));
        let mut in_flight = InFlight::new();
        in_flight.record(wait_on(&waited), Evidence::Progress);
        finish(in_flight.retire_seen(1));
        in_flight.record(wait_on(&waited), Evidence::None);
        // The word still says 1; a word from before any write says 0.
        finish(in_flight.retire_seen(1));
        finish(in_flight.retire_seen(0));
        assert_eq!(waited.0.load(Ordering::Acquire), 1);
        assert!(in_flight.finished(1) && !in_flight.finished(2));
    }
}
