/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the pfn cache, a kernel mapping of one user page kept
 * coherent by an mmu interval notifier.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only.
 */
#ifndef _LINUX_GUESTGATE_PFNCACHE_H
#define _LINUX_GUESTGATE_PFNCACHE_H

#include <linux/bits.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/page.h>

/*
 * pfn cache
 *
 * A kernel mapping of one user page of one mm, kept coherent with that mm's
 * page tables by an mmu interval notifier covering exactly that page: the
 * standalone form of KVM's gfn_to_pfn_cache (see Documentation/pfn-cache.rst).
 * The cache holds no reference on the page. It is safe to access the page
 * through guestgate_gpc_khva() only while holding the cache's read lock
 * after guestgate_gpc_check() returned true in the same critical section:
 * the notifier takes the write lock and clears the cache before the page is
 * unmapped. A failed check is followed, outside the read lock and in the
 * cache's mm, by guestgate_gpc_refresh():
 *
 *	guestgate_gpc_read_lock(gpc);
 *	while (!guestgate_gpc_check(gpc, len)) {
 *		guestgate_gpc_read_unlock(gpc);
 *		if (guestgate_gpc_refresh(gpc, len))
 *			return error;
 *		guestgate_gpc_read_lock(gpc);
 *	}
 *	<access guestgate_gpc_khva(gpc), up to len bytes>
 *	guestgate_gpc_read_unlock(gpc);
 *
 * An access covers [uhva, uhva + len) and must not cross a page boundary.
 */

struct guestgate_memslots;

/* The number of slots of a memslot table. */
#define GUESTGATE_MEMSLOTS_MAX	32

/**
 * struct guestgate_gpc_checks - checks of one pfn cache on one CPU
 * @count: checks that did not find the cache valid (@count[0], misses) and
 *         that did (@count[1], hits), indexed by the check's answer so that
 *         counting takes no branch
 */
struct guestgate_gpc_checks {
	u64 count[2];
};

/**
 * struct guestgate_gpc - a pfn cache, as its readers see it
 * @khva: kernel address of the cached access (in the cached page, at the
 *        offset of @uhva) while @valid, NULL otherwise
 * @uhva: user address of the access; for a cache activated by gpa, until a
 *        refresh resolved it, the gpa's offset in its page
 * @slots_generation: what @generation is compared with: the generation of
 *                    the memslot table of a cache activated by gpa, otherwise
 *                    @generation itself (never NULL: the check takes no branch)
 * @generation: the table's generation that resolved @uhva
 * @checks: hits and misses of guestgate_gpc_check(), per CPU: readers on
 *          several CPUs would otherwise bounce one cache line
 * @valid: @khva maps the page at @uhva, and an invalidation of that page
 *         clears it first
 * @lock: held for reading around check and access; for writing by whatever
 *        changes the members above
 *
 * Allocated by guestgate_gpc_init(), as the first member of a larger private
 * structure. Callers read it only through the inline functions below, which
 * are the fast path: no call into guestgate between taking the read lock and
 * dropping it. Written only by guestgate, with @lock held for writing.
 */
struct guestgate_gpc {
	void *khva;
	u64 uhva;
	const u64 *slots_generation;
	u64 generation;
	struct guestgate_gpc_checks __percpu *checks;
	bool valid;
	rwlock_t lock;
};

/**
 * enum guestgate_gpc_flags - flags of guestgate_gpc_init()
 * @GUESTGATE_GPC_WRITABLE: the cache looks its pages up for writing
 */
enum guestgate_gpc_flags {
	GUESTGATE_GPC_WRITABLE = BIT(0),
};

/**
 * struct guestgate_gpc_stats - counters of one pfn cache
 * @hits: checks that found the cache valid
 * @misses: checks that did not
 * @refreshes: refreshes that made the cache valid
 * @invalidations: calls of the cache's notifier (its page was invalidated)
 * @retries: page lookups thrown away because an invalidation of the page
 *           raced with them
 */
struct guestgate_gpc_stats {
	u64 hits;
	u64 misses;
	u64 refreshes;
	u64 invalidations;
	u64 retries;
};

