// SPDX-License-Identifier: GPL-2.0
/*
 * Stress of the perf guest-info callbacks: torn reads and use after
 * unregister.
 *
 * A writer (the task that starts the run) registers and unregisters sets of
 * callbacks in a loop while readers on every CPU run reading sections in
 * three contexts: NMI (NMI IPIs sent by the task readers to the other CPUs),
 * the hrtimer interrupt of a perf cpu-clock event, and tasks with preemption
 * disabled. A section calls state(); if nonzero, get_ip(),
 * handle_intel_pt_intr() and handle_mediated_pmi(), and checks that all four
 * answered for the same set.
 *
 * Modes (debugfs guestgate_stress/perf, "MODE SWITCHES SECONDS"):
 * - torn: two sets through guestgate. Torn sections must be 0.
 * - naive: two sets through four static calls of this module switched one by
 *   one, as upstream 6.12 does (state first, no grace period between the
 *   hooks). Torn sections must be seen: the check can see the bug.
 * - uaf: one set whose hooks read a kmalloc'd object that the writer frees
 *   right after each unregister. No hook may see its object freed under it
 *   (uaf_hits), and KASAN must stay silent.
 * - uaf_no_rcu_wait: the same, with guestgate's grace periods switched off
 *   (CONFIG_KUNIT fault injection). A hook sees its object freed and reads
 *   it: KASAN must report the use after free.
 *
 * A run is a number of register + unregister pairs, SWITCHES, so that a slow
 * machine does as much as a fast one. The modes that plant a bug (naive,
 * uaf_no_rcu_wait) stop at its first sign (a torn section, a use after
 * free). SECONDS bounds the run in time all the same, so that a write always
 * returns; the counters say which bound ended it.
 */
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/guestgate.h>
#include <linux/kthread.h>
#include <linux/perf_event.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include "guestgate_stress.h"
#include "shim.h"

#define SET_STATE(id)	(PERF_GUEST_ACTIVE | ((id) << 8))
#define SET_IP(id)	(0xffffffffa0000000UL | (id))
#define SET_OF(state)	((state) >> 8)
#define UAF_ID		3
#define UAF_MAGIC	0x6767756166UL
/*
 * How long a task's get_ip() of the uaf set holds its object waiting for the
 * writer to free it: well above QEMU's TCG time slice, in which one vCPU
 * runs up to 100 ms while the other stands still, its clock running on. A
 * hold shorter than that had mostly run out by the time the other vCPU got
 * to free the object, and a missing grace period went unseen for hundreds
 * of unregisters.
 */
#define UAF_LINGER_NS	(300 * NSEC_PER_MSEC)
#define UAF_HOLD_US	5000

/* Per-CPU, per-context slot for handle_mediated_pmi(), which returns nothing. */
static DEFINE_PER_CPU(unsigned int [GG_NR_CTX], pmi_seen);

static unsigned int ctx_now(void)
{
	return in_nmi() ? GG_CTX_NMI : in_hardirq() ? GG_CTX_IRQ : GG_CTX_TASK;
}

/* Two sets, told apart by every hook's answer. */
static unsigned int set1_state(void)
{
	return SET_STATE(1);
}

static unsigned long set1_get_ip(void)
{
	return SET_IP(1);
}

static unsigned int set1_pt(void)
{
	return 1;
}

static void set1_pmi(void)
{
	this_cpu_write(pmi_seen[ctx_now()], 1);
}

static unsigned int set2_state(void)
{
	return SET_STATE(2);
}

static unsigned long set2_get_ip(void)
{
	return SET_IP(2);
}

static unsigned int set2_pt(void)
{
	return 2;
}

static void set2_pmi(void)
{
	this_cpu_write(pmi_seen[ctx_now()], 2);
}

static const struct guestgate_guest_info_callbacks set1 = {
	.state = set1_state,
	.get_ip = set1_get_ip,
	.handle_intel_pt_intr = set1_pt,
	.handle_mediated_pmi = set1_pmi,
};

static const struct guestgate_guest_info_callbacks set2 = {
	.state = set2_state,
	.get_ip = set2_get_ip,
	.handle_intel_pt_intr = set2_pt,
	.handle_mediated_pmi = set2_pmi,
};

