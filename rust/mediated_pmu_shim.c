// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the C half of the mediated PMU ownership deal.
 *
 * The exported C API of <linux/guestgate/mediated_pmu.h>, as thin as C can
 * make it: reading attr.exclude_guest from a struct perf_event and WARNing
 * on a caller's misuse. Who holds the PMUs, and every errno, is
 * mediated_pmu.rs's. Also the debugfs file guestgate/mediated_pmu.
 */
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/guestgate.h>
#include <linux/perf_event.h>
#include <linux/seq_file.h>
#include <linux/stddef.h>
#include <kunit/visibility.h>

#include "mediated_pmu_shim.h"

/* bindings.rs asserts the same figures for bindgen's view of the struct. */
static_assert(sizeof(struct guestgate_mediated_pmu_stats) == 64);
static_assert(offsetof(struct guestgate_mediated_pmu_stats, bad_leaves) == 56);

int guestgate_mediated_pmu_create(void)
{
	return guestgate_rs_mediated_pmu_join(GUESTGATE_PMU_SIDE_MEDIATED_USER);
}
EXPORT_SYMBOL_GPL(guestgate_mediated_pmu_create);

void guestgate_mediated_pmu_release(void)
{
	WARN_ONCE(guestgate_rs_mediated_pmu_leave(GUESTGATE_PMU_SIDE_MEDIATED_USER),
		  "guestgate: mediated PMU released without a mediated user\n");
}
EXPORT_SYMBOL_GPL(guestgate_mediated_pmu_release);

int guestgate_pmu_account_event(struct perf_event *event)
{
	if (!event)
		return -EINVAL;
	if (event->attr.exclude_guest)
		return 0;
	return guestgate_rs_mediated_pmu_join(GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT);
}
EXPORT_SYMBOL_GPL(guestgate_pmu_account_event);

void guestgate_pmu_unaccount_event(struct perf_event *event)
{
	if (WARN_ON_ONCE(!event) || event->attr.exclude_guest)
		return;
	WARN_ONCE(guestgate_rs_mediated_pmu_leave(GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT),
		  "guestgate: PMU event unaccounted that was not accounted\n");
}
EXPORT_SYMBOL_GPL(guestgate_pmu_unaccount_event);

int guestgate_mediated_pmu_show(struct seq_file *m, void *unused)
{
	struct guestgate_mediated_pmu_stats st;

	guestgate_rs_mediated_pmu_stats(&st);
	seq_printf(m, "mediated_users: %lld\n", st.owners < 0 ? -st.owners : 0);
	seq_printf(m, "guest_counting_events: %lld\n", st.owners > 0 ? st.owners : 0);
	seq_printf(m, "creates: %llu\n", st.creates);
	seq_printf(m, "releases: %llu\n", st.releases);
	seq_printf(m, "ebusy: %llu\n", st.ebusy);
	seq_printf(m, "events_accounted: %llu\n", st.events_accounted);
	seq_printf(m, "events_unaccounted: %llu\n", st.events_unaccounted);
	seq_printf(m, "eopnotsupp: %llu\n", st.eopnotsupp);
	seq_printf(m, "bad_leaves: %llu\n", st.bad_leaves);
	return 0;
}

/* guestgate_rs_mediated_pmu_stats(): defined in mediated_pmu.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_mediated_pmu_stats);
/* guestgate_kunit_mediated_pmu_owners(): a Rust KUnit case in mediated_pmu.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_mediated_pmu_owners);
