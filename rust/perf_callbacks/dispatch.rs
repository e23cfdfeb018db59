// SPDX-License-Identifier: GPL-2.0

//! What perf calls: the static calls of the registered set's hooks.

use super::*;

/// The registered set's `state()`, or 0: one call of the static call's
/// trampoline.
///
/// A reading section is a sequence of these calls with preemption disabled
/// (an NMI or interrupt handler, or task code under `preempt_disable()` or
/// with interrupts off). Within one, every call of `guest_state()` answers
/// for the same set (or every one for none), and the other hooks called
/// belong to that set, provided [`guest_get_ip`] is called only once
/// `guest_state()` has returned nonzero.
#[inline]
pub(crate) fn guest_state() -> u32 {
    // SAFETY: The trampoline is a function of this module with this
    // signature, callable in any context (its targets are).
    unsafe { bindings::__SCT____guestgate_guest_state() }
}

/// The registered set's `get_ip()`, or 0. See [`guest_state`].
#[inline]
pub(crate) fn guest_get_ip() -> usize {
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_get_ip() as usize }
}

/// The registered set's `handle_intel_pt_intr()` if [`guest_state`] says a
/// guest runs on this CPU, or 0. See [`guest_state`].
#[inline]
pub(crate) fn guest_handle_intel_pt_intr() -> u32 {
    if guest_state() == 0 {
        return 0;
    }
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_handle_intel_pt_intr() }
}

/// The registered set's `handle_mediated_pmi()`, if any. See [`guest_state`].
#[inline]
pub(crate) fn guest_handle_mediated_pmi() {
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_handle_mediated_pmi() }
}
