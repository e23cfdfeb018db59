// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: guest entry and exit, the C half.
 *
 * The helpers themselves are inline in <linux/guestgate/entry.h>, as upstream's
 * are in <linux/kvm_host.h>: they follow those (timing, context, state) and
 * add a per-CPU state machine that catches misuse. This file has their
 * per-CPU state, the one-time warnings of the misuse they find (their slow
 * path), debugfs, and what guest_entry.rs needs from C: Rust cannot be
 * noinstr, so everything of the typestate API that may run while RCU is not
 * watching is here, in noinstr C.
 *
 * noinstr code may only call noinstr code, or instrumentable code between
 * instrumentation_begin() and instrumentation_end() while RCU watches; the
 * lint step checks the built objects with objtool's noinstr validation.
 */
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/context_tracking.h>
#include <linux/instrumentation.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/vtime.h>
#include <asm/tsc.h>
#include <kunit/visibility.h>

#include "guest_entry_shim.h"
#include "test_hooks.h"

static_assert(sizeof(struct guestgate_entry_stats) ==
	      8 * (4 + GUESTGATE_ENTRY_NR_MISUSE));

DEFINE_PER_CPU(struct guestgate_entry_cpu, guestgate_entry_cpu);
EXPORT_PER_CPU_SYMBOL_GPL(guestgate_entry_cpu);

static const char * const guestgate_misuse_rule[GUESTGATE_ENTRY_NR_MISUSE] = {
	[GUESTGATE_MISUSE_IRQS_ON] =
		"called with interrupts enabled (entry ignored; exit done with interrupts disabled)",
	[GUESTGATE_MISUSE_TIMING_NESTED] =
		"guest timing entered twice on this CPU (ignored)",
	[GUESTGATE_MISUSE_NO_TIMING] =
		"guest entered without guest timing (ignored: RCU keeps watching)",
	[GUESTGATE_MISUSE_GUEST_NESTED] =
		"guest entered twice on this CPU (ignored)",
	[GUESTGATE_MISUSE_EXIT_NOT_ENTERED] =
		"guest exited without guest entry (ignored)",
	[GUESTGATE_MISUSE_EXIT_MISMATCHED] =
		"guest exit does not match its entry (context vs state; the matching exit done)",
	[GUESTGATE_MISUSE_TIMING_EXIT_NOT_ENTERED] =
		"guest timing exited without timing enter (ignored)",
	[GUESTGATE_MISUSE_TIMING_EXIT_IN_GUEST] =
		"guest timing exited inside the guest (the guest exited first)",
	[GUESTGATE_MISUSE_NO_MM] =
		"guest entered from a task without an mm, a kernel thread (ignored: context tracking forbids it)",
};

static unsigned long guestgate_misuse_warned;

/* guestgate_entry_warn() - see <linux/guestgate/entry.h> */
void guestgate_entry_warn(unsigned long kinds, const char *fn)
{
	unsigned int kind;

	for_each_set_bit(kind, &kinds, GUESTGATE_ENTRY_NR_MISUSE) {
		if (!test_and_set_bit(kind, &guestgate_misuse_warned))
			WARN(1, "guestgate: %s: %s\n", fn,
			     guestgate_misuse_rule[kind]);
	}
}
EXPORT_SYMBOL_GPL(guestgate_entry_warn);

/*
 * For guest_entry.rs, which cannot use the inline helpers: guest timing
 * enter and exit, out of line.
 */
noinstr void guestgate_entry_timing_enter(void)
{
	guestgate_timing_enter_irqoff();
}

noinstr void guestgate_entry_timing_exit(void)
{
	guestgate_timing_exit_irqoff();
}

/*
 * For guest_entry.rs: the window of the typestate API, state enter, the
 * guest and state exit in one noinstr function, so that no Rust runs while
 * RCU is not watching. The guest is a spin of @spin_cycles TSC cycles.
 */
noinstr u64 guestgate_entry_run_guest(u64 spin_cycles)
{
	u64 spent;

	guestgate_state_enter_irqoff();
	spent = guestgate_toy_guest_spin(spin_cycles);
	guestgate_state_exit_irqoff();
	return spent;
}

unsigned long guestgate_entry_irqs_off(void)
{
	unsigned long flags;

	preempt_disable();
	local_irq_save(flags);
	return flags;
}

void guestgate_entry_irqs_restore(unsigned long flags)
{
	if (!irqs_disabled_flags(flags))
		local_irq_enable();
	preempt_enable();
}

bool guestgate_entry_irqs_disabled(void)
{
	return irqs_disabled();
}

int guestgate_entry_preempt_count(void)
{
	return preempt_count();
}

bool guestgate_entry_irqs_disabled_flags(unsigned long flags)
{
	return irqs_disabled_flags(flags);
}

void guestgate_entry_take_interrupts(void)
{
	local_irq_enable();
	local_irq_disable();
}

