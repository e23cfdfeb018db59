/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the mediated PMU suites: guestgate_mediated_pmu (correct use,
 * in guestgate_kunit.ko) and guestgate_mediated_pmu_misuse (in
 * guestgate_misuse_kunit.ko): a PMU registered with the guest PMU context
 * whose hooks count their calls.
 */
#ifndef _MEDIATED_PMU_KUNIT_H
#define _MEDIATED_PMU_KUNIT_H

#include <linux/atomic.h>
#include <linux/container_of.h>
#include <linux/guestgate.h>

struct gg_kunit_pmu {
	struct guestgate_pmu gpmu;
	atomic_t loads;
	atomic_t puts;
};

static inline void gg_kunit_pmu_load(struct guestgate_pmu *gpmu)
{
	atomic_inc(&container_of(gpmu, struct gg_kunit_pmu, gpmu)->loads);
}

static inline void gg_kunit_pmu_put(struct guestgate_pmu *gpmu)
{
	atomic_inc(&container_of(gpmu, struct gg_kunit_pmu, gpmu)->puts);
}

#define GG_KUNIT_PMU_INIT \
	{ .gpmu = { .load_guest = gg_kunit_pmu_load, .put_guest = gg_kunit_pmu_put } }

/* Zeroes the hook counts. */
static inline void gg_kunit_pmu_reset(struct gg_kunit_pmu *kp)
{
	atomic_set(&kp->loads, 0);
	atomic_set(&kp->puts, 0);
}

#endif /* _MEDIATED_PMU_KUNIT_H */
