//! Command execution: what one appended command does, and the engine thread
//! that runs an asynchronous immediate list's commands in order.

use std::collections::VecDeque;
use std::ptr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::control;
use crate::event::Event;
use crate::region::{self, RegionCopy};

pub enum Action {
    Nothing,
    /// Addresses as integers: the command crosses to the engine thread, and
    /// the caller guarantees the memory stays valid until execution.
    Copy { destination: usize, source: usize, size: usize },
    CopyRegion(RegionCopy),
    ResetEvent(Arc<Event>),
}

/// One appended command: wait for `waits`, do `action`, then signal.
pub struct Command {
    waits: Vec<Arc<Event>>,
    action: Action,
    signal: Option<Arc<Event>>,
}

impl Command {
    /// Marks every event the command names as in use until it has run.
    pub fn new(waits: Vec<Arc<Event>>, action: Action, signal: Option<Arc<Event>>) -> Command {
        let reset = match &action {
            Action::ResetEvent(event) => Some(event),
            _ => None,
        };
        waits.iter().chain(reset).chain(signal.iter()).for_each(|event| event.use_pending());
        Command { waits, action, signal }
    }

    /// Runs the command on the current thread.
    pub fn execute(self) {
        for event in &self.waits {
            event.wait(None);
            event.use_done();
        }
        match &self.action {
            Action::Nothing => {}
            Action::Copy { destination, source, size } => {
                // SAFETY: the appender checked both pointers non-NULL and the
                // ranges disjoint; the Level Zero contract makes the caller
                // keep both regions valid until the command has executed.
                unsafe { copy_bytes(*destination as *mut u8, *source as *const u8, *size) }
            }
            // SAFETY: checked by `region::check` at append time; the caller
            // keeps both regions valid until execution (Level Zero contract).
            Action::CopyRegion(copy) => unsafe { region::execute(copy, |d, s, n| copy_bytes(d, s, n)) },
            Action::ResetEvent(event) => {
                event.reset();
                event.use_done();
            }
        }
        if let Some(event) = &self.signal {
            event.use_done();
            event.signal();
        }
    }
}

/// Copies with one memcpy, or in timed chunks when a bandwidth cap is set.
///
/// # Safety
/// `source` valid for `size` reads, `destination` for `size` writes, disjoint.
unsafe fn copy_bytes(destination: *mut u8, source: *const u8, size: usize) {
    let bandwidth = control::copy_bandwidth();
    if bandwidth == 0 {
        // SAFETY: forwarded contract.
        unsafe { ptr::copy_nonoverlapping(source, destination, size) };
        return;
    }
    // About a millisecond of transfer per chunk: smooth, yet few wake-ups.
    let chunk = (bandwidth / 1000).max(4096) as usize;
    let start = Instant::now();
    let mut done = 0;
    while done < size {
        let length = chunk.min(size - done);
        // SAFETY: done + length <= size, within the caller's ranges.
        unsafe { ptr::copy_nonoverlapping(source.add(done), destination.add(done), length) };
        done += length;
        let due = start + Duration::from_secs_f64(done as f64 / bandwidth as f64);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
    }
}

struct Queue {
    commands: VecDeque<Command>,
    submitted: u64,
    completed: u64,
    closing: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// The engine sleeps here while its queue is empty.
    work: Condvar,
    /// Threads waiting for the queue to drain sleep here.
    idle: Condvar,
}

/// An engine thread owning one in-order queue.
pub struct Engine {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    pub fn start() -> std::io::Result<Engine> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { commands: VecDeque::new(), submitted: 0, completed: 0, closing: false }),
            work: Condvar::new(),
            idle: Condvar::new(),
        });
        let engine_side = Arc::clone(&shared);
        let thread = thread::Builder::new().name("swze-engine".into()).spawn(move || run(&engine_side))?;
        Ok(Engine { shared, thread: Mutex::new(Some(thread)) })
    }

    /// Queues a command; false if the engine is shutting down.
    pub fn submit(&self, command: Command) -> bool {
        let mut queue = self.shared.queue.lock();
        if queue.closing {
            drop(queue);
            // Never executed: release the events it reserved.
            command.cancel();
            return false;
        }
        queue.commands.push_back(command);
        queue.submitted += 1;
        drop(queue);
        self.shared.work.notify_one();
        true
    }

    /// Blocks until every command submitted before this call has executed.
    pub fn wait_idle(&self) {
        let mut queue = self.shared.queue.lock();
        let target = queue.submitted;
        while queue.completed < target {
            self.shared.idle.wait(&mut queue);
        }
    }

    /// Lets the queue drain, then stops and joins the thread. Idempotent.
    pub fn shut_down(&self) {
        self.shared.queue.lock().closing = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.lock().take() {
            // The engine catches nothing itself; a panic there already
            // reported itself on stderr, and we must not unwind further.
            let _ = thread.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl Command {
    /// Releases the events of a command that will never run.
    fn cancel(self) {
        let reset = match &self.action {
            Action::ResetEvent(event) => Some(event),
            _ => None,
        };
        self.waits.iter().chain(reset).chain(self.signal.iter()).for_each(|event| event.use_done());
    }
}

fn run(shared: &Shared) {
    let mut queue = shared.queue.lock();
    loop {
        if let Some(command) = queue.commands.pop_front() {
            drop(queue);
            command.execute();
            queue = shared.queue.lock();
            queue.completed += 1;
            shared.idle.notify_all();
            continue;
        }
        if queue.closing {
            return;
        }
        shared.work.wait(&mut queue);
    }
}
