//! Reading a caller's pointer arguments, and the two levels of argument rules.
//!
//! By default swze checks what Intel's driver checks, or would crash on
//! (NULL pointers and handles, counts, indices), and accepts what Intel's
//! driver accepts: the `stype` of an input descriptor and the range of its
//! flags and enums are not looked at, as compute-runtime does not look at
//! them. `SWZE_STRICT=1` turns the spec's rules back on: each violation is
//! printed to stderr with the call's name and refused with the spec's result.
//! Every dereference of a caller's pointer happens in this one audited place,
//! except the copy regions of `zeCommandListAppendMemoryCopyRegion`, which
//! `append` reads itself (a NULL one reaches `region::check` as none).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use ze_sys::*;

use crate::calls::{Api, API_NAMES};
use crate::entry::ZeResult;

static STRICT: AtomicBool = AtomicBool::new(false);

pub fn set_strict(on: bool) {
    STRICT.store(on, Ordering::Relaxed);
}

pub fn strict() -> bool {
    STRICT.load(Ordering::Relaxed)
}

/// A rule of the spec that Intel's driver does not enforce: checked, and
/// reported, only under `SWZE_STRICT=1`.
#[inline]
pub fn spec_rule(api: Api, holds: bool, error: ze_result_t, rule: impl FnOnce() -> String) -> ZeResult {
    if holds || !strict() {
        return Ok(());
    }
    eprintln!("swze: {}: {} (SWZE_STRICT: {error:#x})", API_NAMES[api.index()], rule());
    Err(error)
}

/// A flags or enum value must lie within the spec's range (strict only).
#[inline]
pub fn spec_range(api: Api, field: &str, value: u32, max: u32) -> ZeResult {
    spec_rule(api, value <= max, ZE_RESULT_ERROR_INVALID_ENUMERATION, || {
        format!("{field} = {value:#x} is outside the spec's range (at most {max:#x})")
    })
}

/// Borrows an output struct for the duration of the call.
///
/// # Safety
/// If non-NULL, `pointer` must be valid for reads and writes of `T` and not
/// aliased during the call (the Level Zero contract for output arguments).
pub unsafe fn out<'a, T>(pointer: *mut T) -> Result<&'a mut T, ze_result_t> {
    // SAFETY: NULL is excluded by `as_mut`; validity is the caller's contract.
    unsafe { pointer.as_mut() }.ok_or(ZE_RESULT_ERROR_INVALID_NULL_POINTER)
}

/// Stores a value through an output pointer.
///
/// # Safety
/// As for [`out`].
pub unsafe fn write<T>(pointer: *mut T, value: T) -> Result<(), ze_result_t> {
    // SAFETY: forwarded contract.
    *unsafe { out(pointer) }? = value;
    Ok(())
}

/// Input descriptors all start with `stype`.
pub trait Descriptor {
    const STYPE: ze_structure_type_t;
    const STYPE_NAME: &'static str;
    fn stype(&self) -> ze_structure_type_t;
}

macro_rules! descriptors {
    ($($type:ty => $stype:ident),* $(,)?) => {
        $(impl Descriptor for $type {
            const STYPE: ze_structure_type_t = $stype;
            const STYPE_NAME: &'static str = stringify!($stype);
            fn stype(&self) -> ze_structure_type_t {
                self.stype
            }
        })*
    };
}

descriptors! {
    ze_context_desc_t => ZE_STRUCTURE_TYPE_CONTEXT_DESC,
    ze_command_queue_desc_t => ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
    ze_command_list_desc_t => ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC,
    ze_fence_desc_t => ZE_STRUCTURE_TYPE_FENCE_DESC,
    ze_event_pool_desc_t => ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
    ze_event_desc_t => ZE_STRUCTURE_TYPE_EVENT_DESC,
    ze_device_mem_alloc_desc_t => ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC,
    ze_host_mem_alloc_desc_t => ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC,
    ze_physical_mem_desc_t => ZE_STRUCTURE_TYPE_PHYSICAL_MEM_DESC,
}

/// Reads an input descriptor: NULL is `INVALID_NULL_POINTER`; its `stype` is
/// not looked at unless strict (a real AML program passes a queue *group
/// properties* stype in its queue descriptor, and runs on Intel's driver).
///
/// # Safety
/// If non-NULL, `pointer` must be valid for reads of `T`.
pub unsafe fn descriptor<'a, T: Descriptor>(api: Api, pointer: *const T) -> Result<&'a T, ze_result_t> {
    // SAFETY: NULL is excluded by `as_ref`; validity is the caller's contract.
    let descriptor = unsafe { pointer.as_ref() }.ok_or(ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    let stype = descriptor.stype();
    spec_rule(api, stype == T::STYPE, ZE_RESULT_ERROR_INVALID_ARGUMENT, || {
        format!("descriptor stype is {stype:#x}, expected {} ({:#x})", T::STYPE_NAME, T::STYPE)
    })?;
    Ok(descriptor)
}

/// The longest `pNext` chain walked; a longer one (or a cycle) ends there.
const MAX_EXTENSIONS: usize = 64;

/// Finds the extension of type `stype` in a descriptor's `pNext` chain, as
/// drivers do: by each entry's own `stype`; entries of other types are skipped.
///
/// # Safety
/// Every `pNext` of the chain must be NULL or point to a structure that
/// starts like `ze_base_desc_t` (the Level Zero contract).
pub unsafe fn find_extension<'a>(next: *const c_void, stype: ze_structure_type_t) -> Option<&'a ze_base_desc_t> {
    let mut next = next.cast::<ze_base_desc_t>();
    for _ in 0..MAX_EXTENSIONS {
        // SAFETY: NULL is excluded by `as_ref`; validity is the caller's contract.
        let extension = unsafe { next.as_ref() }?;
        if extension.stype == stype {
            return Some(extension);
        }
        next = extension.pNext.cast();
    }
    None
}
