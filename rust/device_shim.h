/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: /dev/guestgate and the debugfs directory (device_shim.c, device.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_DEVICE_SHIM_H
#define _GUESTGATE_DEVICE_SHIM_H

#include <linux/types.h>
#include <uapi/linux/guestgate.h>

struct kunit;

/* device_shim.c, for device.rs */
int guestgate_device_register(void);
void guestgate_device_unregister(void);
/*
 * The debugfs directory guestgate/ and its files, one per row of the table
 * in device_shim.c (each mechanism's *_show() below).
 */
void guestgate_debugfs_register(void);
void guestgate_debugfs_unregister(void);

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
int guestgate_rs_open(void);
void guestgate_rs_release(void);
long guestgate_rs_ioctl(unsigned int cmd, unsigned long arg);
void guestgate_rs_device_stats(struct guestgate_device_stats *stats);

#if IS_ENABLED(CONFIG_KUNIT)
/* Rust KUnit cases, exported for guestgate_kunit.ko */
void guestgate_kunit_device_ioctl(struct kunit *test);
void guestgate_kunit_device_open_release(struct kunit *test);
#endif

#endif /* _GUESTGATE_DEVICE_SHIM_H */
