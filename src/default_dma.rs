//! Standalone setup of `aml_dma_ze_default` (the "dma on the first device of
//! the first driver"). Under libaml, libaml's own initialisation creates it
//! through our `aml_dma_ze_create`; this module is only for programs without
//! libaml, and never runs unless called.
//!
//! The variable is written at the address the dynamic linker resolves for the
//! symbol: a PIE program that names `aml_dma_ze_default` owns a copy-relocated
//! copy, and only that copy is what it reads.

use std::ptr;

use parking_lot::Mutex;

use crate::abi::{aml_dma, aml_dma_ops};
use crate::diag::refuse;
use crate::lifecycle;
use crate::error::AmlError;
use crate::level_zero::Driver;
use crate::loader;

/// The dma this module created (its address), 0 when none.
static CREATED_HERE: Mutex<usize> = Mutex::new(0);

fn first_device() -> Result<ze_sys::ze_device_handle_t, AmlError> {
    let ze = loader::ze()?;
    let Some(driver) = Driver::first(ze)? else {
        return Err(refuse!(AmlError::ENOTSUP, "aml_dma_ze_default_setup", "no Level Zero driver"));
    };
    let Some(device) = driver.first_device(ze)? else {
        return Err(refuse!(AmlError::ENOTSUP, "aml_dma_ze_default_setup", "the first Level Zero driver has no device"));
    };
    // The C entry's argument: `create` finds it among the driver's devices again.
    Ok(device.as_raw())
}

/// Sets `*slot` to a new dma on the first device (ordinal 0, index 0) unless
/// it is already set (by libaml or an earlier call). Idempotent and thread-safe.
///
/// # Safety
/// `slot` must be the live `aml_dma_ze_default` variable.
pub unsafe fn setup(slot: *mut *mut aml_dma, ops: *mut aml_dma_ops) -> Result<(), AmlError> {
    let mut created = CREATED_HERE.lock();
    // SAFETY: the variable is valid; writers hold CREATED_HERE.
    if !unsafe { slot.read_volatile() }.is_null() {
        return Ok(());
    }
    let dma = lifecycle::create(first_device()?, 0, 0, ops)?;
    // SAFETY: as above.
    unsafe { slot.write_volatile(dma) };
    *created = dma as usize;
    Ok(())
}

/// Destroys the dma `setup` created and clears the variable, if the variable
/// still holds it. If the program already destroyed it (through
/// `aml_dma_ze_destroy(&aml_dma_ze_default)`, which clears the variable) or
/// replaced it, nothing is touched. Idempotent.
///
/// # Safety
/// As `setup`.
pub unsafe fn teardown(slot: *mut *mut aml_dma) -> Result<(), AmlError> {
    let mut created = CREATED_HERE.lock();
    let dma = std::mem::take(&mut *created) as *mut aml_dma;
    // SAFETY: the variable is valid; writers hold CREATED_HERE.
    if dma.is_null() || unsafe { slot.read_volatile() } != dma {
        return Ok(());
    }
    // SAFETY: as above.
    unsafe { slot.write_volatile(ptr::null_mut()) };
    // SAFETY: the variable still held the dma `setup` made, so it is alive.
    lifecycle::destroy(unsafe { lifecycle::claim(dma) }?)
}
