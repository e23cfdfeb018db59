// SPDX-License-Identifier: GPL-2.0

//! Registration and unregistration: a switch of the perf group (see the
//! module's documentation), serialized by one lock, and its counters.

use super::*;
use crate::op_group::{self, Steps};

/// The registered set, or NULL. Written with the switch lock held.
pub(super) static REGISTERED: AtomicPtr<Callbacks> = AtomicPtr::new(ptr::null_mut());
pub(super) static REGISTRATIONS: AtomicU64 = AtomicU64::new(0);
pub(super) static UNREGISTRATIONS: AtomicU64 = AtomicU64::new(0);
pub(super) static EINVALS: AtomicU64 = AtomicU64::new(0);
pub(super) static EBUSYS: AtomicU64 = AtomicU64::new(0);
pub(super) static ENOENTS: AtomicU64 = AtomicU64::new(0);
/// Holds the lock that serializes registrations.
pub(super) struct SwitchLock(());

impl SwitchLock {
    pub(super) fn lock() -> Self {
        // SAFETY: FFI call without preconditions; released on drop.
        unsafe { bindings::guestgate_perf_lock() };
        Self(())
    }

    /// Switches the perf group to `imp`, every hook at once for every
    /// caller (or with the step the injected fault leaves out).
    fn switch(&self, imp: bindings::guestgate_perf_impl) -> Result {
        let steps = match fault() {
            #[cfg(CONFIG_KUNIT)]
            bindings::GUESTGATE_PERF_FAULT_NO_WAIT => Steps::NoWait,
            #[cfg(CONFIG_KUNIT)]
            bindings::GUESTGATE_PERF_FAULT_NO_GATE => Steps::NoGate,
            _ => Steps::All,
        };
        // SAFETY: The group is defined by the shim, never moved or freed;
        // the callers are in process context, outside any section and not
        // under `cpus_read_lock()` (the C API's context).
        unsafe {
            op_group::switch(
                ptr::addr_of_mut!(bindings::guestgate_perf_group),
                imp,
                steps,
            )
        }
    }
}

impl Drop for SwitchLock {
    fn drop(&mut self) {
        // SAFETY: Locked in `lock()`, by this task.
        unsafe { bindings::guestgate_perf_unlock() };
    }
}

/// Installs `cbs`: see `guestgate_register_guest_info_callbacks()`.
///
/// # Safety
///
/// `cbs` is NULL or valid for reads, and stays valid and unchanged until it
/// is unregistered. Its hooks are safe to call in NMI, hardirq and task
/// context while it is registered.
pub(super) unsafe fn register(cbs: *const Callbacks) -> Result {
    // SAFETY: `cbs` is NULL or valid for reads by the safety requirements.
    let valid = unsafe { cbs.as_ref() }.is_some_and(|c| c.state.is_some() && c.get_ip.is_some());
    if !valid {
        EINVALS.fetch_add(1, Relaxed);
        return Err(EINVAL);
    }
    let lock = SwitchLock::lock();
    if !REGISTERED.load(Relaxed).is_null() {
        EBUSYS.fetch_add(1, Relaxed);
        return Err(EBUSY);
    }
    // SAFETY: The lock is held and nothing is registered: "none" is active.
    // `cbs` is valid for reads (checked above).
    unsafe { bindings::guestgate_perf_set_load(cbs) };
    // The group is registered for the module's lifetime (`Bridge`): an
    // implicit group's switch to one of its implementations then succeeds.
    lock.switch(bindings::GUESTGATE_PERF_REGISTERED)?;
    REGISTERED.store(cbs.cast_mut(), Relaxed);
    REGISTRATIONS.fetch_add(1, Relaxed);
    Ok(())
}

/// Removes `cbs`: see `guestgate_unregister_guest_info_callbacks()`.
pub(super) fn unregister(cbs: *const Callbacks) -> Result {
    let lock = SwitchLock::lock();
    if cbs.is_null() || REGISTERED.load(Relaxed).cast_const() != cbs {
        ENOENTS.fetch_add(1, Relaxed);
        return Err(ENOENT);
    }
    // Once every CPU has moved its sections to "none", no CPU is inside
    // any hook of `cbs`, NMIs included: the caller may free them.
    lock.switch(bindings::GUESTGATE_PERF_NONE)?;
    // SAFETY: The lock is held and "none" is active again.
    unsafe { bindings::guestgate_perf_set_load(ptr::null()) };
    REGISTERED.store(ptr::null_mut(), Relaxed);
    UNREGISTRATIONS.fetch_add(1, Relaxed);
    Ok(())
}
