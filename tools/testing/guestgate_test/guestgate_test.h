/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate_test.ko: the kernel half of guestgate's stress tests, driven
 * by the kselftests through debugfs (guestgate_test/).
 */
#ifndef _GUESTGATE_TEST_H
#define _GUESTGATE_TEST_H

#include <linux/atomic.h>
#include <linux/types.h>

/* The modes of guestgate_test/perf, in the order of gg_stress_mode_names. */
enum gg_stress_mode {
	GG_STRESS_TORN,
	GG_STRESS_NAIVE,
	GG_STRESS_UAF,
	GG_STRESS_UAF_NO_RCU_WAIT,
	GG_STRESS_TORN_NO_GATE,
	GG_STRESS_SAMPLES,
	GG_STRESS_SAMPLES_NO_GATE,
	GG_STRESS_NR_MODES,
};

/*
 * The set of the samples modes: state() answers PERF_GUEST_ACTIVE on the
 * odd-numbered CPUs, 0 on the others; get_ip() answers GG_SAMPLES_GUEST_IP.
 */
#define GG_SAMPLES_GUEST_IP	0x6767c0de0000UL

/* The contexts readers run in, each counted apart. */
enum gg_stress_ctx { GG_CTX_TASK, GG_CTX_IRQ, GG_CTX_NMI, GG_NR_CTX };

/**
 * struct gg_stress_result - what one run of the perf callbacks stress saw
 * @mode: the mode run
 * @max_switches: the register + unregister pairs asked for
 * @max_seconds: the bound of the run in time
 * @switches: register + unregister pairs done by the writer
 * @msecs: how long the writer ran
 * @timed_out: @max_seconds ended the run
 * @sections: reading sections run, per context (task, hardirq, NMI)
 * @guest_sections: sections whose state() was nonzero
 * @torn: sections whose hooks did not all answer for one set
 * @uaf_hits: uaf hooks that saw their object freed while they held it
 * @nmis_sent: NMI IPIs sent by the task readers
 * @nmis_lost: of those, never handled
 */
struct gg_stress_result {
	enum gg_stress_mode mode;
	unsigned int max_switches;
	unsigned int max_seconds;
	u64 switches;
	unsigned int msecs;
	bool timed_out;
	atomic64_t sections[GG_NR_CTX];
	atomic64_t guest_sections;
	atomic64_t torn;
	atomic64_t uaf_hits;
	atomic64_t nmis_sent;
	u64 nmis_lost;
};

/* The schemes timed by gg_stress_perf_bench(), see guestgate_rs_perf_bench(). */
#define GG_BENCH_NR_KINDS	4

/*
 * Cycles per 1000 dispatches from Rust callers inside guestgate, best of
 * several runs: nothing registered, registered, direct call, indirect call.
 */
int gg_stress_perf_bench(u64 cycles[GG_BENCH_NR_KINDS]);

int gg_stress_perf_run(enum gg_stress_mode mode, unsigned int switches,
		       unsigned int seconds, struct gg_stress_result *res);

/**
 * gg_test_parse_run() - parse a run's command, written to a debugfs file
 * @ubuf: the user's buffer
 * @len: its length
 * @modes: the names of the modes
 * @nr_modes: how many
 * @vals: the numbers that follow the mode's name
 * @nr_vals: how many there must be
 *
 * The command is "MODE V1 ... Vn", blank-separated, decimal.
 *
 * Return: the index of the mode in @modes; -EINVAL for an unknown mode, a
 * missing or extra number or a command too long, -EFAULT, or kstrtou32()'s
 * error.
 */
int gg_test_parse_run(const char __user *ubuf, size_t len, const char *const *modes,
		      unsigned int nr_modes, u32 *vals, unsigned int nr_vals);

/**
 * gg_test_best_of() - the least TSC cycles of each kind of timed batch
 * @batch: runs one batch of @kind; returns its TSC cycles or a -errno
 * @arg: passed to @batch
 * @nr_kinds: the kinds, 0 to @nr_kinds - 1
 * @runs: batches of each kind
 * @best: set to the least cycles of each kind
 *
 * Round robin, one batch of each kind in turn, so that a slow stretch of
 * the host (the emulator's other vCPU, a flush of its translations) costs
 * every kind a batch rather than one kind all of its batches. May sleep
 * between batches; a batch disables interrupts itself if it must.
 *
 * Return: 0, or the first error of @batch.
 */
