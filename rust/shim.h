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
#include <linux/types.h>

struct kunit;

/* device_shim.c, for device.rs */
int guestgate_device_register(void);
void guestgate_device_unregister(void);

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
};

/* device.rs, for device_shim.c */
int guestgate_rs_open(void **priv);
void guestgate_rs_release(void *priv);
long guestgate_rs_ioctl(void *priv, unsigned int cmd, unsigned long arg);
void guestgate_rs_device_stats(struct guestgate_device_stats *stats);

#if IS_ENABLED(CONFIG_KUNIT)
/* kunit_shim.c, for kunit.rs */
void guestgate_kunit_check(struct kunit *test, bool ok, const char *file,
			   int line, const char *expr);

/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_device_ioctl(struct kunit *test);
void guestgate_kunit_device_open_release(struct kunit *test);
#endif

#endif /* _GUESTGATE_SHIM_H */
