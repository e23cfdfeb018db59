// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: where the guest PMU context is switched, made
 * measurable (test only; the PMU's hardware is modelled).
 *
 * debugfs guestgate_test/mediated_pmu_switch: a kselftest pinned to one
 * CPU writes "MODE MS GUEST_US EVENTS". The writing task becomes a mediated
 * user, opens EVENTS CPU-wide kernel counters on its CPU on the test PMU
 * (host events, which exclude the guest; more than GG_TEST_PMU_SLOTS are
 * multiplexed by perf's hrtimer), and runs a toy vCPU for MS milliseconds,
 * each guest run spinning GUEST_US microseconds:
 *
 *   entry_exit     the switch of Linux 7.0's KVM: interrupts off, load the
 *                  guest PMU context, guest timing enter, the guest twice
 *                  (the fast path re-enters it), put the context, the
 *                  interrupt window, guest timing exit.
 *   vcpu_load_put  the switch at vCPU load and put (the LoongArch
 *                  problem): the context is loaded once per batch of guest
 *                  runs, and the interrupt windows in between see it
 *                  loaded: the tick, perf's multiplexing hrtimer and IPIs.
 *   unregistered   entry_exit with the test PMU taken out of guestgate's
 *                  context switch for the run: its host events are not
 *                  stopped while the guest runs (and the guest does not
 *                  use the PMU). The bug the frozen check of the kselftest
 *                  must see.
 *   pmi_by_state   entry_exit with the test PMU routing its PMIs by the
 *                  guest callbacks' state() instead of by the context: the
 *                  bug the PMI check of the kselftest must see.
 *   no_zero        entry_exit with the hypervisor saving the guest's
 *                  counters at exit but not writing 0 to them: the RDPMC
 *                  leak, which the leak check of the kselftest must see.
 *
 * As a hypervisor does, the toy keeps its guest's counters: after each
 * load it writes them to the test PMU's modelled registers, and before
 * each put it saves them and writes 0 to each. Its guest, in its first run
 * after a load, reads the registers, checks that each holds what it wrote
 * last (guest_lost counts those that do not), and writes a new value of
 * its own (GG_TEST_PMU_GUEST_VALUE()). After each put, the toy reads the
 * registers as a host task's RDPMC would, before the guest's interrupts
 * are taken; leaks counts the guest's values it sees there.
 *
 * Every GG_MPMU_PMI_EVERY loads, the toy raises a modelled PMI of the test
 * PMU (an NMI to its own CPU) while the context is loaded, the guest's
 * (between the two runs; in vcpu_load_put, after the load), and one after
 * the put, the host's. For the run the task registers a set of perf
 * guest-info callbacks whose state() says a guest runs while the toy's
 * guest window runs, and whose handle_mediated_pmi counts its calls.
 *
 * Reading the file gives the last run's figures: the PMU callbacks that ran
 * while the context was loaded (calls_loaded), the time it was loaded
 * (loaded_ns), the first counter's count and running time, and the PMIs
 * raised while loaded and after the put, handled as the guest's and as the
 * host's, and seen by handle_mediated_pmi.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/guestgate.h>
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <asm/tsc.h>

#include "guestgate_test.h"

#define GG_MPMU_MAX_EVENTS	8
#define GG_MPMU_MAX_MS		60000
#define GG_MPMU_MAX_GUEST_US	10000
/* vcpu_load_put: how long one vCPU load lasts, in guest runs' time. */
#define GG_MPMU_VCPU_LOAD_NS	(2 * NSEC_PER_MSEC)
#define GG_MPMU_PMI_EVERY	8

enum gg_mpmu_mode {
	GG_MPMU_ENTRY_EXIT,
	GG_MPMU_VCPU_LOAD_PUT,
	GG_MPMU_UNREGISTERED,
	GG_MPMU_PMI_BY_STATE,
	GG_MPMU_NO_ZERO,
	GG_MPMU_NR_MODES,
};

static const char *const gg_mpmu_mode_names[GG_MPMU_NR_MODES] = {
	[GG_MPMU_ENTRY_EXIT] = "entry_exit",
	[GG_MPMU_VCPU_LOAD_PUT] = "vcpu_load_put",
	[GG_MPMU_UNREGISTERED] = "unregistered",
	[GG_MPMU_PMI_BY_STATE] = "pmi_by_state",
	[GG_MPMU_NO_ZERO] = "no_zero",
};

struct gg_mpmu_result {
	enum gg_mpmu_mode mode;
	unsigned int cpu;
	unsigned int events;
	u64 runs;
	u64 loads;
	u64 wall_ns;
	u64 loaded_ns;
	u64 counted_ns;
	u64 running_ns;
	u64 calls_loaded;
	u64 pmis_raised_loaded;
	u64 pmis_raised_put;
	struct gg_test_pmu_pmis pmis;
	u64 pmis_hook;
	u64 guest_lost;
	u64 leaks;
	u64 guest_counters[GG_TEST_PMU_SLOTS];
};

/*
 * The run's perf guest-info callbacks: state() says a guest runs on a CPU
 * while the toy's guest window runs there; a counted PMI hook.
 */
static DEFINE_PER_CPU(unsigned int, gg_mpmu_in_guest);
static DEFINE_PER_CPU(u64, gg_mpmu_hook_calls);

static unsigned int gg_mpmu_state(void)
{
	return this_cpu_read(gg_mpmu_in_guest);
}

static unsigned long gg_mpmu_get_ip(void)
{
	return 0;
}

static void gg_mpmu_handle_mediated_pmi(void)
{
	this_cpu_inc(gg_mpmu_hook_calls);
}

static const struct guestgate_guest_info_callbacks gg_mpmu_cbs = {
	.state = gg_mpmu_state,
	.get_ip = gg_mpmu_get_ip,
	.handle_mediated_pmi = gg_mpmu_handle_mediated_pmi,
};

static u64 gg_mpmu_hook_sum(void)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(&gg_mpmu_hook_calls, cpu));
	return sum;
}

