//! `zeCommandListAppendMemoryCopyRegion` through the real loader: every
//! argument error, 2-D and 3-D regions verified byte by byte, Intel's
//! meaning of zero pitches and depth, asynchrony with events and wait lists.
//! The whole file runs a second time under the loader's validation layer
//! (`the_tests_pass_under_the_validation_layer`).

mod support;

use std::process::Command;
use std::ptr;
use std::time::{Duration, Instant};

use support::*;
use ze_sys::*;

/// Set in the child process that reruns this file under the validation layer.
const NESTED: &str = "SWZE_COPY_REGION_UNDER_VALIDATION";

fn region(x: u32, y: u32, z: u32, width: u32, height: u32, depth: u32) -> ze_copy_region_t {
    ze_copy_region_t { originX: x, originY: y, originZ: z, width, height, depth }
}

fn pattern(size: usize, seed: u8) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed ^ (i >> 8) as u8)).collect()
}

/// One side of a copy: buffer, region, pitches.
struct Side<'a> {
    base: *mut u8,
    region: &'a ze_copy_region_t,
    pitch: u32,
    slice_pitch: u32,
}

fn append(list: ze_command_list_handle_t, dst: &Side, src: &Side, signal: ze_event_handle_t, waits: &[ze_event_handle_t]) -> ze_result_t {
    let mut waits = waits.to_vec();
    let wait_pointer = if waits.is_empty() { ptr::null_mut() } else { waits.as_mut_ptr() };
    // SAFETY: the tests keep both buffers alive until the copy is observed
    // complete; the wait list holds `waits.len()` handles.
    unsafe {
        (ze().append_copy_region)(
            list,
            dst.base.cast(),
            dst.region,
            dst.pitch,
            dst.slice_pitch,
            src.base.cast(),
            src.region,
            src.pitch,
            src.slice_pitch,
            signal,
            waits.len() as u32,
            wait_pointer,
        )
    }
}

/// The host reference: where each byte of the region lands, and that every
/// other byte of the destination kept its value.
#[allow(clippy::too_many_arguments)]
fn verify(destination: &[u8], before: &[u8], source: &[u8], dst: (&ze_copy_region_t, usize, usize), src: (&ze_copy_region_t, usize, usize)) {
    let (dr, dp, ds) = dst;
    let (sr, sp, ss) = src;
    let mut expected = before.to_vec();
    for z in 0..sr.depth.max(1) as usize {
        for y in 0..sr.height as usize {
            for x in 0..sr.width as usize {
                let d = dr.originX as usize + x + (dr.originY as usize + y) * dp + (dr.originZ as usize + z) * ds;
                let s = sr.originX as usize + x + (sr.originY as usize + y) * sp + (sr.originZ as usize + z) * ss;
                expected[d] = source[s];
            }
        }
    }
    if let Some(first) = (0..destination.len()).find(|&i| destination[i] != expected[i]) {
        panic!("byte {first}: {} instead of {}", destination[first], expected[first]);
    }
}

