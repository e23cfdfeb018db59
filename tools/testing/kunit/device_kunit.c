// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_device: /dev/guestgate's per-open state and ioctl decoding, as
 * Rust cases inside guestgate.ko (rust/device.rs).
 */
#include "guestgate_kunit.h"
#include "device_shim.h"

static void guestgate_device_ioctl(struct kunit *test)
{
	guestgate_kunit_device_ioctl(test);
}

static void guestgate_device_open_release(struct kunit *test)
{
	guestgate_kunit_device_open_release(test);
}

static struct kunit_case guestgate_device_cases[] = {
	KUNIT_CASE(guestgate_device_ioctl),
	KUNIT_CASE(guestgate_device_open_release),
	{}
};

struct kunit_suite guestgate_device_suite = {
	.name = "guestgate_device",
	.test_cases = guestgate_device_cases,
};
