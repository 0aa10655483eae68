//! `libze_loader.so.1` opened once, on the first `aml_dma_ze_create`, with
//! every Level Zero entry point the library needs resolved into one typed
//! table. The library stays loaded for the life of the process. This is the
//! only module that touches libloading.
//!
//! Environment (read with `secure_getenv`, so a setuid program ignores them):
//! - `AML_DMA_ZE_LOADER`: the loader file to open instead of `libze_loader.so.1`.
//! - `AML_DMA_ZE_TRACE=1`: print each failing Level Zero call and its result to stderr.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use libloading::os::unix::Library;
use ze_sys::*;

use crate::error::{ze_result_name, AmlError, ZeError};

const DEFAULT_LOADER: &str = "libze_loader.so.1";

/// Set by an `atexit` handler registered right after the loader is opened.
/// Handlers registered later run earlier, so this is set before the loader's
/// own static destructors tear it down; from then on teardown only frees memory.
static EXITING: AtomicBool = AtomicBool::new(false);

extern "C" fn mark_exiting() {
    EXITING.store(true, Ordering::SeqCst);
}

/// True once the process has started to exit: Level Zero may already be gone.
pub fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

extern "C" {
    // glibc; the libc crate does not declare it.
    fn secure_getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
}

/// An environment variable read with `secure_getenv` (none in a setuid program).
pub fn secure_env(name: &CStr) -> Option<String> {
    // SAFETY: `name` is NUL-terminated; secure_getenv returns NULL or a pointer
    // into the environment, which we copy at once.
    let value = unsafe { secure_getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: non-NULL results of secure_getenv are NUL-terminated strings.
    Some(unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
}

macro_rules! ze_table {
    ($( $field:ident : $pfn:ident = $symbol:literal ( $($arg:ident : $ty:ty),* ); )*) => {
        /// The Level Zero entry points used by the library, resolved once.
        pub struct Ze {
            trace: bool,
            $( $field: unsafe extern "C" fn($($ty),*) -> ze_result_t, )*
        }

        /// Every entry point of a `Ze`, to fill by hand (`Ze::from_entries`).
        #[cfg(test)]
        pub(crate) struct Entries {
            $( pub $field: unsafe extern "C" fn($($ty),*) -> ze_result_t, )*
        }

        impl Ze {
            fn resolve(library: &Library, trace: bool) -> Option<Ze> {
                Some(Ze {
                    trace,
                    $( $field: {
                        // SAFETY: the type is the one the installed headers give
                        // this symbol (checked against ze_sys's pfn type below).
                        let symbol = unsafe {
                            library.get::<unsafe extern "C" fn($($ty),*) -> ze_result_t>(
                                concat!($symbol, "\0").as_bytes())
                        }.ok()?;
                        let entry = *symbol;
                        let _same_signature_as_headers: ze_sys::$pfn = Some(entry);
                        entry
                    }, )*
                })
            }

            /// A table of the given entry points instead of the loader's:
            /// the seam through which unit tests run the library against a
            /// scripted fake driver (`level_zero::fake`). Test builds only, so
            /// the table and every call through it are the same as without it.
            #[cfg(test)]
            pub(crate) fn from_entries(entries: Entries) -> Ze {
                Ze { trace: false, $( $field: entries.$field, )* }
            }

            $(
                #[doc = concat!("`", $symbol, "`; a failure comes back as `ZeError` and is traced if asked.")]
                /// # Safety
                /// The arguments must satisfy the Level Zero specification of this call.
                #[allow(clippy::too_many_arguments)]
                #[inline]
                pub unsafe fn $field(&self, $($arg: $ty),*) -> Result<(), ZeError> {
                    // SAFETY: the caller upholds the call's contract.
                    let result = unsafe { (self.$field)($($arg),*) };
                    self.check($symbol, result)
                }
            )*
        }
    };
}

ze_table! {
    init: ze_pfnInit_t = "zeInit"(flags: ze_init_flags_t);
    driver_get: ze_pfnDriverGet_t = "zeDriverGet"(count: *mut u32, drivers: *mut ze_driver_handle_t);
    device_get: ze_pfnDeviceGet_t = "zeDeviceGet"(driver: ze_driver_handle_t, count: *mut u32, devices: *mut ze_device_handle_t);
    device_get_sub_devices: ze_pfnDeviceGetSubDevices_t = "zeDeviceGetSubDevices"(device: ze_device_handle_t, count: *mut u32, devices: *mut ze_device_handle_t);
    device_get_properties: ze_pfnDeviceGetProperties_t = "zeDeviceGetProperties"(device: ze_device_handle_t, properties: *mut ze_device_properties_t);
    device_get_command_queue_group_properties: ze_pfnDeviceGetCommandQueueGroupProperties_t = "zeDeviceGetCommandQueueGroupProperties"(device: ze_device_handle_t, count: *mut u32, properties: *mut ze_command_queue_group_properties_t);
    context_create: ze_pfnContextCreate_t = "zeContextCreate"(driver: ze_driver_handle_t, desc: *const ze_context_desc_t, context: *mut ze_context_handle_t);
    context_destroy: ze_pfnContextDestroy_t = "zeContextDestroy"(context: ze_context_handle_t);
    command_list_create_immediate: ze_pfnCommandListCreateImmediate_t = "zeCommandListCreateImmediate"(context: ze_context_handle_t, device: ze_device_handle_t, desc: *const ze_command_queue_desc_t, list: *mut ze_command_list_handle_t);
    command_list_destroy: ze_pfnCommandListDestroy_t = "zeCommandListDestroy"(list: ze_command_list_handle_t);
    command_list_append_memory_copy: ze_pfnCommandListAppendMemoryCopy_t = "zeCommandListAppendMemoryCopy"(list: ze_command_list_handle_t, dst: *mut c_void, src: *const c_void, size: usize, signal: ze_event_handle_t, wait_count: u32, wait_events: *mut ze_event_handle_t);
    command_list_append_memory_copy_region: ze_pfnCommandListAppendMemoryCopyRegion_t = "zeCommandListAppendMemoryCopyRegion"(list: ze_command_list_handle_t, dst: *mut c_void, dst_region: *const ze_copy_region_t, dst_pitch: u32, dst_slice_pitch: u32, src: *const c_void, src_region: *const ze_copy_region_t, src_pitch: u32, src_slice_pitch: u32, signal: ze_event_handle_t, wait_count: u32, wait_events: *mut ze_event_handle_t);
    command_list_append_barrier: ze_pfnCommandListAppendBarrier_t = "zeCommandListAppendBarrier"(list: ze_command_list_handle_t, signal: ze_event_handle_t, wait_count: u32, wait_events: *mut ze_event_handle_t);
    event_pool_create: ze_pfnEventPoolCreate_t = "zeEventPoolCreate"(context: ze_context_handle_t, desc: *const ze_event_pool_desc_t, device_count: u32, devices: *mut ze_device_handle_t, pool: *mut ze_event_pool_handle_t);
    event_pool_destroy: ze_pfnEventPoolDestroy_t = "zeEventPoolDestroy"(pool: ze_event_pool_handle_t);
    event_create: ze_pfnEventCreate_t = "zeEventCreate"(pool: ze_event_pool_handle_t, desc: *const ze_event_desc_t, event: *mut ze_event_handle_t);
    event_destroy: ze_pfnEventDestroy_t = "zeEventDestroy"(event: ze_event_handle_t);
    event_host_synchronize: ze_pfnEventHostSynchronize_t = "zeEventHostSynchronize"(event: ze_event_handle_t, timeout: u64);
    event_host_reset: ze_pfnEventHostReset_t = "zeEventHostReset"(event: ze_event_handle_t);
    event_query_status_raw: ze_pfnEventQueryStatus_t = "zeEventQueryStatus"(event: ze_event_handle_t);
    mem_get_alloc_properties: ze_pfnMemGetAllocProperties_t = "zeMemGetAllocProperties"(context: ze_context_handle_t, address: *const c_void, properties: *mut ze_memory_allocation_properties_t, device: *mut ze_device_handle_t);
    driver_get_extension_properties: ze_pfnDriverGetExtensionProperties_t = "zeDriverGetExtensionProperties"(driver: ze_driver_handle_t, count: *mut u32, properties: *mut ze_driver_extension_properties_t);
    driver_get_extension_function_address: ze_pfnDriverGetExtensionFunctionAddress_t = "zeDriverGetExtensionFunctionAddress"(driver: ze_driver_handle_t, name: *const c_char, function: *mut *mut c_void);
}

impl Ze {
    #[inline(always)]
    fn check(&self, function: &'static str, result: ze_result_t) -> Result<(), ZeError> {
        if result == ZE_RESULT_SUCCESS {
            return Ok(());
        }
        self.failed(function, result)
    }

    /// The failure path of `check`, kept out of line so each call site stays small.
    #[cold]
    #[inline(never)]
    fn failed(&self, function: &'static str, result: ze_result_t) -> Result<(), ZeError> {
        if self.trace {
            eprintln!("aml_dma_ze: {function} failed: {} ({result:#x})", ze_result_name(result));
        }
        Err(ZeError(result))
    }

    /// `zeEventQueryStatus`: `Ok(true)` once signalled, `Ok(false)` while not
    /// ready (not a failure, so not traced).
    ///
    /// # Safety
    /// `event` must be a live event handle.
    pub unsafe fn event_is_signalled(&self, event: ze_event_handle_t) -> Result<bool, ZeError> {
        // SAFETY: the caller guarantees `event` is live.
        let result = unsafe { (self.event_query_status_raw)(event) };
        match result {
            ZE_RESULT_NOT_READY => Ok(false),
            other => self.check("zeEventQueryStatus", other).map(|()| true),
        }
    }
}

type ImportFn = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void, usize) -> ze_result_t;
type ReleaseFn = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void) -> ze_result_t;
type BaseAddressFn = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void, *mut *mut c_void) -> ze_result_t;

