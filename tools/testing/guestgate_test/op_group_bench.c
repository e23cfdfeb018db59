// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: the benchmark of op groups' calls (make bench; test
 * only).
 *
 * debugfs guestgate_test/op_group_bench: reading it times batches of
 * GG_OPGB_CALLS calls of each kind, best of GG_OPGB_RUNS rounds in turn,
 * and prints the TSC cycles per batch:
 *
 *   c_group      the op of guestgate.ko's bench group (test_hooks.h), a
 *                static call site of this module patched to a direct
 *                call, all in one section
 *   c_direct     a direct call of the same function
 *   c_indirect   a pointer load and an indirect call of it
 *   c_section    one section per call of the op: begin, call, end
 *
 * and the same four from Rust callers inside guestgate.ko
 * (guestgate_rs_op_group_bench(): the op through its static call's
 * trampoline, on the same group).
 */
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/guestgate.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/static_call.h>
#include <asm/msr.h>

#include "guestgate_test.h"
#include "test_hooks.h"

#define GG_OPGB_CALLS	100000
#define GG_OPGB_RUNS	7

enum { GG_OPGB_GROUP, GG_OPGB_DIRECT, GG_OPGB_INDIRECT, GG_OPGB_SECTION, GG_OPGB_NR };

static const char *const gg_opgb_names[GG_OPGB_NR] = {
	"group", "direct", "indirect", "section",
};

/* What the indirect calls load. */
static unsigned long (*gg_opgb_ptr)(unsigned long x) = guestgate_op_bench_a;

/* GG_OPGB_CALLS calls of one kind, a loop of its own (@kind is constant). */
static __always_inline u64 gg_opgb_loop(unsigned int kind)
{
	unsigned long x = 0;
	u64 t0, t1;
	int i;

	t0 = rdtsc_ordered();
	for (i = 0; i < GG_OPGB_CALLS; i++) {
		OPTIMIZER_HIDE_VAR(x);
		if (kind == GG_OPGB_GROUP) {
			x = static_call(__guestgate_op_bench)(x);
		} else if (kind == GG_OPGB_DIRECT) {
			x = guestgate_op_bench_a(x);
		} else if (kind == GG_OPGB_INDIRECT) {
			x = READ_ONCE(gg_opgb_ptr)(x);
		} else {
			/* A task's section is never refused. */
			guestgate_op_group_section_begin(&guestgate_op_bench_group);
			x = static_call(__guestgate_op_bench)(x);
			guestgate_op_group_section_end(&guestgate_op_bench_group);
		}
	}
	t1 = rdtsc_ordered();
	OPTIMIZER_HIDE_VAR(x);
	return t1 - t0;
}

/* One batch of C callers; interrupts on, as the Rust batches (which sleep). */
static s64 gg_opgb_c_batch(void *unused, unsigned int kind)
{
	u64 cycles;

	switch (kind) {
	case GG_OPGB_GROUP:
		if (!guestgate_op_group_section_begin(&guestgate_op_bench_group))
			return -EBUSY;
		cycles = gg_opgb_loop(GG_OPGB_GROUP);
		guestgate_op_group_section_end(&guestgate_op_bench_group);
		return cycles;
	case GG_OPGB_DIRECT:
		return gg_opgb_loop(GG_OPGB_DIRECT);
	case GG_OPGB_INDIRECT:
		return gg_opgb_loop(GG_OPGB_INDIRECT);
	case GG_OPGB_SECTION:
		return gg_opgb_loop(GG_OPGB_SECTION);
	}
	return -EINVAL;
}

/* One batch of Rust callers, in guestgate.ko; the kinds are the same. */
static s64 gg_opgb_rust_batch(void *unused, unsigned int kind)
{
	u64 cycles;
	int ret;

	ret = guestgate_rs_op_group_bench(kind, GG_OPGB_CALLS, &cycles);
	return ret ?: cycles;
}

static DEFINE_MUTEX(gg_opgb_lock);

static int gg_opgb_show(struct seq_file *m, void *unused)
{
	u64 c[GG_OPGB_NR], rust[GG_OPGB_NR];
	int i, ret;

	mutex_lock(&gg_opgb_lock);
	ret = guestgate_op_group_register(&guestgate_op_bench_group);
	if (!ret) {
		ret = gg_test_best_of(gg_opgb_c_batch, NULL, GG_OPGB_NR, GG_OPGB_RUNS, c);
		guestgate_op_group_unregister(&guestgate_op_bench_group);
	}
	if (!ret)
		ret = gg_test_best_of(gg_opgb_rust_batch, NULL, GG_OPGB_NR, GG_OPGB_RUNS, rust);
	mutex_unlock(&gg_opgb_lock);
	if (ret)
		return ret;
	seq_printf(m, "calls: %u\n", GG_OPGB_CALLS);
	for (i = 0; i < GG_OPGB_NR; i++)
		seq_printf(m, "c_%s: %llu\n", gg_opgb_names[i], c[i]);
	for (i = 0; i < GG_OPGB_NR; i++)
		seq_printf(m, "rust_%s: %llu\n", gg_opgb_names[i], rust[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gg_opgb);

void gg_test_op_group_bench_init(struct dentry *dir)
{
	debugfs_create_file("op_group_bench", 0400, dir, NULL, &gg_opgb_fops);
}
