// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the sections of op groups, their switch point and their
 * patching (op_group.rs has the switch's order, its checks and its
 * bookkeeping).
 *
 * A CPU's sections of a group run the active implementation, which does
 * not change while one is under way: the first (outermost) section_begin()
 * of the CPU marks it busy (@nest); nested sections, in the same context or
 * in a hardirq or NMI that came meanwhile, join it. The switch point makes
 * the generation odd, so that no outermost section begins, waits until no
 * CPU is busy, asks the implementation, publishes the new one and makes
 * the generation even again: no section began before it and ended after
 * it.
 *
 * Ordering: section_begin() writes @nest, then (a full barrier) reads
 * @gen; the switch writes @gen, then (a full barrier) reads each @nest.
 * Either the switch sees the CPU busy and waits for it, or the section
 * sees the odd generation, unmarks itself and waits for the even one.
 * No IPI is sent while sections wait with interrupts disabled: the switch
 * point only reads other CPUs' memory, and static_call_update() (whose
 * text_poke_bp() needs every CPU to take an IPI) runs before it and after
 * it, never inside it, and never under stop_machine.
 *
 * An implicit group has no marks and no switch point: each CPU moves its
 * own sections to the new implementation (@pinned) in a work item, which
 * runs in task context on that CPU, so never inside one of its sections
 * (every section runs with preemption disabled, in a hardirq or in an
 * NMI, and ends before the CPU schedules or returns to the task it
 * interrupted).
 */
#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/cleanup.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/processor.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/static_call.h>
#include <linux/time64.h>
#include <linux/workqueue.h>
#include <kunit/visibility.h>

#include "op_group_shim.h"
#include "test_hooks.h"

/* How long the switch point waits for a section to end. */
#define GUESTGATE_OP_GROUP_DRAIN_NS	NSEC_PER_SEC

/* guestgate_op_group_register() is defined in op_group.rs. */
EXPORT_SYMBOL_GPL(guestgate_op_group_register);
/* guestgate_op_group_unregister() is defined in op_group.rs. */
EXPORT_SYMBOL_GPL(guestgate_op_group_unregister);
/* guestgate_op_group_switch() is defined in op_group.rs. */
EXPORT_SYMBOL_GPL(guestgate_op_group_switch);

static DEFINE_MUTEX(guestgate_op_group_mutex);
static LIST_HEAD(guestgate_op_groups);

void guestgate_op_group_lock(void)
{
	mutex_lock(&guestgate_op_group_mutex);
}

void guestgate_op_group_unlock(void)
{
	mutex_unlock(&guestgate_op_group_mutex);
}

bool guestgate_op_group_section_begin(struct guestgate_op_group *grp)
{
	struct guestgate_op_group_cpu *pc;
	unsigned long flags, gen;

	preempt_disable();
	pc = this_cpu_ptr(grp->cpu);
	if (pc->nest) {
		/*
		 * Join the CPU's section. An NMI may have come in the outer
		 * section's window between marking the CPU and checking the
		 * generation: it cannot tell, and refuses if a switch began
		 * since the outer section read the generation.
		 */
		if (in_nmi()) {
			/* The mark it may have interrupted, before the read. */
			smp_mb();
			if (READ_ONCE(grp->gen) != pc->pinned_gen)
				goto refused;
		}
		WRITE_ONCE(pc->nest, pc->nest + 1);
		return true;
	}
	/*
	 * No interrupt may join before the generation is checked. Raw: a few
	 * instructions that take no lock, from any context, NMI included;
	 * lockdep's tracing of the flags would cost more than the section.
	 */
	raw_local_irq_save(flags);
	for (;;) {
		/* Pairs with the release that ends a switch: its @active. */
		gen = smp_load_acquire(&grp->gen);
		if (gen & 1) {
			raw_local_irq_restore(flags);
			if (in_nmi())
				goto refused;
			/* Not marked: interrupts may come, and wait too. */
			cpu_relax();
			raw_local_irq_save(flags);
			continue;
		}
		pc->pinned_gen = gen;
		/* Mark, then re-read @gen: pairs with the switch's smp_mb(). */
		smp_store_mb(pc->nest, 1);
		if (READ_ONCE(grp->gen) == gen)
			break;
		/* A switch began: it may have missed the mark, or not. */
		WRITE_ONCE(pc->nest, 0);
	}
	raw_local_irq_restore(flags);
	return true;

refused:
	atomic64_inc(&grp->nmi_refused);
	preempt_enable();
	return false;
}
EXPORT_SYMBOL_GPL(guestgate_op_group_section_begin);

void guestgate_op_group_section_end(struct guestgate_op_group *grp)
{
	/* Raw: a caller's bug below may come with preemption enabled. */
	struct guestgate_op_group_cpu *pc = raw_cpu_ptr(grp->cpu);

	/* No section to end (a caller's bug): counted, nothing undone. */
	if (unlikely(!pc->nest)) {
		atomic64_inc(&grp->outside);
		WARN_ONCE(1, "guestgate: op group section ended with none begun\n");
		return;
	}
	/* Every op call of the section comes before the CPU reads idle. */
	smp_store_release(&pc->nest, pc->nest - 1);
	preempt_enable();
}
EXPORT_SYMBOL_GPL(guestgate_op_group_section_end);

