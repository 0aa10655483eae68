//! Test support shared by the Rust tests of every crate of the workspace:
//! where `libswze.so` is (built on demand), the real Level Zero loader opened
//! with `ZE_ENABLE_ALT_DRIVERS` pointing at it, the driver's control API
//! (`driver/include/swze.h`) found in the copy the loader loaded, and the
//! lock that serialises tests touching the driver's process-global state.
//! Dev-only: never a dependency of a shipped artifact.

use std::ffi::{c_char, c_int, CString};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use libloading::os::unix::{Library, RTLD_NOW};
use ze_sys::{ze_result_t, ZE_RESULT_SUCCESS};

/// The driver the tests load, decided once per process:
///
/// - `SWZE_LIB` if set (canonicalised; it must name an existing file);
/// - else `cargo build -p swze` in the profile of the test build (`--release`
///   when the tests are built without debug assertions, as by
///   `cargo test --release`), and `<target>/{debug,release}/libswze.so`, where
///   `<target>` is `CARGO_TARGET_DIR` or the workspace's `target/`.
pub fn driver_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("SWZE_LIB") {
            return std::fs::canonicalize(path).expect("SWZE_LIB names an existing file");
        }
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let release = !cfg!(debug_assertions);
        let mut build = Command::new(env!("CARGO"));
        build.current_dir(&workspace).args(["build", "-p", "swze"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p swze");
        assert!(status.success(), "cargo build -p swze failed");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
        let path = target.join(if release { "release" } else { "debug" }).join("libswze.so");
        path.canonicalize().expect("libswze.so built")
    })
    .clone()
}

/// Points `ZE_ENABLE_ALT_DRIVERS` at [`driver_path`], sets `variables` (the
/// driver's `SWZE_*` configuration), opens the system's `libze_loader.so.1`
/// and calls `zeInit(0)`, which must succeed. Call it once per process (keep
/// the result in a `OnceLock`), before any thread reads the environment
/// through the loader or the driver.
pub fn open_loader(variables: &[(&str, &str)]) -> Library {
    std::env::set_var("ZE_ENABLE_ALT_DRIVERS", driver_path());
    for (name, value) in variables {
        std::env::set_var(name, value);
    }
    // SAFETY: opening the system's Level Zero loader runs its initialisers only.
    let loader = unsafe { Library::open(Some("libze_loader.so.1"), RTLD_NOW) }.expect("libze_loader.so.1");
    // SAFETY: zeInit's signature is that of ze_api.h.
    let init = unsafe { *loader.get::<unsafe extern "C" fn(u32) -> ze_result_t>(b"zeInit\0").expect("zeInit") };
    // SAFETY: plain integer argument.
    assert_eq!(unsafe { init(0) }, ZE_RESULT_SUCCESS, "zeInit through the loader with the software driver");
    loader
}

/// The driver's state (counters, faults, bandwidth, inline mode) is
/// process-global: tests that touch it hold this. A test that panicked while
/// holding it does not poison it for the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The driver's control API (`swze.h`), resolved in the copy of
/// [`driver_path`] that the loader loaded. The fields are the C functions;
/// the methods are safe wrappers.
pub struct Control {
    _driver: Library,
    pub call_count: unsafe extern "C" fn(*const c_char) -> u64,
    pub counters_reset: unsafe extern "C" fn(),
    pub live_count: unsafe extern "C" fn(*const c_char) -> u64,
    pub peak_count: unsafe extern "C" fn(*const c_char) -> u64,
    pub fault_inject: unsafe extern "C" fn(*const c_char, u64, ze_result_t) -> c_int,
    pub fault_clear: unsafe extern "C" fn(),
    pub set_copy_bandwidth: unsafe extern "C" fn(u64),
    pub set_inline: unsafe extern "C" fn(c_int),
}

impl Control {
    /// Panics unless the driver is already loaded (after [`open_loader`]).
    pub fn find_loaded() -> Control {
        // SAFETY: RTLD_NOLOAD only finds the copy the loader already loaded
        // (no initialisers run); the symbols have the signatures of swze.h.
        unsafe {
            let driver =
                Library::open(Some(driver_path()), RTLD_NOW | libc::RTLD_NOLOAD).expect("the loader loaded the driver");
            Control {
                call_count: *driver.get(b"swze_call_count\0").unwrap(),
                counters_reset: *driver.get(b"swze_counters_reset\0").unwrap(),
                live_count: *driver.get(b"swze_live_count\0").unwrap(),
                peak_count: *driver.get(b"swze_peak_count\0").unwrap(),
                fault_inject: *driver.get(b"swze_fault_inject\0").unwrap(),
                fault_clear: *driver.get(b"swze_fault_clear\0").unwrap(),
                set_copy_bandwidth: *driver.get(b"swze_set_copy_bandwidth\0").unwrap(),
                set_inline: *driver.get(b"swze_set_inline\0").unwrap(),
                _driver: driver,
            }
        }
    }

    /// Calls of a ze entry point (C name) since the last reset.
    pub fn calls(&self, function: &str) -> u64 {
        let name = CString::new(function).unwrap();
        // SAFETY: a valid NUL-terminated string for the duration of the call.
        unsafe { (self.call_count)(name.as_ptr()) }
    }

    /// Live objects of a kind ("context", "command_list", "event_pool", "event", "allocation").
    pub fn live(&self, kind: &str) -> u64 {
        let name = CString::new(kind).unwrap();
        // SAFETY: as above.
        unsafe { (self.live_count)(name.as_ptr()) }
    }

    /// Highest live count of a kind since the last reset.
    pub fn peak(&self, kind: &str) -> u64 {
        let name = CString::new(kind).unwrap();
        // SAFETY: as above.
        unsafe { (self.peak_count)(name.as_ptr()) }
    }

    /// Zero the call counters; peaks restart from the live counts.
    pub fn reset_counters(&self) {
        // SAFETY: no arguments.
        unsafe { (self.counters_reset)() }
    }

    /// The `nth` call from now of `function` returns `result` (once): 0, or
    /// -1 for an unknown function or `nth == 0`.
    pub fn inject(&self, function: &str, nth: u64, result: ze_result_t) -> c_int {
        let name = CString::new(function).unwrap();
        // SAFETY: as above.
        unsafe { (self.fault_inject)(name.as_ptr(), nth, result) }
    }

    /// Disarm all faults.
    pub fn clear_faults(&self) {
        // SAFETY: no arguments.
        unsafe { (self.fault_clear)() }
    }

    /// Copy bandwidth cap in bytes per second; 0 = uncapped.
    pub fn bandwidth(&self, bytes_per_second: u64) {
        // SAFETY: no pointer arguments.
        unsafe { (self.set_copy_bandwidth)(bytes_per_second) }
    }

    /// Command lists created from now execute at append time (true) or get
    /// an engine thread (false).
    pub fn inline(&self, on: bool) {
        // SAFETY: no pointer arguments.
        unsafe { (self.set_inline)(c_int::from(on)) }
    }
}
