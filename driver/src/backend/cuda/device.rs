//! Devices and peers: every CUDA device a root device with its primary
//! context, what each reaches of the others' memory (CUDA's answer at
//! start), and peer access enabled once per ordered pair at the first
//! append that needs it.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use cudarc::driver::sys::{CUcontext, CUdevice, CUdevice_attribute, CUuuid};
use ze_sys::*;

use super::super::DeviceDescription;
use super::api::{Cuda, CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED, CUDA_SUCCESS};
use super::error::check;
use super::Shared;

pub struct Gpu {
    pub context: CUcontext,
}

/// One ordered pair of devices: whether the first's copies can reach the
/// second's memory (CUDA's answer at start), and whether peer access from
/// the first's context has been enabled.
pub struct PeerLink {
    pub reachable: bool,
    pub enabled: AtomicBool,
}

/// What start learns of the devices: each one's primary context and
/// description, and the links of every ordered pair
/// (`peers[from * gpus.len() + to]`; a device's link to itself is enabled).
pub struct Discovery {
    pub gpus: Vec<Gpu>,
    pub devices: Vec<DeviceDescription>,
    pub peers: Vec<PeerLink>,
}

/// Initialises CUDA and takes every device, each one's primary context
/// retained for the process; any failure is a reason, not a panic.
pub fn discover(cuda: &Cuda) -> Result<Discovery, String> {
    // SAFETY: a plain call of the CUDA driver API.
    check("cuInit", unsafe { (cuda.init)(0) })?;
    let mut count: c_int = 0;
    // SAFETY: a valid out-pointer.
    check("cuDeviceGetCount", unsafe { (cuda.device_get_count)(&mut count) })?;
    if count <= 0 {
        return Err("CUDA reports no device".into());
    }
    let mut gpus = Vec::new();
    let mut handles = Vec::new();
    let mut devices = Vec::new();
    for ordinal in 0..count {
        let (device, description) = describe(cuda, ordinal)?;
        let mut context: CUcontext = ptr::null_mut();
        // SAFETY: a valid out-pointer; a device CUDA just handed out.
        check("cuDevicePrimaryCtxRetain", unsafe { (cuda.primary_context_retain)(&mut context, device) })?;
        gpus.push(Gpu { context });
        handles.push(device);
        devices.push(description);
    }
    let mut peers = Vec::with_capacity(handles.len() * handles.len());
    for &from in &handles {
        for &to in &handles {
            let mut can: c_int = 0;
            if from != to {
                // SAFETY: a valid out-pointer; two devices CUDA handed out.
                check("cuDeviceCanAccessPeer", unsafe { (cuda.device_can_access_peer)(&mut can, from, to) })?;
            }
            peers.push(PeerLink { reachable: from == to || can != 0, enabled: AtomicBool::new(from == to) });
        }
    }
    Ok(Discovery { gpus, devices, peers })
}

/// The device of CUDA ordinal `ordinal` and what the front is told of it;
/// refused without unified addressing (every address here is unified).
fn describe(cuda: &Cuda, ordinal: c_int) -> Result<(CUdevice, DeviceDescription), String> {
    let mut device: CUdevice = 0;
    // SAFETY: a valid out-pointer.
    check("cuDeviceGet", unsafe { (cuda.device_get)(&mut device, ordinal) })?;
    let mut unified: c_int = 0;
    let attribute = CUdevice_attribute::CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING as c_int;
    // SAFETY: a valid out-pointer of the attribute's type (int).
    check("cuDeviceGetAttribute", unsafe { (cuda.device_get_attribute)(&mut unified, attribute, device) })?;
    if unified == 0 {
        return Err(format!("CUDA device {ordinal} lacks unified addressing"));
    }
    let mut name = [0 as c_char; 256];
    // SAFETY: the buffer and its length.
    check("cuDeviceGetName", unsafe { (cuda.device_get_name)(name.as_mut_ptr(), name.len() as c_int, device) })?;
    // SAFETY: CUDA wrote a NUL-terminated name within the buffer.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
    let mut uuid = CUuuid { bytes: [0; 16] };
    // SAFETY: a valid out-pointer.
    check("cuDeviceGetUuid", unsafe { (cuda.device_get_uuid)(&mut uuid, device) })?;
    let mut memory: usize = 0;
    // SAFETY: a valid out-pointer.
    check("cuDeviceTotalMem", unsafe { (cuda.device_total_mem)(&mut memory, device) })?;
    let description = DeviceDescription {
        name,
        uuid: uuid.bytes.map(|byte| byte as u8),
        memory_size: memory as u64,
        max_allocation: memory as u64,
        card: ordinal as usize,
    };
    Ok((device, description))
}

impl Shared {
    /// Makes the device's primary context current on the calling thread
    /// (asked each time, not cached: the application may use CUDA too, and
    /// the question is a thread-local read inside libcuda). The application
    /// shares the primary context with us, as runtime-API programs do.
    pub fn enter(&self, device: usize) -> Result<(), ze_result_t> {
        let context = self.gpus.get(device).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?.context;
        let mut current: CUcontext = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        check("cuCtxGetCurrent", unsafe { (self.cuda.context_get_current)(&mut current) })?;
        if current != context {
            // SAFETY: a primary context retained for the process.
            check("cuCtxSetCurrent", unsafe { (self.cuda.context_set_current)(context) })?;
        }
        Ok(())
    }

    /// Whether `device`'s copies can reach `peer`'s memory.
    pub fn can_access_peer(&self, device: usize, peer: usize) -> bool {
        let gpus = self.gpus.len();
        device < gpus && peer < gpus && self.peers[device * gpus + peer].reachable
    }

    /// Makes sure `device`'s streams reach the memory at `address`: peer
    /// access to its owner enabled, once per ordered pair. Refused by CUDA
    /// (at start or now): `ZE_RESULT_ERROR_INVALID_ARGUMENT`.
    pub fn reach(&self, device: usize, address: usize) -> Result<(), ze_result_t> {
        let Some(owner) = self.owner(address) else {
            return Ok(());
        };
        let link = &self.peers[device * self.gpus.len() + owner];
        if link.enabled.load(Ordering::Acquire) {
            return Ok(());
        }
        if !link.reachable {
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        }
        let _once = self.enabling.lock();
        if link.enabled.load(Ordering::Acquire) {
            return Ok(());
        }
        self.enter(device)?;
        // SAFETY: a primary context retained for the process; the device's
        // own context is current.
        let code = unsafe { (self.cuda.context_enable_peer_access)(self.gpus[owner].context, 0) };
        // Already enabled: the application did it in our shared context.
        if code != CUDA_SUCCESS && code != CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED {
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        }
        link.enabled.store(true, Ordering::Release);
        Ok(())
    }
}
