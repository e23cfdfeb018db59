// SPDX-License-Identifier: GPL-2.0
/*
 * Stress of the perf guest-info callbacks: torn reads and use after
 * unregister.
 *
 * A writer (the task that starts the run) registers and unregisters sets of
 * callbacks in a loop while readers on every CPU run reading sections in
 * three contexts: NMI (NMI IPIs sent by the task readers to the other CPUs),
 * the hrtimer interrupt of a perf cpu-clock event, and tasks with preemption
 * disabled. A section asks as a perf sample does: state(); if nonzero,
 * get_ip() and handle_mediated_pmi(); handle_intel_pt_intr() (which asks
 * state() again); state() once more. It checks that every answer was for
 * the same set, or all for none.
 *
 * Modes (debugfs guestgate_test/perf, "MODE SWITCHES SECONDS"):
 * - torn: two sets through guestgate. Torn sections must be 0.
 * - torn_no_gate: the same through guestgate's switch without its gates
 *   (CONFIG_KUNIT fault injection): each hook patched straight from one
 *   answer to the other. Torn sections must be seen.
 * - naive: two sets through four static calls of this module switched one by
 *   one, as upstream 6.12 does (state first, no grace period between the
 *   hooks). Torn sections must be seen: the check can see the bug.
 * - uaf: one set whose hooks read a kmalloc'd object that the writer frees
 *   right after each unregister. No hook may see its object freed under it
 *   (uaf_hits), and KASAN must stay silent.
 * - uaf_no_rcu_wait: the same, with unregister's waits for readers switched
 *   off (CONFIG_KUNIT fault injection). A hook sees its object freed and
 *   reads it: KASAN must report the use after free.
 * - samples, samples_no_gate: no readers here; the readers are real perf
 *   samples that the kselftest takes and checks. One set, whose state() is
 *   nonzero on the odd-numbered CPUs only, registered and unregistered
 *   through guestgate's switch, with or without its gates.
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
#include <linux/ktime.h>
#include <linux/kthread.h>
#include <linux/perf_event.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include "guestgate_test.h"
#include "test_hooks.h"

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
 * to free the object, and a missing wait went unseen for hundreds of
 * unregisters.
 */
#define UAF_LINGER_NS	(300 * NSEC_PER_MSEC)
#define UAF_HOLD_US	5000
#define SAMPLES_HOLD_US	10000
#define SAMPLES_LINGER_NS	(2 * NSEC_PER_MSEC)

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
 * takes a while, so that an unregister that does not wait for every CPU
 * lets the object be freed under it.
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
	 * UAF_LINGER_NS passed), then read it again. As unregister waits for
	 * every CPU, the writer cannot free it before this hook returned, and
	 * this waits out the linger; without the wait, this read is a use
	 * after free.
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

/*
 * The samples modes' set: a guest on the odd-numbered CPUs. While the
 * writer unregisters it, its get_ip() takes its time in every sample (up to
 * SAMPLES_LINGER_NS), so that the CPUs of the guest spend the switch inside
 * samples, between their first and their last call of state(): a switch
 * that patches state() from one answer to another must meet one there.
 */
static bool samples_switching;

static unsigned int samples_state(void)
{
	return smp_processor_id() & 1 ? PERF_GUEST_ACTIVE : 0;
}

static unsigned long samples_get_ip(void)
{
	u64 until;

	if (in_hardirq() && READ_ONCE(samples_switching)) {
		until = ktime_get_ns() + SAMPLES_LINGER_NS;
		while (READ_ONCE(samples_switching) && ktime_get_ns() < until)
			cpu_relax();
	}
	return GG_SAMPLES_GUEST_IP;
}

static const struct guestgate_guest_info_callbacks samples_set = {
	.state = samples_state,
	.get_ip = samples_get_ip,
};

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

/*
 * One section, as perf asks for one sample: state() for the IP, the PT
 * handler (which asks state() itself), state() again for the misc flags.
 */
