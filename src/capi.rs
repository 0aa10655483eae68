//! The C boundary: every exported item of the library. Each entry checks its
//! pointers, runs its body inside `catch_unwind` (a panic returns
//! `-AML_FAILURE`, never unwinds into C) and returns 0 or a negated AML code.
//!
//! The entry points are written for C callers, for whom every call is unsafe
//! anyway; they are not marked `unsafe` so the ops table and Rust tests can
//! name them plainly. Each checks every pointer it can (NULL, tags).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use ze_sys::ze_device_handle_t;

use crate::abi::*;
use crate::default_dma;
use crate::diag::refuse;
use crate::engine::DmaBlock;
use crate::lifecycle;
use crate::operators;
use crate::operator::{Op, Operator};
use crate::error::AmlError;

/// Default dma ops used at dma creation.
#[no_mangle]
pub static mut aml_dma_ze_ops: aml_dma_ops = aml_dma_ops {
    create_request: Some(aml_dma_ze_request_create),
    destroy_request: Some(aml_dma_ze_request_destroy),
    wait_request: Some(aml_dma_ze_request_wait),
    barrier: Some(aml_dma_ze_barrier),
    fprintf: Some(aml_dma_ze_fprintf),
};

/// Dma using first device of first driver. Set by libaml's initialisation
/// when libaml is present, or by `aml_dma_ze_default_setup()` without it.
#[no_mangle]
pub static mut aml_dma_ze_default: *mut aml_dma = ptr::null_mut();

/// The address the dynamic linker resolves for `name` (a copy-relocated copy
/// in a PIE program that names it), else our own definition.
fn resolved_address(name: &'static CStr, ours: usize, cache: &'static OnceLock<usize>) -> usize {
    *cache.get_or_init(|| {
        // SAFETY: looking up a NUL-terminated symbol name in the global scope.
        let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        if found.is_null() {
            ours
        } else {
            found as usize
        }
    })
}

fn exported_ops() -> *mut aml_dma_ops {
    static CACHE: OnceLock<usize> = OnceLock::new();
    resolved_address(c"aml_dma_ze_ops", ptr::addr_of_mut!(aml_dma_ze_ops) as usize, &CACHE) as *mut aml_dma_ops
}

fn exported_default() -> *mut *mut aml_dma {
    static CACHE: OnceLock<usize> = OnceLock::new();
    resolved_address(c"aml_dma_ze_default", ptr::addr_of_mut!(aml_dma_ze_default) as usize, &CACHE) as *mut *mut aml_dma
}

/// The live dma behind `data`, or -AML_EINVAL traced as `function`'s.
///
/// # Safety
/// As `DmaBlock::from_data`.
unsafe fn live_dma<'a>(function: &str, data: *const aml_dma_data) -> Result<&'a DmaBlock, AmlError> {
    // SAFETY: forwarded contract; `from_data` rejects NULL and checks the tag.
    unsafe { DmaBlock::from_data(data) }.map_err(|error| {
        if data.is_null() {
            refuse!(error, function, "data is NULL: pass dma->data of a dma made by aml_dma_ze_create")
        } else {
            refuse!(error, function, "data {data:p}: not the data of a live dma (destroyed already, or not made by aml_dma_ze_create)")
        }
    })
}

/// The live dma behind a `struct aml_dma *`, or -AML_EINVAL traced as `function`'s.
///
/// # Safety
/// As `lifecycle::from_dma`.
unsafe fn live_dma_handle<'a>(function: &str, dma: *mut aml_dma) -> Result<&'a DmaBlock, AmlError> {
    // SAFETY: forwarded contract; `from_dma` rejects NULL and checks the tag.
    unsafe { lifecycle::from_dma(dma) }.map_err(|error| {
        if dma.is_null() {
            refuse!(error, function, "dma is NULL: pass a dma made by aml_dma_ze_create")
        } else {
            refuse!(error, function, "dma {dma:p}: not a live dma (destroyed already, or not made by aml_dma_ze_create)")
        }
    })
}

/// Runs `body` behind the panic boundary and turns its outcome into a C code.
fn boundary(body: impl FnOnce() -> Result<(), AmlError>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => AML_SUCCESS,
        Ok(Err(AmlError(code))) => code,
        Err(_) => -AML_FAILURE,
    }
}

