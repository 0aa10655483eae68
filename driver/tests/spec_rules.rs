//! The spec's argument rules that Intel's driver does not enforce (input
//! descriptor stypes, flag and enum ranges): accepted by default, as on
//! Intel's driver, and refused with the spec's result and a message on stderr
//! naming the call under `SWZE_STRICT=1`. The strict run is this same test in
//! a child process, since the driver reads `SWZE_STRICT` at `zeInit`.

mod support;

use std::ffi::c_void;
use std::process::Command;
use std::ptr;

use support::*;
use ze_sys::*;

/// One call that breaks one spec rule: what strict mode answers, and the
/// message it prints.
struct Case {
    name: &'static str,
    strict_result: ze_result_t,
    message: &'static str,
    /// Makes the call, undoes whatever it created, returns its result.
    call: Box<dyn Fn() -> ze_result_t>,
}

fn case(name: &'static str, strict_result: ze_result_t, message: &'static str, call: impl Fn() -> ze_result_t + 'static) -> Case {
    Case { name, strict_result, message, call: Box::new(call) }
}

/// The driver's own `zeInit`, from its table: a loader from 1.10 on calls
/// the driver's `zeInit` once per process and answers every later `zeInit`
/// itself with that result (oneapi-src/level-zero `source/lib/ze_libapi.cpp`),
/// so a `zeInit` through it would never reach the driver.
///
/// # Safety
/// `flags` is a plain integer; the driver is loaded (by the loader).
unsafe fn driver_init(flags: ze_init_flags_t) -> ze_result_t {
    // SAFETY: RTLD_NOLOAD only finds the copy the loader loaded.
    let swze = unsafe { libloading::os::unix::Library::open(Some(driver_path()), libc::RTLD_NOW | libc::RTLD_NOLOAD) }
        .expect("the loader loaded the driver");
    // SAFETY: the getter's signature is that of ze_ddi.h.
    let getter = unsafe {
        *swze
            .get::<unsafe extern "C" fn(ze_api_version_t, *mut ze_global_dditable_t) -> ze_result_t>(b"zeGetGlobalProcAddrTable\0")
            .expect("zeGetGlobalProcAddrTable")
    };
    let mut table = ze_global_dditable_t::default();
    // SAFETY: a table of the version asked for, on our stack.
    assert_eq!(unsafe { getter(ZE_API_VERSION_CURRENT, &mut table) }, ZE_RESULT_SUCCESS);
    // SAFETY: the driver's zeInit, a plain flags argument.
    unsafe { table.pfnInit.expect("the driver's zeInit")(flags) }
}