static void section(unsigned int ctx)
{
	unsigned int state, again, id, pt, pmi;
	unsigned long ip = 0;

	this_cpu_write(pmi_seen[ctx], 0);
	if (mode == GG_STRESS_NAIVE) {
		state = static_call(naive_state)();
		if (state) {
			ip = static_call(naive_get_ip)();
			static_call(naive_pmi)();
		}
		pt = static_call(naive_state)() ? static_call(naive_pt)() : 0;
		again = static_call(naive_state)();
	} else {
		state = guestgate_guest_state();
		if (state) {
			ip = guestgate_guest_get_ip();
			guestgate_guest_handle_mediated_pmi();
		}
		pt = guestgate_guest_handle_intel_pt_intr();
		again = guestgate_guest_state();
	}
	pmi = this_cpu_read(pmi_seen[ctx]);
	atomic64_inc(&res.sections[ctx]);
	if (!state && !again && !pt && !pmi)
		return;
	id = SET_OF(state);
	if (state)
		atomic64_inc(&res.guest_sections);
	if (!state || again != state || ip != SET_IP(id) || pt != id || pmi != id)
		atomic64_inc(&res.torn);
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
	case GG_STRESS_TORN_NO_GATE:
		ret = guestgate_register_guest_info_callbacks(cbs);
		if (ret)
			return ret;
		return guestgate_unregister_guest_info_callbacks(cbs);
	case GG_STRESS_SAMPLES:
	case GG_STRESS_SAMPLES_NO_GATE:
		/* A while each way, for samples to be taken in both. */
		ret = guestgate_register_guest_info_callbacks(&samples_set);
		if (ret)
			return ret;
		usleep_range(SAMPLES_HOLD_US, 2 * SAMPLES_HOLD_US);
		WRITE_ONCE(samples_switching, true);
		ret = guestgate_unregister_guest_info_callbacks(&samples_set);
		WRITE_ONCE(samples_switching, false);
		usleep_range(SAMPLES_HOLD_US, 2 * SAMPLES_HOLD_US);
		return ret;
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
	case GG_STRESS_TORN_NO_GATE:
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
	enum guestgate_perf_fault fault = GUESTGATE_PERF_FAULT_NONE;
	unsigned long start, deadline, iter = 0;
	bool readers = true;
	int cpu, ret;

	switch (run_mode) {
	case GG_STRESS_UAF_NO_RCU_WAIT:
		fault = GUESTGATE_PERF_FAULT_NO_WAIT;
		break;
	case GG_STRESS_TORN_NO_GATE:
		fault = GUESTGATE_PERF_FAULT_NO_GATE;
		break;
	case GG_STRESS_SAMPLES_NO_GATE:
		fault = GUESTGATE_PERF_FAULT_NO_GATE;
		fallthrough;
	case GG_STRESS_SAMPLES:
		readers = false;
		break;
	default:
		break;
	}
	if (fault != GUESTGATE_PERF_FAULT_NONE && !IS_ENABLED(CONFIG_KUNIT))
		return -EOPNOTSUPP;
	mode = run_mode;
	memset(&res, 0, sizeof(res));
	res.mode = mode;
	res.max_switches = switches;
	res.max_seconds = seconds;
	for_each_possible_cpu(cpu)
		atomic_set(per_cpu_ptr(&nmi_pending, cpu), 0);

	/* -EBUSY while a set (the sample's toy) is registered. */
	if (IS_ENABLED(CONFIG_KUNIT)) {
		ret = guestgate_rs_perf_fault(fault);
		if (ret)
			return ret;
	}
	ret = register_nmi_handler(NMI_LOCAL, stress_nmi, 0, "gg_stress");
	if (ret)
		goto out_fault;

	cpus_read_lock();
	WRITE_ONCE(running, true);
	for_each_online_cpu(cpu) {
		if (!readers)
			break;
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
out_fault:
	if (IS_ENABLED(CONFIG_KUNIT))
		guestgate_rs_perf_fault(GUESTGATE_PERF_FAULT_NONE);
	*out = res;
	return ret;
}

#define BENCH_CALLS	100000
#define BENCH_RUNS	7

/* One batch of BENCH_CALLS dispatches of @kind, see guestgate_rs_perf_bench(). */
static s64 gg_perf_bench_batch(void *unused, unsigned int kind)
{
	unsigned long flags;
	u64 c;
	int ret;

	/* Kind 1 registers, which sleeps: interrupts stay on. */
	if (kind != 1)
		local_irq_save(flags);
	ret = guestgate_rs_perf_bench(kind, BENCH_CALLS, &c);
	if (kind != 1)
		local_irq_restore(flags);
	return ret ?: c;
}

int gg_stress_perf_bench(u64 cycles[GG_BENCH_NR_KINDS])
{
	int kind, ret;

	if (!IS_ENABLED(CONFIG_KUNIT))
		return -EOPNOTSUPP;
	ret = gg_test_best_of(gg_perf_bench_batch, NULL, GG_BENCH_NR_KINDS,
			      BENCH_RUNS, cycles);
	if (ret)
		return ret;
	for (kind = 0; kind < GG_BENCH_NR_KINDS; kind++)
		cycles[kind] = div_u64(cycles[kind] * 1000, BENCH_CALLS);
	return 0;
}
