//! Event blocks taken for a request and not yet committed to it: the
//! request's own (`Pending`) and the ones a request over several queues
//! takes besides it (`Blocks`: the markers it waits on, or a split's parts).
//! Each goes back to the recycler by itself when dropped, so a step that
//! fails half way only returns its error: a block whose event was submitted
//! (the device may still signal it) is retired until completion is observed,
//! one never submitted goes straight back to the free stack. `Retired` does
//! the same for the blocks a barrier takes out of retirement.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::append_lock::AppendGuard;
use crate::error::ZeError;
use crate::events::{Recycler, RequestBlock, Taken};
use crate::level_zero::{Event, WaitList};
use crate::loader::Ze;
use crate::spread::MAX_QUEUES;

/// A block taken for one request, until `commit` hands it on.
pub(crate) struct Pending<'r> {
    block: ManuallyDrop<Taken>,
    recycler: &'r Recycler,
    submitted: bool,
}

impl<'r> Pending<'r> {
    /// A block from `recycler`, under the dma's append lock (`appending`).
    #[inline(always)]
    pub(crate) fn take(recycler: &'r Recycler, ze: &Ze, appending: &AppendGuard) -> Result<Self, ZeError> {
        let block = recycler.take(ze, appending)?;
        Ok(Pending { block: ManuallyDrop::new(block), recycler, submitted: false })
    }

    /// Its event is in a command appended to a list: from now on the device
    /// may signal it.
    #[inline(always)]
    pub(crate) fn submitted(&mut self) {
        self.submitted = true;
    }

    /// The block, now the caller's to hand out, retire or give back.
    #[inline(always)]
    pub(crate) fn commit(self) -> Taken {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the block is moved out once.
        unsafe { ManuallyDrop::take(&mut this.block) }
    }
}

impl std::ops::Deref for Pending<'_> {
    type Target = RequestBlock;
    #[inline(always)]
    fn deref(&self) -> &RequestBlock {
        &self.block
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and the block is not used after.
        let block = unsafe { ManuallyDrop::take(&mut self.block) };
        if self.submitted {
            self.recycler.retire(block);
        } else {
            self.recycler.give_back_unsubmitted(block);
        }
    }
}

/// Blocks taken for one request besides its own, each with its event: the
/// markers it waits on, or the parts of a split (a request that follows
/// other work is never split, so never both). Dropped before `attach_to`,
/// the first `submitted` are retired and the others go back unused.
pub(crate) struct Blocks<'r> {
    recycler: &'r Recycler,
    blocks: [Option<Taken>; MAX_QUEUES],
    events: WaitList<MAX_QUEUES>,
    count: usize,
    submitted: usize,
}

impl<'r> Blocks<'r> {
    pub(crate) fn new(recycler: &'r Recycler) -> Self {
        Blocks { recycler, blocks: std::array::from_fn(|_| None), events: WaitList::new(), count: 0, submitted: 0 }
    }

    /// How many blocks there are.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Adds `block`; its event is submitted (`Pending::submitted`) or not.
    pub(crate) fn push(&mut self, block: Pending<'r>) {
        let submitted = block.submitted;
        debug_assert!(!submitted || self.submitted == self.count, "submitted blocks come first");
        let block = block.commit();
        self.events.push(block.event());
        self.blocks[self.count] = Some(block);
        self.count += 1;
        if submitted {
            self.submitted = self.count;
        }
    }

    /// The events of the first `count` blocks are now submitted.
    pub(crate) fn submitted_through(&mut self, count: usize) {
        self.submitted = self.submitted.max(count);
    }

    /// The event of the block pushed `index`-th.
    pub(crate) fn event(&self, index: usize) -> Option<Event> {
        self.events.get(index)
    }

    /// The events to wait on: every block's.
    pub(crate) fn wait_list(&self) -> &[Event] {
        self.events.as_slice()
    }

    /// Every block, in the order pushed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Taken> {
        self.blocks[..self.count].iter().flatten()
    }

    /// True if some block's event is submitted.
    pub(crate) fn any_submitted(&self) -> bool {
        self.submitted > 0
    }

    /// Makes every block a part of `owner`: they go back with it.
    pub(crate) fn attach_to(mut self, owner: &Pending) {
        for slot in &mut self.blocks[..self.count] {
            if let Some(block) = slot.take() {
                owner.block.attach(block);
            }
        }
    }
}

impl Drop for Blocks<'_> {
    fn drop(&mut self) {
        for (index, slot) in self.blocks[..self.count].iter_mut().enumerate() {
            if let Some(block) = slot.take() {
                if index < self.submitted {
                    self.recycler.retire(block);
                } else {
                    self.recycler.give_back_unsubmitted(block);
                }
            }
        }
    }
}

/// The blocks retired before a barrier, taken out so that the barrier can
/// vouch for their completion: put back completed (`completed`) once the
/// barrier is observed, still retired if dropped before.
pub(crate) struct Retired<'r> {
    recycler: &'r Recycler,
    ze: &'r Ze,
    blocks: Vec<NonNull<RequestBlock>>,
}

impl<'r> Retired<'r> {
    /// Takes the blocks retired so far. Under the dma's append lock, each
    /// was appended before whatever the caller appends next.
    pub(crate) fn take(recycler: &'r Recycler, ze: &'r Ze) -> Self {
        Retired { recycler, ze, blocks: recycler.take_retired() }
    }

    /// A barrier appended after `take` was observed complete.
    pub(crate) fn completed(mut self) {
        self.recycler.put_retired(self.ze, std::mem::take(&mut self.blocks), true);
    }
}

impl Drop for Retired<'_> {
    fn drop(&mut self) {
        self.recycler.put_retired(self.ze, std::mem::take(&mut self.blocks), false);
    }
}
