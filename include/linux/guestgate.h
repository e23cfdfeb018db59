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

#include <linux/bits.h>
#include <linux/context_tracking.h>
#include <linux/instruction_pointer.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/static_call.h>
#include <linux/types.h>
#include <linux/vtime.h>
#include <asm/page.h>
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
 * @handle_intel_pt_intr: Intel PT (ToPA) interrupt taken while @state says a
 *                        guest runs on this CPU; returns nonzero if the
 *                        guest's. Never called while @state answers 0.
 *                        Optional: NULL returns 0.
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
 * Patches every dispatch site to call the set's hooks: the other hooks
 * first, behind state(); then each CPU starts answering with @cbs->state
 * between two of its reading sections (see below), never within one.
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
 * Each CPU stops answering with @cbs->state between two of its reading
 * sections, never within one; then every site is switched back to "return
 * 0", and an RCU grace period waits for the calls still under way.
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
 * Context: NMI, after guestgate_guest_state() returned nonzero in the same
 * section. Does nothing if the registered set has no such hook or no set is
 * registered.
 */
static __always_inline void guestgate_guest_handle_mediated_pmi(void)
{
	static_call(__guestgate_guest_handle_mediated_pmi)();
}

/*
 * Guest entry and exit
 *
 * What a hypervisor tells the kernel around running a guest, in this order
 * (see Documentation/guest-entry-exit.rst):
 *
 *	local_irq_disable();
 *	guestgate_timing_enter_irqoff();
 *	guestgate_state_enter_irqoff();		(noinstr caller)
 *	<run the guest>
 *	guestgate_state_exit_irqoff();		(noinstr caller)
 *	local_irq_enable();			take the guest's interrupts
 *	local_irq_disable();
 *	guestgate_timing_exit_irqoff();
 *	local_irq_enable();
 *
 * Ticks taken while guest timing is entered are charged to the task as guest
 * time, so timing exit comes after the interrupts that arrived during the
 * guest were taken. Between context enter and context exit (inside state
 * enter/exit) the CPU is in an RCU extended quiescent state: no RCU,
 * tracing, lockdep or instrumented code may run there, so the code that
 * runs the guest is noinstr.
 *
 * Every function keeps a per-CPU state (idle, timing, guest) and checks the
 * call against it. A call with interrupts enabled, out of order, nested or
 * unbalanced triggers a one-time warning naming the rule and is recovered:
 * an entry whose precondition fails is not done (the CPU stays where it
 * was: RCU watching, no guest time); an exit always brings the CPU back to
 * the state its name leaves, exiting an inner level first and disabling
 * interrupts for the exit if they were enabled. A warning due while RCU is
 * not watching is deferred to the next exit.
 */

/* private: the per-CPU state the helpers below keep, and its counters. */
enum guestgate_entry_state {
	GUESTGATE_ENTRY_IDLE,
	GUESTGATE_ENTRY_TIMING,
	/* in the guest, entered by guestgate_context_enter_irqoff() */
	GUESTGATE_ENTRY_CONTEXT,
	/* in the guest, entered by guestgate_state_enter_irqoff() */
	GUESTGATE_ENTRY_STATE,
};

/* The rules a C caller of the guest entry helpers can break. */
enum guestgate_entry_misuse {
	GUESTGATE_MISUSE_IRQS_ON,
	GUESTGATE_MISUSE_TIMING_NESTED,
	GUESTGATE_MISUSE_NO_TIMING,
	GUESTGATE_MISUSE_GUEST_NESTED,
	GUESTGATE_MISUSE_EXIT_NOT_ENTERED,
	GUESTGATE_MISUSE_EXIT_MISMATCHED,
	GUESTGATE_MISUSE_TIMING_EXIT_NOT_ENTERED,
	GUESTGATE_MISUSE_TIMING_EXIT_IN_GUEST,
	GUESTGATE_ENTRY_NR_MISUSE,
};

/**
 * struct guestgate_entry_stats - counters of guest entry and exit
 * @timing_enters: guest timing entered
 * @timing_exits: guest timing exited
 * @guest_enters: guest context entered (by context or state enter)
 * @guest_exits: guest context exited
 * @misuse: misuse found, per enum guestgate_entry_misuse
 */