int gg_test_best_of(s64 (*batch)(void *arg, unsigned int kind), void *arg,
		    unsigned int nr_kinds, unsigned int runs, u64 *best);

/**
 * gg_test_guest_window() - the toy vCPU's guest window (noinstr)
 * @cycles: TSC cycles the toy guest spins
 *
 * guestgate_state_enter_irqoff(), the toy guest, guestgate_state_exit_irqoff().
 * Interrupts disabled, guest timing entered.
 *
 * Return: the TSC cycles spent in the guest.
 */
u64 gg_test_guest_window(u64 cycles);

struct dentry;

/* guest_entry_stress.c: creates its debugfs files in @dir. */
void gg_stress_guest_entry_init(struct dentry *dir);

/* pfn_cache_stress.c: creates its debugfs files in @dir. */
void gg_stress_pfn_cache_init(struct dentry *dir);

/*
 * mediated_pmu_device.c: the test PMU's NMI handler, its place in
 * guestgate's guest PMU context and its debugfs file mediated_pmu in @dir;
 * then the PMU "guestgate_test" itself, for perf (publish, withdraw).
 */
int gg_test_mediated_pmu_register(struct dentry *dir);
void gg_test_mediated_pmu_unregister(void);
int gg_test_pmu_publish(void);
void gg_test_pmu_withdraw(void);

/* The test PMU's modelled counters per CPU; more events are multiplexed. */
#define GG_TEST_PMU_SLOTS	2

/*
 * Direct access to a modelled counter register of this CPU, interrupts
 * disabled: the hypervisor's and its guest's while the guest PMU context
 * is loaded, a host task's RDPMC otherwise.
 */
u64 gg_test_pmu_reg_read(unsigned int slot);
void gg_test_pmu_reg_write(unsigned int slot, u64 value);

/*
 * The values the toy guest writes to the registers: this tag in bits 47-32
 * and a sequence number below, far above any count of host nanoseconds.
 */
#define GG_TEST_PMU_GUEST_TAG	0x6767ULL
#define GG_TEST_PMU_GUEST_VALUE(seq)	((GG_TEST_PMU_GUEST_TAG << 32) | (u32)(seq))
#define GG_TEST_PMU_IS_GUEST_VALUE(v)	(((v) >> 32) == GG_TEST_PMU_GUEST_TAG)

/* The test PMU's perf type. */
int gg_test_pmu_type(void);
/* PMU callbacks run while a guest PMU context was loaded, all CPUs. */
u64 gg_test_pmu_calls_loaded(void);
/*
 * Registers the test PMU with guestgate's guest PMU context (as at load),
 * or unregisters it: then its host events keep counting while loaded.
 */
int gg_test_pmu_set_registered(bool on);

/**
 * struct gg_test_pmu_pmis - the test PMU's modelled PMIs
 * @host: handled as the host's
 * @guest: handed to the guest (guestgate_pmu_handle_pmi() returned true)
 * @lost: raised and never handled
 */
struct gg_test_pmu_pmis {
	u64 host;
	u64 guest;
	u64 lost;
};

/*
 * Raises a modelled PMI of the test PMU on this CPU (an NMI to itself) and
 * waits for its handler; false if it never came. Preemption disabled.
 */
bool gg_test_pmu_raise_pmi(void);
/* The PMIs handled so far, all CPUs. */
void gg_test_pmu_pmis(struct gg_test_pmu_pmis *sum);
/* Test only: route the PMIs by guestgate_guest_state(), not by the context. */
void gg_test_pmu_set_pmi_by_state(bool on);

/* mediated_pmu_stress.c: creates its debugfs file in @dir. */
void gg_stress_mediated_pmu_init(struct dentry *dir);

/* op_group_locks.c: creates its debugfs file in @dir. */
void gg_test_op_group_init(struct dentry *dir);
/* op_group_bench.c: creates its debugfs file in @dir. */
void gg_test_op_group_bench_init(struct dentry *dir);

/* pfn_cache_device.c: /dev/guestgate_test, the pfn cache test device. */
int gg_test_pfn_device_register(void);
void gg_test_pfn_device_unregister(void);

#endif /* _GUESTGATE_TEST_H */
