// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_op_group_misuse: the misuses of op groups that
 * <linux/guestgate/op_group.h> says WARN once and change nothing, made on
 * purpose: a gate called outside any section, a section ended with none
 * begun, and an implicit group's gate called with preemption enabled. Each
 * case checks what the header promises: the answer, the count of the
 * misuse, and that preemption and the sections are as they were.
 *
 * Like guestgate_guest_entry_misuse, this suite is in
 * guestgate_misuse_kunit.ko, loaded in the canary phase of a test run, and
 * the judge requires each WARN's message once in that phase's log.
 */
#include <kunit/test.h>
#include <linux/guestgate.h>
#include <linux/preempt.h>
#include <linux/static_call.h>

struct gg_misuse_opg_ops {
	int (*value)(void);
};

static int gg_misuse_opg_a(void) { return 1; }
static int gg_misuse_opg_b(void) { return 2; }

static const struct gg_misuse_opg_ops gg_misuse_opg_a_ops = { gg_misuse_opg_a };
static const struct gg_misuse_opg_ops gg_misuse_opg_b_ops = { gg_misuse_opg_b };

DEFINE_STATIC_CALL(gg_misuse_opg_value, gg_misuse_opg_a);
DEFINE_STATIC_CALL(gg_misuse_opg_implicit_value, gg_misuse_opg_a);

/* Nothing calls the ops: the cases call guestgate_op_group_ops() themselves. */
static int gg_misuse_opg_gate(void)
{
	return 0;
}

static const struct guestgate_op gg_misuse_opg_ops[] = {
	GUESTGATE_OP(gg_misuse_opg_value, struct gg_misuse_opg_ops, value, gg_misuse_opg_gate),
};

static const struct guestgate_op gg_misuse_opg_implicit_ops[] = {
	GUESTGATE_OP(gg_misuse_opg_implicit_value, struct gg_misuse_opg_ops, value,
		     gg_misuse_opg_gate),
};

static bool gg_misuse_opg_quiescent(void *state, const struct guestgate_op_impl *to)
{
	return true;
}

static const struct guestgate_op_impl gg_misuse_opg_impls[] = {
	{ .name = "a", .ops = &gg_misuse_opg_a_ops, .quiescent = gg_misuse_opg_quiescent },
	{ .name = "b", .ops = &gg_misuse_opg_b_ops, .quiescent = gg_misuse_opg_quiescent },
};

static const struct guestgate_op_impl gg_misuse_opg_implicit_impls[] = {
	{ .name = "a", .ops = &gg_misuse_opg_a_ops },
	{ .name = "b", .ops = &gg_misuse_opg_b_ops },
};

DEFINE_GUESTGATE_OP_GROUP(gg_misuse_opg, gg_misuse_opg_ops, gg_misuse_opg_impls, NULL);
DEFINE_GUESTGATE_OP_GROUP_IMPLICIT(gg_misuse_opg_implicit, gg_misuse_opg_implicit_ops,
				   gg_misuse_opg_implicit_impls);

static int gg_misuse_opg_init(struct kunit *test)
{
	int ret = guestgate_op_group_register(&gg_misuse_opg);

	return ret ?: guestgate_op_group_register(&gg_misuse_opg_implicit);
}

static void gg_misuse_opg_exit(struct kunit *test)
{
	guestgate_op_group_unregister(&gg_misuse_opg_implicit);
	guestgate_op_group_unregister(&gg_misuse_opg);
}

/* A gate's call outside any section: the active implementation's, counted. */
static void guestgate_op_group_misuse_gate_outside(struct kunit *test)
{
	s64 outside = atomic64_read(&gg_misuse_opg.outside);

	KUNIT_EXPECT_PTR_EQ(test, guestgate_op_group_ops(&gg_misuse_opg),
			    (const void *)&gg_misuse_opg_a_ops);
	KUNIT_EXPECT_EQ(test, atomic64_read(&gg_misuse_opg.outside), outside + 1);
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT))
		KUNIT_EXPECT_TRUE(test, preemptible());
}

/* A section ended with none begun: counted, preemption left as it was. */
static void guestgate_op_group_misuse_end_without_begin(struct kunit *test)
{
	s64 outside = atomic64_read(&gg_misuse_opg.outside);

	guestgate_op_group_section_end(&gg_misuse_opg);
	KUNIT_EXPECT_EQ(test, atomic64_read(&gg_misuse_opg.outside), outside + 1);
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT))
		KUNIT_EXPECT_TRUE(test, preemptible());
	/* The group still switches: no section was left marked. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(&gg_misuse_opg, 1), 0);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(&gg_misuse_opg, 0), 0);
}

/* An implicit group's gate with preemption enabled: this CPU's pin. */
static void guestgate_op_group_misuse_implicit_preemptible(struct kunit *test)
{
	const void *ops;

	/* Without a preemption count, no code can tell: no WARN. */
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		kunit_skip(test, "needs CONFIG_PREEMPT_COUNT");

	ops = guestgate_op_group_ops(&gg_misuse_opg_implicit);
	KUNIT_EXPECT_PTR_EQ(test, ops, (const void *)&gg_misuse_opg_a_ops);
	KUNIT_EXPECT_EQ(test, atomic64_read(&gg_misuse_opg_implicit.outside), 0);
}

static struct kunit_case guestgate_op_group_misuse_cases[] = {
	KUNIT_CASE(guestgate_op_group_misuse_gate_outside),
	KUNIT_CASE(guestgate_op_group_misuse_end_without_begin),
	KUNIT_CASE(guestgate_op_group_misuse_implicit_preemptible),
	{}
};

static struct kunit_suite guestgate_op_group_misuse_suite = {
	.name = "guestgate_op_group_misuse",
	.init = gg_misuse_opg_init,
	.exit = gg_misuse_opg_exit,
	.test_cases = guestgate_op_group_misuse_cases,
};

kunit_test_suite(guestgate_op_group_misuse_suite);