/// Creation of a dma engine for ze backend. This dma engine can only perform
/// continuous and contiguous copies. The underlying immediate command list
/// uses ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS
/// and ZE_COMMAND_QUEUE_PRIORITY_NORMAL on queue group `ordinal`, queue `index`.
///
/// `index` -1 (an extension) spreads the dma over every copy engine of the
/// device: every queue of the group, then every queue of every other
/// copy-only group (on Intel's Data Center GPU Max, ordinal 1's main copy
/// engine with ordinal 2's link copy engines); `AML_DMA_ZE_QUEUES=all|N`
/// does the same (at most N queues) for any index, the queue asked for first.
///
/// Ordering, for one queue and for several alike: of two requests made on one
/// dma, the later (by the return of request_create, from any thread) takes
/// effect as if the earlier had completed first whenever it reads bytes the
/// earlier writes, writes bytes the earlier reads, or writes bytes the earlier
/// writes. Requests that share no byte may run in any order or at once. A
/// custom operator is taken to touch every byte. A barrier returns once every
/// request made before it has completed. A failed request's destination bytes
/// are unspecified; requests made after it still follow it.
///
/// Returns AML_SUCCESS and sets `*dma`; -AML_EINVAL for a NULL `dma`, a NULL or
/// unknown device, or an ordinal/index out of range; -AML_ENOTSUP when Level
/// Zero cannot be loaded or initialised; another negated AML code translated
/// from a failing `ze_result_t`. Nothing is leaked on failure.
#[no_mangle]
pub extern "C" fn aml_dma_ze_create(dma: *mut *mut aml_dma, device: ze_device_handle_t, ordinal: c_int, index: c_int) -> c_int {
    boundary(|| {
        if dma.is_null() {
            return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_create", "dma is NULL: no place to store the new dma"));
        }
        let created = lifecycle::create(device, ordinal, index, exported_ops())?;
        // SAFETY: non-NULL out-pointer supplied by the caller.
        unsafe { *dma = created };
        Ok(())
    })
}

/// Destroy a created dma and set it to NULL. Waits for all outstanding work
/// first. `*dma == NULL` → AML_SUCCESS; NULL `dma` → -AML_EINVAL.
/// Requests not yet waited for or destroyed must not be used afterwards.
#[no_mangle]
pub extern "C" fn aml_dma_ze_destroy(dma: *mut *mut aml_dma) -> c_int {
    boundary(|| {
        if dma.is_null() {
            return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_destroy", "dma is NULL (a NULL *dma is fine: nothing to destroy)"));
        }
        // SAFETY: non-NULL pointer supplied by the caller.
        let target = unsafe { *dma };
        if target.is_null() {
            return Ok(());
        }
        // SAFETY: `claim` checks the dma's tag before using it.
        let block = unsafe { lifecycle::claim(target) }.map_err(|error| {
            refuse!(error, "aml_dma_ze_destroy", "*dma {target:p}: not a live dma (destroyed already, or not made by aml_dma_ze_create)")
        })?;
        // SAFETY: as above.
        unsafe { *dma = ptr::null_mut() };
        lifecycle::destroy(block)
    })
}

/// AML dma ze barrier operator: on success, every copy submitted before it
/// has completed (including fire-and-forget ones).
#[no_mangle]
pub extern "C" fn aml_dma_ze_barrier(data: *mut aml_dma_data) -> c_int {
    boundary(|| {
        // SAFETY: `from_data` rejects NULL and checks the tag.
        let dma = unsafe { live_dma("aml_dma_ze_barrier", data) }?;
        dma.barrier()
    })
}

