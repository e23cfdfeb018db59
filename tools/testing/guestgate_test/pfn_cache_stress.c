// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: race stress and benchmark of the pfn cache.
 *
 * guestgate_test/pfn_cache drives the race stress of
 * selftests/guestgate/pfn_cache_stress_test.c. The test writes commands:
 *
 *   "start UHVA MODE"    create a writable cache on the page at UHVA of the
 *                        writer's mm and start two writers through it: an
 *                        hrtimer (hardirq; irqsave and trylock readers,
 *                        never refreshes) and a kthread (kthread_use_mm()
 *                        on the test's mm; refreshes when the check fails).
 *                        MODE is the refresh of every cache meanwhile
 *                        (enum guestgate_gpc_refresh_mode): 0 normal,
 *                        1 widened, 2 broken (CONFIG_KUNIT only).
 *   "pin"                pin the page now mapped at UHVA (before a zap),
 *                        and count it live if the cache is valid on it
 *                        (-ENOSPC once the broken run's graveyard is full)
 *   "zapped"             the zap of the pinned page has returned
 *   "stop"               stop the writers, judge every pinned page, unpin
 *
 * and reads the counters of the last run back ("name: value" lines).
 *
 * The invariant: no write through the cache lands in a page after an
 * invalidation of that page has completed. Each write stores, in its
 * context's slot of the page, a sequence number taken from one global
 * counter with the read lock held and the check passed. A write that the
 * protocol allows to page P holds the read lock, which the notifier of P
 * takes for writing: it is complete before the zap of P returns. So when
 * "zapped" comes, every slot of P must hold a number not above the counter
 * read then, and P must not change afterwards.
 *
 * What makes a stale write visible: the cache holds no reference on P, and
 * a freed page's contents are not checked by anything (KASAN tracks
 * allocation state, not contents; a reallocated page is silently
 * corrupted). So the test holds one itself: before each zap it pins the
 * page mapped at UHVA (pin_user_pages_fast()), which keeps P from being
 * reused but changes nothing of the mapping, the notifier or the cache.
 * At "zapped" the slots of P are copied; P stays pinned, in quarantine,
 * for GG_PFN_QUARANTINE_MS and two more zaps (or until its slot of the
 * ring is needed again), and is then compared with the copy: any
 * difference, or a number above the counter at the zap, is a write that
 * landed after the invalidation (a violation). The user side checks the
 * read-only window of its mprotect() flips the same way on the mapping
 * itself. The broken run keeps every page pinned until the writers stopped
 * (its stale writes must not corrupt freed memory).
 *
 * Every other "pin" waits (up to GG_PFN_LIVE_WAIT_US) for the kthread to
 * have made the cache valid on the pinned page, so that the zap races with
 * writers that really write through that page; the others zap at once, and
 * often race with the kthread's refresh instead. Zaps of a page the cache
 * was valid on are counted "live".
 *
 * guestgate_test/pfn_cache_bench: written "UHVA", creates a cache on the
 * page at UHVA of the writer's mm for this open file; read, times the fast
 * path and its baselines in the reader's task (the cache's mm) and prints
 * cycles per access, best of several batches. Closing the file destroys
 * the cache.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/guestgate.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/kstrtox.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr.h>

#include "guestgate_test.h"
#include "test_hooks.h"

/* The slots: one u64 per writing context, from the start of the page. */
enum gg_pfn_ctx { GG_PFN_TIMER, GG_PFN_KTHREAD, GG_PFN_NR_CTX };
#define GG_PFN_LEN		(GG_PFN_NR_CTX * sizeof(u64))

#define GG_PFN_TIMER_NS		(100 * NSEC_PER_USEC)
#define GG_PFN_QUARANTINE_MS	10
#define GG_PFN_QUARANTINE	64
/* Pages the broken run may keep pinned. */
#define GG_PFN_GRAVEYARD	16384
#define GG_PFN_REPORTS		3
#define GG_PFN_LIVE_WAIT_US	5000

/* A zapped page, pinned, and its slots when the zap had returned. */
struct gg_pfn_zap {
	struct page *page;
	u64 seq;
	u64 slots[GG_PFN_NR_CTX];
	u64 zaps_after;
	unsigned long when;
};

