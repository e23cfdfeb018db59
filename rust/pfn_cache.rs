// SPDX-License-Identifier: GPL-2.0

//! The pfn cache: a kernel mapping of one user page, kept coherent by an mmu
//! interval notifier.
//!
//! KVM's `gfn_to_pfn_cache` (`virt/kvm/pfncache.c`) as a standalone cache
//! bound to one mm. A [`PfnCache`] caches the page of one user address
//! (given directly, or as a guest physical address resolved through a
//! [`Memslots`] table), holds no reference on that page, and is kept safe by
//! the protocol alone:
//!
//! - readers take the cache's rwlock for reading (any context, hardirq
//!   included), check that the cache is valid and access the page before
//!   they drop it. In Rust the mapping is reachable only through a
//!   [`ReadGuard`], which exists only once the check passed and drops the
//!   lock when it goes. C readers use the inline functions of
//!   `<linux/guestgate/pfncache.h>`, so the fast path makes no call into
//!   guestgate between the lock and the unlock (Rust's makes none either:
//!   the check is inlined here);
//! - the cache's own interval notifier covers exactly the cached page. It
//!   runs before the page is unmapped or changed, takes the lock for writing
//!   and clears `valid`: once it returns, no reader uses the old page;
//! - a refresh (process context, in the cache's mm, serialized by the
//!   refresh mutex) takes the notifier's sequence, looks the page up (which
//!   sleeps), and publishes it under the write lock only if the sequence
//!   says no invalidation of that page ran meanwhile; otherwise it looks
//!   again. It then drops its page reference.
//!
//! # The difference from upstream
//!
//! Upstream registers one mmu notifier per VM and retries a refresh while
//! any invalidation is in flight anywhere in the VM's mm
//! (`mn_active_invalidate_count`), so a task that keeps invalidating an
//! unrelated range can starve refreshes. Here each cache has its own
//! interval notifier on its own page: an invalidation of another range
//! neither calls it nor moves its sequence, so it never makes a refresh look
//! again. (A notifier inserted while invalidations are in flight is added to
//! the interval tree once they end, and the refresh's first
//! `mmu_interval_read_begin()` waits for that: once per new page.)
//!
//! # Limits
//!
//! - A refresh, activation or deactivation on a cache whose [`ReadGuard`]
//!   the same task holds deadlocks (they take the write lock, and sleep):
//!   drop the guard first, as the lock's rules say in C.
//! - `PREEMPT_RT` is not supported: there `rwlock_t` sleeps, and readers in
//!   hardirq context (the hrtimer case) would be invalid.
//! - 64-bit only: the cached page is reached through the direct map.
//!
//! # Locking
//!
//! Each cache has two locks: the request's [`Mutex`] (the refresh mutex),
//! which serializes activation, refresh and deactivation and guards what
//! the cache is asked to cache, and the rwlock that C readers share, held
//! for writing by whatever changes what readers see (the notifier, and the
//! holder of the request as it publishes). Both are reached only through
//! the guards of [`raw`], the one module that touches the C half of a
//! cache. A refresh never uses what it read under the rwlock after dropping
//! it: what it publishes is what it looked up, validated by the notifier's
//! sequence under the write lock (the bug class of 93984f19e7bc, "drop the
//! lock and assume the fields unchanged", has nothing to read).
//!
//! # Layout
//!
//! - `memslots`: [`Memslots`] tables;
//! - `raw`: the C half, its locks and notifier, the page lookup;
//! - `cache`: [`PfnCache`], activation, refresh, deactivation;
//! - `read_guard`: [`ReadGuard`], the way to the mapping;
//! - `notifier`, `stats`, `c_api`: the notifier's work, the counters, the
//!   C API; `fault_injection`, `bench`, `kunit`: test hooks (`CONFIG_KUNIT`).

use crate::bindings;
use core::{
    marker::PhantomData,
    pin::Pin,
    ptr,
    sync::atomic::{
        AtomicU32, AtomicU64,
        Ordering::{Acquire, Relaxed, Release},
    },
};
use kernel::{
    ffi::{c_int, c_uint, c_ulong},
    new_mutex,
    page::{PAGE_MASK, PAGE_SIZE},
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
};

type Gpc = bindings::guestgate_gpc;
type Cache = bindings::guestgate_pfn_cache;

const PAGE_SHIFT: u32 = kernel::page::PAGE_SHIFT as u32;

/// Whether `[addr, addr + len)` stays within the page of `addr`. `len`
/// comes from callers unchecked: a huge one must not wrap the sum.
pub(crate) fn fits_in_page(addr: u64, len: usize) -> bool {
    ((addr & !(PAGE_MASK as u64)) as usize)
        .checked_add(len)
        .is_some_and(|end| end <= PAGE_SIZE)
}

mod c_api;
mod cache;
mod fault_injection;
mod memslots;
mod notifier;
mod raw;
mod read_guard;
mod stats;

#[cfg(CONFIG_KUNIT)]
mod bench;
#[cfg(CONFIG_KUNIT)]
mod kunit;

use crate::guest_entry::IrqsDisabled;
pub(crate) use cache::PfnCache;
use fault_injection::BREAK_REFRESH;
pub(crate) use memslots::Memslots;
use notifier::invalidate;
use raw::{PageRef, RawCache, ReadLock, RequestGuard};
pub(crate) use read_guard::ReadGuard;
use stats::*;
