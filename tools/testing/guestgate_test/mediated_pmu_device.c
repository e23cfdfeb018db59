// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: the mediated PMU test PMU and its hypervisor stand-in
 * (test only; the PMU's hardware is modelled).
 *
 * "guestgate_test" is a PMU registered with perf_pmu_register() that takes
 * part in guestgate's mediated PMU deal as a PMU driver would: its
 * event_init calls guestgate_pmu_account_event() once its own checks have
 * passed, and only then sets the event's destroy, which calls
 * guestgate_pmu_unaccount_event(). There is no hardware PMU under TCG, so
 * its one counter (config 0) is modelled: a count in memory that advances
 * with local_clock() (ns) while the event is started on a CPU. The rest is
 * perf's own: perf_event_open() and perf_event_create_kernel_counter(),
 * event_init, inheritance, add/del/start/stop/read on context switches,
 * and reads by IPI. It cannot sample (PERF_PMU_CAP_NO_INTERRUPT):
 * perf_event_overflow() is not exported to modules.
 *
 * debugfs guestgate_test/mediated_pmu stands in for a hypervisor and an
 * in-kernel perf user: each open file may hold one mediated user and up to
 * GG_MPMU_COUNTERS kernel counters on the test PMU. A write is one command,
 * and returns its errno:
 *
 *   create              guestgate_mediated_pmu_create(); -EALREADY if this
 *                       file holds a user already
 *   release             guestgate_mediated_pmu_release(); -ENOENT if this
 *                       file holds no user
 *   counter guest CPU   a CPU-wide kernel counter on CPU that counts the
 *   counter host CPU    guest (attr.exclude_guest = 0), or that excludes it;
 *                       -ENOSPC if the file holds GG_MPMU_COUNTERS already
 *   close               perf_event_release_kernel() of this file's counters
 *
 * Reading prints "user: 0|1", "counters: N" and each counter's value.
 * Closing the file releases what it holds.
 */
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/guestgate.h>
#include <linux/kstrtox.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <asm/local64.h>

#include "guestgate_test.h"

#define GG_MPMU_COUNTERS	4

static struct pmu gg_test_pmu;

/* Adds what the modelled counter advanced since it was last read. */
static void gg_test_pmu_update(struct perf_event *event)
{
	u64 now = local_clock();
	u64 prev = local64_xchg(&event->hw.prev_count, now);

	local64_add(now - prev, &event->count);
}

static void gg_test_pmu_destroy(struct perf_event *event)
{
	guestgate_pmu_unaccount_event(event);
}

static int gg_test_pmu_event_init(struct perf_event *event)
{
	int ret;

	if (event->attr.type != gg_test_pmu.type)
		return -ENOENT;
	if (event->attr.config)
		return -EINVAL;
	/* The deal last, and destroy only once the event is in it. */
	ret = guestgate_pmu_account_event(event);
	if (ret)
		return ret;
	event->destroy = gg_test_pmu_destroy;
	return 0;
}

static void gg_test_pmu_start(struct perf_event *event, int flags)
{
	local64_set(&event->hw.prev_count, local_clock());
	event->hw.state = 0;
}

static void gg_test_pmu_stop(struct perf_event *event, int flags)
{
	if (event->hw.state & PERF_HES_STOPPED)
		return;
	gg_test_pmu_update(event);
	event->hw.state |= PERF_HES_STOPPED | PERF_HES_UPTODATE;
}

static int gg_test_pmu_add(struct perf_event *event, int flags)
{
	event->hw.state = PERF_HES_STOPPED | PERF_HES_UPTODATE;
	if (flags & PERF_EF_START)
		gg_test_pmu_start(event, PERF_EF_RELOAD);
	return 0;
}

static void gg_test_pmu_del(struct perf_event *event, int flags)
{
	gg_test_pmu_stop(event, PERF_EF_UPDATE);
}

static void gg_test_pmu_read(struct perf_event *event)
{
	if (!(event->hw.state & PERF_HES_STOPPED))
		gg_test_pmu_update(event);
}

static struct pmu gg_test_pmu = {
	.module = THIS_MODULE,
	.task_ctx_nr = perf_hw_context,
	.capabilities = PERF_PMU_CAP_NO_INTERRUPT,
	.event_init = gg_test_pmu_event_init,
	.add = gg_test_pmu_add,
	.del = gg_test_pmu_del,
	.start = gg_test_pmu_start,
	.stop = gg_test_pmu_stop,
	.read = gg_test_pmu_read,
};

/* What one open file of guestgate_test/mediated_pmu holds, under @lock. */
struct gg_mpmu_file {
	struct mutex lock; /* serialises the file's commands */
	bool user;
	unsigned int nr_counters;
	struct perf_event *counters[GG_MPMU_COUNTERS];
};

static int gg_mpmu_open(struct inode *inode, struct file *file)
{
	struct gg_mpmu_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static void gg_mpmu_close_counters(struct gg_mpmu_file *f)
{
	while (f->nr_counters)
		perf_event_release_kernel(f->counters[--f->nr_counters]);
}

static int gg_mpmu_release(struct inode *inode, struct file *file)
{
	struct gg_mpmu_file *f = file->private_data;

	gg_mpmu_close_counters(f);
	if (f->user)
		guestgate_mediated_pmu_release();
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static int gg_mpmu_counter(struct gg_mpmu_file *f, char *args)
{
	struct perf_event_attr attr = {
		.type = gg_test_pmu.type,
		.size = sizeof(attr),
	};
	struct perf_event *event;
	char *kind = strsep(&args, " ");
	unsigned int cpu;
	int ret;

	if (!args)
		return -EINVAL;
	ret = kstrtouint(args, 10, &cpu);
	if (ret)
		return ret;
	if (cpu >= nr_cpu_ids)
		return -EINVAL;
	if (!strcmp(kind, "host"))
		attr.exclude_guest = 1;
	else if (strcmp(kind, "guest"))
		return -EINVAL;
	if (f->nr_counters == GG_MPMU_COUNTERS)
		return -ENOSPC;
	event = perf_event_create_kernel_counter(&attr, cpu, NULL, NULL, NULL);
	if (IS_ERR(event))
		return PTR_ERR(event);
	f->counters[f->nr_counters++] = event;
	return 0;
}

static int gg_mpmu_command(struct gg_mpmu_file *f, char *cmd)
{
	char *args = cmd;
	int ret;

	cmd = strsep(&args, " ");
	if (!strcmp(cmd, "counter"))
		return args ? gg_mpmu_counter(f, args) : -EINVAL;
	if (args)
		return -EINVAL;
	if (!strcmp(cmd, "create")) {
		if (f->user)
			return -EALREADY;
		ret = guestgate_mediated_pmu_create();
		f->user = !ret;
		return ret;
	}
	if (!strcmp(cmd, "release")) {
		if (!f->user)
			return -ENOENT;
		guestgate_mediated_pmu_release();
		f->user = false;
		return 0;
	}
	if (!strcmp(cmd, "close")) {
		gg_mpmu_close_counters(f);
		return 0;
	}
	return -EINVAL;
}

static ssize_t gg_mpmu_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	struct gg_mpmu_file *f = file->private_data;
	char buf[32];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	mutex_lock(&f->lock);
	ret = gg_mpmu_command(f, strim(buf));
	mutex_unlock(&f->lock);
	return ret ?: len;
}

static ssize_t gg_mpmu_read(struct file *file, char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct gg_mpmu_file *f = file->private_data;
	u64 enabled, running;
	char buf[256];
	unsigned int i;
	int n;

	mutex_lock(&f->lock);
	n = scnprintf(buf, sizeof(buf), "user: %d\ncounters: %u\n", f->user,
		      f->nr_counters);
	for (i = 0; i < f->nr_counters; i++)
		n += scnprintf(buf + n, sizeof(buf) - n, "counter%u: %llu\n", i,
			       perf_event_read_value(f->counters[i], &enabled,
						     &running));
	mutex_unlock(&f->lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations gg_mpmu_fops = {
	.owner = THIS_MODULE,
	.open = gg_mpmu_open,
	.release = gg_mpmu_release,
	.read = gg_mpmu_read,
	.write = gg_mpmu_write,
};

int gg_test_mediated_pmu_register(struct dentry *dir)
{
	int ret = perf_pmu_register(&gg_test_pmu, "guestgate_test", -1);

	if (ret)
		return ret;
	debugfs_create_file("mediated_pmu", 0600, dir, NULL, &gg_mpmu_fops);
	return 0;
}

void gg_test_mediated_pmu_unregister(void)
{
	perf_pmu_unregister(&gg_test_pmu);
}