struct guestgate_entry_stats {
	u64 timing_enters;
	u64 timing_exits;
	u64 guest_enters;
	u64 guest_exits;
	u64 misuse[GUESTGATE_ENTRY_NR_MISUSE];
};

/**
 * struct guestgate_entry_cpu - Guest entry state of one CPU (private).
 * @state: enum guestgate_entry_state.
 * @pending: Misuse found while RCU was not watching, BIT(kind) each; warned
 *           about at the next exit.
 * @stats: Counters, summed over the CPUs for debugfs.
 */
struct guestgate_entry_cpu {
	u8 state;
	u16 pending;
	struct guestgate_entry_stats stats;
};

DECLARE_PER_CPU(struct guestgate_entry_cpu, guestgate_entry_cpu);

/**
 * guestgate_entry_warn() - Warn once about each misuse in @kinds (private).
 * @kinds: BIT(enum guestgate_entry_misuse) of each rule broken.
 * @fn: The helper that found it.
 *
 * The slow path of the helpers below: one WARN per rule and boot.
 *
 * Context: RCU watching; called between instrumentation_begin() and
 * instrumentation_end().
 */
void guestgate_entry_warn(unsigned long kinds, const char *fn);

/*
 * The helpers are inline, as <linux/kvm_host.h>'s are, so that they cost
 * no calls; the state machine is a per-CPU byte accessed with raw_cpu_*()
 * (every caller has interrupts disabled; single uninstrumented
 * instructions). Everything below may run while RCU is not watching.
 */
/*
 * raw_irqs_disabled(), with the flags read into a register: the compiler
 * may give native_save_fl() a stack slot, and with it a stack protector
 * canary to every caller.
 */
static __always_inline bool __guestgate_irqs_disabled(void)
{
#if defined(CONFIG_X86) && !defined(CONFIG_PARAVIRT_XXL)
	unsigned long flags;

	asm volatile("pushf; pop %0" : "=r" (flags) : : "memory");
	return !(flags & X86_EFLAGS_IF);
#else
	return raw_irqs_disabled();
#endif
}

static __always_inline u8 __guestgate_state(void)
{
	return raw_cpu_read(guestgate_entry_cpu.state);
}

static __always_inline void __guestgate_set_state(u8 state)
{
	raw_cpu_write(guestgate_entry_cpu.state, state);
}

/* RCU does not watch from context enter to context exit. */
static __always_inline bool __guestgate_in_guest(u8 state)
{
	return state == GUESTGATE_ENTRY_CONTEXT || state == GUESTGATE_ENTRY_STATE;
}

static __always_inline void
__guestgate_misuse(enum guestgate_entry_misuse kind, const char *fn)
{
	raw_cpu_inc(guestgate_entry_cpu.stats.misuse[kind]);
	if (__guestgate_in_guest(__guestgate_state())) {
		raw_cpu_or(guestgate_entry_cpu.pending, BIT(kind));
		return;
	}
	instrumentation_begin();
	guestgate_entry_warn(BIT(kind), fn);
	instrumentation_end();
}

/* The warnings deferred while RCU was not watching; RCU watches again. */
static __always_inline void __guestgate_flush_misuse(const char *fn)
{
	if (unlikely(raw_cpu_read(guestgate_entry_cpu.pending))) {
		unsigned long kinds = raw_cpu_xchg(guestgate_entry_cpu.pending, 0);

		instrumentation_begin();
		guestgate_entry_warn(kinds, fn);
		instrumentation_end();
	}
}

/* As guest_context_enter_irqoff() of <linux/kvm_host.h>. */
static __always_inline void __guestgate_context_enter(void)
{
	if (!context_tracking_guest_enter()) {
		instrumentation_begin();
		rcu_virt_note_context_switch();
		instrumentation_end();
	}
}

/* As guest_context_exit_irqoff() of <linux/kvm_host.h>. */
static __always_inline void __guestgate_context_exit(void)
{
	if (!context_tracking_guest_exit()) {
		instrumentation_begin();
		rcu_virt_note_context_switch();
		instrumentation_end();
	}
}

/* Whether a guest may be entered; warns and says no otherwise. */
static __always_inline bool __guestgate_may_enter_guest(const char *fn)
{
	u8 state;

	if (unlikely(!__guestgate_irqs_disabled())) {
		__guestgate_misuse(GUESTGATE_MISUSE_IRQS_ON, fn);
		return false;
	}
	state = __guestgate_state();
	if (unlikely(state != GUESTGATE_ENTRY_TIMING)) {
		__guestgate_misuse(state == GUESTGATE_ENTRY_IDLE ?
				   GUESTGATE_MISUSE_NO_TIMING :
				   GUESTGATE_MISUSE_GUEST_NESTED, fn);
		return false;
	}
	return true;
}

