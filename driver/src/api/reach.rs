//! What a copy or fill may reach, checked at its append: Intel's rule
//! (inside one allocation the driver knows, else mapped host memory) and the
//! kernel's word on whether host memory is mapped. Apart from the appends
//! (`append.rs`) because it asks only the driver's allocation table and the
//! kernel, never a list.

use std::ffi::c_void;

use ze_sys::*;

use crate::api::allocations;
use crate::entry::{require, ZeResult};

/// What a copy or fill may touch, checked at append so that a bad range is
/// an error there, never a fault in an engine thread. Intel's driver
/// (compute-runtime's `getAlignedAllocationData`) takes a range that is not
/// wholly inside one allocation it knows (of any context: one table per
/// driver) for host memory and imports it as a user pointer; that fails for
/// memory that is not mapped, and the append returns
/// `ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY` with nothing queued. So here:
/// a range that starts inside a known allocation must end inside it (past
/// its end lies device memory Intel cannot import: the same error), and a
/// range in no known allocation must be readable memory (`is_mapped`: not
/// a never-mapped address, nor a freed allocation whose pages went back to
/// the system or were reserved `PROT_NONE` since). A read-only destination
/// is not told apart.
pub(super) fn check_reach(start: usize, size: usize) -> ZeResult {
    if size == 0 {
        return Ok(());
    }
    let end = start.checked_add(size).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)?;
    match allocations::find_in_driver(start) {
        Some((base, size)) => require(end <= base + size, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY),
        None => require(is_mapped(start, end), ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY),
    }
}

/// Every page of `[start, end)` is readable in this process: the kernel
/// reads one byte of each page for us (`process_vm_readv` on our own pid),
/// so a page that is not mapped, or mapped without access (`PROT_NONE`: a
/// malloc arena's reserve, a guard page, which a freed allocation's address
/// may have become), fails the read instead of faulting a thread. A syscall
/// costs more than the rest of an append, so each thread remembers the last
/// few ranges it found readable, until the driver frees any allocation
/// (which may unmap pages; `allocations::frees`). Host memory the program
/// unmaps itself after copying it once is not seen until then.
fn is_mapped(start: usize, end: usize) -> bool {
    const REMEMBERED: usize = 4;
    struct Seen {
        frees: u64,
        ranges: [(usize, usize); REMEMBERED],
        next: usize,
    }
    thread_local! {
        static SEEN: std::cell::RefCell<Seen> =
            const { std::cell::RefCell::new(Seen { frees: u64::MAX, ranges: [(0, 0); REMEMBERED], next: 0 }) };
    }
    let frees = allocations::frees();
    let known = SEEN.with_borrow_mut(|seen| {
        if seen.frees != frees {
            *seen = Seen { frees, ranges: [(0, 0); REMEMBERED], next: 0 };
        }
        seen.ranges.iter().any(|&(low, high)| low <= start && end <= high)
    });
    if known {
        return true;
    }
    let page = page_size();
    let first = start & !(page - 1);
    // One byte of each page: the range's first byte, then each page's first.
    const PAGES_A_CALL: usize = 1024; // IOV_MAX
    let mut bytes = [0u8; PAGES_A_CALL];
    let mut remote = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 1 }; PAGES_A_CALL];
    let mut at = first;
    while at < end {
        let mut count = 0;
        while count < PAGES_A_CALL && at < end {
            remote[count].iov_base = at.max(start) as *mut c_void;
            count += 1;
            at += page;
        }
        let local = libc::iovec { iov_base: bytes.as_mut_ptr().cast(), iov_len: count };
        // SAFETY: `local` is our own buffer of `count` bytes; the kernel reads
        // the remote addresses through the page tables and reports a page it
        // cannot read as an error or a short count, never a fault here.
        let read = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, remote.as_ptr(), count as libc::c_ulong, 0) };
        if read < 0 {
            // EFAULT: the first page is not readable. Anything else (no such
            // call in a sandbox: ENOSYS, EPERM) says nothing against the
            // range, and is not remembered.
            return std::io::Error::last_os_error().raw_os_error() != Some(libc::EFAULT);
        }
        if read as usize != count {
            return false;
        }
    }
    let high = end.checked_next_multiple_of(page).unwrap_or(end);
    SEEN.with_borrow_mut(|seen| {
        let slot = seen.next;
        seen.ranges[slot] = (first, high);
        seen.next = (slot + 1) % REMEMBERED;
    });
    true
}

fn page_size() -> usize {
    static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    match PAGE.load(std::sync::atomic::Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
                size if size > 0 => size as usize,
                _ => 4096,
            };
            PAGE.store(page, std::sync::atomic::Ordering::Relaxed);
            page
        }
        page => page,
    }
}
