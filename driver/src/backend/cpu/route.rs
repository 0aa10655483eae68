//! A queue's copies carried out the way Intel's driver routes them
//! (`policy.rs` decides): on the queue's copy engine, as a copy kernel,
//! split in equal parts over link copy engines that run at once, or by the
//! appending thread (CPU copies, at submit).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use super::bandwidth::{CopyEngine, Pace};
use super::settings;
use crate::backend::policy::{self, Memory, Role, Route, Waits};

/// The copy side of one queue: its engine, the device it belongs to and
/// what the driver does with copies on it.
pub struct Router {
    engine: Arc<CopyEngine>,
    unit: usize,
    role: Role,
    /// A barrier or a wait on events was appended since a CPU copy last
    /// synchronized the list (compute-runtime's `dependenciesPresent`).
    dependencies: AtomicBool,
}

impl Router {
    pub fn new(engine: Arc<CopyEngine>, unit: usize, role: Role) -> Router {
        Router { engine, unit, role, dependencies: AtomicBool::new(false) }
    }

    /// Where a copy goes.
    // Called at every copy's submit: kept inlinable across modules (the
    // crate builds in several codegen units, and where it lands shifts
    // with unrelated changes).
    #[inline]
    pub fn route(&self, destination: usize, source: usize, size: usize, waits: Waits) -> Route {
        let fabric = self.engine.fabric();
        let dependencies = self.dependencies.load(Ordering::Relaxed);
        let route = self.role.route(size, fabric.memory(destination), fabric.memory(source), waits, dependencies);
        policy::count(route);
        route
    }

    pub fn dependencies_appended(&self) {
        self.dependencies.store(true, Ordering::Relaxed);
    }

    /// The list was synchronized for a CPU copy.
    pub fn synchronized(&self) {
        self.dependencies.store(false, Ordering::Relaxed);
    }

    /// What the appending thread pays before a copy starts: the pinning of a
    /// `malloc`'d side for this copy (under the bandwidth model only).
    #[inline]
    pub fn host_cost(&self, destination: usize, source: usize, size: usize) -> Option<std::time::Duration> {
        if !settings::bandwidth_model() || !policy::policies_on() {
            return None;
        }
        let fabric = self.engine.fabric();
        let malloced = [destination, source].iter().filter(|&&side| fabric.memory(side) == Memory::Malloc).count();
        (malloced > 0 && size > 0).then(|| fabric.host_pointer_cost(size) * malloced as u32)
    }

    /// The pace of a whole copy on this queue.
    fn pace(&self, route: Route) -> Pace {
        match route {
            Route::Kernel => Pace::Path,
            Route::KernelLocal => Pace::StackMemory(self.unit),
            Route::Cpu { .. } => Pace::Cpu,
            _ => Pace::Engine,
        }
    }

    /// Runs one copy command's copy along `route`.
    ///
    /// # Safety
    /// `source` valid for `size` reads, `destination` for `size` writes, disjoint.
    #[inline]
    pub unsafe fn copy(&self, route: Route, destination: *mut u8, source: *const u8, size: usize) {
        match route {
            Route::Split { ordinal, engines } => {
                // SAFETY: forwarded contract.
                unsafe { self.split(ordinal, engines, destination, source, size) }
            }
            // SAFETY: forwarded contract.
            _ => unsafe { self.engine.paced(self.pace(route)).copy(destination, source, size) },
        }
    }

    /// The engine and pace of a region copy (whole on this queue: rows are
    /// not split), from its first bytes' places.
    pub fn region_transfer(&self, route: Route) -> super::bandwidth::Transfer<'_> {
        self.engine.paced(self.pace(route))
    }

    /// Equal parts, one per engine of the mask, run at once; returns when
    /// every part is done, so the queue's later commands follow them all.
    ///
    /// # Safety
    /// As [`Router::copy`].
    unsafe fn split(&self, ordinal: u32, engines: u32, destination: *mut u8, source: *const u8, size: usize) {
        let fabric = self.engine.fabric();
        let queues: Vec<u32> = policy::split_queues(engines).collect();
        // As compute-runtime: each part the bytes left over the engines
        // left, unaligned, the remainder on the last.
        let part = size / queues.len();
        let (destination, source) = (destination as usize, source as usize);
        thread::scope(|scope| {
            for (n, &index) in queues.iter().enumerate() {
                let offset = n * part;
                let length = if n + 1 == queues.len() { size - offset } else { part };
                let engine = fabric.engine(self.unit, ordinal, index);
                let run = move || {
                    // SAFETY: [offset, offset + length) lies within both
                    // ranges (caller's contract); parts are disjoint.
                    unsafe { engine.copy((destination + offset) as *mut u8, (source + offset) as *const u8, length) }
                };
                if n + 1 == queues.len() {
                    run();
                } else if thread::Builder::new().spawn_scoped(scope, run).is_err() {
                    // No thread to be had: that part runs here, after the others.
                    // SAFETY: as above.
                    unsafe {
                        fabric.engine(self.unit, ordinal, index).copy(
                            (destination + offset) as *mut u8,
                            (source + offset) as *const u8,
                            length,
                        )
                    }
                }
            }
        });
    }
}
