// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of guestgate's op groups: registration's checks, the switch
 * of every op of a group, refusals by quiescence and by transfer,
 * sections, and implicit groups. A group of this module's own: two ops, three implementations
 * (the third declares no way out). The switch under load, with NMI users,
 * is op_group_test's (guestgate_test.ko).
 *
 * A group keeps its active implementation across unregistration and
 * registration: the cases run in order, each but the last leaving the
 * group on the first implementation.
 */
#include <linux/cpumask.h>
#include <linux/guestgate.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/static_call.h>

#include "guestgate_kunit.h"
#include "op_group_shim.h"

struct gg_kunit_opg_ops {
	int (*value)(void);
	int (*scaled)(int x);
};

static int gg_kunit_a_value(void) { return 1; }
static int gg_kunit_a_scaled(int x) { return x * 10; }
static int gg_kunit_b_value(void) { return 2; }
static int gg_kunit_b_scaled(int x) { return x * 20; }
static int gg_kunit_c_value(void) { return 3; }
static int gg_kunit_c_scaled(int x) { return x * 30; }

static const struct gg_kunit_opg_ops gg_kunit_a = { gg_kunit_a_value, gg_kunit_a_scaled };
static const struct gg_kunit_opg_ops gg_kunit_b = { gg_kunit_b_value, gg_kunit_b_scaled };
static const struct gg_kunit_opg_ops gg_kunit_c = { gg_kunit_c_value, gg_kunit_c_scaled };
static const struct gg_kunit_opg_ops gg_kunit_half = { gg_kunit_a_value, NULL };

DEFINE_STATIC_CALL(gg_kunit_value, gg_kunit_a_value);
DEFINE_STATIC_CALL(gg_kunit_scaled, gg_kunit_a_scaled);

static struct guestgate_op_group *gg_kunit_grp;

static const struct gg_kunit_opg_ops *gg_kunit_pinned(void)
{
	return guestgate_op_group_ops(gg_kunit_grp);
}

static int gg_kunit_value_gate(void)
{
	return gg_kunit_pinned()->value();
}

static int gg_kunit_scaled_gate(int x)
{
	return gg_kunit_pinned()->scaled(x);
}

static const struct guestgate_op gg_kunit_ops[] = {
	GUESTGATE_OP(gg_kunit_value, struct gg_kunit_opg_ops, value, gg_kunit_value_gate),
	GUESTGATE_OP(gg_kunit_scaled, struct gg_kunit_opg_ops, scaled, gg_kunit_scaled_gate),
};

/*
 * The shared state: which implementation's form it is in, and what the
 * callbacks answer.
 */
static struct gg_kunit_opg_state {
	int form;
	bool busy;
	bool quiescent;
	int transfers;
} gg_kunit_state;

static int gg_kunit_a_transfer(void *state, const struct guestgate_op_impl *to)
{
	struct gg_kunit_opg_state *s = state;

	if (s->busy)
		return -EBUSY;
	s->form = to->ops == &gg_kunit_b ? 2 : 3;
	s->transfers++;
	return 0;
}

static bool gg_kunit_b_quiescent(void *state, const struct guestgate_op_impl *to)
{
	return ((struct gg_kunit_opg_state *)state)->quiescent;
}

static const struct guestgate_op_impl gg_kunit_impls[] = {
	{ .name = "a", .ops = &gg_kunit_a, .transfer = gg_kunit_a_transfer },
	{ .name = "b", .ops = &gg_kunit_b, .quiescent = gg_kunit_b_quiescent },
	{ .name = "c", .ops = &gg_kunit_c },
};

/* a and b again, declaring nothing: an implicit group's implementations. */
static const struct guestgate_op_impl gg_kunit_plain_impls[] = {
	{ .name = "a", .ops = &gg_kunit_a },
	{ .name = "b", .ops = &gg_kunit_b },
};

DEFINE_GUESTGATE_OP_GROUP(gg_kunit_group, gg_kunit_ops, gg_kunit_impls, &gg_kunit_state);
/* Over the same static calls, registered while gg_kunit_group is not. */
DEFINE_GUESTGATE_OP_GROUP_IMPLICIT(gg_kunit_implicit, gg_kunit_ops, gg_kunit_plain_impls);
DEFINE_GUESTGATE_OP_GROUP_IMPLICIT(gg_kunit_implicit_bad, gg_kunit_ops, gg_kunit_impls);
/* Another group over the same static calls: refused while the first is registered. */
DEFINE_GUESTGATE_OP_GROUP(gg_kunit_twin, gg_kunit_ops, gg_kunit_impls, &gg_kunit_state);

static int gg_kunit_opg_init(struct kunit *test)
{
	gg_kunit_grp = &gg_kunit_group;
	gg_kunit_state = (struct gg_kunit_opg_state){ .form = 1, .quiescent = true };
	return guestgate_op_group_register(&gg_kunit_group);
}

static void gg_kunit_opg_exit(struct kunit *test)
{
	guestgate_op_group_unregister(&gg_kunit_group);
}