/**
 * struct gg_pfn_stress - one run of the race stress
 * @gpc: the cache, on @uhva of @mm
 * @mm: the test's mm, with a reference on its users
 * @uhva: the page the test zaps and remaps
 * @mode: the refresh of the run (enum guestgate_gpc_refresh_mode)
 * @broken: the run uses the broken refresh
 * @kthread: the refreshing writer
 * @timer: the hardirq writer
 * @seq: the last sequence number taken by a write
 * @ticks: timer callbacks
 * @writes: writes done, per context
 * @invalid: writes skipped because the check failed, per context
 * @busy: timer writes skipped because the trylock failed
 * @refreshes: successful refreshes by the kthread
 * @refresh_errors: failed ones (the page unmapped or read-only)
 * @pending: the page pinned by "pin", zapped next
 * @live: pinned pages the cache was valid on
 * @zap: the quarantine ring
 * @zap_head: its next slot
 * @graveyard: pages checked and kept pinned (broken run)
 * @buried: pages in @graveyard
 * @zaps: zaps recorded
 * @checked: zapped pages compared with their copy
 * @violations: writes found in a page after its zap had returned
 * @start: jiffies at start
 * @owner: the open file that started the run
 */
struct gg_pfn_stress {
	struct guestgate_gpc *gpc;
	struct mm_struct *mm;
	unsigned long uhva;
	unsigned int mode;
	bool broken;
	struct task_struct *kthread;
	struct hrtimer timer;
	atomic64_t seq;
	u64 ticks;
	atomic64_t writes[GG_PFN_NR_CTX];
	atomic64_t invalid[GG_PFN_NR_CTX];
	u64 busy;
	u64 refreshes;
	u64 refresh_errors;
	struct page *pending;
	u64 live;
	struct gg_pfn_zap zap[GG_PFN_QUARANTINE];
	unsigned int zap_head;
	struct page **graveyard;
	unsigned int buried;
	u64 zaps;
	u64 checked;
	u64 violations;
	unsigned long start;
	struct file *owner;
};

/* What the last run showed, for reading. */
struct gg_pfn_result {
	int ret;
	unsigned int mode;
	unsigned int msecs;
	u64 writes[GG_PFN_NR_CTX];
	u64 invalid[GG_PFN_NR_CTX];
	u64 busy;
	u64 kthread_refreshes;
	u64 refresh_errors;
	u64 zaps;
	u64 live;
	u64 checked;
	u64 violations;
	struct guestgate_gpc_stats stats;
};

static DEFINE_MUTEX(gg_pfn_lock);
static struct gg_pfn_stress *gg_pfn_run;
static struct gg_pfn_result gg_pfn_last = { .ret = -ENODATA };

/* One write through the cache, read lock held by the caller. */
static bool gg_pfn_write(struct gg_pfn_stress *st, enum gg_pfn_ctx ctx)
{
	u64 *slots;

	if (!guestgate_gpc_check(st->gpc, GG_PFN_LEN)) {
		atomic64_inc(&st->invalid[ctx]);
		return false;
	}
	slots = guestgate_gpc_khva(st->gpc);
	WRITE_ONCE(slots[ctx], atomic64_inc_return(&st->seq));
	atomic64_inc(&st->writes[ctx]);
	return true;
}

static enum hrtimer_restart gg_pfn_timer_fn(struct hrtimer *timer)
{
	struct gg_pfn_stress *st = container_of(timer, struct gg_pfn_stress,
						timer);
	unsigned long flags;

	if (st->ticks++ & 1) {
		flags = guestgate_gpc_read_lock_irqsave(st->gpc);
		gg_pfn_write(st, GG_PFN_TIMER);
		guestgate_gpc_read_unlock_irqrestore(st->gpc, flags);
	} else if (guestgate_gpc_read_trylock(st->gpc)) {
		gg_pfn_write(st, GG_PFN_TIMER);
		guestgate_gpc_read_unlock(st->gpc);
	} else {
		st->busy++;
	}
	hrtimer_forward_now(timer, ns_to_ktime(GG_PFN_TIMER_NS));
	return HRTIMER_RESTART;
}

