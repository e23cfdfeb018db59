// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_guest_entry: the guest entry and exit helpers of the C API used
 * as documented in <linux/guestgate.h>, on every online CPU: the per-CPU
 * state, PF_VCPU, whether RCU watches, the interrupt state and lockdep's
 * view of it after every step, and the counters. No rule is broken, so no
 * warning may fire (the misuse rules are guest_entry_misuse_kunit.c's).
 * Plus the Rust typestate API (rust/guest_entry.rs) on every CPU.
 */
#include <linux/guestgate.h>

#include "guest_entry_kunit.h"
#include "guestgate_kunit.h"

/* The documented order, entering with state enter/exit. */
static const struct gg_entry_case gg_state_case = {
	.cpus = GG_CPUS_ALL,
	.delta = {
		.timing_enters = 1,
		.timing_exits = 1,
		.guest_enters = 1,
		.guest_exits = 1,
	},
	.steps = {
		GG_STEP(IRQS_OFF, IDLE, GG_OFF),
		GG_STEP(TIMING_ENTER, TIMING, GG_TIMED),
		GG_STEP(STATE_ENTER, STATE, GG_IN_STATE),
		GG_STEP(STATE_EXIT, TIMING, GG_TIMED),
		/* The guest's interrupts are taken while timing still counts. */
		GG_STEP(IRQS_ON, TIMING, GG_TIMED_IRQS),
		GG_STEP(IRQS_OFF, TIMING, GG_TIMED),
		GG_STEP(TIMING_EXIT, IDLE, GG_OFF),
		GG_STEP(IRQS_ON, IDLE, GG_START_FLAGS),
	},
};

static void guestgate_entry_state_sequence(struct kunit *test)
{
	gg_entry_run_case(test, &gg_state_case);
}

/* The same with context enter/exit, which do not tell lockdep. */
static const struct gg_entry_case gg_context_case = {
	.cpus = GG_CPUS_ALL,
	.delta = {
		.timing_enters = 1,
		.timing_exits = 1,
		.guest_enters = 1,
		.guest_exits = 1,
	},
	.steps = {
		GG_STEP(IRQS_OFF, IDLE, GG_OFF),
		GG_STEP(TIMING_ENTER, TIMING, GG_TIMED),
		GG_STEP(CONTEXT_ENTER, CONTEXT, GG_IN_CONTEXT),
		GG_STEP(CONTEXT_EXIT, TIMING, GG_TIMED),
		GG_STEP(IRQS_ON, TIMING, GG_TIMED_IRQS),
		GG_STEP(IRQS_OFF, TIMING, GG_TIMED),
		GG_STEP(TIMING_EXIT, IDLE, GG_OFF),
		GG_STEP(IRQS_ON, IDLE, GG_START_FLAGS),
	},
};

static void guestgate_entry_context_sequence(struct kunit *test)
{
	gg_entry_run_case(test, &gg_context_case);
}

/* exit_to_guest_mode() and enter_from_guest_mode() are state enter/exit. */
static const struct gg_entry_case gg_alias_case = {
	.cpus = GG_CPUS_ALL,
	.delta = {
		.timing_enters = 1,
		.timing_exits = 1,
		.guest_enters = 1,
		.guest_exits = 1,
	},
	.steps = {
		GG_STEP(IRQS_OFF, IDLE, GG_OFF),
		GG_STEP(TIMING_ENTER, TIMING, GG_TIMED),
		GG_STEP(TO_GUEST_MODE, STATE, GG_IN_STATE),
		GG_STEP(FROM_GUEST_MODE, TIMING, GG_TIMED),
		GG_STEP(IRQS_ON, TIMING, GG_TIMED_IRQS),
		GG_STEP(IRQS_OFF, TIMING, GG_TIMED),
		GG_STEP(TIMING_EXIT, IDLE, GG_OFF),
		GG_STEP(IRQS_ON, IDLE, GG_START_FLAGS),
	},
};

static void guestgate_entry_mode_aliases(struct kunit *test)
{
	gg_entry_run_case(test, &gg_alias_case);
}

/*
 * Several guest runs in one timing section: back to back (an exit handled
 * with interrupts off), then after the interrupts were taken, each way.
 */
static const struct gg_entry_case gg_runs_case = {
	.cpus = GG_CPUS_ALL,
	.delta = {
		.timing_enters = 1,
		.timing_exits = 1,
		.guest_enters = 3,
		.guest_exits = 3,
	},
	.steps = {
		GG_STEP(IRQS_OFF, IDLE, GG_OFF),
		GG_STEP(TIMING_ENTER, TIMING, GG_TIMED),
		GG_STEP(STATE_ENTER, STATE, GG_IN_STATE),
		GG_STEP(STATE_EXIT, TIMING, GG_TIMED),
		GG_STEP(CONTEXT_ENTER, CONTEXT, GG_IN_CONTEXT),
		GG_STEP(CONTEXT_EXIT, TIMING, GG_TIMED),
		GG_STEP(IRQS_ON, TIMING, GG_TIMED_IRQS),
		GG_STEP(IRQS_OFF, TIMING, GG_TIMED),
		GG_STEP(TO_GUEST_MODE, STATE, GG_IN_STATE),
		GG_STEP(FROM_GUEST_MODE, TIMING, GG_TIMED),
		GG_STEP(IRQS_ON, TIMING, GG_TIMED_IRQS),
		GG_STEP(IRQS_OFF, TIMING, GG_TIMED),
		GG_STEP(TIMING_EXIT, IDLE, GG_OFF),
		GG_STEP(IRQS_ON, IDLE, GG_START_FLAGS),
	},
};

static void guestgate_entry_runs_per_timing(struct kunit *test)
{
	gg_entry_run_case(test, &gg_runs_case);
}

/*
 * On a nohz_full CPU guest mode is a real RCU extended quiescent state:
 * RCU does not watch between enter and exit, and watches again after.
 * Skipped without such a CPU, where the cases above cannot tell.
 */
static const struct gg_entry_case gg_eqs_case = {
	.cpus = GG_CPUS_EQS,
	.delta = {
		.timing_enters = 1,
		.timing_exits = 1,
		.guest_enters = 2,
		.guest_exits = 2,
	},
	.steps = {
		GG_STEP(IRQS_OFF, IDLE, GG_OFF),
		GG_STEP(TIMING_ENTER, TIMING, GG_TIMED),
		GG_STEP(STATE_ENTER, STATE, GG_IN_STATE),
		GG_STEP(STATE_EXIT, TIMING, GG_TIMED),
		GG_STEP(CONTEXT_ENTER, CONTEXT, GG_IN_CONTEXT),
		GG_STEP(CONTEXT_EXIT, TIMING, GG_TIMED),
		GG_STEP(TIMING_EXIT, IDLE, GG_OFF),
		GG_STEP(IRQS_ON, IDLE, GG_START_FLAGS),
	},
};

static void guestgate_entry_nohz_full_eqs(struct kunit *test)
{
	gg_entry_run_case(test, &gg_eqs_case);
}

static void gg_entry_rust_on(struct kunit *test, unsigned int cpu,
			     const void *unused)
{
	guestgate_kunit_guest_entry_typestate(test);
}

/* The Rust typestate chain (rust/guest_entry.rs) on every CPU. */
static void guestgate_entry_rust_typestate(struct kunit *test)
{
	unsigned long warned = guestgate_entry_warned();

	gg_entry_on_cpus(test, GG_CPUS_ALL, gg_entry_rust_on, NULL);
	KUNIT_EXPECT_EQ(test, guestgate_entry_warned(), warned);
}

static void gg_entry_rust_pmu_on(struct kunit *test, unsigned int cpu,
				 const void *unused)
{
	guestgate_kunit_guest_entry_guest_pmu(test);
}

/* The Rust typestate with the guest's PMU loaded, on every CPU. */
static void guestgate_entry_rust_guest_pmu(struct kunit *test)
{
	unsigned long warned = guestgate_entry_warned();

	gg_entry_on_cpus(test, GG_CPUS_ALL, gg_entry_rust_pmu_on, NULL);
	KUNIT_EXPECT_EQ(test, guestgate_entry_warned(), warned);
}

/* The Rust typestate refuses guest timing to a task without an mm. */
static void guestgate_entry_rust_no_mm(struct kunit *test)
{
	/* KUnit runs each case in a kernel thread of its own. */
	KUNIT_ASSERT_NULL(test, current->mm);
	guestgate_kunit_guest_entry_no_mm(test);
}

static struct kunit_case guestgate_guest_entry_cases[] = {
	KUNIT_CASE(guestgate_entry_state_sequence),
	KUNIT_CASE(guestgate_entry_context_sequence),
	KUNIT_CASE(guestgate_entry_mode_aliases),
	KUNIT_CASE(guestgate_entry_runs_per_timing),
	KUNIT_CASE(guestgate_entry_nohz_full_eqs),
	KUNIT_CASE(guestgate_entry_rust_typestate),
	KUNIT_CASE(guestgate_entry_rust_guest_pmu),
	KUNIT_CASE(guestgate_entry_rust_no_mm),
	{}
};

struct kunit_suite guestgate_guest_entry_suite = {
	.name = "guestgate_guest_entry",
	.init = gg_entry_test_init,
	.exit = gg_entry_test_exit,
	.test_cases = guestgate_guest_entry_cases,
};