/*
 * Leaves the guest entered as @state, the way it was entered: state exit
 * tells lockdep and tracing, context exit does not.
 */
static __always_inline void __guestgate_exit_guest(u8 state, unsigned long ip)
{
	if (state == GUESTGATE_ENTRY_STATE)
		lockdep_hardirqs_off(ip);
	__guestgate_context_exit();
	__guestgate_set_state(GUESTGATE_ENTRY_TIMING);
	raw_cpu_inc(guestgate_entry_cpu.stats.guest_exits);
	if (state == GUESTGATE_ENTRY_STATE) {
		instrumentation_begin();
		trace_hardirqs_off_finish();
		instrumentation_end();
	}
}

/*
 * An exit called with interrupts enabled is done with them disabled; they
 * are enabled again afterwards. Lockdep and tracing are told they are off
 * as soon as RCU watches (__guestgate_exit_irqs_told()), before any
 * accounting, and told they are on when they are enabled again.
 */
static __always_inline bool __guestgate_exit_irqs_off(void)
{
	if (likely(__guestgate_irqs_disabled()))
		return false;
	raw_local_irq_disable();
	return true;
}

/* Called once RCU watches (and before vtime accounting). */
static __always_inline void __guestgate_exit_irqs_told(bool was_on)
{
	if (unlikely(was_on)) {
		instrumentation_begin();
		trace_hardirqs_off();
		instrumentation_end();
	}
}

static __always_inline void __guestgate_exit_irqs_restore(bool was_on,
							  const char *fn)
{
	if (unlikely(was_on)) {
		__guestgate_misuse(GUESTGATE_MISUSE_IRQS_ON, fn);
		instrumentation_begin();
		local_irq_enable();
		instrumentation_end();
	}
}

static __always_inline void __guestgate_exit_guest_checked(u8 want,
							   const char *fn,
							   unsigned long ip)
{
	bool was_on = __guestgate_exit_irqs_off();
	u8 state = __guestgate_state();

	if (likely(__guestgate_in_guest(state))) {
		__guestgate_exit_guest(state, ip);
		__guestgate_exit_irqs_told(was_on);
		if (unlikely(state != want))
			__guestgate_misuse(GUESTGATE_MISUSE_EXIT_MISMATCHED, fn);
	} else {
		__guestgate_exit_irqs_told(was_on);
		__guestgate_misuse(GUESTGATE_MISUSE_EXIT_NOT_ENTERED, fn);
	}
	__guestgate_exit_irqs_restore(was_on, fn);
	__guestgate_flush_misuse(fn);
}

/**
 * guestgate_timing_enter_irqoff() - Start charging time to the guest.
 *
 * Sets PF_VCPU on the current task (on a CPU with vtime accounting, starts
 * its guest vtime). Must be called before guestgate_state_enter_irqoff() or
 * guestgate_context_enter_irqoff(), from the task that runs the guest.
 *
 * Context: Interrupts disabled; noinstr callers allowed.
 */
static __always_inline void guestgate_timing_enter_irqoff(void)
{
	if (unlikely(!__guestgate_irqs_disabled())) {
		__guestgate_misuse(GUESTGATE_MISUSE_IRQS_ON, __func__);
		return;
	}
	if (unlikely(__guestgate_state() != GUESTGATE_ENTRY_IDLE)) {
		__guestgate_misuse(GUESTGATE_MISUSE_TIMING_NESTED, __func__);
		return;
	}
	raw_cpu_inc(guestgate_entry_cpu.stats.timing_enters);
	instrumentation_begin();
	vtime_account_guest_enter();
	instrumentation_end();
	__guestgate_set_state(GUESTGATE_ENTRY_TIMING);
}

/**
 * guestgate_timing_exit_irqoff() - Stop charging time to the guest.
 *
 * Clears PF_VCPU (flushes guest vtime). Called after the guest was exited
 * and the interrupts that arrived while it ran were taken, so that the ticks
 * among them count as guest time.
 *
 * Context: Interrupts disabled; noinstr callers allowed.
 */
