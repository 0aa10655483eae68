//! Configuration through the environment, read at the first zeInit: this test
//! binary is its own process, so it can set the variables first.

mod support;

use std::ptr;

use support::*;
use ze_sys::*;

#[test]
fn environment_variables_configure_faults_bandwidth_and_inline_mode() {
    // SAFETY (set_var): before the first zeInit, with no other test running
    // in this process (this binary holds a single test).
    std::env::set_var("SWZE_FAULT", "zeContextCreate:2:ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY,zeEventCreate:1:0x78000004");
    std::env::set_var("SWZE_COPY_BANDWIDTH", "10M");
    std::env::set_var("SWZE_INLINE", "1");
    let ze = ze();
    let desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    let (mut first, mut second) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid descriptor and out-pointers.
    unsafe {
        check((ze.context_create)(driver(), &desc, &mut first));
        assert_eq!((ze.context_create)(driver(), &desc, &mut second), ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    }
    let list = list(first);
    let pool = pool(first, 1);
    let mut event = ptr::null_mut();
    // SAFETY: valid pool, descriptor and out-pointer.
    unsafe {
        assert_eq!((ze.event_create)(pool, &event_desc(0), &mut event), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        check((ze.event_create)(pool, &event_desc(0), &mut event));
    }
    // Inline and capped: a 200 kB copy takes ~20 ms inside the append.
    let source = vec![5u8; 200_000];
    let mut destination = vec![0u8; source.len()];
    let started = std::time::Instant::now();
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), source.len(), event, &[]));
    assert!(started.elapsed() >= std::time::Duration::from_millis(15));
    assert_eq!(query(event), ZE_RESULT_SUCCESS);
    assert!(destination == source);
    // SAFETY: handles created above, destroyed once, children first.
    unsafe {
        check((ze.list_destroy)(list));
        check((ze.event_destroy)(event));
        check((ze.pool_destroy)(pool));
        check((ze.context_destroy)(first));
    }
}
