//! The safe layer against the scripted fake driver (`fake`): what each owner
//! and query makes of a failing call, what it calls and leaves alive; and
//! the fake itself, that it flags what it is there to flag.

use std::sync::Arc;

use ze_sys::*;

use super::fake::{Append, Call, Fake, Live, DEVICE, DRIVER, SUB_DEVICES};
use super::*;
use crate::error::ZeError;

fn context(fake: &Fake) -> Arc<Context> {
    Context::create(fake.ze(), Driver::fake(DRIVER)).expect("a fake context")
}

#[test]
fn enumerations_count_then_fill_and_skip_the_fill_when_there_is_none() {
    let fake = Fake::new();
    let ze = fake.ze();
    assert!(Driver::all(ze).expect("listed") == vec![Driver::fake(DRIVER)]);
    assert_eq!(fake.calls(Call::DriverGet), 2, "a count, then a fill");
    let root = Driver::fake(DRIVER).devices(ze).expect("listed");
    assert_eq!(root, vec![Device::fake(DEVICE)]);
    let subs = root[0].sub_devices(ze).expect("listed");
    assert_eq!(subs, SUB_DEVICES.map(Device::fake).to_vec());
    let before = fake.calls(Call::SubDevices);
    assert!(subs[0].sub_devices(ze).expect("a leaf").is_empty());
    assert_eq!(fake.calls(Call::SubDevices), before + 1, "no fill for a count of 0");
    assert!(Driver::first(ze).expect("one") == Some(Driver::fake(DRIVER)));
    assert_eq!(Driver::fake(DRIVER).first_device(ze).expect("one"), Some(Device::fake(DEVICE)));
    assert_eq!(subs[1].queue_groups(ze).expect("listed").len(), 2);
    assert_ne!(subs[1].properties(ze).expect("read").flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE, 0);
}

