// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_perf_callbacks: registration rules, dispatch and patching of
 * the perf guest-info callbacks, through the C API as another module sees
 * it (inline-patched call sites), plus Rust cases for the Rust API
 * (rust/perf_callbacks/kunit.rs).
 *
 * The cases need the slot free: run them before anything registers (the
 * sample, the stress module).
 */
#include <linux/errno.h>
#include <linux/guestgate.h>
#include <linux/perf_event.h>
#include <linux/static_call.h>
#include <linux/string.h>

#include "guestgate_kunit.h"
#include "perf_callbacks_shim.h"

static unsigned int calls_state, calls_get_ip, calls_pt, calls_pmi;

static unsigned int a_state(void)
{
	calls_state++;
	return PERF_GUEST_ACTIVE | PERF_GUEST_USER;
}

static unsigned long a_get_ip(void)
{
	calls_get_ip++;
	return 0x1234;
}

static unsigned int a_pt(void)
{
	calls_pt++;
	return 7;
}

static void a_pmi(void)
{
	calls_pmi++;
}

static const struct guestgate_guest_info_callbacks set_a = {
	.state = a_state,
	.get_ip = a_get_ip,
	.handle_intel_pt_intr = a_pt,
	.handle_mediated_pmi = a_pmi,
};

/* The required hooks only. */
static const struct guestgate_guest_info_callbacks set_b = {
	.state = a_state,
	.get_ip = a_get_ip,
};

static void expect_empty(struct kunit *test)
{
	unsigned int pmi_before = calls_pmi;

	KUNIT_EXPECT_EQ(test, guestgate_guest_state(), 0);
	KUNIT_EXPECT_EQ(test, guestgate_guest_get_ip(), 0);
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 0);
	guestgate_guest_handle_mediated_pmi();
	KUNIT_EXPECT_EQ(test, calls_pmi, pmi_before);
}

static void guestgate_perf_empty(struct kunit *test)
{
	expect_empty(test);
}

static void guestgate_perf_einval(struct kunit *test)
{
	struct guestgate_guest_info_callbacks no_state = set_a;
	struct guestgate_guest_info_callbacks no_ip = set_a;

	no_state.state = NULL;
	no_ip.get_ip = NULL;
	KUNIT_EXPECT_EQ(test, guestgate_register_guest_info_callbacks(NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_register_guest_info_callbacks(&no_state), -EINVAL);
	KUNIT_EXPECT_EQ(test, guestgate_register_guest_info_callbacks(&no_ip), -EINVAL);
	/* Nothing was registered: the slot is still free. */
	expect_empty(test);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&no_state), -ENOENT);
}

static void guestgate_perf_enoent(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), -ENOENT);
	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_b), -ENOENT);
	KUNIT_EXPECT_EQ(test, guestgate_guest_get_ip(), 0x1234);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), -ENOENT);
}

static void guestgate_perf_ebusy(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_EQ(test, guestgate_register_guest_info_callbacks(&set_a), -EBUSY);
	KUNIT_EXPECT_EQ(test, guestgate_register_guest_info_callbacks(&set_b), -EBUSY);
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 7);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), 0);
	expect_empty(test);
}

static void guestgate_perf_reached(struct kunit *test)
{
	unsigned int s = calls_state, i = calls_get_ip, p = calls_pt, m = calls_pmi;

	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_EQ(test, guestgate_guest_state(), PERF_GUEST_ACTIVE | PERF_GUEST_USER);
	KUNIT_EXPECT_EQ(test, guestgate_guest_get_ip(), 0x1234);
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 7);
	guestgate_guest_handle_mediated_pmi();
	/* The PT dispatch asked state() before calling the handler. */
	KUNIT_EXPECT_EQ(test, calls_state - s, 2);
	KUNIT_EXPECT_EQ(test, calls_get_ip - i, 1);
	KUNIT_EXPECT_EQ(test, calls_pt - p, 1);
	KUNIT_EXPECT_EQ(test, calls_pmi - m, 1);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), 0);

	/* Optional hooks left NULL dispatch to "return 0". */
	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_b), 0);
	KUNIT_EXPECT_EQ(test, guestgate_guest_get_ip(), 0x1234);
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 0);
	guestgate_guest_handle_mediated_pmi();
	KUNIT_EXPECT_EQ(test, calls_pmi - m, 1);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_b), 0);
}

/* A set whose guest runs while host_pt_guest is nonzero. */
static unsigned int host_pt_guest, host_pt_calls;

static unsigned int host_pt_state(void)
{
	return host_pt_guest;
}

static unsigned int host_pt_handler(void)
{
	host_pt_calls++;
	return 1;
}

static const struct guestgate_guest_info_callbacks set_host_pt = {
	.state = host_pt_state,
	.get_ip = a_get_ip,
	.handle_intel_pt_intr = host_pt_handler,
};

