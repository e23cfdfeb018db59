/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the mediated PMU ownership deal (mediated_pmu_shim.c,
 * mediated_pmu.rs).
 */
#ifndef _GUESTGATE_MEDIATED_PMU_SHIM_H
#define _GUESTGATE_MEDIATED_PMU_SHIM_H

#include <linux/types.h>

struct seq_file;

/**
 * enum guestgate_pmu_side - the two sides of the deal
 * @GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT: a host event that counts the
 *	guest (!attr.exclude_guest) on a PMU of the deal
 * @GUESTGATE_PMU_SIDE_MEDIATED_USER: a hypervisor with a mediated vPMU
 */
enum guestgate_pmu_side {
	GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT,
	GUESTGATE_PMU_SIDE_MEDIATED_USER,
};

/**
 * struct guestgate_mediated_pmu_stats - counters of the deal for debugfs
 * @owners: events that count the guest if positive, minus the mediated
 *	users if negative
 * @creates: successful guestgate_mediated_pmu_create()
 * @releases: guestgate_mediated_pmu_release() that released a user
 * @ebusy: creates refused with -EBUSY
 * @events_accounted: events that count the guest, accounted
 * @events_unaccounted: of those, unaccounted
 * @eopnotsupp: events refused with -EOPNOTSUPP
 * @bad_leaves: releases and unaccounts with nothing to take away
 */
struct guestgate_mediated_pmu_stats {
	s64 owners;
	u64 creates;
	u64 releases;
	u64 ebusy;
	u64 events_accounted;
	u64 events_unaccounted;
	u64 eopnotsupp;
	u64 bad_leaves;
};

/* mediated_pmu.rs, for mediated_pmu_shim.c */
int guestgate_rs_mediated_pmu_join(enum guestgate_pmu_side side);
int guestgate_rs_mediated_pmu_leave(enum guestgate_pmu_side side);
void guestgate_rs_mediated_pmu_stats(struct guestgate_mediated_pmu_stats *stats);
/* A mediated user exists. */
bool guestgate_rs_mediated_pmu_held(void);

/*
 * guestgate_pmu_load_guest_context() without its WARNs, for the typestate
 * of guest_entry.rs: 0, -EBUSY if this CPU has a guest PMU context loaded,
 * -EPERM without a mediated user. Interrupts disabled.
 */
int guestgate_pmu_try_load_guest_context(void);

/**
 * struct guestgate_pmu_context_stats - the guest PMU context, all CPUs
 * @cpus_loaded: CPUs with the guest's PMU context loaded now
 * @loads: guestgate_pmu_load_guest_context() that loaded
 * @puts: guestgate_pmu_put_guest_context() that put
 * @misuses: loads and puts refused (and WARNed)
 * @guest_pmis: PMIs handed to handle_mediated_pmi
 */
struct guestgate_pmu_context_stats {
	unsigned int cpus_loaded;
	u64 loads;
	u64 puts;
	u64 misuses;
	u64 guest_pmis;
};

/* For debugfs and KUnit: the sums over the CPUs, each read once. */
void guestgate_pmu_context_stats(struct guestgate_pmu_context_stats *stats);

/* debugfs guestgate/mediated_pmu (device_shim.c's table) */
int guestgate_mediated_pmu_show(struct seq_file *m, void *unused);

/* Rust KUnit case in mediated_pmu.rs */
struct kunit;
void guestgate_kunit_mediated_pmu_owners(struct kunit *test);

#endif /* _GUESTGATE_MEDIATED_PMU_SHIM_H */
