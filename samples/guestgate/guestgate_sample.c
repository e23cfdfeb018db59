// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_sample: a toy vCPU using guestgate's C API, as KVM would.
 *
 * It links against guestgate.ko's exports, and registers perf guest-info
 * callbacks that report a per-CPU "in guest" state and a fixed guest IP.
 * /dev/guestgate_sample (guestgate_sample.h) lets a test run "the guest" on
 * a chosen CPU for some milliseconds, and take the callbacks down and up.
 *
 * The guest is a busy loop in a kworker bound to the CPU, with preemption
 * disabled and interrupts enabled: perf's sampling interrupts land in it, and
 * perf asks guestgate, which asks this module, whether the CPU is in a guest.
 *
 * GUESTGATE_SAMPLE_IOCTL_VCPU_RUN runs KVM's vCPU loop around guest entry in
 * the calling task, with guestgate's guest entry helpers: the guest is a
 * noinstr spin with interrupts disabled (toy_vcpu_enter_exit(), the part a
 * hypervisor writes in noinstr code around VMRUN). With
 * GUESTGATE_SAMPLE_VCPU_RUNSTATE it also writes a runstate area of the
 * caller's memory after every guest exit, through a guestgate pfn cache, as
 * KVM writes a guest's steal time (toy_runstate_write()). With
 * GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU it is a mediated vPMU: a mediated user
 * for the run, which loads the guest PMU context at each guest entry and
 * puts it back at exit, before interrupts are enabled.
 */
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/guestgate.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "guestgate_sample.h"

/* PERF_GUEST_* bits while this CPU runs the toy guest, else 0. */
static DEFINE_PER_CPU(unsigned int, toy_guest_state);

static unsigned int toy_state(void)
{
	return this_cpu_read(toy_guest_state);
}

static unsigned long toy_get_ip(void)
{
	return GUESTGATE_SAMPLE_GUEST_IP;
}

static const struct guestgate_guest_info_callbacks toy_callbacks = {
	.state = toy_state,
	.get_ip = toy_get_ip,
};

static DEFINE_MUTEX(toy_lock);
static bool toy_registered;

static int toy_register(void)
{
	int ret;

	mutex_lock(&toy_lock);
	ret = guestgate_register_guest_info_callbacks(&toy_callbacks);
	if (!ret)
		toy_registered = true;
	mutex_unlock(&toy_lock);
	return ret;
}

static int toy_unregister(void)
{
	int ret;

	mutex_lock(&toy_lock);
	ret = guestgate_unregister_guest_info_callbacks(&toy_callbacks);
	if (!ret)
		toy_registered = false;
	mutex_unlock(&toy_lock);
	return ret;
}

/* Runs on the chosen CPU, in a kworker bound to it. */
static long toy_run_guest(void *arg)
{
	struct guestgate_sample_run *run = arg;
	unsigned int state = PERF_GUEST_ACTIVE;
	u64 ns = (u64)run->ms * NSEC_PER_MSEC;

	if (run->flags & GUESTGATE_SAMPLE_RUN_USER)
		state |= PERF_GUEST_USER;

	preempt_disable();
	run->t_enter = ktime_get_ns();
	this_cpu_write(toy_guest_state, state);
	run->t_in = ktime_get_ns();
	while (ktime_get_ns() - run->t_in < ns)
		cpu_relax();
	run->t_out = ktime_get_ns();
	this_cpu_write(toy_guest_state, 0);
	run->t_exit = ktime_get_ns();
	preempt_enable();
	return 0;
}

static long toy_ioctl_run(void __user *argp)
{
	struct guestgate_sample_run run;
	long ret;

	if (copy_from_user(&run, argp, sizeof(run)))
		return -EFAULT;
	if (run.ms < 1 || run.ms > GUESTGATE_SAMPLE_MAX_RUN_MS ||
	    run.flags & ~GUESTGATE_SAMPLE_RUN_USER || run.pad)
		return -EINVAL;

	cpus_read_lock();
	if (run.cpu >= nr_cpu_ids || !cpu_online(run.cpu))
		ret = -EINVAL;
	else
		ret = work_on_cpu(run.cpu, toy_run_guest, &run);
	cpus_read_unlock();
	if (ret)
		return ret;
	return copy_to_user(argp, &run, sizeof(run)) ? -EFAULT : 0;
}

/*
 * The benchmark: dispatch as KVM's callers would see it, against a direct
 * call and the indirect-call scheme static calls replaced.
 */
#define BENCH_CALLS	100000
#define BENCH_RUNS	7

static noinline unsigned int bench_empty(void)
{
	/* Not pure to the compiler: every call stays. */
	barrier();
	return 0;
}

static const struct guestgate_guest_info_callbacks bench_callbacks = {
	.state = bench_empty,
	.get_ip = toy_get_ip,
};

static const struct guestgate_guest_info_callbacks *bench_ptr = &bench_callbacks;

/*
 * The timed loops, one per scheme, with interrupts off. Not instrumented by
 * KASAN, so that the indirect scheme's pointer load costs what it costs in
 * a production kernel.
 */
