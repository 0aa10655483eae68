//! `SWZE_BACKEND=cuda` where CUDA cannot run (no libcuda, or a library that is
//! not CUDA's): the driver's init fails cleanly through the real loader (no
//! panic, abort or hang), the loader reports no driver, and the reason is on
//! stderr once. The backend starts once per process, so each case is a child
//! run of `zeinit_fails_cleanly`, which checks the setting it is given.

use std::process::Command;
use std::time::Duration;

use libloading::os::unix::{Library, RTLD_NOW};
use ze_sys::*;

const EXPECTED_REASON: &str = "SWZE_NO_GPU_EXPECTED_REASON";

/// In this process: the driver configured by the environment must fail its
/// init. Run plainly (no case given), the configuration is a backend name no
/// build knows.
#[test]
fn zeinit_fails_cleanly() {
    if std::env::var_os(EXPECTED_REASON).is_none() {
        std::env::set_var("SWZE_BACKEND", "no-such-backend");
    }
    std::env::set_var("ZE_ENABLE_ALT_DRIVERS", swze_control::driver_path());
    // SAFETY: opening the system's Level Zero loader runs its initialisers only.
    let loader = unsafe { Library::open(Some("libze_loader.so.1"), RTLD_NOW) }.expect("libze_loader.so.1");
    // SAFETY: the loader's exported functions, with their ze_api.h signatures.
    let (init, driver_get) = unsafe {
        (
            *loader.get::<unsafe extern "C" fn(u32) -> ze_result_t>(b"zeInit\0").expect("zeInit"),
            *loader.get::<unsafe extern "C" fn(*mut u32, *mut ze_driver_handle_t) -> ze_result_t>(b"zeDriverGet\0").expect("zeDriverGet"),
        )
    };
    // SAFETY: plain arguments and a valid out-pointer.
    unsafe {
        assert_ne!(init(0), ZE_RESULT_SUCCESS, "zeInit with a backend that cannot start");
        // Asked again, the answer is the same (and the reason not printed twice).
        assert_ne!(init(0), ZE_RESULT_SUCCESS);
        // The loader unloads a driver whose init failed yet still calls into
        // it here: this crashed until the driver was linked `-z nodelete`.
        let mut count = 0;
        let result = driver_get(&mut count, std::ptr::null_mut());
        assert!(result != ZE_RESULT_SUCCESS || count == 0, "no driver: {result:#x}, count {count}");
    }
}

fn child(variables: &[(&str, &str)], reason: &str) {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command.args(["--exact", "zeinit_fails_cleanly", "--test-threads=1"]).env(EXPECTED_REASON, reason);
    for (name, value) in variables {
        command.env(name, value);
    }
    let mut running = command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // A hang is a failure too: give the child a generous minute.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while running.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            running.kill().unwrap();
            panic!("child hung: {variables:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = running.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{variables:?}: child failed (status {:?}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("1 passed"), "{variables:?}: the child ran the test:\n{stdout}");
    assert_eq!(stderr.matches(reason).count(), 1, "{variables:?}: the reason once on stderr:\n{stderr}");
}

#[test]
fn cuda_backend_without_libcuda() {
    child(&[("SWZE_BACKEND", "cuda"), ("SWZE_CUDA_LIBRARY", "/nonexistent/libcuda.so.1")], "swze: no device: cannot load /nonexistent/libcuda.so.1");
}

#[test]
fn cuda_backend_with_a_library_that_is_not_cuda() {
    child(&[("SWZE_BACKEND", "cuda"), ("SWZE_CUDA_LIBRARY", "libm.so.6")], "swze: no device: libm.so.6 lacks cuInit");
}

#[test]
fn unknown_backend() {
    child(&[("SWZE_BACKEND", "quantum")], "swze: no device: unknown SWZE_BACKEND=\"quantum\"");
}
