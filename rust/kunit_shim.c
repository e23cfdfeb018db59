// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: KUnit expectations for the Rust cases (see kunit.rs).
 */
#include <kunit/test.h>

#include "kunit_shim.h"

void guestgate_kunit_check(struct kunit *test, bool ok, const char *file,
			   int line, const char *expr)
{
	KUNIT_EXPECT_TRUE_MSG(test, ok, "%s:%d: expected %s", file, line, expr);
}
