/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: perf guest-info callbacks, registered by a hypervisor, dispatched to perf.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only.
 */
#ifndef _LINUX_GUESTGATE_PERF_H
#define _LINUX_GUESTGATE_PERF_H

#include <linux/instruction_pointer.h>
#include <linux/static_call.h>
#include <linux/types.h>

/*
 * perf guest-info callbacks
 *
 * What a hypervisor tells perf about the guest running on the current CPU,
 * so that samples taken while a guest runs are attributed to it. One set is
 * registered at a time. Dispatch goes through static calls: with nothing
 * registered a call site is patched to "return 0", with a set registered to
 * a direct call of its function. Registering and unregistering switch the
 * four hooks as one group; see Documentation/perf-guest-callbacks.rst.
 */

/**
 * struct guestgate_guest_info_callbacks - What perf may ask about the guest.
 * @state: PERF_GUEST_ACTIVE, with PERF_GUEST_USER if the guest runs in user
 *         mode, while a guest runs on this CPU (and during its exit, until
 *         the hypervisor has handled the interrupts that came in the guest);
 *         0 otherwise. Required.
 * @get_ip: The guest's instruction pointer. Called only in a section whose
 *          guestgate_guest_state() returned nonzero. Required.
 * @handle_intel_pt_intr: Intel PT (ToPA) interrupt taken while @state says a
 *                        guest runs on this CPU; returns nonzero if the
 *                        guest's. Never called while @state answers 0.
 *                        Optional: NULL returns 0.
 * @handle_mediated_pmi: PMI of the mediated vPMU, taken while the guest's
 *                       PMU context is loaded on this CPU (see
 *                       guestgate_pmu_handle_pmi()). Optional: NULL does
 *                       nothing.
 *
 * Every hook runs in NMI, hardirq or task context with preemption disabled,
 * on the CPU it reports about: it must not sleep, take locks or fault.
 */
struct guestgate_guest_info_callbacks {
	unsigned int (*state)(void);
	unsigned long (*get_ip)(void);
	unsigned int (*handle_intel_pt_intr)(void);
	void (*handle_mediated_pmi)(void);
};

/**
 * guestgate_register_guest_info_callbacks() - Install a set of callbacks.
 * @cbs: The set. It must stay valid, unchanged, until it is unregistered.
 *
 * Patches every dispatch site to call the set's hooks, all at once for
 * every caller: each CPU starts answering with @cbs between two of its
 * reading sections (see below), never within one.
 *
 * Context: Process context, not under cpus_read_lock(); sleeps (text
 * patching, a work item on every CPU). Not from a callback.
 * Return: 0 on success; -EINVAL if @cbs, @cbs->state or @cbs->get_ip is
 * NULL; -EBUSY if a set (this one included) is registered.
 */
int guestgate_register_guest_info_callbacks(const struct guestgate_guest_info_callbacks *cbs);

/**
 * guestgate_unregister_guest_info_callbacks() - Remove the registered set.
 * @cbs: The set passed to guestgate_register_guest_info_callbacks().
 *
 * Each CPU stops answering with @cbs between two of its reading sections,
 * never within one; then every site is switched back to "return 0".
 *
 * Context: Process context, not under cpus_read_lock(); sleeps. Not from
 * a callback.
 * Return: 0 on success; -ENOENT if @cbs is not the registered set. On
 * success no CPU is executing, or will execute, any hook of @cbs, NMIs
 * included: the caller may free them and unload.
 */
int guestgate_unregister_guest_info_callbacks(const struct guestgate_guest_info_callbacks *cbs);

/*
 * The static calls behind the dispatch functions below. Their keys are
 * exported only so that the module loader can patch callers' call sites
 * inline (a trampoline-only export cannot be resolved for a key that lives
 * in a module). They belong to guestgate: never static_call_update() them.
 */
DECLARE_STATIC_CALL(__guestgate_guest_state,
		    *((struct guestgate_guest_info_callbacks *)NULL)->state);
DECLARE_STATIC_CALL(__guestgate_guest_get_ip,
		    *((struct guestgate_guest_info_callbacks *)NULL)->get_ip);
DECLARE_STATIC_CALL(__guestgate_guest_handle_intel_pt_intr,
		    *((struct guestgate_guest_info_callbacks *)NULL)->handle_intel_pt_intr);
DECLARE_STATIC_CALL(__guestgate_guest_handle_mediated_pmi,
		    *((struct guestgate_guest_info_callbacks *)NULL)->handle_mediated_pmi);

/*
 * A reading section is a sequence of dispatch calls with preemption
 * disabled: an NMI or interrupt handler, or task code under
 * preempt_disable() or with interrupts off (one perf sample, which asks
 * state() several times, is one). Within one section every state() answers
 * for the same set, or all for none, whatever is registered or unregistered
 * meanwhile; get_ip() and the handlers called belong to that set, provided
 * get_ip() is called only once state() has returned nonzero in the section.
 */

/**
 * guestgate_guest_state() - State of the guest on this CPU.
 *
 * Context: NMI, hardirq, or task context in a reading section.
 * Return: The registered set's state(), or 0 if no set is registered.
 */
static __always_inline unsigned int guestgate_guest_state(void)
{
	return static_call(__guestgate_guest_state)();
}

/**
 * guestgate_guest_get_ip() - Instruction pointer of the guest on this CPU.
 *
 * Context: As guestgate_guest_state(), after it returned nonzero in the same
 * section.
 * Return: The registered set's get_ip(), or 0 if no set is registered.
 */
static __always_inline unsigned long guestgate_guest_get_ip(void)
{
	return static_call(__guestgate_guest_get_ip)();
}

/**
 * guestgate_guest_handle_intel_pt_intr() - Give an Intel PT interrupt to the guest.
 *
 * perf calls its handler on every ToPA PMI, the host's included; this calls
 * the set's only while guestgate_guest_state() says a guest runs on this
 * CPU (it asks, in the same section).
 *
 * Context: NMI.
 * Return: The registered set's handle_intel_pt_intr(); 0 if no guest runs
 * on this CPU, the set has no such hook or no set is registered.
 */
static __always_inline unsigned int guestgate_guest_handle_intel_pt_intr(void)
{
	if (!guestgate_guest_state())
		return 0;
	return static_call(__guestgate_guest_handle_intel_pt_intr)();
}

/**
 * guestgate_guest_handle_mediated_pmi() - Give a mediated-vPMU PMI to the guest.
 *
 * Called by guestgate_pmu_handle_pmi() for a PMI taken while the guest PMU
 * context is loaded on this CPU (<linux/guestgate/mediated_pmu.h>), whatever
 * guestgate_guest_state() answers then: the guest need not be running at
 * that instant.
 *
 * Context: NMI, on the CPU that took the PMI (Linux 7.0 calls it from a
 * hardirq vector of its own). Does nothing if the registered set has no
 * such hook or no set is registered.
 */
static __always_inline void guestgate_guest_handle_mediated_pmi(void)
{
	static_call(__guestgate_guest_handle_mediated_pmi)();
}

#endif /* _LINUX_GUESTGATE_PERF_H */
