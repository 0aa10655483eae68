//! An intrusive lock-free stack (Treiber's) of nodes that live elsewhere and
//! carry their own link: the recycler's free request blocks. Any thread
//! pushes; pops must be serialised by the caller (the recycler pops only
//! under the dma's append lock). That one rule is what keeps it free of ABA
//! without tags or hazard pointers: a node can leave the stack only through
//! a pop, so while the one popper reads the top's link, the top stays on the
//! stack and its link unchanged (pushers write only their own node's link).
//!
//! The loom tests at the end check it under every interleaving
//! (`make loom-check`); the atomics come from `sync` for that.

use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, Ordering};

/// The link a node carries for the stack. Only the stack reads or writes it.
#[repr(transparent)]
pub struct Link<T>(AtomicPtr<T>);

impl<T> Link<T> {
    pub fn new() -> Self {
        Link(AtomicPtr::new(ptr::null_mut()))
    }
}

/// A node of a `FreeStack`.
///
/// # Safety
/// `link` returns the same field of `self` every time, and nothing but the
/// stack touches that field.
pub unsafe trait Linked: Sized {
    fn link(&self) -> &Link<Self>;
}

/// The stack: its top, null when empty.
pub struct FreeStack<T: Linked> {
    top: AtomicPtr<T>,
}