/// Intel's host-pointer import (`ZEX_driver_import_host_pointer`: compute-runtime's
/// `level_zero/include/level_zero/driver_experimental/zex_driver.h`), resolved
/// for one driver through `zeDriverGetExtensionFunctionAddress`.
#[derive(Clone, Copy)]
pub struct HostImport {
    trace: bool,
    import: ImportFn,
    release: ReleaseFn,
    base_address: BaseAddressFn,
}

impl Ze {
    /// The driver's host-pointer import, or `None` when it lacks any of the
    /// three functions (an unknown name is an answer, not a failure: not traced).
    ///
    /// # Safety
    /// `driver` must be a live driver handle.
    pub unsafe fn host_import(&self, driver: ze_driver_handle_t) -> Option<HostImport> {
        let lookup = |name: &CStr| {
            let mut function: *mut c_void = std::ptr::null_mut();
            // SAFETY: live driver (caller's contract), a NUL-terminated name, a valid out-pointer.
            let result = unsafe { (self.driver_get_extension_function_address)(driver, name.as_ptr(), &mut function) };
            (result == ZE_RESULT_SUCCESS && !function.is_null()).then_some(function)
        };
        let (import, release, base_address) = (
            lookup(c"zexDriverImportExternalPointer")?,
            lookup(c"zexDriverReleaseImportedPointer")?,
            lookup(c"zexDriverGetHostPointerBaseAddress")?,
        );
        // SAFETY: the driver gave each function under its C name; the types
        // are those of compute-runtime's `zex_driver.h`.
        unsafe {
            Some(HostImport {
                trace: self.trace,
                import: std::mem::transmute::<*mut c_void, ImportFn>(import),
                release: std::mem::transmute::<*mut c_void, ReleaseFn>(release),
                base_address: std::mem::transmute::<*mut c_void, BaseAddressFn>(base_address),
            })
        }
    }
}