static DEFINE_MUTEX(gg_mpmu_lock);
static struct gg_mpmu_result gg_mpmu_last;
static int gg_mpmu_last_ret = -ENODATA;

/* The guest window, with state() answering for it. Guest timing entered. */
static void gg_mpmu_window(u64 cycles)
{
	this_cpu_write(gg_mpmu_in_guest, PERF_GUEST_ACTIVE);
	gg_test_guest_window(cycles);
	this_cpu_write(gg_mpmu_in_guest, 0);
}

/*
 * The guest has the test PMU's registers only while the PMU is in the
 * context switch: unregistered, they stay the host's, and neither the toy
 * nor its guest touches them (what shows then is the count going on).
 */
static bool gg_mpmu_guest_has_pmu(const struct gg_mpmu_result *r)
{
	return r->mode != GG_MPMU_UNREGISTERED;
}

/* After a load: the guest's counters back in the registers. */
static void gg_mpmu_restore_guest(struct gg_mpmu_result *r)
{
	unsigned int i;

	if (!gg_mpmu_guest_has_pmu(r))
		return;
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++)
		gg_test_pmu_reg_write(i, r->guest_counters[i]);
}

/*
 * The guest, in its first run after a load: finds what it wrote last, and
 * writes a value of its own to each counter.
 */
static void gg_mpmu_guest_uses_pmu(struct gg_mpmu_result *r)
{
	u64 last = r->loads ? GG_TEST_PMU_GUEST_VALUE(r->loads - 1) : 0;
	unsigned int i;

	if (!gg_mpmu_guest_has_pmu(r))
		return;
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++) {
		if (gg_test_pmu_reg_read(i) != last)
			r->guest_lost++;
		gg_test_pmu_reg_write(i, GG_TEST_PMU_GUEST_VALUE(r->loads));
	}
}

/* Before a put: the guest's counters saved, and 0 written to each. */
static void gg_mpmu_save_guest(struct gg_mpmu_result *r)
{
	unsigned int i;

	if (!gg_mpmu_guest_has_pmu(r))
		return;
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++) {
		r->guest_counters[i] = gg_test_pmu_reg_read(i);
		if (r->mode != GG_MPMU_NO_ZERO)
			gg_test_pmu_reg_write(i, 0);
	}
}

/* After a put, a host task's RDPMC: the guest's values it sees. */
static void gg_mpmu_host_reads(struct gg_mpmu_result *r)
{
	unsigned int i;

	for (i = 0; i < GG_TEST_PMU_SLOTS; i++)
		if (GG_TEST_PMU_IS_GUEST_VALUE(gg_test_pmu_reg_read(i)))
			r->leaks++;
}

/*
 * One guest run with the context loaded at vCPU load: guest timing, the
 * guest, its interrupts taken within timing, then interrupts enabled as a
 * vCPU does between runs.
 */
