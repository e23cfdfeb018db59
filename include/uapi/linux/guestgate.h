/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * guestgate: userspace interface of the /dev/guestgate misc device.
 *
 * Every ioctl returns 0 on success or -1 with errno set. A command the
 * running module does not know fails with ENOTTY.
 */
#ifndef _UAPI_LINUX_GUESTGATE_H
#define _UAPI_LINUX_GUESTGATE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GUESTGATE_DEVICE_PATH	"/dev/guestgate"

/* Bumped on every incompatible change of this header. */
#define GUESTGATE_ABI_VERSION	1

/*
 * Mechanisms a module may provide, reported in guestgate_version.features.
 * A bit is set only when the mechanism is built and usable.
 */
#define GUESTGATE_FEATURE_PERF_CALLBACKS	(1ULL << 0)
#define GUESTGATE_FEATURE_GUEST_ENTRY		(1ULL << 1)
#define GUESTGATE_FEATURE_PFN_CACHE		(1ULL << 2)
#define GUESTGATE_FEATURE_MEDIATED_PMU		(1ULL << 3)

/**
 * struct guestgate_version - result of GUESTGATE_IOCTL_VERSION
 * @major: release, major number
 * @minor: release, minor number
 * @patch: release, patch number
 * @abi: GUESTGATE_ABI_VERSION of the running module
 * @features: GUESTGATE_FEATURE_* bits of the running module
 */
struct guestgate_version {
	__u32 major;
	__u32 minor;
	__u32 patch;
	__u32 abi;
	__u64 features;
};

#define GUESTGATE_IOC_MAGIC	0xB9

/* Fill a struct guestgate_version. Fails with EFAULT on a bad pointer. */
#define GUESTGATE_IOCTL_VERSION	_IOR(GUESTGATE_IOC_MAGIC, 0x00, struct guestgate_version)

#endif /* _UAPI_LINUX_GUESTGATE_H */
