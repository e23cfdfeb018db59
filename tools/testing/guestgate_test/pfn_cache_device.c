// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: /dev/guestgate_test, the pfn cache test device.
 *
 * The kselftest pfn_cache_test drives guestgate.ko's pfn cache from user
 * space through this device, whose private UAPI is guestgate_test_uapi.h:
 * each open file has a memslot table and up to GUESTGATE_PFN_CACHES_MAX
 * caches named by handles, all made and used through the C API of
 * <linux/guestgate/pfncache.h>, as KVM uses it. Accesses run in the
 * ioctl's task, in a kthread that adopts the task's mm, or in a hardirq
 * hrtimer callback:
 *
 * - the task and the kthread refresh an invalid cache and try again, as
 *   the read loop of pfncache.h does. The refresh is always the ioctl
 *   task's: a page fault in the kthread could wait for ever (on a
 *   userfaultfd) with the task waiting for the kthread uninterruptibly,
 *   and a fatal signal only reaches the task;
 * - the hrtimer never refreshes and never spins on the lock: EAGAIN if the
 *   cache is invalid, EBUSY if its lock is held or waited for by a writer.
 */
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/guestgate.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "guestgate_test.h"
#include "guestgate_test_uapi.h"

static_assert(GUESTGATE_PFN_MEMSLOTS_MAX == GUESTGATE_MEMSLOTS_MAX);

/* How often a task or kthread access refreshes before it gives up. */
#define GG_PFN_ACCESS_TRIES	16

#define GG_PFN_CREATE_FLAGS	(GUESTGATE_PFN_WRITABLE | GUESTGATE_PFN_GPA)
#define GG_PFN_ACCESS_FLAGS	(GUESTGATE_PFN_ACCESS_WRITE | \
				 GUESTGATE_PFN_ACCESS_NOREFRESH)

/**
 * struct gg_pfn_cache - a cache of an open file
 * @ref: held by the file's handle and by each ioctl using the cache
 * @gpc: the cache
 * @mm: the mm it is bound to, compared with current->mm only (@gpc holds a
 *      reference, so the address is not reused while @gpc lives)
 * @writable: created with GUESTGATE_PFN_WRITABLE
 * @len_lock: held across an activation, so that the cache's address and
 *            @len change together
 * @len: the length of the current activation, which refreshes and accesses
 *       use
 */
struct gg_pfn_cache {
	struct kref ref;
	struct guestgate_gpc *gpc;
	struct mm_struct *mm;
	bool writable;
	struct mutex len_lock;	/* see above */
	unsigned long len;
};

/**
 * struct gg_pfn_file - the state of an open file
 * @slots: its memslot table
 * @lock: protects @next, @handles and @caches
 * @next: the handle of the next cache; 0 once all are used
 * @handles: the handle of each cache in @caches
 * @caches: the caches, NULL for a free entry
 * @table_lock: serializes SET_MEMSLOTS
 * @table: the slots SET_MEMSLOTS set, under @table_lock
 */
struct gg_pfn_file {
	struct guestgate_memslots *slots;
	struct mutex lock;	/* see above */
	u32 next;
	u32 handles[GUESTGATE_PFN_CACHES_MAX];
	struct gg_pfn_cache *caches[GUESTGATE_PFN_CACHES_MAX];
	struct mutex table_lock;	/* see above */
	struct guestgate_pfn_memslot table[GUESTGATE_PFN_MEMSLOTS_MAX];
};

static void gg_pfn_cache_free(struct kref *ref)
{
	struct gg_pfn_cache *c = container_of(ref, struct gg_pfn_cache, ref);

	guestgate_gpc_destroy(c->gpc);
	mutex_destroy(&c->len_lock);
	kfree(c);
}

static void gg_pfn_cache_put(struct gg_pfn_cache *c)
{
	kref_put(&c->ref, gg_pfn_cache_free);
}

/* The entry of the cache named @handle, or -1 if none; @f->lock held. */
static int gg_pfn_find(struct gg_pfn_file *f, u32 handle)
{
	int i;

	lockdep_assert_held(&f->lock);
	for (i = 0; i < GUESTGATE_PFN_CACHES_MAX; i++)
		if (f->caches[i] && f->handles[i] == handle)
			return i;
	return -1;
}

/* The cache named @handle, with a reference; NULL if none. */
static struct gg_pfn_cache *gg_pfn_get(struct gg_pfn_file *f, u32 handle)
{
	struct gg_pfn_cache *c = NULL;
	int i;

