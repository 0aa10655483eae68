//! Test support: the software driver under the real loader, its control API,
//! the device handles, and a dense 1-D layout written in Rust.
#![allow(dead_code)]

use std::ffi::{c_int, c_void};
use std::ops::Deref;
use std::sync::OnceLock;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;
#[allow(unused_imports)] // not every test binary uses every item
pub use swze_control::{driver_path, serial, Control};
use ze_sys::*;

/// Subdevices per device (the Max 1550 model's stacks under COMPOSITE), so
/// that subdevice paths are tested.
pub const SUBDEVICES: usize = 2;

/// The device handles, and the software driver's control API (through `Deref`).
pub struct Env {
    pub devices: Vec<ze_device_handle_t>,
    pub subdevices: Vec<ze_device_handle_t>,
    control: Control,
}

// SAFETY: device handles are plain addresses valid for the process; the
// control functions are thread-safe C functions.
unsafe impl Send for Env {}
unsafe impl Sync for Env {}

/// Points the loader at the software driver and initialises Level Zero once.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let loader =
            swze_control::open_loader(&[("SWZE_DEVICE_MODEL", "max1550"), ("ZE_FLAT_DEVICE_HIERARCHY", "COMPOSITE")]);
        // SAFETY: the signatures are those of ze_api.h.
        let (driver_get, device_get, sub_devices) = unsafe {
            (
                *loader.get::<unsafe extern "C" fn(*mut u32, *mut ze_driver_handle_t) -> ze_result_t>(b"zeDriverGet\0").unwrap(),
                *loader
                    .get::<unsafe extern "C" fn(ze_driver_handle_t, *mut u32, *mut ze_device_handle_t) -> ze_result_t>(b"zeDeviceGet\0")
                    .unwrap(),
                *loader
                    .get::<unsafe extern "C" fn(ze_device_handle_t, *mut u32, *mut ze_device_handle_t) -> ze_result_t>(
                        b"zeDeviceGetSubDevices\0",
                    )
                    .unwrap(),
            )
        };
        // SAFETY: plain Level Zero discovery calls with correctly sized arrays.
        let (devices, subdevices) = unsafe {
            let mut count = 1u32;
            let mut drv = std::ptr::null_mut();
            assert_eq!(driver_get(&mut count, &mut drv), ZE_RESULT_SUCCESS);
            let mut n = 0u32;
            assert_eq!(device_get(drv, &mut n, std::ptr::null_mut()), ZE_RESULT_SUCCESS);
            let mut devices = vec![std::ptr::null_mut(); n as usize];
            assert_eq!(device_get(drv, &mut n, devices.as_mut_ptr()), ZE_RESULT_SUCCESS);
            let mut s = 0u32;
            assert_eq!(sub_devices(devices[0], &mut s, std::ptr::null_mut()), ZE_RESULT_SUCCESS);
            let mut subdevices = vec![std::ptr::null_mut(); s as usize];
            assert_eq!(sub_devices(devices[0], &mut s, subdevices.as_mut_ptr()), ZE_RESULT_SUCCESS);
            (devices, subdevices)
        };
        std::mem::forget(loader);
        Env { devices, subdevices, control: Control::find_loaded() }
    })
}

