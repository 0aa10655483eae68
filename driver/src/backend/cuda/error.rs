//! CUDA's failures, one type: the call that failed and CUDA's result, shown
//! as a reason at start and mapped, by the result's name, to the Level Zero
//! result the front returns.

use std::fmt;

use ze_sys::*;

use super::api::{CuResult, CUDA_ERROR_INVALID_VALUE, CUDA_ERROR_OUT_OF_MEMORY, CUDA_SUCCESS};

/// A CUDA call that failed, and what it returned.
#[derive(Clone, Copy, Debug)]
pub struct CudaError {
    pub call: &'static str,
    pub code: CuResult,
}

impl CudaError {
    /// The Level Zero result for this failure: CUDA's out of memory and
    /// invalid value have theirs; any other failure loses the device.
    pub fn ze_result(self) -> ze_result_t {
        match self.code {
            CUDA_ERROR_OUT_OF_MEMORY => ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY,
            CUDA_ERROR_INVALID_VALUE => ZE_RESULT_ERROR_INVALID_ARGUMENT,
            _ => ZE_RESULT_ERROR_DEVICE_LOST,
        }
    }
}

impl fmt::Display for CudaError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} failed: CUresult {}", self.call, self.code)
    }
}

impl From<CudaError> for ze_result_t {
    fn from(error: CudaError) -> ze_result_t {
        error.ze_result()
    }
}

impl From<CudaError> for String {
    fn from(error: CudaError) -> String {
        error.to_string()
    }
}

/// `Err` naming `call` unless CUDA returned success.
pub fn check(call: &'static str, code: CuResult) -> Result<(), CudaError> {
    if code == CUDA_SUCCESS {
        Ok(())
    } else {
        Err(CudaError { call, code })
    }
}
