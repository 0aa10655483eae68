//! A Level Zero context: the dma's own, made at create, shared (`Arc`) by
//! everything made in it, and destroyed when the last of them is dropped;
//! and the rule every owner's drop follows (`destroy_unless_exiting`).

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use ze_sys::*;

use super::topology::{Device, Driver};
use crate::error::ZeError;
use crate::loader::{self, Ze};

/// A context of one driver (`zeContextCreate`), destroyed on drop. What is
/// made in it holds the context's `Arc`, so it is dropped after them.
pub struct Context {
    handle: ze_context_handle_t,
    ze: &'static Ze,
}

// SAFETY: a context handle is an opaque value Level Zero accepts from any
// thread; nothing here is written after create.
unsafe impl Send for Context {}
// SAFETY: as above.
unsafe impl Sync for Context {}

/// What `zeMemGetAllocProperties` says of an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Device memory, of the device named when the driver names one.
    Device(Option<Device>),
    /// Host memory of the driver's.
    Host,
    /// Memory the driver does not know (`malloc`'d, a stack...).
    Unknown,
    /// Shared memory, or a type the bindings do not name.
    Other,
}

impl Context {
    /// A new context of `driver` (`zeContextCreate`).
    pub fn create(ze: &'static Ze, driver: Driver) -> Result<Arc<Context>, ZeError> {
        let desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
        let mut handle = ptr::null_mut();
        // SAFETY: a live driver; the descriptor is complete; a valid out-pointer.
        unsafe { ze.context_create(driver.handle(), &desc, &mut handle) }?;
        Ok(Arc::new(Context { handle, ze }))
    }

    /// What memory `address` is in, and on which device: a lookup of any
    /// address, which the driver only compares with its allocations.
    pub fn memory_at(&self, address: *const c_void) -> Result<Memory, ZeError> {
        let mut properties =
            ze_memory_allocation_properties_t { stype: ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES, ..Default::default() };
        let mut device: ze_device_handle_t = ptr::null_mut();
        // SAFETY: a live context, an address only looked up, valid out-pointers.
        unsafe { self.ze.mem_get_alloc_properties(self.handle, address, &mut properties, &mut device) }?;
        Ok(match properties.type_ {
            ZE_MEMORY_TYPE_DEVICE => Memory::Device((!device.is_null()).then(|| Device::from_query(device))),
            ZE_MEMORY_TYPE_HOST => Memory::Host,
            ZE_MEMORY_TYPE_UNKNOWN => Memory::Unknown,
            _ => Memory::Other,
        })
    }

    /// Whether the driver knows `address` as one of its allocations (USM):
    /// `zeMemGetAllocProperties` asked for the type alone.
    pub fn is_allocation(&self, address: *const c_void) -> Result<bool, ZeError> {
        let mut properties =
            ze_memory_allocation_properties_t { stype: ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES, ..Default::default() };
        // SAFETY: a live context, an address only looked up, a valid out-struct; no device wanted.
        unsafe { self.ze.mem_get_alloc_properties(self.handle, address, &mut properties, ptr::null_mut()) }?;
        Ok(properties.type_ != ZE_MEMORY_TYPE_UNKNOWN)
    }

    /// The handle, for the C-visible `aml_dma_ze_data`.
    pub fn as_raw(&self) -> ze_context_handle_t {
        self.handle
    }

    pub(super) fn handle(&self) -> ze_context_handle_t {
        self.handle
    }

    pub(super) fn ze(&self) -> &'static Ze {
        self.ze
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: made by `create` and destroyed only here; what was made in
        // it (lists, pools) held this context's `Arc`, so it is gone.
        destroy_unless_exiting(|| unsafe { self.ze.context_destroy(self.handle) });
    }
}

/// Runs a destroy from a drop unless the process is exiting (Level Zero may
/// be gone); a failure is traced by the loader and otherwise ignored: there
/// is no one to tell.
#[inline]
pub(super) fn destroy_unless_exiting(destroy: impl FnOnce() -> Result<(), ZeError>) {
    if !loader::exiting() {
        let _ = destroy();
    }
}
