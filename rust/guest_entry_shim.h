/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: guest entry and exit (guest_entry_shim.c, guest_entry.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_GUEST_ENTRY_SHIM_H
#define _GUESTGATE_GUEST_ENTRY_SHIM_H

#include <linux/guestgate/entry.h>
#include <linux/types.h>

struct kunit;

struct seq_file;

/* guest_entry_shim.c, for guest_entry.rs */
/* guestgate_timing_enter_irqoff() and _exit_irqoff(), out of line */
void guestgate_entry_timing_enter(void);
void guestgate_entry_timing_exit(void);
/*
 * State enter, a spin of @spin_cycles TSC cycles as the guest, state exit,
 * in noinstr C. Returns the cycles spent in the guest.
 */
u64 guestgate_entry_run_guest(u64 spin_cycles);
/* preempt_disable() and local_irq_save(); returns the flags */
unsigned long guestgate_entry_irqs_off(void);
/* Whether @flags of local_irq_save() say interrupts were disabled */
bool guestgate_entry_irqs_disabled_flags(unsigned long flags);
/*
 * Undoes guestgate_entry_irqs_off(): enables interrupts if @flags say they
 * were enabled (the call that disabled them), never disables them; then
 * preempt_enable().
 */
void guestgate_entry_irqs_restore(unsigned long flags);
/* irqs_disabled() and preempt_count(), for the Rust KUnit cases */
bool guestgate_entry_irqs_disabled(void);
int guestgate_entry_preempt_count(void);
/* local_irq_enable() then local_irq_disable(): pending interrupts are taken */
void guestgate_entry_take_interrupts(void);
/* Whether the current task has an mm: a task without one runs no guest */
bool guestgate_entry_has_mm(void);
u64 guestgate_entry_tsc_khz(void);
enum guestgate_entry_state guestgate_entry_cpu_state(void);
void guestgate_entry_stats(struct guestgate_entry_stats *stats);
unsigned long guestgate_entry_warned(void);
const char *guestgate_entry_misuse_name(unsigned int kind);

#if IS_ENABLED(CONFIG_KUNIT)
/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_guest_entry_typestate(struct kunit *test);
void guestgate_kunit_guest_entry_guest_pmu(struct kunit *test);
void guestgate_kunit_guest_entry_no_mm(struct kunit *test);
#endif

/* debugfs guestgate/guest_entry (device_shim.c's table) */
int guestgate_guest_entry_show(struct seq_file *m, void *unused);

#endif /* _GUESTGATE_GUEST_ENTRY_SHIM_H */
