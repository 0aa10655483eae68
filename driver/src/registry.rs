//! Live-handle registries. A handle given to the caller is the address of the
//! object; it is dereferenced only after it was found in its registry, so a
//! stale or foreign handle is reported as an error instead of read as memory.
//! A lookup hands out an `Arc`, so an object stays valid for a call that is
//! using it even if another thread destroys its handle meanwhile.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::control::{self, Kind};

/// Hashes an address by one multiplication: handles are unique addresses, so
/// SipHash's protection against chosen keys buys nothing here but latency.
#[derive(Default)]
pub struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8 | u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

type AddressMap<T> = HashMap<usize, Arc<T>, BuildHasherDefault<AddressHasher>>;

pub struct Registry<T> {
    kind: Kind,
    objects: RwLock<AddressMap<T>>,
}

impl<T> Registry<T> {
    pub const fn new(kind: Kind) -> Self {
        Registry { kind, objects: RwLock::new(HashMap::with_hasher(BuildHasherDefault::new())) }
    }

    /// Registers a new object and returns its handle (its address).
    pub fn insert(&self, object: T) -> usize {
        let object = Arc::new(object);
        let handle = Arc::as_ptr(&object) as usize;
        self.objects.write().insert(handle, object);
        control::object_created(self.kind);
        handle
    }

    pub fn get(&self, handle: usize) -> Option<Arc<T>> {
        self.objects.read().get(&handle).cloned()
    }

    /// The first answer `look` gives for a live object, in no set order.
    pub fn find_map<R>(&self, look: impl FnMut(&Arc<T>) -> Option<R>) -> Option<R> {
        self.objects.read().values().find_map(look)
    }

    /// Unregisters the handle if `may_remove` agrees, under the registry lock
    /// so that no lookup can hand the object out in between.
    pub fn remove_if(
        &self,
        handle: usize,
        may_remove: impl FnOnce(&Arc<T>) -> bool,
    ) -> Result<Arc<T>, RemoveError> {
        let mut objects = self.objects.write();
        let object = objects.get(&handle).ok_or(RemoveError::Unknown)?;
        if !may_remove(object) {
            return Err(RemoveError::Refused);
        }
        let object = objects.remove(&handle).expect("present: looked up under the same lock");
        control::object_destroyed(self.kind);
        Ok(object)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RemoveError {
    Unknown,
    Refused,
}
