// SPDX-License-Identifier: GPL-2.0

//! What `mediated_pmu_shim.c` calls: the two sides' joins and leaves behind
//! the exported C API, and the counters' reader for debugfs.

use super::owners::*;
use super::*;

/// The [`Side`] of a C `enum guestgate_pmu_side`, if it is one.
fn side(side: bindings::guestgate_pmu_side) -> Option<Side> {
    match side {
        bindings::GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT => Some(Side::GuestCountingEvent),
        bindings::GUESTGATE_PMU_SIDE_MEDIATED_USER => Some(Side::MediatedUser),
        _ => None,
    }
}

/// Adds one owner of `side`: 0, `-EOPNOTSUPP` (an event while a mediated
/// user exists) or `-EBUSY` (a mediated user while an event counts the
/// guest); `-EINVAL` if `side` is not a side.
#[no_mangle]
extern "C" fn guestgate_rs_mediated_pmu_join(which: bindings::guestgate_pmu_side) -> c_int {
    match side(which).map(join) {
        Some(Ok(())) => 0,
        Some(Err(e)) => e.to_errno(),
        None => EINVAL.to_errno(),
    }
}

/// Removes one owner of `side`: 0, or `-EINVAL` (nothing changed) if
/// `side` holds nothing or is not a side.
#[no_mangle]
extern "C" fn guestgate_rs_mediated_pmu_leave(which: bindings::guestgate_pmu_side) -> c_int {
    match side(which).map(leave) {
        Some(Ok(())) => 0,
        Some(Err(e)) => e.to_errno(),
        None => EINVAL.to_errno(),
    }
}

/// Whether a mediated user exists, for the guest PMU context's checks.
#[no_mangle]
extern "C" fn guestgate_rs_mediated_pmu_held() -> bool {
    OWNERS.load(Relaxed) < 0
}

/// Reads the counters, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_mediated_pmu_stats(
    stats: *mut bindings::guestgate_mediated_pmu_stats,
) {
    let (ev, user) = (
        Side::GuestCountingEvent as usize,
        Side::MediatedUser as usize,
    );
    let snapshot = bindings::guestgate_mediated_pmu_stats {
        owners: OWNERS.load(Relaxed),
        creates: JOINS[user].load(Relaxed),
        releases: LEAVES[user].load(Relaxed),
        ebusy: REFUSALS[user].load(Relaxed),
        events_accounted: JOINS[ev].load(Relaxed),
        events_unaccounted: LEAVES[ev].load(Relaxed),
        eopnotsupp: REFUSALS[ev].load(Relaxed),
        bad_leaves: BAD_LEAVES.load(Relaxed),
    };
    // SAFETY: `stats` is valid for writes by the safety requirements.
    unsafe { stats.write(snapshot) };
}

bindings::c_prototype!(
    guestgate_rs_mediated_pmu_join: unsafe extern "C" fn(bindings::guestgate_pmu_side) -> c_int
);
bindings::c_prototype!(
    guestgate_rs_mediated_pmu_leave: unsafe extern "C" fn(bindings::guestgate_pmu_side) -> c_int
);
bindings::c_prototype!(guestgate_rs_mediated_pmu_held: unsafe extern "C" fn() -> bool);
bindings::c_prototype!(
    guestgate_rs_mediated_pmu_stats: unsafe extern "C" fn(*mut bindings::guestgate_mediated_pmu_stats)
);