/*
 * The uaf set: every hook reads the object, and get_ip() in task context
 * takes a while, so that a missing grace period lets the object be freed
 * under it.
 */
struct uaf_obj {
	unsigned long magic;
	unsigned long pad[15];
};

static struct uaf_obj *uaf_obj;
/* Objects the writer freed so far. */
static unsigned long uaf_frees;

static struct gg_stress_result res;

static unsigned long uaf_read(void)
{
	return READ_ONCE(READ_ONCE(uaf_obj)->magic);
}

static unsigned int uaf_state(void)
{
	return uaf_read() == UAF_MAGIC ? SET_STATE(UAF_ID) : 0;
}

static unsigned long uaf_get_ip(void)
{
	struct uaf_obj *obj = READ_ONCE(uaf_obj);
	unsigned long v = READ_ONCE(obj->magic);
	unsigned long frees;
	u64 until;

	/*
	 * In a task, hold on to the object until the writer frees one (or
	 * UAF_LINGER_NS passed), then read it again. With unregister's grace
	 * periods the writer cannot free it before this hook returned, and this
	 * waits out the linger; without them, this read is a use after free.
	 */
	if (ctx_now() == GG_CTX_TASK) {
		/* Pairs with the writer's release after kfree(). */
		frees = smp_load_acquire(&uaf_frees);
		until = ktime_get_ns() + UAF_LINGER_NS;
		/* Pairs with the writer's release after kfree(). */
		while (smp_load_acquire(&uaf_frees) == frees &&
		       ktime_get_ns() < until)
			cpu_relax();
		/* The writer freed an object, this one, under this hook. */
		if (smp_load_acquire(&uaf_frees) != frees)
			atomic64_inc(&res.uaf_hits);
		v &= READ_ONCE(obj->magic);
	}
	return v == UAF_MAGIC ? SET_IP(UAF_ID) : 0;
}

static unsigned int uaf_pt(void)
{
	return uaf_read() == UAF_MAGIC ? UAF_ID : 0;
}

static void uaf_pmi(void)
{
	if (uaf_read() == UAF_MAGIC)
		this_cpu_write(pmi_seen[ctx_now()], UAF_ID);
}

static const struct guestgate_guest_info_callbacks uaf_set = {
	.state = uaf_state,
	.get_ip = uaf_get_ip,
	.handle_intel_pt_intr = uaf_pt,
	.handle_mediated_pmi = uaf_pmi,
};

/* The naive scheme: upstream 6.12's, one independent update per hook. */
DEFINE_STATIC_CALL_RET0(naive_state, *set1.state);
DEFINE_STATIC_CALL_RET0(naive_get_ip, *set1.get_ip);
DEFINE_STATIC_CALL_RET0(naive_pt, *set1.handle_intel_pt_intr);
DEFINE_STATIC_CALL_RET0(naive_pmi, *set1.handle_mediated_pmi);

static void naive_register(const struct guestgate_guest_info_callbacks *cbs)
{
	static_call_update(naive_state, cbs->state);
	static_call_update(naive_get_ip, cbs->get_ip);
	static_call_update(naive_pt, cbs->handle_intel_pt_intr);
	static_call_update(naive_pmi, cbs->handle_mediated_pmi);
}

static void naive_unregister(void)
{
	static_call_update(naive_state, (void *)&__static_call_return0);
	static_call_update(naive_get_ip, (void *)&__static_call_return0);
	static_call_update(naive_pt, (void *)&__static_call_return0);
	static_call_update(naive_pmi, (void *)&__static_call_return0);
	synchronize_rcu();
}

static enum gg_stress_mode mode;
static bool running;
static DEFINE_PER_CPU(atomic_t, nmi_pending);
static struct task_struct *tasks[NR_CPUS];
static struct perf_event *events[NR_CPUS];

