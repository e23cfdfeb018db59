// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_canary: proves the test run's detectors work.
 *
 * Loaded by guest.sh only after every result of the run was collected, it
 * fires one WARN and leaks a few allocations. The judge requires the dmesg
 * check to flag the WARN and kmemleak to report a leak: a run whose
 * detectors see nothing here could not have failed either.
 *
 * As in samples/kmemleak, the objects are referenced from this module's
 * data until it is removed, so no stale copy of a pointer on a freed stack
 * keeps them alive, and there are several of them. Each starts with
 * GUESTGATE_CANARY_MARK, which kmemleak's hex dump shows: its backtraces of
 * an unloaded module cannot be symbolized.
 *
 * It also carries two noinstr functions for noinstr-check.py, which checks
 * the object on the host: one calls an instrumented function outside
 * instrumentation_begin()/instrumentation_end() and must be flagged, the
 * other makes the same call inside them and must pass. Nothing calls
 * either: they are checked, never run.
 */
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/instrumentation.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#define GUESTGATE_CANARY_MARK	"gg-canary-leak!"

static void *guestgate_canary_objs[8];

/* Planted: instrumentable ktime_get() outside instrumentation_begin(). */
static noinstr __used u64 guestgate_canary_noinstr_leak(void)
{
	return ktime_get();
}

/* The same call, correctly annotated. */
static noinstr __used u64 guestgate_canary_noinstr_ok(void)
{
	u64 t;

	instrumentation_begin();
	t = ktime_get();
	instrumentation_end();
	return t;
}

static int __init guestgate_canary_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guestgate_canary_objs); i++) {
		guestgate_canary_objs[i] = kmalloc(128, GFP_KERNEL);
		if (guestgate_canary_objs[i])
			strscpy(guestgate_canary_objs[i], GUESTGATE_CANARY_MARK, 128);
	}
	WARN(1, "guestgate_canary: deliberate warning\n");
	return 0;
}
module_init(guestgate_canary_init);

static void __exit guestgate_canary_exit(void)
{
	/* The objects leak here, with the module's data. */
}
module_exit(guestgate_canary_exit);

MODULE_DESCRIPTION("guestgate test harness canary: a deliberate WARN and leak");
MODULE_LICENSE("GPL");
