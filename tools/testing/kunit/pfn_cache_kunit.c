// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_pfn_cache: the pfn cache through the C API, on real mappings
 * of an mm attached to the case's kthread (kunit_vm_mmap() attaches one
 * inside the case: suite init and exit run in other kthreads), plus Rust
 * cases for the memslot table and the read guard (rust/pfn_cache/kunit.rs).
 *
 * MADV_DONTNEED is done as madvise() does it, with zap_page_range_single()
 * under the mmap read lock (do_madvise() is not exported).
 */
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/guestgate.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>

#include "guestgate_kunit.h"
#include "pfn_cache_shim.h"

/* An anonymous mapping of @pages pages in the case's mm; fails the case if none. */
static unsigned long gg_map(struct kunit *test, unsigned long pages,
			    unsigned long prot)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, pages * PAGE_SIZE, prot,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "kunit_vm_mmap: %ld",
			       (long)addr);
	return addr;
}

/* MADV_DONTNEED on [@addr, @addr + @size) of the current mm. */
static void gg_zap(struct kunit *test, unsigned long addr, unsigned long size)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	KUNIT_EXPECT_TRUE(test, vma && vma->vm_start <= addr);
	if (vma && vma->vm_start <= addr)
		zap_page_range_single(vma, addr, size, NULL);
	mmap_read_unlock(mm);
}

/* The pfn that get_user_pages() finds at @uhva now. */
static unsigned long gg_gup_pfn(unsigned long uhva)
{
	struct page *page;
	unsigned long pfn;

	if (get_user_pages_unlocked(uhva, 1, &page, FOLL_WRITE) != 1)
		return 0;
	pfn = page_to_pfn(page);
	put_page(page);
	return pfn;
}

/* The cached pfn if the cache is valid, else 0. */
static unsigned long gg_pfn(struct guestgate_gpc *gpc)
{
	unsigned long pfn = 0;

	guestgate_gpc_read_lock(gpc);
	if (guestgate_gpc_check(gpc, 1))
		pfn = guestgate_gpc_pfn(gpc);
	guestgate_gpc_read_unlock(gpc);
	return pfn;
}

/* Whether the cache is valid for @len bytes, under its read lock. */
static bool gg_check(struct guestgate_gpc *gpc, unsigned long len)
{
	bool ok;

	guestgate_gpc_read_lock(gpc);
	ok = guestgate_gpc_check(gpc, len);
	guestgate_gpc_read_unlock(gpc);
	return ok;
}

/* Writes @val through the cache (irqsave read lock); false if not valid. */
static bool gg_write_u64(struct guestgate_gpc *gpc, u64 val)
{
	unsigned long flags;
	bool ok;

	flags = guestgate_gpc_read_lock_irqsave(gpc);
	ok = guestgate_gpc_check(gpc, sizeof(val));
	if (ok)
		WRITE_ONCE(*(u64 *)guestgate_gpc_khva(gpc), val);
	guestgate_gpc_read_unlock_irqrestore(gpc, flags);
	return ok;
}

static struct guestgate_gpc *gg_init(struct kunit *test, unsigned int flags)
{
	struct guestgate_gpc *gpc = NULL;

	KUNIT_ASSERT_EQ(test, guestgate_gpc_init(&gpc, flags), 0);
	return gpc;
}

static void guestgate_gpc_rust_memslots(struct kunit *test)
{
	guestgate_kunit_pfn_cache_memslots(test);
}

static void guestgate_gpc_rust_guard(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 1, PROT_READ | PROT_WRITE);

	guestgate_kunit_pfn_cache_guard(test, uhva);
}

/* A cache needs an mm; flags are checked. */
static void guestgate_gpc_init_rules(struct kunit *test)
{
	struct guestgate_gpc *gpc = NULL;

	KUNIT_EXPECT_NULL(test, current->mm);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_init(&gpc, 0), -EINVAL);
	gg_map(test, 1, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_init(&gpc, 0x80), -EINVAL);
	gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	guestgate_gpc_destroy(gpc);
	guestgate_gpc_destroy(NULL);
}

