// SPDX-License-Identifier: GPL-2.0

//! The work of a cache's mmu interval notifier (its C half is
//! `pfn_cache_shim.c`).

use super::*;

/// Makes a cache invalid.
///
/// # Safety
///
/// `pc` is a live cache whose write lock the caller holds.
pub(super) unsafe fn invalidate(pc: *mut Cache) {
    // SAFETY: The write lock is held: the state may be written.
    unsafe {
        (*pc).gpc.valid = false;
        (*pc).gpc.khva = ptr::null_mut();
        (*pc).f.pfn = 0;
    }
}

/// The notifier's work: see `rust/pfn_cache_shim.h`.
///
/// # Safety
///
/// `pc` is a live cache whose write lock the caller holds.
#[no_mangle]
pub(super) unsafe extern "C" fn guestgate_rs_gpc_invalidate(pc: *mut Cache) {
    // SAFETY: By the safety requirements; the counter is accessed
    // atomically.
    unsafe {
        invalidate(pc);
        AtomicU64::from_ptr(ptr::addr_of_mut!((*pc).f.counters.invalidations))
            .fetch_add(1, Relaxed);
    }
    INVALIDATIONS.fetch_add(1, Relaxed);
}

bindings::c_prototype!(guestgate_rs_gpc_invalidate: unsafe extern "C" fn(*mut Cache));
