#![allow(non_camel_case_types, non_upper_case_globals)]
//! `#[repr(C)]` mirrors of the AML structures and constants that cross the C
//! boundary. cbindgen turns this file into `include/aml/dma/ze.h`; the generic
//! AML types sit behind `cfg(not(aml_h))`, which cbindgen writes as
//! `#if !defined(AML_H)` so a program that included AML's `aml.h` first keeps
//! AML's own definitions. Rust never sets `aml_h`, so Rust always sees them.
//! Layouts are pinned by the compile-time asserts at the bottom (values from
//! docs/abi.md).

use std::ffi::{c_char, c_int, c_void};

use ze_sys::{ze_command_list_handle_t, ze_context_handle_t, ze_device_handle_t, ze_event_handle_t,
             ze_event_pool_handle_t, ze_event_scope_flags_t};

/// Success.
#[cfg(not(aml_h))]
pub const AML_SUCCESS: c_int = 0;
/// Generic failure.
#[cfg(not(aml_h))]
pub const AML_FAILURE: c_int = 1;
/// Out of memory.
#[cfg(not(aml_h))]
pub const AML_ENOMEM: c_int = 2;
/// Invalid argument.
#[cfg(not(aml_h))]
pub const AML_EINVAL: c_int = 3;
/// Value out of domain.
#[cfg(not(aml_h))]
pub const AML_EDOM: c_int = 4;
/// Operation not supported (for example: no Level Zero loader on this system).
#[cfg(not(aml_h))]
pub const AML_ENOTSUP: c_int = 5;
/// Resource busy.
#[cfg(not(aml_h))]
pub const AML_EBUSY: c_int = 6;
/// Operation not permitted.
#[cfg(not(aml_h))]
pub const AML_EPERM: c_int = 7;
/// One past the largest AML error code.
#[cfg(not(aml_h))]
pub const AML_ERROR_MAX: c_int = 8;

/// Request is not executed yet.
pub const AML_DMA_ZE_REQUEST_FLAGS_PENDING: c_int = 0;
/// Request is executed (completion was observed).
pub const AML_DMA_ZE_REQUEST_FLAGS_DONE: c_int = 1;

/// Opaque data of a dma implementation (for this library: `struct aml_dma_ze_data`).
pub struct aml_dma_data {
    _opaque: [u8; 0],
}

/// Opaque request of a dma implementation (for this library: `struct aml_dma_ze_request`).
pub struct aml_dma_request {
    _opaque: [u8; 0],
}

/// Opaque data of a layout implementation.
pub struct aml_layout_data {
    _opaque: [u8; 0],
}

/// A layout: its operations and its private data.
#[cfg(not(aml_h))]
#[repr(C)]
pub struct aml_layout {
    pub ops: *mut aml_layout_ops,
    pub data: *mut aml_layout_data,
}

/// Operations of a layout. This library calls only `rawptr`, `dims`, `ndims`
/// and `element_size`.
#[cfg(not(aml_h))]
#[repr(C)]
pub struct aml_layout_ops {
    pub deref: Option<unsafe extern "C" fn(data: *const aml_layout_data, coords: *const usize) -> *mut c_void>,
    pub deref_native:
        Option<unsafe extern "C" fn(data: *const aml_layout_data, coords: *const usize) -> *mut c_void>,
    pub rawptr: Option<unsafe extern "C" fn(data: *const aml_layout_data) -> *mut c_void>,
    pub order: Option<unsafe extern "C" fn(data: *const aml_layout_data) -> c_int>,
    pub dims: Option<unsafe extern "C" fn(data: *const aml_layout_data, dims: *mut usize) -> c_int>,
    pub dims_native: Option<unsafe extern "C" fn(data: *const aml_layout_data, dims: *mut usize) -> c_int>,
    pub ndims: Option<unsafe extern "C" fn(data: *const aml_layout_data) -> usize>,
    pub element_size: Option<unsafe extern "C" fn(data: *const aml_layout_data) -> usize>,
    pub reshape: Option<
        unsafe extern "C" fn(
            data: *const aml_layout_data,
            output: *mut *mut aml_layout,
            ndims: usize,
            dims: *const usize,
        ) -> c_int,
    >,
    pub slice: Option<
        unsafe extern "C" fn(
            data: *const aml_layout_data,
            output: *mut *mut aml_layout,
            offsets: *const usize,
            dims: *const usize,
            strides: *const usize,
        ) -> c_int,
    >,
    pub slice_native: Option<
        unsafe extern "C" fn(
            data: *const aml_layout_data,
            output: *mut *mut aml_layout,
            offsets: *const usize,
            dims: *const usize,
            strides: *const usize,
        ) -> c_int,
    >,
    pub fprintf: Option<
        unsafe extern "C" fn(data: *const aml_layout_data, stream: *mut libc::FILE, prefix: *const c_char) -> c_int,
    >,
    pub duplicate:
        Option<unsafe extern "C" fn(layout: *const aml_layout, out: *mut *mut aml_layout, ptr: *mut c_void) -> c_int>,
    pub destroy: Option<unsafe extern "C" fn(layout: *mut aml_layout)>,
}

/// A dma operator: moves `src` into `dst`. Under this library `arg` is a
/// `struct aml_dma_ze_copy_args *` valid for the duration of the call.
#[cfg(not(aml_h))]
pub type aml_dma_operator =
    Option<unsafe extern "C" fn(dst: *mut aml_layout, src: *const aml_layout, arg: *mut c_void) -> c_int>;

