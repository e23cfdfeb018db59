// SPDX-License-Identifier: GPL-2.0

//! Op groups: runtime switching of a group of patched ops that a module
//! owns, all at once for every caller.
//!
//! A group is N static calls of its owner (the ops) and two or more
//! implementations, each a function per op, which may share state: a lock
//! word that a ticket lock reads as head and tail and a test-and-set lock
//! as taken or not. Patching one op at a time lets a caller run one op of
//! the old implementation and the next of the new (a lock taken by one and
//! released by the other), and lets the new one read the old one's state in
//! its own form. A switch here is atomic for every caller: callers run ops
//! inside sections, and no section runs ops of two implementations.
//!
//! # The switch
//!
//! 1. Every op to its gate (`static_call_update()`, one op at a time): a
//!    gate calls the op of the implementation its CPU's section is pinned
//!    to, which is the active one for every section until step 2, so the
//!    order does not matter.
//! 2. The switch point (`guestgate_op_group_window()`, interrupts disabled
//!    on the switching CPU): new sections are held back, every section
//!    under way is waited out, the active implementation transfers the
//!    shared state or says it is quiescent (else `EBUSY`, nothing
//!    changed), the new implementation is made active and the sections go
//!    on, pinned to it.
//! 3. Every op to the active implementation's function: a section pinned
//!    to it runs the same functions through a gate or directly.
//!
//! No grace period is needed: step 2 waits out every section, which is
//! more than a grace period gives (it also holds new ones back), and no
//! CPU runs a patch while another waits in step 2.
//!
//! An implicit group (callers that cannot mark their sections) has no
//! switch point: in step 2, each CPU moves its own sections to the new
//! implementation in a work item, which runs between two of them
//! (`guestgate_op_group_pin()`); once all have, no section of the old
//! implementation is under way. Its implementations share no state.
//!
//! `op_group_shim.c` has what is C: the sections, the switch point, the
//! patching and the debugfs file `guestgate/op_groups`.

use crate::bindings;
use core::{ffi::c_void, mem::size_of, slice};
use kernel::{ffi::c_int, prelude::*, time::Ktime};

#[cfg(CONFIG_KUNIT)]
mod bench;
mod c_api;
#[cfg(CONFIG_KUNIT)]
mod kunit;
// The Rust API; its callers so far are the KUnit case and the benchmark.
#[cfg_attr(not(CONFIG_KUNIT), allow(dead_code))]
mod section;

/// The C group.
pub(crate) type Group = bindings::guestgate_op_group;

/// How a switch of an implicit group goes: the product's way, or (fault
/// injection, for the tests of its users) with a step left out, so that
/// the tests see what that step prevents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steps {
    /// Gates, each CPU's own move, then the new functions.
    All,
    /// No gates: every op patched from the old function to the new one,
    /// one at a time, then each CPU's move. A section may see both.
    #[cfg(CONFIG_KUNIT)]
    NoGate,
    /// No wait: this task moves every CPU's sections, and the switch
    /// returns while CPUs may still be inside the old implementation.
    #[cfg(CONFIG_KUNIT)]
    NoWait,
}

/// Holds the lock that serializes registrations and switches of every
/// group.
struct GroupLock(());

impl GroupLock {
    /// Takes the lock (a mutex): process context, outside any section.
    fn lock() -> Self {
        // SAFETY: The callers run in process context outside any section
        // (the C API's requirement); released on drop.
        unsafe { bindings::guestgate_op_group_lock() };
        Self(())
    }

    /// Points every op of `grp` at `imp`'s function, or at its gate for
    /// `bindings::GUESTGATE_OP_GROUP_GATES`.
    ///
    /// # Safety
    ///
    /// `grp` is registered (so valid: see [`valid`]), `imp` one of its
    /// implementations or the gates.
    unsafe fn patch(&self, grp: *mut Group, imp: u32) {
        // SAFETY: The lock is held (`self`); the rest by the requirements.
        unsafe { bindings::guestgate_op_group_patch(grp, imp) };
    }
}

impl Drop for GroupLock {
    fn drop(&mut self) {
        // SAFETY: Locked in `lock()`, by this task.
        unsafe { bindings::guestgate_op_group_unlock() };
    }
}

