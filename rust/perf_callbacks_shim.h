/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: perf guest-info callbacks (perf_callbacks_shim.c, perf_callbacks.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_PERF_CALLBACKS_SHIM_H
#define _GUESTGATE_PERF_CALLBACKS_SHIM_H

#include <linux/guestgate/perf.h>
#include <linux/types.h>

struct kunit;
struct seq_file;

/*
 * The static calls that guestgate_perf_switch() points: one per hook of
 * struct guestgate_guest_info_callbacks, and the gate's.
 * @GUESTGATE_PERF_GATE_TARGET: what the gate calls on a CPU whose gate is
 * open (@cbs->state). @GUESTGATE_PERF_STATE_GATED: state() through the gate
 * (@cbs unused).
 */
enum guestgate_perf_hook {
	GUESTGATE_PERF_STATE,
	GUESTGATE_PERF_GET_IP,
	GUESTGATE_PERF_INTEL_PT_INTR,
	GUESTGATE_PERF_MEDIATED_PMI,
	GUESTGATE_PERF_GATE_TARGET,
	GUESTGATE_PERF_STATE_GATED,
};

/**
 * struct guestgate_perf_stats - counters of the perf callbacks for debugfs
 * @registrations: successful registrations
 * @unregistrations: successful unregistrations
 * @einval: registrations refused with -EINVAL
 * @ebusy: registrations refused with -EBUSY
 * @enoent: unregistrations refused with -ENOENT
 * @registered: 1 while a set is registered
 */
struct guestgate_perf_stats {
	u64 registrations;
	u64 unregistrations;
	u64 einval;
	u64 ebusy;
	u64 enoent;
	u32 registered;
};

/* perf_callbacks_shim.c, for perf_callbacks.rs */
void guestgate_perf_lock(void);
void guestgate_perf_unlock(void);
/*
 * Points @hook's static call at @cbs's function, or at "return 0" if @cbs
 * is NULL or has no such function. Called with guestgate_perf_lock() held.
 */
void guestgate_perf_switch(enum guestgate_perf_hook hook,
			   const struct guestgate_guest_info_callbacks *cbs);
/*
 * Opens or closes the gate of every CPU. With @each_cpu, each online CPU
 * writes its own, between two of its reading sections, and this returns
 * once all have; without it (fault injection only) this task writes them
 * all. Called with guestgate_perf_lock() held; sleeps.
 */
void guestgate_perf_set_gates(bool open, bool each_cpu);
int guestgate_perf_bridge_register(void);
void guestgate_perf_bridge_unregister(void);
/* debugfs guestgate/perf_callbacks (device_shim.c's table) */
int guestgate_perf_callbacks_show(struct seq_file *m, void *unused);
bool guestgate_perf_rival(const char *name);

/* perf_callbacks.rs, for perf_callbacks_shim.c */
void guestgate_rs_perf_stats(struct guestgate_perf_stats *stats);

#if IS_ENABLED(CONFIG_KUNIT)
/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_perf_guard(struct kunit *test);
void guestgate_kunit_perf_busy(struct kunit *test);
/* The Rust dispatch of handle_intel_pt_intr(), for the C cases */
unsigned int guestgate_kunit_perf_pt_intr(void);

/* perf_callbacks_shim.c: the benchmark's empty function, opaque to Rust */
unsigned int guestgate_perf_bench_empty(void);
#endif

#endif /* _GUESTGATE_PERF_CALLBACKS_SHIM_H */
