/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: perf guest-info callbacks (perf_callbacks_shim.c, perf_callbacks.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_PERF_CALLBACKS_SHIM_H
#define _GUESTGATE_PERF_CALLBACKS_SHIM_H

#include <linux/guestgate/op_group.h>
#include <linux/guestgate/perf.h>
#include <linux/types.h>

struct kunit;
struct seq_file;

/* The implementations of guestgate_perf_group, by index. */
enum guestgate_perf_impl {
	GUESTGATE_PERF_NONE,
	GUESTGATE_PERF_REGISTERED,
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
 * The group of the four static calls (an implicit op group), registered
 * by guestgate_perf_bridge_register() and unregistered by
 * guestgate_perf_bridge_unregister().
 */
extern struct guestgate_op_group guestgate_perf_group;
/*
 * Makes @cbs the "registered" implementation, "return 0" for each hook it
 * has not (every hook if @cbs is NULL). Called with guestgate_perf_lock()
 * held, while "none" is active.
 */
void guestgate_perf_set_load(const struct guestgate_guest_info_callbacks *cbs);
/*
 * Registers the bridge (unless perf_bridge=0), then guestgate_perf_group;
 * unregistered in the reverse order.
 */
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