/* Kernel writes reach user space, at the pfn get_user_pages() sees. */
static void guestgate_gpc_hva_write(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 1, PROT_READ | PROT_WRITE);
	struct guestgate_gpc_stats st;
	struct guestgate_gpc *gpc;
	u64 val = 0x1122334455667788ULL, user = 0, seen;

	gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uhva + 8, &user,
					   sizeof(user)), 0);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva + 8, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, val));
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)uhva + 8,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, val);

	/* User writes are seen by the kernel. */
	user = ~val;
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)uhva + 8, &user,
					   sizeof(user)), 0);
	guestgate_gpc_read_lock(gpc);
	KUNIT_EXPECT_TRUE(test, guestgate_gpc_check(gpc, 8));
	seen = READ_ONCE(*(u64 *)guestgate_gpc_khva(gpc));
	guestgate_gpc_read_unlock(gpc);
	KUNIT_EXPECT_EQ(test, seen, ~val);
	KUNIT_EXPECT_NE(test, gg_pfn(gpc), 0);
	KUNIT_EXPECT_EQ(test, gg_pfn(gpc), gg_gup_pfn(uhva));

	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_EQ(test, st.refreshes, 1);
	KUNIT_EXPECT_EQ(test, st.hits, 4);
	KUNIT_EXPECT_EQ(test, st.misses, 0);
	KUNIT_EXPECT_EQ(test, st.invalidations, 0);
	guestgate_gpc_destroy(gpc);
}

/* An access must fit in one page; the offset counts. */
static void guestgate_gpc_length_rules(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 2, PROT_READ | PROT_WRITE);
	struct guestgate_gpc *gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);

	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, PAGE_SIZE + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva + PAGE_SIZE - 4, 8),
			-EINVAL);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 4));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, PAGE_SIZE), 0);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, PAGE_SIZE));
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, PAGE_SIZE + 1));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva + PAGE_SIZE - 4, 4), 0);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 4));
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 5));
	/* A bad length leaves a valid cache valid. */
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 5), -EINVAL);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 4));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 4), 0);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 4));
	guestgate_gpc_destroy(gpc);
}

/*
 * inactive -> active (valid) -> invalidated -> refreshed -> deactivated ->
 * active again; MADV_DONTNEED gives a zero page after the refresh.
 */
static void guestgate_gpc_state_machine(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 2, PROT_READ | PROT_WRITE);
	struct guestgate_gpc *gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	struct guestgate_gpc_stats st;
	u64 invalidations;
	u64 user = 0;

	/* Inactive. */
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), -EINVAL);
	guestgate_gpc_read_lock(gpc);
	KUNIT_EXPECT_NULL(test, guestgate_gpc_khva(gpc));
	guestgate_gpc_read_unlock(gpc);

	/* Active and valid; the page is faulted in by the activation. */
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 42));

	/* An invalidation of another page leaves the cache alone. */
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)uhva + PAGE_SIZE,
					   &user, sizeof(user)), 0);
	gg_zap(test, uhva + PAGE_SIZE, PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 8));
	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_EQ(test, st.invalidations, 0);

	/* MADV_DONTNEED of its page: invalidated. */
	gg_zap(test, uhva, PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_FALSE(test, gg_write_u64(gpc, 43));
	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_GE(test, st.invalidations, 1);

	/* Refreshed: a new, zero-filled page. */
	KUNIT_ASSERT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	guestgate_gpc_read_lock(gpc);
	KUNIT_EXPECT_TRUE(test, guestgate_gpc_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, READ_ONCE(*(u64 *)guestgate_gpc_khva(gpc)), 0);
	guestgate_gpc_read_unlock(gpc);
	KUNIT_EXPECT_EQ(test, gg_pfn(gpc), gg_gup_pfn(uhva));
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 44));
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)uhva,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 44);

	/*
	 * Deactivated: its notifier stays on its page (a zap of the page
	 * still calls it), so that activating it there again inserts none.
	 */
	guestgate_gpc_deactivate(gpc);
	guestgate_gpc_stats(gpc, &st);
	invalidations = st.invalidations;
	gg_zap(test, uhva, PAGE_SIZE);
	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_GT(test, st.invalidations, invalidations);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 44));
	gg_zap(test, uhva, PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));

	/* Deactivated, then active on another page. */
	guestgate_gpc_deactivate(gpc);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), -EINVAL);
	guestgate_gpc_deactivate(gpc);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva + PAGE_SIZE, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 45));
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)uhva + PAGE_SIZE,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 45);
	/* The old page is no longer watched: its zap calls nobody. */
	guestgate_gpc_stats(gpc, &st);
	invalidations = st.invalidations;
	gg_zap(test, uhva, PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 8));
	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_EQ(test, st.invalidations, invalidations);
	guestgate_gpc_destroy(gpc);
}

