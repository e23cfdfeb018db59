// SPDX-License-Identifier: GPL-2.0

//! The Rust API of op groups: a group guestgate owns, its sections, and
//! calls of its ops that need a section of that group to be made.

use super::*;
use core::marker::PhantomData;

/// A group whose C definition (`DEFINE_GUESTGATE_OP_GROUP()`) lives as
/// long as the module. `G` is a marker type of the group's own, which its
/// sections carry: an op's wrapper takes a `&Section<'_, G>` of its group.
///
/// # Invariants
///
/// `grp` points at a group valid for the life of the module, and no other
/// `GroupRef` has the same `G`.
pub(crate) struct GroupRef<G> {
    grp: *mut Group,
    _group: PhantomData<G>,
}

// SAFETY: The group is a C object that the API functions synchronize
// themselves; a `GroupRef` only passes its address to them.
unsafe impl<G> Sync for GroupRef<G> {}

impl<G> GroupRef<G> {
    /// # Safety
    ///
    /// `grp` points at a group valid for the life of the module, its
    /// fields as `include/linux/guestgate/op_group.h` says, and no other
    /// `GroupRef` has the marker type `G`.
    pub(crate) const unsafe fn new(grp: *mut Group) -> Self {
        // INVARIANT: By the safety requirements.
        Self {
            grp,
            _group: PhantomData,
        }
    }

    /// `guestgate_op_group_register()`. Sleeps: in an atomic context (a
    /// section, say) the kernel's `might_sleep()` check reports it.
    pub(crate) fn register(&self) -> Result {
        // SAFETY: Valid for the life of the module, by the type invariant.
        // The C API's process context is checked by its mutex.
        unsafe { register(self.grp) }
    }

    /// `guestgate_op_group_unregister()`. Sleeps, as [`Self::register`].
    pub(crate) fn unregister(&self) -> Result {
        // SAFETY: As in `register`.
        unsafe { unregister(self.grp) }
    }

    /// `guestgate_op_group_switch()`. Sleeps, as [`Self::register`]; it
    /// waits for every section to end, so none may be under way on this
    /// CPU (a [`Section`] disables preemption: sleeping in one is the
    /// atomic-context bug the kernel reports).
    pub(crate) fn switch(&self, to: u32) -> Result {
        // SAFETY: As in `register`.
        unsafe { switch(self.grp, to, Steps::All) }
    }

    /// Runs `f` in a section of the group's ops on this CPU, and ends
    /// the section when `f` returns. `f` gets the section by reference
    /// only: it cannot keep it, send it or leak it. `None`, and `f` not
    /// run, only in NMI: while a switch is under way, or when the section
    /// it would join began before a switch that gave up.
    pub(crate) fn with_section<R>(&self, f: impl FnOnce(&Section<'_, G>) -> R) -> Option<R> {
        // SAFETY: Valid by the type invariant; any context.
        if !unsafe { bindings::guestgate_op_group_section_begin(self.grp) } {
            return None;
        }
        // INVARIANT: Begun on this CPU, in this context; ended by the
        // drop below, when `f` has returned.
        let section = Section {
            grp: self,
            _not_send: PhantomData,
        };
        Some(f(&section))
    }
}

/// A section of the ops of the group `G`: every op of `G` called with a
/// `&Section<'_, G>` runs the implementation active when it began. Only
/// [`GroupRef::with_section`] makes one, and lends it out: it cannot be
/// leaked, which would leave preemption disabled and the CPU marked busy.
///
/// # Invariants
///
/// `guestgate_op_group_section_begin()` returned true for `grp` on this
/// CPU, in this context, and the section has not ended. Not `Send`: it
/// ends on the CPU and in the context it began in.
pub(crate) struct Section<'a, G> {
    grp: &'a GroupRef<G>,
    _not_send: PhantomData<*mut ()>,
}

impl<G> Drop for Section<'_, G> {
    fn drop(&mut self) {
        // SAFETY: Begun and not ended, on this CPU, by the type invariant.
        unsafe { bindings::guestgate_op_group_section_end(self.grp.grp) };
    }
}
