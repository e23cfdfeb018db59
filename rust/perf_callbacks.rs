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
//! the old `state()` and then the new one. So `state` is never patched from
//! one answer to another. Each switch of `state` is between two functions
//! that answer alike on every CPU, and the answer changes through the gate:
//!
//! - register: `get_ip`, `handle_intel_pt_intr`, `handle_mediated_pmi`
//!   first, behind `state()` (still 0); then `state` to the gate, every
//!   CPU's gate closed (0 either way); then every CPU opens its own gate
//!   between two of its sections; then `state` to the set's own function
//!   (the gates are open: the same answers).
//! - unregister: `state` to the gate, open (the same answers); then every
//!   CPU closes its own gate between two of its sections; then `state` to
//!   "return 0" (0 either way), then the other hooks, then an RCU grace
//!   period, after which no CPU runs any hook of the set.
//!
//! Each CPU's answer therefore changes once per switch, between two of its
//! sections, and no section mixes hooks of two sets, or of a set and of
//! "none". Upstream 6.12 patches `state` before `get_ip` on registration
//! and resets them with no grace period between, so a sample can see the
//! guest's state and an IP of 0; and any switch that patches `state` from
//! one answer to another can give one sample a guest IP with host flags.

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
