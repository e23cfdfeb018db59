/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the mediated vPMU's ownership deal, for PMUs a module owns.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only. See Documentation/mediated-pmu.rst.
 */
#ifndef _LINUX_GUESTGATE_MEDIATED_PMU_H
#define _LINUX_GUESTGATE_MEDIATED_PMU_H

struct perf_event;

/*
 * The mediated PMU ownership deal
 *
 * A hypervisor that gives its guests the PMU itself (a mediated vPMU) and a
 * host event that wants to count the guest cannot both have the PMU. The
 * deal: a hypervisor becomes a mediated user only while no host event that
 * counts the guest (!attr.exclude_guest) exists on a PMU of the deal, and
 * while a mediated user exists no such event can be created. Host events
 * that exclude the guest may exist throughout.
 *
 * A PMU takes part by calling guestgate_pmu_account_event() from its
 * event_init and guestgate_pmu_unaccount_event() from the event's destroy.
 * The rules hold across every PMU of the deal, not per PMU, as in Linux
 * 7.0's perf core (perf_create_mediated_pmu()).
 */

/**
 * guestgate_mediated_pmu_create() - Become a mediated user of the PMUs.
 *
 * Any number of mediated users may exist at once (one per VM, say). Pair
 * each success with one guestgate_mediated_pmu_release().
 *
 * Context: Any context that may read an atomic; does not sleep.
 * Return: 0 on success; -EBUSY while an event that counts the guest exists
 * on a PMU of the deal.
 */
int guestgate_mediated_pmu_create(void);

/**
 * guestgate_mediated_pmu_release() - Stop being a mediated user.
 *
 * Undoes one successful guestgate_mediated_pmu_create(). A release without
 * a mediated user is a bug of the caller: it WARNs once and changes
 * nothing.
 *
 * Context: Any context that may write an atomic; does not sleep.
 */
void guestgate_mediated_pmu_release(void);

/**
 * guestgate_pmu_account_event() - Enter an event into the deal.
 * @event: The event being initialised, by its PMU's event_init, after the
 *         PMU's own checks have passed.
 *
 * An event that counts the guest (!@event->attr.exclude_guest) is counted
 * against the mediated users; one that excludes the guest is not counted
 * and always accepted. If this succeeds, the PMU must call
 * guestgate_pmu_unaccount_event() from @event's destroy: set
 * @event->destroy only after this succeeded, since perf calls destroy for
 * every event whose event_init returned 0 and for no other.
 *
 * Context: The PMU's event_init (process context); does not sleep.
 * Return: 0 on success; -EOPNOTSUPP if @event counts the guest while a
 * mediated user exists; -EINVAL if @event is NULL.
 */
int guestgate_pmu_account_event(struct perf_event *event);

/**
 * guestgate_pmu_unaccount_event() - Take an event out of the deal.
 * @event: An event for which guestgate_pmu_account_event() succeeded.
 *
 * Call once per successful guestgate_pmu_account_event(), from the event's
 * destroy. Unaccounting an event that counts the guest when none is
 * counted is a bug of the caller: it WARNs once and changes nothing.
 *
 * Context: Any context that may write an atomic; does not sleep.
 */
void guestgate_pmu_unaccount_event(struct perf_event *event);

#endif /* _LINUX_GUESTGATE_MEDIATED_PMU_H */
