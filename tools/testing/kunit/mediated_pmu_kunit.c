// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_mediated_pmu: the ownership deal between host events that
 * count the guest and mediated users, through the Rust API and the C API.
 * Its real callers, a PMU's event_init and perf_event_open(), are the
 * kselftest mediated_pmu_test's.
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/guestgate.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>

#include "guestgate_kunit.h"
#include "mediated_pmu_kunit.h"
#include "mediated_pmu_shim.h"

/* The C API's create and release pair up, and several users may exist. */
static void guestgate_mediated_pmu_c_api(struct kunit *test)
{
	struct guestgate_mediated_pmu_stats before, st;

	guestgate_rs_mediated_pmu_stats(&before);
	KUNIT_ASSERT_EQ(test, before.owners, 0);
	KUNIT_EXPECT_EQ(test, guestgate_mediated_pmu_create(), 0);
	KUNIT_EXPECT_EQ(test, guestgate_mediated_pmu_create(), 0);
	guestgate_rs_mediated_pmu_stats(&st);
	KUNIT_EXPECT_EQ(test, st.owners, -2);
	KUNIT_EXPECT_EQ(test, st.creates - before.creates, 2);
	guestgate_mediated_pmu_release();
	guestgate_mediated_pmu_release();
	guestgate_rs_mediated_pmu_stats(&st);
	KUNIT_EXPECT_EQ(test, st.owners, 0);
	KUNIT_EXPECT_EQ(test, st.releases - before.releases, 2);
	KUNIT_EXPECT_EQ(test, guestgate_pmu_account_event(NULL), -EINVAL);
}

/*
 * A PMU's registration, its errnos, and the guest PMU context on this CPU:
 * refused without a mediated user and when loaded already, the hooks run
 * once each, a PMI is the guest's only while loaded, and unregister puts on
 * every CPU.
 */
static void guestgate_mediated_pmu_context(struct kunit *test)
{
	static struct gg_kunit_pmu kp = GG_KUNIT_PMU_INIT;
	struct guestgate_pmu no_put = { .load_guest = gg_kunit_pmu_load };
	bool loaded, pmi_loaded, pmi_put, put;
	int first, second;

	gg_kunit_pmu_reset(&kp);
	KUNIT_EXPECT_EQ(test, guestgate_pmu_register(NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_pmu_register(&no_put), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_pmu_unregister(&kp.gpmu), -ENOENT);
	KUNIT_ASSERT_EQ(test, guestgate_pmu_register(&kp.gpmu), 0);
	KUNIT_EXPECT_EQ(test, guestgate_pmu_register(&kp.gpmu), -EBUSY);

	local_irq_disable();
	first = guestgate_pmu_try_load_guest_context();
	local_irq_enable();
	KUNIT_EXPECT_EQ(test, first, -EPERM);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp.loads), 0);

	KUNIT_ASSERT_EQ(test, guestgate_mediated_pmu_create(), 0);
	local_irq_disable();
	first = guestgate_pmu_try_load_guest_context();
	loaded = guestgate_pmu_guest_context_loaded();
	pmi_loaded = guestgate_pmu_handle_pmi();
	second = guestgate_pmu_try_load_guest_context();
	guestgate_pmu_put_guest_context();
	put = !guestgate_pmu_guest_context_loaded();
	pmi_put = guestgate_pmu_handle_pmi();
	local_irq_enable();
	guestgate_mediated_pmu_release();
	KUNIT_EXPECT_EQ(test, first, 0);
	KUNIT_EXPECT_EQ(test, second, -EBUSY);
	KUNIT_EXPECT_TRUE(test, loaded);
	KUNIT_EXPECT_TRUE(test, put);
	KUNIT_EXPECT_TRUE(test, pmi_loaded);
	KUNIT_EXPECT_FALSE(test, pmi_put);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp.loads), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp.puts), 1);

	KUNIT_EXPECT_EQ(test, guestgate_pmu_unregister(&kp.gpmu), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp.puts), 1 + num_online_cpus());
	KUNIT_EXPECT_EQ(test, guestgate_pmu_unregister(&kp.gpmu), -ENOENT);
}

static struct kunit_case guestgate_mediated_pmu_cases[] = {
	KUNIT_CASE(guestgate_kunit_mediated_pmu_owners),
	KUNIT_CASE(guestgate_mediated_pmu_c_api),
	KUNIT_CASE(guestgate_mediated_pmu_context),
	{}
};

struct kunit_suite guestgate_mediated_pmu_suite = {
	.name = "guestgate_mediated_pmu",
	.test_cases = guestgate_mediated_pmu_cases,
};
