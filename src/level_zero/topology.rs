//! Drivers and devices: Level Zero's own objects, alive for the process, so
//! their names are plain `Copy` values. A name is made only by a query that
//! returned it; every count-then-fill query goes through `enumerate`.

use std::ffi::{c_void, CStr};
use std::fmt;
use std::ptr;

use ze_sys::*;

use crate::error::ZeError;
use crate::loader::{self, Ze};

/// Level Zero's count-then-fill query: `query(&mut count, NULL)` asks for
/// the count, then `query(&mut count, items)` fills that many (skipped when
/// there are none); the items the second call says it wrote, `blank` copies
/// (a struct with its `stype` set) before it.
fn enumerate<T: Clone>(blank: T, mut query: impl FnMut(&mut u32, *mut T) -> Result<(), ZeError>) -> Result<Vec<T>, ZeError> {
    let mut count = 0u32;
    query(&mut count, ptr::null_mut())?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut items = vec![blank; count as usize];
    query(&mut count, items.as_mut_ptr())?;
    items.truncate(count as usize);
    Ok(items)
}

/// The first item of a count-then-fill query, asked for alone (a count of
/// one and room for one), or `None` when there is none.
fn first<T: Clone>(blank: T, query: impl FnOnce(&mut u32, *mut T) -> Result<(), ZeError>) -> Result<Option<T>, ZeError> {
    let mut count = 1u32;
    let mut item = blank;
    query(&mut count, &mut item)?;
    Ok((count > 0).then_some(item))
}

/// A Level Zero driver, as `zeDriverGet` returned it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Driver(ze_driver_handle_t);

// SAFETY: a driver handle is an opaque value Level Zero accepts from any thread.
unsafe impl Send for Driver {}
// SAFETY: as above; the name is never written.
unsafe impl Sync for Driver {}

impl Driver {
    pub(super) fn handle(self) -> ze_driver_handle_t {
        self.0
    }

    /// A name that is no driver, for unit tests that never reach Level Zero.
    #[cfg(test)]
    pub(crate) fn fake(n: usize) -> Driver {
        Driver(n as ze_driver_handle_t)
    }

    /// Every driver the loader offers (`zeDriverGet`).
    pub fn all(ze: &Ze) -> Result<Vec<Driver>, ZeError> {
        let handles = enumerate(ptr::null_mut(), |count, drivers| {
            // SAFETY: a count query, then an array of `count` handles (`enumerate`).
            unsafe { ze.driver_get(count, drivers) }
        })?;
        Ok(handles.into_iter().map(Driver).collect())
    }

    /// The first driver alone, if any.
    pub fn first(ze: &Ze) -> Result<Option<Driver>, ZeError> {
        // SAFETY: room for the one handle the count asks for (`first`).
        let handle = first(ptr::null_mut(), |count, driver| unsafe { ze.driver_get(count, driver) })?;
        Ok(handle.map(Driver))
    }

    /// Its root devices (`zeDeviceGet`).
    pub fn devices(self, ze: &Ze) -> Result<Vec<Device>, ZeError> {
        let handles = enumerate(ptr::null_mut(), |count, devices| {
            // SAFETY: a live driver; a count query, then room for `count` handles.
            unsafe { ze.device_get(self.0, count, devices) }
        })?;
        Ok(handles.into_iter().map(Device).collect())
    }

    /// Its first root device alone, if any.
    pub fn first_device(self, ze: &Ze) -> Result<Option<Device>, ZeError> {
        // SAFETY: a live driver; room for the one handle the count asks for.
        let handle = first(ptr::null_mut(), |count, device| unsafe { ze.device_get(self.0, count, device) })?;
        Ok(handle.map(Device))
    }

    /// Whether the driver lists the extension `name` (any version). A driver
    /// that cannot list its extensions offers none.
    pub fn offers_extension(self, ze: &Ze, name: &CStr) -> bool {
        let listed = enumerate(ze_driver_extension_properties_t::default(), |count, extensions| {
            // SAFETY: a live driver; a count query, then room for `count` entries.
            unsafe { ze.driver_get_extension_properties(self.0, count, extensions) }
        });
        listed.is_ok_and(|extensions| {
            extensions.iter().any(|extension| {
                let bytes = extension.name.map(|c| c as u8);
                CStr::from_bytes_until_nul(&bytes).is_ok_and(|found| found == name)
            })
        })
    }

