/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: KVM's guest-boundary plumbing as a standalone module.
 *
 * The C API for kernel callers such as KVM. Link against guestgate's
 * exports (KBUILD_EXTRA_SYMBOLS=<guestgate>/Module.symvers) and add
 * <guestgate>/include to the include path. One header per mechanism, all
 * five included here: <linux/guestgate/perf.h> (perf guest-info
 * callbacks), <linux/guestgate/entry.h> (guest entry and exit),
 * <linux/guestgate/pfncache.h> (the pfn cache) and
 * <linux/guestgate/mediated_pmu.h> (the mediated PMU ownership deal) and
 * <linux/guestgate/op_group.h> (runtime switching of a group of patched
 * ops); this one has what is the module's as a whole.
 *
 * Every function is implemented by guestgate.ko and exported GPL-only.
 */
#ifndef _LINUX_GUESTGATE_H
#define _LINUX_GUESTGATE_H

#include <linux/types.h>
#include <uapi/linux/guestgate.h>

#include <linux/guestgate/entry.h>
#include <linux/guestgate/mediated_pmu.h>
#include <linux/guestgate/op_group.h>
#include <linux/guestgate/perf.h>
#include <linux/guestgate/pfncache.h>

/* Release of this header; guestgate_get_version() reports the module's. */
#define GUESTGATE_VERSION_MAJOR	0
#define GUESTGATE_VERSION_MINOR	1
#define GUESTGATE_VERSION_PATCH	0

/**
 * guestgate_get_version() - Query the version and features of guestgate.
 * @ver: Filled with the release, the ABI version and the GUESTGATE_FEATURE_*
 *       bits of the running module.
 *
 * Context: Any context, NMI included. Does not sleep or take locks.
 * Return: 0 on success, -EINVAL if @ver is NULL.
 */
int guestgate_get_version(struct guestgate_version *ver);

#endif /* _LINUX_GUESTGATE_H */