/**
 * guestgate_memslots_create() - Create an empty memslot table.
 * @slotsp: Set to the new table on success.
 *
 * A memslot table maps guest frame numbers to user addresses, one range per
 * slot, for caches activated by guest physical address. Every change bumps
 * its generation, which invalidates every cache resolved through it.
 *
 * Context: Process context; may sleep.
 * Return: 0 on success, -ENOMEM.
 */
int guestgate_memslots_create(struct guestgate_memslots **slotsp);

/**
 * guestgate_memslots_set() - Set, replace or delete one slot.
 * @slots: The table.
 * @id: The slot, below GUESTGATE_MEMSLOTS_MAX.
 * @base_gfn: First guest frame number of the slot.
 * @npages: Pages in the slot; 0 deletes the slot.
 * @uhva: Page-aligned user address of @base_gfn.
 *
 * Bumps the table's generation: caches resolved through the table fail
 * their next check and re-resolve their address on refresh.
 *
 * Context: Process context; may sleep.
 * Return: 0 on success; -EINVAL for a bad @id, an unaligned @uhva or a range
 * that wraps; -EEXIST if the range overlaps another slot's.
 */
int guestgate_memslots_set(struct guestgate_memslots *slots, u32 id,
			   u64 base_gfn, u64 npages, unsigned long uhva);

/**
 * guestgate_memslots_generation() - The generation of a memslot table.
 * @slots: The table.
 *
 * Context: Any context.
 * Return: The number of changes made to @slots so far.
 */
u64 guestgate_memslots_generation(struct guestgate_memslots *slots);

/**
 * guestgate_memslots_destroy() - Drop the creator's reference to a table.
 * @slots: The table, or NULL.
 *
 * Caches activated on @slots keep it alive until they are deactivated.
 *
 * Context: Process context.
 */
void guestgate_memslots_destroy(struct guestgate_memslots *slots);

/**
 * guestgate_gpc_init() - Allocate a pfn cache bound to the current mm.
 * @gpcp: Set to the new, inactive cache on success.
 * @flags: GUESTGATE_GPC_WRITABLE to map pages for writing, or 0.
 *
 * The cache belongs to current->mm for its lifetime: activation and refresh
 * are done from tasks running in that mm.
 *
 * Context: Process context with an mm; may sleep.
 * Return: 0 on success; -EINVAL without an mm or with unknown @flags;
 * -ENOMEM.
 */
int guestgate_gpc_init(struct guestgate_gpc **gpcp, unsigned int flags);

/**
 * guestgate_gpc_activate() - Cache the page of a guest physical address.
 * @gpc: The cache.
 * @slots: The memslot table that resolves @gpa; the cache takes a reference.
 * @gpa: Guest physical address of the access.
 * @len: Length of the access.
 *
 * Makes the cache active, then refreshes it. If the refresh fails the
 * cache stays active and invalid, and a later refresh tries again.
 *
 * Context: Process context in the cache's mm; sleeps.
 * Return: 0 on success; -EINVAL if [@gpa, @gpa + @len) crosses a page or
 * @slots is NULL; -EFAULT if @gpa is in no slot, its page is not mapped (or not writable,
 * for a writable cache), or the caller is not in the cache's mm; -ENOMEM.
 */
int guestgate_gpc_activate(struct guestgate_gpc *gpc,
			   struct guestgate_memslots *slots, u64 gpa,
			   unsigned long len);

/**
 * guestgate_gpc_activate_hva() - Cache the page of a user address.
 * @gpc: The cache.
 * @uhva: User address of the access, in the cache's mm.
 * @len: Length of the access.
 *
 * As guestgate_gpc_activate(), without a memslot table.
 *
 * Context: Process context in the cache's mm; sleeps.
 * Return: 0 on success; -EINVAL if [@uhva, @uhva + @len) crosses a page;
 * -EFAULT if the page is not mapped (or not writable, for a writable
 * cache), or the caller is not in the cache's mm; -ENOMEM.
 */
int guestgate_gpc_activate_hva(struct guestgate_gpc *gpc, unsigned long uhva,
			       unsigned long len);

/**
 * guestgate_gpc_pfn() - Page frame number of the cached page.
 * @gpc: The cache, read-locked, with a successful guestgate_gpc_check().
 *
 * Context: Any context, with the read lock held.
 * Return: The pfn, or 0 if the cache is not valid.
 */