const void *guestgate_op_group_ops(struct guestgate_op_group *grp)
{
	struct guestgate_op_group_cpu *pc;

	if (grp->implicit) {
		/* The CPU's pin holds only between two schedules: a section. */
		WARN_ONCE(preemptible(),
			  "guestgate: implicit op group gate called with preemption enabled\n");
		return grp->impls[READ_ONCE(raw_cpu_ptr(grp->cpu)->pinned)].ops;
	}
	guard(preempt)();
	pc = this_cpu_ptr(grp->cpu);
	/*
	 * A section runs the implementation active when it began: the
	 * switch point waits it out before it changes @active.
	 */
	if (unlikely(!READ_ONCE(pc->nest))) {
		atomic64_inc(&grp->outside);
		WARN_ONCE(1, "guestgate: op group gate called outside any section\n");
	}
	return grp->impls[READ_ONCE(grp->active)].ops;
}
EXPORT_SYMBOL_GPL(guestgate_op_group_ops);

void guestgate_op_group_patch(struct guestgate_op_group *grp, unsigned int impl)
{
	unsigned int i;

	lockdep_assert_held(&guestgate_op_group_mutex);
	for (i = 0; i < grp->nr_ops; i++) {
		const struct guestgate_op *op = &grp->ops[i];
		void *fn = op->gate;

		if (impl != GUESTGATE_OP_GROUP_GATES)
			fn = *(void *const *)((const char *)grp->impls[impl].ops + op->offset);
		__static_call_update(op->key, op->tramp, fn);
	}
}

/* The active implementation's answer: 0, or -EBUSY. */
static int guestgate_op_group_ask(struct guestgate_op_group *grp, unsigned int to)
{
	const struct guestgate_op_impl *from = &grp->impls[grp->active];

	if (from->transfer)
		return from->transfer(grp->state, &grp->impls[to]);
	if (from->quiescent)
		return from->quiescent(grp->state, &grp->impls[to]) ? 0 : -EBUSY;
	return -EBUSY;
}

int guestgate_op_group_window(struct guestgate_op_group *grp, unsigned int to)
{
	unsigned long flags;
	u64 start, deadline;
	int cpu, ret;

	lockdep_assert_held(&guestgate_op_group_mutex);
	/*
	 * Interrupts off: a section begun by an interrupt on this CPU would
	 * wait for the switch it interrupted.
	 */
	local_irq_save(flags);
	start = local_clock();
	WRITE_ONCE(grp->gen, grp->gen + 1);
	/* Odd @gen, then read the marks: pairs with section_begin(). */
	smp_mb();
	deadline = start + GUESTGATE_OP_GROUP_DRAIN_NS;
	/* A CPU goes offline only outside its sections: its @nest is 0. */
	for_each_possible_cpu(cpu) {
		/* Pairs with section_end(): the section's accesses first. */
		while (smp_load_acquire(&per_cpu_ptr(grp->cpu, cpu)->nest)) {
			if (time_after64(local_clock(), deadline)) {
				ret = -ETIMEDOUT;
				goto out;
			}
			cpu_relax();
		}
	}
	ret = guestgate_op_group_ask(grp, to);
	if (!ret)
		WRITE_ONCE(grp->active, to);
	else if (ret != -EBUSY)
		ret = -EBUSY;
out:
	/* The new implementation, and the state it reads, before the gen. */
	smp_store_release(&grp->gen, grp->gen + 1);
	start = local_clock() - start;
	local_irq_restore(flags);
	grp->window_ns += start;
	grp->window_max_ns = max(grp->window_max_ns, start);
	return ret;
}

/* The implicit group whose sections guestgate_op_group_pin() moves. Lock held. */
static struct guestgate_op_group *guestgate_op_group_pin_grp;
static unsigned int guestgate_op_group_pin_impl;
static DEFINE_PER_CPU(struct work_struct, guestgate_op_group_pin_work);

static void guestgate_op_group_pin_fn(struct work_struct *work)
{
	struct guestgate_op_group *grp = guestgate_op_group_pin_grp;

	/* A bound workqueue, and hotplug held off: the work's own CPU. */
	WARN_ON_ONCE(work != this_cpu_ptr(&guestgate_op_group_pin_work));
	WRITE_ONCE(this_cpu_ptr(grp->cpu)->pinned, guestgate_op_group_pin_impl);
}

void guestgate_op_group_pin(struct guestgate_op_group *grp, unsigned int impl,
			    bool each_cpu)
{
	int cpu;

	lockdep_assert_held(&guestgate_op_group_mutex);
	guestgate_op_group_pin_grp = grp;
	guestgate_op_group_pin_impl = impl;
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		struct work_struct *work = per_cpu_ptr(&guestgate_op_group_pin_work, cpu);

		/* An offline CPU runs no section: its pin is written here. */
		if (!each_cpu || !cpu_online(cpu)) {
			WRITE_ONCE(per_cpu_ptr(grp->cpu, cpu)->pinned, impl);
			continue;
		}
		/* Queueing orders the implementation's ops before the work. */
		INIT_WORK(work, guestgate_op_group_pin_fn);
		WARN_ON_ONCE(!queue_work_on(cpu, system_highpri_wq, work));
	}
	if (each_cpu) {
		for_each_online_cpu(cpu)
			flush_work(per_cpu_ptr(&guestgate_op_group_pin_work, cpu));
	}
	/* Every CPU's sections run @impl: the group's answer says so too. */
	WRITE_ONCE(grp->active, impl);
	cpus_read_unlock();
}

