// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_kunit.ko: KUnit suites of guestgate.
 *
 * C suites whose cases call guestgate's C API, or Rust cases that
 * guestgate.ko exports with EXPORT_SYMBOL_IF_KUNIT (rust/shim.h). The suites
 * run when this module is loaded; guestgate.ko must be loaded first.
 */
#include <linux/module.h>

#include "guestgate_kunit.h"

kunit_test_suites(&guestgate_info_suite, &guestgate_device_suite,
		  &guestgate_perf_callbacks_suite, &guestgate_guest_entry_suite,
		  &guestgate_pfn_cache_suite, &guestgate_mediated_pmu_suite,
		  &guestgate_op_group_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit suites of guestgate");
MODULE_LICENSE("GPL");