static __always_inline void guestgate_timing_exit_irqoff(void)
{
	bool was_on = __guestgate_exit_irqs_off();
	u8 state = __guestgate_state();

	if (unlikely(state == GUESTGATE_ENTRY_IDLE)) {
		__guestgate_exit_irqs_told(was_on);
		__guestgate_misuse(GUESTGATE_MISUSE_TIMING_EXIT_NOT_ENTERED,
				   __func__);
	} else {
		if (unlikely(__guestgate_in_guest(state))) {
			__guestgate_exit_guest(state, _RET_IP_);
			__guestgate_exit_irqs_told(was_on);
			__guestgate_misuse(GUESTGATE_MISUSE_TIMING_EXIT_IN_GUEST,
					   __func__);
		} else {
			__guestgate_exit_irqs_told(was_on);
		}
		instrumentation_begin();
		vtime_account_guest_exit();
		instrumentation_end();
		__guestgate_set_state(GUESTGATE_ENTRY_IDLE);
		raw_cpu_inc(guestgate_entry_cpu.stats.timing_exits);
	}
	__guestgate_exit_irqs_restore(was_on, __func__);
	__guestgate_flush_misuse(__func__);
}

/**
 * guestgate_context_enter_irqoff() - Enter guest context.
 *
 * Enters the RCU extended quiescent state of guest mode through context
 * tracking (on a CPU without it, notes a context switch to RCU). From here to
 * guestgate_context_exit_irqoff() no RCU, tracing, lockdep or instrumented
 * code may run. Lockdep and IRQ-flag tracing are not told; prefer
 * guestgate_state_enter_irqoff(), which does.
 *
 * Context: Interrupts disabled, guest timing entered, noinstr caller.
 */
static __always_inline void guestgate_context_enter_irqoff(void)
{
	if (!__guestgate_may_enter_guest(__func__))
		return;
	raw_cpu_inc(guestgate_entry_cpu.stats.guest_enters);
	__guestgate_set_state(GUESTGATE_ENTRY_CONTEXT);
	__guestgate_context_enter();
}

/**
 * guestgate_context_exit_irqoff() - Exit guest context.
 *
 * Leaves the RCU extended quiescent state entered by
 * guestgate_context_enter_irqoff().
 *
 * Context: Interrupts disabled, noinstr caller.
 */
static __always_inline void guestgate_context_exit_irqoff(void)
{
	__guestgate_exit_guest_checked(GUESTGATE_ENTRY_CONTEXT, __func__,
				       _RET_IP_);
}

/**
 * guestgate_state_enter_irqoff() - Fix up the kernel's state to run the guest.
 *
 * In order: tells IRQ-flag tracing, then lockdep, that interrupts are about
 * to be enabled; enters guest context (guestgate_context_enter_irqoff());
 * tells lockdep that interrupts are enabled. The guest runs with interrupts
 * enabled as far as lockdep and tracing know. The analogue of
 * exit_to_user_mode().
 *
 * Context: Interrupts disabled, guest timing entered, noinstr caller.
 */
static __always_inline void guestgate_state_enter_irqoff(void)
{
	if (!__guestgate_may_enter_guest(__func__))
		return;
	raw_cpu_inc(guestgate_entry_cpu.stats.guest_enters);
	instrumentation_begin();
	trace_hardirqs_on_prepare();
	lockdep_hardirqs_on_prepare();
	instrumentation_end();
	__guestgate_set_state(GUESTGATE_ENTRY_STATE);
	__guestgate_context_enter();
	lockdep_hardirqs_on(_RET_IP_);
}

/**
 * guestgate_state_exit_irqoff() - Restore the kernel's state after the guest.
 *
 * In order: tells lockdep that interrupts are disabled; exits guest context
 * (RCU watches again); tells IRQ-flag tracing that interrupts are disabled.
 * The analogue of enter_from_user_mode().
 *
 * Context: Interrupts disabled, noinstr caller.
 */
static __always_inline void guestgate_state_exit_irqoff(void)
{
	__guestgate_exit_guest_checked(GUESTGATE_ENTRY_STATE, __func__,
				       _RET_IP_);
}

/**
 * exit_to_guest_mode() - Same as guestgate_state_enter_irqoff().
 *
 * The name of the generic helper proposal this API follows, kept for code
 * written against it.
 *
 * Context: As guestgate_state_enter_irqoff().
 */
