//! The library's own operators, `aml_dma_ze_copy_1D`, `aml_dma_ze_copy_nd`
//! and `aml_dma_ze_memcpy_op`, when C calls them itself (a request made with
//! them by name never calls them: `engine` appends their plan, `footprint`'s):
//! each finds its dma from the copy arguments, plans as `footprint` does and
//! appends on the dma's first list, under the append lock request create
//! holds.

use std::ffi::c_void;

use crate::abi::*;
use crate::copy_nd;
use crate::diag::refuse;
use crate::engine::DmaBlock;
use crate::error::AmlError;
use crate::footprint;
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
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target("aml_dma_ze_copy_1D", args) }?;
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let copy = unsafe { footprint::copy_1d(dst, src) }?;
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
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target("aml_dma_ze_copy_nd", args) }?;
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let plan = unsafe { footprint::copy_nd(dst, src) }?;
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
