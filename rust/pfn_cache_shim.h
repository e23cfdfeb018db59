/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the pfn cache (pfn_cache_shim.c, pfn_cache.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_PFN_CACHE_SHIM_H
#define _GUESTGATE_PFN_CACHE_SHIM_H

#include <linux/guestgate/pfncache.h>
#include <linux/mmu_notifier.h>
#include <linux/types.h>

struct kunit;
struct seq_file;

/**
 * struct guestgate_gpc_counters - the counters of a cache kept in its fields
 * @refreshes: refreshes that made the cache valid
 * @invalidations: calls of the cache's notifier
 * @retries: page lookups thrown away because of a racing invalidation
 */
struct guestgate_gpc_counters {
	u64 refreshes;
	u64 invalidations;
	u64 retries;
};

/**
 * struct guestgate_gpc_fields - the state of a pfn cache C readers do not see
 * @pfn: the cached page frame number, for guestgate_gpc_pfn()
 * @counters: counters, accessed atomically (hits and misses are per CPU,
 *            in struct guestgate_gpc)
 * @active: activated and not deactivated, for the errno of a failed check
 *
 * The locking rules are rust/pfn_cache/raw.rs's (struct RawCache).
 */
struct guestgate_gpc_fields {
	u64 pfn;
	struct guestgate_gpc_counters counters;
	u8 active;
};

/**
 * struct guestgate_pfn_cache - the C half of a pfn cache
 * @gpc: what readers see, the C API's handle (first: a handle is a pointer
 *       to the whole cache)
 * @f: the rest of what readers and the notifier use
 * @notifier: covers the cached page while the request says so
 * @mm: the cache's mm, grabbed for the cache's lifetime
 *
 * Embedded first in the Rust cache (rust/pfn_cache/raw.rs), which holds the
 * request and the refresh mutex. @gpc.lock is held for reading by readers,
 * for writing by the notifier and by activation, refresh and deactivation
 * as they publish.
 */
struct guestgate_pfn_cache {
	struct guestgate_gpc gpc;
	struct guestgate_gpc_fields f;
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
};

struct page;

/* pfn_cache_shim.c, for pfn_cache.rs */
/* Initialises @pc, uninitialised memory, bound to current->mm. */
int guestgate_gpc_raw_init(struct guestgate_pfn_cache *pc);
/* The notifier must not be inserted. */
void guestgate_gpc_raw_release(struct guestgate_pfn_cache *pc);
bool guestgate_gpc_in_mm(struct guestgate_pfn_cache *pc);
unsigned long guestgate_gpc_write_lock(struct guestgate_pfn_cache *pc);
void guestgate_gpc_write_unlock(struct guestgate_pfn_cache *pc, unsigned long flags);
/*
 * The read side of <linux/guestgate/pfncache.h>, out of line for Rust
 * (which cannot call inline C). An unlock counts the check made under the
 * lock, a hit or a miss, on this CPU: a per-CPU add, no atomic.
 */
void guestgate_gpc_rust_read_lock(struct guestgate_gpc *gpc);
bool guestgate_gpc_rust_read_trylock(struct guestgate_gpc *gpc);
void guestgate_gpc_rust_read_unlock(struct guestgate_gpc *gpc, bool hit);
/* The checks counted so far, summed over the CPUs. */
void guestgate_gpc_sum_checks(struct guestgate_gpc *gpc, u64 *hits, u64 *misses);
/*
 * The notifier: the request locked (the refresh mutex); insert while not
 * inserted, from the cache's mm.
 */
int guestgate_gpc_notifier_insert(struct guestgate_pfn_cache *pc, unsigned long start);
/* Request locked, write lock not held; sleeps. */
void guestgate_gpc_notifier_remove(struct guestgate_pfn_cache *pc);
/* Notifier inserted; sleeps while an invalidation of its page runs. */
unsigned long guestgate_gpc_read_begin(struct guestgate_pfn_cache *pc);
/* Write lock held. */
bool guestgate_gpc_read_retry(struct guestgate_pfn_cache *pc, unsigned long seq);
/* Faults in and references the page at @uhva of current->mm. */
int guestgate_gpc_get_page(unsigned long uhva, bool write, struct page **pagep,
			   u64 *pfn, void **khva);
void guestgate_gpc_put_page(struct page *page);
/* Sleeps about a millisecond: the widened window of the test refreshes. */
void guestgate_gpc_break_delay(void);
/* debugfs guestgate/pfn_cache (device_shim.c's table) */
int guestgate_pfn_cache_show(struct seq_file *m, void *unused);

/**
 * struct guestgate_gpc_global_stats - counters of every pfn cache, for debugfs
 * @caches: caches allocated and not destroyed
 * @activations: successful and failed activations
 * @refreshes: refreshes that made a cache valid
 * @refresh_errors: refreshes that failed
 * @invalidations: notifier calls
 * @retries: lookups thrown away because of a racing invalidation
 * @retries_max: the most retries one refresh took
 * @memslot_changes: changes of any memslot table
 * @hits: successful checks of the caches destroyed so far
 * @misses: failed checks of the caches destroyed so far
 */
struct guestgate_gpc_global_stats {
	u64 caches;
	u64 activations;
	u64 refreshes;
	u64 refresh_errors;
	u64 invalidations;
	u64 retries;
	u64 retries_max;
	u64 memslot_changes;
	u64 hits;
	u64 misses;
};

/* pfn_cache.rs, for pfn_cache_shim.c */
/* The notifier's work, write lock held: @pc is invalid from now on. */
void guestgate_rs_gpc_invalidate(struct guestgate_pfn_cache *pc);
void guestgate_rs_gpc_global_stats(struct guestgate_gpc_global_stats *stats);

#if IS_ENABLED(CONFIG_KUNIT)
/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_pfn_cache_memslots(struct kunit *test);
/* @uhva: a mapped, writable page of current->mm, zero-filled */
void guestgate_kunit_pfn_cache_guard(struct kunit *test, unsigned long uhva);
#endif

#endif /* _GUESTGATE_PFN_CACHE_SHIM_H */
