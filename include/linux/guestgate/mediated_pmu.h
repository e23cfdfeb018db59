/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the mediated vPMU's ownership deal, for PMUs a module owns.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only. See Documentation/mediated-pmu.rst.
 */
#ifndef _LINUX_GUESTGATE_MEDIATED_PMU_H
#define _LINUX_GUESTGATE_MEDIATED_PMU_H

#include <linux/types.h>

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
 *
 * While a guest runs, the hardware is the guest's: the hypervisor loads the
 * guest PMU context at guest entry, after interrupts are disabled, and puts
 * it back before it enables them again. While it is loaded on a CPU, the
 * host events of every registered struct guestgate_pmu on that CPU (which
 * all exclude the guest, by the deal) are stopped with their counts frozen.
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
 * nothing. (A release of another caller's user cannot be told apart.)
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
 * guestgate_pmu_unaccount_event() from @event's destroy. Set
 * @event->destroy only after this succeeded: perf calls an event's destroy
 * whenever it is set, also when event_init then fails.
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

/**
 * struct guestgate_pmu - A PMU whose host events step aside for the guest.
 * @load_guest: Called on the loading CPU by
 *              guestgate_pmu_load_guest_context(), interrupts disabled:
 *              stop this CPU's events of the PMU with their counts frozen,
 *              and keep any event that perf adds or starts on this CPU
 *              stopped, until @put_guest. Required.
 * @put_guest: Called on the same CPU by guestgate_pmu_put_guest_context(),
 *             interrupts disabled, after the hypervisor saved and zeroed
 *             the guest's counters: resume the events. Also called on a
 *             CPU that loaded before the PMU was registered, and on every
 *             CPU by guestgate_pmu_unregister(): it must do nothing where
 *             @load_guest has not run since the last @put_guest. Required.
 * @node: guestgate's.
 *
 * The hooks must not sleep, take sleeping locks or fault.
 */
struct guestgate_pmu {
	void (*load_guest)(struct guestgate_pmu *gpmu);
	void (*put_guest)(struct guestgate_pmu *gpmu);
	struct list_head node;
};

/**
 * guestgate_pmu_register() - Have a PMU's host events step aside for guests.
 * @gpmu: The PMU's hooks; valid until guestgate_pmu_unregister() returns.
 *
 * Context: Process context; sleeps.
 * Return: 0 on success; -EINVAL if @gpmu or one of its hooks is NULL;
 * -EBUSY if @gpmu is already registered.
 */
int guestgate_pmu_register(struct guestgate_pmu *gpmu);

/**
 * guestgate_pmu_unregister() - Undo guestgate_pmu_register().
 * @gpmu: A registered PMU.
 *
 * Takes @gpmu out of the context switch, waits for the loads and puts that
 * may still see it (an RCU grace period), then calls @put_guest on every
 * CPU, from an IPI: an IPI is taken between two loaded windows, never in
 * one, so each CPU whose context was loaded with @gpmu in it has put it
 * by then, and @put_guest resumes what that put no longer did. Once it
 * returns, no CPU runs or will run a hook of @gpmu.
 *
 * Context: Process context; sleeps.
 * Return: 0 on success; -ENOENT if @gpmu is not registered.
 */
int guestgate_pmu_unregister(struct guestgate_pmu *gpmu);

/**
 * guestgate_pmu_load_guest_context() - Give this CPU's PMUs to the guest.
 *
 * Calls @load_guest of every registered PMU on this CPU. The hypervisor
 * then loads the guest's counters and enters the guest; PMIs taken from
 * here to guestgate_pmu_put_guest_context() are the guest's
 * (guestgate_pmu_guest_context_loaded()). Linux 7.0's
 * perf_load_guest_context().
 *
 * Misuse WARNs once and changes nothing: interrupts enabled, a context
 * loaded on this CPU already, or no mediated user.
 *
 * Context: Interrupts disabled, at guest entry, before guest timing is
 * entered; held by a mediated user (guestgate_mediated_pmu_create()).
 */
void guestgate_pmu_load_guest_context(void);

/**
 * guestgate_pmu_put_guest_context() - Give this CPU's PMUs back to the host.
 *
 * The hypervisor has saved the guest's counters and written 0 to every
 * counter and event selector the guest used. Calls @put_guest of every
 * registered PMU on this CPU. Linux 7.0's perf_put_guest_context().
 *
 * Misuse WARNs once and changes nothing: interrupts enabled, or no context
 * loaded on this CPU.
 *
 * Context: Interrupts disabled since guestgate_pmu_load_guest_context(), at
 * guest exit, before they are enabled again.
 */
void guestgate_pmu_put_guest_context(void);

/**
 * guestgate_pmu_guest_context_loaded() - Is the guest's PMU context loaded?
 *
 * For a PMU's callbacks and its interrupt handler: true from
 * guestgate_pmu_load_guest_context() to guestgate_pmu_put_guest_context()
 * on this CPU. A PMI taken meanwhile is the guest's.
 *
 * Context: Preemption disabled (any context, NMI included).
 * Return: true while this CPU has the guest's PMU context loaded.
 */
bool guestgate_pmu_guest_context_loaded(void);

/**
 * guestgate_pmu_handle_pmi() - Hand a PMI to the guest if it is the guest's.
 *
 * For a PMU's NMI handler, before anything else: while the guest PMU
 * context is loaded on this CPU, the interrupt is the guest's, whether or
 * not the guest runs at this instant; it goes to handle_mediated_pmi of the
 * registered perf guest-info callbacks (guestgate_guest_handle_mediated_pmi())
 * and must not be handled as the host's. The routing is by the context, not
 * by the callbacks' state(), as in Linux 7.0, which points the PMI at a
 * vector of its own while the context is loaded. It needs an NMI: the
 * context is loaded with interrupts disabled, so a PMI that is a maskable
 * interrupt is taken after the put and is the host's here, where 7.0 still
 * tells it apart by its vector.
 *
 * Context: The PMU's NMI handler, on the CPU that took it.
 * Return: true if the PMI was the guest's and was handed over; false if it
 * is the host's.
 */
bool guestgate_pmu_handle_pmi(void);

#endif /* _LINUX_GUESTGATE_MEDIATED_PMU_H */
