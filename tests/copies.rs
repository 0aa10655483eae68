//! Copies through the real loader and the software driver: data, requests,
//! fire-and-forget, custom operators, layouts refused by copy_1D.

mod common;

use std::ffi::{c_int, c_void};
use std::ptr;

use aml_dma_ze::abi::*;
use aml_dma_ze::capi::*;
use common::*;

#[test]
fn a_copy_with_a_request_is_byte_exact_after_wait() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    for (count, element) in [(1usize, 1usize), (1024, 4), (1 << 18, 8), (333, 3)] {
        let mut src = Dense::new(&[count], element, pattern(count));
        let mut dst = Dense::new(&[count], element, |_| 0);
        let mut req = dma.copy(&mut dst, &mut src, true).expect("request create");
        assert!(!req.is_null());
        // SAFETY: a live request of ours has the aml_dma_ze_request prefix.
        let ze_req = unsafe { &*(req as *const aml_dma_ze_request) };
        assert!(!ze_req.event.is_null() && !ze_req.pool.is_null());
        assert_eq!(ze_req.flags, AML_DMA_ZE_REQUEST_FLAGS_PENDING);
        assert_eq!(dma.wait(&mut req), 0);
        assert!(req.is_null(), "wait sets *req to NULL");
        assert!(dst.bytes == src.bytes, "{count}×{element} bytes copied exactly");
    }
}

#[test]
fn a_destroyed_request_still_completes_by_the_next_barrier() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let mut src = Dense::new(&[4096], 1, pattern(3));
    let mut dst = Dense::new(&[4096], 1, |_| 0);
    let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(dma.destroy_request(&mut req), 0);
    assert!(req.is_null());
    assert_eq!(dma.barrier(), 0);
    assert!(dst.bytes == src.bytes);
}

#[test]
fn a_null_request_is_fire_and_forget_completed_by_barrier() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let mut sources: Vec<_> = (0..16).map(|i| Dense::new(&[10_000], 1, pattern(i))).collect();
    let mut targets: Vec<_> = (0..16).map(|_| Dense::new(&[10_000], 1, |_| 0)).collect();
    for (dst, src) in targets.iter_mut().zip(sources.iter_mut()) {
        assert_eq!(dma.copy(dst, src, false), Ok(ptr::null_mut()));
    }
    assert_eq!(dma.barrier(), 0);
    for (dst, src) in targets.iter().zip(sources.iter()) {
        assert!(dst.bytes == src.bytes);
    }
}

#[test]
fn the_dma_reports_its_ops_table_and_fields() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    // SAFETY: a live dma.
    let ops = unsafe { (*dma.0).ops };
    assert_eq!(ops, ptr::addr_of_mut!(aml_dma_ze_ops), "dma->ops is &aml_dma_ze_ops");
    let data = dma.ze_data();
    assert_eq!(data.device, env.device());
    assert!(!data.context.is_null() && !data.command_list.is_null());
    assert_eq!(data.event_flags, ze_sys::ZE_EVENT_SCOPE_FLAG_HOST | ze_sys::ZE_EVENT_SCOPE_FLAG_DEVICE);
}

#[test]
fn a_subdevice_dma_uses_subdevice_event_scope_and_copies() {
    let _serial = serial();
    let env = env();
    assert_eq!(env.subdevices.len(), SUBDEVICES);
    let dma = Dma::new(env.subdevices[1]);
    assert_eq!(dma.ze_data().event_flags, ze_sys::ZE_EVENT_SCOPE_FLAG_HOST | ze_sys::ZE_EVENT_SCOPE_FLAG_SUBDEVICE);
    let mut src = Dense::new(&[512], 2, pattern(9));
    let mut dst = Dense::new(&[512], 2, |_| 0);
    let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(dma.wait(&mut req), 0);
    assert!(dst.bytes == src.bytes);
}

#[test]
fn copy_1d_refuses_layouts_that_are_not_matching_1d() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let mut one_d = Dense::new(&[64], 4, pattern(1));
    let mut two_d = Dense::new(&[8, 8], 4, pattern(2));
    let mut smaller = Dense::new(&[63], 4, pattern(3));
    let mut same_bytes_other_shape = Dense::new(&[128], 2, |_| 0);
    // `op == NULL` is copy_nd: a 2-D layout that is not libaml's dense kind
    // cannot be read; copy_1D itself refuses it as not 1-D.
    assert_eq!(dma.copy(&mut two_d, &mut one_d, true), Err(-AML_ENOTSUP));
    assert_eq!(dma.copy(&mut one_d, &mut two_d, false), Err(-AML_ENOTSUP));
    assert_eq!(dma.copy(&mut smaller, &mut one_d, true), Err(-AML_EINVAL));
    // Same byte count, different element size: allowed (a flat byte copy).
    let mut req = dma.copy(&mut same_bytes_other_shape, &mut one_d, true).unwrap();
    assert_eq!(dma.wait(&mut req), 0);
    assert!(same_bytes_other_shape.bytes == one_d.bytes);
    // NULL layouts.
    let mut req = ptr::null_mut();
    let rc = aml_dma_ze_request_create(dma.data(), &mut req, ptr::null_mut(), one_d.layout(), None, ptr::null_mut());
    assert_eq!(rc, -AML_EINVAL);
    assert!(req.is_null(), "a failed create leaves *req alone");
    // copy_1D called outside a request create: NULL args.
    // SAFETY: the operator checks its arguments.
    assert_eq!(unsafe { aml_dma_ze_copy_1D(one_d.layout(), smaller.layout(), ptr::null_mut()) }, -AML_EINVAL);
    // The dma still works after refusals.
    let mut dst = Dense::new(&[64], 4, |_| 0);
    let mut req = dma.copy(&mut dst, &mut one_d, true).unwrap();
    assert_eq!(dma.wait(&mut req), 0);
    assert!(dst.bytes == one_d.bytes);
}

