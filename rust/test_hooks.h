/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the test-only interface of guestgate.ko.
 *
 * Everything the test module guestgate_test.ko calls that is not the C API
 * of <linux/guestgate.h>: fault injection, which makes a mechanism fail in
 * the way its tests must catch, and the benchmark loops of Rust callers.
 * Built only with CONFIG_KUNIT, exported only to the
 * EXPORTED_FOR_KUNIT_TESTING namespace: a kernel without KUnit has none of
 * it. Defined in Rust (guestgate_rs_*), exported by the mechanisms' shims.
 * And the toy guest, inline, which needs neither.
 */
#ifndef _GUESTGATE_TEST_HOOKS_H
#define _GUESTGATE_TEST_HOOKS_H

#include <linux/guestgate/op_group.h>
#include <linux/static_call.h>
#include <linux/types.h>
#include <asm/msr.h>
#include <asm/processor.h>

/* guest entry (rust/guest_entry_shim.c) */

/*
 * The toy guest: a spin of @cycles TSC cycles, standing for the hardware's
 * guest entry (VMRUN, VMLAUNCH) of a real hypervisor. Inline and
 * uninstrumented, so noinstr code may run it between state enter and state
 * exit: the Rust typestate's guest (guestgate_entry_run_guest()) and the
 * guest entry stress of guestgate_test.ko do. Returns the cycles spun.
 */
static __always_inline u64 guestgate_toy_guest_spin(u64 cycles)
{
	u64 start = rdtsc(), now;

	do {
		cpu_relax();
		now = rdtsc();
	} while (now - start < cycles);
	return now - start;
}

struct guestgate_gpc;

/* perf callbacks (rust/perf_callbacks/{fault_injection,bench}.rs) */

/*
 * The switch of the perf callbacks' op group, for guestgate_rs_perf_fault():
 * @GUESTGATE_PERF_FAULT_NONE: the product's switch.
 * @GUESTGATE_PERF_FAULT_NO_WAIT: the switch waits for no CPU: the
 * switching task moves every CPU's sections itself, and unregister returns
 * while hooks of the set may still run.
 * @GUESTGATE_PERF_FAULT_NO_GATE: the switch without gates: every hook
 * patched straight from "return 0" to the set's and back, one at a time,
 * state() first.
 */
enum guestgate_perf_fault {
	GUESTGATE_PERF_FAULT_NONE,
	GUESTGATE_PERF_FAULT_NO_WAIT,
	GUESTGATE_PERF_FAULT_NO_GATE,
};

#if IS_ENABLED(CONFIG_KUNIT)
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
#endif

/* op groups (rust/op_group_shim.c, rust/op_group/bench.rs) */

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * The bench group (op_group_shim.c), of the benchmarks of C and Rust
 * callers and the Rust KUnit case: the op __guestgate_op_bench, whose two
 * implementations return @x and @x + 1 and are always quiescent. Its users
 * take turns: none runs while another does.
 */
unsigned long guestgate_op_bench_a(unsigned long x);
DECLARE_STATIC_CALL(__guestgate_op_bench, guestgate_op_bench_a);
extern struct guestgate_op_group guestgate_op_bench_group;

/*
 * Benchmark of Rust callers: times @calls calls of one kind (0 the op of a
 * registered group, a static call site patched like a C caller's, all in
 * one section; 1 a direct call of the same function; 2 a pointer load and an
 * indirect call of it; 3 one section per call of the op) and stores the
 * TSC cycles in @cycles. Returns 0, -EINVAL for an unknown kind, or the
 * group's registration error.
 */
int guestgate_rs_op_group_bench(u32 kind, u64 calls, u64 *cycles);
#endif

/* pfn cache (rust/pfn_cache/{fault_injection,bench}.rs) */

/*
 * The refresh of every pfn cache, for guestgate_rs_gpc_break_refresh():
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

/*
 * Defined in every build (the refresh reads its mode only with
 * CONFIG_KUNIT), exported only with it.
 */
void guestgate_rs_gpc_break_refresh(unsigned int mode);
#if IS_ENABLED(CONFIG_KUNIT)
/*
 * Benchmark of the fast path from Rust: @ops times read(4), write_u32(0)
 * through the guard, drop; the TSC cycles in *@cycles. The cache is valid
 * and stays so (nothing zaps it meanwhile), or -EAGAIN.
 */
int guestgate_rs_gpc_bench(struct guestgate_gpc *gpc, u64 ops, u64 *cycles);
#endif

#endif /* _GUESTGATE_TEST_HOOKS_H */