/// Whether `grp` describes a group: an op or more, each with a key and a
/// gate at a pointer-aligned offset, and two implementations or more, each
/// with a function for every op, and per-CPU section state.
///
/// # Safety
///
/// `grp` is valid for reads, and so are its arrays of `nr_ops` ops and
/// `nr_impls` implementations, and each implementation's `ops` up to the
/// last op's offset, if the pointers are not NULL.
unsafe fn valid(grp: *const Group) -> bool {
    // SAFETY: `grp` is valid for reads by the safety requirements. Only
    // the owner's fields are read, which nothing writes.
    let (ops, nr_ops, impls, nr_impls, cpu, implicit) = unsafe {
        (
            (*grp).ops,
            (*grp).nr_ops as usize,
            (*grp).impls,
            (*grp).nr_impls as usize,
            (*grp).cpu,
            (*grp).implicit,
        )
    };
    if ops.is_null() || nr_ops == 0 || impls.is_null() || nr_impls < 2 || cpu.is_null() {
        return false;
    }
    // SAFETY: Not NULL, `nr_ops` long by the safety requirements.
    let ops = unsafe { slice::from_raw_parts(ops, nr_ops) };
    // SAFETY: Not NULL, `nr_impls` long by the safety requirements.
    let impls = unsafe { slice::from_raw_parts(impls, nr_impls) };
    let ptr_size = size_of::<*const c_void>();
    if ops
        .iter()
        .any(|op| op.key.is_null() || op.gate.is_null() || op.offset % ptr_size != 0)
    {
        return false;
    }
    impls.iter().all(|imp| {
        !imp.ops.is_null()
            && !(implicit && (imp.quiescent.is_some() || imp.transfer.is_some()))
            && ops.iter().all(|op| {
                // SAFETY: `imp.ops` is not NULL and, by the safety
                // requirements, valid for reads of a pointer at `offset`,
                // which is aligned (checked above).
                let f = unsafe {
                    imp.ops
                        .cast::<u8>()
                        .add(op.offset)
                        .cast::<*const c_void>()
                        .read()
                };
                !f.is_null()
            })
    })
}

/// `guestgate_op_group_register()`: see `include/linux/guestgate/op_group.h`.
///
/// Fields of the group that CPUs in sections read are reached through the
/// raw pointer, never through a reference to the whole group.
///
/// # Safety
///
/// `grp` is valid for reads and writes, not moved or freed until it is
/// unregistered, and its fields are as the header says.
unsafe fn register(grp: *mut Group) -> Result {
    let lock = GroupLock::lock();
    // SAFETY: `grp` is valid by the safety requirements; the lock is held.
    if unsafe { (*grp).registered } {
        return Err(EEXIST);
    }
    // SAFETY: By the safety requirements, the arrays are as `valid` needs;
    // `active` is written with the lock held only.
    let ok = unsafe { valid(grp) && (*grp).active < (*grp).nr_impls };
    if !ok {
        return Err(EINVAL);
    }
    // SAFETY: Valid, as just checked; the lock is held.
    if unsafe { bindings::guestgate_op_group_keys_taken(grp) } {
        return Err(EBUSY);
    }
    // SAFETY: The lock is held: only this task reads or writes
    // `registered` and the counters. Sections of a group registered
    // before may still run: `active` stays as it is.
    unsafe {
        (*grp).switches = 0;
        (*grp).refused = 0;
        (*grp).timeouts = 0;
        (*grp).switch_ns = 0;
        (*grp).switch_max_ns = 0;
        (*grp).window_ns = 0;
        (*grp).window_max_ns = 0;
        (*grp).registered = true;
    }
    // The ops point at the active implementation already, unless this is
    // the first registration and the owner defined its static calls
    // otherwise: the same functions either way.
    // SAFETY: Valid, as just checked; `active` is an implementation.
    unsafe { lock.patch(grp, (*grp).active) };
    // SAFETY: The lock is held; `grp` stays valid until unregistered.
    unsafe { bindings::guestgate_op_group_list_add(grp) };
    Ok(())
}

/// `guestgate_op_group_unregister()`.
///
/// # Safety
///
/// `grp` is valid for reads and writes.
unsafe fn unregister(grp: *mut Group) -> Result {
    let _lock = GroupLock::lock();
    // SAFETY: By the safety requirements; the lock is held.
    if !unsafe { (*grp).registered } {
        return Err(ENOENT);
    }
    // SAFETY: The lock is held; `grp` is on the list. `registered` is
    // read and written with the lock held only.
    unsafe {
        bindings::guestgate_op_group_list_del(grp);
        (*grp).registered = false;
    }
    Ok(())
}