static __always_inline void exit_to_guest_mode(void)
{
	guestgate_state_enter_irqoff();
}

/**
 * enter_from_guest_mode() - Same as guestgate_state_exit_irqoff().
 *
 * Context: As guestgate_state_exit_irqoff().
 */
static __always_inline void enter_from_guest_mode(void)
{
	guestgate_state_exit_irqoff();
}

/*
 * pfn cache
 *
 * A kernel mapping of one user page of one mm, kept coherent with that mm's
 * page tables by an mmu interval notifier covering exactly that page: the
 * standalone form of KVM's gfn_to_pfn_cache (see Documentation/pfn-cache.rst).
 * The cache holds no reference on the page. It is safe to access the page
 * through guestgate_gpc_khva() only while holding the cache's read lock
 * after guestgate_gpc_check() returned true in the same critical section:
 * the notifier takes the write lock and clears the cache before the page is
 * unmapped. A failed check is followed, outside the read lock and in the
 * cache's mm, by guestgate_gpc_refresh():
 *
 *	guestgate_gpc_read_lock(gpc);
 *	while (!guestgate_gpc_check(gpc, len)) {
 *		guestgate_gpc_read_unlock(gpc);
 *		if (guestgate_gpc_refresh(gpc, len))
 *			return error;
 *		guestgate_gpc_read_lock(gpc);
 *	}
 *	<access guestgate_gpc_khva(gpc), up to len bytes>
 *	guestgate_gpc_read_unlock(gpc);
 *
 * An access covers [uhva, uhva + len) and must not cross a page boundary.
 */

struct guestgate_memslots;

/**
 * struct guestgate_gpc_checks - checks of one pfn cache on one CPU
 * @count: checks that did not find the cache valid (@count[0], misses) and
 *         that did (@count[1], hits), indexed by the check's answer so that
 *         counting takes no branch
 */
struct guestgate_gpc_checks {
	u64 count[2];
};

/**
 * struct guestgate_gpc - a pfn cache, as its readers see it
 * @khva: kernel address of the cached access (in the cached page, at the
 *        offset of @uhva) while @valid, NULL otherwise
 * @uhva: user address of the access; for a cache activated by gpa, until a
 *        refresh resolved it, the gpa's offset in its page
 * @slots_generation: what @generation is compared with: the generation of
 *                    the memslot table of a cache activated by gpa, otherwise
 *                    @generation itself (never NULL: the check takes no branch)
 * @generation: the table's generation that resolved @uhva
 * @checks: hits and misses of guestgate_gpc_check(), per CPU: readers on
 *          several CPUs would otherwise bounce one cache line
 * @valid: @khva maps the page at @uhva, and an invalidation of that page
 *         clears it first
 * @lock: held for reading around check and access; for writing by whatever
 *        changes the members above
 *
 * Allocated by guestgate_gpc_init(), as the first member of a larger private
 * structure. Callers read it only through the inline functions below, which
 * are the fast path: no call into guestgate between taking the read lock and
 * dropping it. Written only by guestgate, with @lock held for writing.
 */
struct guestgate_gpc {
	void *khva;
	u64 uhva;
	const u64 *slots_generation;
	u64 generation;
	struct guestgate_gpc_checks __percpu *checks;
	bool valid;
	rwlock_t lock;
};

/**
 * enum guestgate_gpc_flags - flags of guestgate_gpc_init()
 * @GUESTGATE_GPC_WRITABLE: the cache looks its pages up for writing
 */
enum guestgate_gpc_flags {
	GUESTGATE_GPC_WRITABLE = BIT(0),
};

/**
 * struct guestgate_gpc_stats - counters of one pfn cache
 * @hits: checks that found the cache valid
 * @misses: checks that did not
 * @refreshes: refreshes that made the cache valid
 * @invalidations: calls of the cache's notifier (its page was invalidated)
 * @retries: page lookups thrown away because an invalidation of the page
 *           raced with them
 */
struct guestgate_gpc_stats {
	u64 hits;
	u64 misses;
	u64 refreshes;
	u64 invalidations;
	u64 retries;
};