/* A copy of the group, for registration's checks: never registered. */
static void gg_kunit_expect_invalid(struct kunit *test, struct guestgate_op_group *bad)
{
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(bad), -EINVAL);
	KUNIT_EXPECT_FALSE(test, bad->registered);
}

static void guestgate_op_group_register_checks(struct kunit *test)
{
	struct guestgate_op_impl impls[2] = { gg_kunit_impls[0], gg_kunit_impls[1] };
	struct guestgate_op ops[2] = { gg_kunit_ops[0], gg_kunit_ops[1] };
	struct guestgate_op_group bad;

	/* The group itself, registered by init. */
	KUNIT_EXPECT_TRUE(test, gg_kunit_group.registered);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(&gg_kunit_group), -EEXIST);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(&gg_kunit_twin), -EBUSY);
	KUNIT_EXPECT_FALSE(test, gg_kunit_twin.registered);

	bad = (struct guestgate_op_group){ .ops = ops, .nr_ops = 2, .impls = impls,
					   .nr_impls = 2, .cpu = gg_kunit_group.cpu };
	bad.nr_impls = 1;
	gg_kunit_expect_invalid(test, &bad);
	bad.nr_impls = 2;
	bad.nr_ops = 0;
	gg_kunit_expect_invalid(test, &bad);
	bad.nr_ops = 2;
	bad.cpu = NULL;
	gg_kunit_expect_invalid(test, &bad);
	bad.cpu = gg_kunit_group.cpu;
	impls[1].ops = &gg_kunit_half;
	gg_kunit_expect_invalid(test, &bad);
	impls[1].ops = NULL;
	gg_kunit_expect_invalid(test, &bad);
	impls[1] = gg_kunit_impls[1];
	ops[1].gate = NULL;
	gg_kunit_expect_invalid(test, &bad);
	ops[1] = gg_kunit_ops[1];
	ops[1].offset = 1;
	gg_kunit_expect_invalid(test, &bad);
	ops[1] = gg_kunit_ops[1];
	ops[0].key = NULL;
	gg_kunit_expect_invalid(test, &bad);

	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(&bad, 1), -ENOENT);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_unregister(&bad), -ENOENT);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_unregister(&gg_kunit_group), 0);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_unregister(&gg_kunit_group), -ENOENT);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(&gg_kunit_group, 1), -ENOENT);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 1);
}

/* Every op follows, and the state is transferred once, at the switch. */
static void guestgate_op_group_switch_all_ops(struct kunit *test)
{
	struct guestgate_op_group *grp = &gg_kunit_group;

	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 1);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_scaled)(2), 20);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), 0);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 1);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 2);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_scaled)(2), 40);
	KUNIT_EXPECT_EQ(test, gg_kunit_state.form, 2);
	KUNIT_EXPECT_EQ(test, gg_kunit_state.transfers, 1);
	KUNIT_EXPECT_EQ(test, grp->switches, 1);

	/* To the active one: nothing to do. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), 0);
	KUNIT_EXPECT_EQ(test, grp->switches, 1);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, ~0U), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 1);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 2);

	/* Registered again, on the implementation active before. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_unregister(grp), 0);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(grp), 0);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 1);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 2);
	KUNIT_EXPECT_EQ(test, grp->switches, 0);

	/* Back through b's quiescence: no transfer runs. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 0), 0);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 1);
	KUNIT_EXPECT_EQ(test, gg_kunit_state.transfers, 1);
	KUNIT_EXPECT_EQ(test, grp->switches, 1);
}

/* Refused: nothing changes, the ops included. Leaves c active. */
static void guestgate_op_group_refusals(struct kunit *test)
{
	struct guestgate_op_group *grp = &gg_kunit_group;

	gg_kunit_state.busy = true;
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), -EBUSY);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 0);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 1);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_scaled)(1), 10);
	KUNIT_EXPECT_EQ(test, gg_kunit_state.form, 1);
	KUNIT_EXPECT_EQ(test, grp->refused, 1);
	gg_kunit_state.busy = false;
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), 0);

	gg_kunit_state.quiescent = false;
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 2), -EBUSY);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 2);
	KUNIT_EXPECT_EQ(test, grp->refused, 2);
	gg_kunit_state.quiescent = true;
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 2), 0);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 3);

	/* c declares no way out. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 0), -EBUSY);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), -EBUSY);
	KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 2);
	KUNIT_EXPECT_EQ(test, static_call(gg_kunit_scaled)(1), 30);
	KUNIT_EXPECT_EQ(test, grp->refused, 4);
	KUNIT_EXPECT_EQ(test, grp->switches, 2);
	KUNIT_EXPECT_EQ(test, grp->timeouts, 0);
}

/* Sections pin the implementation, nest, and disable preemption. */
static void guestgate_op_group_sections(struct kunit *test)
{
	struct guestgate_op_group *grp = &gg_kunit_group;
	s64 outside = atomic64_read(&grp->outside);
	bool nested, preempt_off;
	const void *ops;

	/* Calls outside any section: guestgate_op_group_misuse's. */
	KUNIT_ASSERT_TRUE(test, guestgate_op_group_section_begin(grp));
	nested = guestgate_op_group_section_begin(grp);
	preempt_off = !preemptible();
	ops = guestgate_op_group_ops(grp);
	if (nested)
		guestgate_op_group_section_end(grp);
	guestgate_op_group_section_end(grp);
	KUNIT_EXPECT_TRUE(test, nested);
	KUNIT_EXPECT_PTR_EQ(test, ops, (const void *)&gg_kunit_a);
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT))
		KUNIT_EXPECT_TRUE(test, preempt_off);
	KUNIT_EXPECT_EQ(test, atomic64_read(&grp->outside), outside);

	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), 0);
	KUNIT_ASSERT_TRUE(test, guestgate_op_group_section_begin(grp));
	ops = guestgate_op_group_ops(grp);
	guestgate_op_group_section_end(grp);
	KUNIT_EXPECT_PTR_EQ(test, ops, (const void *)&gg_kunit_b);
	KUNIT_EXPECT_TRUE(test, preemptible() || !IS_ENABLED(CONFIG_PREEMPT_COUNT));
	KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 0), 0);
}

