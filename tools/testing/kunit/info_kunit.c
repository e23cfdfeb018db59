// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_info: the version and feature query of the C API.
 */
#include <linux/errno.h>
#include <linux/guestgate.h>
#include <linux/string.h>

#include "guestgate_kunit.h"

#define GUESTGATE_KNOWN_FEATURES (GUESTGATE_FEATURE_PERF_CALLBACKS | \
				  GUESTGATE_FEATURE_GUEST_ENTRY | \
				  GUESTGATE_FEATURE_PFN_CACHE | \
				  GUESTGATE_FEATURE_MEDIATED_PMU)

static void guestgate_info_version(struct kunit *test)
{
	struct guestgate_version ver;

	memset(&ver, 0xa5, sizeof(ver));
	KUNIT_ASSERT_EQ(test, guestgate_get_version(&ver), 0);
	KUNIT_EXPECT_EQ(test, ver.major, GUESTGATE_VERSION_MAJOR);
	KUNIT_EXPECT_EQ(test, ver.minor, GUESTGATE_VERSION_MINOR);
	KUNIT_EXPECT_EQ(test, ver.patch, GUESTGATE_VERSION_PATCH);
	KUNIT_EXPECT_EQ(test, ver.abi, GUESTGATE_ABI_VERSION);
	KUNIT_EXPECT_EQ(test, ver.features & ~GUESTGATE_KNOWN_FEATURES, 0);
}

static void guestgate_info_null(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, guestgate_get_version(NULL), -EINVAL);
}

static struct kunit_case guestgate_info_cases[] = {
	KUNIT_CASE(guestgate_info_version),
	KUNIT_CASE(guestgate_info_null),
	{}
};

struct kunit_suite guestgate_info_suite = {
	.name = "guestgate_info",
	.test_cases = guestgate_info_cases,
};
