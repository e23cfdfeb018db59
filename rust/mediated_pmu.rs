// SPDX-License-Identifier: GPL-2.0

//! The mediated PMU ownership deal, for PMUs that a module owns.
//!
//! A hypervisor that hands its guests the PMU itself (a mediated vPMU) and
//! a host event that counts the guest cannot both have the PMU. Linux 7.0's
//! perf core settles it with a deal, which this module brings to 6.12 for
//! the PMUs that take part through guestgate:
//!
//! - a hypervisor becomes a mediated user ([`MediatedPmu::create`],
//!   `guestgate_mediated_pmu_create()`) only while no event that counts
//!   the guest (`!attr.exclude_guest`) exists on a PMU of the deal:
//!   `EBUSY` otherwise;
//! - while a mediated user exists, such an event cannot be created: the
//!   PMU's event_init gets `EOPNOTSUPP` from [`GuestCountingEvent::account`]
//!   (`guestgate_pmu_account_event()`);
//! - events that exclude the guest are not part of the deal.
//!
//! # One word for both sides
//!
//! Upstream keeps two counters, `nr_include_guest_events` and
//! `nr_mediated_pmu_vms`, and serialises their 0 -> 1 transitions with a
//! mutex. Here both are one signed word, [`OWNERS`]: positive, that many
//! events count the guest; negative, minus that many mediated users; zero,
//! neither. Each side joins with one compare-and-exchange that fails while
//! the other side holds the word, so the two can never both be nonzero, with
//! no lock: event_init and the hypervisor may call from any context.
//!
//! `mediated_pmu_shim.c` holds what is C: the exports, reading
//! `attr.exclude_guest` from a `struct perf_event`, the WARN on a caller's
//! misuse, and the debugfs file `guestgate/mediated_pmu`.

use crate::bindings;
use core::sync::atomic::{
    AtomicI64, AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use kernel::{ffi::c_int, prelude::*};

mod c_api;
#[cfg(CONFIG_KUNIT)]
mod kunit;
mod owners;

pub(crate) use owners::MediatedPmu;
