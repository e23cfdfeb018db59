// SPDX-License-Identifier: GPL-2.0

//! The counters of the pfn caches: global ones for debugfs, and which of a
//! cache's own counters an event moves.

use super::*;

pub(super) static CACHES: AtomicU64 = AtomicU64::new(0);
pub(super) static ACTIVATIONS: AtomicU64 = AtomicU64::new(0);
pub(super) static REFRESHES: AtomicU64 = AtomicU64::new(0);
pub(super) static REFRESH_ERRORS: AtomicU64 = AtomicU64::new(0);
pub(super) static INVALIDATIONS: AtomicU64 = AtomicU64::new(0);
pub(super) static RETRIES: AtomicU64 = AtomicU64::new(0);
/// The most retries one refresh took.
pub(super) static RETRIES_MAX: AtomicU64 = AtomicU64::new(0);
pub(super) static MEMSLOT_CHANGES: AtomicU64 = AtomicU64::new(0);
/// The checks of the caches destroyed so far (a live cache counts its own).
pub(super) static HITS: AtomicU64 = AtomicU64::new(0);
pub(super) static MISSES: AtomicU64 = AtomicU64::new(0);

/// The counters of a cache kept in its fields (`struct
/// guestgate_gpc_counters`; hits and misses are per CPU, in the C half).
#[derive(Clone, Copy)]
pub(super) enum Stat {
    Refreshes,
    Invalidations,
    Retries,
}

/// The counters of all caches, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_gpc_global_stats(
    stats: *mut bindings::guestgate_gpc_global_stats,
) {
    let snapshot = bindings::guestgate_gpc_global_stats {
        caches: CACHES.load(Relaxed),
        activations: ACTIVATIONS.load(Relaxed),
        refreshes: REFRESHES.load(Relaxed),
        refresh_errors: REFRESH_ERRORS.load(Relaxed),
        invalidations: INVALIDATIONS.load(Relaxed),
        retries: RETRIES.load(Relaxed),
        retries_max: RETRIES_MAX.load(Relaxed),
        memslot_changes: MEMSLOT_CHANGES.load(Relaxed),
        hits: HITS.load(Relaxed),
        misses: MISSES.load(Relaxed),
    };
    // SAFETY: By the safety requirements.
    unsafe { stats.write(snapshot) };
}

bindings::c_prototype!(
    guestgate_rs_gpc_global_stats: unsafe extern "C" fn(*mut bindings::guestgate_gpc_global_stats)
);
