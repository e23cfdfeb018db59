// SPDX-License-Identifier: GPL-2.0

//! perf guest-info callbacks: registration, the group switch, dispatch.
//!
//! A hypervisor registers one set of four hooks ([`GuestInfo`] in Rust,
//! `struct guestgate_guest_info_callbacks` in C). Each hook is a static call
//! that `perf_callbacks_shim.c` defines: "return 0" while nothing is
//! registered, a direct call of the set's function while one is.
//!
//! # The group switch
//!
//! perf asks `state()` several times for one sample (for its IP, for its
//! misc flags, for its callchain) and calls `get_ip()` in between; a reading
//! section (see [`guest_state`]) is all the calls of one such sample, or of
//! any caller that needs one answer. Static calls are patched one site at a
//! time, and a CPU inside an NMI or interrupt runs the new target as soon as
//! `text_poke_bp()` has planted its INT3, before its serializing IPI can
//! reach that CPU: a section that straddles the patch of `state` would run
//! the old `state()` and then the new one.
//!
//! So the four static calls are an implicit op group (`op_group.rs`,
//! Documentation/op-groups.rst) of two implementations, "none" (every hook
//! "return 0") and "registered" (the set, "return 0" for a hook it lacks),
//! and registering or unregistering is a switch of the group: every hook
//! to its gate, which calls the implementation of its CPU's sections; each
//! CPU moving its own sections to the other implementation in a work item,
//! between two of them; every hook to the new implementation's function.
//! Each CPU's answers change once per switch, between two of its sections,
//! and no section mixes hooks of two sets, or of a set and of "none". Once
//! every CPU has moved, no CPU runs a hook of the set it left: unregister
//! returns with no hook of the set under way, NMIs included.
//!
//! Upstream 6.12 patches `state` before `get_ip` on registration and resets
//! them with no grace period between, so a sample can see the guest's state
//! and an IP of 0; and any switch that patches `state` from one answer to
//! another can give one sample a guest IP with host flags.

use crate::bindings;
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed},
};
use kernel::{
    ffi::{c_int, c_uint, c_ulong},
    prelude::*,
};

/// The C set of callbacks.
pub(crate) type Callbacks = bindings::guestgate_guest_info_callbacks;

mod bridge;
mod c_api;
mod dispatch;
mod fault_injection;
mod guest_info;
mod switch;

#[cfg(CONFIG_KUNIT)]
mod bench;
#[cfg(CONFIG_KUNIT)]
mod kunit;

pub(crate) use bridge::Bridge;
use fault_injection::fault;
use switch::*;

// The Rust API; its callers so far are the KUnit cases and the benchmark.
#[cfg_attr(not(CONFIG_KUNIT), allow(unused_imports))]
pub(crate) use dispatch::*;
#[cfg_attr(not(CONFIG_KUNIT), allow(unused_imports))]
pub(crate) use guest_info::{GuestInfo, Registration};