static void gg_mpmu_guest_run(u64 cycles)
{
	guestgate_timing_enter_irqoff();
	gg_mpmu_window(cycles);
	local_irq_enable();
	local_irq_disable();
	guestgate_timing_exit_irqoff();
	local_irq_enable();
	local_irq_disable();
}

/* Runs the toy vCPU for @ms; interrupts enabled between loads. */
static void gg_mpmu_vcpu(struct gg_mpmu_result *r, u32 ms, u64 cycles)
{
	u64 end = local_clock() + (u64)ms * NSEC_PER_MSEC, t;
	bool pmi;

	do {
		preempt_disable();
		local_irq_disable();
		guestgate_pmu_load_guest_context();
		t = local_clock();
		gg_mpmu_restore_guest(r);
		pmi = !(r->loads % GG_MPMU_PMI_EVERY);
		if (r->mode == GG_MPMU_VCPU_LOAD_PUT) {
			if (pmi)
				r->pmis_raised_loaded += gg_test_pmu_raise_pmi();
			gg_mpmu_guest_uses_pmu(r);
			do {
				gg_mpmu_guest_run(cycles);
				r->runs++;
			} while (local_clock() - t < GG_MPMU_VCPU_LOAD_NS);
			gg_mpmu_save_guest(r);
			guestgate_pmu_put_guest_context();
			r->loaded_ns += local_clock() - t;
			gg_mpmu_host_reads(r);
			if (pmi)
				r->pmis_raised_put += gg_test_pmu_raise_pmi();
		} else {
			guestgate_timing_enter_irqoff();
			gg_mpmu_window(cycles);
			gg_mpmu_guest_uses_pmu(r);
			/*
			 * Between two runs of the fast path: state() says no
			 * guest runs, but the PMU is still the guest's.
			 */
			if (pmi)
				r->pmis_raised_loaded += gg_test_pmu_raise_pmi();
			gg_mpmu_window(cycles);
			r->runs += 2;
			gg_mpmu_save_guest(r);
			guestgate_pmu_put_guest_context();
			r->loaded_ns += local_clock() - t;
			gg_mpmu_host_reads(r);
			if (pmi)
				r->pmis_raised_put += gg_test_pmu_raise_pmi();
			/* The guest's interrupts, after the put. */
			local_irq_enable();
			local_irq_disable();
			guestgate_timing_exit_irqoff();
		}
		r->loads++;
		local_irq_enable();
		preempt_enable();
		if (signal_pending(current))
			break;
		cond_resched();
	} while (local_clock() < end);
}

static int gg_mpmu_run(enum gg_mpmu_mode mode, u32 ms, u32 guest_us,
		       u32 nr_events, struct gg_mpmu_result *r)
{
	struct perf_event_attr attr = {
		.type = gg_test_pmu_type(),
		.size = sizeof(attr),
		.exclude_guest = 1,
	};
	struct perf_event *events[GG_MPMU_MAX_EVENTS];
	u64 cycles = div_u64((u64)guest_us * tsc_khz, 1000);
	u64 count0, running0, count1, running1, calls0, enabled, t0, hook0;
	struct gg_test_pmu_pmis pmis0;
	unsigned int i = 0;
	int ret;

	/* The toy vCPU stays on one CPU, as the kselftest pinned it. */
	if (current->nr_cpus_allowed != 1)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->cpu = raw_smp_processor_id();
	r->events = nr_events;
	ret = guestgate_mediated_pmu_create();
	if (ret)
		return ret;
	ret = guestgate_register_guest_info_callbacks(&gg_mpmu_cbs);
	if (ret)
		goto out_user;
	for (i = 0; i < nr_events; i++) {
		events[i] = perf_event_create_kernel_counter(&attr, r->cpu, NULL,
							     NULL, NULL);
		if (IS_ERR(events[i])) {
			ret = PTR_ERR(events[i]);
			goto out;
		}
	}
	if (mode == GG_MPMU_UNREGISTERED) {
		ret = gg_test_pmu_set_registered(false);
		if (ret)
			goto out;
	}
	gg_test_pmu_set_pmi_by_state(mode == GG_MPMU_PMI_BY_STATE);
	count0 = perf_event_read_value(events[0], &enabled, &running0);
	calls0 = gg_test_pmu_calls_loaded();
	gg_test_pmu_pmis(&pmis0);
	hook0 = gg_mpmu_hook_sum();
	t0 = local_clock();
	gg_mpmu_vcpu(r, ms, cycles);
	r->wall_ns = local_clock() - t0;
	r->calls_loaded = gg_test_pmu_calls_loaded() - calls0;
	gg_test_pmu_pmis(&r->pmis);
	r->pmis.host -= pmis0.host;
	r->pmis.guest -= pmis0.guest;
	r->pmis.lost -= pmis0.lost;
	r->pmis_hook = gg_mpmu_hook_sum() - hook0;
	count1 = perf_event_read_value(events[0], &enabled, &running1);
	r->counted_ns = count1 - count0;
	r->running_ns = running1 - running0;
	gg_test_pmu_set_pmi_by_state(false);
	if (mode == GG_MPMU_UNREGISTERED)
		ret = gg_test_pmu_set_registered(true);
out:
	while (i)
		perf_event_release_kernel(events[--i]);
	guestgate_unregister_guest_info_callbacks(&gg_mpmu_cbs);
out_user:
	guestgate_mediated_pmu_release();
	return ret;
}

