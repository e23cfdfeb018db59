// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test: guest entry and exit. What the kselftest
 * (tools/testing/selftests/guestgate/guest_entry_test.c) compares the toy
 * vCPU of samples/guestgate with, and the benchmark.
 *
 * guestgate_test/guest_entry: writing "MODE MS GUEST_US" runs the toy
 * vCPU's loop in the writer's task for MS milliseconds, GUEST_US per guest
 * entry, with one deliberate bug:
 *  - timing_exit_early: guest timing exits before the interrupts that came
 *    in the guest are taken, so the ticks among them are charged to the
 *    host (the accounting bug the generic guest entry helpers fixed);
 *  - no_context_tracking: the guest window tells lockdep and tracing but
 *    skips the context tracking step, so the CPU is not in an RCU extended
 *    quiescent state while the guest runs.
 * Reading gives the last run's result, "name: value" lines.
 *
 * guestgate_test/sync_rcu: reading waits until another CPU has guest
 * timing entered (guestgate's per-CPU state; -ETIMEDOUT after 60 s, which
 * only a hang takes), 100 ms more, then times one synchronize_rcu() on the
 * reader's CPU.
 *
 * guestgate_test/guest_entry_bench: reading times full round trips
 * (timing enter, state enter, state exit, timing exit) on the reader's CPU,
 * guestgate's helpers against <linux/kvm_host.h>'s inline ones.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/guestgate.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "guestgate_test.h"
#include "test_hooks.h"

#define GG_ENTRY_MAX_MS		2000
#define GG_ENTRY_MAX_GUEST_US	2000000

enum gg_entry_mode {
	GG_ENTRY_TIMING_EXIT_EARLY,
	GG_ENTRY_NO_CONTEXT_TRACKING,
	GG_ENTRY_NR_MODES,
};

static const char *const gg_entry_mode_names[GG_ENTRY_NR_MODES] = {
	[GG_ENTRY_TIMING_EXIT_EARLY] = "timing_exit_early",
	[GG_ENTRY_NO_CONTEXT_TRACKING] = "no_context_tracking",
};

/* As struct guestgate_sample_vcpu_run's outputs. */
struct gg_entry_result {
	unsigned int cpu;
	u64 entries;
	u64 guest_cycles;
	u64 t_start;
	u64 t_end;
	u64 t_first_in;
	u64 t_last_out;
};

static DEFINE_MUTEX(gg_entry_lock);
static struct gg_entry_result gg_entry_last;
static int gg_entry_last_mode = -1;

noinstr u64 gg_test_guest_window(u64 cycles)
{
	u64 spent;

	guestgate_state_enter_irqoff();
	spent = guestgate_toy_guest_spin(cycles);
	guestgate_state_exit_irqoff();
	return spent;
}

/*
 * The bug of no_context_tracking: guest_state_enter_irqoff() and
 * guest_state_exit_irqoff() without their context tracking step.
 */
static noinstr u64 gg_entry_window_no_ct(u64 cycles)
{
	u64 spent;

	instrumentation_begin();
	trace_hardirqs_on_prepare();
	lockdep_hardirqs_on_prepare();
	instrumentation_end();
	lockdep_hardirqs_on(CALLER_ADDR0);
	spent = guestgate_toy_guest_spin(cycles);
	lockdep_hardirqs_off(CALLER_ADDR0);
	instrumentation_begin();
	trace_hardirqs_off_finish();
	instrumentation_end();
	return spent;
}

static void gg_entry_run(enum gg_entry_mode mode, u32 ms, u32 guest_us,
			 struct gg_entry_result *r)
{
	u64 cycles = div_u64((u64)guest_us * tsc_khz, 1000), end;

	memset(r, 0, sizeof(*r));
	r->t_start = ktime_get_ns();
	end = r->t_start + (u64)ms * NSEC_PER_MSEC;
	do {
		preempt_disable();
		local_irq_disable();
		r->cpu = smp_processor_id();
		guestgate_timing_enter_irqoff();
		if (!r->entries)
			r->t_first_in = ktime_get_ns();
		if (mode == GG_ENTRY_NO_CONTEXT_TRACKING)
			r->guest_cycles += gg_entry_window_no_ct(cycles);
		else
			r->guest_cycles += gg_test_guest_window(cycles);
		r->t_last_out = ktime_get_ns();
		if (mode == GG_ENTRY_TIMING_EXIT_EARLY) {
			/* The bug: the guest's interrupts come after. */
			guestgate_timing_exit_irqoff();
			local_irq_enable();
		} else {
			local_irq_enable();
			local_irq_disable();
			guestgate_timing_exit_irqoff();
			local_irq_enable();
		}
		preempt_enable();
		r->entries++;
		if (signal_pending(current))
			break;
		cond_resched();
	} while (ktime_get_ns() < end);
	r->t_end = ktime_get_ns();
}