bool guestgate_entry_has_mm(void)
{
	return current->mm;
}

u64 guestgate_entry_tsc_khz(void)
{
	return tsc_khz;
}

/**
 * guestgate_entry_cpu_state() - The guest entry state of this CPU.
 *
 * Context: Preemption disabled; noinstr, so also inside the guest window.
 * Return: enum guestgate_entry_state.
 */
noinstr enum guestgate_entry_state guestgate_entry_cpu_state(void)
{
	return raw_cpu_read(guestgate_entry_cpu.state);
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_entry_cpu_state);

/**
 * guestgate_entry_stats() - The counters, summed over the possible CPUs.
 * @stats: Filled.
 */
void guestgate_entry_stats(struct guestgate_entry_stats *stats)
{
	const u64 *src;
	u64 *dst = (u64 *)stats;
	unsigned int cpu, i;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		src = (const u64 *)&per_cpu(guestgate_entry_cpu, cpu).stats;
		for (i = 0; i < sizeof(*stats) / sizeof(u64); i++)
			dst[i] += READ_ONCE(src[i]);
	}
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_entry_stats);

/**
 * guestgate_entry_warned() - The misuse rules warned about so far.
 *
 * Return: BIT(enum guestgate_entry_misuse) for each rule whose one-time
 * warning fired.
 */
unsigned long guestgate_entry_warned(void)
{
	return READ_ONCE(guestgate_misuse_warned);
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_entry_warned);

static const char * const guestgate_entry_state_name[] = {
	[GUESTGATE_ENTRY_IDLE] = "idle",
	[GUESTGATE_ENTRY_TIMING] = "timing",
	[GUESTGATE_ENTRY_CONTEXT] = "context",
	[GUESTGATE_ENTRY_STATE] = "state",
};

static const char * const guestgate_misuse_name[GUESTGATE_ENTRY_NR_MISUSE] = {
	[GUESTGATE_MISUSE_IRQS_ON] = "irqs_on",
	[GUESTGATE_MISUSE_TIMING_NESTED] = "timing_nested",
	[GUESTGATE_MISUSE_NO_TIMING] = "no_timing",
	[GUESTGATE_MISUSE_GUEST_NESTED] = "guest_nested",
	[GUESTGATE_MISUSE_EXIT_NOT_ENTERED] = "exit_not_entered",
	[GUESTGATE_MISUSE_EXIT_MISMATCHED] = "exit_mismatched",
	[GUESTGATE_MISUSE_TIMING_EXIT_NOT_ENTERED] = "timing_exit_not_entered",
	[GUESTGATE_MISUSE_TIMING_EXIT_IN_GUEST] = "timing_exit_in_guest",
	[GUESTGATE_MISUSE_NO_MM] = "no_mm",
};

/**
 * guestgate_entry_misuse_name() - Short name of a misuse rule.
 * @kind: enum guestgate_entry_misuse.
 *
 * Return: The name debugfs prints after "misuse_", or "?".
 */
const char *guestgate_entry_misuse_name(unsigned int kind)
{
	return kind < GUESTGATE_ENTRY_NR_MISUSE ? guestgate_misuse_name[kind] : "?";
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_entry_misuse_name);

int guestgate_guest_entry_show(struct seq_file *m, void *unused)
{
	struct guestgate_entry_stats st;
	unsigned int cpu, i;
	u8 state;

	for_each_online_cpu(cpu) {
		state = READ_ONCE(per_cpu(guestgate_entry_cpu, cpu).state);
		seq_printf(m, "cpu%u: %s\n", cpu,
			   state < ARRAY_SIZE(guestgate_entry_state_name) ?
			   guestgate_entry_state_name[state] : "?");
	}
	guestgate_entry_stats(&st);
	seq_printf(m, "timing_enters: %llu\n", st.timing_enters);
	seq_printf(m, "timing_exits: %llu\n", st.timing_exits);
	seq_printf(m, "guest_enters: %llu\n", st.guest_enters);
	seq_printf(m, "guest_exits: %llu\n", st.guest_exits);
	for (i = 0; i < GUESTGATE_ENTRY_NR_MISUSE; i++)
		seq_printf(m, "misuse_%s: %llu\n", guestgate_entry_misuse_name(i),
			   st.misuse[i]);
	for_each_online_cpu(cpu)
		seq_printf(m, "guest_enters_cpu%u: %llu\n", cpu,
			   READ_ONCE(per_cpu(guestgate_entry_cpu, cpu).stats.guest_enters));
	return 0;
}

/* guestgate_kunit_guest_entry_typestate(): a Rust KUnit case in guest_entry.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_guest_entry_typestate);
/* guestgate_kunit_guest_entry_guest_pmu(): a Rust KUnit case in guest_entry.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_guest_entry_guest_pmu);
/* guestgate_kunit_guest_entry_no_mm(): a Rust KUnit case in guest_entry.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_guest_entry_no_mm);
