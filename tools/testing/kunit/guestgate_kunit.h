/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate_kunit.ko: the suites, one file per mechanism.
 */
#ifndef _GUESTGATE_KUNIT_H
#define _GUESTGATE_KUNIT_H

#include <kunit/test.h>

extern struct kunit_suite guestgate_info_suite;
extern struct kunit_suite guestgate_device_suite;
extern struct kunit_suite guestgate_perf_callbacks_suite;
extern struct kunit_suite guestgate_guest_entry_suite;
extern struct kunit_suite guestgate_pfn_cache_suite;
extern struct kunit_suite guestgate_mediated_pmu_suite;
extern struct kunit_suite guestgate_op_group_suite;

#endif /* _GUESTGATE_KUNIT_H */