static int gg_entry_show(struct seq_file *m, void *unused)
{
	struct gg_entry_result *r = &gg_entry_last;

	mutex_lock(&gg_entry_lock);
	if (gg_entry_last_mode >= 0) {
		seq_printf(m, "mode: %s\n", gg_entry_mode_names[gg_entry_last_mode]);
		seq_printf(m, "cpu: %u\n", r->cpu);
		seq_printf(m, "entries: %llu\n", r->entries);
		seq_printf(m, "guest_cycles: %llu\n", r->guest_cycles);
		seq_printf(m, "t_start: %llu\n", r->t_start);
		seq_printf(m, "t_end: %llu\n", r->t_end);
		seq_printf(m, "t_first_in: %llu\n", r->t_first_in);
		seq_printf(m, "t_last_out: %llu\n", r->t_last_out);
	}
	mutex_unlock(&gg_entry_lock);
	return 0;
}

static int gg_entry_open(struct inode *inode, struct file *file)
{
	return single_open(file, gg_entry_show, NULL);
}

static ssize_t gg_entry_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct gg_entry_result r;
	u32 v[2];	/* ms, guest_us */
	int mode;

	mode = gg_test_parse_run(ubuf, len, gg_entry_mode_names, GG_ENTRY_NR_MODES,
				 v, ARRAY_SIZE(v));
	if (mode < 0)
		return mode;
	if (!v[0] || v[0] > GG_ENTRY_MAX_MS || !v[1] || v[1] > GG_ENTRY_MAX_GUEST_US)
		return -EINVAL;

	/* Runs unlocked: the RCU test reads sync_rcu meanwhile. */
	gg_entry_run(mode, v[0], v[1], &r);
	mutex_lock(&gg_entry_lock);
	gg_entry_last = r;
	gg_entry_last_mode = mode;
	mutex_unlock(&gg_entry_lock);
	return len;
}

static const struct file_operations gg_entry_fops = {
	.owner = THIS_MODULE,
	.open = gg_entry_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = gg_entry_write,
};

#define GG_SYNC_RCU_WAIT_MS	60000
#define GG_SYNC_RCU_DELAY_MS	100

/* Another CPU than the caller's in guest timing (or in the guest), or -1. */
static int gg_other_cpu_in_guest(void)
{
	int cpu, self = raw_smp_processor_id();

	for_each_online_cpu(cpu)
		if (cpu != self &&
		    READ_ONCE(per_cpu(guestgate_entry_cpu, cpu).state) != GUESTGATE_ENTRY_IDLE)
			return cpu;
	return -1;
}

static int gg_sync_rcu_show(struct seq_file *m, void *unused)
{
	u64 t_wait = ktime_get_ns(), t_start;
	int guest_cpu;

	/* Wait with a deadline in time, not in polls: msleep() oversleeps. */
	while ((guest_cpu = gg_other_cpu_in_guest()) < 0) {
		if (ktime_get_ns() - t_wait > GG_SYNC_RCU_WAIT_MS * NSEC_PER_MSEC)
			return -ETIMEDOUT;
		if (signal_pending(current))
			return -EINTR;
		usleep_range(1000, 2000);
	}
	msleep(GG_SYNC_RCU_DELAY_MS);
	t_start = ktime_get_ns();
	synchronize_rcu();
	seq_printf(m, "cpu: %u\n", raw_smp_processor_id());
	seq_printf(m, "guest_cpu: %d\n", guest_cpu);
	seq_printf(m, "waited_ms: %llu\n", div_u64(t_start - t_wait, NSEC_PER_MSEC));
	seq_printf(m, "t_start: %llu\n", t_start);
	seq_printf(m, "t_end: %llu\n", ktime_get_ns());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gg_sync_rcu);

/*
 * The benchmark. Both round trips are noinstr functions of this file,
 * called in the same loop: upstream's helpers are inlined into theirs,
 * guestgate's are four calls into guestgate.ko.
 */
#define GG_ENTRY_BENCH_ROUNDS	2000
#define GG_ENTRY_BENCH_RUNS	7

static bool gg_bench_sink;

static noinstr void gg_bench_round_trip_upstream(void)
{
	guest_timing_enter_irqoff();
	guest_state_enter_irqoff();
	guest_state_exit_irqoff();
	guest_timing_exit_irqoff();
}

static noinstr void gg_bench_round_trip_guestgate(void)
{
	guestgate_timing_enter_irqoff();
	guestgate_state_enter_irqoff();
	guestgate_state_exit_irqoff();
	guestgate_timing_exit_irqoff();
}

