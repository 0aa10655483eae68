//! Level Zero results turned into AML error codes, always negated
//! (`-AML_EINVAL`), following AML's own convention. Upstream returns these
//! positive; callers test `!= AML_SUCCESS`, so both read as failure.

use std::ffi::c_int;

use ze_sys::*;

use crate::abi::*;

/// A failed Level Zero call: the raw result, kept so the AML code can be
/// derived at the C boundary and so traces can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeError(pub ze_result_t);

impl ZeError {
    /// The driver, or a layer, did not know an enumeration value it was
    /// given (as an older layer answers a newer flag).
    pub fn is_invalid_enumeration(self) -> bool {
        self.0 == ZE_RESULT_ERROR_INVALID_ENUMERATION
    }
}

/// An error as the C boundary returns it: a negated AML code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmlError(pub c_int);

impl AmlError {
    pub const EINVAL: AmlError = AmlError(-AML_EINVAL);
    pub const EDOM: AmlError = AmlError(-AML_EDOM);
    pub const ENOMEM: AmlError = AmlError(-AML_ENOMEM);
    pub const ENOTSUP: AmlError = AmlError(-AML_ENOTSUP);
    pub const FAILURE: AmlError = AmlError(-AML_FAILURE);
}

impl From<ZeError> for AmlError {
    fn from(e: ZeError) -> Self {
        AmlError(aml_error_from_ze(e.0))
    }
}

/// The negated AML code for a `ze_result_t` (table of docs/abi.md); any
/// value not listed there is a generic failure.
pub fn aml_error_from_ze(result: ze_result_t) -> c_int {
    let positive = match result {
        ZE_RESULT_SUCCESS => AML_SUCCESS,
        ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY | ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY => AML_ENOMEM,
        ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE
        | ZE_RESULT_ERROR_UNINITIALIZED
        | ZE_RESULT_ERROR_INVALID_ARGUMENT
        | ZE_RESULT_ERROR_INVALID_NULL_HANDLE
        | ZE_RESULT_ERROR_INVALID_NULL_POINTER
        | ZE_RESULT_ERROR_INVALID_SIZE
        | ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT
        | ZE_RESULT_ERROR_INVALID_ENUMERATION
        | ZE_RESULT_ERROR_INVALID_NATIVE_BINARY
        | ZE_RESULT_ERROR_INVALID_GLOBAL_NAME
        | ZE_RESULT_ERROR_INVALID_KERNEL_NAME
        | ZE_RESULT_ERROR_INVALID_FUNCTION_NAME
        | ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION
        | ZE_RESULT_ERROR_INVALID_GLOBAL_WIDTH_DIMENSION
        | ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX
        | ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE
        | ZE_RESULT_ERROR_INVALID_KERNEL_ATTRIBUTE_VALUE
        | ZE_RESULT_ERROR_INVALID_MODULE_UNLINKED
        | ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE => AML_EINVAL,
        ZE_RESULT_ERROR_OVERLAPPING_REGIONS => AML_EDOM,
        ZE_RESULT_ERROR_UNSUPPORTED_VERSION
        | ZE_RESULT_ERROR_UNSUPPORTED_FEATURE
        | ZE_RESULT_ERROR_UNSUPPORTED_SIZE
        | ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT
        | ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION
        | ZE_RESULT_ERROR_UNSUPPORTED_IMAGE_FORMAT => AML_ENOTSUP,
        ZE_RESULT_NOT_READY | ZE_RESULT_ERROR_NOT_AVAILABLE | ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE => AML_EBUSY,
        ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS => AML_EPERM,
        _ => AML_FAILURE,
    };
    -positive
}