static int gg_pfn_kthread_fn(void *data)
{
	struct gg_pfn_stress *st = data;
	unsigned int n = 0;
	bool ok;

	kthread_use_mm(st->mm);
	while (!kthread_should_stop()) {
		guestgate_gpc_read_lock(st->gpc);
		ok = gg_pfn_write(st, GG_PFN_KTHREAD);
		guestgate_gpc_read_unlock(st->gpc);
		if (!ok) {
			if (guestgate_gpc_refresh(st->gpc, GG_PFN_LEN)) {
				st->refresh_errors++;
				usleep_range(20, 50);
			} else {
				st->refreshes++;
			}
		}
		if (!(++n % 64))
			usleep_range(10, 20);
		else
			cond_resched();
	}
	kthread_unuse_mm(st->mm);
	return 0;
}

/* Compares a quarantined page with its copy, then unpins or buries it. */
static void gg_pfn_judge(struct gg_pfn_stress *st, struct gg_pfn_zap *z)
{
	u64 *slots = kmap_local_page(z->page);
	bool bad = false;
	int i;

	for (i = 0; i < GG_PFN_NR_CTX; i++) {
		u64 now = READ_ONCE(slots[i]);

		if (now == z->slots[i] && now <= z->seq)
			continue;
		bad = true;
		if (st->violations < GG_PFN_REPORTS)
			pr_info("guestgate_test: pfn %lx slot %d: %llu at zap (counter %llu), now %llu\n",
				page_to_pfn(z->page), i, z->slots[i], z->seq,
				now);
	}
	kunmap_local(slots);
	st->checked++;
	if (bad)
		st->violations++;
	if (st->broken && st->buried < GG_PFN_GRAVEYARD)
		st->graveyard[st->buried++] = z->page;
	else
		unpin_user_page(z->page);
	z->page = NULL;
}

static int gg_pfn_pin(struct gg_pfn_stress *st)
{
	unsigned int waited, wait;
	struct page *page;
	bool live;
	int ret;

	if (st->pending)
		return -EBUSY;
	if (st->broken && st->buried >= GG_PFN_GRAVEYARD - GG_PFN_QUARANTINE)
		return -ENOSPC;
	if (current->mm != st->mm)
		return -EINVAL;
	ret = pin_user_pages_fast(st->uhva, 1, FOLL_WRITE, &page);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EFAULT;
	st->pending = page;
	wait = st->zaps % 2 ? 0 : GG_PFN_LIVE_WAIT_US;
	for (waited = 0;; waited += 100) {
		guestgate_gpc_read_lock(st->gpc);
		live = guestgate_gpc_check(st->gpc, GG_PFN_LEN) &&
		       guestgate_gpc_pfn(st->gpc) == page_to_pfn(page);
		guestgate_gpc_read_unlock(st->gpc);
		if (live)
			st->live++;
		if (live || waited >= wait)
			break;
		usleep_range(100, 150);
	}
	return 0;
}

static int gg_pfn_zapped(struct gg_pfn_stress *st)
{
	struct gg_pfn_zap *z;
	u64 *slots;
	int i;

	if (!st->pending)
		return -EINVAL;
	/* Every write allowed to the page took its number before this. */
	smp_mb();
	st->zaps++;
	for (i = 0; i < GG_PFN_QUARANTINE; i++) {
		z = &st->zap[i];
		if (z->page)
			z->zaps_after++;
		if (z->page && z->zaps_after >= 2 &&
		    time_after(jiffies, z->when + msecs_to_jiffies(GG_PFN_QUARANTINE_MS)))
			gg_pfn_judge(st, z);
	}
	z = &st->zap[st->zap_head];
	if (z->page)
		gg_pfn_judge(st, z);
	st->zap_head = (st->zap_head + 1) % GG_PFN_QUARANTINE;
	z->page = st->pending;
	st->pending = NULL;
	z->seq = atomic64_read(&st->seq);
	z->zaps_after = 0;
	z->when = jiffies;
	slots = kmap_local_page(z->page);
	for (i = 0; i < GG_PFN_NR_CTX; i++)
		z->slots[i] = READ_ONCE(slots[i]);
	kunmap_local(slots);
	return 0;
}

