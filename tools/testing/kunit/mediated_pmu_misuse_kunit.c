// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_mediated_pmu_misuse: every misuse of the mediated PMU's C API
 * that <linux/guestgate/mediated_pmu.h> says WARNs once and changes
 * nothing, made on purpose: a release without a mediated user, an
 * unaccount of an event that was not accounted, and of NULL; a load of the
 * guest PMU context with interrupts enabled, without a mediated user and
 * twice; a put with interrupts enabled and without a load. Each case
 * checks that nothing changed but the misuse's counter: no mediated user
 * or accounted event appears or goes, the context stays as it was, the
 * registered PMU's hooks do not run.
 *
 * Like guestgate_guest_entry_misuse, this suite is in
 * guestgate_misuse_kunit.ko, loaded in the canary phase of a test run, and
 * the judge requires each WARN's message once in that phase's log.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/guestgate.h>
#include <linux/irqflags.h>
#include <linux/perf_event.h>
#include <linux/preempt.h>

#include "mediated_pmu_kunit.h"
#include "mediated_pmu_shim.h"

/* A registered PMU whose hooks count their calls. */
static struct gg_kunit_pmu gg_misuse_pmu = GG_KUNIT_PMU_INIT;

/* What a case expects to have changed; all else must not. */
struct gg_misuse_delta {
	int bad_leaves;
	int misuses;
	int loads;
	int puts;
};

/* The deal's and the context's figures, and the test PMU's hook calls. */
struct gg_misuse_view {
	struct guestgate_mediated_pmu_stats deal;
	struct guestgate_pmu_context_stats ctx;
	int hook_loads;
	int hook_puts;
};

static void gg_misuse_view(struct gg_misuse_view *v)
{
	guestgate_rs_mediated_pmu_stats(&v->deal);
	guestgate_pmu_context_stats(&v->ctx);
	v->hook_loads = atomic_read(&gg_misuse_pmu.loads);
	v->hook_puts = atomic_read(&gg_misuse_pmu.puts);
}

static void gg_misuse_check(struct kunit *test, const struct gg_misuse_view *before,
			    const struct gg_misuse_delta *d)
{
	struct gg_misuse_view after;

	gg_misuse_view(&after);
	KUNIT_EXPECT_EQ(test, after.deal.owners, before->deal.owners);
	KUNIT_EXPECT_EQ(test, after.deal.creates, before->deal.creates);
	KUNIT_EXPECT_EQ(test, after.deal.releases, before->deal.releases);
	KUNIT_EXPECT_EQ(test, after.deal.events_accounted, before->deal.events_accounted);
	KUNIT_EXPECT_EQ(test, after.deal.events_unaccounted,
			before->deal.events_unaccounted);
	KUNIT_EXPECT_EQ(test, after.deal.bad_leaves - before->deal.bad_leaves,
			d->bad_leaves);
	KUNIT_EXPECT_EQ(test, after.ctx.cpus_loaded, 0);
	KUNIT_EXPECT_EQ(test, after.ctx.misuses - before->ctx.misuses, d->misuses);
	KUNIT_EXPECT_EQ(test, after.ctx.loads - before->ctx.loads, d->loads);
	KUNIT_EXPECT_EQ(test, after.ctx.puts - before->ctx.puts, d->puts);
	KUNIT_EXPECT_EQ(test, after.hook_loads - before->hook_loads, d->loads);
	KUNIT_EXPECT_EQ(test, after.hook_puts - before->hook_puts, d->puts);
}

static void guestgate_pmu_misuse_release_without_user(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .bad_leaves = 1 };
	struct gg_misuse_view before;

	gg_misuse_view(&before);
	/* No mediated user for it to release. */
	KUNIT_ASSERT_GE(test, before.deal.owners, 0);
	guestgate_mediated_pmu_release();
	gg_misuse_check(test, &before, &d);
}

static void guestgate_pmu_misuse_unaccount_not_accounted(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .bad_leaves = 1 };
	struct perf_event *event = kunit_kzalloc(test, sizeof(*event), GFP_KERNEL);
	struct gg_misuse_view before;

	KUNIT_ASSERT_NOT_NULL(test, event);
	/* Counts the guest: attr.exclude_guest is 0. */
	gg_misuse_view(&before);
	/* No accounted event for it to take away. */
	KUNIT_ASSERT_LE(test, before.deal.owners, 0);
	guestgate_pmu_unaccount_event(event);
	gg_misuse_check(test, &before, &d);
}

static void guestgate_pmu_misuse_unaccount_null(struct kunit *test)
{
	static const struct gg_misuse_delta d = {};
	struct gg_misuse_view before;

	gg_misuse_view(&before);
	guestgate_pmu_unaccount_event(NULL);
	gg_misuse_check(test, &before, &d);
}

