//! Sleeping on an event word: Linux futexes on the word itself, so a signal
//! is a store plus (only when someone sleeps) one wake-up call.

use std::ptr;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `word` holds `expected`, at most `timeout`; may wake early
/// (spuriously, or because the value changed): callers re-check.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let timespec = timeout.map(|timeout| libc::timespec {
        tv_sec: timeout.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    });
    let timespec_pointer = timespec.as_ref().map_or(ptr::null(), |timespec| timespec as *const libc::timespec);
    // SAFETY: FUTEX_WAIT reads the word at a valid, aligned address and
    // sleeps; the timeout is NULL or a valid relative timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            timespec_pointer,
        );
    }
}

pub fn wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX);
    }
}