/// AML dma ze request creation operator. `op == NULL` means
/// `aml_dma_ze_copy_nd` (which accepts every pair `aml_dma_ze_copy_1D` does);
/// `op` runs under the dma's lock with a
/// `struct aml_dma_ze_copy_args *` as its `arg`, whose `arg` is `op_arg`.
/// `req == NULL` submits without a request: completion is then observed only
/// through `aml_dma_ze_barrier`. An operator's positive return code is negated.
#[no_mangle]
pub extern "C" fn aml_dma_ze_request_create(
    data: *mut aml_dma_data,
    req: *mut *mut aml_dma_request,
    dest: *mut aml_layout,
    src: *mut aml_layout,
    op: aml_dma_operator,
    op_arg: *mut c_void,
) -> c_int {
    boundary(|| {
        // SAFETY: `from_data` rejects NULL and checks the tag.
        let dma = unsafe { live_dma("aml_dma_ze_request_create", data) }?;
        let op = match op {
            None => Op::CopyNd,
            Some(op) if ptr::fn_addr_eq(op, aml_dma_ze_memcpy_op as Operator) => Op::Memcpy,
            Some(op) if ptr::fn_addr_eq(op, aml_dma_ze_copy_nd as Operator) => Op::CopyNd,
            Some(op) if ptr::fn_addr_eq(op, aml_dma_ze_copy_1D as Operator) => Op::Copy1D,
            Some(op) => Op::Custom(op),
        };
        if matches!(op, Op::Memcpy) && (dest.is_null() || src.is_null()) {
            let side = if dest.is_null() { "dest" } else { "src" };
            return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_request_create", "{side} is NULL: aml_dma_ze_memcpy_op copies between two pointers"));
        }
        // SAFETY: the operator's arguments are the caller's, passed through.
        let request = unsafe { dma.request_create(!req.is_null(), dest, src, op, op_arg) }?;
        if !req.is_null() {
            // SAFETY: non-NULL out-pointer supplied by the caller.
            unsafe { *req = request };
        }
        Ok(())
    })
}

/// AML dma ze request wait operator: blocks until the request completes, then
/// frees it and sets `*req` to NULL (also when synchronization fails).
#[no_mangle]
pub extern "C" fn aml_dma_ze_request_wait(data: *mut aml_dma_data, req: *mut *mut aml_dma_request) -> c_int {
    boundary(|| {
        // SAFETY: `from_data` rejects NULL and checks the tag.
        let dma = unsafe { live_dma("aml_dma_ze_request_wait", data) }?;
        if req.is_null() {
            return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_request_wait", "req is NULL"));
        }
        // SAFETY: checked non-NULL before reading.
        if unsafe { (*req).is_null() } {
            return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_request_wait", "*req is NULL: no request (one made without a handle is waited for by aml_dma_ze_barrier)"));
        }
        // SAFETY: checked non-NULL above.
        let target = unsafe { *req };
        // SAFETY: `claim_request` checks the request's tag and owner.
        let request = unsafe { dma.claim_request(target) }.map_err(|error| {
            refuse!(error, "aml_dma_ze_request_wait", "*req {target:p}: not a live request of this dma (waited for or destroyed already, or another dma's)")
        })?;
        // SAFETY: non-NULL out-pointer; the request is ours now.
        unsafe { *req = ptr::null_mut() };
        dma.request_wait(request)
    })
}

/// AML dma ze request deletion operator: frees the request without waiting
/// and sets `*req` to NULL. If its copy may still be running, its event is
/// retired (never reused before completion is observed). NULL `req` or
/// `*req` → AML_SUCCESS.
#[no_mangle]
pub extern "C" fn aml_dma_ze_request_destroy(data: *mut aml_dma_data, req: *mut *mut aml_dma_request) -> c_int {
    boundary(|| {
        // SAFETY: checked non-NULL before reading.
        if req.is_null() || unsafe { (*req).is_null() } {
            return Ok(());
        }
        // SAFETY: `from_data` rejects NULL and checks the tag.
        let dma = unsafe { live_dma("aml_dma_ze_request_destroy", data) }?;
        // SAFETY: checked non-NULL above.
        let target = unsafe { *req };
        // SAFETY: `claim_request` checks the request's tag and owner.
        let request = unsafe { dma.claim_request(target) }.map_err(|error| {
            refuse!(error, "aml_dma_ze_request_destroy", "*req {target:p}: not a live request of this dma (waited for or destroyed already, or another dma's)")
        })?;
        // SAFETY: non-NULL out-pointer; the request is ours now.
        unsafe { *req = ptr::null_mut() };
        dma.request_destroy(request)
    })
}

/// Level Zero DMA operator: flat copy between two 1-D layouts of contiguous
/// elements; the size is dims × element size, read through each layout's own
/// ops. -AML_EINVAL if a layout is NULL, not 1-D, or the sizes differ. Use
/// only with `aml_dma_ze_request_create` (`arg` is its copy args).
///
/// # Safety
/// Non-NULL layouts must be valid layouts whose buffers span their sizes;
/// `arg` must be NULL or the copy args of a live request create call.
#[no_mangle]
pub unsafe extern "C" fn aml_dma_ze_copy_1D(dst: *mut aml_layout, src: *const aml_layout, arg: *mut c_void) -> c_int {
    // SAFETY: validated inside (NULL args and layouts, the dma's tag).
    boundary(|| unsafe { operators::copy_1d(dst, src, arg as *const aml_dma_ze_copy_args) })
}