unsigned long guestgate_gpc_pfn(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_refresh() - Look the cached page up again.
 * @gpc: The active cache; the read lock not held.
 * @len: Length of the access.
 *
 * Re-resolves a guest physical address through its memslot table, faults
 * the page in, and publishes it unless an invalidation of that page raced
 * with the lookup (then it looks again). Invalidations of other ranges of
 * the mm never make it look again. A cache still valid for the address
 * (and memslot generation) it resolves to is left as it is: its notifier
 * keeps it current. Refreshes of one cache are serialized.
 *
 * Context: Process context in the cache's mm, mmap_lock not held (the order
 * is the refresh mutex, then mmap_lock); sleeps.
 * Return: 0 on success; -EINVAL if the cache is inactive or the access
 * crosses a page, -EFAULT if the caller is not in the cache's mm (the cache
 * is left as it was in these cases); otherwise, on failure, the cache is
 * invalid: -EFAULT as for guestgate_gpc_activate(), or what the page lookup
 * returned (-ENOMEM, -EINTR on a fatal signal, -EHWPOISON, -EBUSY).
 */
int guestgate_gpc_refresh(struct guestgate_gpc *gpc, unsigned long len);

/**
 * guestgate_gpc_invalidate() - Make the cache invalid until its next refresh.
 * @gpc: The cache.
 *
 * For a user that keeps state of its own beside the cache and checks it
 * with guestgate_gpc_check() under the same read lock (KVM's memslot, gpa
 * and generation): once this returned, no reader finds the cache valid
 * until a refresh or an activation publishes it again, so that state may
 * be changed meanwhile (by a task that serializes it with those refreshes)
 * without a reader seeing it half changed beside a valid mapping. The
 * request, the notifier and the memslot table stay as they are.
 *
 * Context: Process context, any task; sleeps (waits for a refresh under way).
 */