/**
 * guestgate_memslots_create() - Create an empty memslot table.
 * @slotsp: Set to the new table on success.
 *
 * A memslot table maps guest frame numbers to user addresses, one range per
 * slot, for caches activated by guest physical address. Every change bumps
 * its generation, which invalidates every cache resolved through it.
 *
 * Context: Process context; may sleep.
 * Return: 0 on success, -ENOMEM.
 */
int guestgate_memslots_create(struct guestgate_memslots **slotsp);

/**
 * guestgate_memslots_set() - Set, replace or delete one slot.
 * @slots: The table.
 * @id: The slot, below GUESTGATE_MEMSLOTS_MAX.
 * @base_gfn: First guest frame number of the slot.
 * @npages: Pages in the slot; 0 deletes the slot.
 * @uhva: Page-aligned user address of @base_gfn.
 *
 * Bumps the table's generation: caches resolved through the table fail
 * their next check and re-resolve their address on refresh.
 *
 * Context: Process context; may sleep.
 * Return: 0 on success; -EINVAL for a bad @id, an unaligned @uhva or a range
 * that wraps; -EEXIST if the range overlaps another slot's.
 */
int guestgate_memslots_set(struct guestgate_memslots *slots, u32 id,
			   u64 base_gfn, u64 npages, unsigned long uhva);

/**
 * guestgate_memslots_generation() - The generation of a memslot table.
 * @slots: The table.
 *
 * Context: Any context.
 * Return: The number of changes made to @slots so far.
 */
u64 guestgate_memslots_generation(struct guestgate_memslots *slots);

/**
 * guestgate_memslots_destroy() - Drop the creator's reference to a table.
 * @slots: The table, or NULL.
 *
 * Caches activated on @slots keep it alive until they are deactivated.
 *
 * Context: Process context.
 */
void guestgate_memslots_destroy(struct guestgate_memslots *slots);

/**
 * guestgate_gpc_init() - Allocate a pfn cache bound to the current mm.
 * @gpcp: Set to the new, inactive cache on success.
 * @flags: GUESTGATE_GPC_WRITABLE to map pages for writing, or 0.
 *
 * The cache belongs to current->mm for its lifetime: activation and refresh
 * are done from tasks running in that mm.
 *
 * Context: Process context with an mm; may sleep.
 * Return: 0 on success; -EINVAL without an mm or with unknown @flags;
 * -ENOMEM.
 */
int guestgate_gpc_init(struct guestgate_gpc **gpcp, unsigned int flags);

/**
 * guestgate_gpc_activate() - Cache the page of a guest physical address.
 * @gpc: The cache.
 * @slots: The memslot table that resolves @gpa; the cache takes a reference.
 * @gpa: Guest physical address of the access.
 * @len: Length of the access.
 *
 * Makes the cache active, then refreshes it. If the refresh fails the
 * cache stays active and invalid, and a later refresh tries again.
 *
 * Context: Process context in the cache's mm; sleeps.
 * Return: 0 on success; -EINVAL if [@gpa, @gpa + @len) crosses a page or
 * @slots is NULL; -EFAULT if @gpa is in no slot, its page is not mapped (or not writable,
 * for a writable cache), or the caller is not in the cache's mm; -ENOMEM.
 */
int guestgate_gpc_activate(struct guestgate_gpc *gpc,
			   struct guestgate_memslots *slots, u64 gpa,
			   unsigned long len);

/**
 * guestgate_gpc_activate_hva() - Cache the page of a user address.
 * @gpc: The cache.
 * @uhva: User address of the access, in the cache's mm.
 * @len: Length of the access.
 *
 * As guestgate_gpc_activate(), without a memslot table.
 *
 * Context: Process context in the cache's mm; sleeps.
 * Return: 0 on success; -EINVAL if [@uhva, @uhva + @len) crosses a page;
 * -EFAULT if the page is not mapped (or not writable, for a writable
 * cache), or the caller is not in the cache's mm; -ENOMEM.
 */
int guestgate_gpc_activate_hva(struct guestgate_gpc *gpc, unsigned long uhva,
			       unsigned long len);

/**
 * guestgate_gpc_pfn() - Page frame number of the cached page.
 * @gpc: The cache, read-locked, with a successful guestgate_gpc_check().
 *
 * Context: Any context, with the read lock held.
 * Return: The pfn, or 0 if the cache is not valid.
 */
