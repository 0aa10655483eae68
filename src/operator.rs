//! The operator of a request: one of the library's own, run from its plan
//! without calling back through C, or any other C operator.

use std::ffi::{c_int, c_void};

use crate::abi::aml_layout;

/// A C-callable dma operator.
pub type Operator = unsafe extern "C" fn(*mut aml_layout, *const aml_layout, *mut c_void) -> c_int;

/// The operator of a request create.
#[derive(Clone, Copy)]
pub enum Op {
    /// `aml_dma_ze_memcpy_op`: `dst` and `src` are pointers, `arg` the size.
    Memcpy,
    /// `aml_dma_ze_copy_1D`: two 1-D layouts of one size.
    Copy1D,
    /// `aml_dma_ze_copy_nd` (also a NULL operator): two layouts of one shape.
    CopyNd,
    /// Any other operator, called with the copy arguments.
    Custom(Operator),
}
