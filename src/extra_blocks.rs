//! The event blocks one request over several queues takes besides its own:
//! the markers it waits on, or the parts of a split, with what becomes of
//! them when the request is appended, fails, or goes back.

use crate::events::{Recycler, Taken};
use crate::level_zero::{Event, WaitList};
use crate::spread::MAX_QUEUES;

/// Blocks taken for one request besides its own, each with its event: the
/// markers it waits on, or the parts of a split (a request that follows
/// other work is never split, so never both).
pub(crate) struct Blocks {
    pub(crate) blocks: [Option<Taken>; MAX_QUEUES],
    events: WaitList<MAX_QUEUES>,
    pub(crate) count: usize,
}

impl Blocks {
    pub(crate) fn new() -> Self {
        Blocks { blocks: std::array::from_fn(|_| None), events: WaitList::new(), count: 0 }
    }

    pub(crate) fn push(&mut self, block: Taken) {
        self.events.push(block.event());
        self.blocks[self.count] = Some(block);
        self.count += 1;
    }

    /// The event of the block pushed `index`-th.
    pub(crate) fn event(&self, index: usize) -> Option<Event> {
        self.events.get(index)
    }

    /// The events to wait on: every block's.
    pub(crate) fn wait_list(&self) -> &[Event] {
        self.events.as_slice()
    }

    /// After a failure: the first `submitted` may still be signalled by their
    /// lists and are retired; the others go back unused.
    pub(crate) fn give_back(mut self, recycler: &Recycler, submitted: usize) {
        for (index, slot) in self.blocks[..self.count].iter_mut().enumerate() {
            if let Some(block) = slot.take() {
                if index < submitted {
                    recycler.retire(block);
                } else {
                    recycler.give_back_unsubmitted(block);
                }
            }
        }
    }

    /// Makes every block a part of `owner`: they go back with it.
    pub(crate) fn attach_to(mut self, owner: &Taken) {
        for slot in &mut self.blocks[..self.count] {
            if let Some(block) = slot.take() {
                owner.attach(block);
            }
        }
    }

    /// Every block, submitted: given back (retired) with the first `count`.
    pub(crate) fn retire_all(self, recycler: &Recycler) {
        let count = self.count;
        self.give_back(recycler, count);
    }
}