#[test]
fn memcpy_op_copies_raw_pointers_with_the_size_in_arg() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let src: Vec<u8> = (0..100_000).map(pattern(5)).collect();
    let mut dst = vec![0u8; 100_000];
    let mut req = ptr::null_mut();
    let rc = aml_dma_ze_request_create(
        dma.data(),
        &mut req,
        dst.as_mut_ptr().cast(),
        src.as_ptr() as *mut aml_layout,
        Some(aml_dma_ze_memcpy_op),
        src.len() as *mut c_void,
    );
    assert_eq!(rc, 0);
    assert_eq!(aml_dma_ze_request_wait(dma.data(), &mut req), 0);
    assert!(dst == src);
    // Fire-and-forget through memcpy_op.
    let mut dst2 = vec![0u8; 100_000];
    let rc = aml_dma_ze_request_create(
        dma.data(),
        ptr::null_mut(),
        dst2.as_mut_ptr().cast(),
        src.as_ptr() as *mut aml_layout,
        Some(aml_dma_ze_memcpy_op),
        src.len() as *mut c_void,
    );
    assert_eq!(rc, 0);
    assert_eq!(aml_dma_ze_barrier(dma.data()), 0);
    assert!(dst2 == src);
    // SAFETY: the operator checks its arguments.
    assert_eq!(unsafe { aml_dma_ze_memcpy_op(ptr::null_mut(), ptr::null(), ptr::null_mut()) }, -AML_EINVAL);
}

/// What the custom operator saw, checked after the call.
#[derive(Default)]
struct Seen {
    calls: usize,
    lock_was_held: bool,
    had_event: bool,
    had_request: bool,
    arg_matches: bool,
    return_code: c_int,
    append: bool,
}

unsafe extern "C" fn observing_operator(dst: *mut aml_layout, src: *const aml_layout, arg: *mut c_void) -> c_int {
    // SAFETY: arg is the copy args of a live request create.
    let args = unsafe { &*(arg as *const aml_dma_ze_copy_args) };
    // SAFETY: op_arg of these tests is a &mut Seen.
    let seen = unsafe { &mut *(args.arg as *mut Seen) };
    seen.calls += 1;
    // SAFETY: ze_data is a live aml_dma_ze_data with an initialised mutex.
    let rc = unsafe { libc::pthread_mutex_trylock(ptr::addr_of_mut!((*args.ze_data).lock)) };
    seen.lock_was_held = rc == libc::EBUSY;
    if rc == 0 {
        // SAFETY: we just locked it.
        unsafe { libc::pthread_mutex_unlock(ptr::addr_of_mut!((*args.ze_data).lock)) };
    }
    seen.had_request = !args.ze_req.is_null();
    // SAFETY: ze_req is never NULL under this library.
    seen.had_event = seen.had_request && !unsafe { (*args.ze_req).event }.is_null();
    seen.arg_matches = true;
    if seen.return_code != 0 {
        return seen.return_code;
    }
    if seen.append {
        // SAFETY: a copy of default layouts, appended under the held lock.
        return unsafe { aml_dma_ze_copy_1D(dst, src, arg) };
    }
    0
}

fn create_with(dma: &Dma, req: *mut *mut aml_dma_request, dst: &mut Dense, src: &mut Dense, seen: &mut Seen) -> c_int {
    aml_dma_ze_request_create(dma.data(), req, dst.layout(), src.layout(), Some(observing_operator), seen as *mut Seen as *mut c_void)
}

