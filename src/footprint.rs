//! What bytes a request reads and writes, as a dma over several queues needs
//! to know before it places the request: a builtin operator's copy is read
//! from its arguments as the operator itself would read them; a custom
//! operator's is unknown.

use std::ffi::c_void;

use crate::abi::aml_layout;
use crate::copy_nd;
use crate::dependencies::{Access, Span};
use crate::error::AmlError;
use crate::layout::{read_flat, read_view};
use crate::operator::{Builtin, Op};

/// One contiguous copy: `aml_dma_ze_memcpy_op`, `aml_dma_ze_copy_1D`, or
/// `aml_dma_ze_copy_nd` when its plan is one byte copy. Its pointers are
/// vouched for where it is made (`of`), so it is appended with no more ado.
pub use crate::level_zero::Copy;

impl Copy {
    pub fn access(&self) -> Access {
        Access { reads: Span::at(self.src() as usize, self.size()), writes: Span::at(self.dst() as usize, self.size()) }
    }
}

/// Where a request may go, by what it touches.
#[derive(Debug)]
pub enum Footprint {
    /// A contiguous copy, placed (and maybe split) over the lanes.
    Copy(Copy),
    /// A strided copy_nd, run by its operator on the first list (its
    /// regions and joining barrier belong on one list), touching `Access`.
    FirstList(Access),
    /// A custom operator: runs on the first list, after everything
    /// outstanding, and everything later follows it.
    Unknown,
}

/// The footprint of a request create's arguments. A builtin operator's
/// argument error is returned here, before anything is placed.
///
/// # Safety
/// As `DmaBlock::request_create`: `dst`, `src` and `arg` are what `op` expects.
#[inline]
pub unsafe fn of(dst: *mut aml_layout, src: *mut aml_layout, op: Op, arg: *mut c_void) -> Result<Footprint, AmlError> {
    match op {
        // SAFETY: `aml_dma_ze_memcpy_op`'s pointers span `arg` bytes (the caller's contract).
        Op::Memcpy => Ok(Footprint::Copy(unsafe { Copy::new(dst.cast(), src.cast(), arg as usize) })),
        Op::Call { builtin: Some(Builtin::CopyNd), .. } => {
            // SAFETY: layouts valid or NULL by the operator's contract.
            let (dst, src) = unsafe { (read_view(dst)?, read_view(src)?) };
            let plan = copy_nd::plan(&dst, &src)?;
            if let Some((dst, src, size)) = plan.as_one_copy() {
                // SAFETY: the plan's one copy lies in the layouts, valid by the operator's contract.
                return Ok(Footprint::Copy(unsafe { Copy::new(dst as *mut u8, src as *const u8, size) }));
            }
            let (dst_len, src_len) = plan.extents();
            Ok(Footprint::FirstList(Access { reads: Span::at(plan.src, src_len), writes: Span::at(plan.dst, dst_len) }))
        }
        Op::Call { builtin: Some(Builtin::Copy1D), .. } => {
            // SAFETY: layouts valid or NULL by the operator's contract.
            let (dst, src) = unsafe { (read_flat(dst)?, read_flat(src)?) };
            if dst.bytes != src.bytes {
                return Err(AmlError::EINVAL);
            }
            // SAFETY: both layouts span `bytes` bytes, valid by the operator's contract.
            Ok(Footprint::Copy(unsafe { Copy::new(dst.raw.cast(), src.raw.cast(), dst.bytes) }))
        }
        Op::Call { builtin: None, .. } => Ok(Footprint::Unknown),
    }
}
