//! The library's own operators, `aml_dma_ze_copy_1D`, `aml_dma_ze_copy_nd`
//! and `aml_dma_ze_memcpy_op`, when C calls them (a request made with them
//! by name is appended in place by `engine`): each finds its dma from the
//! copy arguments and appends on its first list, under the append lock
//! request create holds.

use std::ffi::c_void;

use crate::abi::*;
use crate::copy_nd;
use crate::diag::refuse;
use crate::engine::DmaBlock;
use crate::error::AmlError;
use crate::layout::{read_flat, read_view};
use crate::level_zero::{Appender, Copy, Event};

/// The dma an operator was called for and the event its copy signals (none
/// for a request made without a handle), from its copy arguments.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call.
unsafe fn operator_target<'a>(
    function: &str,
    args: *const aml_dma_ze_copy_args,
) -> Result<(&'a DmaBlock, Option<Event>), AmlError> {
    if args.is_null() {
        return Err(refuse!(AmlError::EINVAL, function, "arg is NULL: an operator is called by aml_dma_ze_request_create"));
    }
    // SAFETY: non-NULL copy args by contract.
    let (ze_data, ze_req) = unsafe { ((*args).ze_data, (*args).ze_req) };
    // SAFETY: `from_ze_data` checks the tag of what it is given.
    let block = unsafe { DmaBlock::from_ze_data(ze_data) }.map_err(|error| {
        refuse!(error, function, "arg {args:p}: not the copy arguments of a live dma's request (call it through aml_dma_ze_request_create)")
    })?;
    // SAFETY: ze_req is NULL or a live request of the dma, whose event is
    // NULL or one of the dma's, alive as long as it.
    let event = if ze_req.is_null() { None } else { unsafe { Event::from_raw((*ze_req).event) } };
    Ok((block, event))
}

/// The dma's first list, to append to from an operator.
///
/// # Safety
/// The caller runs inside the dma's request create, which holds its append lock.
unsafe fn first_list(block: &DmaBlock) -> Appender<'_> {
    // SAFETY: the caller's contract: the append lock is held for the operator's run.
    unsafe { block.first.appender_under_lock() }
}

/// `aml_dma_ze_copy_1D`: flat copy between two 1-D layouts of equal byte size.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call.
pub unsafe fn copy_1d(dst: *const aml_layout, src: *const aml_layout, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    const COPY_1D: &str = "aml_dma_ze_copy_1D";
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target(COPY_1D, args) }?;
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst_flat = unsafe { read_flat(dst) }
        .inspect_err(|_| crate::diag::tell(COPY_1D, format_args!("dst {dst:p}: NULL, without the ops it needs, or not 1-D")))?;
    // SAFETY: as above.
    let src_flat = unsafe { read_flat(src) }
        .inspect_err(|_| crate::diag::tell(COPY_1D, format_args!("src {src:p}: NULL, without the ops it needs, or not 1-D")))?;
    let (dst, src) = (dst_flat, src_flat);
    if dst.bytes != src.bytes {
        return Err(refuse!(AmlError::EINVAL, COPY_1D, "dst holds {} bytes, src {}: the sizes differ", dst.bytes, src.bytes));
    }
    // SAFETY: the layouts describe `bytes` bytes each.
    let copy = unsafe { Copy::new(dst.raw.cast(), src.raw.cast(), dst.bytes) };
    // SAFETY: request create holds the append lock.
    unsafe { first_list(block) }.copy(&copy, event, &[])?;
    Ok(())
}

/// `aml_dma_ze_copy_nd`: plans, then appends every piece on `command_list`;
/// the request's event is signalled by the only piece, or by a barrier after several.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call;
/// non-NULL layouts must be valid and span what they describe.
pub unsafe fn copy_nd(dst: *const aml_layout, src: *const aml_layout, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    const COPY_ND: &str = "aml_dma_ze_copy_nd";
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target(COPY_ND, args) }?;
    let unreadable = |side: &str, layout: *const aml_layout, error: AmlError| match error {
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "{side} {layout:p}: a layout that is neither AML's dense one nor 1-D"),
        _ => refuse!(error, COPY_ND, "{side} {layout:p}: NULL, or a layout that cannot be read"),
    };
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst_view = unsafe { read_view(dst) }.map_err(|error| unreadable("dst", dst, error))?;
    // SAFETY: as above.
    let src_view = unsafe { read_view(src) }.map_err(|error| unreadable("src", src, error))?;
    let (dst, src) = (dst_view, src_view);
    let plan = copy_nd::plan(&dst, &src).map_err(|error| match error {
        AmlError::EDOM => refuse!(error, COPY_ND, "a byte of dst would be written twice, or is also read from src"),
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "a layout of another kind that is not 1-D"),
        _ => refuse!(error, COPY_ND, "dst and src differ in element size, number of dimensions or dims"),
    })?;
    // SAFETY: request create holds the append lock; the layouts span every piece.
    unsafe { copy_nd::append(&first_list(block), &plan, event) }
}

/// `aml_dma_ze_memcpy_op`: `dst` and `src` are raw pointers, `args->arg` the size.
///
/// # Safety
/// As `copy_1d`; `dst` and `src` must span the size.
pub unsafe fn memcpy(dst: *mut c_void, src: *const c_void, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target("aml_dma_ze_memcpy_op", args) }?;
    // SAFETY: non-NULL (checked above) copy args by contract.
    let size = unsafe { (*args).arg } as usize;
    // SAFETY: the caller's pointers span `size` bytes.
    let copy = unsafe { Copy::new(dst.cast(), src.cast(), size) };
    // SAFETY: request create holds the append lock.
    unsafe { first_list(block) }.copy(&copy, event, &[])?;
    Ok(())
}