/// `guestgate_op_group_switch()`, with every step of an implicit group's
/// switch unless `steps` says otherwise (explicit groups ignore it).
///
/// # Safety
///
/// `grp` is valid for reads and writes. Process context, outside any
/// section, not under `cpus_read_lock()`.
pub(crate) unsafe fn switch(grp: *mut Group, to: u32, steps: Steps) -> Result {
    let lock = GroupLock::lock();
    // SAFETY: By the safety requirements. These fields are written with
    // the lock held only (`active` by the shim's switch point).
    let (registered, nr_impls, active, implicit) = unsafe {
        (
            (*grp).registered,
            (*grp).nr_impls,
            (*grp).active,
            (*grp).implicit,
        )
    };
    if !registered {
        return Err(ENOENT);
    }
    if to >= nr_impls {
        return Err(EINVAL);
    }
    if to == active {
        return Ok(());
    }
    let start = Ktime::ktime_get();
    let ret = if implicit {
        // SAFETY: Registered, so valid; the lock is held; `to` is an
        // implementation, not the active one.
        unsafe { switch_implicit(&lock, grp, to, steps) };
        Ok(())
    } else {
        // SAFETY: Registered, so valid; the lock is held; `to` is an
        // implementation, not the active one.
        unsafe { switch_explicit(&lock, grp, to) }
    };
    let ns = u64::try_from((Ktime::ktime_get() - start).to_ns()).unwrap_or(0);
    // SAFETY: The counters are read and written with the lock held only.
    unsafe {
        (*grp).switch_ns += ns;
        (*grp).switch_max_ns = (*grp).switch_max_ns.max(ns);
    }
    ret
}

/// The switch of an explicit group: gates, the switch point, then the
/// active implementation's functions.
///
/// # Safety
///
/// `grp` is registered and not implicit, `to` one of its implementations,
/// not the active one. Process context, outside any section.
unsafe fn switch_explicit(lock: &GroupLock, grp: *mut Group, to: u32) -> Result {
    // SAFETY: Registered, so valid; the gates exist.
    unsafe { lock.patch(grp, bindings::GUESTGATE_OP_GROUP_GATES) };
    // SAFETY: The lock is held; `to` is an implementation, not the active one.
    let ret = unsafe { bindings::guestgate_op_group_window(grp, to) };
    // SAFETY: The lock is held, so nothing writes `active`.
    let now = unsafe { (*grp).active };
    // SAFETY: Registered, so valid; `now` is an implementation.
    unsafe { lock.patch(grp, now) };
    // SAFETY: The counters are read and written with the lock held only.
    unsafe {
        match ret {
            0 => (*grp).switches += 1,
            e if e == -(kernel::bindings::ETIMEDOUT as c_int) => (*grp).timeouts += 1,
            _ => (*grp).refused += 1,
        }
    }
    match ret {
        0 => Ok(()),
        e => Err(Error::from_errno(e)),
    }
}

impl Steps {
    /// Whether the ops go through their gates.
    fn gates(self) -> bool {
        #[cfg(CONFIG_KUNIT)]
        if self == Steps::NoGate {
            return false;
        }
        true
    }

    /// Whether each CPU moves its own sections, and the switch waits.
    fn wait(self) -> bool {
        #[cfg(CONFIG_KUNIT)]
        if self == Steps::NoWait {
            return false;
        }
        true
    }
}

/// The switch of an implicit group: gates, each CPU's own move to `to`,
/// then `to`'s functions (or as `steps` says).
///
/// # Safety
///
/// `grp` is registered, implicit, and `to` one of its implementations, not
/// the active one. Process context, not under `cpus_read_lock()`.
unsafe fn switch_implicit(lock: &GroupLock, grp: *mut Group, to: u32, steps: Steps) {
    // A gate calls the implementation its CPU's sections are pinned to,
    // the active one on every CPU until the moves: the order of the
    // patches does not matter. Without gates, each op goes straight to
    // `to`'s function, and a section may run ops of both.
    let first = if steps.gates() {
        bindings::GUESTGATE_OP_GROUP_GATES
    } else {
        to
    };
    // SAFETY: Registered, so valid; `first` is the gates or `to`.
    unsafe { lock.patch(grp, first) };
    // Makes `to` active once every CPU runs it.
    // SAFETY: The lock is held; `to` is an implementation; process
    // context, not under `cpus_read_lock()` (the safety requirements).
    unsafe { bindings::guestgate_op_group_pin(grp, to, steps.wait()) };
    // Every CPU runs `to` through the gates: the same functions directly.
    // SAFETY: Registered, so valid; `to` is an implementation.
    unsafe { lock.patch(grp, to) };
    // SAFETY: The counters are read and written with the lock held only.
    unsafe { (*grp).switches += 1 };
}
