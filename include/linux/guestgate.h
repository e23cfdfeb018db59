/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: KVM's guest-boundary plumbing as a standalone module.
 *
 * The C API for kernel callers such as KVM. Link against guestgate's
 * exports (KBUILD_EXTRA_SYMBOLS=<guestgate>/Module.symvers) and add
 * <guestgate>/include to the include path.
 *
 * Every function is implemented by guestgate.ko and exported GPL-only.
 */
#ifndef _LINUX_GUESTGATE_H
#define _LINUX_GUESTGATE_H

#include <linux/static_call.h>
#include <linux/types.h>
#include <uapi/linux/guestgate.h>

/* Release of this header; guestgate_get_version() reports the module's. */
#define GUESTGATE_VERSION_MAJOR	0
#define GUESTGATE_VERSION_MINOR	1
#define GUESTGATE_VERSION_PATCH	0

/**
 * guestgate_get_version() - Query the version and features of guestgate.
 * @ver: Filled with the release, the ABI version and the GUESTGATE_FEATURE_*
 *       bits of the running module.
 *
 * Context: Any context, NMI included. Does not sleep or take locks.
 * Return: 0 on success, -EINVAL if @ver is NULL.
 */
int guestgate_get_version(struct guestgate_version *ver);

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
 * @handle_intel_pt_intr: Intel PT interrupt that belongs to the guest;
 *                        returns nonzero if handled. Optional: NULL returns 0.
 * @handle_mediated_pmi: PMI of the mediated vPMU, taken while the guest owns
 *                       the PMU. Optional: NULL does nothing.
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
 * Patches every dispatch site to call the set's hooks. Hooks other than
 * @cbs->state are switched first, @cbs->state last: a section that sees the
 * new state() sees the new set's other hooks.
 *
 * Context: Process context; sleeps (text patching). Not from a callback.
 * Return: 0 on success; -EINVAL if @cbs, @cbs->state or @cbs->get_ip is
 * NULL; -EBUSY if a set (this one included) is registered.
 */
int guestgate_register_guest_info_callbacks(const struct guestgate_guest_info_callbacks *cbs);

/**
 * guestgate_unregister_guest_info_callbacks() - Remove the registered set.
 * @cbs: The set passed to guestgate_register_guest_info_callbacks().
 *
 * Switches state() back to "return 0", waits for an RCU grace period so that
 * every section that saw this set's state() has ended, then switches the
 * other hooks and waits again.
 *
 * Context: Process context; sleeps. Not from a callback.
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
 * A reading section is a sequence of dispatch calls that cannot be
 * interrupted by a grace period: NMI or hardirq context, or a region with
 * preemption disabled or rcu_read_lock() held. Within one section the hooks
 * called all belong to one set, provided get_ip() and the handlers are
 * called only once state() has returned nonzero in that section.
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
 * Context: NMI, after guestgate_guest_state() returned nonzero in the same
 * section.
 * Return: The registered set's handle_intel_pt_intr(), or 0 if it has none
 * or no set is registered.
 */
static __always_inline unsigned int guestgate_guest_handle_intel_pt_intr(void)
{
	return static_call(__guestgate_guest_handle_intel_pt_intr)();
}

/**
 * guestgate_guest_handle_mediated_pmi() - Give a mediated-vPMU PMI to the guest.
 *
 * Context: NMI, after guestgate_guest_state() returned nonzero in the same
 * section. Does nothing if the registered set has no such hook or no set is
 * registered.
 */
static __always_inline void guestgate_guest_handle_mediated_pmi(void)
{
	static_call(__guestgate_guest_handle_mediated_pmi)();
}

#endif /* _LINUX_GUESTGATE_H */