static void gg_pfn_free(struct gg_pfn_stress *st)
{
	unsigned int i;

	if (st->pending)
		unpin_user_page(st->pending);
	for (i = 0; i < st->buried; i++)
		unpin_user_page(st->graveyard[i]);
	kvfree(st->graveyard);
	mmput(st->mm);
	kfree(st);
}

/* Stops the writers, judges what is left and records the run. */
static void gg_pfn_stop(struct gg_pfn_stress *st)
{
	struct gg_pfn_result *r = &gg_pfn_last;
	int i;

	hrtimer_cancel(&st->timer);
	kthread_stop(st->kthread);
	guestgate_gpc_stats(st->gpc, &r->stats);
	guestgate_gpc_destroy(st->gpc);
	if (IS_ENABLED(CONFIG_KUNIT) && st->mode)
		guestgate_rs_gpc_break_refresh(GUESTGATE_GPC_REFRESH_NORMAL);
	for (i = 0; i < GG_PFN_QUARANTINE; i++)
		if (st->zap[i].page)
			gg_pfn_judge(st, &st->zap[i]);
	r->ret = 0;
	r->mode = st->mode;
	r->msecs = jiffies_to_msecs(jiffies - st->start);
	for (i = 0; i < GG_PFN_NR_CTX; i++) {
		r->writes[i] = atomic64_read(&st->writes[i]);
		r->invalid[i] = atomic64_read(&st->invalid[i]);
	}
	r->busy = st->busy;
	r->kthread_refreshes = st->refreshes;
	r->refresh_errors = st->refresh_errors;
	r->zaps = st->zaps;
	r->live = st->live;
	r->checked = st->checked;
	r->violations = st->violations;
	gg_pfn_free(st);
}

