//! The engine thread that runs an asynchronous queue's commands in order.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::execute::execute;
use super::route::Router;
use crate::backend::policy::Route;
use crate::backend::Command;

struct Pending {
    /// Each with the route its copy was given at submit.
    commands: VecDeque<(Command, Option<Route>)>,
    submitted: u64,
    completed: u64,
    closing: bool,
}

pub struct Shared {
    pending: Mutex<Pending>,
    /// The engine sleeps here while it has nothing to run.
    work: Condvar,
    /// Threads waiting for the engine to drain sleep here.
    idle: Condvar,
}

impl Shared {
    /// Blocks until every command submitted before this call has executed.
    pub fn wait_idle(&self) {
        let mut pending = self.pending.lock();
        let target = pending.submitted;
        while pending.completed < target {
            self.idle.wait(&mut pending);
        }
    }

    /// As [`Shared::wait_idle`], giving up at `deadline`; true if idle.
    pub fn wait_idle_until(&self, deadline: Option<Instant>) -> bool {
        let Some(deadline) = deadline else {
            self.wait_idle();
            return true;
        };
        let mut pending = self.pending.lock();
        let target = pending.submitted;
        while pending.completed < target {
            if self.idle.wait_until(&mut pending, deadline).timed_out() {
                return pending.completed >= target;
            }
        }
        true
    }
}

pub struct Engine {
    shared: Arc<Shared>,
    router: Arc<Router>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    /// Starts the thread of a list whose copies go as `router` routes them.
    pub fn start(router: Router) -> std::io::Result<Engine> {
        let router = Arc::new(router);
        let rate = Arc::clone(&router);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending { commands: VecDeque::new(), submitted: 0, completed: 0, closing: false }),
            work: Condvar::new(),
            idle: Condvar::new(),
        });
        let engine_side = Arc::clone(&shared);
        let thread = thread::Builder::new().name("swze-engine".into()).spawn(move || run(&engine_side, &rate))?;
        Ok(Engine { shared, router, thread: Mutex::new(Some(thread)) })
    }

    pub fn router(&self) -> &Router {
        &self.router
    }


    pub fn wait_idle_until(&self, deadline: Option<Instant>) -> bool {
        self.shared.wait_idle_until(deadline)
    }

    /// A handle that lets the backend wait for this engine without owning it.
    pub fn watch(&self) -> Weak<Shared> {
        Arc::downgrade(&self.shared)
    }

    /// Queues a command; an engine shutting down refuses it (unrun: its
    /// guard hears it finished, so its events are free again).
    pub fn submit(&self, mut command: Command, route: Option<Route>) -> Result<(), ()> {
        let mut pending = self.shared.pending.lock();
        if pending.closing {
            drop(pending);
            command.guard.finished();
            return Err(());
        }
        pending.commands.push_back((command, route));
        pending.submitted += 1;
        drop(pending);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Lets the queue drain, then stops and joins the thread. Idempotent.
    pub fn shut_down(&self) {
        self.shared.pending.lock().closing = true;
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

fn run(shared: &Shared, router: &Router) {
    let mut pending = shared.pending.lock();
    loop {
        if let Some((command, route)) = pending.commands.pop_front() {
            drop(pending);
            execute(command, router, route);
            pending = shared.pending.lock();
            pending.completed += 1;
            shared.idle.notify_all();
            continue;
        }
        if pending.closing {
            return;
        }
        shared.work.wait(&mut pending);
    }
}