impl HostImport {
    fn check(&self, function: &'static str, result: ze_result_t) -> Result<(), ZeError> {
        if result == ZE_RESULT_SUCCESS {
            return Ok(());
        }
        if self.trace {
            eprintln!("aml_dma_ze: {function} failed: {} ({result:#x})", ze_result_name(result));
        }
        Err(ZeError(result))
    }

    /// `zexDriverImportExternalPointer`.
    ///
    /// # Safety
    /// `driver` is the driver this import was resolved for; `[pointer, pointer + size)` is the caller's memory.
    pub unsafe fn import(&self, driver: ze_driver_handle_t, pointer: *mut c_void, size: usize) -> Result<(), ZeError> {
        // SAFETY: forwarded contract.
        self.check("zexDriverImportExternalPointer", unsafe { (self.import)(driver, pointer, size) })
    }

    /// `zexDriverReleaseImportedPointer`.
    ///
    /// # Safety
    /// `driver` is the driver this import was resolved for.
    pub unsafe fn release(&self, driver: ze_driver_handle_t, pointer: *mut c_void) -> Result<(), ZeError> {
        // SAFETY: forwarded contract.
        self.check("zexDriverReleaseImportedPointer", unsafe { (self.release)(driver, pointer) })
    }

    /// The base of the driver's import holding `pointer`, if any
    /// (`zexDriverGetHostPointerBaseAddress`; "none" is an answer, not traced).
    ///
    /// # Safety
    /// `driver` is the driver this import was resolved for.
    pub unsafe fn imported_base(&self, driver: ze_driver_handle_t, pointer: *mut c_void) -> Option<usize> {
        let mut base: *mut c_void = std::ptr::null_mut();
        // SAFETY: forwarded contract; a valid out-pointer.
        let result = unsafe { (self.base_address)(driver, pointer, &mut base) };
        (result == ZE_RESULT_SUCCESS).then_some(base as usize)
    }
}