#[test]
fn an_enumeration_fails_whichever_of_its_two_calls_fails() {
    let fake = Fake::new();
    let ze = fake.ze();
    fake.fail(Call::DriverGet, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(Driver::all(ze).err(), Some(ZeError(ZE_RESULT_ERROR_DEVICE_LOST)));
    fake.fail(Call::DeviceGet, 2, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(Driver::fake(DRIVER).devices(ze).err(), Some(ZeError(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)));
    fake.fail(Call::SubDevices, 1, ZE_RESULT_ERROR_NOT_AVAILABLE);
    assert!(Device::fake(DEVICE).sub_devices(ze).is_err());
    fake.fail(Call::QueueGroups, 2, ZE_RESULT_ERROR_INVALID_ARGUMENT);
    assert!(Device::fake(DEVICE).queue_groups(ze).is_err());
    fake.fail(Call::DeviceProperties, 1, ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS);
    assert!(Device::fake(DEVICE).properties(ze).is_err());
    fake.fail(Call::DriverGet, 1, ZE_RESULT_ERROR_UNINITIALIZED);
    assert!(Driver::first(ze).is_err());
}

#[test]
fn a_driver_offers_the_extensions_it_lists_and_none_when_listing_fails() {
    let fake = Fake::new();
    let ze = fake.ze();
    let driver = Driver::fake(DRIVER);
    assert!(!driver.offers_extension(ze, COUNTER_BASED_EXTENSION));
    fake.offer_extension(c"ZE_extension_other");
    fake.offer_extension(COUNTER_BASED_EXTENSION);
    assert!(driver.offers_extension(ze, COUNTER_BASED_EXTENSION));
    assert!(!driver.offers_extension(ze, c"ZE_experimental_event_pool"), "a name is matched whole");
    fake.fail(Call::ExtensionProperties, 2, ZE_RESULT_ERROR_UNKNOWN);
    assert!(!driver.offers_extension(ze, COUNTER_BASED_EXTENSION));
    assert!(driver.host_import(ze).is_none(), "no zex function: no import");
    assert_eq!(fake.calls(Call::ExtensionFunction), 1, "given up at the first missing function");
}

#[test]
fn a_context_that_fails_is_not_made_and_one_made_goes_with_its_last_owner() {
    let fake = Fake::new();
    fake.fail(Call::ContextCreate, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_eq!(Context::create(fake.ze(), Driver::fake(DRIVER)).err(), Some(ZeError(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)));
    assert_eq!(fake.live(), Live::default());
    let context = context(&fake);
    let list = ImmediateList::create(&context, Device::fake(DEVICE), 0, 0, 0).expect("made");
    drop(context);
    assert_eq!(fake.live(), Live { contexts: 1, lists: 1, pools: 0, events: 0 }, "the list holds it");
    drop(list);
    assert_eq!(fake.live(), Live::default());
    assert_eq!((fake.calls(Call::ListDestroy), fake.calls(Call::ContextDestroy)), (1, 1));
}

#[test]
fn memory_is_what_the_driver_says_and_a_failed_lookup_is_an_error() {
    let fake = Fake::new();
    let context = context(&fake);
    fake.allocation(0x10_000, 0x100, ZE_MEMORY_TYPE_DEVICE, DEVICE);
    fake.allocation(0x20_000, 0x100, ZE_MEMORY_TYPE_DEVICE, 0);
    fake.allocation(0x30_000, 0x100, ZE_MEMORY_TYPE_HOST, 0);
    fake.allocation(0x40_000, 0x100, ZE_MEMORY_TYPE_SHARED, DEVICE);
    let at = |address: usize| context.memory_at(address as *const _).expect("looked up");
    assert_eq!(at(0x10_0ff), Memory::Device(Some(Device::fake(DEVICE))));
    assert_eq!(at(0x20_000), Memory::Device(None), "a device allocation of no named device");
    assert_eq!(at(0x30_000), Memory::Host);
    assert_eq!(at(0x40_000), Memory::Other);
    assert_eq!(at(0x10_100), Memory::Unknown);
    assert_eq!(context.is_allocation(0x30_010 as *const _), Ok(true));
    assert_eq!(context.is_allocation(0x50_000 as *const _), Ok(false));
    fake.fail(Call::AllocProperties, 1, ZE_RESULT_ERROR_INVALID_ARGUMENT);
    assert!(context.memory_at(0x10_000 as *const _).is_err());
    fake.fail(Call::AllocProperties, 1, ZE_RESULT_ERROR_INVALID_ARGUMENT);
    assert!(context.is_allocation(0x10_000 as *const _).is_err());
}

#[test]
fn a_list_that_fails_is_not_made_and_a_failed_append_appends_nothing() {
    let fake = Fake::new();
    let context = context(&fake);
    fake.fail(Call::ListCreate, 1, ZE_RESULT_ERROR_INVALID_ENUMERATION);
    let refused = ImmediateList::create(&context, Device::fake(DEVICE), 0, 0, COMMAND_QUEUE_FLAG_IN_ORDER);
    assert!(refused.err().is_some_and(ZeError::is_invalid_enumeration));
    assert_eq!(fake.live().lists, 0);
    let list = ImmediateList::create(&context, Device::fake(DEVICE), 0, 0, 0).expect("made");
    let mut pool = EventPool::create(&context, Device::fake(DEVICE), 4, false).expect("made");
    let (a, b) = (pool.create_event(0).expect("made"), pool.create_event(0).expect("made"));
    // SAFETY: only this thread appends to the list.
    let appender = unsafe { list.appender() };
    // SAFETY: the fake copies nothing.
    let copy = unsafe { Copy::new(0x1000 as *mut u8, 0x2000 as *const u8, 8) };
    appender.copy(&copy, Some(a), &[]).expect("appended");
    appender.barrier(Some(b), &[a]).expect("appended");
    fake.fail(Call::AppendBarrier, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(appender.barrier(None, &[a, b]), Err(ZeError(ZE_RESULT_ERROR_DEVICE_LOST)));
    fake.fail(Call::AppendCopy, 1, ZE_RESULT_ERROR_INVALID_SIZE);
    assert_eq!(appender.copy(&copy, None, &[]), Err(ZeError(ZE_RESULT_ERROR_INVALID_SIZE)));
    let region = ze_copy_region_t { width: 8, height: 1, depth: 1, ..Default::default() };
    fake.fail(Call::AppendCopyRegion, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    // SAFETY: as above.
    let failed = unsafe { appender.copy_region(0x1000 as *mut _, &region, 8, 8, 0x2000 as *const _, &region, 8, 8, None) };
    assert_eq!(failed, Err(ZeError(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)));
    let raw = |event: Event| event.as_raw() as usize;
    let list_raw = list.as_raw() as usize;
    assert_eq!(
        fake.appends(),
        vec![
            Append { call: Call::AppendCopy, list: list_raw, dst: 0x1000, signal: raw(a), wait: vec![] },
            Append { call: Call::AppendBarrier, list: list_raw, dst: 0, signal: raw(b), wait: vec![raw(a)] },
        ],
        "failed appends append nothing"
    );
    assert_eq!((a.is_signalled(fake.ze()), b.is_signalled(fake.ze())), (Ok(true), Ok(true)));
}

#[test]
fn an_event_pool_that_fails_is_not_made_and_drops_its_events_first() {
    let fake = Fake::new();
    let context = context(&fake);
    fake.fail(Call::PoolCreate, 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert!(EventPool::create(&context, Device::fake(DEVICE), 2, true).is_err());
    let mut pool = EventPool::create(&context, Device::fake(DEVICE), 2, true).expect("made");
    fake.fail(Call::EventCreate, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert!(pool.create_event(0).is_err());
    assert!(!pool.is_full(), "the failed index is still free");
    let event = pool.create_event(0).expect("made");
    pool.create_event(0).expect("made");
    assert!(pool.is_full());
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.create_event(0))).is_err(), "full");
    // A counter-based event: its host reset is refused, as Intel's driver does.
    assert_eq!(event.host_reset(fake.ze()), Err(ZeError(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)));
    assert_eq!(fake.take_violations().len(), 1, "and flagged: the library never does it");
    drop(pool);
    assert_eq!(fake.live(), Live { contexts: 1, lists: 0, pools: 0, events: 0 });
    assert_eq!((fake.calls(Call::EventDestroy), fake.calls(Call::PoolDestroy)), (2, 1));
}

#[test]
fn a_query_tells_not_ready_from_a_failure() {
    let fake = Fake::new();
    let context = context(&fake);
    let list = ImmediateList::create(&context, Device::fake(DEVICE), 0, 0, 0).expect("made");
    let mut pool = EventPool::create(&context, Device::fake(DEVICE), 1, false).expect("made");
    let event = pool.create_event(0).expect("made");
    let ze = fake.ze();
    assert_eq!(event.is_signalled(ze), Ok(false), "NOT_READY is an answer");
    fake.hold();
    // SAFETY: only this thread appends to the list.
    unsafe { list.appender() }.barrier(Some(event), &[]).expect("appended");
    assert_eq!(event.is_signalled(ze), Ok(false), "held: not run yet");
    fake.fail(Call::QueryStatus, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(event.is_signalled(ze), Err(ZeError(ZE_RESULT_ERROR_DEVICE_LOST)));
    fake.fail(Call::HostSynchronize, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert!(event.host_synchronize(ze).is_err());
    assert!(!fake.signalled(event.as_raw()), "a failed synchronize waited for nothing");
    assert_eq!(event.host_synchronize(ze), Ok(()), "the host waits for the device");
    assert_eq!(event.is_signalled(ze), Ok(true));
}

#[test]
fn the_fake_flags_what_would_break_the_recyclers_invariant() {
    let fake = Fake::new();
    let context = context(&fake);
    let list = ImmediateList::create(&context, Device::fake(DEVICE), 0, 0, 0).expect("made");
    let mut pool = EventPool::create(&context, Device::fake(DEVICE), 1, false).expect("made");
    let event = pool.create_event(0).expect("made");
    // SAFETY: only this thread appends to the list.
    let appender = unsafe { list.appender() };
    fake.hold();
    appender.barrier(Some(event), &[]).expect("appended");
    event.host_reset(fake.ze()).expect("the driver does it");
    assert_eq!(fake.take_violations().len(), 1, "a reset while the device may signal it");
    fake.finish();
    appender.barrier(Some(event), &[]).expect("appended");
    assert_eq!(fake.take_violations().len(), 1, "a signal of an event not reset");
    drop(pool);
    let flagged = fake.take_violations();
    assert!(flagged.is_empty(), "destroyed once complete: {flagged:?}");
}