/// Level Zero DMA operator: copy between two layouts of the same element size
/// and the same dims (in each layout's own order, that of its `dims` op), of
/// any number of dimensions, strides and pitches, in as few commands as the
/// geometry allows. Dimensions contiguous in both layouts merge; the innermost
/// contiguous run is the width of a `zeCommandListAppendMemoryCopyRegion`, the
/// next two dimensions its height and depth; further dimensions loop, one
/// region each, and the request's event is signalled once, by a barrier after
/// the last. A 1-D contiguous pair is one `zeCommandListAppendMemoryCopy`.
///
/// A layout is dense exactly when its ops are libaml's `aml_layout_row_ops` or
/// `aml_layout_column_ops` (found in the process at run time); it is then read
/// as `struct aml_layout_dense`. A layout of another kind is read through its
/// ops as 1-D contiguous; two such layouts need only equal byte sizes, as for
/// `aml_dma_ze_copy_1D`.
///
/// Returns -AML_EINVAL for a NULL layout or `arg`, or differing shapes or
/// element sizes; -AML_ENOTSUP for a layout of another kind that is not 1-D;
/// -AML_EDOM when a destination byte would be written twice or is also read.
/// Nothing is appended on these errors. Use only with
/// `aml_dma_ze_request_create` (`arg` is its copy args).
///
/// # Safety
/// Non-NULL layouts must be valid layouts whose buffers span what they
/// describe; `arg` must be NULL or the copy args of a live request create call.
#[no_mangle]
pub unsafe extern "C" fn aml_dma_ze_copy_nd(dst: *mut aml_layout, src: *const aml_layout, arg: *mut c_void) -> c_int {
    // SAFETY: validated inside (NULL args and layouts, the dma's tag).
    boundary(|| unsafe { operators::copy_nd(dst, src, arg as *const aml_dma_ze_copy_args) })
}

/// Level Zero DMA operator: `dst` and `src` are raw pointers cast to layouts,
/// `args->arg` is the byte count (size_t cast to void *). Use only with
/// `aml_dma_ze_request_create`.
///
/// # Safety
/// `dst` and `src` must span the size; `arg` must be NULL or the copy args
/// of a live request create call.
#[no_mangle]
pub unsafe extern "C" fn aml_dma_ze_memcpy_op(dst: *mut aml_layout, src: *const aml_layout, arg: *mut c_void) -> c_int {
    // SAFETY: validated inside (NULL args, the dma's tag); the pointers are the caller's.
    boundary(|| unsafe { operators::memcpy(dst.cast(), src.cast(), arg as *const aml_dma_ze_copy_args) })
}

/// Prepares the host range `[ptr, ptr + size)` for copies by `dma` and every
/// other dma of its Level Zero driver (an extension): `malloc`'d memory is
/// imported into the driver (Intel's `zexDriverImportExternalPointer`), which
/// then copies it as it copies its own host allocations, at the link's rate,
/// instead of pinning it for each copy. Worth it for a buffer copied more than
/// once: the import costs less than one unprepared copy of the range.
///
/// Succeeds without work when the driver knows the memory already (USM from
/// `zeMemAlloc*`) and when the driver has no host-pointer import
/// (`aml_dma_ze_host_imports` tells which). The range belongs to `dma`:
/// release it with `aml_dma_ze_host_release` on the same dma before freeing
/// the memory (freeing it first is the caller's error, as in SYCL);
/// `aml_dma_ze_destroy` releases the ranges `dma` still has. Thread-safe.
///
/// Returns AML_SUCCESS; -AML_EINVAL for a NULL or foreign `dma`, a NULL `ptr`,
/// `size` 0, or a range that overlaps one prepared already (through any dma);
/// another negated AML code when the driver's import fails.
#[no_mangle]
pub extern "C" fn aml_dma_ze_host_prepare(dma: *mut aml_dma, ptr: *mut c_void, size: usize) -> c_int {
    boundary(|| {
        // SAFETY: `live_dma_handle` rejects NULL and checks the tag.
        let dma = unsafe { live_dma_handle("aml_dma_ze_host_prepare", dma) }?;
        dma.host_prepare(ptr, size)
    })
}