impl<T: Linked> FreeStack<T> {
    pub fn new() -> Self {
        FreeStack { top: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Pushes `node`, from any thread. What the caller wrote to the node
    /// before is visible to the thread that pops it.
    ///
    /// # Safety
    /// `node` is alive until it is popped or the stack is cleared, and is not
    /// on the stack already (the caller owns it).
    #[inline]
    pub unsafe fn push(&self, node: NonNull<T>) {
        // SAFETY: alive by the caller's contract.
        let link = &unsafe { node.as_ref() }.link().0;
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            link.store(top, Ordering::Relaxed);
            // Release: the node's contents and its link reach the popper.
            match self.top.compare_exchange_weak(top, node.as_ptr(), Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => top = now,
            }
        }
    }

    /// Pops the top node, which the caller owns from then on.
    ///
    /// # Safety
    /// No other `pop` of this stack runs at the same time. Two poppers are
    /// not supported: one could read the top's link, the other pop that top
    /// and the next and push the top back, and the first one's CAS would then
    /// succeed and put a node it does not own back on top (ABA; the loom test
    /// `two_poppers_pop_a_node_twice` shows it).
    #[inline]
    pub unsafe fn pop(&self) -> Option<NonNull<T>> {
        // Acquire (here and on failure): the link read next was written before the push.
        let mut top = self.top.load(Ordering::Acquire);
        loop {
            let node = NonNull::new(top)?;
            // SAFETY: `node` is on the stack and only we pop, so it stays there
            // with its link unchanged until our CAS; alive by `push`'s contract.
            let next = unsafe { node.as_ref() }.link().0.load(Ordering::Relaxed);
            match self.top.compare_exchange_weak(top, next, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => return Some(node),
                Err(now) => top = now,
            }
        }
    }

    /// Forgets every node, as when they are about to be freed. The caller
    /// makes sure no push or pop runs.
    pub fn clear(&self) {
        self.top.store(ptr::null_mut(), Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    struct Node {
        link: Link<Node>,
    }

    // SAFETY: `link` is always the same field, used only by the stack.
    unsafe impl Linked for Node {
        fn link(&self) -> &Link<Node> {
            &self.link
        }
    }

    #[test]
    fn nodes_come_back_last_in_first_out_until_empty_or_cleared() {
        let nodes: Vec<Node> = (0..3).map(|_| Node { link: Link::new() }).collect();
        let at = |index: usize| NonNull::from(&nodes[index]);
        let stack = FreeStack::new();
        // SAFETY: the nodes outlive the stack, each is pushed while off it,
        // and this test is the only popper.
        unsafe {
            assert_eq!(stack.pop(), None);
            stack.push(at(0));
            stack.push(at(1));
            assert_eq!(stack.pop(), Some(at(1)));
            stack.push(at(2));
            assert_eq!(stack.pop(), Some(at(2)));
            assert_eq!(stack.pop(), Some(at(0)));
            assert_eq!(stack.pop(), None);
            stack.push(at(0));
            stack.clear();
            assert_eq!(stack.pop(), None);
        }
    }
}

/// Model-checked: every interleaving of the threads (bounded by
/// `LOOM_MAX_PREEMPTIONS`), every outcome loom's memory model allows.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    struct Node {
        link: Link<Node>,
        /// Written by the node's owner before each push, read after each pop:
        /// loom reports a read not ordered after the write.
        data: UnsafeCell<usize>,
    }

    // SAFETY: `link` is always the same field, used only by the stack.
    unsafe impl Linked for Node {
        fn link(&self) -> &Link<Node> {
            &self.link
        }
    }

    // SAFETY: `data` is touched only by the node's owner (the thread that
    // pushes it, then the one that popped it); loom checks that it is so.
    unsafe impl Sync for Node {}

    /// A stack and the nodes it may hold, by index.
    struct Fixture {
        stack: FreeStack<Node>,
        nodes: Vec<Node>,
    }

    fn data_of(index: usize) -> usize {
        100 + index
    }

    impl Fixture {
        fn new(count: usize) -> Arc<Self> {
            let nodes = (0..count).map(|_| Node { link: Link::new(), data: UnsafeCell::new(0) }).collect();
            Arc::new(Fixture { stack: FreeStack::new(), nodes })
        }

        /// The caller owns node `index` (it is off the stack).
        fn push(&self, index: usize) {
            let node = &self.nodes[index];
            // SAFETY: the caller owns the node, so nobody else touches `data`.
            node.data.with_mut(|data| unsafe { *data = data_of(index) });
            // SAFETY: the fixture outlives every push and pop; the node is off the stack.
            unsafe { self.stack.push(NonNull::from(node)) };
        }

        /// Pops a node and checks it holds what its pusher wrote. The caller
        /// is the only popper, but for `two_poppers_pop_a_node_twice`.
        fn pop(&self) -> Option<usize> {
            // SAFETY: see above.
            let node = unsafe { self.stack.pop() }?;
            let index = self.nodes.iter().position(|candidate| ptr::eq(candidate, node.as_ptr())).expect("one of ours");
            // SAFETY: popped, so ours; loom fails the model if the pusher's
            // write is not ordered before this read.
            let data = self.nodes[index].data.with(|data| unsafe { *data });
            assert_eq!(data, data_of(index), "node {index} popped without its pusher's write");
            Some(index)
        }

        fn drain(&self, into: &mut Vec<usize>) {
            while let Some(index) = self.pop() {
                into.push(index);
            }
        }
    }

    /// Each node popped once: `got` holds every node exactly once.
    fn assert_each_popped_once(mut got: Vec<usize>, count: usize) {
        got.sort_unstable();
        assert!(got.windows(2).all(|pair| pair[0] != pair[1]), "a node was popped twice: {got:?}");
        assert_eq!(got, (0..count).collect::<Vec<_>>(), "a node was lost");
    }

    #[test]
    fn two_pushers_and_one_popper_lose_nothing_and_pop_nothing_twice() {
        loom::model(|| {
            let fixture = Fixture::new(3);
            fixture.push(0);
            let pushers: Vec<_> = [1, 2]
                .into_iter()
                .map(|index| {
                    let fixture = fixture.clone();
                    thread::spawn(move || fixture.push(index))
                })
                .collect();
            // The popper pops while both push, then takes what is left.
            let mut got: Vec<usize> = (0..2).filter_map(|_| fixture.pop()).collect();
            for pusher in pushers {
                pusher.join().unwrap();
            }
            fixture.drain(&mut got);
            assert_each_popped_once(got, 3);
        });
    }

    #[test]
    fn a_push_racing_a_pop_of_the_same_top_loses_neither_node() {
        loom::model(|| {
            let fixture = Fixture::new(2);
            fixture.push(0);
            let pusher = {
                let fixture = fixture.clone();
                thread::spawn(move || fixture.push(1))
            };
            // Node 0 is on the stack whatever the pusher does, so this pop
            // finds a node: the top it read, or the one pushed over it.
            let first = fixture.pop().expect("node 0 was pushed before");
            pusher.join().unwrap();
            let mut got = vec![first];
            fixture.drain(&mut got);
            assert_each_popped_once(got, 2);
        });
    }

    /// Outside the contract, kept as evidence that it matters and that the
    /// checks above can fail: two poppers, one of which pushes back a node it
    /// popped, make the other's CAS succeed on a stale link (ABA), and a node
    /// is handed out twice.
    #[test]
    #[should_panic(expected = "a node was popped twice")]
    fn two_poppers_pop_a_node_twice() {
        loom::model(|| {
            let fixture = Fixture::new(2);
            fixture.push(1);
            fixture.push(0);
            let other_popper = {
                let fixture = fixture.clone();
                thread::spawn(move || {
                    let first = fixture.pop();
                    let kept: Vec<usize> = fixture.pop().into_iter().collect();
                    if let Some(index) = first {
                        fixture.push(index);
                    }
                    kept
                })
            };
            let mut got: Vec<usize> = fixture.pop().into_iter().collect();
            got.extend(other_popper.join().unwrap());
            fixture.drain(&mut got);
            assert_each_popped_once(got, 2);
        });
    }
}
