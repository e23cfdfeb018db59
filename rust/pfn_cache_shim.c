// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the pfn cache, the C half.
 *
 * What pfn_cache.rs needs that only C has: the rwlock of each cache (its
 * lockdep class comes from a C macro), the per-CPU
 * check counters, the mmu interval notifier and its ops table, page lookup
 * and the direct map, mmgrab()/mmdrop(), debugfs. The state, the protocol
 * and the C API's logic are in pfn_cache.rs; this file exports the API. The
 * readers' fast path is inline in <linux/guestgate/pfncache.h>.
 *
 * One struct guestgate_pfn_cache (pfn_cache_shim.h) per cache, first in the
 * Rust cache that embeds it (rust/pfn_cache/raw.rs) and initialised here.
 * Its first member is the struct guestgate_gpc that C callers hold.
 */
#include <linux/build_bug.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "pfn_cache_shim.h"
#include "test_hooks.h"

/*
 * bindings.rs asserts the same figures for bindgen's view of the structs.
 * The lock is the last member of struct guestgate_gpc: its size depends on
 * the kernel's debug options, the offsets of the others do not.
 */
static_assert(sizeof(struct guestgate_gpc_stats) == 40);
static_assert(offsetof(struct guestgate_gpc, checks) == 32);
static_assert(offsetof(struct guestgate_gpc, valid) == 40);
static_assert(sizeof(struct guestgate_gpc_fields) == 40);
static_assert(offsetof(struct guestgate_gpc_fields, counters) == 8);
static_assert(offsetof(struct guestgate_gpc_fields, active) == 32);
static_assert(offsetof(struct guestgate_pfn_cache, gpc) == 0);
static_assert(sizeof(struct guestgate_gpc_global_stats) == 80);

/* The cached page is reached through the direct map (page_address()). */
static_assert(!IS_ENABLED(CONFIG_HIGHMEM), "the pfn cache needs every page in the direct map");
/* Readers in hardirq context need an rwlock_t that spins. */
static_assert(!IS_ENABLED(CONFIG_PREEMPT_RT), "the pfn cache's readers need a spinning rwlock_t");

int guestgate_gpc_raw_init(struct guestgate_pfn_cache *pc)
{
	memset(pc, 0, sizeof(*pc));
	if (!current->mm)
		return -EINVAL;
	pc->gpc.checks = alloc_percpu_gfp(struct guestgate_gpc_checks, GFP_KERNEL_ACCOUNT);
	if (!pc->gpc.checks)
		return -ENOMEM;
	pc->gpc.slots_generation = &pc->gpc.generation;
	rwlock_init(&pc->gpc.lock);
	pc->mm = current->mm;
	mmgrab(pc->mm);
	return 0;
}

void guestgate_gpc_raw_release(struct guestgate_pfn_cache *pc)
{
	mmdrop(pc->mm);
	free_percpu(pc->gpc.checks);
}

void guestgate_gpc_rust_read_lock(struct guestgate_gpc *gpc)
{
	guestgate_gpc_read_lock(gpc);
}

bool guestgate_gpc_rust_read_trylock(struct guestgate_gpc *gpc)
{
	return guestgate_gpc_read_trylock(gpc);
}

void guestgate_gpc_rust_read_unlock(struct guestgate_gpc *gpc, bool hit)
{
	this_cpu_inc(gpc->checks->count[hit]);
	guestgate_gpc_read_unlock(gpc);
}

void guestgate_gpc_sum_checks(struct guestgate_gpc *gpc, u64 *hits, u64 *misses)
{
	int cpu;

	*hits = 0;
	*misses = 0;
	for_each_possible_cpu(cpu) {
		struct guestgate_gpc_checks *c = per_cpu_ptr(gpc->checks, cpu);

		*hits += READ_ONCE(c->count[true]);
		*misses += READ_ONCE(c->count[false]);
	}
}

bool guestgate_gpc_in_mm(struct guestgate_pfn_cache *pc)
{
	return current->mm == pc->mm;
}

unsigned long guestgate_gpc_write_lock(struct guestgate_pfn_cache *pc)
{
	unsigned long flags;

	write_lock_irqsave(&pc->gpc.lock, flags);
	return flags;
}

void guestgate_gpc_write_unlock(struct guestgate_pfn_cache *pc, unsigned long flags)
{
	write_unlock_irqrestore(&pc->gpc.lock, flags);
}

/*
 * The notifier: runs before any page of the cached page's range is
 * unmapped, moved or changed (and again when the mm is torn down), with
 * the cached page still mapped. Once it has returned, no reader sees the
 * cache valid until a refresh that started its lookup after it published.
 */