/* Every CPU's sections of @grp run @impl. */
static bool gg_kunit_all_pinned(struct guestgate_op_group *grp, unsigned int impl)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (READ_ONCE(per_cpu_ptr(grp->cpu, cpu)->pinned) != impl)
			return false;
	return true;
}

/*
 * An implicit group: no way out to declare, every CPU moved by the switch,
 * the gates answer by the CPU's pin. Leaves gg_kunit_group registered, on
 * a, as it found it.
 */
static void guestgate_op_group_implicit(struct kunit *test)
{
	struct guestgate_op_group *grp = &gg_kunit_implicit;
	const void *ops;
	int ret;

	KUNIT_ASSERT_EQ(test, guestgate_op_group_active(&gg_kunit_group), 0);
	KUNIT_ASSERT_EQ(test, guestgate_op_group_unregister(&gg_kunit_group), 0);
	gg_kunit_grp = grp;
	/* Implementations that declare a transfer or quiescence. */
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(&gg_kunit_implicit_bad), -EINVAL);

	/* No ASSERT until gg_kunit_group is back: the later cases need it. */
	ret = guestgate_op_group_register(grp);
	KUNIT_EXPECT_EQ(test, ret, 0);
	if (!ret) {
		KUNIT_EXPECT_TRUE(test, gg_kunit_all_pinned(grp, 0));
		KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 2), -EINVAL);
		KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 1), 0);
		KUNIT_EXPECT_EQ(test, guestgate_op_group_active(grp), 1);
		KUNIT_EXPECT_TRUE(test, gg_kunit_all_pinned(grp, 1));
		KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 2);
		KUNIT_EXPECT_EQ(test, static_call(gg_kunit_scaled)(2), 40);
		/* A gate's view: this CPU's pin, no section marked or counted. */
		preempt_disable();
		ops = guestgate_op_group_ops(grp);
		preempt_enable();
		KUNIT_EXPECT_PTR_EQ(test, ops, (const void *)&gg_kunit_b);
		KUNIT_EXPECT_EQ(test, atomic64_read(&grp->outside), 0);

		KUNIT_EXPECT_EQ(test, guestgate_op_group_switch(grp, 0), 0);
		KUNIT_EXPECT_TRUE(test, gg_kunit_all_pinned(grp, 0));
		KUNIT_EXPECT_EQ(test, static_call(gg_kunit_value)(), 1);
		KUNIT_EXPECT_EQ(test, grp->switches, 2);
		KUNIT_EXPECT_EQ(test, grp->refused, 0);
		KUNIT_EXPECT_EQ(test, guestgate_op_group_unregister(grp), 0);
	}

	gg_kunit_grp = &gg_kunit_group;
	KUNIT_EXPECT_EQ(test, guestgate_op_group_register(&gg_kunit_group), 0);
}

/* The Rust API, on guestgate.ko's own bench group. */
static void guestgate_op_group_rust(struct kunit *test)
{
	guestgate_kunit_op_group_rust(test);
}

static struct kunit_case guestgate_op_group_cases[] = {
	KUNIT_CASE(guestgate_op_group_rust),
	KUNIT_CASE(guestgate_op_group_register_checks),
	KUNIT_CASE(guestgate_op_group_switch_all_ops),
	KUNIT_CASE(guestgate_op_group_sections),
	KUNIT_CASE(guestgate_op_group_implicit),
	KUNIT_CASE(guestgate_op_group_refusals),
	{}
};

struct kunit_suite guestgate_op_group_suite = {
	.name = "guestgate_op_group",
	.init = gg_kunit_opg_init,
	.exit = gg_kunit_opg_exit,
	.test_cases = guestgate_op_group_cases,
};
