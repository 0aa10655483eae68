//! The operator of a request: `aml_dma_ze_memcpy_op` run in place, the
//! library's own layout operators, or any other C operator.

use std::ffi::{c_int, c_void};

use crate::abi::aml_layout;

/// A C-callable dma operator.
pub type Operator = unsafe extern "C" fn(*mut aml_layout, *const aml_layout, *mut c_void) -> c_int;

/// The operator of a request create.
#[derive(Clone, Copy)]
pub enum Op {
    /// `aml_dma_ze_memcpy_op`, run in place.
    Memcpy,
    /// Any other operator, called with the copy args. `builtin` names ours,
    /// which append nothing when they fail.
    Call { op: Operator, builtin: Option<Builtin> },
}

/// The library's own layout operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Copy1D,
    CopyNd,
}

impl Op {
    pub fn is_builtin(self) -> bool {
        match self {
            Op::Memcpy => true,
            Op::Call { builtin, .. } => builtin.is_some(),
        }
    }
}
