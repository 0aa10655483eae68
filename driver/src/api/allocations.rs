//! The allocations of one context, by base address: what `zeMemFree`,
//! `zeMemGetAllocProperties` and `zeMemGetAddressRange` look up, and what a
//! context frees when it is destroyed with allocations left.

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use ze_sys::*;

use crate::backend::{Backend, MemoryKind};
use crate::control::{self, Kind};

pub struct Allocation {
    pub size: usize,
    pub alignment: usize,
    pub kind: MemoryKind,
    pub device: ze_device_handle_t,
    pub id: u64,
}

// SAFETY: `device` is only an identifier handed back to callers (devices live
// for the whole process); nothing is dereferenced through it.
unsafe impl Send for Allocation {}

/// What a lookup returns: the allocation's base and a copy of its record.
pub struct Found {
    pub base: usize,
    pub size: usize,
    pub kind: MemoryKind,
    pub device: ze_device_handle_t,
    pub id: u64,
}

#[derive(Default)]
pub struct Allocations {
    by_base: Mutex<BTreeMap<usize, Allocation>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Allocations freed so far, by any context: what a remembered "this host
/// range is mapped" (`command_list`) is valid for.
static FREES: AtomicU64 = AtomicU64::new(0);
/// Every live allocation of the driver, (base, size) sorted by base,
/// whichever context made it: one binary search for what a copy may reach
/// (`command_list`, on every append), as Intel's driver keeps one table.
static EVERY: RwLock<Vec<(usize, usize)>> = RwLock::new(Vec::new());

/// How many allocations the driver has freed.
pub fn frees() -> u64 {
    FREES.load(Ordering::Acquire)
}

/// The base and size of the allocation of any context holding `address`.
pub fn find_in_driver(address: usize) -> Option<(usize, usize)> {
    let every = EVERY.read();
    let after = every.partition_point(|&(base, _)| base <= address);
    let (base, size) = *every.get(after.checked_sub(1)?)?;
    (address < base + size).then_some((base, size))
}

impl Allocations {
    pub fn insert(&self, base: NonNull<u8>, size: usize, alignment: usize, kind: MemoryKind, device: ze_device_handle_t) {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.by_base.lock().insert(base.as_ptr() as usize, Allocation { size, alignment, kind, device, id });
        let base = base.as_ptr() as usize;
        let mut every = EVERY.write();
        let at = every.partition_point(|&(other, _)| other < base);
        every.insert(at, (base, size));
        control::object_created(Kind::Allocation);
    }

    /// The allocation containing `address`.
    pub fn find(&self, address: usize) -> Option<Found> {
        let by_base = self.by_base.lock();
        let (&base, allocation) = by_base.range(..=address).next_back()?;
        (address < base + allocation.size).then_some(Found {
            base,
            size: allocation.size,
            kind: allocation.kind,
            device: allocation.device,
            id: allocation.id,
        })
    }

    pub fn contains_base(&self, base: usize) -> bool {
        self.by_base.lock().contains_key(&base)
    }

    /// Unregisters and frees the allocation at `base`; false if there is none.
    /// The caller has made sure no queued command still uses it.
    pub fn free(&self, backend: &dyn Backend, base: usize) -> bool {
        let Some(allocation) = self.by_base.lock().remove(&base) else {
            return false;
        };
        release(backend, base, &allocation);
        true
    }

    /// Frees every allocation left (the caller waited for the queues first).
    pub fn free_all(&self, backend: &dyn Backend) {
        let left = std::mem::take(&mut *self.by_base.lock());
        for (base, allocation) in left {
            release(backend, base, &allocation);
        }
    }
}

fn release(backend: &dyn Backend, base: usize, allocation: &Allocation) {
    {
        let mut every = EVERY.write();
        if let Ok(at) = every.binary_search_by_key(&base, |&(base, _)| base) {
            every.remove(at);
        }
    }
    let base = NonNull::new(base as *mut u8).expect("allocations are never at NULL");
    // SAFETY: the record was made for exactly this allocation by `insert`
    // and has just been removed, so it is freed exactly once.
    unsafe { backend.free(allocation.kind, base, allocation.size, allocation.alignment) };
    FREES.fetch_add(1, Ordering::AcqRel);
    control::object_destroyed(Kind::Allocation);
}