fn cases(context: ze_context_handle_t, pool: ze_event_pool_handle_t) -> Vec<Case> {
    let ze = ze();
    let context_desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    let create_context = move |desc: ze_context_desc_t| {
        let mut created = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        let result = unsafe { (ze.context_create)(driver(), &desc, &mut created) };
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the context just created.
            check(unsafe { (ze.context_destroy)(created) });
        }
        result
    };
    let device_desc = ze_device_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC, ..Default::default() };
    let host_desc = ze_host_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC, ..Default::default() };
    let free_if_made = move |result: ze_result_t, memory: *mut c_void| {
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the allocation just made.
            check(unsafe { (ze.mem_free)(context, memory) });
        }
        result
    };
    let alloc_device = move |desc: ze_device_mem_alloc_desc_t| {
        let mut memory = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        free_if_made(unsafe { (ze.mem_alloc_device)(context, &desc, 64, 0, device(), &mut memory) }, memory)
    };
    let alloc_host = move |desc: ze_host_mem_alloc_desc_t| {
        let mut memory = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        free_if_made(unsafe { (ze.mem_alloc_host)(context, &desc, 64, 0, &mut memory) }, memory)
    };
    let good_queue = queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let create_list = move |desc: ze_command_queue_desc_t| {
        let mut list = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        let result = unsafe { (ze.list_create_immediate)(context, device(), &desc, &mut list) };
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the list just created.
            check(unsafe { (ze.list_destroy)(list) });
        }
        result
    };
    let good_pool = ze_event_pool_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, count: 1, ..Default::default() };
    let create_pool = move |desc: ze_event_pool_desc_t| {
        let mut created = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        let result = unsafe { (ze.pool_create)(context, &desc, 0, ptr::null_mut(), &mut created) };
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the pool just created.
            check(unsafe { (ze.pool_destroy)(created) });
        }
        result
    };
    let create_event = move |desc: ze_event_desc_t| {
        let mut event = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        let result = unsafe { (ze.event_create)(pool, &desc, &mut event) };
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the event just created.
            check(unsafe { (ze.event_destroy)(event) });
        }
        result
    };
    let desc = event_desc(0);
    let twin_event = move || {
        let (mut first, mut twin) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: valid descriptors and out-pointers; what was made is destroyed.
        unsafe {
            check((ze.event_create)(pool, &event_desc(0), &mut first));
            let result = (ze.event_create)(pool, &event_desc(0), &mut twin);
            if result == ZE_RESULT_SUCCESS {
                check((ze.event_destroy)(twin));
            }
            check((ze.event_destroy)(first));
            result
        }
    };
    let list_desc = ze_command_list_desc_t { stype: ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC, ..Default::default() };
    let create_regular = move |desc: ze_command_list_desc_t| {
        let mut list = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        let result = unsafe { (ze.list_create)(context, device(), &desc, &mut list) };
        if result == ZE_RESULT_SUCCESS {
            // SAFETY: the list just created.
            check(unsafe { (ze.list_destroy)(list) });
        }
        result
    };
    let fence_with_flags = move |flags: u32| {
        let queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
        let desc = ze_fence_desc_t { stype: ZE_STRUCTURE_TYPE_FENCE_DESC, flags, ..Default::default() };
        let mut fence = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer; what was made is destroyed.
        unsafe {
            let result = (ze.fence_create)(queue, &desc, &mut fence);
            if result == ZE_RESULT_SUCCESS {
                check((ze.fence_destroy)(fence));
            }
            check((ze.queue_destroy)(queue));
            result
        }
    };
    let fill_on = move |closed: bool, pattern: &'static [u8]| {
        let list = regular_list(context, 0);
        if closed {
            check(close(list));
        }
        let mut target = [0u8; 64];
        let result = fill(list, target.as_mut_ptr(), pattern, 64, ptr::null_mut());
        // SAFETY: the list just made; nothing was executed.
        check(unsafe { (ze.list_destroy)(list) });
        result
    };
    let ranges_barrier_without_arrays = move || {
        let list = regular_list(context, 0);
        // SAFETY: a live list; no ranges, so no array is read.
        let result = unsafe { (ze.append_ranges_barrier)(list, 0, ptr::null(), ptr::null_mut(), ptr::null_mut(), 0, ptr::null_mut()) };
        // SAFETY: the list just made; nothing was executed.
        check(unsafe { (ze.list_destroy)(list) });
        result
    };
    let destroy_context_first = move || {
        let parent = support::context();
        let list = regular_list(parent, 0);
        // SAFETY: live handles, each destroyed once whatever the answer.
        unsafe {
            let result = (ze.context_destroy)(parent);
            check((ze.list_destroy)(list));
            if result != ZE_RESULT_SUCCESS {
                check((ze.context_destroy)(parent));
            }
            result
        }
    };
    use ZE_RESULT_ERROR_INVALID_ARGUMENT as WRONG_STYPE;
    use ZE_RESULT_ERROR_INVALID_ENUMERATION as OUT_OF_RANGE;
    vec![
        // SAFETY: a plain flags argument.
        case("zeInit flags", OUT_OF_RANGE, "swze: zeInit: flags = 0x4", move || unsafe { driver_init(0x4) }),
        case("context stype", WRONG_STYPE, "swze: zeContextCreate: descriptor stype is 0x11", move || {
            create_context(ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_DESC, ..context_desc })
        }),
        case("context flags", OUT_OF_RANGE, "swze: zeContextCreate: desc->flags = 0x2", move || {
            create_context(ze_context_desc_t { flags: 0x2, ..context_desc })
        }),
        case("device memory stype", WRONG_STYPE, "swze: zeMemAllocDevice: descriptor stype is 0x16", move || {
            alloc_device(ze_device_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC, ..device_desc })
        }),
        case("device memory flags", OUT_OF_RANGE, "swze: zeMemAllocDevice: device_desc->flags = 0x8", move || {
            alloc_device(ze_device_mem_alloc_desc_t { flags: 0x8, ..device_desc })
        }),
        case("host memory flags", OUT_OF_RANGE, "swze: zeMemAllocHost: host_desc->flags = 0x10", move || {
            alloc_host(ze_host_mem_alloc_desc_t { flags: 0x10, ..host_desc })
        }),
        // What a real AML program passes (upstream's ze.c): accepted by Intel's driver.
        case(
            "queue stype of a queue group properties struct",
            WRONG_STYPE,
            "swze: zeCommandListCreateImmediate: descriptor stype is 0x6, expected ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC",
            move || create_list(ze_command_queue_desc_t { stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES, ..good_queue }),
        ),
        // API 1.7's range: EXPLICIT_ONLY and IN_ORDER.
        case("queue flags", OUT_OF_RANGE, "swze: zeCommandListCreateImmediate: desc->flags = 0x4", move || {
            create_list(ze_command_queue_desc_t { flags: 0x4, ..good_queue })
        }),
        case("queue mode", OUT_OF_RANGE, "swze: zeCommandListCreateImmediate: desc->mode = 0x3", move || {
            create_list(ze_command_queue_desc_t { mode: 3, ..good_queue })
        }),
        case("queue priority", OUT_OF_RANGE, "swze: zeCommandListCreateImmediate: desc->priority = 0x3", move || {
            create_list(ze_command_queue_desc_t { priority: 3, ..good_queue })
        }),
        case("pool stype", WRONG_STYPE, "swze: zeEventPoolCreate: descriptor stype is 0x11", move || {
            create_pool(ze_event_pool_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_DESC, ..good_pool })
        }),
        case("pool flags", OUT_OF_RANGE, "swze: zeEventPoolCreate: desc->flags = 0x8", move || {
            create_pool(ze_event_pool_desc_t { flags: 0x8, ..good_pool })
        }),
        case("event stype", WRONG_STYPE, "swze: zeEventCreate: descriptor stype is 0x10", move || {
            create_event(ze_event_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, ..desc })
        }),
        case("event signal scope", OUT_OF_RANGE, "swze: zeEventCreate: desc->signal = 0x8", move || {
            create_event(ze_event_desc_t { signal: 0x8, ..desc })
        }),
        case("event wait scope", OUT_OF_RANGE, "swze: zeEventCreate: desc->wait = 0x8", move || {
            create_event(ze_event_desc_t { wait: 0x8, ..desc })
        }),
        // Intel's driver lets two events alias one index.
        case("event index in use", WRONG_STYPE, "swze: zeEventCreate: desc->index = 0 is already in use", twin_event),
        case("list stype", WRONG_STYPE, "swze: zeCommandListCreate: descriptor stype is 0xe", move || {
            create_regular(ze_command_list_desc_t { stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC, ..list_desc })
        }),
        // API 1.7's range, IN_ORDER (0x8) its last.
        case("list flags", OUT_OF_RANGE, "swze: zeCommandListCreate: desc->flags = 0x10", move || {
            create_regular(ze_command_list_desc_t { flags: 0x10, ..list_desc })
        }),
        case("fence flags", OUT_OF_RANGE, "swze: zeFenceCreate: desc->flags = 0x2", move || fence_with_flags(0x2)),
        // Intel's compute engines fill any pattern length.
        case(
            "fill pattern of 3 bytes",
            ZE_RESULT_ERROR_INVALID_SIZE,
            "swze: zeCommandListAppendMemoryFill: pattern_size = 3 is not a power of two",
            move || fill_on(false, &[1, 2, 3]),
        ),
        // Intel's driver records after a close.
        case(
            "append after close",
            WRONG_STYPE,
            "swze: zeCommandListAppendMemoryFill: appending to a closed command list",
            move || fill_on(true, &[1]),
        ),
        // Intel's driver reads no range when there are none.
        case(
            "ranges barrier with NULL arrays and no ranges",
            ZE_RESULT_ERROR_INVALID_NULL_POINTER,
            "swze: zeCommandListAppendMemoryRangesBarrier: 0 ranges given by a NULL pRangeSizes or pRanges",
            ranges_barrier_without_arrays,
        ),
        // Intel's context destroy deletes the context only.
        case(
            "context destroyed before its list",
            ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE,
            "swze: zeContextDestroy: the context still has",
            destroy_context_first,
        ),
    ]
}