/// Releases a range prepared by `aml_dma_ze_host_prepare` on the same `dma`;
/// `ptr` is the start it was prepared with. The driver lets copies already
/// requested on the range finish before it forgets the range. Thread-safe.
///
/// Returns AML_SUCCESS; -AML_EINVAL for a NULL or foreign `dma`, or a `ptr`
/// that is not the start of a range this dma prepared (never prepared,
/// released already, or prepared through another dma); another negated AML
/// code when the driver's release fails (the range is released all the same).
#[no_mangle]
pub extern "C" fn aml_dma_ze_host_release(dma: *mut aml_dma, ptr: *mut c_void) -> c_int {
    boundary(|| {
        // SAFETY: `live_dma_handle` rejects NULL and checks the tag.
        let dma = unsafe { live_dma_handle("aml_dma_ze_host_release", dma) }?;
        dma.host_release(ptr)
    })
}

/// Whether `aml_dma_ze_host_prepare` imports `malloc`'d memory on `dma`'s
/// driver: 1 if the driver offers Intel's host-pointer import
/// (`ZEX_driver_import_host_pointer`), 0 if not (prepare and release then
/// only record ranges); -AML_EINVAL for a NULL or foreign `dma`.
#[no_mangle]
pub extern "C" fn aml_dma_ze_host_imports(dma: *mut aml_dma) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `live_dma_handle` rejects NULL and checks the tag.
        match unsafe { live_dma_handle("aml_dma_ze_host_imports", dma) } {
            Ok(dma) => c_int::from(dma.host_imports()),
            Err(AmlError(code)) => code,
        }
    }))
    .unwrap_or(-AML_FAILURE)
}

unsafe extern "C" fn aml_dma_ze_fprintf(data: *const aml_dma_data, stream: *mut libc::FILE, prefix: *const c_char) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if stream.is_null() {
            return refuse!(-AML_EINVAL, "aml_dma_ze_fprintf", "stream is NULL");
        }
        // SAFETY: `from_data` rejects NULL and checks the tag.
        match unsafe { live_dma("aml_dma_ze_fprintf", data) } {
            // SAFETY: non-NULL stream; prefix NULL or a C string.
            Ok(dma) => unsafe { dma.fprintf(stream, prefix) },
            Err(AmlError(code)) => code,
        }
    }))
    .unwrap_or(-AML_FAILURE)
}

/// Standalone use (no libaml): sets `aml_dma_ze_default` to a dma on the
/// first device of the first driver (queue ordinal 0, index 0), unless it is
/// already set. Idempotent and thread-safe. Under libaml, do not call it:
/// `aml_init()` sets the variable.
#[no_mangle]
pub extern "C" fn aml_dma_ze_default_setup() -> c_int {
    // SAFETY: the variable the dynamic linker resolved for the symbol.
    boundary(|| unsafe { default_dma::setup(exported_default(), exported_ops()) })
}

/// Destroys the dma made by `aml_dma_ze_default_setup` and sets
/// `aml_dma_ze_default` back to NULL. Does nothing if setup made none.
#[no_mangle]
pub extern "C" fn aml_dma_ze_default_teardown() -> c_int {
    // SAFETY: the variable the dynamic linker resolved for the symbol.
    boundary(|| unsafe { default_dma::teardown(exported_default()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_boundary_becomes_aml_failure() {
        assert_eq!(boundary(|| panic!("deliberate panic, caught at the C boundary")), -AML_FAILURE);
        assert_eq!(boundary(|| Err(AmlError::EINVAL)), -AML_EINVAL);
        assert_eq!(boundary(|| Ok(())), AML_SUCCESS);
    }

    #[test]
    fn the_ops_table_holds_the_exported_functions() {
        // SAFETY: reading a static that is only written by C programs, never here.
        let ops = unsafe { &*ptr::addr_of!(aml_dma_ze_ops) };
        assert!(ops.create_request.is_some_and(|f| ptr::fn_addr_eq(f, aml_dma_ze_request_create as unsafe extern "C" fn(_, _, _, _, _, _) -> _)));
        assert!(ops.wait_request.is_some_and(|f| ptr::fn_addr_eq(f, aml_dma_ze_request_wait as unsafe extern "C" fn(_, _) -> _)));
        assert!(ops.destroy_request.is_some_and(|f| ptr::fn_addr_eq(f, aml_dma_ze_request_destroy as unsafe extern "C" fn(_, _) -> _)));
        assert!(ops.barrier.is_some_and(|f| ptr::fn_addr_eq(f, aml_dma_ze_barrier as unsafe extern "C" fn(_) -> _)));
        assert!(ops.fprintf.is_some());
    }
}