static __no_sanitize_address u64 bench_dispatch(void)
{
	u64 t0 = rdtsc_ordered();
	int i;

	for (i = 0; i < BENCH_CALLS; i++)
		guestgate_guest_state();
	return rdtsc_ordered() - t0;
}

static __no_sanitize_address u64 bench_direct(void)
{
	u64 t0 = rdtsc_ordered();
	int i;

	for (i = 0; i < BENCH_CALLS; i++)
		bench_empty();
	return rdtsc_ordered() - t0;
}

static __no_sanitize_address u64 bench_indirect(void)
{
	const struct guestgate_guest_info_callbacks *cbs;
	u64 t0 = rdtsc_ordered();
	int i;

	for (i = 0; i < BENCH_CALLS; i++) {
		cbs = READ_ONCE(bench_ptr);
		if (cbs)
			cbs->state();
	}
	return rdtsc_ordered() - t0;
}

/* Best of BENCH_RUNS, in cycles per 1000 calls. */
static u64 bench_best(u64 (*loop)(void))
{
	unsigned long flags;
	u64 best = U64_MAX;
	int run;

	for (run = 0; run < BENCH_RUNS; run++) {
		local_irq_save(flags);
		best = min(best, loop());
		local_irq_restore(flags);
		cond_resched();
	}
	return div_u64(best * 1000, BENCH_CALLS);
}

static long toy_ioctl_bench(void __user *argp)
{
	struct guestgate_sample_bench b = { .calls = BENCH_CALLS };
	bool was_registered;
	int ret;

	mutex_lock(&toy_lock);
	was_registered = toy_registered;
	if (was_registered) {
		ret = guestgate_unregister_guest_info_callbacks(&toy_callbacks);
		if (ret)
			goto out;
		toy_registered = false;
	}
	b.empty = bench_best(bench_dispatch);
	ret = guestgate_register_guest_info_callbacks(&bench_callbacks);
	if (ret)
		goto out;
	b.registered = bench_best(bench_dispatch);
	guestgate_unregister_guest_info_callbacks(&bench_callbacks);
	b.direct = bench_best(bench_direct);
	b.indirect = bench_best(bench_indirect);
out:
	if (was_registered && !toy_registered &&
	    !guestgate_register_guest_info_callbacks(&toy_callbacks))
		toy_registered = true;
	mutex_unlock(&toy_lock);
	if (ret)
		return ret;
	return copy_to_user(argp, &b, sizeof(b)) ? -EFAULT : 0;
}

/*
 * The guest: state enter, a spin of @cycles TSC cycles with interrupts
 * disabled, state exit. noinstr: RCU does not watch in between, so nothing
 * here may be traced or instrumented.
 */
static noinstr u64 toy_vcpu_enter_exit(u64 cycles)
{
	u64 start, now;

	guestgate_state_enter_irqoff();
	start = rdtsc();
	do {
		cpu_relax();
		now = rdtsc();
	} while (now - start < cycles);
	guestgate_state_exit_irqoff();
	return now - start;
}

/* Whether lockdep's view of this CPU's interrupt state is the CPU's. */
static void toy_lockdep_check(struct guestgate_sample_vcpu_run *run)
{
#ifdef CONFIG_TRACE_IRQFLAGS
	run->lockdep_checks++;
	if (!!lockdep_hardirqs_enabled() != !irqs_disabled())
		run->lockdep_mismatches++;
#endif
}

/*
 * The runstate area, written through a pfn cache as KVM writes a guest's
 * steal time: read lock, check, and on a miss a refresh outside the lock.
 * Out of line so that `make bench` can count the fast path's instructions.
 */
static noinline int toy_runstate_write(struct guestgate_gpc *gpc,
				       const struct guestgate_sample_vcpu_run *run)
{
	struct guestgate_sample_runstate *rs;
	int ret;

	guestgate_gpc_read_lock(gpc);
	while (!guestgate_gpc_check(gpc, sizeof(*rs))) {
		guestgate_gpc_read_unlock(gpc);
		ret = guestgate_gpc_refresh(gpc, sizeof(*rs));
		if (ret)
			return ret;
		guestgate_gpc_read_lock(gpc);
	}
	rs = guestgate_gpc_khva(gpc);
	WRITE_ONCE(rs->entries, run->entries);
	WRITE_ONCE(rs->guest_cycles, run->guest_cycles);
	guestgate_gpc_read_unlock(gpc);
	return 0;
}