/// Name of a `ze_result_t`, for the failing-call trace.
pub fn ze_result_name(result: ze_result_t) -> &'static str {
    match result {
        ZE_RESULT_SUCCESS => "ZE_RESULT_SUCCESS",
        ZE_RESULT_NOT_READY => "ZE_RESULT_NOT_READY",
        ZE_RESULT_ERROR_DEVICE_LOST => "ZE_RESULT_ERROR_DEVICE_LOST",
        ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY => "ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY",
        ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY => "ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY",
        ZE_RESULT_ERROR_UNINITIALIZED => "ZE_RESULT_ERROR_UNINITIALIZED",
        ZE_RESULT_ERROR_UNSUPPORTED_FEATURE => "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE",
        ZE_RESULT_ERROR_INVALID_ARGUMENT => "ZE_RESULT_ERROR_INVALID_ARGUMENT",
        ZE_RESULT_ERROR_INVALID_NULL_HANDLE => "ZE_RESULT_ERROR_INVALID_NULL_HANDLE",
        ZE_RESULT_ERROR_INVALID_NULL_POINTER => "ZE_RESULT_ERROR_INVALID_NULL_POINTER",
        ZE_RESULT_ERROR_INVALID_SIZE => "ZE_RESULT_ERROR_INVALID_SIZE",
        ZE_RESULT_ERROR_INVALID_ENUMERATION => "ZE_RESULT_ERROR_INVALID_ENUMERATION",
        ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE => "ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE",
        ZE_RESULT_ERROR_UNKNOWN => "ZE_RESULT_ERROR_UNKNOWN",
        _ => "ze_result_t",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(ze_result_t, c_int)] = &[
        (ZE_RESULT_SUCCESS, AML_SUCCESS),
        (ZE_RESULT_ERROR_DEVICE_LOST, AML_FAILURE),
        (ZE_RESULT_ERROR_MODULE_BUILD_FAILURE, AML_FAILURE),
        (ZE_RESULT_ERROR_MODULE_LINK_FAILURE, AML_FAILURE),
        (ZE_RESULT_ERROR_UNKNOWN, AML_FAILURE),
        (ZE_RESULT_FORCE_UINT32, AML_FAILURE),
        (ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY, AML_ENOMEM),
        (ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY, AML_ENOMEM),
        (ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE, AML_EINVAL),
        (ZE_RESULT_ERROR_UNINITIALIZED, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_ARGUMENT, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_NULL_HANDLE, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_NULL_POINTER, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_SIZE, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_ENUMERATION, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_NATIVE_BINARY, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_GLOBAL_NAME, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_KERNEL_NAME, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_FUNCTION_NAME, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_GLOBAL_WIDTH_DIMENSION, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_KERNEL_ATTRIBUTE_VALUE, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_MODULE_UNLINKED, AML_EINVAL),
        (ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE, AML_EINVAL),
        (ZE_RESULT_ERROR_OVERLAPPING_REGIONS, AML_EDOM),
        (ZE_RESULT_ERROR_UNSUPPORTED_VERSION, AML_ENOTSUP),
        (ZE_RESULT_ERROR_UNSUPPORTED_FEATURE, AML_ENOTSUP),
        (ZE_RESULT_ERROR_UNSUPPORTED_SIZE, AML_ENOTSUP),
        (ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT, AML_ENOTSUP),
        (ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION, AML_ENOTSUP),
        (ZE_RESULT_ERROR_UNSUPPORTED_IMAGE_FORMAT, AML_ENOTSUP),
        (ZE_RESULT_NOT_READY, AML_EBUSY),
        (ZE_RESULT_ERROR_NOT_AVAILABLE, AML_EBUSY),
        (ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, AML_EBUSY),
        (ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS, AML_EPERM),
    ];

    #[test]
    fn every_listed_result_maps_to_its_negated_aml_code() {
        for &(result, aml) in TABLE {
            assert_eq!(aml_error_from_ze(result), -aml, "ze_result_t {result:#x}");
        }
    }

    #[test]
    fn results_not_in_the_table_are_a_generic_failure() {
        for result in [
            ZE_RESULT_ERROR_DEVICE_REQUIRES_RESET,
            ZE_RESULT_ERROR_DEVICE_IN_LOW_POWER_STATE,
            ZE_RESULT_WARNING_DROPPED_DATA,
            ZE_RESULT_WARNING_ACTION_REQUIRED,
            0x1234,
            2,
            u32::MAX,
        ] {
            assert_eq!(aml_error_from_ze(result), -AML_FAILURE, "ze_result_t {result:#x}");
        }
    }

    #[test]
    fn the_null_pointer_value_comes_from_the_headers() {
        // docs/abi.md: a hand-typed value of this constant was once wrong.
        assert_eq!(ZE_RESULT_ERROR_INVALID_NULL_POINTER, 0x7800_0007);
        assert_eq!(AmlError::from(ZeError(ZE_RESULT_ERROR_INVALID_NULL_POINTER)), AmlError::EINVAL);
    }
}