/*
 * Upstream's round trip plus the four reads of the interrupt flag that
 * guestgate's helpers add (one each): what those reads cost.
 */
static noinstr void gg_bench_round_trip_irq_reads(void)
{
	bool on = false;

	on |= !raw_irqs_disabled();
	guest_timing_enter_irqoff();
	on |= !raw_irqs_disabled();
	guest_state_enter_irqoff();
	on |= !raw_irqs_disabled();
	guest_state_exit_irqoff();
	on |= !raw_irqs_disabled();
	guest_timing_exit_irqoff();
	WRITE_ONCE(gg_bench_sink, on);
}

/*
 * guestgate's round trip of a mediated vPMU: the guest PMU context loaded
 * before it and put after it, with this module's test PMU registered. (KVM
 * puts before guest timing exit; the cost is the same.)
 */
static void gg_bench_round_trip_guestgate_pmu(void)
{
	guestgate_pmu_load_guest_context();
	gg_bench_round_trip_guestgate();
	guestgate_pmu_put_guest_context();
}

/* The kinds of round trip timed, in the order of gg_bench_names. */
enum gg_entry_bench_kind {
	GG_ENTRY_BENCH_UPSTREAM,
	GG_ENTRY_BENCH_GUESTGATE,
	GG_ENTRY_BENCH_IRQ_READS,
	GG_ENTRY_BENCH_GUESTGATE_PMU,
	GG_ENTRY_BENCH_NR_KINDS,
};

static const char *const gg_bench_names[GG_ENTRY_BENCH_NR_KINDS] = {
	[GG_ENTRY_BENCH_UPSTREAM] = "upstream",
	[GG_ENTRY_BENCH_GUESTGATE] = "guestgate",
	[GG_ENTRY_BENCH_IRQ_READS] = "upstream_irq_reads",
	[GG_ENTRY_BENCH_GUESTGATE_PMU] = "guestgate_pmu",
};

/* GG_ENTRY_BENCH_ROUNDS round trips of @kind on this CPU; sets *@cpu. */
static s64 gg_bench_batch(void *cpu, unsigned int kind)
{
	unsigned long flags;
	u64 t0, t1;
	int i;

	preempt_disable();
	local_irq_save(flags);
	*(unsigned int *)cpu = smp_processor_id();
	/* One branch per batch, none in the timed loop. */
	t0 = rdtsc_ordered();
	if (kind == GG_ENTRY_BENCH_UPSTREAM)
		for (i = 0; i < GG_ENTRY_BENCH_ROUNDS; i++)
			gg_bench_round_trip_upstream();
	else if (kind == GG_ENTRY_BENCH_GUESTGATE)
		for (i = 0; i < GG_ENTRY_BENCH_ROUNDS; i++)
			gg_bench_round_trip_guestgate();
	else if (kind == GG_ENTRY_BENCH_IRQ_READS)
		for (i = 0; i < GG_ENTRY_BENCH_ROUNDS; i++)
			gg_bench_round_trip_irq_reads();
	else
		for (i = 0; i < GG_ENTRY_BENCH_ROUNDS; i++)
			gg_bench_round_trip_guestgate_pmu();
	t1 = rdtsc_ordered();
	local_irq_restore(flags);
	preempt_enable();
	return t1 - t0;
}

static int gg_entry_bench_show(struct seq_file *m, void *unused)
{
	u64 best[GG_ENTRY_BENCH_NR_KINDS];
	unsigned int cpu, kind;
	int ret;

	/* The PMU round trips load the guest PMU context: a mediated user. */
	ret = guestgate_mediated_pmu_create();
	if (ret)
		return ret;
	ret = gg_test_best_of(gg_bench_batch, &cpu, GG_ENTRY_BENCH_NR_KINDS,
			      GG_ENTRY_BENCH_RUNS, best);
	guestgate_mediated_pmu_release();
	if (ret)
		return ret;
	seq_printf(m, "cpu: %u\n", cpu);
	seq_printf(m, "rounds: %u\n", GG_ENTRY_BENCH_ROUNDS);
	/* TSC cycles per round trip, times 1000. */
	for (kind = 0; kind < GG_ENTRY_BENCH_NR_KINDS; kind++)
		seq_printf(m, "%s: %llu\n", gg_bench_names[kind],
			   div_u64(best[kind] * 1000, GG_ENTRY_BENCH_ROUNDS));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gg_entry_bench);

void gg_stress_guest_entry_init(struct dentry *dir)
{
	debugfs_create_file("guest_entry", 0600, dir, NULL, &gg_entry_fops);
	debugfs_create_file("sync_rcu", 0400, dir, NULL, &gg_sync_rcu_fops);
	debugfs_create_file("guest_entry_bench", 0400, dir, NULL,
			    &gg_entry_bench_fops);
}