static ZE: OnceLock<Result<Ze, AmlError>> = OnceLock::new();
/// Set once `zeInit` has succeeded. A failed `zeInit` is tried again by the
/// next create: the failure may be transient, and the loader allows it.
static INITIALISED: AtomicBool = AtomicBool::new(false);
static INIT_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// The Level Zero table, loading the loader on first use and calling `zeInit`
/// until it succeeds. No loader or a missing symbol → `-AML_ENOTSUP` for the
/// rest of the process (the loader is opened once); a failing `zeInit` →
/// `-AML_ENOTSUP` for this call only.
pub fn ze() -> Result<&'static Ze, AmlError> {
    let ze = ZE.get_or_init(load).as_ref().map_err(|e| *e)?;
    if !INITIALISED.load(Ordering::Acquire) {
        let _once_at_a_time = INIT_LOCK.lock();
        if !INITIALISED.load(Ordering::Acquire) {
            // SAFETY: zeInit takes flags only; 0 asks for every device type.
            unsafe { ze.init(0) }.map_err(|ZeError(result)| {
                if ze.trace {
                    eprintln!("aml_dma_ze: zeInit: {}", init_failure_hint(result));
                }
                AmlError::ENOTSUP
            })?;
            INITIALISED.store(true, Ordering::Release);
        }
    }
    Ok(ze)
}

/// The likely cause of a failing `zeInit`, for the trace.
#[cold]
fn init_failure_hint(result: ze_result_t) -> String {
    if result != ZE_RESULT_ERROR_UNINITIALIZED {
        return format!("{}: the driver refused to start", ze_result_name(result));
    }
    match secure_env(c"ZE_ENABLE_ALT_DRIVERS") {
        Some(drivers) => format!(
            "no Level Zero driver could be loaded from ZE_ENABLE_ALT_DRIVERS={} \
             (an absolute path to a driver such as libswze.so, which must exist and be readable)",
            drivers
        ),
        None => "no Level Zero driver found: Intel's GPU driver (compute-runtime) is not installed, or sees no GPU; \
                 on a machine without an Intel GPU, set ZE_ENABLE_ALT_DRIVERS to the absolute path of \
                 libswze.so, the software driver"
            .to_owned(),
    }
}

fn load() -> Result<Ze, AmlError> {
    let trace = secure_env(c"AML_DMA_ZE_TRACE").is_some_and(|v| v == "1");
    let path = secure_env(c"AML_DMA_ZE_LOADER").unwrap_or_else(|| DEFAULT_LOADER.to_owned());
    // SAFETY: opening a shared library runs its constructors; the Level Zero
    // loader's are designed to run on dlopen.
    let library = match unsafe {
        Library::open(Some(&path), libc::RTLD_NOW | libc::RTLD_LOCAL)
    } {
        Ok(library) => library,
        Err(error) => {
            if trace {
                eprintln!("aml_dma_ze: cannot open Level Zero loader {path}: {error} (install the Level Zero loader: Debian's libze1)");
            }
            return Err(AmlError::ENOTSUP);
        }
    };
    // SAFETY: registering a plain function with no captured state; it only
    // stores to an atomic.
    unsafe { libc::atexit(mark_exiting) };
    let Some(ze) = Ze::resolve(&library, trace) else {
        if trace {
            eprintln!("aml_dma_ze: {path} lacks a Level Zero entry point the library needs");
        }
        return Err(AmlError::ENOTSUP);
    };
    // The loader must outlive every handle it hands out: never unload it.
    std::mem::forget(library);
    Ok(ze)
}