	mutex_lock(&f->lock);
	i = gg_pfn_find(f, handle);
	if (i >= 0) {
		c = f->caches[i];
		kref_get(&c->ref);
	}
	mutex_unlock(&f->lock);
	return c;
}

/* Names @c, which takes the file's reference; ENOSPC if none is left. */
static int gg_pfn_insert(struct gg_pfn_file *f, struct gg_pfn_cache *c,
			 u32 *handle)
{
	int i, ret = -ENOSPC;

	mutex_lock(&f->lock);
	for (i = 0; f->next && i < GUESTGATE_PFN_CACHES_MAX; i++) {
		if (!f->caches[i]) {
			f->caches[i] = c;
			f->handles[i] = *handle = f->next++;
			ret = 0;
			break;
		}
	}
	mutex_unlock(&f->lock);
	return ret;
}

/* Unnames @handle; returns the file's reference, or NULL if none. */
static struct gg_pfn_cache *gg_pfn_remove(struct gg_pfn_file *f, u32 handle)
{
	struct gg_pfn_cache *c = NULL;
	int i;

	mutex_lock(&f->lock);
	i = gg_pfn_find(f, handle);
	if (i >= 0) {
		c = f->caches[i];
		f->caches[i] = NULL;
	}
	mutex_unlock(&f->lock);
	return c;
}

static bool gg_pfn_full(struct gg_pfn_file *f)
{
	bool full = true;
	int i;

	mutex_lock(&f->lock);
	for (i = 0; i < GUESTGATE_PFN_CACHES_MAX; i++)
		full &= !!f->caches[i];
	mutex_unlock(&f->lock);
	return full;
}

static bool gg_pfn_fits_in_page(u64 addr, u64 len)
{
	return len <= PAGE_SIZE - offset_in_page(addr);
}

static long gg_pfn_set_memslots(struct gg_pfn_file *f, void __user *arg)
{
	struct guestgate_pfn_memslot *new = NULL;
	struct guestgate_memslots *scratch;
	struct guestgate_pfn_memslots req;
	bool changed = false;
	u32 i;
	int ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.pad || req.nslots > GUESTGATE_PFN_MEMSLOTS_MAX)
		return -EINVAL;
	if (req.nslots) {
		new = memdup_array_user(u64_to_user_ptr(req.slots), req.nslots,
					sizeof(*new));
		if (IS_ERR(new))
			return PTR_ERR(new);
	}
	/* guestgate checks the whole table, on a table of its own first. */
	ret = guestgate_memslots_create(&scratch);
	if (ret)
		goto out;
	for (i = 0; !ret && i < req.nslots; i++)
		ret = guestgate_memslots_set(scratch, i, new[i].base_gfn,
					     new[i].npages, new[i].uhva);
	guestgate_memslots_destroy(scratch);
	if (ret)
		goto out;

	/* Empty the old slots, then fill the new: no overlap in between. */
	mutex_lock(&f->table_lock);
	for (i = 0; i < GUESTGATE_PFN_MEMSLOTS_MAX; i++) {
		if (!f->table[i].npages)
			continue;
		WARN_ON(guestgate_memslots_set(f->slots, i, 0, 0, 0));
		changed = true;
	}
	memset(f->table, 0, sizeof(f->table));
	for (i = 0; i < req.nslots; i++) {
		if (!new[i].npages)
			continue;
		WARN_ON(guestgate_memslots_set(f->slots, i, new[i].base_gfn,
					       new[i].npages, new[i].uhva));
		f->table[i] = new[i];
		changed = true;
	}
	/* Every call is a change: empty an empty slot to say so. */
	if (!changed)
		WARN_ON(guestgate_memslots_set(f->slots, 0, 0, 0, 0));
	mutex_unlock(&f->table_lock);
out:
	kfree(new);
	return ret;
}

/* Reads and checks the argument of CREATE and ACTIVATE. */
static int gg_pfn_create_arg(void __user *arg, struct guestgate_pfn_create *req)
{
	if (copy_from_user(req, arg, sizeof(*req)))
		return -EFAULT;
	if (req->pad || req->flags & ~GG_PFN_CREATE_FLAGS || !req->len ||
	    req->len > PAGE_SIZE)
		return -EINVAL;
	return 0;
}

