//! Which backend runs: chosen once, at the first `zeInit`, by
//! `SWZE_BACKEND` (`cpu`, the default, or `cuda`). The one module that names
//! the backends; they name only the interface (`backend/mod.rs`).

use std::sync::OnceLock;

use ze_sys::*;

use super::model::Product;
use super::{cpu, cuda, Backend};

/// Which backend to start, from the environment.
pub struct Choice {
    /// `SWZE_BACKEND`: empty or `cpu`, or `cuda`.
    pub name: String,
    /// `SWZE_DEVICE_MODEL`: the product the devices are shaped as.
    pub product: &'static Product,
    /// `SWZE_DEVICES`: the CPU backend's cards.
    pub cpu_devices: u32,
    /// `SWZE_CUDA_LIBRARY`: the CUDA driver library to open.
    pub cuda_library: String,
}

/// The backend chosen at the first `zeInit`, or why there is none.
static BACKEND: OnceLock<Result<Box<dyn Backend>, String>> = OnceLock::new();

/// Starts the backend `choice` names, once; later calls return the first answer. A backend that cannot start (no libcuda, no GPU)
/// is reported on stderr once and makes `zeInit` fail: the loader then
/// reports no driver, as for an Intel driver without its device.
pub fn start(choice: &Choice) -> Result<&'static dyn Backend, ze_result_t> {
    let started = BACKEND.get_or_init(|| {
        let started: Result<Box<dyn Backend>, String> = match choice.name.as_str() {
            "" | "cpu" => Ok(Box::new(cpu::CpuBackend::new(choice.product, choice.cpu_devices))),
            "cuda" => cuda::CudaBackend::start(&choice.cuda_library, choice.product)
                .map(|backend| Box::new(backend) as Box<dyn Backend>),
            other => Err(format!("unknown SWZE_BACKEND={other:?} (cpu or cuda)")),
        };
        if let Err(why) = &started {
            eprintln!("swze: no device: {why}");
        }
        started
    });
    started.as_ref().map(|backend| backend.as_ref()).map_err(|_| ZE_RESULT_ERROR_UNINITIALIZED)
}

/// The backend, once one has started.
pub fn started() -> Option<&'static dyn Backend> {
    match BACKEND.get() {
        Some(Ok(backend)) => Some(backend.as_ref()),
        _ => None,
    }
}