static int gg_pfn_start(struct file *owner, unsigned long uhva,
			unsigned int mode)
{
	struct gg_pfn_stress *st;
	int ret;

	if (!PAGE_ALIGNED(uhva))
		return -EINVAL;
	if (mode > GUESTGATE_GPC_REFRESH_BROKEN)
		return -EINVAL;
	/* The test refreshes are there with CONFIG_KUNIT only. */
	if (mode && !IS_ENABLED(CONFIG_KUNIT))
		return -EOPNOTSUPP;
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->graveyard = kvcalloc(GG_PFN_GRAVEYARD, sizeof(*st->graveyard),
				 GFP_KERNEL);
	if (!st->graveyard) {
		kfree(st);
		return -ENOMEM;
	}
	/* Released in gg_pfn_free(), after the kthread stopped using it. */
	mmget(current->mm);
	st->mm = current->mm;
	st->uhva = uhva;
	st->mode = mode;
	st->broken = mode == GUESTGATE_GPC_REFRESH_BROKEN;
	st->owner = owner;
	ret = guestgate_gpc_init(&st->gpc, GUESTGATE_GPC_WRITABLE);
	if (ret)
		goto out_free;
	ret = guestgate_gpc_activate_hva(st->gpc, uhva, GG_PFN_LEN);
	if (ret)
		goto out_gpc;
	st->kthread = kthread_create(gg_pfn_kthread_fn, st, "gg_pfn_stress");
	if (IS_ERR(st->kthread)) {
		ret = PTR_ERR(st->kthread);
		goto out_gpc;
	}
	if (IS_ENABLED(CONFIG_KUNIT) && mode)
		guestgate_rs_gpc_break_refresh(mode);
	st->start = jiffies;
	hrtimer_init(&st->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	st->timer.function = gg_pfn_timer_fn;
	hrtimer_start(&st->timer, ns_to_ktime(GG_PFN_TIMER_NS),
		      HRTIMER_MODE_REL_HARD);
	wake_up_process(st->kthread);
	gg_pfn_run = st;
	return 0;

out_gpc:
	guestgate_gpc_destroy(st->gpc);
out_free:
	gg_pfn_free(st);
	return ret;
}

static int gg_pfn_command(struct file *file, char *buf)
{
	char *cmd = strsep(&buf, " ");
	unsigned long uhva;
	unsigned int mode;

	if (!strcmp(cmd, "start")) {
		if (gg_pfn_run)
			return -EBUSY;
		if (!buf || sscanf(buf, "%lx %u", &uhva, &mode) != 2)
			return -EINVAL;
		return gg_pfn_start(file, uhva, mode);
	}
	if (!gg_pfn_run)
		return -ENOENT;
	if (current->mm != gg_pfn_run->mm)
		return -EINVAL;
	if (!strcmp(cmd, "pin"))
		return gg_pfn_pin(gg_pfn_run);
	if (!strcmp(cmd, "zapped"))
		return gg_pfn_zapped(gg_pfn_run);
	if (!strcmp(cmd, "stop")) {
		gg_pfn_stop(gg_pfn_run);
		gg_pfn_run = NULL;
		return 0;
	}
	return -EINVAL;
}

static ssize_t gg_pfn_write_cmd(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	mutex_lock(&gg_pfn_lock);
	ret = gg_pfn_command(file, strim(buf));
	mutex_unlock(&gg_pfn_lock);
	return ret ?: len;
}

static int gg_pfn_show(struct seq_file *m, void *unused)
{
	struct gg_pfn_result *r = &gg_pfn_last;

	mutex_lock(&gg_pfn_lock);
	seq_printf(m, "ret: %d\n", r->ret);
	if (!r->ret) {
		seq_printf(m, "mode: %u\n", r->mode);
		seq_printf(m, "msecs: %u\n", r->msecs);
		seq_printf(m, "writes_timer: %llu\n", r->writes[GG_PFN_TIMER]);
		seq_printf(m, "writes_kthread: %llu\n", r->writes[GG_PFN_KTHREAD]);
		seq_printf(m, "invalid_timer: %llu\n", r->invalid[GG_PFN_TIMER]);
		seq_printf(m, "invalid_kthread: %llu\n", r->invalid[GG_PFN_KTHREAD]);
		seq_printf(m, "busy_timer: %llu\n", r->busy);
		seq_printf(m, "kthread_refreshes: %llu\n", r->kthread_refreshes);
		seq_printf(m, "refresh_errors: %llu\n", r->refresh_errors);
		seq_printf(m, "zaps: %llu\n", r->zaps);
		seq_printf(m, "live: %llu\n", r->live);
		seq_printf(m, "checked: %llu\n", r->checked);
		seq_printf(m, "violations: %llu\n", r->violations);
		seq_printf(m, "hits: %llu\n", r->stats.hits);
		seq_printf(m, "misses: %llu\n", r->stats.misses);
		seq_printf(m, "refreshes: %llu\n", r->stats.refreshes);
		seq_printf(m, "invalidations: %llu\n", r->stats.invalidations);
		seq_printf(m, "retries: %llu\n", r->stats.retries);
	}
	mutex_unlock(&gg_pfn_lock);
	return 0;
}

static int gg_pfn_open(struct inode *inode, struct file *file)
{
	return single_open(file, gg_pfn_show, NULL);
}

/* A run left behind by a test that died is stopped with its last file. */
static int gg_pfn_release(struct inode *inode, struct file *file)
{
	mutex_lock(&gg_pfn_lock);
	if (gg_pfn_run && gg_pfn_run->owner == file) {
		gg_pfn_stop(gg_pfn_run);
		gg_pfn_run = NULL;
	}
	mutex_unlock(&gg_pfn_lock);
	return single_release(inode, file);
}

static const struct file_operations gg_pfn_fops = {
	.owner = THIS_MODULE,
	.open = gg_pfn_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = gg_pfn_release,
	.write = gg_pfn_write_cmd,
};

/* The benchmark. */

#define GG_BENCH_OPS		2000
#define GG_BENCH_BATCHES	11

/*
 * GG_PB_CHECK: check and write with the read lock taken once per batch, to
 * tell the lock's cost (lockdep in debug kernels) from the cache's.
 * GG_PB_RWLOCK_INLINE: the floor of any rwlock-protected cache: an rwlock_t
 * of this file, the validity check inline, a write to a page of this file;
 * no function of guestgate called (upstream's callers inline the lock too,
 * but call kvm_gpc_check()).
 * GG_PB_RUST: the cache's fast path from a Rust caller (read(), the
 * guard's write_u32(), drop), guestgate_rs_gpc_bench(); CONFIG_KUNIT only.
 * GG_PB_REFRESH: guestgate_gpc_invalidate(), then the refresh, which looks
 * the page up again (a valid cache's returns at once).
 */
enum gg_pfn_bench_kind {
	GG_PB_CACHE, GG_PB_CHECK, GG_PB_GUP, GG_PB_COPY_TO_USER, GG_PB_REFRESH,
	GG_PB_RWLOCK_INLINE, GG_PB_RUST, GG_PB_NR_KINDS,
};

static const char *const gg_pfn_bench_names[GG_PB_NR_KINDS] = {
	"cache_write", "check_write", "gup_write", "copy_to_user", "refresh",
	"rwlock_inline", "rust_write",
};

/* GG_PB_RWLOCK_INLINE's cache: always valid, on a kernel page. */
static struct {
	rwlock_t lock;
	bool valid;
	unsigned long off;
	u32 *khva;
} gg_pfn_floor = { .lock = __RW_LOCK_UNLOCKED(gg_pfn_floor.lock) };

/* Ops per batch: refreshes are much slower than the others. */
static unsigned int gg_pfn_bench_ops(enum gg_pfn_bench_kind kind)
{
	return kind == GG_PB_REFRESH ? GG_BENCH_OPS / 20 : GG_BENCH_OPS;
}

/* One batch of one kind; returns the TSC cycles or a negative errno. */
static s64 gg_pfn_bench_batch(struct guestgate_gpc *gpc, unsigned long uhva,
			      enum gg_pfn_bench_kind kind)
{
	unsigned int i, ops = gg_pfn_bench_ops(kind);
	u32 __user *up = (u32 __user *)uhva;
	struct page *page;
	u64 t0, t1;
	u32 *p;
	int ret = 0;

	if (kind == GG_PB_CHECK) {
		ret = guestgate_gpc_refresh(gpc, sizeof(u32));
		if (ret)
			return ret;
		guestgate_gpc_read_lock(gpc);
	}
	if (kind == GG_PB_RUST) {
		u64 cycles;

		/* Not there: reported as 0 cycles. */
		if (!IS_ENABLED(CONFIG_KUNIT))
			return 0;
		ret = guestgate_gpc_refresh(gpc, sizeof(u32));
		if (!ret)
			ret = guestgate_rs_gpc_bench(gpc, ops, &cycles);
		return ret ?: cycles;
	}
	t0 = rdtsc_ordered();
	for (i = 0; i < ops && !ret; i++) {
		switch (kind) {
		case GG_PB_CACHE:
			guestgate_gpc_read_lock(gpc);
			while (!guestgate_gpc_check(gpc, sizeof(u32))) {
				guestgate_gpc_read_unlock(gpc);
				ret = guestgate_gpc_refresh(gpc, sizeof(u32));
				if (ret)
					return ret;
				guestgate_gpc_read_lock(gpc);
			}
			p = guestgate_gpc_khva(gpc);
			WRITE_ONCE(*p, i);
			guestgate_gpc_read_unlock(gpc);
			break;
		case GG_PB_CHECK:
			/* Valid: refreshed above, no zap of it meanwhile. */
			if (!guestgate_gpc_check(gpc, sizeof(u32))) {
				ret = -EAGAIN;
				break;
			}
			p = guestgate_gpc_khva(gpc);
			WRITE_ONCE(*p, i);
			break;
		case GG_PB_GUP:
			if (get_user_pages_fast(uhva, 1, FOLL_WRITE, &page) != 1)
				return -EFAULT;
			p = kmap_local_page(page);
			WRITE_ONCE(p[offset_in_page(uhva) / sizeof(u32)], i);
			kunmap_local(p);
			put_page(page);
			break;
		case GG_PB_COPY_TO_USER:
			if (copy_to_user(up, &i, sizeof(i)))
				ret = -EFAULT;
			break;
		case GG_PB_REFRESH:
			/*
			 * Invalid first: the refresh of a valid cache looks
			 * nothing up.
			 */
			guestgate_gpc_invalidate(gpc);
			ret = guestgate_gpc_refresh(gpc, sizeof(u32));
			break;
		case GG_PB_RWLOCK_INLINE:
			read_lock(&gg_pfn_floor.lock);
			if (likely(READ_ONCE(gg_pfn_floor.valid) &&
				   gg_pfn_floor.off + sizeof(u32) <= PAGE_SIZE))
				WRITE_ONCE(gg_pfn_floor.khva[gg_pfn_floor.off / sizeof(u32)], i);
			else
				ret = -EAGAIN;
			read_unlock(&gg_pfn_floor.lock);
			break;
		default:
			return -EINVAL;
		}
	}
	t1 = rdtsc_ordered();
	if (kind == GG_PB_CHECK)
		guestgate_gpc_read_unlock(gpc);
	return ret ?: t1 - t0;
}

struct gg_pfn_bench {
	struct guestgate_gpc *gpc;
	unsigned long uhva;
};

static ssize_t gg_pfn_bench_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct seq_file *m = file->private_data;
	struct gg_pfn_bench *b = m->private;
	unsigned long uhva;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 16, &uhva);
	if (ret)
		return ret;
	if (b->gpc)
		return -EBUSY;
	ret = guestgate_gpc_init(&b->gpc, GUESTGATE_GPC_WRITABLE);
	if (ret)
		return ret;
	ret = guestgate_gpc_activate_hva(b->gpc, uhva, sizeof(u32));
	if (ret) {
		guestgate_gpc_destroy(b->gpc);
		b->gpc = NULL;
		return ret;
	}
	b->uhva = uhva;
	return len;
}