#[test]
fn a_custom_operator_runs_under_the_lock_with_valid_copy_args() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let mut src = Dense::new(&[2048], 1, pattern(11));
    let mut dst = Dense::new(&[2048], 1, |_| 0);
    let mut seen = Seen { append: true, ..Default::default() };
    let mut req = ptr::null_mut();
    assert_eq!(create_with(&dma, &mut req, &mut dst, &mut src, &mut seen), 0);
    assert_eq!(seen.calls, 1);
    assert!(seen.lock_was_held, "the operator runs under aml_dma_ze_data.lock");
    assert!(seen.had_request && seen.had_event && seen.arg_matches);
    assert_eq!(dma.wait(&mut req), 0);
    assert!(dst.bytes == src.bytes);

    // NULL req: the operator still gets a request, with no event.
    let mut dst2 = Dense::new(&[2048], 1, |_| 0);
    let mut seen = Seen { append: true, ..Default::default() };
    assert_eq!(create_with(&dma, ptr::null_mut(), &mut dst2, &mut src, &mut seen), 0);
    assert!(seen.had_request && !seen.had_event && seen.lock_was_held);
    assert_eq!(dma.barrier(), 0);
    assert!(dst2.bytes == src.bytes);
}

#[test]
fn an_operator_error_is_returned_negated_and_leaks_nothing() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    {
        let dma = Dma::new(env.device());
        let mut src = Dense::new(&[16], 1, pattern(1));
        let mut dst = Dense::new(&[16], 1, |_| 0);
        for (returned, expected) in [(-AML_EDOM, -AML_EDOM), (AML_EBUSY, -AML_EBUSY), (-AML_ENOMEM, -AML_ENOMEM)] {
            let mut seen = Seen { return_code: returned, ..Default::default() };
            let mut req = ptr::null_mut();
            assert_eq!(create_with(&dma, &mut req, &mut dst, &mut src, &mut seen), expected);
            assert!(req.is_null());
            assert_eq!(create_with(&dma, ptr::null_mut(), &mut dst, &mut src, &mut seen), expected);
        }
        // Still works.
        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        assert_eq!(dma.wait(&mut req), 0);
        assert!(dst.bytes == src.bytes);
        assert_eq!(dma.destroy(), 0);
    }
    assert_eq!(env.live_objects(), baseline, "no Level Zero object outlives its dma");
}

/// What the dma's `fprintf` op writes, read back from a temporary file.
fn fprintf_text(dma: &Dma, prefix: &std::ffi::CStr) -> String {
    // SAFETY: tmpfile gives a fresh stream, closed below.
    let stream = unsafe { libc::tmpfile() };
    assert!(!stream.is_null());
    // SAFETY: our ops table; live stream; C string prefix.
    let written = unsafe { ((*(*dma.0).ops).fprintf.unwrap())(dma.data(), stream, prefix.as_ptr()) };
    assert!(written > 0);
    let mut text = vec![0u8; written as usize];
    // SAFETY: rewinding and reading back what was written.
    let read = unsafe {
        libc::rewind(stream);
        let n = libc::fread(text.as_mut_ptr().cast(), 1, text.len(), stream);
        libc::fclose(stream);
        n
    };
    assert_eq!(read, written as usize);
    String::from_utf8(text).unwrap()
}

#[test]
fn fprintf_prints_the_dma_with_the_prefix() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let text = fprintf_text(&dma, c"[pfx] ");
    assert!(text.lines().all(|line| line.starts_with("[pfx] dma-ze: ")), "{text}");
    assert!(text.contains(&format!("device: {:p}", env.device())), "{text}");
    // The handles C sees in `aml_dma_ze_data`, not where the library keeps them.
    let data = dma.ze_data();
    assert!(text.contains(&format!("context: {:p}\n", data.context)), "{text}");
    assert!(text.contains(&format!("command_list: {:p}\n", data.command_list)), "{text}");
    assert!(text.contains("event_flags: 0x6"), "{text}");
    // swze offers counter-based events: the fast path, unless asked not to.
    assert!(text.contains("[pfx] dma-ze: ordering: in-order lists, counter-based events\n"), "{text}");
    let fenced = fprintf_text(&Dma::fenced(env.device()), c"");
    assert!(fenced.contains("dma-ze: ordering: lists kept in order by barriers, events reset by the host\n"), "{fenced}");
    // SAFETY: NULL stream is refused, not dereferenced.
    assert_eq!(unsafe { ((*(*dma.0).ops).fprintf.unwrap())(dma.data(), ptr::null_mut(), ptr::null()) }, -AML_EINVAL);
}

#[test]
fn fprintf_of_a_dma_over_every_copy_engine_names_its_lists_first_list_first() {
    let _serial = serial();
    let env = env();
    let dma = Dma::with_queue(env.device(), 1, -1).expect("a dma over every copy engine of ordinal 1");
    let text = fprintf_text(&dma, c"");
    let line = text.lines().find(|line| line.starts_with("dma-ze: command_lists: ")).expect(&text);
    let lists: Vec<&str> = line.split(['(', ')']).nth(1).expect(&text).split(' ').collect();
    assert!(lists.len() > 1, "{text}");
    assert_eq!(lists[0], format!("{:p}", dma.ze_data().command_list), "{text}");
    let mut distinct = lists.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), lists.len(), "every list once: {text}");
}