static int gg_mpmu_switch_show(struct seq_file *m, void *unused)
{
	struct gg_mpmu_result *r = &gg_mpmu_last;

	mutex_lock(&gg_mpmu_lock);
	seq_printf(m, "ret: %d\n", gg_mpmu_last_ret);
	if (gg_mpmu_last_ret != -ENODATA) {
		seq_printf(m, "mode: %s\n", gg_mpmu_mode_names[r->mode]);
		seq_printf(m, "cpu: %u\n", r->cpu);
		seq_printf(m, "events: %u\n", r->events);
		seq_printf(m, "runs: %llu\n", r->runs);
		seq_printf(m, "loads: %llu\n", r->loads);
		seq_printf(m, "wall_ns: %llu\n", r->wall_ns);
		seq_printf(m, "loaded_ns: %llu\n", r->loaded_ns);
		seq_printf(m, "counted_ns: %llu\n", r->counted_ns);
		seq_printf(m, "running_ns: %llu\n", r->running_ns);
		seq_printf(m, "calls_loaded: %llu\n", r->calls_loaded);
		seq_printf(m, "pmis_raised_loaded: %llu\n", r->pmis_raised_loaded);
		seq_printf(m, "pmis_raised_put: %llu\n", r->pmis_raised_put);
		seq_printf(m, "pmis_guest: %llu\n", r->pmis.guest);
		seq_printf(m, "pmis_host: %llu\n", r->pmis.host);
		seq_printf(m, "pmis_lost: %llu\n", r->pmis.lost);
		seq_printf(m, "pmis_hook: %llu\n", r->pmis_hook);
		seq_printf(m, "guest_lost: %llu\n", r->guest_lost);
		seq_printf(m, "leaks: %llu\n", r->leaks);
	}
	mutex_unlock(&gg_mpmu_lock);
	return 0;
}

static int gg_mpmu_switch_open(struct inode *inode, struct file *file)
{
	return single_open(file, gg_mpmu_switch_show, NULL);
}

static ssize_t gg_mpmu_switch_write(struct file *file, const char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	u32 val[3];	/* ms, guest_us, events */
	int mode, ret;

	mode = gg_test_parse_run(ubuf, len, gg_mpmu_mode_names, GG_MPMU_NR_MODES,
				 val, ARRAY_SIZE(val));
	if (mode < 0)
		return mode;
	if (!val[0] || val[0] > GG_MPMU_MAX_MS || val[1] > GG_MPMU_MAX_GUEST_US ||
	    !val[2] || val[2] > GG_MPMU_MAX_EVENTS)
		return -EINVAL;

	mutex_lock(&gg_mpmu_lock);
	ret = gg_mpmu_run(mode, val[0], val[1], val[2], &gg_mpmu_last);
	gg_mpmu_last_ret = ret;
	mutex_unlock(&gg_mpmu_lock);
	return ret ?: len;
}

static const struct file_operations gg_mpmu_switch_fops = {
	.owner = THIS_MODULE,
	.open = gg_mpmu_switch_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = gg_mpmu_switch_write,
};

void gg_stress_mediated_pmu_init(struct dentry *dir)
{
	debugfs_create_file("mediated_pmu_switch", 0600, dir, NULL, &gg_mpmu_switch_fops);
}
