/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the contract between the Rust crate and its C shims.
 *
 * Functions each side defines for the other and the structs they share.
 * bindgen reads this header to generate the crate's declarations
 * (bindings.rs); the C shims include it for their prototypes. It is private
 * to guestgate.ko and guestgate_kunit.ko: other modules use
 * <linux/guestgate.h>.
 *
 * Naming: guestgate_rs_*() are defined in Rust, guestgate_kunit_*() are
 * Rust KUnit cases; everything else is defined in a C shim.
 */
#ifndef _GUESTGATE_SHIM_H
#define _GUESTGATE_SHIM_H

#include <linux/guestgate.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct kunit;

struct dentry;

/* device_shim.c, for device.rs */
int guestgate_device_register(void);
void guestgate_device_unregister(void);
/* The debugfs directory guestgate/ and its state file. */
void guestgate_debugfs_register(void);
void guestgate_debugfs_unregister(void);
/* debugfs directory guestgate/, while registered */
extern struct dentry *guestgate_debugfs;

/**
 * struct guestgate_device_stats - counters of /dev/guestgate for debugfs
 * @opens: successful opens
 * @releases: releases (last close of an open file)
 * @ioctls: ioctl calls, known or not
 * @unknown_ioctls: ioctl calls answered with -ENOTTY
 */
struct guestgate_device_stats {
	u64 opens;
	u64 releases;
	u64 ioctls;
	u64 unknown_ioctls;
};

/*
 * The ioctl numbers as the C compiler computes them, for bindgen, which
 * cannot expand _IOR().
 */
enum guestgate_ioctl_cmd {
	GUESTGATE_CMD_VERSION = GUESTGATE_IOCTL_VERSION,
	GUESTGATE_CMD_PFN_SET_MEMSLOTS = GUESTGATE_IOCTL_PFN_SET_MEMSLOTS,
	GUESTGATE_CMD_PFN_CREATE = GUESTGATE_IOCTL_PFN_CREATE,
	GUESTGATE_CMD_PFN_ACTIVATE = GUESTGATE_IOCTL_PFN_ACTIVATE,
	GUESTGATE_CMD_PFN_ACCESS = GUESTGATE_IOCTL_PFN_ACCESS,
	GUESTGATE_CMD_PFN_REFRESH = GUESTGATE_IOCTL_PFN_REFRESH,
	GUESTGATE_CMD_PFN_DEACTIVATE = GUESTGATE_IOCTL_PFN_DEACTIVATE,
	GUESTGATE_CMD_PFN_DESTROY = GUESTGATE_IOCTL_PFN_DESTROY,
	GUESTGATE_CMD_PFN_STATS = GUESTGATE_IOCTL_PFN_STATS,
};

/* device.rs, for device_shim.c */
int guestgate_rs_open(void **priv);
void guestgate_rs_release(void *priv);
long guestgate_rs_ioctl(void *priv, unsigned int cmd, unsigned long arg);
void guestgate_rs_device_stats(struct guestgate_device_stats *stats);

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

/*
 * Fault injection for the tests (CONFIG_KUNIT builds only), see
 * guestgate_rs_perf_fault().
 * @GUESTGATE_PERF_FAULT_NONE: the product's switch.
 * @GUESTGATE_PERF_FAULT_NO_WAIT: unregister waits for no reader: no grace
 * period, the gates written from the unregistering CPU.
 * @GUESTGATE_PERF_FAULT_NO_GATE: the switch without the gate: state()
 * patched straight from "return 0" to the set's and back, the other hooks
 * ordered around it with grace periods.
 */
