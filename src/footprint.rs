//! A request planned before anything is taken or appended: a builtin
//! operator's copies are read from its arguments (and refused here, with
//! the operator's own messages); a custom operator's are unknown. What it
//! reads and writes is what a dma over several queues orders it by.

use std::ffi::c_void;

use crate::abi::aml_layout;
use crate::copy_nd;
use crate::dependencies::{Access, Span};
use crate::error::AmlError;
use crate::layout::{read_flat, read_view};
use crate::diag::{refuse, tell};
use crate::operator::{Op, Operator};

/// One contiguous copy: `aml_dma_ze_memcpy_op`, `aml_dma_ze_copy_1D`, or
/// `aml_dma_ze_copy_nd` when its plan is one byte copy. Its pointers are
/// vouched for where it is made (`of`), so it is appended with no more ado.
pub use crate::level_zero::Copy;

impl Copy {
    pub fn access(&self) -> Access {
        Access { reads: Span::at(self.src() as usize, self.size()), writes: Span::at(self.dst() as usize, self.size()) }
    }
}

/// What a request does, planned before anything is appended: its copies,
/// or the custom operator it calls.
#[derive(Debug)]
pub enum Footprint {
    /// A contiguous copy, placed (and maybe split) over the lanes.
    Copy(Copy),
    /// A strided copy_nd: its pieces and the barrier joining them belong on
    /// one list (the first), and touch `plan`'s extents.
    Pieces(copy_nd::Plan),
    /// A custom operator: runs on the first list, after everything
    /// outstanding, and everything later follows it.
    Custom(Custom),
}

/// A custom operator's call, as request create was given it.
#[derive(Debug)]
pub struct Custom {
    pub op: Operator,
    pub dst: *mut aml_layout,
    pub src: *mut aml_layout,
    pub arg: *mut c_void,
}

impl Footprint {
    /// What it reads and writes; `None` (everything) for a custom operator.
    pub fn access(&self) -> Option<Access> {
        match self {
            Footprint::Copy(copy) => Some(copy.access()),
            Footprint::Pieces(plan) => {
                let (dst_len, src_len) = plan.extents();
                Some(Access { reads: Span::at(plan.src, src_len), writes: Span::at(plan.dst, dst_len) })
            }
            Footprint::Custom(_) => None,
        }
    }
}

/// The footprint of a request create's arguments. A builtin operator's
/// argument error is returned here, before anything is taken or appended.
///
/// # Safety
/// As `DmaBlock::request_create`: `dst`, `src` and `arg` are what `op` expects.
pub unsafe fn of(dst: *mut aml_layout, src: *mut aml_layout, op: Op, arg: *mut c_void) -> Result<Footprint, AmlError> {
    match op {
        // SAFETY: `aml_dma_ze_memcpy_op`'s pointers span `arg` bytes (the caller's contract).
        Op::Memcpy => Ok(Footprint::Copy(unsafe { Copy::new(dst.cast(), src.cast(), arg as usize) })),
        // SAFETY: layouts valid or NULL by the operator's contract.
        Op::Copy1D => Ok(Footprint::Copy(unsafe { copy_1d(dst, src) }?)),
        Op::CopyNd => {
            // SAFETY: as above.
            let plan = unsafe { copy_nd(dst, src) }?;
            Ok(match plan.as_one_copy() {
                // SAFETY: the plan's one copy lies in the layouts, valid by the operator's contract.
                Some((dst, src, size)) => Footprint::Copy(unsafe { Copy::new(dst as *mut u8, src as *const u8, size) }),
                None => Footprint::Pieces(plan),
            })
        }
        Op::Custom(op) => Ok(Footprint::Custom(Custom { op, dst, src, arg })),
    }
}

const COPY_1D: &str = "aml_dma_ze_copy_1D";
const COPY_ND: &str = "aml_dma_ze_copy_nd";

/// What `aml_dma_ze_copy_1D` copies: one contiguous copy between two 1-D
/// layouts of equal byte size.
///
/// # Safety
/// Non-NULL layouts must be valid and span what they describe.
#[cold]
pub unsafe fn copy_1d(dst: *const aml_layout, src: *const aml_layout) -> Result<Copy, AmlError> {
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst = unsafe { read_flat(dst) }
        .inspect_err(|_| tell(COPY_1D, format_args!("dst {dst:p}: NULL, without the ops it needs, or not 1-D")))?;
    // SAFETY: as above.
    let src = unsafe { read_flat(src) }
        .inspect_err(|_| tell(COPY_1D, format_args!("src {src:p}: NULL, without the ops it needs, or not 1-D")))?;
    if dst.bytes != src.bytes {
        return Err(refuse!(AmlError::EINVAL, COPY_1D, "dst holds {} bytes, src {}: the sizes differ", dst.bytes, src.bytes));
    }
    // SAFETY: both layouts span `bytes` bytes, valid by the operator's contract.
    Ok(unsafe { Copy::new(dst.raw.cast(), src.raw.cast(), dst.bytes) })
}

/// What `aml_dma_ze_copy_nd` copies: its plan of pieces.
///
/// # Safety
/// Non-NULL layouts must be valid and span what they describe.
#[cold]
pub unsafe fn copy_nd(dst: *const aml_layout, src: *const aml_layout) -> Result<copy_nd::Plan, AmlError> {
    let unreadable = |side: &str, layout: *const aml_layout, error: AmlError| match error {
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "{side} {layout:p}: a layout that is neither AML's dense one nor 1-D"),
        _ => refuse!(error, COPY_ND, "{side} {layout:p}: NULL, or a layout that cannot be read"),
    };
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst_view = unsafe { read_view(dst) }.map_err(|error| unreadable("dst", dst, error))?;
    // SAFETY: as above.
    let src_view = unsafe { read_view(src) }.map_err(|error| unreadable("src", src, error))?;
    copy_nd::plan(&dst_view, &src_view).map_err(|error| match error {
        AmlError::EDOM => refuse!(error, COPY_ND, "a byte of dst would be written twice, or is also read from src"),
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "a layout of another kind that is not 1-D"),
        _ => refuse!(error, COPY_ND, "dst and src differ in element size, number of dimensions or dims"),
    })
}