    /// The driver's host-pointer import, or `None` when it has none.
    pub fn host_import(self, ze: &Ze) -> Option<HostImport> {
        // SAFETY: a live driver.
        let functions = unsafe { ze.host_import(self.0) }?;
        Some(HostImport { driver: self, functions })
    }
}

/// Intel's host-pointer import of one driver (`loader::HostImport`), bound
/// to the driver it was resolved for.
#[derive(Clone, Copy)]
pub struct HostImport {
    driver: Driver,
    functions: loader::HostImport,
}

impl HostImport {
    /// `zexDriverImportExternalPointer`.
    ///
    /// # Safety
    /// `[pointer, pointer + size)` is the caller's memory, and stays mapped
    /// until it is released.
    pub unsafe fn import(&self, pointer: *mut c_void, size: usize) -> Result<(), ZeError> {
        // SAFETY: the driver it was resolved for; the range by the caller's contract.
        unsafe { self.functions.import(self.driver.0, pointer, size) }
    }

    /// `zexDriverReleaseImportedPointer`: the driver lets copies already
    /// appended on the range finish before it forgets it.
    pub fn release(&self, pointer: *mut c_void) -> Result<(), ZeError> {
        // SAFETY: the driver it was resolved for; the address is only looked up.
        unsafe { self.functions.release(self.driver.0, pointer) }
    }

    /// The base of the driver's import holding `pointer`, if any: a lookup.
    pub fn imported_base(&self, pointer: *mut c_void) -> Option<usize> {
        // SAFETY: the driver it was resolved for; the address is only looked up.
        unsafe { self.functions.imported_base(self.driver.0, pointer) }
    }
}

/// A device or sub-device, as `zeDeviceGet` or `zeDeviceGetSubDevices`
/// returned it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Device(ze_device_handle_t);

// SAFETY: a device handle is an opaque value Level Zero accepts from any thread.
unsafe impl Send for Device {}
// SAFETY: as above; the name is never written.
unsafe impl Sync for Device {}

impl Device {
    /// Its sub-devices (`zeDeviceGetSubDevices`), none for a leaf.
    pub fn sub_devices(self, ze: &Ze) -> Result<Vec<Device>, ZeError> {
        let handles = enumerate(ptr::null_mut(), |count, devices| {
            // SAFETY: a live device; a count query, then room for `count` handles.
            unsafe { ze.device_get_sub_devices(self.0, count, devices) }
        })?;
        Ok(handles.into_iter().map(Device).collect())
    }

    /// `zeDeviceGetProperties`.
    pub fn properties(self, ze: &Ze) -> Result<ze_device_properties_t, ZeError> {
        let mut properties = ze_device_properties_t { stype: ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES, ..Default::default() };
        // SAFETY: a live device; the properties struct has its stype set.
        unsafe { ze.device_get_properties(self.0, &mut properties) }?;
        Ok(properties)
    }

    /// Its command queue groups, by ordinal (`zeDeviceGetCommandQueueGroupProperties`).
    pub fn queue_groups(self, ze: &Ze) -> Result<Vec<ze_command_queue_group_properties_t>, ZeError> {
        let blank = ze_command_queue_group_properties_t {
            stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES,
            ..Default::default()
        };
        enumerate(blank, |count, groups| {
            // SAFETY: a live device; a count query, then room for `count`
            // entries, each with its stype set.
            unsafe { ze.device_get_command_queue_group_properties(self.0, count, groups) }
        })
    }

    /// Whether this is the device behind `handle` (a caller's, unchecked).
    pub fn is(self, handle: ze_device_handle_t) -> bool {
        self.0 == handle
    }

    /// The handle, for the C-visible `aml_dma_ze_data` and the C entry that
    /// takes a device.
    pub fn as_raw(self) -> ze_device_handle_t {
        self.0
    }

    pub(super) fn handle(self) -> ze_device_handle_t {
        self.0
    }

    /// A device a query of the driver's returned.
    pub(super) fn from_query(handle: ze_device_handle_t) -> Device {
        Device(handle)
    }

    /// A name that is no device, for unit tests that never reach Level Zero.
    #[cfg(test)]
    pub(crate) fn fake(n: usize) -> Device {
        Device(n as ze_device_handle_t)
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({:p})", self.0)
    }
}