static void guestgate_pmu_misuse_load_irqs_on(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .misuses = 1 };
	struct gg_misuse_view before;
	bool loaded;

	KUNIT_ASSERT_EQ(test, guestgate_mediated_pmu_create(), 0);
	gg_misuse_view(&before);
	preempt_disable();
	guestgate_pmu_load_guest_context();
	loaded = guestgate_pmu_guest_context_loaded();
	preempt_enable();
	gg_misuse_check(test, &before, &d);
	guestgate_mediated_pmu_release();
	KUNIT_EXPECT_FALSE(test, loaded);
}

static void guestgate_pmu_misuse_load_without_user(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .misuses = 1 };
	struct gg_misuse_view before;
	bool loaded;

	gg_misuse_view(&before);
	KUNIT_ASSERT_GE(test, before.deal.owners, 0);
	local_irq_disable();
	guestgate_pmu_load_guest_context();
	loaded = guestgate_pmu_guest_context_loaded();
	local_irq_enable();
	gg_misuse_check(test, &before, &d);
	KUNIT_EXPECT_FALSE(test, loaded);
}

/* The second load changes nothing: one load, one put, each hook once. */
static void guestgate_pmu_misuse_load_twice(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .misuses = 1, .loads = 1, .puts = 1 };
	struct gg_misuse_view before;
	bool loaded;

	KUNIT_ASSERT_EQ(test, guestgate_mediated_pmu_create(), 0);
	gg_misuse_view(&before);
	local_irq_disable();
	guestgate_pmu_load_guest_context();
	guestgate_pmu_load_guest_context();
	loaded = guestgate_pmu_guest_context_loaded();
	guestgate_pmu_put_guest_context();
	local_irq_enable();
	gg_misuse_check(test, &before, &d);
	guestgate_mediated_pmu_release();
	KUNIT_EXPECT_TRUE(test, loaded);
}

/* The put with interrupts enabled is not done: the context stays loaded. */
static void guestgate_pmu_misuse_put_irqs_on(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .misuses = 1, .loads = 1, .puts = 1 };
	struct gg_misuse_view before;
	bool loaded;

	KUNIT_ASSERT_EQ(test, guestgate_mediated_pmu_create(), 0);
	gg_misuse_view(&before);
	preempt_disable();
	local_irq_disable();
	guestgate_pmu_load_guest_context();
	local_irq_enable();
	guestgate_pmu_put_guest_context();
	loaded = guestgate_pmu_guest_context_loaded();
	local_irq_disable();
	guestgate_pmu_put_guest_context();
	local_irq_enable();
	preempt_enable();
	gg_misuse_check(test, &before, &d);
	guestgate_mediated_pmu_release();
	KUNIT_EXPECT_TRUE(test, loaded);
}

static void guestgate_pmu_misuse_put_without_load(struct kunit *test)
{
	static const struct gg_misuse_delta d = { .misuses = 1 };
	struct gg_misuse_view before;

	gg_misuse_view(&before);
	local_irq_disable();
	guestgate_pmu_put_guest_context();
	local_irq_enable();
	gg_misuse_check(test, &before, &d);
}

static int gg_misuse_pmu_init(struct kunit *test)
{
	gg_kunit_pmu_reset(&gg_misuse_pmu);
	return guestgate_pmu_register(&gg_misuse_pmu.gpmu);
}

/* Unregister puts on every CPU: the hooks' counts end with it. */
static void gg_misuse_pmu_exit(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, guestgate_pmu_unregister(&gg_misuse_pmu.gpmu), 0);
}

static struct kunit_case guestgate_mediated_pmu_misuse_cases[] = {
	KUNIT_CASE(guestgate_pmu_misuse_release_without_user),
	KUNIT_CASE(guestgate_pmu_misuse_unaccount_not_accounted),
	KUNIT_CASE(guestgate_pmu_misuse_unaccount_null),
	KUNIT_CASE(guestgate_pmu_misuse_load_irqs_on),
	KUNIT_CASE(guestgate_pmu_misuse_load_without_user),
	KUNIT_CASE(guestgate_pmu_misuse_load_twice),
	KUNIT_CASE(guestgate_pmu_misuse_put_irqs_on),
	KUNIT_CASE(guestgate_pmu_misuse_put_without_load),
	{}
};

static struct kunit_suite guestgate_mediated_pmu_misuse_suite = {
	.name = "guestgate_mediated_pmu_misuse",
	.init = gg_misuse_pmu_init,
	.exit = gg_misuse_pmu_exit,
	.test_cases = guestgate_mediated_pmu_misuse_cases,
};

kunit_test_suite(guestgate_mediated_pmu_misuse_suite);