static bool guestgate_gpc_notifier_invalidate(struct mmu_interval_notifier *mni,
					      const struct mmu_notifier_range *range,
					      unsigned long cur_seq)
{
	struct guestgate_pfn_cache *pc = container_of(mni, struct guestgate_pfn_cache,
						      notifier);
	unsigned long flags;

	write_lock_irqsave(&pc->gpc.lock, flags);
	mmu_interval_set_seq(mni, cur_seq);
	guestgate_rs_gpc_invalidate(pc);
	write_unlock_irqrestore(&pc->gpc.lock, flags);
	return true;
}

static const struct mmu_interval_notifier_ops guestgate_gpc_notifier_ops = {
	.invalidate = guestgate_gpc_notifier_invalidate,
};

int guestgate_gpc_notifier_insert(struct guestgate_pfn_cache *pc, unsigned long start)
{
	int ret;

	if (WARN_ON_ONCE(current->mm != pc->mm))
		return -EFAULT;
	/*
	 * A kthread may run in an mm whose users are gone
	 * (kthread_use_mm() of a grabbed mm): the first interval notifier
	 * of an mm registers its subscriptions, which needs a live mm.
	 */
	if (!mmget_not_zero(pc->mm))
		return -EFAULT;
	ret = mmu_interval_notifier_insert(&pc->notifier, pc->mm, start,
					   PAGE_SIZE, &guestgate_gpc_notifier_ops);
	mmput(pc->mm);
	return ret;
}

void guestgate_gpc_notifier_remove(struct guestgate_pfn_cache *pc)
{
	mmu_interval_notifier_remove(&pc->notifier);
}

unsigned long guestgate_gpc_read_begin(struct guestgate_pfn_cache *pc)
{
	return mmu_interval_read_begin(&pc->notifier);
}

bool guestgate_gpc_read_retry(struct guestgate_pfn_cache *pc, unsigned long seq)
{
	lockdep_assert_held_write(&pc->gpc.lock);
	return mmu_interval_read_retry(&pc->notifier, seq);
}

int guestgate_gpc_get_page(unsigned long uhva, bool write, struct page **pagep,
			   u64 *pfn, void **khva)
{
	struct page *page;
	long n;

	n = get_user_pages_unlocked(uhva & PAGE_MASK, 1, &page,
				    write ? FOLL_WRITE : 0);
	if (n < 0)
		return n;
	if (n != 1)
		return -EFAULT;
	*pagep = page;
	*pfn = page_to_pfn(page);
	/* No highmem (asserted above): every page is in the direct map. */
	*khva = page_address(page);
	return 0;
}

void guestgate_gpc_put_page(struct page *page)
{
	put_page(page);
}

void guestgate_gpc_break_delay(void)
{
	usleep_range(1000, 2000);
}

/* guestgate_memslots_create() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_memslots_create);
/* guestgate_memslots_set() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_memslots_set);
/* guestgate_memslots_generation() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_memslots_generation);
/* guestgate_memslots_destroy() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_memslots_destroy);
/* guestgate_gpc_init() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_init);
/* guestgate_gpc_activate() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_activate);
/* guestgate_gpc_activate_hva() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_activate_hva);
/* guestgate_gpc_pfn() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_pfn);
/* guestgate_gpc_refresh() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_refresh);
/* guestgate_gpc_invalidate() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_invalidate);
/* guestgate_gpc_deactivate() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_deactivate);
/* guestgate_gpc_destroy() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_destroy);
/* guestgate_gpc_stats() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_stats);

int guestgate_pfn_cache_show(struct seq_file *m, void *unused)
{
	struct guestgate_gpc_global_stats st;

	guestgate_rs_gpc_global_stats(&st);
	seq_printf(m, "caches: %llu\n", st.caches);
	seq_printf(m, "activations: %llu\n", st.activations);
	seq_printf(m, "refreshes: %llu\n", st.refreshes);
	seq_printf(m, "refresh_errors: %llu\n", st.refresh_errors);
	seq_printf(m, "invalidations: %llu\n", st.invalidations);
	seq_printf(m, "retries: %llu\n", st.retries);
	seq_printf(m, "retries_max: %llu\n", st.retries_max);
	seq_printf(m, "memslot_changes: %llu\n", st.memslot_changes);
	seq_printf(m, "hits: %llu\n", st.hits);
	seq_printf(m, "misses: %llu\n", st.misses);
	return 0;
}

/* guestgate_kunit_pfn_cache_memslots(): a Rust KUnit case in pfn_cache.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_pfn_cache_memslots);
/* guestgate_kunit_pfn_cache_guard(): a Rust KUnit case in pfn_cache.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_pfn_cache_guard);
/* guestgate_rs_gpc_break_refresh(): fault injection for the tests */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_gpc_break_refresh);
/* guestgate_rs_gpc_bench(): the fast path from a Rust caller */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_gpc_bench);