static void section(unsigned int ctx)
{
	unsigned int state, id, pt, pmi;
	unsigned long ip;

	this_cpu_write(pmi_seen[ctx], 0);
	if (mode == GG_STRESS_NAIVE) {
		state = static_call(naive_state)();
		if (!state)
			goto empty;
		ip = static_call(naive_get_ip)();
		pt = static_call(naive_pt)();
		static_call(naive_pmi)();
	} else {
		state = guestgate_guest_state();
		if (!state)
			goto empty;
		ip = guestgate_guest_get_ip();
		pt = guestgate_guest_handle_intel_pt_intr();
		guestgate_guest_handle_mediated_pmi();
	}
	pmi = this_cpu_read(pmi_seen[ctx]);
	id = SET_OF(state);
	atomic64_inc(&res.guest_sections);
	if (ip != SET_IP(id) || pt != id || pmi != id)
		atomic64_inc(&res.torn);
empty:
	atomic64_inc(&res.sections[ctx]);
}

static int stress_nmi(unsigned int cmd, struct pt_regs *regs)
{
	if (atomic_dec_if_positive(this_cpu_ptr(&nmi_pending)) < 0)
		return NMI_DONE;
	if (READ_ONCE(running))
		section(GG_CTX_NMI);
	return NMI_HANDLED;
}

static void stress_hrtimer(struct perf_event *event,
			   struct perf_sample_data *data, struct pt_regs *regs)
{
	if (READ_ONCE(running))
		section(GG_CTX_IRQ);
}

/* Each task reader sends an NMI to the next CPU every few sections. */
static int stress_task(void *unused)
{
	unsigned long n = 0;
	int next;

	while (!kthread_should_stop()) {
		preempt_disable();
		section(GG_CTX_TASK);
		if (++n % 16 == 0) {
			next = cpumask_next(smp_processor_id(), cpu_online_mask);
			if (next >= nr_cpu_ids)
				next = cpumask_first(cpu_online_mask);
			/* One NMI in flight per CPU: more would merge. */
			if (next != smp_processor_id() &&
			    atomic_cmpxchg(per_cpu_ptr(&nmi_pending, next), 0, 1) == 0) {
				__apic_send_IPI_mask(cpumask_of(next), NMI_VECTOR);
				atomic64_inc(&res.nmis_sent);
			}
		}
		preempt_enable();
		cond_resched();
	}
	return 0;
}

static int writer_step(unsigned long iter)
{
	const struct guestgate_guest_info_callbacks *cbs = iter & 1 ? &set2 : &set1;
	struct uaf_obj *obj;
	int ret;

	switch (mode) {
	case GG_STRESS_NAIVE:
		naive_register(cbs);
		naive_unregister();
		return 0;
	case GG_STRESS_TORN:
		ret = guestgate_register_guest_info_callbacks(cbs);
		if (ret)
			return ret;
		return guestgate_unregister_guest_info_callbacks(cbs);
	default:
		obj = kzalloc(sizeof(*obj), GFP_KERNEL);
		if (!obj)
			return -ENOMEM;
		obj->magic = UAF_MAGIC;
		WRITE_ONCE(uaf_obj, obj);
		ret = guestgate_register_guest_info_callbacks(&uaf_set);
		if (ret) {
			kfree(obj);
			return ret;
		}
		/* Long enough for the task readers to be inside get_ip(). */
		usleep_range(UAF_HOLD_US, 2 * UAF_HOLD_US);
		ret = guestgate_unregister_guest_info_callbacks(&uaf_set);
		/* Freed at once: no hook may run on it any more. */
		kfree(obj);
		/* Orders the kfree() before a reader's last read. */
		smp_store_release(&uaf_frees, uaf_frees + 1);
		return ret;
	}
}

/* The sign of the planted bug of @mode was seen. */
static bool bug_seen(void)
{
	switch (mode) {
	case GG_STRESS_NAIVE:
		return atomic64_read(&res.torn);
	case GG_STRESS_UAF_NO_RCU_WAIT:
		return atomic64_read(&res.uaf_hits);
	default:
		return false;
	}
}