/*
 * guestgate_gpc_invalidate(): invalid until the next refresh, with the
 * request, the notifier and the page left as they were; as KVM uses it
 * around changes of its own fields. Also the read side's irq variant and
 * two caches read-locked at once (the second after a subclass change, as
 * Xen's split runstate area does): lockdep would report the nesting
 * otherwise.
 */
static void guestgate_gpc_invalidate_rules(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 2, PROT_READ | PROT_WRITE);
	struct guestgate_gpc *gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	struct guestgate_gpc *gpc2 = gg_init(test, GUESTGATE_GPC_WRITABLE);
	struct guestgate_gpc_stats st;
	unsigned long pfn, flags;
	bool both;

	/* Inactive: nothing to do. */
	guestgate_gpc_invalidate(gpc);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));

	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, 8), 0);
	pfn = gg_pfn(gpc);
	KUNIT_EXPECT_NE(test, pfn, 0);
	guestgate_gpc_invalidate(gpc);
	guestgate_gpc_read_lock_irq(gpc);
	KUNIT_EXPECT_FALSE(test, guestgate_gpc_check(gpc, 8));
	KUNIT_EXPECT_NULL(test, guestgate_gpc_khva(gpc));
	guestgate_gpc_read_unlock_irq(gpc);
	/* Not a notifier call. */
	guestgate_gpc_stats(gpc, &st);
	KUNIT_EXPECT_EQ(test, st.invalidations, 0);
	/* Still active, on the same page. */
	KUNIT_ASSERT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	KUNIT_EXPECT_EQ(test, gg_pfn(gpc), pfn);
	/* The notifier still watches it. */
	gg_zap(test, uhva, PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));

	KUNIT_ASSERT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc2, uhva + PAGE_SIZE, 8), 0);
	flags = guestgate_gpc_read_lock_irqsave(gpc);
	guestgate_gpc_read_lock_set_subclass(gpc, 1);
	guestgate_gpc_read_lock(gpc2);
	both = guestgate_gpc_check(gpc, 8) && guestgate_gpc_check(gpc2, 8);
	guestgate_gpc_read_unlock(gpc2);
	guestgate_gpc_read_unlock_irqrestore(gpc, flags);
	KUNIT_EXPECT_TRUE(test, both);
	guestgate_gpc_destroy(gpc2);
	guestgate_gpc_destroy(gpc);
}

/* munmap: the check fails, the refresh says -EFAULT; so does a hole. */
static void guestgate_gpc_unmapped(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 1, PROT_READ | PROT_WRITE);
	struct guestgate_gpc *gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);

	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 8));
	KUNIT_ASSERT_EQ(test, vm_munmap(uhva, PAGE_SIZE), 0);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(gpc, uhva + 64, 8), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	guestgate_gpc_destroy(gpc);
}

/* A writable cache of a read-only mapping fails; a read-only one works. */
static void guestgate_gpc_read_only(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 1, PROT_READ);
	struct guestgate_gpc *rw = gg_init(test, GUESTGATE_GPC_WRITABLE);
	struct guestgate_gpc *ro = gg_init(test, 0);

	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(rw, uhva, 8), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gg_check(rw, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(ro, uhva, 8), 0);
	guestgate_gpc_read_lock(ro);
	KUNIT_EXPECT_TRUE(test, guestgate_gpc_check(ro, 8));
	KUNIT_EXPECT_EQ(test, READ_ONCE(*(u64 *)guestgate_gpc_khva(ro)), 0);
	guestgate_gpc_read_unlock(ro);
	guestgate_gpc_destroy(rw);
	guestgate_gpc_destroy(ro);
}