static int gg_pfn_activate(struct gg_pfn_file *f, struct gg_pfn_cache *c,
			   const struct guestgate_pfn_create *req)
{
	int ret;

	mutex_lock(&c->len_lock);
	/*
	 * What fails before the cache takes the new address leaves the length
	 * as it was; what fails after it (the refresh) leaves the new address
	 * and so the new length.
	 */
	if (!gg_pfn_fits_in_page(req->addr, req->len)) {
		ret = -EINVAL;
	} else if (current->mm != c->mm) {
		ret = -EFAULT;
	} else {
		c->len = req->len;
		if (req->flags & GUESTGATE_PFN_GPA)
			ret = guestgate_gpc_activate(c->gpc, f->slots,
						     req->addr, req->len);
		else
			ret = guestgate_gpc_activate_hva(c->gpc, req->addr,
							 req->len);
	}
	mutex_unlock(&c->len_lock);
	return ret;
}

static long gg_pfn_create(struct gg_pfn_file *f, void __user *arg)
{
	struct guestgate_pfn_create req;
	struct gg_pfn_cache *c;
	int ret;

	ret = gg_pfn_create_arg(arg, &req);
	if (ret)
		return ret;
	if (gg_pfn_full(f))
		return -ENOSPC;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	kref_init(&c->ref);
	mutex_init(&c->len_lock);
	c->writable = req.flags & GUESTGATE_PFN_WRITABLE;
	c->mm = current->mm;
	ret = guestgate_gpc_init(&c->gpc, c->writable ? GUESTGATE_GPC_WRITABLE : 0);
	if (ret) {
		mutex_destroy(&c->len_lock);
		kfree(c);
		return ret;
	}
	ret = gg_pfn_activate(f, c, &req) ?: gg_pfn_insert(f, c, &req.handle);
	if (ret) {
		gg_pfn_cache_put(c);
		return ret;
	}
	if (copy_to_user(arg, &req, sizeof(req))) {
		/* The caller cannot know the handle: take the cache back. */
		c = gg_pfn_remove(f, req.handle);
		if (c)
			gg_pfn_cache_put(c);
		return -EFAULT;
	}
	return 0;
}

static long gg_pfn_activate_ioctl(struct gg_pfn_file *f, void __user *arg)
{
	struct guestgate_pfn_create req;
	struct gg_pfn_cache *c;
	int ret;

	ret = gg_pfn_create_arg(arg, &req);
	if (ret)
		return ret;
	c = gg_pfn_get(f, req.handle);
	if (!c)
		return -ENOENT;
	if (!!(req.flags & GUESTGATE_PFN_WRITABLE) != c->writable)
		ret = -EINVAL;
	else
		ret = gg_pfn_activate(f, c, &req);
	gg_pfn_cache_put(c);
	return ret;
}

/* Reads a struct guestgate_pfn_handle and finds its cache, referenced. */
static struct gg_pfn_cache *gg_pfn_handle_arg(struct gg_pfn_file *f,
					      void __user *arg, u32 *handle)
{
	struct guestgate_pfn_handle req;
	struct gg_pfn_cache *c;

	if (copy_from_user(&req, arg, sizeof(req)))
		return ERR_PTR(-EFAULT);
	if (req.pad)
		return ERR_PTR(-EINVAL);
	c = gg_pfn_get(f, req.handle);
	*handle = req.handle;
	return c ?: ERR_PTR(-ENOENT);
}

static long gg_pfn_refresh(struct gg_pfn_file *f, void __user *arg)
{
	struct gg_pfn_cache *c;
	u32 handle;
	int ret;

	c = gg_pfn_handle_arg(f, arg, &handle);
	if (IS_ERR(c))
		return PTR_ERR(c);
	mutex_lock(&c->len_lock);
	ret = guestgate_gpc_refresh(c->gpc, c->len);
	mutex_unlock(&c->len_lock);
	gg_pfn_cache_put(c);
	return ret;
}

static long gg_pfn_deactivate(struct gg_pfn_file *f, void __user *arg)
{
	struct gg_pfn_cache *c;
	u32 handle;

	c = gg_pfn_handle_arg(f, arg, &handle);
	if (IS_ERR(c))
		return PTR_ERR(c);
	guestgate_gpc_deactivate(c->gpc);
	gg_pfn_cache_put(c);
	return 0;
}

static long gg_pfn_destroy(struct gg_pfn_file *f, void __user *arg)
{
	struct gg_pfn_cache *c, *named;
	u32 handle;

	c = gg_pfn_handle_arg(f, arg, &handle);
	if (IS_ERR(c))
		return PTR_ERR(c);
	/* The last reference, this or an ioctl's, destroys the cache. */
	named = gg_pfn_remove(f, handle);
	if (named)
		gg_pfn_cache_put(named);
	gg_pfn_cache_put(c);
	return named ? 0 : -ENOENT;
}