int gg_stress_perf_run(enum gg_stress_mode run_mode, unsigned int switches,
		       unsigned int seconds, struct gg_stress_result *out)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.sample_period = 100 * NSEC_PER_USEC,
		.pinned = 1,
	};
	unsigned long start, deadline, iter = 0;
	int cpu, ret;

	if (run_mode == GG_STRESS_UAF_NO_RCU_WAIT && !IS_ENABLED(CONFIG_KUNIT))
		return -EOPNOTSUPP;
	mode = run_mode;
	memset(&res, 0, sizeof(res));
	res.mode = mode;
	res.max_switches = switches;
	res.max_seconds = seconds;
	for_each_possible_cpu(cpu)
		atomic_set(per_cpu_ptr(&nmi_pending, cpu), 0);

	ret = register_nmi_handler(NMI_LOCAL, stress_nmi, 0, "gg_stress");
	if (ret)
		return ret;
	if (IS_ENABLED(CONFIG_KUNIT) && mode == GG_STRESS_UAF_NO_RCU_WAIT)
		guestgate_rs_perf_skip_rcu_wait(true);

	cpus_read_lock();
	WRITE_ONCE(running, true);
	for_each_online_cpu(cpu) {
		events[cpu] = perf_event_create_kernel_counter(&attr, cpu, NULL,
							       stress_hrtimer,
							       NULL);
		if (IS_ERR(events[cpu])) {
			ret = PTR_ERR(events[cpu]);
			events[cpu] = NULL;
			goto stop;
		}
		tasks[cpu] = kthread_create_on_cpu(stress_task, NULL, cpu,
						   "gg_stress/%u");
		if (IS_ERR(tasks[cpu])) {
			ret = PTR_ERR(tasks[cpu]);
			tasks[cpu] = NULL;
			goto stop;
		}
		wake_up_process(tasks[cpu]);
	}

	/* The writer takes cpu_hotplug_lock inside guestgate's mutex. */
	cpus_read_unlock();

	start = jiffies;
	deadline = start + seconds * HZ;
	while (res.switches < switches && !bug_seen()) {
		if (!time_before(jiffies, deadline)) {
			res.timed_out = true;
			break;
		}
		ret = writer_step(iter++);
		if (ret)
			break;
		res.switches++;
		cond_resched();
	}
	res.msecs = jiffies_to_msecs(jiffies - start);

	cpus_read_lock();
stop:
	WRITE_ONCE(running, false);
	for_each_possible_cpu(cpu) {
		if (tasks[cpu])
			kthread_stop(tasks[cpu]);
		if (events[cpu])
			perf_event_release_kernel(events[cpu]);
		tasks[cpu] = NULL;
		events[cpu] = NULL;
	}
	cpus_read_unlock();
	if (IS_ENABLED(CONFIG_KUNIT) && mode == GG_STRESS_UAF_NO_RCU_WAIT)
		guestgate_rs_perf_skip_rcu_wait(false);
	/*
	 * Let the NMIs in flight arrive before the handler goes, or they would
	 * be unknown NMIs. Two NMIs sent close together may arrive as one: after
	 * a while, what is still pending never comes.
	 */
	for_each_possible_cpu(cpu) {
		unsigned long until = jiffies + HZ / 10;

		while (atomic_read(per_cpu_ptr(&nmi_pending, cpu)) > 0 &&
		       time_before(jiffies, until))
			usleep_range(1000, 2000);
		res.nmis_lost += atomic_xchg(per_cpu_ptr(&nmi_pending, cpu), 0);
	}
	unregister_nmi_handler(NMI_LOCAL, "gg_stress");
	*out = res;
	return ret;
}

#define BENCH_CALLS	100000
#define BENCH_RUNS	7

int gg_stress_perf_bench(u64 cycles[GG_BENCH_NR_KINDS])
{
	unsigned long flags;
	u64 c, best;
	int kind, run, ret = 0;

	if (!IS_ENABLED(CONFIG_KUNIT))
		return -EOPNOTSUPP;
	for (kind = 0; kind < GG_BENCH_NR_KINDS; kind++) {
		best = U64_MAX;
		for (run = 0; run < BENCH_RUNS && !ret; run++) {
			/* Kind 1 registers, which sleeps: interrupts stay on. */
			if (kind != 1)
				local_irq_save(flags);
			ret = guestgate_rs_perf_bench(kind, BENCH_CALLS, &c);
			if (kind != 1)
				local_irq_restore(flags);
			best = min(best, c);
			cond_resched();
		}
		if (ret)
			return ret;
		cycles[kind] = div_u64(best * 1000, BENCH_CALLS);
	}
	return 0;
}