enum guestgate_perf_fault {
	GUESTGATE_PERF_FAULT_NONE,
	GUESTGATE_PERF_FAULT_NO_WAIT,
	GUESTGATE_PERF_FAULT_NO_GATE,
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
void guestgate_perf_debugfs_register(void);
void guestgate_perf_debugfs_unregister(void);
bool guestgate_perf_rival(const char *name);

/* perf_callbacks.rs, for perf_callbacks_shim.c */
void guestgate_rs_perf_stats(struct guestgate_perf_stats *stats);

/* guest_entry_shim.c, for guest_entry.rs */
void guestgate_entry_register(void);
/* guestgate_timing_enter_irqoff() and _exit_irqoff(), out of line */
void guestgate_entry_timing_enter(void);
void guestgate_entry_timing_exit(void);
void guestgate_entry_unregister(void);
/*
 * State enter, a spin of @spin_cycles TSC cycles as the guest, state exit,
 * in noinstr C. Returns the cycles spent in the guest.
 */
u64 guestgate_entry_run_guest(u64 spin_cycles);
/* preempt_disable() and local_irq_save(); returns the flags */
unsigned long guestgate_entry_irqs_off(void);
/* Whether @flags of local_irq_save() say interrupts were disabled */
bool guestgate_entry_irqs_disabled_flags(unsigned long flags);
/* local_irq_restore(@flags) and preempt_enable() */
void guestgate_entry_irqs_restore(unsigned long flags);
/* local_irq_enable() then local_irq_disable(): pending interrupts are taken */
void guestgate_entry_take_interrupts(void);
u64 guestgate_entry_tsc_khz(void);
enum guestgate_entry_state guestgate_entry_cpu_state(void);
void guestgate_entry_stats(struct guestgate_entry_stats *stats);
unsigned long guestgate_entry_warned(void);
const char *guestgate_entry_misuse_name(unsigned int kind);

/**
 * struct guestgate_gpc_counters - the counters of a cache kept in its fields
 * @refreshes: refreshes that made the cache valid
 * @invalidations: calls of the cache's notifier
 * @retries: page lookups thrown away because of a racing invalidation
 */
struct guestgate_gpc_counters {
	u64 refreshes;
	u64 invalidations;
	u64 retries;
};

/**
 * struct guestgate_gpc_fields - the state of a pfn cache readers do not see
 * @gpa: guest physical address, for a cache activated by gpa
 * @slots: the memslot table of a cache activated by gpa (a reference the
 *         cache owns), or NULL
 * @pfn: the cached page frame number
 * @notifier_start: start of the page the notifier covers
 * @counters: counters, accessed atomically (hits and misses are per CPU,
 *            in struct guestgate_gpc)
 * @active: activated and not deactivated
 * @writable: pages are looked up for writing
 * @notified: the notifier is inserted, on @notifier_start
 *
 * The locking rules are pfn_cache.rs's (struct PfnCache, # Invariants).
 */
struct guestgate_gpc_fields {
	u64 gpa;
	const void *slots;
	u64 pfn;
	u64 notifier_start;
	struct guestgate_gpc_counters counters;
	u8 active;
	u8 writable;
	u8 notified;
};

/**
 * struct guestgate_pfn_cache - a pfn cache, as allocated
 * @gpc: what readers see, the C API's handle (first: a handle is a pointer
 *       to the whole cache)
 * @f: the rest of the state pfn_cache.rs keeps
 * @refresh_lock: serializes activation, refresh and deactivation
 * @notifier: covers the cached page while @f.notified
 * @mm: the cache's mm, grabbed for the cache's lifetime
 *
 * @gpc.lock is held for reading by readers, for writing by the notifier and
 * by activation, refresh and deactivation as they publish.
 */
struct guestgate_pfn_cache {
	struct guestgate_gpc gpc;
	struct guestgate_gpc_fields f;
	struct mutex refresh_lock; /* see the kernel-doc above */
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
};

struct page;

/* pfn_cache_shim.c, for pfn_cache.rs */
int guestgate_gpc_alloc(struct guestgate_pfn_cache **pcp);
/* The notifier must not be inserted. */
void guestgate_gpc_free(struct guestgate_pfn_cache *pc);
bool guestgate_gpc_in_mm(struct guestgate_pfn_cache *pc);
void guestgate_gpc_refresh_lock(struct guestgate_pfn_cache *pc);
void guestgate_gpc_refresh_unlock(struct guestgate_pfn_cache *pc);
unsigned long guestgate_gpc_write_lock(struct guestgate_pfn_cache *pc);
void guestgate_gpc_write_unlock(struct guestgate_pfn_cache *pc, unsigned long flags);
/*
 * The read side of <linux/guestgate/pfncache.h>, out of line for Rust
 * (which cannot call inline C). An unlock counts the check made under the lock, a hit or
 * a miss, on this CPU: a per-CPU add, no atomic.
 */
void guestgate_gpc_reader_lock(struct guestgate_gpc *gpc);
bool guestgate_gpc_reader_trylock(struct guestgate_gpc *gpc);
unsigned long guestgate_gpc_reader_lock_irqsave(struct guestgate_gpc *gpc);
void guestgate_gpc_reader_unlock(struct guestgate_gpc *gpc, bool hit);
void guestgate_gpc_reader_unlock_irqrestore(struct guestgate_gpc *gpc, bool hit,
					    unsigned long flags);
/* The checks counted so far, summed over the CPUs. */
void guestgate_gpc_sum_checks(struct guestgate_gpc *gpc, u64 *hits, u64 *misses);
/* Refresh lock held; current->mm is the cache's mm. */
int guestgate_gpc_notifier_insert(struct guestgate_pfn_cache *pc, unsigned long start);
/* Refresh lock held, write lock not held; sleeps. */
void guestgate_gpc_notifier_remove(struct guestgate_pfn_cache *pc);
/* Notifier inserted; sleeps while an invalidation of its page runs. */
unsigned long guestgate_gpc_read_begin(struct guestgate_pfn_cache *pc);
/* Write lock held. */
bool guestgate_gpc_read_retry(struct guestgate_pfn_cache *pc, unsigned long seq);
/* Faults in and references the page at @uhva of current->mm. */
int guestgate_gpc_get_page(unsigned long uhva, bool write, struct page **pagep,
			   u64 *pfn, void **khva);
void guestgate_gpc_put_page(struct page *page);
/* Sleeps about a millisecond: the widened window of the test refreshes. */
void guestgate_gpc_break_delay(void);
/*
 * Fault injection for the tests, exported only with CONFIG_KUNIT:
 * GUESTGATE_GPC_REFRESH_WIDENED sleeps between the page lookup and the
 * publication (a window that invalidations land in: the sequence check
 * must catch them); GUESTGATE_GPC_REFRESH_BROKEN sleeps and skips the
 * sequence check (the stale writes the check prevents must be seen).
 */
enum guestgate_gpc_refresh_mode {
	GUESTGATE_GPC_REFRESH_NORMAL,
	GUESTGATE_GPC_REFRESH_WIDENED,
	GUESTGATE_GPC_REFRESH_BROKEN,
};

void guestgate_rs_gpc_break_refresh(unsigned int mode);
/*
 * Benchmark of the fast path from Rust: @ops times read(4), write_u32(0)
 * through the guard, drop; the TSC cycles in *@cycles. The cache is valid
 * and stays so (nothing zaps it meanwhile), or -EAGAIN. Exported only with
 * CONFIG_KUNIT.
 */
int guestgate_rs_gpc_bench(struct guestgate_gpc *gpc, u64 ops, u64 *cycles);
/* debugfs guestgate/pfn_cache, while the device is registered */
void guestgate_gpc_debugfs_register(void);
void guestgate_gpc_debugfs_unregister(void);

/**
 * struct guestgate_gpc_global_stats - counters of every pfn cache, for debugfs
 * @caches: caches allocated and not destroyed
 * @activations: successful and failed activations
 * @refreshes: refreshes that made a cache valid
 * @refresh_errors: refreshes that failed
 * @invalidations: notifier calls
 * @retries: lookups thrown away because of a racing invalidation
 * @retries_max: the most retries one refresh took
 * @memslot_changes: changes of any memslot table
 * @hits: successful checks of the caches destroyed so far
 * @misses: failed checks of the caches destroyed so far
 */
struct guestgate_gpc_global_stats {
	u64 caches;
	u64 activations;
	u64 refreshes;
	u64 refresh_errors;
	u64 invalidations;
	u64 retries;
	u64 retries_max;
	u64 memslot_changes;
	u64 hits;
	u64 misses;
};

/*
 * pfn_cache_file_shim.c, for pfn_cache_file.rs: runs @fn(@data) once in
 * another context and returns when it has returned. In a new kthread that
 * uses the caller's mm (kthread_use_mm()), or in a hardirq hrtimer callback.
 * Return: 0, or -ENOMEM, -EINTR if the kthread could not be started.
 */
int guestgate_pfn_run_kthread(void (*fn)(void *data), void *data);
void guestgate_pfn_run_hrtimer(void (*fn)(void *data), void *data);

/* pfn_cache.rs, for pfn_cache_shim.c */
/* The notifier's work, write lock held: @pc is invalid from now on. */
void guestgate_rs_gpc_invalidate(struct guestgate_pfn_cache *pc);
void guestgate_rs_gpc_global_stats(struct guestgate_gpc_global_stats *stats);

#if IS_ENABLED(CONFIG_KUNIT)
/* kunit_shim.c, for kunit.rs */
void guestgate_kunit_check(struct kunit *test, bool ok, const char *file,
			   int line, const char *expr);

/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_device_ioctl(struct kunit *test);
void guestgate_kunit_device_open_release(struct kunit *test);
void guestgate_kunit_perf_guard(struct kunit *test);
void guestgate_kunit_perf_busy(struct kunit *test);
/* The Rust dispatch of handle_intel_pt_intr(), for the C cases */
unsigned int guestgate_kunit_perf_pt_intr(void);
void guestgate_kunit_guest_entry_typestate(struct kunit *test);
void guestgate_kunit_pfn_cache_memslots(struct kunit *test);
/* @uhva: a mapped, writable page of current->mm, zero-filled */
void guestgate_kunit_pfn_cache_guard(struct kunit *test, unsigned long uhva);

/*
 * Fault injection for the tests: register and unregister switch as @fault
 * says until the next call (the bugs that the product's switch prevents
 * must be seen). GUESTGATE_PERF_FAULT_NONE restores the product's switch.
 * Returns 0, -EBUSY while a set is registered, -EINVAL for an unknown fault.
 */
int guestgate_rs_perf_fault(enum guestgate_perf_fault fault);

/*
 * Benchmark of Rust callers: times @calls dispatches of one scheme (0
 * nothing registered, 1 registered, 2 direct call of an empty function,
 * 3 pointer load and indirect call) and stores the TSC cycles in @cycles.
 * Returns 0, -EBUSY (kind 1 with a set registered) or -EINVAL.
 */
int guestgate_rs_perf_bench(u32 kind, u64 calls, u64 *cycles);
/* perf_callbacks_shim.c: the benchmark's empty function, opaque to Rust */
unsigned int guestgate_perf_bench_empty(void);
#endif

#endif /* _GUESTGATE_SHIM_H */
