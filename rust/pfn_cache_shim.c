// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the pfn cache, the C half.
 *
 * What pfn_cache.rs needs that only C has: the rwlock and the refresh
 * mutex of each cache (their lockdep classes come from C macros), the mmu
 * interval notifier and its ops table, page lookup and the direct map,
 * mmgrab()/mmdrop(), debugfs. The state, the protocol and the C API's logic
 * are in pfn_cache.rs; this file exports the API.
 *
 * One struct guestgate_gpc per cache, allocated here. Its first member is
 * the struct guestgate_gpc_fields that pfn_cache.rs reads and writes under
 * the locks below.
 */
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <kunit/visibility.h>

#include "shim.h"

/* bindings.rs asserts the same figures for bindgen's view of the structs. */
static_assert(sizeof(struct guestgate_gpc_stats) == 40);
static_assert(sizeof(struct guestgate_gpc_fields) == 88);
static_assert(offsetof(struct guestgate_gpc_fields, counters) == 56);
static_assert(offsetof(struct guestgate_gpc_fields, notified) == 83);
static_assert(sizeof(struct guestgate_gpc_global_stats) == 56);

/* The cached page is reached through the direct map (page_address()). */
static_assert(!IS_ENABLED(CONFIG_HIGHMEM), "the pfn cache needs every page in the direct map");
/* Readers in hardirq context need an rwlock_t that spins. */
static_assert(!IS_ENABLED(CONFIG_PREEMPT_RT), "the pfn cache's readers need a spinning rwlock_t");

/**
 * struct guestgate_gpc - a pfn cache
 * @f: the state pfn_cache.rs keeps (first: pfn_cache.rs casts the pointer)
 * @lock: readers of the mapping; writers: the notifier, activation, refresh
 *        and deactivation as they publish
 * @refresh_lock: serializes activation, refresh and deactivation
 * @notifier: covers the cached page while @f.notified
 * @mm: the cache's mm, grabbed for the cache's lifetime
 * @checks: hits and misses of guestgate_gpc_check(), per CPU: readers on
 *          several CPUs would otherwise bounce one cache line
 */
struct guestgate_gpc {
	struct guestgate_gpc_fields f;
	rwlock_t lock;
	struct mutex refresh_lock; /* see the kernel-doc above */
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
	struct guestgate_gpc_checks __percpu *checks;
};

/**
 * struct guestgate_gpc_checks - checks of one cache on one CPU
 * @hits: checks that found the cache valid
 * @misses: checks that did not
 */
struct guestgate_gpc_checks {
	u64 hits;
	u64 misses;
};

static_assert(offsetof(struct guestgate_gpc, f) == 0);

int guestgate_gpc_alloc(struct guestgate_gpc **gpcp)
{
	struct guestgate_gpc *gpc;

	if (!current->mm)
		return -EINVAL;
	gpc = kzalloc(sizeof(*gpc), GFP_KERNEL);
	if (!gpc)
		return -ENOMEM;
	gpc->checks = alloc_percpu(struct guestgate_gpc_checks);
	if (!gpc->checks) {
		kfree(gpc);
		return -ENOMEM;
	}
	rwlock_init(&gpc->lock);
	mutex_init(&gpc->refresh_lock);
	gpc->mm = current->mm;
	mmgrab(gpc->mm);
	*gpcp = gpc;
	return 0;
}

void guestgate_gpc_free(struct guestgate_gpc *gpc)
{
	WARN_ON_ONCE(gpc->f.notified);
	mmdrop(gpc->mm);
	mutex_destroy(&gpc->refresh_lock);
	free_percpu(gpc->checks);
	kfree(gpc);
}

void guestgate_gpc_count_check(struct guestgate_gpc *gpc, bool hit)
{
	if (hit)
		this_cpu_inc(gpc->checks->hits);
	else
		this_cpu_inc(gpc->checks->misses);
}

void guestgate_gpc_sum_checks(struct guestgate_gpc *gpc, u64 *hits, u64 *misses)
{
	int cpu;

	*hits = 0;
	*misses = 0;
	for_each_possible_cpu(cpu) {
		struct guestgate_gpc_checks *c = per_cpu_ptr(gpc->checks, cpu);

		*hits += READ_ONCE(c->hits);
		*misses += READ_ONCE(c->misses);
	}
}

bool guestgate_gpc_in_mm(struct guestgate_gpc *gpc)
{
	return current->mm == gpc->mm;
}

void guestgate_gpc_refresh_lock(struct guestgate_gpc *gpc)
{
	mutex_lock(&gpc->refresh_lock);
}

void guestgate_gpc_refresh_unlock(struct guestgate_gpc *gpc)
{
	mutex_unlock(&gpc->refresh_lock);
}

unsigned long guestgate_gpc_write_lock(struct guestgate_gpc *gpc)
{
	unsigned long flags;

	write_lock_irqsave(&gpc->lock, flags);
	return flags;
}

void guestgate_gpc_write_unlock(struct guestgate_gpc *gpc, unsigned long flags)
{
	write_unlock_irqrestore(&gpc->lock, flags);
}