void guestgate_gpc_invalidate(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_deactivate() - Stop caching.
 * @gpc: The cache.
 *
 * Invalidates the cache and drops its memslot table. The cache may be
 * activated again. Its notifier stays on the page it watched until the
 * cache is destroyed or activated on another page: activating it on the
 * same page again inserts none. (Inserting an interval notifier while any
 * invalidation is in flight in the mm makes the refresh's first sequence
 * read wait, uninterruptibly, until none is.)
 *
 * Context: Process context, any task; sleeps.
 */
void guestgate_gpc_deactivate(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_destroy() - Deactivate and free a cache.
 * @gpc: The cache, or NULL.
 *
 * Context: Process context, any task; sleeps.
 */
void guestgate_gpc_destroy(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_stats() - Read the counters of a cache.
 * @gpc: The cache.
 * @stats: Filled.
 *
 * Context: Any context.
 */
void guestgate_gpc_stats(struct guestgate_gpc *gpc,
			 struct guestgate_gpc_stats *stats);

/**
 * guestgate_gpc_read_lock() - Take the read lock of a cache.
 * @gpc: The cache.
 *
 * Context: Task or softirq context, or with interrupts disabled. Readers in
 * hardirq context and the notifier disable interrupts, so a task reader
 * needs no irqsave.
 */
static inline void guestgate_gpc_read_lock(struct guestgate_gpc *gpc)
{
	read_lock(&gpc->lock);
}

/**
 * guestgate_gpc_read_unlock() - Drop the read lock of guestgate_gpc_read_lock().
 * @gpc: The cache.
 */
static inline void guestgate_gpc_read_unlock(struct guestgate_gpc *gpc)
{
	read_unlock(&gpc->lock);
}

/**
 * guestgate_gpc_read_lock_irq() - Take the read lock, interrupts off.
 * @gpc: The cache.
 *
 * For a caller whose interrupts are on; guestgate_gpc_read_unlock_irq()
 * turns them on again.
 *
 * Context: Any context with interrupts on.
 */
static inline void guestgate_gpc_read_lock_irq(struct guestgate_gpc *gpc)
{
	read_lock_irq(&gpc->lock);
}

/**
 * guestgate_gpc_read_unlock_irq() - Drop the read lock of guestgate_gpc_read_lock_irq().
 * @gpc: The cache.
 */
static inline void guestgate_gpc_read_unlock_irq(struct guestgate_gpc *gpc)
{
	read_unlock_irq(&gpc->lock);
}

/**
 * guestgate_gpc_read_trylock() - Take the read lock if it is free.
 * @gpc: The cache.
 *
 * Fails while the lock is held for writing or a writer waits for it: the
 * notifier, or an activation, refresh or deactivation publishing.
 *
 * Context: Any context but NMI.
 * Return: True if taken; drop it with guestgate_gpc_read_unlock().
 */
static inline bool guestgate_gpc_read_trylock(struct guestgate_gpc *gpc)
{
	return read_trylock(&gpc->lock);
}

/**
 * guestgate_gpc_read_lock_irqsave() - Take the read lock, interrupts off.
 * @gpc: The cache.
 *
 * Context: Any context, hardirq included.
 * Return: The interrupt flags for guestgate_gpc_read_unlock_irqrestore().
 */
static inline unsigned long guestgate_gpc_read_lock_irqsave(struct guestgate_gpc *gpc)
{
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	return flags;
}

/**
 * guestgate_gpc_read_unlock_irqrestore() - Drop an irqsave read lock.
 * @gpc: The cache.
 * @flags: What guestgate_gpc_read_lock_irqsave() returned.
 */
static inline void guestgate_gpc_read_unlock_irqrestore(struct guestgate_gpc *gpc,
							unsigned long flags)
{
	read_unlock_irqrestore(&gpc->lock, flags);
}

/**
 * guestgate_gpc_read_lock_set_subclass() - Renumber a held read lock for lockdep.
 * @gpc: The cache, read-locked by the caller.
 * @subclass: Its lockdep subclass from now on.
 *
 * The read locks of all caches are one lockdep class, and a read lock of an
 * rwlock_t taken in process context is not recursive for lockdep: a caller
 * that holds two caches' read locks at once (Xen's runstate area across a
 * page boundary) gives the first one subclass 1 before it takes the second.
 * Nothing without lockdep.
 */
static inline void guestgate_gpc_read_lock_set_subclass(struct guestgate_gpc *gpc,
							unsigned int subclass)
{
	lock_set_subclass(&gpc->lock.dep_map, subclass, _THIS_IP_);
}

/**
 * guestgate_gpc_lockdep_assert_held() - Assert that the cache is locked.
 * @gpc: The cache.
 *
 * For a caller's own helpers that need the read lock (for example to use
 * state of the caller's that it checks with the cache). Nothing without
 * lockdep.
 */
static inline void guestgate_gpc_lockdep_assert_held(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->lock);
}

/**
 * guestgate_gpc_check() - Whether the cache may be used for an access.
 * @gpc: The cache, read-locked by the caller.
 * @len: Length of the access.
 *
 * True if the cache is valid (which implies active), its memslot table (if
 * any) has not changed since it resolved the cache's address, and the
 * access fits in the page. The answer holds until the read lock is dropped.
 * Counts a hit or a miss on this CPU.
 *
 * Context: Any context, hardirq included, with the read lock held.
 * Return: True if guestgate_gpc_khva() may be accessed for @len bytes.
 */
static inline bool guestgate_gpc_check(struct guestgate_gpc *gpc, unsigned long len)
{
	bool hit;

	lockdep_assert_held(&gpc->lock);
	/*
	 * One branch in all, the caller's on the answer: "&", not "&&". The
	 * length is compared with the room left in the page, without a sum
	 * that a huge @len could wrap.
	 */
	hit = gpc->valid & (len <= PAGE_SIZE - (gpc->uhva & ~PAGE_MASK)) &
	      (READ_ONCE(*gpc->slots_generation) == gpc->generation);
	this_cpu_inc(gpc->checks->count[hit]);
	return hit;
}

/**
 * guestgate_gpc_khva() - Kernel address of the cached access.
 * @gpc: The cache, read-locked, with a successful guestgate_gpc_check().
 *
 * Writing through it is allowed only for a GUESTGATE_GPC_WRITABLE cache: a
 * read-only cache may map the zero page or a page shared copy-on-write.
 *
 * Context: Any context, with the read lock held.
 * Return: The kernel address of the cached user address, or NULL if the
 * cache is not valid. Not to be used after the read lock is dropped.
 */
static inline void *guestgate_gpc_khva(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->lock);
	return gpc->khva;
}

#endif /* _LINUX_GUESTGATE_PFNCACHE_H */