/// Operations of a dma implementation.
#[cfg(not(aml_h))]
#[repr(C)]
pub struct aml_dma_ops {
    pub create_request: Option<
        unsafe extern "C" fn(
            dma: *mut aml_dma_data,
            req: *mut *mut aml_dma_request,
            dest: *mut aml_layout,
            src: *mut aml_layout,
            op: aml_dma_operator,
            op_arg: *mut c_void,
        ) -> c_int,
    >,
    pub destroy_request: Option<unsafe extern "C" fn(dma: *mut aml_dma_data, req: *mut *mut aml_dma_request) -> c_int>,
    pub wait_request: Option<unsafe extern "C" fn(dma: *mut aml_dma_data, req: *mut *mut aml_dma_request) -> c_int>,
    pub barrier: Option<unsafe extern "C" fn(dma: *mut aml_dma_data) -> c_int>,
    pub fprintf: Option<
        unsafe extern "C" fn(data: *const aml_dma_data, stream: *mut libc::FILE, prefix: *const c_char) -> c_int,
    >,
}

/// A dma: its operations and its private data.
#[cfg(not(aml_h))]
#[repr(C)]
pub struct aml_dma {
    pub ops: *mut aml_dma_ops,
    pub data: *mut aml_dma_data,
}

/// Data structure of aml ze dma data. `dma->data` of a dma made by
/// `aml_dma_ze_create` points to one of these.
#[repr(C)]
pub struct aml_dma_ze_data {
    /// Logical context of this dma.
    pub context: ze_context_handle_t,
    /// Target device of this dma.
    pub device: ze_device_handle_t,
    /// Immediate command list of this dma.
    pub command_list: ze_command_list_handle_t,
    /// Synchronization scope for events (HOST|SUBDEVICE on a subdevice, else HOST|DEVICE).
    pub event_flags: ze_event_scope_flags_t,
    /// Always an initialised mutex: it serialises appends to `command_list`,
    /// and a custom `aml_dma_operator` runs while it is held.
    pub lock: libc::pthread_mutex_t,
}

/// aml ze request structure.
#[repr(C)]
pub struct aml_dma_ze_request {
    /// Event signalled when the request's work completes (NULL for a fire-and-forget request).
    pub event: ze_event_handle_t,
    /// Event pool the event belongs to (NULL for a fire-and-forget request).
    pub pool: ze_event_pool_handle_t,
    /// `AML_DMA_ZE_REQUEST_FLAGS_PENDING`, then `AML_DMA_ZE_REQUEST_FLAGS_DONE`
    /// once completion has been observed.
    pub flags: c_int,
}

/// Structure passed as `arg` to an `aml_dma_operator` by
/// `aml_dma_ze_request_create`. Valid only for the duration of the operator call.
/// `ze_req` is never NULL: for a request created with a NULL `req`, it points to
/// a request whose `event` and `pool` are NULL.
#[repr(C)]
pub struct aml_dma_ze_copy_args {
    /// The dma's data (command list, device, context).
    pub ze_data: *mut aml_dma_ze_data,
    /// The request being created.
    pub ze_req: *mut aml_dma_ze_request,
    /// The `op_arg` given to `aml_dma_ze_request_create`.
    pub arg: *mut c_void,
}

// The layouts are the ABI: a mismatch must stop the build, not corrupt memory.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<aml_dma_ze_data>() == 72 && align_of::<aml_dma_ze_data>() == 8);
    assert!(offset_of!(aml_dma_ze_data, context) == 0);
    assert!(offset_of!(aml_dma_ze_data, device) == 8);
    assert!(offset_of!(aml_dma_ze_data, command_list) == 16);
    assert!(offset_of!(aml_dma_ze_data, event_flags) == 24);
    assert!(offset_of!(aml_dma_ze_data, lock) == 32);
    assert!(size_of::<libc::pthread_mutex_t>() == 40);
    assert!(size_of::<aml_dma_ze_request>() == 24);
    assert!(offset_of!(aml_dma_ze_request, event) == 0);
    assert!(offset_of!(aml_dma_ze_request, pool) == 8);
    assert!(offset_of!(aml_dma_ze_request, flags) == 16);
    assert!(size_of::<aml_dma_ze_copy_args>() == 24);
    assert!(offset_of!(aml_dma_ze_copy_args, ze_data) == 0);
    assert!(offset_of!(aml_dma_ze_copy_args, ze_req) == 8);
    assert!(offset_of!(aml_dma_ze_copy_args, arg) == 16);
    assert!(size_of::<aml_dma>() == 16);
    assert!(offset_of!(aml_dma, ops) == 0 && offset_of!(aml_dma, data) == 8);
    assert!(size_of::<aml_dma_ops>() == 40);
    assert!(offset_of!(aml_dma_ops, create_request) == 0);
    assert!(offset_of!(aml_dma_ops, destroy_request) == 8);
    assert!(offset_of!(aml_dma_ops, wait_request) == 16);
    assert!(offset_of!(aml_dma_ops, barrier) == 24);
    assert!(offset_of!(aml_dma_ops, fprintf) == 32);
    assert!(size_of::<aml_layout>() == 16);
    assert!(offset_of!(aml_layout, ops) == 0 && offset_of!(aml_layout, data) == 8);
    assert!(size_of::<aml_layout_ops>() == 112);
    assert!(offset_of!(aml_layout_ops, rawptr) == 16);
    assert!(offset_of!(aml_layout_ops, dims) == 32);
    assert!(offset_of!(aml_layout_ops, ndims) == 48);
    assert!(offset_of!(aml_layout_ops, element_size) == 56);
    assert!(offset_of!(aml_layout_ops, fprintf) == 88);
    assert!(offset_of!(aml_layout_ops, destroy) == 104);
};