#[test]
fn a_2d_tile_between_arrays_of_different_pitches() {
    let _serial = serial();
    let setup = Setup::new(1);
    // A 5-row × 24-byte tile at (8, 3) of 64-byte rows, to (4, 1) of 40-byte rows.
    let mut source = pattern(64 * 10, 1);
    let mut destination = pattern(40 * 8, 2);
    let before = destination.clone();
    let (sr, dr) = (region(8, 3, 0, 24, 5, 0), region(4, 1, 0, 24, 5, 0));
    let src = Side { base: source.as_mut_ptr(), region: &sr, pitch: 64, slice_pitch: 0 };
    let dst = Side { base: destination.as_mut_ptr(), region: &dr, pitch: 40, slice_pitch: 0 };
    check(append(setup.list, &dst, &src, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    verify(&destination, &before, &source, (&dr, 40, 0), (&sr, 64, 0));
}

#[test]
fn a_3d_block_through_device_memory_and_back() {
    let _serial = serial();
    let setup = Setup::new(2);
    // 3 slices × 4 rows × 6 bytes out of a 5 × 7 × 16 host array, into a
    // packed device block, then back into a third array of other pitches.
    let (hp, hs) = (16usize, 16 * 7);
    let mut source = pattern(hs * 5, 3);
    let device = device_memory(setup.context, 6 * 4 * 3);
    let (sr, packed) = (region(2, 1, 1, 6, 4, 3), region(0, 0, 0, 6, 4, 3));
    let src = Side { base: source.as_mut_ptr(), region: &sr, pitch: hp as u32, slice_pitch: hs as u32 };
    let on_device = Side { base: device, region: &packed, pitch: 6, slice_pitch: 24 };
    check(append(setup.list, &on_device, &src, setup.events[0], &[]));
    let mut back = vec![0u8; 10 * 9 * 4];
    let before = back.clone();
    let br = region(3, 2, 0, 6, 4, 3);
    let dst = Side { base: back.as_mut_ptr(), region: &br, pitch: 10, slice_pitch: 90 };
    check(append(setup.list, &dst, &on_device, setup.events[1], &[]));
    check(synchronize(setup.events[1], u64::MAX));
    assert_eq!(query(setup.events[0]), ZE_RESULT_SUCCESS, "in order");
    verify(&back, &before, &source, (&br, 10, 90), (&sr, hp, hs));
    // SAFETY: allocated above, no command uses it any more.
    check(unsafe { (ze().mem_free)(setup.context, device.cast()) });
}

#[test]
fn zero_pitches_are_packed_rows_and_slices_and_depth_zero_is_2d() {
    let _serial = serial();
    let setup = Setup::new(1);
    // Pitch 0: rows of originX + width bytes; slice pitch 0: slices of
    // originY + height rows (Intel's reading).
    let sr = region(2, 1, 1, 6, 3, 2);
    let (sp, ss) = (8usize, 8 * 4);
    let mut source = pattern(ss * 3, 4);
    let dr = region(0, 0, 0, 6, 3, 2);
    let mut destination = vec![0u8; 6 * 3 * 2];
    let before = destination.clone();
    let src = Side { base: source.as_mut_ptr(), region: &sr, pitch: 0, slice_pitch: 0 };
    let dst = Side { base: destination.as_mut_ptr(), region: &dr, pitch: 0, slice_pitch: 0 };
    check(append(setup.list, &dst, &src, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    verify(&destination, &before, &source, (&dr, 6, 18), (&sr, sp, ss));
    // Depth 0 copies one slice, whatever the slice pitch says.
    // SAFETY: live event, its copy observed complete.
    check(unsafe { (ze().event_host_reset)(setup.events[0]) });
    let (sr, dr) = (region(0, 0, 0, 4, 2, 0), region(0, 0, 0, 4, 2, 0));
    let mut destination = vec![0u8; 16];
    let before = destination.clone();
    let src = Side { base: source.as_mut_ptr(), region: &sr, pitch: 8, slice_pitch: 1 };
    let dst = Side { base: destination.as_mut_ptr(), region: &dr, pitch: 4, slice_pitch: 1 };
    check(append(setup.list, &dst, &src, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    verify(&destination, &before, &source, (&dr, 4, 0), (&sr, 8, 0));
}

#[test]
fn interleaved_tiles_of_one_array_are_not_overlapping() {
    let _serial = serial();
    let setup = Setup::new(1);
    // Left half of each 32-byte row to the right half of the same rows.
    let mut array = pattern(32 * 16, 5);
    let original = array.clone();
    let (left, right) = (region(0, 0, 0, 16, 16, 1), region(16, 0, 0, 16, 16, 1));
    let base = array.as_mut_ptr();
    let src = Side { base, region: &left, pitch: 32, slice_pitch: 0 };
    let dst = Side { base, region: &right, pitch: 32, slice_pitch: 0 };
    check(append(setup.list, &dst, &src, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    verify(&array, &original, &original, (&right, 32, 0), (&left, 32, 0));
}

#[test]
fn every_argument_error() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(2);
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    let r = region(0, 0, 0, 16, 8, 2);
    let ok_a = Side { base: a.as_mut_ptr(), region: &r, pitch: 32, slice_pitch: 256 };
    let ok_b = Side { base: b.as_mut_ptr(), region: &r, pitch: 32, slice_pitch: 256 };
    let signal = setup.events[0];
    let err = |dst: &Side, src: &Side| append(setup.list, dst, src, signal, &[]);

    // SAFETY: each call passes valid pointers except the NULL or stale one under test.
    unsafe {
        let null_list = (ze.append_copy_region)(
            ptr::null_mut(), b.as_mut_ptr().cast(), &r, 32, 256, a.as_ptr().cast(), &r, 32, 256, signal, 0, ptr::null_mut());
        assert_eq!(null_list, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let stale_list = list(setup.context);
        check((ze.list_destroy)(stale_list));
        let stale = (ze.append_copy_region)(
            stale_list, b.as_mut_ptr().cast(), &r, 32, 256, a.as_ptr().cast(), &r, 32, 256, signal, 0, ptr::null_mut());
        assert_eq!(stale, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let null_dst_region = (ze.append_copy_region)(
            setup.list, b.as_mut_ptr().cast(), ptr::null(), 32, 256, a.as_ptr().cast(), &r, 32, 256, signal, 0, ptr::null_mut());
        assert_eq!(null_dst_region, ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let null_src_region = (ze.append_copy_region)(
            setup.list, b.as_mut_ptr().cast(), &r, 32, 256, a.as_ptr().cast(), ptr::null(), 32, 256, signal, 0, ptr::null_mut());
        assert_eq!(null_src_region, ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let no_wait_array = (ze.append_copy_region)(
            setup.list, b.as_mut_ptr().cast(), &r, 32, 256, a.as_ptr().cast(), &r, 32, 256, signal, 1, ptr::null_mut());
        assert_eq!(no_wait_array, ZE_RESULT_ERROR_INVALID_SIZE);
    }
    let null = Side { base: ptr::null_mut(), region: &r, pitch: 32, slice_pitch: 256 };
    assert_eq!(err(&null, &ok_a), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    assert_eq!(err(&ok_b, &null), ZE_RESULT_ERROR_INVALID_NULL_POINTER);

    // Pitches smaller than what they span, and a slice pitch without a row pitch.
    for (pitch, slice_pitch) in [(15, 256), (32, 255), (0, 256)] {
        let bad = Side { base: a.as_mut_ptr(), region: &r, pitch, slice_pitch };
        assert_eq!(err(&ok_b, &bad), ZE_RESULT_ERROR_INVALID_ARGUMENT, "source {pitch} {slice_pitch}");
        let bad = Side { base: b.as_mut_ptr(), region: &r, pitch, slice_pitch };
        assert_eq!(err(&bad, &ok_a), ZE_RESULT_ERROR_INVALID_ARGUMENT, "destination {pitch} {slice_pitch}");
    }
    // A range that would run past the end of the address space.
    let far = Side { base: (usize::MAX - 64) as *mut u8, region: &r, pitch: 32, slice_pitch: 256 };
    assert_eq!(err(&far, &ok_a), ZE_RESULT_ERROR_INVALID_ARGUMENT);

    // Overlap: the same region, and regions sharing one byte of one row.
    assert_eq!(err(&ok_a, &ok_a), ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
    let shifted = region(15, 7, 1, 16, 8, 2);
    let touching = Side { base: a.as_mut_ptr(), region: &shifted, pitch: 32, slice_pitch: 256 };
    assert_eq!(err(&touching, &ok_a), ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
    let beside = region(16, 0, 0, 16, 8, 2);
    let disjoint = Side { base: a.as_mut_ptr(), region: &beside, pitch: 32, slice_pitch: 256 };
    check(err(&disjoint, &ok_a));
    check(synchronize(signal, u64::MAX));

    // Stale and foreign events.
    let mut foreign = 0u64;
    let foreign = &mut foreign as *mut u64 as ze_event_handle_t;
    assert_eq!(append(setup.list, &ok_b, &ok_a, foreign, &[]), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
    assert_eq!(append(setup.list, &ok_b, &ok_a, ptr::null_mut(), &[foreign]), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);

    // A refused append signals nothing and holds no event: the unused one
    // is still unsignalled and destroyable at teardown.
    assert_eq!(query(setup.events[1]), ZE_RESULT_NOT_READY);
}

#[test]
fn an_empty_region_only_handles_its_events() {
    let _serial = serial();
    let setup = Setup::new(1);
    let mut a = vec![7u8; 64];
    let mut b = vec![0u8; 64];
    for empty in [region(0, 0, 0, 0, 4, 1), region(0, 0, 0, 4, 0, 1)] {
        // SAFETY: live event, no command pending on it.
        check(unsafe { (ze().event_host_reset)(setup.events[0]) });
        let src = Side { base: a.as_mut_ptr(), region: &empty, pitch: 8, slice_pitch: 0 };
        let dst = Side { base: b.as_mut_ptr(), region: &empty, pitch: 8, slice_pitch: 0 };
        check(append(setup.list, &dst, &src, setup.events[0], &[]));
        check(synchronize(setup.events[0], u64::MAX));
        assert!(b.iter().all(|&byte| byte == 0));
    }
}

#[test]
fn a_region_copy_is_asynchronous_and_honours_its_wait_list() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(3);
    // 512 rows of 1 KiB out of 2 KiB rows: 512 KiB at 8 MB/s takes ~65 ms.
    let mut source = pattern(2048 * 512, 6);
    let mut destination = vec![0u8; 1024 * 512];
    let before = destination.clone();
    let (sr, dr) = (region(512, 0, 0, 1024, 512, 1), region(0, 0, 0, 1024, 512, 1));
    let src = Side { base: source.as_mut_ptr(), region: &sr, pitch: 2048, slice_pitch: 0 };
    let dst = Side { base: destination.as_mut_ptr(), region: &dr, pitch: 1024, slice_pitch: 0 };
    ze.swze.bandwidth(8_000_000);
    let started = Instant::now();
    // It first waits for an event the host signals.
    let gate = setup.events[2];
    check(append(setup.list, &dst, &src, setup.events[0], &[gate]));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(query(setup.events[0]), ZE_RESULT_NOT_READY, "waits for its wait list");
    // SAFETY: live event.
    check(unsafe { (ze.event_host_signal)(gate) });
    assert_eq!(synchronize(setup.events[0], 0), ZE_RESULT_NOT_READY);
    check(synchronize(setup.events[0], u64::MAX));
    assert!(started.elapsed() >= Duration::from_millis(70), "cap not applied: {:?}", started.elapsed());
    ze.swze.bandwidth(0);
    verify(&destination, &before, &source, (&dr, 1024, 0), (&sr, 2048, 0));
    // The driver counts the entry point by its C name.
    assert!(ze.swze.calls("zeCommandListAppendMemoryCopyRegion") >= 1);
}

#[test]
fn the_tests_pass_under_the_validation_layer() {
    if std::env::var_os(NESTED).is_some() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .env(NESTED, "1")
        .env("ZE_ENABLE_VALIDATION_LAYER", "1")
        .env("ZE_ENABLE_PARAMETER_VALIDATION", "1")
        .args(["--test-threads=1", "--skip", "the_tests_pass_under_the_validation_layer"])
        .output()
        .expect("the test binary reruns");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "under the validation layer:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("test result: ok. 7 passed"), "{text}");
}