static long toy_ioctl_vcpu_run(void __user *argp)
{
	struct guestgate_sample_vcpu_run run;
	struct guestgate_gpc_stats st;
	struct guestgate_gpc *gpc = NULL;
	u64 cycles, end, runstate;
	bool pmu;
	long ret = 0;

	if (copy_from_user(&run, argp, sizeof(run)))
		return -EFAULT;
	if (run.ms < 1 || run.ms > GUESTGATE_SAMPLE_MAX_RUN_MS || run.guest_us < 1 ||
	    run.guest_us > GUESTGATE_SAMPLE_MAX_GUEST_US ||
	    (run.flags & ~(GUESTGATE_SAMPLE_VCPU_RUNSTATE |
			   GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU)))
		return -EINVAL;
	pmu = run.flags & GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU;
	if (pmu) {
		ret = guestgate_mediated_pmu_create();
		if (ret)
			return ret;
	}
	runstate = run.runstate;
	if (run.flags & GUESTGATE_SAMPLE_VCPU_RUNSTATE) {
		ret = guestgate_gpc_init(&gpc, GUESTGATE_GPC_WRITABLE);
		if (ret)
			goto out;
		ret = guestgate_gpc_activate_hva(gpc, runstate,
						 sizeof(struct guestgate_sample_runstate));
		if (ret)
			goto out;
	}
	memset(&run.cpu, 0, sizeof(run) - offsetof(typeof(run), cpu));
	run.runstate = runstate;
	cycles = div_u64((u64)run.guest_us * tsc_khz, 1000);
	run.cpu = raw_smp_processor_id();
	run.t_start = ktime_get_ns();
	end = run.t_start + (u64)run.ms * NSEC_PER_MSEC;
	do {
		/* No migration while guest timing is entered. */
		preempt_disable();
		local_irq_disable();
		run.cpu = smp_processor_id();
		if (pmu)
			guestgate_pmu_load_guest_context();
		guestgate_timing_enter_irqoff();
		if (!run.entries)
			run.t_first_in = ktime_get_ns();
		run.guest_cycles += toy_vcpu_enter_exit(cycles);
		run.t_last_out = ktime_get_ns();
		/* The guest's counters would be saved and zeroed here. */
		if (pmu)
			guestgate_pmu_put_guest_context();
		toy_lockdep_check(&run);
		/* The guest's interrupts are taken here, as guest time. */
		local_irq_enable();
		toy_lockdep_check(&run);
		local_irq_disable();
		guestgate_timing_exit_irqoff();
		local_irq_enable();
		preempt_enable();
		run.entries++;
		if (gpc) {
			ret = toy_runstate_write(gpc, &run);
			if (ret)
				break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	} while (ktime_get_ns() < end);
	run.t_end = ktime_get_ns();
	if (gpc) {
		guestgate_gpc_stats(gpc, &st);
		run.runstate_refreshes = st.refreshes;
	}
	if (copy_to_user(argp, &run, sizeof(run)))
		ret = -EFAULT;
out:
	guestgate_gpc_destroy(gpc);
	if (pmu)
		guestgate_mediated_pmu_release();
	return ret;
}

static long toy_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case GUESTGATE_SAMPLE_IOCTL_RUN:
		return toy_ioctl_run((void __user *)arg);
	case GUESTGATE_SAMPLE_IOCTL_REGISTER:
		return toy_register();
	case GUESTGATE_SAMPLE_IOCTL_UNREGISTER:
		return toy_unregister();
	case GUESTGATE_SAMPLE_IOCTL_BENCH:
		return toy_ioctl_bench((void __user *)arg);
	case GUESTGATE_SAMPLE_IOCTL_VCPU_RUN:
		return toy_ioctl_vcpu_run((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations toy_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = toy_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice toy_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "guestgate_sample",
	.fops = &toy_fops,
	.mode = 0600,
};

static int __init guestgate_sample_init(void)
{
	struct guestgate_version ver;
	int ret;

	ret = guestgate_get_version(&ver);
	if (ret)
		return ret;
	if (ver.abi != GUESTGATE_ABI_VERSION) {
		pr_err("guestgate_sample: guestgate abi %u, built for %u\n",
		       ver.abi, GUESTGATE_ABI_VERSION);
		return -EPROTO;
	}
	if (!(ver.features & GUESTGATE_FEATURE_PERF_CALLBACKS) ||
	    !(ver.features & GUESTGATE_FEATURE_GUEST_ENTRY))
		return -EOPNOTSUPP;

	ret = toy_register();
	if (ret) {
		pr_err("guestgate_sample: cannot register guest-info callbacks: %d\n",
		       ret);
		return ret;
	}
	ret = misc_register(&toy_miscdev);
	if (ret) {
		toy_unregister();
		return ret;
	}
	pr_info("guestgate_sample: using guestgate %u.%u.%u (abi %u, features %#llx)\n",
		ver.major, ver.minor, ver.patch, ver.abi, ver.features);
	return 0;
}
module_init(guestgate_sample_init);

static void __exit guestgate_sample_exit(void)
{
	misc_deregister(&toy_miscdev);
	/* Nobody can reach the device now; the callbacks may still be up. */
	if (toy_registered)
		toy_unregister();
	pr_info("guestgate_sample: unloaded\n");
}
module_exit(guestgate_sample_exit);

MODULE_DESCRIPTION("guestgate sample: a toy vCPU using the guestgate C API");
MODULE_LICENSE("GPL");
