// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: the kernel half of guestgate's kselftests and of
 * make bench (test only).
 *
 * Like lib/test_hmm.c for the hmm selftests, a test-only module that the
 * kselftests drive. /dev/guestgate_test, the pfn cache test device with its
 * private UAPI guestgate_test_uapi.h, is described in pfn_cache_device.c.
 * The stress tests and benchmarks are debugfs files: a kselftest writes "MODE SWITCHES SECONDS" to
 * /sys/kernel/debug/guestgate_test/perf, which runs the stress in the
 * writing task and returns once it is over (or fails with its errno), and
 * reads the counters of the last run back from the same file. Reading
 * guestgate_test/perf_bench runs the benchmark of Rust callers. The guest
 * entry files (guest_entry, sync_rcu, guest_entry_bench) are described in
 * guest_entry_stress.c, the pfn cache files (pfn_cache, pfn_cache_bench) in
 * pfn_cache_stress.c. The PMU "guestgate_test" and its file mediated_pmu,
 * for the mediated PMU deal, are described in mediated_pmu_device.c, the
 * context switch's file (mediated_pmu_switch) in mediated_pmu_stress.c.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kstrtox.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "guestgate_test.h"

#define GG_STRESS_MAX_SWITCHES	100000
#define GG_STRESS_MAX_SECONDS	600

static const char *const gg_stress_mode_names[GG_STRESS_NR_MODES] = {
	[GG_STRESS_TORN] = "torn",
	[GG_STRESS_NAIVE] = "naive",
	[GG_STRESS_UAF] = "uaf",
	[GG_STRESS_UAF_NO_RCU_WAIT] = "uaf_no_rcu_wait",
	[GG_STRESS_TORN_NO_GATE] = "torn_no_gate",
	[GG_STRESS_SAMPLES] = "samples",
	[GG_STRESS_SAMPLES_NO_GATE] = "samples_no_gate",
};

static DEFINE_MUTEX(gg_stress_lock);
static struct gg_stress_result gg_stress_last;
static int gg_stress_last_ret = -ENODATA;
static struct dentry *gg_stress_dir;

static int gg_stress_perf_show(struct seq_file *m, void *unused)
{
	struct gg_stress_result *r = &gg_stress_last;

	mutex_lock(&gg_stress_lock);
	seq_printf(m, "ret: %d\n", gg_stress_last_ret);
	if (gg_stress_last_ret != -ENODATA) {
		seq_printf(m, "mode: %s\n", gg_stress_mode_names[r->mode]);
		seq_printf(m, "max_switches: %u\n", r->max_switches);
		seq_printf(m, "max_seconds: %u\n", r->max_seconds);
		seq_printf(m, "switches: %llu\n", r->switches);
		seq_printf(m, "msecs: %u\n", r->msecs);
		seq_printf(m, "timed_out: %d\n", r->timed_out);
		seq_printf(m, "sections_task: %lld\n", atomic64_read(&r->sections[GG_CTX_TASK]));
		seq_printf(m, "sections_irq: %lld\n", atomic64_read(&r->sections[GG_CTX_IRQ]));
		seq_printf(m, "sections_nmi: %lld\n", atomic64_read(&r->sections[GG_CTX_NMI]));
		seq_printf(m, "guest_sections: %lld\n", atomic64_read(&r->guest_sections));
		seq_printf(m, "torn: %lld\n", atomic64_read(&r->torn));
		seq_printf(m, "uaf_hits: %lld\n", atomic64_read(&r->uaf_hits));
		seq_printf(m, "nmis_sent: %lld\n", atomic64_read(&r->nmis_sent));
		seq_printf(m, "nmis_lost: %llu\n", r->nmis_lost);
	}
	mutex_unlock(&gg_stress_lock);
	return 0;
}

static int gg_stress_perf_open(struct inode *inode, struct file *file)
{
	return single_open(file, gg_stress_perf_show, NULL);
}

static ssize_t gg_stress_perf_write(struct file *file, const char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	u32 v[2];	/* switches, seconds */
	int mode, ret;

	mode = gg_test_parse_run(ubuf, len, gg_stress_mode_names, GG_STRESS_NR_MODES,
				 v, ARRAY_SIZE(v));
	if (mode < 0)
		return mode;
	if (!v[0] || v[0] > GG_STRESS_MAX_SWITCHES || !v[1] || v[1] > GG_STRESS_MAX_SECONDS)
		return -EINVAL;

	mutex_lock(&gg_stress_lock);
	ret = gg_stress_perf_run(mode, v[0], v[1], &gg_stress_last);
	gg_stress_last_ret = ret;
	mutex_unlock(&gg_stress_lock);
	return ret ?: len;
}

