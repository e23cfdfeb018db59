// SPDX-License-Identifier: GPL-2.0

//! The C API: see `include/linux/guestgate/pfncache.h` for each function. A C
//! handle is a [`PfnCache`] given up with `into_raw()`, or an
//! `Arc<Memslots>` given up with [`Arc::into_raw`]; the callers' contract
//! is that they pass handles they got from guestgate and not destroyed yet.

use super::*;
use kernel::error::from_result;

type Slots = bindings::guestgate_memslots;

/// # Safety
///
/// `slotsp` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_memslots_create(slotsp: *mut *mut Slots) -> c_int {
    from_result(|| {
        let s = Memslots::new()?;
        // SAFETY: By the safety requirements.
        unsafe { slotsp.write(Arc::into_raw(s).cast_mut().cast()) };
        Ok(0)
    })
}

/// # Safety
///
/// `slots` is a live handle.
unsafe fn slots<'a>(slots: *mut Slots) -> ArcBorrow<'a, Memslots> {
    // SAFETY: From `Arc::into_raw()`, and its creator's reference stays
    // until `guestgate_memslots_destroy()` (safety requirements).
    unsafe { ArcBorrow::from_raw(slots.cast_const().cast()) }
}

/// # Safety
///
/// `s` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_memslots_set(
    s: *mut Slots,
    id: u32,
    base_gfn: u64,
    npages: u64,
    uhva: c_ulong,
) -> c_int {
    // SAFETY: By the safety requirements.
    let table = unsafe { slots(s) };
    from_result(|| table.set(id, base_gfn, npages, uhva as u64).map(|()| 0))
}

/// # Safety
///
/// `s` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_memslots_generation(s: *mut Slots) -> u64 {
    // SAFETY: By the safety requirements.
    unsafe { slots(s) }.generation()
}

/// # Safety
///
/// `s` is NULL or a live handle, which this call ends.
#[no_mangle]
unsafe extern "C" fn guestgate_memslots_destroy(s: *mut Slots) {
    if !s.is_null() {
        // SAFETY: The creator's reference, given up here.
        drop(unsafe { Arc::from_raw(s.cast_const().cast::<Memslots>()) });
    }
}

/// # Safety
///
/// `gpcp` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_init(gpcp: *mut *mut Gpc, flags: c_uint) -> c_int {
    if flags & !bindings::GUESTGATE_GPC_WRITABLE != 0 {
        return EINVAL.to_errno();
    }
    from_result(|| {
        let c = PfnCache::new(flags & bindings::GUESTGATE_GPC_WRITABLE != 0)?;
        // SAFETY: By the safety requirements.
        unsafe { gpcp.write(PfnCache::into_raw(c)) };
        Ok(0)
    })
}

/// # Safety
///
/// `gpc` and `s` are live handles.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_activate(
    gpc: *mut Gpc,
    s: *mut Slots,
    gpa: u64,
    len: c_ulong,
) -> c_int {
    if s.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: By the safety requirements.
    let (cache, table) = unsafe { (PfnCache::borrow_raw(gpc), slots(s)) };
    from_result(|| cache.activate_gpa(table, gpa, len).map(|()| 0))
}

/// # Safety
///
/// `gpc` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_activate_hva(
    gpc: *mut Gpc,
    uhva: c_ulong,
    len: c_ulong,
) -> c_int {
    // SAFETY: By the safety requirements.
    let cache = unsafe { PfnCache::borrow_raw(gpc) };
    from_result(|| cache.activate_hva(uhva as u64, len).map(|()| 0))
}

/// # Safety
///
/// `gpc` is a live handle, read-locked by the caller.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_pfn(gpc: *mut Gpc) -> c_ulong {
    // SAFETY: By the safety requirements: a live cache whose lock is held,
    // so `pfn` is stable.
    unsafe { (*PfnCache::borrow_raw(gpc).raw().ptr()).f.pfn as c_ulong }
}

/// # Safety
///
/// `gpc` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_refresh(gpc: *mut Gpc, len: c_ulong) -> c_int {
    // SAFETY: By the safety requirements.
    let cache = unsafe { PfnCache::borrow_raw(gpc) };
    from_result(|| cache.refresh(len).map(|()| 0))
}

/// # Safety
///
/// `gpc` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_deactivate(gpc: *mut Gpc) {
    // SAFETY: By the safety requirements.
    unsafe { PfnCache::borrow_raw(gpc) }.deactivate();
}

/// # Safety
///
/// `gpc` is a live handle.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_invalidate(gpc: *mut Gpc) {
    // SAFETY: By the safety requirements.
    unsafe { PfnCache::borrow_raw(gpc) }.invalidate();
}

/// # Safety
///
/// `gpc` is NULL or a live handle, which this call ends.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_destroy(gpc: *mut Gpc) {
    if !gpc.is_null() {
        // SAFETY: Given up by the caller, so owned here.
        drop(unsafe { PfnCache::from_raw(gpc) });
    }
}

/// # Safety
///
/// `gpc` is a live handle; `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_gpc_stats(gpc: *mut Gpc, stats: *mut bindings::guestgate_gpc_stats) {
    // SAFETY: By the safety requirements.
    unsafe { stats.write(PfnCache::borrow_raw(gpc).stats()) };
}

bindings::c_prototype!(guestgate_memslots_create: unsafe extern "C" fn(*mut *mut Slots) -> c_int);
bindings::c_prototype!(
    guestgate_memslots_set: unsafe extern "C" fn(*mut Slots, u32, u64, u64, c_ulong) -> c_int
);
bindings::c_prototype!(guestgate_memslots_generation: unsafe extern "C" fn(*mut Slots) -> u64);
bindings::c_prototype!(guestgate_memslots_destroy: unsafe extern "C" fn(*mut Slots));
bindings::c_prototype!(guestgate_gpc_init: unsafe extern "C" fn(*mut *mut Gpc, c_uint) -> c_int);
bindings::c_prototype!(
    guestgate_gpc_activate: unsafe extern "C" fn(*mut Gpc, *mut Slots, u64, c_ulong) -> c_int
);
bindings::c_prototype!(
    guestgate_gpc_activate_hva: unsafe extern "C" fn(*mut Gpc, c_ulong, c_ulong) -> c_int
);
bindings::c_prototype!(guestgate_gpc_pfn: unsafe extern "C" fn(*mut Gpc) -> c_ulong);
bindings::c_prototype!(guestgate_gpc_refresh: unsafe extern "C" fn(*mut Gpc, c_ulong) -> c_int);
bindings::c_prototype!(guestgate_gpc_invalidate: unsafe extern "C" fn(*mut Gpc));
bindings::c_prototype!(guestgate_gpc_deactivate: unsafe extern "C" fn(*mut Gpc));
bindings::c_prototype!(guestgate_gpc_destroy: unsafe extern "C" fn(*mut Gpc));
bindings::c_prototype!(
    guestgate_gpc_stats: unsafe extern "C" fn(*mut Gpc, *mut bindings::guestgate_gpc_stats)
);
