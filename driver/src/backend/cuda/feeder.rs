//! The feeder thread: gives commands kept on the host (`backlog.rs`) to
//! their streams once the streams can take them, so that they run even when
//! the application calls nothing more.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Shared;

impl Shared {
    /// A queue kept a command on the host: the feeder (started the first
    /// time) gives it to the stream once the stream can take it. Without a
    /// thread (none could be made), later calls on the queue give it.
    pub fn kept(shared: &Arc<Shared>) {
        shared.held.fetch_add(1, Ordering::AcqRel);
        let mut started = shared.feeder.lock();
        if !*started {
            let feeding = Arc::clone(shared);
            let spawned = std::thread::Builder::new().name("swze-feeder".into()).spawn(move || feed(&feeding));
            *started = spawned.is_ok();
        }
        shared.feeder_wake.notify_one();
    }
}

/// The feeder thread: while commands are kept on the host, gives each
/// queue's to its stream as soon as the stream can take them, so that they
/// run even when the application calls nothing more (it may be waiting on
/// an event's word, or on memory the commands write).
fn feed(shared: &Arc<Shared>) {
    const SHORTEST: Duration = Duration::from_micros(10);
    const LONGEST: Duration = Duration::from_micros(200);
    let mut pause = SHORTEST;
    let mut rounds = 0u32;
    loop {
        {
            let mut started = shared.feeder.lock();
            while shared.held.load(Ordering::Acquire) == 0 {
                shared.feeder_wake.wait(&mut started);
            }
        }
        let before = shared.held.load(Ordering::Acquire);
        rounds = rounds.wrapping_add(1);
        let queues = shared.live_queues();
        for queue in &queues {
            if queue.holding() {
                // Idle streams tell of commands that write nothing.
                queue.pump(rounds.is_multiple_of(16));
            }
        }
        drop(queues);
        pause = if shared.held.load(Ordering::Acquire) < before { SHORTEST } else { (pause * 2).min(LONGEST) };
        std::thread::sleep(pause);
    }
}
