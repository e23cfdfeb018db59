/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: guest entry and exit, inline helpers for a hypervisor's run loop.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only.
 */
#ifndef _LINUX_GUESTGATE_ENTRY_H
#define _LINUX_GUESTGATE_ENTRY_H

#include <linux/bits.h>
#include <linux/context_tracking.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/vtime.h>

/*
 * Guest entry and exit
 *
 * What a hypervisor tells the kernel around running a guest, in this order,
 * from the task that runs the guest, which has an mm (a user task, or a
 * kernel thread in kthread_use_mm()) (see Documentation/guest-entry-exit.rst):
 *
 *	preempt_disable();
 *	local_irq_disable();
 *	guestgate_timing_enter_irqoff();
 *	guestgate_state_enter_irqoff();		(noinstr caller)
 *	<run the guest>
 *	guestgate_state_exit_irqoff();		(noinstr caller)
 *	local_irq_enable();			take the guest's interrupts
 *	local_irq_disable();
 *	guestgate_timing_exit_irqoff();
 *	local_irq_enable();
 *	preempt_enable();
 *
 * Ticks taken while guest timing is entered are charged to the task as guest
 * time, so timing exit comes after the interrupts that arrived during the
 * guest were taken. Preemption stays disabled from timing enter to timing
 * exit, across the window where interrupts are enabled: the state is the
 * CPU's, so a task that migrated there would leave PF_VCPU set and its old
 * CPU in timing, and exit timing on a CPU that never entered it (a misuse
 * the new CPU reports). Between context enter and context exit (inside state
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
	GUESTGATE_MISUSE_NO_MM,
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
	/*
	 * Guest mode is user mode to context tracking, which warns when a
	 * task without an mm (a kernel thread that adopted none) enters it.
	 */
	if (unlikely(!current->mm)) {
		__guestgate_misuse(GUESTGATE_MISUSE_NO_MM, fn);
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
 * Context: Interrupts disabled, and preemption until
 * guestgate_timing_exit_irqoff(); noinstr callers allowed.
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
 * Context: Interrupts disabled, guest timing entered, in a task with an mm;
 * noinstr caller.
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
 * Context: Interrupts disabled, guest timing entered, in a task with an mm;
 * noinstr caller.
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

#endif /* _LINUX_GUESTGATE_ENTRY_H */