static long gg_pfn_stats(struct gg_pfn_file *f, void __user *arg)
{
	struct guestgate_pfn_stats req;
	struct guestgate_gpc_stats s;
	struct gg_pfn_cache *c;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.pad)
		return -EINVAL;
	c = gg_pfn_get(f, req.handle);
	if (!c)
		return -ENOENT;
	guestgate_gpc_stats(c->gpc, &s);
	gg_pfn_cache_put(c);
	req.hits = s.hits;
	req.misses = s.misses;
	req.refreshes = s.refreshes;
	req.invalidations = s.invalidations;
	req.retries = s.retries;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

/**
 * struct gg_pfn_access - one access through a cache, in some context
 * @c: the cache
 * @req: the request; @req.data and @req.pfn are the results
 * @ret: the result of the last try
 * @mm: the mm the kthread adopts, referenced (mmget()), or NULL
 * @timer: the hrtimer of a GUESTGATE_PFN_CTX_HRTIMER access
 * @done: completed once the kthread's or the hrtimer's try is over
 */
struct gg_pfn_access {
	struct gg_pfn_cache *c;
	struct guestgate_pfn_access req;
	int ret;
	struct mm_struct *mm;
	struct hrtimer timer;
	struct completion done;
};

/* The access, with the read lock held and the cache checked. */
static void gg_pfn_access_locked(struct gg_pfn_access *a)
{
	void *p = guestgate_gpc_khva(a->c->gpc) + a->req.offset;

	if (a->req.flags & GUESTGATE_PFN_ACCESS_WRITE)
		memcpy(p, a->req.data, a->req.len);
	else
		memcpy(a->req.data, p, a->req.len);
	a->req.pfn = guestgate_gpc_pfn(a->c->gpc);
	a->ret = 0;
}

/* One try from a task or a kthread: may spin on the lock, never refreshes. */
static void gg_pfn_access_once(struct gg_pfn_access *a)
{
	struct guestgate_gpc *gpc = a->c->gpc;

	guestgate_gpc_read_lock(gpc);
	if (guestgate_gpc_check(gpc, a->req.offset + a->req.len))
		gg_pfn_access_locked(a);
	else
		a->ret = -EAGAIN;
	guestgate_gpc_read_unlock(gpc);
}

static int gg_pfn_access_kthread(void *arg)
{
	struct gg_pfn_access *a = arg;

	if (a->mm)
		kthread_use_mm(a->mm);
	gg_pfn_access_once(a);
	if (a->mm)
		kthread_unuse_mm(a->mm);
	complete(&a->done);
	return 0;
}

/* One try in a kthread in the caller's mm; waits for it. */
static int gg_pfn_access_in_kthread(struct gg_pfn_access *a)
{
	struct task_struct *task;

	reinit_completion(&a->done);
	/* The ioctl's task is alive: its mm has users. */
	a->mm = current->mm && mmget_not_zero(current->mm) ? current->mm : NULL;
	task = kthread_create(gg_pfn_access_kthread, a, "guestgate_pfn");
	if (IS_ERR(task)) {
		if (a->mm)
			mmput(a->mm);
		return PTR_ERR(task);
	}
	get_task_struct(task);
	wake_up_process(task);
	wait_for_completion(&a->done);
	/* Reaps the thread: its function has returned or is returning. */
	kthread_stop_put(task);
	if (a->mm)
		mmput(a->mm);
	return 0;
}

static enum hrtimer_restart gg_pfn_access_timer(struct hrtimer *timer)
{
	struct gg_pfn_access *a = container_of(timer, struct gg_pfn_access,
					       timer);
	struct guestgate_gpc *gpc = a->c->gpc;

	if (!guestgate_gpc_read_trylock(gpc)) {
		a->ret = -EBUSY;
	} else {
		if (guestgate_gpc_check(gpc, a->req.offset + a->req.len))
			gg_pfn_access_locked(a);
		else
			a->ret = -EAGAIN;
		guestgate_gpc_read_unlock(gpc);
	}
	complete(&a->done);
	return HRTIMER_NORESTART;
}

