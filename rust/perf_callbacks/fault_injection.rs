// SPDX-License-Identifier: GPL-2.0

//! Fault injection for the tests (`guestgate_test.ko`): switches that
//! skip what the product's switch does, so that the tests see the bugs it
//! prevents.

use super::*;

/// Fault injection for the tests, see `guestgate_rs_perf_fault()`.
#[cfg(CONFIG_KUNIT)]
static FAULT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// The fault injected, if any: `GUESTGATE_PERF_FAULT_NONE` outside the tests.
pub(super) fn fault() -> bindings::guestgate_perf_fault {
    #[cfg(CONFIG_KUNIT)]
    return FAULT.load(Relaxed);
    #[cfg(not(CONFIG_KUNIT))]
    bindings::GUESTGATE_PERF_FAULT_NONE
}

/// Until the next call, register and unregister switch as `fault` says:
/// the tests show that the bugs the product's switch prevents are then
/// seen. `CONFIG_KUNIT` only. `EBUSY` while a set is registered (it must be
/// unregistered as it was registered), `EINVAL` for an unknown fault.
#[cfg(CONFIG_KUNIT)]
#[no_mangle]
extern "C" fn guestgate_rs_perf_fault(fault: bindings::guestgate_perf_fault) -> c_int {
    if fault > bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        return EINVAL.to_errno();
    }
    let _lock = SwitchLock::lock();
    if !REGISTERED.load(Relaxed).is_null() {
        return EBUSY.to_errno();
    }
    FAULT.store(fault, Relaxed);
    0
}

#[cfg(CONFIG_KUNIT)]
bindings::c_prototype!(
    guestgate_rs_perf_fault: unsafe extern "C" fn(bindings::guestgate_perf_fault) -> c_int
);