unsigned long guestgate_gpc_pfn(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_refresh() - Look the cached page up again.
 * @gpc: The active cache; the read lock not held.
 * @len: Length of the access.
 *
 * Re-resolves a guest physical address through its memslot table, faults
 * the page in, and publishes it unless an invalidation of that page raced
 * with the lookup (then it looks again). Invalidations of other ranges of
 * the mm never make it look again. A cache still valid for the address
 * (and memslot generation) it resolves to is left as it is: its notifier
 * keeps it current. Refreshes of one cache are serialized.
 *
 * Context: Process context in the cache's mm, mmap_lock not held (the order
 * is the refresh mutex, then mmap_lock); sleeps.
 * Return: 0 on success; -EINVAL if the cache is inactive or the access
 * crosses a page, -EFAULT if the caller is not in the cache's mm (the cache
 * is left as it was in these cases); otherwise, on failure, the cache is
 * invalid: -EFAULT as for guestgate_gpc_activate(), or what the page lookup
 * returned (-ENOMEM, -EINTR on a fatal signal, -EHWPOISON, -EBUSY).
 */
int guestgate_gpc_refresh(struct guestgate_gpc *gpc, unsigned long len);

/**
 * guestgate_gpc_invalidate() - Make the cache invalid until its next refresh.
 * @gpc: The cache.
 *
 * For a user that keeps state of its own beside the cache and checks it
 * with guestgate_gpc_check() under the same read lock (KVM's memslot, gpa
 * and generation): once this returned, no reader finds the cache valid
 * until a refresh or an activation publishes it again, so that state may
 * be changed meanwhile (by a task that serializes it with those refreshes)
 * without a reader seeing it half changed beside a valid mapping. The
 * request, the notifier and the memslot table stay as they are.
 *
 * Context: Process context, any task; sleeps (waits for a refresh under way).
 */
