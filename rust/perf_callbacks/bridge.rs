// SPDX-License-Identifier: GPL-2.0

//! The perf bridge: guestgate's dispatch in perf's guest-info slot.

use super::*;

/// The perf bridge, registered for the module's lifetime.
///
/// # Invariants
///
/// `guestgate_perf_bridge_register()` succeeded and is undone on drop.
pub(crate) struct Bridge(());

impl Bridge {
    /// Unless the `perf_bridge` parameter is off, registers guestgate's
    /// dispatch with perf and checks with a real sample that perf calls it.
    /// Fails with `EBUSY` while kvm is loaded or another module holds perf's
    /// slot.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: FFI call without preconditions; process context (init).
        kernel::error::to_result(unsafe { bindings::guestgate_perf_bridge_register() })?;
        // INVARIANT: registered just above.
        Ok(Self(()))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // SAFETY: Registered, by the type invariant, and undone once here.
        unsafe { bindings::guestgate_perf_bridge_unregister() };
    }
}
