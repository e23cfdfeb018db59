/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the guest entry suites: guestgate_guest_entry (correct use, in
 * guestgate_kunit.ko) and guestgate_guest_entry_misuse (one case per misuse
 * rule, in guestgate_misuse_kunit.ko, run in the canary phase because it
 * fires the rules' WARNs).
 *
 * A case is a table of steps: guest entry calls and interrupt switches,
 * each with the view of the CPU it must leave behind. The steps run in one
 * noinstr function, which samples the view after each of them: between
 * context enter and context exit RCU is not watching on a nohz_full CPU,
 * so nothing instrumented may run there, KUnit's expectations included.
 * The views are checked afterwards. Each case runs its table on the CPUs it
 * selects, pinned there, with an mm in use (context tracking warns when a
 * task without one enters guest mode, and KUnit runs cases in kthreads).
 */
#ifndef _GUEST_ENTRY_KUNIT_H
#define _GUEST_ENTRY_KUNIT_H

#include <kunit/test.h>
#include <linux/bitops.h>
#include <linux/context_tracking.h>
#include <linux/cpumask.h>
#include <linux/guestgate.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "guest_entry_shim.h"

/* What a step does. */
enum gg_entry_op {
	GG_OP_END,		/* after the last step of a table */
	GG_OP_IRQS_OFF,		/* local_irq_disable() */
	GG_OP_IRQS_ON,		/* local_irq_enable() */
	GG_OP_RAW_IRQS_ON,	/* raw_local_irq_enable(): lockdep is not told */
	GG_OP_TIMING_ENTER,
	GG_OP_TIMING_EXIT,
	GG_OP_CONTEXT_ENTER,
	GG_OP_CONTEXT_EXIT,
	GG_OP_STATE_ENTER,
	GG_OP_STATE_EXIT,
	GG_OP_TO_GUEST_MODE,	/* exit_to_guest_mode() */
	GG_OP_FROM_GUEST_MODE,	/* enter_from_guest_mode() */
	GG_NR_OPS,
};

static const char * const gg_entry_op_name[GG_NR_OPS] = {
	[GG_OP_END] = "nothing",
	[GG_OP_IRQS_OFF] = "local_irq_disable",
	[GG_OP_IRQS_ON] = "local_irq_enable",
	[GG_OP_RAW_IRQS_ON] = "raw_local_irq_enable",
	[GG_OP_TIMING_ENTER] = "timing_enter",
	[GG_OP_TIMING_EXIT] = "timing_exit",
	[GG_OP_CONTEXT_ENTER] = "context_enter",
	[GG_OP_CONTEXT_EXIT] = "context_exit",
	[GG_OP_STATE_ENTER] = "state_enter",
	[GG_OP_STATE_EXIT] = "state_exit",
	[GG_OP_TO_GUEST_MODE] = "exit_to_guest_mode",
	[GG_OP_FROM_GUEST_MODE] = "enter_from_guest_mode",
};

/* The view of a CPU, beside its enum guestgate_entry_state. */
#define GG_VCPU		BIT(0)	/* current has PF_VCPU */
#define GG_EQS		BIT(1)	/* RCU is not watching this CPU */
#define GG_IRQS		BIT(2)	/* interrupts are enabled */
#define GG_LOCKDEP	BIT(3)	/* lockdep believes they are */
#define GG_NR_FLAGS	4

static const char * const gg_entry_flag_name[GG_NR_FLAGS] = {
	"PF_VCPU", "RCU not watching", "interrupts enabled",
	"lockdep_hardirqs_enabled()",
};

/**
 * struct gg_entry_step - One step of a case and the view it leaves.
 * @op: enum gg_entry_op.
 * @state: The enum guestgate_entry_state of the CPU after it.
 * @flags: GG_* after it. GG_EQS is expected only on a CPU where context
 *         tracking is active (nohz_full): elsewhere RCU keeps watching in
 *         guest mode.
 */
struct gg_entry_step {
	u8 op;
	u8 state;
	u8 flags;
};

#define GG_STEP(_op, _state, _flags) \
	{ .op = GG_OP_##_op, .state = GUESTGATE_ENTRY_##_state, .flags = (_flags) }

/* Where every case starts and ends: idle, interrupts on, lockdep agrees. */
#define GG_START_FLAGS	(GG_IRQS | GG_LOCKDEP)
/* Interrupts off, as lockdep knows; RCU watches. */
#define GG_OFF		0
/* Guest timing entered, interrupts off. */
#define GG_TIMED	GG_VCPU
/* The same with interrupts on: the guest's interrupts are being taken. */
#define GG_TIMED_IRQS	(GG_VCPU | GG_IRQS | GG_LOCKDEP)
/*
 * State entered: RCU does not watch (on a nohz_full CPU); interrupts are
 * still off, but lockdep is told they are on, as the guest runs with them
 * on.
 */
#define GG_IN_STATE	(GG_VCPU | GG_EQS | GG_LOCKDEP)
/* Context entered: lockdep is not told. */
#define GG_IN_CONTEXT	(GG_VCPU | GG_EQS)

#define GG_MAX_STEPS	24

/* Which CPUs a case runs on. */
enum gg_entry_cpus {
	GG_CPUS_ALL,
	GG_CPUS_EQS,	/* context tracking active: guest mode is an RCU EQS */
	GG_CPUS_NO_EQS,	/* context tracking not active: RCU keeps watching */
};

/**
 * struct gg_entry_case - A table of steps and what it must count.
 * @cpus: enum gg_entry_cpus.
 * @delta: The change of each counter of guestgate_entry_stats() that one
 *         run of the steps must make; every counter not named stays.
 * @steps: The steps, in order, up to the first GG_OP_END.
 * @no_mm: Run the steps in a kernel thread without an mm (every other case
 *         adopts one: guest mode needs it).
 */
struct gg_entry_case {
	enum gg_entry_cpus cpus;
	bool no_mm;
	struct guestgate_entry_stats delta;
	struct gg_entry_step steps[GG_MAX_STEPS];
};

/**
 * struct gg_entry_test - Per-case data of the guest entry suites.
 * @mm: The mm the case's kthread uses while it enters guest mode.
 * @cpus: The kthread's affinity, restored after the case pinned it.
 * @no_mm: gg_entry_on_cpus() does not use @mm (struct gg_entry_case).
 */
struct gg_entry_test {
	struct mm_struct *mm;
	struct cpumask *cpus;
	bool no_mm;
};

/* The view of this CPU; inlined into noinstr code, so also in guest mode. */
static __always_inline void gg_entry_view(u8 *state, u8 *flags)
{
	u8 f = 0;

	if (current->flags & PF_VCPU)
		f |= GG_VCPU;
	if (!rcu_is_watching_curr_cpu())
		f |= GG_EQS;
	if (!raw_irqs_disabled())
		f |= GG_IRQS;
	if (lockdep_hardirqs_enabled())
		f |= GG_LOCKDEP;
	*state = guestgate_entry_cpu_state();
	*flags = f;
}

/*
 * Runs @n steps and samples the view before the first (index 0) and after
 * each (index i + 1). Noinstr: only noinstr code runs here, except the
 * lockdep-told interrupt switches, which the tables do only where RCU
 * watches. rcu_is_watching() is notrace but not noinstr in 6.12, hence
 * rcu_is_watching_curr_cpu() in gg_entry_view().
 */
static noinstr void gg_entry_run_steps(const struct gg_entry_step *steps,
				       unsigned int n, u8 *state, u8 *flags)
{
	unsigned int i;

	gg_entry_view(&state[0], &flags[0]);
	for (i = 0; i < n; i++) {
		switch (steps[i].op) {
		case GG_OP_IRQS_OFF:
			instrumentation_begin();
			local_irq_disable();
			instrumentation_end();
			break;
		case GG_OP_IRQS_ON:
			instrumentation_begin();
			local_irq_enable();
			instrumentation_end();
			break;
		case GG_OP_RAW_IRQS_ON:
			raw_local_irq_enable();
			break;
		case GG_OP_TIMING_ENTER:
			guestgate_timing_enter_irqoff();
			break;
		case GG_OP_TIMING_EXIT:
			guestgate_timing_exit_irqoff();
			break;
		case GG_OP_CONTEXT_ENTER:
			guestgate_context_enter_irqoff();
			break;
		case GG_OP_CONTEXT_EXIT:
			guestgate_context_exit_irqoff();
			break;
		case GG_OP_STATE_ENTER:
			guestgate_state_enter_irqoff();
			break;
		case GG_OP_STATE_EXIT:
			guestgate_state_exit_irqoff();
			break;
		case GG_OP_TO_GUEST_MODE:
			exit_to_guest_mode();
			break;
		case GG_OP_FROM_GUEST_MODE:
			enter_from_guest_mode();
			break;
		}
		gg_entry_view(&state[i + 1], &flags[i + 1]);
	}
}

static inline unsigned int gg_entry_nr_steps(const struct gg_entry_case *c)
{
	unsigned int n = 0;

	while (n < GG_MAX_STEPS && c->steps[n].op != GG_OP_END)
		n++;
	return n;
}

static inline bool gg_entry_cpu_selected(enum gg_entry_cpus which,
					 unsigned int cpu)
{
	switch (which) {
	case GG_CPUS_EQS:
		return context_tracking_enabled_cpu(cpu);
	case GG_CPUS_NO_EQS:
		return !context_tracking_enabled_cpu(cpu);
	default:
		return true;
	}
}

/* What gg_entry_on_cpus() runs on a CPU. */
typedef void gg_entry_cpu_fn(struct kunit *test, unsigned int cpu,
			     const void *arg);

/**
 * gg_entry_on_cpus() - Run a function on each selected online CPU.
 * @test: The running case.
 * @which: enum gg_entry_cpus.
 * @fn: Called pinned to @cpu, with an mm in use unless the case says
 *      no_mm. It must not abort (no KUNIT_ASSERT_*()): the mm is released
 *      after it, by this kthread.
 * @arg: Passed to @fn.
 *
 * The CPUs where guest mode is an RCU extended quiescent state come first,
 * so that the one-time warnings of the misuse suite fire there, where a
 * warning found in the guest window must wait for the exit. Skips the case
 * if no online CPU is selected.
 */
static inline void gg_entry_on_cpus(struct kunit *test,
				    enum gg_entry_cpus which,
				    gg_entry_cpu_fn *fn, const void *arg)
{
	struct gg_entry_test *ctx = test->priv;
	unsigned int cpu, ran = 0;
	int eqs;

	cpumask_copy(ctx->cpus, current->cpus_ptr);
	if (!ctx->no_mm)
		kthread_use_mm(ctx->mm);
	for (eqs = 1; eqs >= 0; eqs--) {
		for_each_online_cpu(cpu) {
			if (context_tracking_enabled_cpu(cpu) != eqs ||
			    !gg_entry_cpu_selected(which, cpu))
				continue;
			if (set_cpus_allowed_ptr(current, cpumask_of(cpu))) {
				KUNIT_FAIL(test, "cannot move to cpu%u", cpu);
				continue;
			}
			fn(test, cpu, arg);
			ran++;
		}
	}
	KUNIT_EXPECT_EQ(test, set_cpus_allowed_ptr(current, ctx->cpus), 0);
	if (!ctx->no_mm)
		kthread_unuse_mm(ctx->mm);
	if (!ran)
		kunit_skip(test, "no online CPU %s",
			   which == GG_CPUS_EQS ? "with context tracking active (nohz_full)" :
			   "without context tracking active");
}

static inline void gg_entry_expect_view(struct kunit *test, unsigned int cpu,
					unsigned int i, const char *after,
					u8 state, u8 flags, u8 want_state,
					u8 want_flags)
{
	unsigned int f;
	bool got, want;

	if (!context_tracking_enabled_cpu(cpu))
		want_flags &= ~GG_EQS;
	KUNIT_EXPECT_EQ_MSG(test, state, want_state,
			    "cpu%u, step %u (after %s): guest entry state",
			    cpu, i, after);
	for (f = 0; f < GG_NR_FLAGS; f++) {
		got = flags & BIT(f);
		want = want_flags & BIT(f);
		KUNIT_EXPECT_EQ_MSG(test, got, want,
				    "cpu%u, step %u (after %s): %s", cpu, i,
				    after, gg_entry_flag_name[f]);
	}
}

static inline void gg_entry_expect_delta(struct kunit *test, unsigned int cpu,
					 const struct guestgate_entry_stats *before,
					 const struct guestgate_entry_stats *after,
					 const struct guestgate_entry_stats *want)
{
	unsigned int i;

	KUNIT_EXPECT_EQ_MSG(test, after->timing_enters - before->timing_enters,
			    want->timing_enters, "cpu%u: timing enters", cpu);
	KUNIT_EXPECT_EQ_MSG(test, after->timing_exits - before->timing_exits,
			    want->timing_exits, "cpu%u: timing exits", cpu);
	KUNIT_EXPECT_EQ_MSG(test, after->guest_enters - before->guest_enters,
			    want->guest_enters, "cpu%u: guest enters", cpu);
	KUNIT_EXPECT_EQ_MSG(test, after->guest_exits - before->guest_exits,
			    want->guest_exits, "cpu%u: guest exits", cpu);
	for (i = 0; i < GUESTGATE_ENTRY_NR_MISUSE; i++)
		KUNIT_EXPECT_EQ_MSG(test, after->misuse[i] - before->misuse[i],
				    want->misuse[i], "cpu%u: misuse %s", cpu,
				    guestgate_entry_misuse_name(i));
}

/* Runs a case's steps on @cpu (pinned) and checks views and counters. */
static inline void gg_entry_run_on(struct kunit *test, unsigned int cpu,
				   const void *arg)
{
	const struct gg_entry_case *c = arg;
	unsigned int i, on, n = gg_entry_nr_steps(c);
	struct guestgate_entry_stats before, after;
	u8 state[GG_MAX_STEPS + 1], flags[GG_MAX_STEPS + 1];

	guestgate_entry_stats(&before);
	preempt_disable();
	on = smp_processor_id();
	gg_entry_run_steps(c->steps, n, state, flags);
	preempt_enable();
	guestgate_entry_stats(&after);

	KUNIT_EXPECT_EQ(test, on, cpu);
	gg_entry_expect_view(test, cpu, 0, "nothing", state[0], flags[0],
			     GUESTGATE_ENTRY_IDLE, GG_START_FLAGS);
	for (i = 0; i < n; i++)
		gg_entry_expect_view(test, cpu, i + 1,
				     gg_entry_op_name[c->steps[i].op],
				     state[i + 1], flags[i + 1],
				     c->steps[i].state, c->steps[i].flags);
	gg_entry_expect_delta(test, cpu, &before, &after, &c->delta);
}

/**
 * gg_entry_run_case() - Run a case on the CPUs it selects.
 * @test: The running case.
 * @c: The case.
 *
 * Besides each step's view and the counters, checks that the table ends
 * where it starts (idle, interrupts on, nothing entered), that no misuse
 * warning fired unless the case counts that misuse, and that every misuse
 * it counts was warned about (once per rule and module load).
 */
static inline void gg_entry_run_case(struct kunit *test,
				     const struct gg_entry_case *c)
{
	struct gg_entry_test *ctx = test->priv;
	unsigned int i, n = gg_entry_nr_steps(c);
	unsigned long warned = guestgate_entry_warned();
	unsigned long counted = 0;

	KUNIT_ASSERT_GE(test, n, 1);
	KUNIT_ASSERT_EQ(test, c->steps[n - 1].state, GUESTGATE_ENTRY_IDLE);
	KUNIT_ASSERT_EQ(test, c->steps[n - 1].flags, GG_START_FLAGS);
	for (i = 0; i < GUESTGATE_ENTRY_NR_MISUSE; i++)
		if (c->delta.misuse[i])
			counted |= BIT(i);

	ctx->no_mm = c->no_mm;
	gg_entry_on_cpus(test, c->cpus, gg_entry_run_on, c);
	ctx->no_mm = false;

	KUNIT_EXPECT_EQ_MSG(test, guestgate_entry_warned() & counted, counted,
			    "every misuse counted was warned about");
	KUNIT_EXPECT_EQ_MSG(test, guestgate_entry_warned() & ~counted,
			    warned & ~counted, "no other misuse warned about");
}

static inline int gg_entry_test_init(struct kunit *test)
{
	struct gg_entry_test *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->cpus = kunit_kzalloc(test, cpumask_size(), GFP_KERNEL);
	if (!ctx->cpus)
		return -ENOMEM;
	/* Used and unused by the case itself: exit runs in another kthread. */
	ctx->mm = mm_alloc();
	if (!ctx->mm)
		return -ENOMEM;
	test->priv = ctx;
	return 0;
}

static inline void gg_entry_test_exit(struct kunit *test)
{
	struct gg_entry_test *ctx = test->priv;

	if (ctx)
		mmput(ctx->mm);
}

#endif /* _GUEST_ENTRY_KUNIT_H */