void guestgate_gpc_invalidate(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_deactivate() - Stop caching.
 * @gpc: The cache.
 *
 * Invalidates the cache and drops its memslot table. The cache may be
 * activated again. Its notifier stays on the page it watched until the
 * cache is destroyed or activated on another page: activating it on the
 * same page again inserts none. (Inserting an interval notifier while any
 * invalidation is in flight in the mm makes the refresh's first sequence
 * read wait, uninterruptibly, until none is.)
 *
 * Context: Process context, any task; sleeps.
 */
void guestgate_gpc_deactivate(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_destroy() - Deactivate and free a cache.
 * @gpc: The cache, or NULL.
 *
 * Context: Process context, any task; sleeps.
 */
void guestgate_gpc_destroy(struct guestgate_gpc *gpc);

/**
 * guestgate_gpc_stats() - Read the counters of a cache.
 * @gpc: The cache.
 * @stats: Filled.
 *
 * Context: Any context.
 */
void guestgate_gpc_stats(struct guestgate_gpc *gpc,
			 struct guestgate_gpc_stats *stats);

/**
 * guestgate_gpc_read_lock() - Take the read lock of a cache.
 * @gpc: The cache.
 *
 * Context: Task or softirq context, or with interrupts disabled. Readers in
 * hardirq context and the notifier disable interrupts, so a task reader
 * needs no irqsave.
 */
static inline void guestgate_gpc_read_lock(struct guestgate_gpc *gpc)
{
	read_lock(&gpc->lock);
}

/**
 * guestgate_gpc_read_unlock() - Drop the read lock of guestgate_gpc_read_lock().
 * @gpc: The cache.
 */
static inline void guestgate_gpc_read_unlock(struct guestgate_gpc *gpc)
{
	read_unlock(&gpc->lock);
}

/**
 * guestgate_gpc_read_lock_irq() - Take the read lock, interrupts off.
 * @gpc: The cache.
 *
 * For a caller whose interrupts are on; guestgate_gpc_read_unlock_irq()
 * turns them on again.
 *
 * Context: Any context with interrupts on.
 */
static inline void guestgate_gpc_read_lock_irq(struct guestgate_gpc *gpc)
{
	read_lock_irq(&gpc->lock);
}

/**
 * guestgate_gpc_read_unlock_irq() - Drop the read lock of guestgate_gpc_read_lock_irq().
 * @gpc: The cache.
 */
static inline void guestgate_gpc_read_unlock_irq(struct guestgate_gpc *gpc)
{
	read_unlock_irq(&gpc->lock);
}

/**
 * guestgate_gpc_read_trylock() - Take the read lock if it is free.
 * @gpc: The cache.
 *
 * Fails while the lock is held for writing or a writer waits for it: the
 * notifier, or an activation, refresh or deactivation publishing.
 *
 * Context: Any context but NMI.
 * Return: True if taken; drop it with guestgate_gpc_read_unlock().
 */
static inline bool guestgate_gpc_read_trylock(struct guestgate_gpc *gpc)
{
	return read_trylock(&gpc->lock);
}

/**
 * guestgate_gpc_read_lock_irqsave() - Take the read lock, interrupts off.
 * @gpc: The cache.
 *
 * Context: Any context, hardirq included.
 * Return: The interrupt flags for guestgate_gpc_read_unlock_irqrestore().
 */
static inline unsigned long guestgate_gpc_read_lock_irqsave(struct guestgate_gpc *gpc)
{
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	return flags;
}

/**
 * guestgate_gpc_read_unlock_irqrestore() - Drop an irqsave read lock.
 * @gpc: The cache.
 * @flags: What guestgate_gpc_read_lock_irqsave() returned.
 */
static inline void guestgate_gpc_read_unlock_irqrestore(struct guestgate_gpc *gpc,
							unsigned long flags)
{
	read_unlock_irqrestore(&gpc->lock, flags);
}

/**
 * guestgate_gpc_read_lock_set_subclass() - Renumber a held read lock for lockdep.
 * @gpc: The cache, read-locked by the caller.
 * @subclass: Its lockdep subclass from now on.
 *
 * The read locks of all caches are one lockdep class, and a read lock of an
 * rwlock_t taken in process context is not recursive for lockdep: a caller
 * that holds two caches' read locks at once (Xen's runstate area across a
 * page boundary) gives the first one subclass 1 before it takes the second.
 * Nothing without lockdep.
 */
static inline void guestgate_gpc_read_lock_set_subclass(struct guestgate_gpc *gpc,
							unsigned int subclass)
{
	lock_set_subclass(&gpc->lock.dep_map, subclass, _THIS_IP_);
}

/**
 * guestgate_gpc_lockdep_assert_held() - Assert that the cache is locked.
 * @gpc: The cache.
 *
 * For a caller's own helpers that need the read lock (for example to use
 * state of the caller's that it checks with the cache). Nothing without
 * lockdep.
 */
static inline void guestgate_gpc_lockdep_assert_held(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->lock);
}

/**
 * guestgate_gpc_check() - Whether the cache may be used for an access.
 * @gpc: The cache, read-locked by the caller.
 * @len: Length of the access.
 *
 * True if the cache is valid (which implies active), its memslot table (if
 * any) has not changed since it resolved the cache's address, and the
 * access fits in the page. The answer holds until the read lock is dropped.
 * Counts a hit or a miss on this CPU.
 *
 * Context: Any context, hardirq included, with the read lock held.
 * Return: True if guestgate_gpc_khva() may be accessed for @len bytes.
 */
static inline bool guestgate_gpc_check(struct guestgate_gpc *gpc, unsigned long len)
{
	bool hit;

	lockdep_assert_held(&gpc->lock);
	/*
	 * One branch in all, the caller's on the answer: "&", not "&&". The
	 * length is compared with the room left in the page, without a sum
	 * that a huge @len could wrap.
	 */
	hit = gpc->valid & (len <= PAGE_SIZE - (gpc->uhva & ~PAGE_MASK)) &
	      (READ_ONCE(*gpc->slots_generation) == gpc->generation);
	this_cpu_inc(gpc->checks->count[hit]);
	return hit;
}

/**
 * guestgate_gpc_khva() - Kernel address of the cached access.
 * @gpc: The cache, read-locked, with a successful guestgate_gpc_check().
 *
 * Writing through it is allowed only for a GUESTGATE_GPC_WRITABLE cache: a
 * read-only cache may map the zero page or a page shared copy-on-write.
 *
 * Context: Any context, with the read lock held.
 * Return: The kernel address of the cached user address, or NULL if the
 * cache is not valid. Not to be used after the read lock is dropped.
 */
static inline void *guestgate_gpc_khva(struct guestgate_gpc *gpc)
{
	lockdep_assert_held(&gpc->lock);
	return gpc->khva;
}

#endif /* _LINUX_GUESTGATE_H */