/* Activation by gpa; every memslot change invalidates through the generation. */
static void guestgate_gpc_gpa_generation(struct kunit *test)
{
	unsigned long a = gg_map(test, 2, PROT_READ | PROT_WRITE);
	unsigned long b = gg_map(test, 1, PROT_READ | PROT_WRITE);
	const u64 gpa = (0x10ULL << PAGE_SHIFT) + PAGE_SIZE + 0x20;
	struct guestgate_memslots *slots = NULL;
	struct guestgate_gpc *gpc;
	u64 gen, user = 0;

	KUNIT_ASSERT_EQ(test, guestgate_memslots_create(&slots), 0);
	gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate(gpc, slots, gpa, 8), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));

	KUNIT_ASSERT_EQ(test, guestgate_memslots_set(slots, 0, 0x10, 2, a), 0);
	gen = guestgate_memslots_generation(slots);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate(gpc, slots, gpa, 8), 0);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate(gpc, slots, gpa, PAGE_SIZE),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate(gpc, slots, gpa, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 7));
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)a + PAGE_SIZE + 0x20,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 7);

	/* Any change, even of another slot, fails the check until refreshed. */
	KUNIT_EXPECT_EQ(test, guestgate_memslots_set(slots, 1, 0x40, 1, b), 0);
	KUNIT_EXPECT_EQ(test, guestgate_memslots_generation(slots), gen + 1);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 8));

	/* Moving the slot moves the cache to the new page on refresh. */
	KUNIT_EXPECT_EQ(test, guestgate_memslots_set(slots, 1, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, guestgate_memslots_set(slots, 0, 0x11, 1, b), 0);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	KUNIT_EXPECT_TRUE(test, gg_write_u64(gpc, 8));
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)b + 0x20,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 8);
	KUNIT_EXPECT_EQ(test, gg_pfn(gpc), gg_gup_pfn(b));

	/* A deleted slot is -EFAULT, and invalidates; back, it resolves. */
	KUNIT_EXPECT_EQ(test, guestgate_memslots_set(slots, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_FALSE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), -EFAULT);
	KUNIT_EXPECT_EQ(test, guestgate_memslots_set(slots, 0, 0x11, 1, b), 0);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);

	/* The cache keeps the table alive. */
	guestgate_memslots_destroy(slots);
	KUNIT_EXPECT_TRUE(test, gg_check(gpc, 8));
	KUNIT_EXPECT_EQ(test, guestgate_gpc_refresh(gpc, 8), 0);
	guestgate_gpc_destroy(gpc);
}

struct gg_other_task {
	struct guestgate_gpc *gpc;
	unsigned long uhva;
	int activate, refresh;
	struct completion done;
};

static int gg_other_task_fn(void *data)
{
	struct gg_other_task *o = data;

	o->activate = guestgate_gpc_activate_hva(o->gpc, o->uhva, 8);
	o->refresh = guestgate_gpc_refresh(o->gpc, 8);
	complete(&o->done);
	return 0;
}

/*
 * Only tasks in the cache's mm activate and refresh; any task reads and
 * deactivates.
 */
static void guestgate_gpc_other_mm(struct kunit *test)
{
	struct gg_other_task o = { .uhva = gg_map(test, 1, PROT_READ | PROT_WRITE) };
	struct task_struct *task;

	o.gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	init_completion(&o.done);
	task = kthread_run(gg_other_task_fn, &o, "gg_gpc_other");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&o.done);
	KUNIT_EXPECT_EQ(test, o.activate, -EFAULT);
	KUNIT_EXPECT_EQ(test, o.refresh, -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_gpc_activate_hva(o.gpc, o.uhva, 8), 0);
	reinit_completion(&o.done);
	o.activate = 0;
	task = kthread_run(gg_other_task_fn, &o, "gg_gpc_other");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&o.done);
	KUNIT_EXPECT_EQ(test, o.activate, -EFAULT);
	KUNIT_EXPECT_EQ(test, o.refresh, -EFAULT);
	KUNIT_EXPECT_TRUE(test, gg_check(o.gpc, 8));
	guestgate_gpc_destroy(o.gpc);
}

struct gg_irq_reader {
	struct hrtimer timer;
	struct guestgate_gpc *gpc;
	bool hardirq, locked, valid, trylocked;
	struct completion done;
};

