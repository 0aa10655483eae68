//! Reading a caller's pointer arguments: NULL becomes the spec's
//! `ZE_RESULT_ERROR_INVALID_NULL_POINTER`, input descriptors have their
//! `stype` checked, and every dereference happens in one audited place.

use ze_sys::*;

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

/// Input descriptors all start with `stype`; this lets one function check it.
pub trait Descriptor {
    const STYPE: ze_structure_type_t;
    fn stype(&self) -> ze_structure_type_t;
}

macro_rules! descriptors {
    ($($type:ty => $stype:ident),* $(,)?) => {
        $(impl Descriptor for $type {
            const STYPE: ze_structure_type_t = $stype;
            fn stype(&self) -> ze_structure_type_t {
                self.stype
            }
        })*
    };
}

descriptors! {
    ze_context_desc_t => ZE_STRUCTURE_TYPE_CONTEXT_DESC,
    ze_command_queue_desc_t => ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
    ze_event_pool_desc_t => ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
    ze_event_desc_t => ZE_STRUCTURE_TYPE_EVENT_DESC,
    ze_device_mem_alloc_desc_t => ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC,
    ze_host_mem_alloc_desc_t => ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC,
}

/// Reads an input descriptor: NULL is `INVALID_NULL_POINTER`, a wrong `stype`
/// is `INVALID_ARGUMENT` (extension chains in `pNext` are ignored).
///
/// # Safety
/// If non-NULL, `pointer` must be valid for reads of `T`.
pub unsafe fn descriptor<'a, T: Descriptor>(pointer: *const T) -> Result<&'a T, ze_result_t> {
    // SAFETY: NULL is excluded by `as_ref`; validity is the caller's contract.
    let descriptor = unsafe { pointer.as_ref() }.ok_or(ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    if descriptor.stype() != T::STYPE {
        return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
    Ok(descriptor)
}
