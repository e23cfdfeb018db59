// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_mediated_pmu: the ownership deal between host events that
 * count the guest and mediated users, through the Rust API and the C API.
 * Its real callers, a PMU's event_init and perf_event_open(), are the
 * kselftest mediated_pmu_test's.
 */
#include <linux/errno.h>
#include <linux/guestgate.h>

#include "guestgate_kunit.h"
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

static struct kunit_case guestgate_mediated_pmu_cases[] = {
	KUNIT_CASE(guestgate_kunit_mediated_pmu_owners),
	KUNIT_CASE(guestgate_mediated_pmu_c_api),
	{}
};

struct kunit_suite guestgate_mediated_pmu_suite = {
	.name = "guestgate_mediated_pmu",
	.test_cases = guestgate_mediated_pmu_cases,
};