static const struct file_operations gg_stress_perf_fops = {
	.owner = THIS_MODULE,
	.open = gg_stress_perf_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = gg_stress_perf_write,
};

int gg_test_parse_run(const char __user *ubuf, size_t len, const char *const *modes,
		      unsigned int nr_modes, u32 *vals, unsigned int nr_vals)
{
	char buf[64], *args, *name, *tok;
	unsigned int i;
	int mode, ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	args = strim(buf);
	name = strsep(&args, " ");
	mode = match_string(modes, nr_modes, name);
	if (mode < 0)
		return mode;
	for (i = 0; i < nr_vals; i++) {
		tok = strsep(&args, " ");
		if (!tok)
			return -EINVAL;
		ret = kstrtou32(tok, 10, &vals[i]);
		if (ret)
			return ret;
	}
	return args ? -EINVAL : mode;
}

int gg_test_best_of(s64 (*batch)(void *arg, unsigned int kind), void *arg,
		    unsigned int nr_kinds, unsigned int runs, u64 *best)
{
	unsigned int kind, run;
	s64 c;

	for (kind = 0; kind < nr_kinds; kind++)
		best[kind] = U64_MAX;
	for (run = 0; run < runs; run++) {
		for (kind = 0; kind < nr_kinds; kind++) {
			c = batch(arg, kind);
			if (c < 0)
				return c;
			best[kind] = min_t(u64, best[kind], c);
			cond_resched();
		}
	}
	return 0;
}

/* Reading runs the benchmark of Rust callers (make bench). */
static int gg_stress_perf_bench_show(struct seq_file *m, void *unused)
{
	static const char *const kinds[GG_BENCH_NR_KINDS] = {
		"empty", "registered", "direct", "indirect",
	};
	u64 cycles[GG_BENCH_NR_KINDS];
	int i, ret;

	mutex_lock(&gg_stress_lock);
	ret = gg_stress_perf_bench(cycles);
	mutex_unlock(&gg_stress_lock);
	if (ret)
		return ret;
	for (i = 0; i < GG_BENCH_NR_KINDS; i++)
		seq_printf(m, "%s: %llu\n", kinds[i], cycles[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gg_stress_perf_bench);

static int __init gg_stress_init(void)
{
	int ret;

	gg_stress_dir = debugfs_create_dir("guestgate_test", NULL);
	debugfs_create_file("perf", 0600, gg_stress_dir, NULL,
			    &gg_stress_perf_fops);
	debugfs_create_file("perf_bench", 0400, gg_stress_dir, NULL,
			    &gg_stress_perf_bench_fops);
	gg_stress_guest_entry_init(gg_stress_dir);
	gg_stress_pfn_cache_init(gg_stress_dir);
	ret = gg_test_mediated_pmu_register(gg_stress_dir);
	if (ret)
		goto err_debugfs;
	gg_stress_mediated_pmu_init(gg_stress_dir);
	gg_test_op_group_init(gg_stress_dir);
	gg_test_op_group_bench_init(gg_stress_dir);
	/*
	 * The doors last: what comes through a door opened during an init
	 * that then fails (an open file, a perf event) is left with the freed
	 * module. The PMU after the device: its events would outlive
	 * perf_pmu_unregister() itself.
	 */
	ret = gg_test_pfn_device_register();
	if (ret)
		goto err_pmu;
	ret = gg_test_pmu_publish();
	if (ret)
		goto err_device;
	return 0;

err_device:
	gg_test_pfn_device_unregister();
err_pmu:
	/* Before the PMU goes, no file may be open on its debugfs file. */
	debugfs_remove_recursive(gg_stress_dir);
	gg_test_mediated_pmu_unregister();
	return ret;
err_debugfs:
	debugfs_remove_recursive(gg_stress_dir);
	return ret;
}
module_init(gg_stress_init);

static void __exit gg_stress_exit(void)
{
	gg_test_pmu_withdraw();
	gg_test_pfn_device_unregister();
	debugfs_remove_recursive(gg_stress_dir);
	gg_test_mediated_pmu_unregister();
}
module_exit(gg_stress_exit);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("guestgate test devices, test PMU, stress tests and benchmarks, kernel half (test only)");
MODULE_LICENSE("GPL");