/*
 * perf calls its PT handler on every ToPA PMI: one taken while no guest
 * runs is the host's, and must not reach the set's handler (which, as the
 * header promises, handles the guest's only), from C or from Rust.
 */
static void guestgate_perf_pt_gated(struct kunit *test)
{
	host_pt_guest = 0;
	host_pt_calls = 0;
	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_host_pt), 0);
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 0);
	KUNIT_EXPECT_EQ(test, guestgate_kunit_perf_pt_intr(), 0);
	KUNIT_EXPECT_EQ(test, host_pt_calls, 0);
	host_pt_guest = PERF_GUEST_ACTIVE;
	KUNIT_EXPECT_EQ(test, guestgate_guest_handle_intel_pt_intr(), 1);
	KUNIT_EXPECT_EQ(test, guestgate_kunit_perf_pt_intr(), 1);
	KUNIT_EXPECT_EQ(test, host_pt_calls, 2);
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_host_pt), 0);
}

/* Whether an x86 static call trampoline is a jmp to @fn. */
static bool tramp_jumps_to(const void *tramp, const void *fn)
{
	const u8 *insn = tramp;
	s32 rel;

	if (insn[0] != 0xe9)
		return false;
	memcpy(&rel, insn + 1, sizeof(rel));
	return insn + 5 + rel == fn;
}

static void guestgate_perf_patched(struct kunit *test)
{
	const void *tramp = STATIC_CALL_TRAMP_ADDR(__guestgate_guest_state);

	KUNIT_EXPECT_PTR_EQ(test, (void *)static_call_query(__guestgate_guest_state),
			    (void *)&__static_call_return0);
	KUNIT_ASSERT_EQ(test, guestgate_register_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_PTR_EQ(test, (void *)static_call_query(__guestgate_guest_state),
			    (void *)a_state);
	KUNIT_EXPECT_PTR_EQ(test, (void *)static_call_query(__guestgate_guest_get_ip),
			    (void *)a_get_ip);
	KUNIT_EXPECT_TRUE(test, tramp_jumps_to(tramp, a_state));
	KUNIT_EXPECT_EQ(test, guestgate_unregister_guest_info_callbacks(&set_a), 0);
	KUNIT_EXPECT_PTR_EQ(test, (void *)static_call_query(__guestgate_guest_state),
			    (void *)&__static_call_return0);
	KUNIT_EXPECT_PTR_EQ(test, (void *)static_call_query(__guestgate_guest_handle_mediated_pmi),
			    (void *)&__static_call_return0);
	KUNIT_EXPECT_FALSE(test, tramp_jumps_to(tramp, a_state));
}

/*
 * kvm's vendor modules are the ones that register with perf: each must be
 * refused while the bridge holds the slot, kvm loaded or not.
 */
static void guestgate_perf_rival_kvm(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, guestgate_perf_rival("kvm"));
	KUNIT_EXPECT_TRUE(test, guestgate_perf_rival("kvm_amd"));
	KUNIT_EXPECT_TRUE(test, guestgate_perf_rival("kvm_intel"));
	KUNIT_EXPECT_FALSE(test, guestgate_perf_rival("kvm_amd2"));
	KUNIT_EXPECT_FALSE(test, guestgate_perf_rival("guestgate_sample"));
}

static void guestgate_perf_rust_guard(struct kunit *test)
{
	guestgate_kunit_perf_guard(test);
}

static void guestgate_perf_rust_busy(struct kunit *test)
{
	guestgate_kunit_perf_busy(test);
}

/*
 * Whether no set is registered. state() itself cannot tell: a registered
 * set answers 0 while no guest runs.
 */
static bool slot_free(void)
{
	return static_call_query(__guestgate_guest_state) ==
	       (void *)&__static_call_return0;
}

static int guestgate_perf_init(struct kunit *test)
{
	/* Every case starts and must end with the slot free. */
	if (!slot_free()) {
		kunit_err(test, "a set is registered: run before the sample loads\n");
		return -EBUSY;
	}
	return 0;
}

static void guestgate_perf_exit(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, slot_free());
}

static struct kunit_case guestgate_perf_cases[] = {
	KUNIT_CASE(guestgate_perf_empty),
	KUNIT_CASE(guestgate_perf_einval),
	KUNIT_CASE(guestgate_perf_enoent),
	KUNIT_CASE(guestgate_perf_ebusy),
	KUNIT_CASE(guestgate_perf_reached),
	KUNIT_CASE(guestgate_perf_pt_gated),
	KUNIT_CASE(guestgate_perf_patched),
	KUNIT_CASE(guestgate_perf_rival_kvm),
	KUNIT_CASE(guestgate_perf_rust_guard),
	KUNIT_CASE(guestgate_perf_rust_busy),
	{}
};

struct kunit_suite guestgate_perf_callbacks_suite = {
	.name = "guestgate_perf_callbacks",
	.init = guestgate_perf_init,
	.exit = guestgate_perf_exit,
	.test_cases = guestgate_perf_cases,
};
