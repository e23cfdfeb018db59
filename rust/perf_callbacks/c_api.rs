// SPDX-License-Identifier: GPL-2.0

//! The exported C API and the counters' reader for debugfs.

use super::*;
use kernel::error::from_result;

/// `guestgate_register_guest_info_callbacks()`: see
/// `include/linux/guestgate/perf.h`.
///
/// # Safety
///
/// `cbs` is NULL or valid for reads, and stays valid and unchanged until it
/// is unregistered; its hooks follow the C API's rules.
#[no_mangle]
unsafe extern "C" fn guestgate_register_guest_info_callbacks(cbs: *const Callbacks) -> c_int {
    from_result(|| {
        // SAFETY: By the safety requirements.
        unsafe { register(cbs) }?;
        Ok(0)
    })
}

/// `guestgate_unregister_guest_info_callbacks()`: see
/// `include/linux/guestgate/perf.h`.
///
/// # Safety
///
/// Process context. `cbs` is only compared, never dereferenced.
#[no_mangle]
unsafe extern "C" fn guestgate_unregister_guest_info_callbacks(cbs: *const Callbacks) -> c_int {
    from_result(|| unregister(cbs).map(|()| 0))
}

/// Reads the counters, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_perf_stats(stats: *mut bindings::guestgate_perf_stats) {
    let snapshot = bindings::guestgate_perf_stats {
        registrations: REGISTRATIONS.load(Relaxed),
        unregistrations: UNREGISTRATIONS.load(Relaxed),
        einval: EINVALS.load(Relaxed),
        ebusy: EBUSYS.load(Relaxed),
        enoent: ENOENTS.load(Relaxed),
        registered: u32::from(!REGISTERED.load(Relaxed).is_null()),
    };
    // SAFETY: `stats` is valid for writes by the safety requirements.
    unsafe { stats.write(snapshot) };
}

bindings::c_prototype!(
    guestgate_register_guest_info_callbacks: unsafe extern "C" fn(*const Callbacks) -> c_int
);
bindings::c_prototype!(
    guestgate_unregister_guest_info_callbacks: unsafe extern "C" fn(*const Callbacks) -> c_int
);
bindings::c_prototype!(
    guestgate_rs_perf_stats: unsafe extern "C" fn(*mut bindings::guestgate_perf_stats)
);