/*
 * The notifier: runs before any page of the cached page's range is
 * unmapped, moved or changed (and again when the mm is torn down), with
 * the cached page still mapped. Once it has returned, no reader sees the
 * cache valid until a refresh that started its lookup after it published.
 */
static bool guestgate_gpc_invalidate(struct mmu_interval_notifier *mni,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq)
{
	struct guestgate_gpc *gpc = container_of(mni, struct guestgate_gpc,
						 notifier);
	unsigned long flags;

	write_lock_irqsave(&gpc->lock, flags);
	mmu_interval_set_seq(mni, cur_seq);
	guestgate_rs_gpc_invalidate(&gpc->f);
	write_unlock_irqrestore(&gpc->lock, flags);
	return true;
}

static const struct mmu_interval_notifier_ops guestgate_gpc_notifier_ops = {
	.invalidate = guestgate_gpc_invalidate,
};

int guestgate_gpc_notifier_insert(struct guestgate_gpc *gpc, unsigned long start)
{
	lockdep_assert_held(&gpc->refresh_lock);
	if (WARN_ON_ONCE(current->mm != gpc->mm))
		return -EFAULT;
	return mmu_interval_notifier_insert(&gpc->notifier, gpc->mm, start,
					    PAGE_SIZE, &guestgate_gpc_notifier_ops);
}

void guestgate_gpc_notifier_remove(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->refresh_lock);
	mmu_interval_notifier_remove(&gpc->notifier);
}

unsigned long guestgate_gpc_read_begin(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->refresh_lock);
	return mmu_interval_read_begin(&gpc->notifier);
}

bool guestgate_gpc_read_retry(struct guestgate_gpc *gpc, unsigned long seq)
{
	lockdep_assert_held_write(&gpc->lock);
	return mmu_interval_read_retry(&gpc->notifier, seq);
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

/* The C API for the read side: the lock is C's, the check is Rust's. */

void guestgate_gpc_read_lock(struct guestgate_gpc *gpc)
{
	read_lock(&gpc->lock);
}
EXPORT_SYMBOL_GPL(guestgate_gpc_read_lock);

void guestgate_gpc_read_unlock(struct guestgate_gpc *gpc)
{
	read_unlock(&gpc->lock);
}
EXPORT_SYMBOL_GPL(guestgate_gpc_read_unlock);

bool guestgate_gpc_read_trylock(struct guestgate_gpc *gpc)
{
	return read_trylock(&gpc->lock);
}
EXPORT_SYMBOL_GPL(guestgate_gpc_read_trylock);

unsigned long guestgate_gpc_read_lock_irqsave(struct guestgate_gpc *gpc)
{
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	return flags;
}
EXPORT_SYMBOL_GPL(guestgate_gpc_read_lock_irqsave);

void guestgate_gpc_read_unlock_irqrestore(struct guestgate_gpc *gpc,
					  unsigned long flags)
{
	read_unlock_irqrestore(&gpc->lock, flags);
}
EXPORT_SYMBOL_GPL(guestgate_gpc_read_unlock_irqrestore);

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
/* guestgate_gpc_check() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_check);
/* guestgate_gpc_khva() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_khva);
/* guestgate_gpc_pfn() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_pfn);
/* guestgate_gpc_refresh() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_refresh);
/* guestgate_gpc_deactivate() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_deactivate);
/* guestgate_gpc_destroy() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_destroy);
/* guestgate_gpc_stats() is defined in pfn_cache.rs. */
EXPORT_SYMBOL_GPL(guestgate_gpc_stats);

static int guestgate_pfn_cache_show(struct seq_file *m, void *unused)
{
	struct guestgate_gpc_global_stats st;

	guestgate_rs_gpc_global_stats(&st);
	seq_printf(m, "caches: %llu\n", st.caches);
	seq_printf(m, "activations: %llu\n", st.activations);
	seq_printf(m, "refreshes: %llu\n", st.refreshes);
	seq_printf(m, "refresh_errors: %llu\n", st.refresh_errors);
	seq_printf(m, "invalidations: %llu\n", st.invalidations);
	seq_printf(m, "retries: %llu\n", st.retries);
	seq_printf(m, "memslot_changes: %llu\n", st.memslot_changes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(guestgate_pfn_cache);

static struct dentry *guestgate_gpc_debugfs;

void guestgate_gpc_debugfs_register(void)
{
	guestgate_gpc_debugfs = debugfs_create_file("pfn_cache", 0444,
						    guestgate_debugfs, NULL,
						    &guestgate_pfn_cache_fops);
}

void guestgate_gpc_debugfs_unregister(void)
{
	debugfs_remove(guestgate_gpc_debugfs);
}

/* guestgate_kunit_pfn_cache_memslots(): a Rust KUnit case in pfn_cache.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_pfn_cache_memslots);
/* guestgate_kunit_pfn_cache_guard(): a Rust KUnit case in pfn_cache.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_pfn_cache_guard);
/* guestgate_rs_gpc_break_refresh(): fault injection for the tests */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_gpc_break_refresh);
/* guestgate_rs_gpc_bench(): the fast path from a Rust caller */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_gpc_bench);