/* The Xen timer's case: writes through the cache from hardirq context. */
static enum hrtimer_restart gg_irq_reader_fn(struct hrtimer *timer)
{
	struct gg_irq_reader *r = container_of(timer, struct gg_irq_reader, timer);
	unsigned long flags;

	r->hardirq = in_hardirq();
	flags = guestgate_gpc_read_lock_irqsave(r->gpc);
	r->locked = true;
	r->valid = guestgate_gpc_check(r->gpc, 8);
	if (r->valid)
		WRITE_ONCE(*(u64 *)guestgate_gpc_khva(r->gpc), 0xfeed);
	guestgate_gpc_read_unlock_irqrestore(r->gpc, flags);
	r->trylocked = guestgate_gpc_read_trylock(r->gpc);
	if (r->trylocked)
		guestgate_gpc_read_unlock(r->gpc);
	complete(&r->done);
	return HRTIMER_NORESTART;
}

static void gg_irq_read(struct kunit *test, struct gg_irq_reader *r)
{
	init_completion(&r->done);
	r->hardirq = false;
	r->locked = false;
	r->valid = false;
	r->trylocked = false;
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	r->timer.function = gg_irq_reader_fn;
	hrtimer_start(&r->timer, ns_to_ktime(1000), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&r->done);
	hrtimer_cancel(&r->timer);
	KUNIT_EXPECT_TRUE(test, r->hardirq);
	KUNIT_EXPECT_TRUE(test, r->locked);
	KUNIT_EXPECT_TRUE(test, r->trylocked);
}

static void guestgate_gpc_hardirq_reader(struct kunit *test)
{
	unsigned long uhva = gg_map(test, 1, PROT_READ | PROT_WRITE);
	struct gg_irq_reader r = { };
	struct page *old;
	u64 user = 0, *p;

	r.gpc = gg_init(test, GUESTGATE_GPC_WRITABLE);
	KUNIT_ASSERT_EQ(test, guestgate_gpc_activate_hva(r.gpc, uhva, 8), 0);
	gg_irq_read(test, &r);
	KUNIT_EXPECT_TRUE(test, r.valid);
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)uhva,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 0xfeed);

	/*
	 * Invalidated: the hardirq reader sees it and writes nothing, neither
	 * to the new page nor to the old one (pinned by the test, cleared
	 * after the zap, checked after the read).
	 */
	KUNIT_ASSERT_EQ(test, pin_user_pages_fast(uhva, 1, FOLL_WRITE, &old), 1);
	gg_zap(test, uhva, PAGE_SIZE);
	p = kmap_local_page(old);
	WRITE_ONCE(*p, 0);
	kunmap_local(p);
	gg_irq_read(test, &r);
	KUNIT_EXPECT_FALSE(test, r.valid);
	p = kmap_local_page(old);
	KUNIT_EXPECT_EQ(test, READ_ONCE(*p), 0);
	kunmap_local(p);
	unpin_user_page(old);
	KUNIT_EXPECT_EQ(test, copy_from_user(&user, (void __user *)uhva,
					     sizeof(user)), 0);
	KUNIT_EXPECT_EQ(test, user, 0);
	guestgate_gpc_destroy(r.gpc);
}

static struct kunit_case guestgate_pfn_cache_cases[] = {
	KUNIT_CASE(guestgate_gpc_rust_memslots),
	KUNIT_CASE(guestgate_gpc_init_rules),
	KUNIT_CASE(guestgate_gpc_hva_write),
	KUNIT_CASE(guestgate_gpc_length_rules),
	KUNIT_CASE(guestgate_gpc_state_machine),
	KUNIT_CASE(guestgate_gpc_invalidate_rules),
	KUNIT_CASE(guestgate_gpc_unmapped),
	KUNIT_CASE(guestgate_gpc_read_only),
	KUNIT_CASE(guestgate_gpc_gpa_generation),
	KUNIT_CASE(guestgate_gpc_other_mm),
	KUNIT_CASE(guestgate_gpc_hardirq_reader),
	KUNIT_CASE(guestgate_gpc_rust_guard),
	{}
};

struct kunit_suite guestgate_pfn_cache_suite = {
	.name = "guestgate_pfn_cache",
	.test_cases = guestgate_pfn_cache_cases,
};