const STRICT_CHILD: &str = "SWZE_SPEC_RULES_CHILD";

/// Run plainly: every case is accepted. Run as the strict child: every case
/// is refused with the spec's result.
#[test]
fn spec_rules_follow_the_mode() {
    let strict = std::env::var_os(STRICT_CHILD).is_some();
    assert_eq!(strict, std::env::var("SWZE_STRICT").as_deref() == Ok("1"), "the child runs with SWZE_STRICT=1");
    let _serial = serial();
    let context = context();
    let pool = pool(context, 1);
    for case in cases(context, pool) {
        let expected = if strict { case.strict_result } else { ZE_RESULT_SUCCESS };
        assert_eq!((case.call)(), expected, "{} (strict: {strict})", case.name);
    }
    let ze = ze();
    // SAFETY: the pool and context made above, now unused.
    unsafe {
        check((ze.pool_destroy)(pool));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn strict_mode_refuses_and_names_the_call() {
    if std::env::var_os(STRICT_CHILD).is_some() {
        return; // the child runs only `spec_rules_follow_the_mode`
    }
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "spec_rules_follow_the_mode", "--test-threads=1", "--nocapture"])
        .env(STRICT_CHILD, "1")
        .env("SWZE_STRICT", "1")
        .output()
        .expect("run the strict child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "strict child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child ran the test:\n{stdout}");
    let context = ptr::null_mut();
    for case in cases(context, ptr::null_mut()) {
        assert!(stderr.contains(case.message), "{}: no {:?} in the child's stderr:\n{stderr}", case.name, case.message);
    }
}