bool guestgate_op_group_keys_taken(const struct guestgate_op_group *grp)
{
	const struct guestgate_op_group *other;
	unsigned int i, j;

	lockdep_assert_held(&guestgate_op_group_mutex);
	list_for_each_entry(other, &guestgate_op_groups, node)
		for (i = 0; i < grp->nr_ops; i++)
			for (j = 0; j < other->nr_ops; j++)
				if (grp->ops[i].key == other->ops[j].key)
					return true;
	return false;
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * The bench group (test_hooks.h): one op, two implementations that do
 * nothing, never switched by the benchmarks. Exported to guestgate_test.ko,
 * whose C callers' call sites of the op are patched as guestgate's own.
 */
noinline unsigned long guestgate_op_bench_a(unsigned long x)
{
	/* Opaque: the callers must use the value it returns. */
	OPTIMIZER_HIDE_VAR(x);
	return x;
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_op_bench_a);

static noinline unsigned long guestgate_op_bench_b(unsigned long x)
{
	OPTIMIZER_HIDE_VAR(x);
	return x + 1;
}

struct guestgate_op_bench_ops {
	unsigned long (*op)(unsigned long x);
};

static const struct guestgate_op_bench_ops guestgate_op_bench_ops_a = {
	.op = guestgate_op_bench_a,
};

static const struct guestgate_op_bench_ops guestgate_op_bench_ops_b = {
	.op = guestgate_op_bench_b,
};

DEFINE_STATIC_CALL(__guestgate_op_bench, guestgate_op_bench_a);
/*
 * With its key: a module's call sites of a trampoline alone cannot be
 * patched (the kernel looks keys up in vmlinux's table only).
 */
EXPORT_STATIC_CALL_GPL(__guestgate_op_bench);

static unsigned long guestgate_op_bench_gate(unsigned long x)
{
	const struct guestgate_op_bench_ops *ops =
		guestgate_op_group_ops(&guestgate_op_bench_group);

	return ops->op(x);
}

static const struct guestgate_op guestgate_op_bench_group_ops[] = {
	GUESTGATE_OP(__guestgate_op_bench, struct guestgate_op_bench_ops, op,
		     guestgate_op_bench_gate),
};

static bool guestgate_op_bench_quiescent(void *state, const struct guestgate_op_impl *to)
{
	return true;
}

static const struct guestgate_op_impl guestgate_op_bench_impls[] = {
	{ .name = "a", .ops = &guestgate_op_bench_ops_a,
	  .quiescent = guestgate_op_bench_quiescent },
	{ .name = "b", .ops = &guestgate_op_bench_ops_b,
	  .quiescent = guestgate_op_bench_quiescent },
};

DEFINE_GUESTGATE_OP_GROUP(guestgate_op_bench_group, guestgate_op_bench_group_ops,
			  guestgate_op_bench_impls, NULL);
/* guestgate_op_bench_group: for the C callers of guestgate_test.ko */
EXPORT_SYMBOL_IF_KUNIT(guestgate_op_bench_group);
#endif

/* guestgate_rs_op_group_bench(): benchmark of Rust callers, in op_group/bench.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_op_group_bench);
/* guestgate_kunit_op_group_rust(): a Rust KUnit case in op_group/kunit.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_op_group_rust);

void guestgate_op_group_list_add(struct guestgate_op_group *grp)
{
	lockdep_assert_held(&guestgate_op_group_mutex);
	list_add_tail(&grp->node, &guestgate_op_groups);
}

void guestgate_op_group_list_del(struct guestgate_op_group *grp)
{
	lockdep_assert_held(&guestgate_op_group_mutex);
	list_del(&grp->node);
}

int guestgate_op_groups_show(struct seq_file *m, void *unused)
{
	struct guestgate_op_group *grp;

	seq_puts(m, "group active switches refused timeouts switch_ns switch_max_ns ");
	seq_puts(m, "window_ns window_max_ns nmi_refused outside\n");
	mutex_lock(&guestgate_op_group_mutex);
	list_for_each_entry(grp, &guestgate_op_groups, node)
		seq_printf(m, "%s %s %llu %llu %llu %llu %llu %llu %llu %lld %lld\n", grp->name,
			   grp->impls[grp->active].name, grp->switches, grp->refused,
			   grp->timeouts, grp->switch_ns, grp->switch_max_ns, grp->window_ns,
			   grp->window_max_ns, atomic64_read(&grp->nmi_refused),
			   atomic64_read(&grp->outside));
	mutex_unlock(&guestgate_op_group_mutex);
	return 0;
}
