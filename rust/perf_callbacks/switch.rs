// SPDX-License-Identifier: GPL-2.0

//! Registration and unregistration: the group switch (see the module's
//! documentation), serialized by one lock, and its counters.

use super::*;

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

    /// Points `hook` at `cbs`'s function, or at "return 0".
    fn switch(&self, hook: bindings::guestgate_perf_hook, cbs: *const Callbacks) {
        // SAFETY: The lock is held (`self`). `cbs` is NULL or, by the
        // callers' contract, a set that stays valid while registered.
        unsafe { bindings::guestgate_perf_switch(hook, cbs) };
    }

    /// Opens or closes every CPU's gate, each CPU its own between two of
    /// its sections; returns once all have.
    fn set_gates(&self, open: bool) {
        let each_cpu = fault() != bindings::GUESTGATE_PERF_FAULT_NO_WAIT;
        // SAFETY: The lock is held (`self`); process context (documented
        // requirement of register and unregister).
        unsafe { bindings::guestgate_perf_set_gates(open, each_cpu) };
    }
}

impl Drop for SwitchLock {
    fn drop(&mut self) {
        // SAFETY: Locked in `lock()`, by this task.
        unsafe { bindings::guestgate_perf_unlock() };
    }
}

/// Waits until every reading section that began before has ended, and every
/// hook call that began before has returned.
pub(super) fn wait_for_readers() {
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_WAIT {
        return;
    }
    // SAFETY: FFI call; may sleep, and the callers are in process context
    // (documented requirement of register and unregister).
    unsafe { kernel::bindings::synchronize_rcu() };
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
    // get_ip and the PT handler are behind state(), which answers 0:
    // nothing calls them yet. The mediated PMI hook is not gated; `cbs` is
    // valid from the call on.
    lock.switch(bindings::GUESTGATE_PERF_GET_IP, cbs);
    lock.switch(bindings::GUESTGATE_PERF_INTEL_PT_INTR, cbs);
    lock.switch(bindings::GUESTGATE_PERF_MEDIATED_PMI, cbs);
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        lock.switch(bindings::GUESTGATE_PERF_STATE, cbs);
    } else {
        // Through the gates, all closed: 0 as before.
        lock.switch(bindings::GUESTGATE_PERF_GATE_TARGET, cbs);
        lock.switch(bindings::GUESTGATE_PERF_STATE_GATED, ptr::null());
        // Each CPU starts answering with `cbs` between two of its sections.
        lock.set_gates(true);
        // The gates are open: the same answers without them.
        lock.switch(bindings::GUESTGATE_PERF_STATE, cbs);
    }
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
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        // The gate's old scheme: state() first, then a wait for every
        // section that may have seen it answer for `cbs`.
        lock.switch(bindings::GUESTGATE_PERF_STATE, ptr::null());
        wait_for_readers();
    } else {
        // Through the gates, all open: the same answers.
        lock.switch(bindings::GUESTGATE_PERF_STATE_GATED, ptr::null());
        // Each CPU stops answering with `cbs` between two of its sections:
        // once all have, no section that saw `cbs` answer is under way.
        lock.set_gates(false);
        // The gates are closed: 0 either way.
        lock.switch(bindings::GUESTGATE_PERF_STATE, ptr::null());
        lock.switch(bindings::GUESTGATE_PERF_GATE_TARGET, ptr::null());
    }
    lock.switch(bindings::GUESTGATE_PERF_GET_IP, ptr::null());
    lock.switch(bindings::GUESTGATE_PERF_INTEL_PT_INTR, ptr::null());
    lock.switch(bindings::GUESTGATE_PERF_MEDIATED_PMI, ptr::null());
    // No CPU is inside any hook of `cbs` once every call that began before
    // has returned, NMIs included: the caller may free them.
    wait_for_readers();
    REGISTERED.store(ptr::null_mut(), Relaxed);
    UNREGISTRATIONS.fetch_add(1, Relaxed);
    Ok(())
}
