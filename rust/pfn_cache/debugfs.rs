// SPDX-License-Identifier: GPL-2.0

//! The debugfs file `guestgate/pfn_cache`.

use super::*;

/// The debugfs file `guestgate/pfn_cache`, while registered.
///
/// # Invariants
///
/// `guestgate_gpc_debugfs_register()` was called and is undone on drop.
pub(crate) struct DebugfsFile(());

impl DebugfsFile {
    /// Creates the debugfs file; the debugfs directory exists.
    pub(crate) fn new() -> Self {
        // SAFETY: FFI call; the directory (`device::Debugfs`) is registered
        // before this and released after it.
        unsafe { bindings::guestgate_gpc_debugfs_register() };
        // INVARIANT: registered just above.
        Self(())
    }
}

impl Drop for DebugfsFile {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant), undone once here.
        unsafe { bindings::guestgate_gpc_debugfs_unregister() };
    }
}