/* One try in a hardirq hrtimer callback; waits for it. */
static void gg_pfn_access_in_hrtimer(struct gg_pfn_access *a)
{
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	a->timer.function = gg_pfn_access_timer;
	hrtimer_start(&a->timer, ns_to_ktime(10 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	wait_for_completion(&a->done);
	/* Waits for the callback to return: the caller frees @a. */
	hrtimer_cancel(&a->timer);
}

/*
 * Tries until the cache is found valid, refreshing it from the calling task
 * in between unless the access says not to.
 */
static int gg_pfn_access_run(struct gg_pfn_access *a)
{
	u32 ctx = a->req.context;
	int i, ret;

	for (i = 0; i < GG_PFN_ACCESS_TRIES; i++) {
		if (ctx == GUESTGATE_PFN_CTX_KTHREAD) {
			ret = gg_pfn_access_in_kthread(a);
			if (ret)
				return ret;
		} else {
			gg_pfn_access_once(a);
		}
		if (a->ret != -EAGAIN ||
		    a->req.flags & GUESTGATE_PFN_ACCESS_NOREFRESH)
			return a->ret;
		ret = guestgate_gpc_refresh(a->c->gpc,
					    a->req.offset + a->req.len);
		if (ret)
			return ret;
	}
	return -EAGAIN;
}

static long gg_pfn_access(struct gg_pfn_file *f, void __user *arg)
{
	struct gg_pfn_access *a;
	struct guestgate_pfn_access *req;
	bool write;
	long ret;

	/* Off the stack: the request alone is 96 bytes, the hrtimer 64. */
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	req = &a->req;
	init_completion(&a->done);
	ret = -EFAULT;
	if (copy_from_user(req, arg, sizeof(*req)))
		goto out;
	write = req->flags & GUESTGATE_PFN_ACCESS_WRITE;
	ret = -EINVAL;
	if (req->flags & ~GG_PFN_ACCESS_FLAGS || !req->len ||
	    req->len > GUESTGATE_PFN_ACCESS_MAX || req->offset >= PAGE_SIZE ||
	    req->offset + req->len > PAGE_SIZE)
		goto out;
	ret = -ENOENT;
	a->c = gg_pfn_get(f, req->handle);
	if (!a->c)
		goto out;
	ret = -EPERM;
	if (write && !a->c->writable)
		goto put;
	mutex_lock(&a->c->len_lock);
	ret = req->offset + req->len > a->c->len ? -EINVAL : 0;
	mutex_unlock(&a->c->len_lock);
	if (ret)
		goto put;

	switch (req->context) {
	case GUESTGATE_PFN_CTX_TASK:
	case GUESTGATE_PFN_CTX_KTHREAD:
		ret = gg_pfn_access_run(a);
		break;
	case GUESTGATE_PFN_CTX_HRTIMER:
		gg_pfn_access_in_hrtimer(a);
		ret = a->ret;
		break;
	default:
		ret = -EINVAL;
	}
	if (!ret && copy_to_user(arg, req, sizeof(*req)))
		ret = -EFAULT;
put:
	gg_pfn_cache_put(a->c);
out:
	kfree(a);
	return ret;
}

static int gg_pfn_open(struct inode *inode, struct file *file)
{
	struct gg_pfn_file *f;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	ret = guestgate_memslots_create(&f->slots);
	if (ret) {
		kfree(f);
		return ret;
	}
	mutex_init(&f->lock);
	mutex_init(&f->table_lock);
	f->next = 1;
	file->private_data = f;
	return 0;
}

static int gg_pfn_release(struct inode *inode, struct file *file)
{
	struct gg_pfn_file *f = file->private_data;
	int i;

	for (i = 0; i < GUESTGATE_PFN_CACHES_MAX; i++)
		if (f->caches[i])
			gg_pfn_cache_put(f->caches[i]);
	guestgate_memslots_destroy(f->slots);
	mutex_destroy(&f->table_lock);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static long gg_pfn_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct gg_pfn_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS:
		return gg_pfn_set_memslots(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_CREATE:
		return gg_pfn_create(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_ACTIVATE:
		return gg_pfn_activate_ioctl(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_ACCESS:
		return gg_pfn_access(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_REFRESH:
		return gg_pfn_refresh(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE:
		return gg_pfn_deactivate(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_DESTROY:
		return gg_pfn_destroy(f, uarg);
	case GUESTGATE_TEST_IOCTL_PFN_STATS:
		return gg_pfn_stats(f, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations gg_pfn_fops = {
	.owner = THIS_MODULE,
	.open = gg_pfn_open,
	.release = gg_pfn_release,
	.unlocked_ioctl = gg_pfn_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice gg_pfn_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "guestgate_test",
	.fops = &gg_pfn_fops,
	.mode = 0600,
};

int gg_test_pfn_device_register(void)
{
	return misc_register(&gg_pfn_miscdev);
}

void gg_test_pfn_device_unregister(void)
{
	misc_deregister(&gg_pfn_miscdev);
}