impl Deref for Env {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Env {
    pub fn device(&self) -> ze_device_handle_t {
        self.devices[0]
    }
    /// Live objects of every kind the library creates.
    pub fn live_objects(&self) -> [u64; 4] {
        [self.live("context"), self.live("command_list"), self.live("event_pool"), self.live("event")]
    }
    /// The `nth` call from now of `function` fails with `result` (once).
    pub fn fail(&self, function: &str, nth: u64, result: ze_result_t) {
        let rc = self.inject(function, nth, result);
        assert_eq!(rc, 0, "the driver accepts a fault on {function}");
    }
}

/// A dma made by `aml_dma_ze_create`, destroyed on drop.
pub struct Dma(pub *mut aml_dma);

impl Dma {
    pub fn new(device: ze_device_handle_t) -> Dma {
        Self::with_queue(device, 0, 0).expect("aml_dma_ze_create")
    }
    pub fn with_queue(device: ze_device_handle_t, ordinal: c_int, index: c_int) -> Result<Dma, c_int> {
        let mut dma = std::ptr::null_mut();
        match aml_dma_ze_create(&mut dma, device, ordinal, index) {
            0 => {
                assert!(!dma.is_null());
                Ok(Dma(dma))
            }
            rc => {
                assert!(dma.is_null(), "a failed create leaves *dma alone");
                Err(rc)
            }
        }
    }
    pub fn data(&self) -> *mut aml_dma_data {
        // SAFETY: a live dma.
        unsafe { (*self.0).data }
    }
    pub fn ze_data(&self) -> &aml_dma_ze_data {
        // SAFETY: data of our dma is an aml_dma_ze_data.
        unsafe { &*(self.data() as *const aml_dma_ze_data) }
    }
    /// Submits a copy of `src` into `dst` through the dma's ops table.
    pub fn copy(&self, dst: &mut Dense, src: &mut Dense, want_request: bool) -> Result<*mut aml_dma_request, c_int> {
        let mut req = std::ptr::null_mut();
        let req_ptr = if want_request { &mut req as *mut _ } else { std::ptr::null_mut() };
        // SAFETY: our ops table; layouts live across the call.
        let rc = unsafe {
            ((*(*self.0).ops).create_request.unwrap())(self.data(), req_ptr, dst.layout(), src.layout(), None, std::ptr::null_mut())
        };
        if rc == 0 {
            Ok(req)
        } else {
            Err(rc)
        }
    }
    pub fn wait(&self, req: &mut *mut aml_dma_request) -> c_int {
        // SAFETY: our ops table.
        unsafe { ((*(*self.0).ops).wait_request.unwrap())(self.data(), req) }
    }
    pub fn destroy_request(&self, req: &mut *mut aml_dma_request) -> c_int {
        // SAFETY: our ops table.
        unsafe { ((*(*self.0).ops).destroy_request.unwrap())(self.data(), req) }
    }
    pub fn barrier(&self) -> c_int {
        // SAFETY: our ops table.
        unsafe { ((*(*self.0).ops).barrier.unwrap())(self.data()) }
    }
    /// Destroys now, returning the code.
    pub fn destroy(mut self) -> c_int {
        let rc = aml_dma_ze_destroy(&mut self.0);
        assert!(self.0.is_null() || rc == -AML_EINVAL);
        self.0 = std::ptr::null_mut();
        rc
    }
}

impl Dma {
    /// A dma on the path of drivers without counter-based events (lists kept
    /// in order by barriers, events reset by the host), on a driver that
    /// offers them: `AML_DMA_ZE_COUNTER_EVENTS=0` is read at each create.
    /// The caller holds `serial()`, so no other test reads the variable meanwhile.
    pub fn fenced(device: ze_device_handle_t) -> Dma {
        std::env::set_var("AML_DMA_ZE_COUNTER_EVENTS", "0");
        let dma = Self::with_queue(device, 0, 0);
        std::env::remove_var("AML_DMA_ZE_COUNTER_EVENTS");
        dma.expect("aml_dma_ze_create")
    }
}

impl Drop for Dma {
    fn drop(&mut self) {
        if !self.0.is_null() {
            aml_dma_ze_destroy(&mut self.0);
        }
    }
}

/// A dense 1-D (or n-D) layout over an owned buffer, reached only through its ops table.
pub struct Dense {
    pub bytes: Vec<u8>,
    pub dims: Vec<usize>,
    pub element: usize,
    ops: Box<aml_layout_ops>,
    layout: Box<aml_layout>,
}

unsafe extern "C" fn dense_rawptr(data: *const aml_layout_data) -> *mut c_void {
    // SAFETY: data is a Dense.
    unsafe { (*(data as *mut Dense)).bytes.as_mut_ptr().cast() }
}
unsafe extern "C" fn dense_ndims(data: *const aml_layout_data) -> usize {
    // SAFETY: as above.
    unsafe { (*(data as *const Dense)).dims.len() }
}
unsafe extern "C" fn dense_element_size(data: *const aml_layout_data) -> usize {
    // SAFETY: as above.
    unsafe { (*(data as *const Dense)).element }
}
unsafe extern "C" fn dense_dims(data: *const aml_layout_data, out: *mut usize) -> c_int {
    // SAFETY: as above; out has ndims entries.
    let dense = unsafe { &*(data as *const Dense) };
    for (i, d) in dense.dims.iter().enumerate() {
        // SAFETY: as above.
        unsafe { *out.add(i) = *d };
    }
    0
}

impl Dense {
    /// `count` elements of `element` bytes, filled from `fill(byte index)`.
    pub fn new(dims: &[usize], element: usize, fill: impl Fn(usize) -> u8) -> Box<Dense> {
        let total = dims.iter().product::<usize>() * element;
        let ops = Box::new(aml_layout_ops {
            deref: None,
            deref_native: None,
            rawptr: Some(dense_rawptr),
            order: None,
            dims: Some(dense_dims),
            dims_native: None,
            ndims: Some(dense_ndims),
            element_size: Some(dense_element_size),
            reshape: None,
            slice: None,
            slice_native: None,
            fprintf: None,
            duplicate: None,
            destroy: None,
        });
        let mut dense = Box::new(Dense {
            bytes: (0..total).map(fill).collect(),
            dims: dims.to_vec(),
            element,
            ops,
            layout: Box::new(aml_layout { ops: std::ptr::null_mut(), data: std::ptr::null_mut() }),
        });
        let data = &mut *dense as *mut Dense as *mut aml_layout_data;
        let ops = &mut *dense.ops as *mut aml_layout_ops;
        *dense.layout = aml_layout { ops, data };
        dense
    }
    pub fn layout(&mut self) -> *mut aml_layout {
        &mut *self.layout
    }
}

/// A recognisable byte pattern.
pub fn pattern(seed: usize) -> impl Fn(usize) -> u8 {
    move |i| (i.wrapping_mul(31).wrapping_add(seed * 7) % 251) as u8
}