static s64 gg_pfn_bench_kind(void *bench, unsigned int kind)
{
	struct gg_pfn_bench *b = bench;

	return gg_pfn_bench_batch(b->gpc, b->uhva, kind);
}

static int gg_pfn_bench_show(struct seq_file *m, void *unused)
{
	struct gg_pfn_bench *b = m->private;
	struct guestgate_gpc_stats st;
	u64 best[GG_PB_NR_KINDS];
	struct page *floor;
	int kind, ret;

	if (!b->gpc)
		return -ENOENT;
	floor = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!floor)
		return -ENOMEM;
	write_lock(&gg_pfn_floor.lock);
	gg_pfn_floor.khva = page_address(floor);
	gg_pfn_floor.off = offset_in_page(b->uhva);
	gg_pfn_floor.valid = true;
	write_unlock(&gg_pfn_floor.lock);
	ret = gg_test_best_of(gg_pfn_bench_kind, b, GG_PB_NR_KINDS,
			      GG_BENCH_BATCHES, best);
	write_lock(&gg_pfn_floor.lock);
	gg_pfn_floor.valid = false;
	gg_pfn_floor.khva = NULL;
	write_unlock(&gg_pfn_floor.lock);
	__free_page(floor);
	if (ret)
		return ret;
	for (kind = 0; kind < GG_PB_NR_KINDS; kind++)
		seq_printf(m, "%s: %llu\n", gg_pfn_bench_names[kind],
			   div_u64(best[kind], gg_pfn_bench_ops(kind)));
	guestgate_gpc_stats(b->gpc, &st);
	seq_printf(m, "refreshes: %llu\n", st.refreshes);
	seq_printf(m, "invalidations: %llu\n", st.invalidations);
	seq_printf(m, "retries: %llu\n", st.retries);
	return 0;
}

static int gg_pfn_bench_open(struct inode *inode, struct file *file)
{
	struct gg_pfn_bench *b = kzalloc(sizeof(*b), GFP_KERNEL);
	int ret;

	if (!b)
		return -ENOMEM;
	ret = single_open(file, gg_pfn_bench_show, b);
	if (ret)
		kfree(b);
	return ret;
}

static int gg_pfn_bench_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct gg_pfn_bench *b = m->private;

	guestgate_gpc_destroy(b->gpc);
	kfree(b);
	return single_release(inode, file);
}

static const struct file_operations gg_pfn_bench_fops = {
	.owner = THIS_MODULE,
	.open = gg_pfn_bench_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = gg_pfn_bench_release,
	.write = gg_pfn_bench_write,
};

void gg_stress_pfn_cache_init(struct dentry *dir)
{
	debugfs_create_file("pfn_cache", 0600, dir, NULL, &gg_pfn_fops);
	debugfs_create_file("pfn_cache_bench", 0600, dir, NULL,
			    &gg_pfn_bench_fops);
}
