// SPDX-License-Identifier: GPL-2.0

//! The debugfs file `guestgate/perf_callbacks`.

use super::*;

/// The debugfs file `guestgate/perf_callbacks`.
///
/// # Invariants
///
/// Created by `new`, removed on drop.
pub(crate) struct DebugfsFile(());

impl DebugfsFile {
    /// Creates the file; the debugfs directory exists (`device::Debugfs`
    /// comes before and goes after).
    pub(crate) fn new() -> Self {
        // SAFETY: FFI call; the directory exists, as said above.
        unsafe { bindings::guestgate_perf_debugfs_register() };
        // INVARIANT: created just above.
        Self(())
    }
}

impl Drop for DebugfsFile {
    fn drop(&mut self) {
        // SAFETY: Created (type invariant), removed once here.
        unsafe { bindings::guestgate_perf_debugfs_unregister() };
    }
}
