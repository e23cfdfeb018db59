// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: export of the version query implemented in info.rs.
 */
#include <linux/build_bug.h>
#include <linux/export.h>
#include <linux/stddef.h>

#include <linux/guestgate.h>

/* guestgate_get_version() is defined in info.rs. */
EXPORT_SYMBOL_GPL(guestgate_get_version);

/* bindings.rs asserts the same figures for bindgen's view of the struct. */
static_assert(sizeof(struct guestgate_version) == 24);
static_assert(offsetof(struct guestgate_version, abi) == 12);
static_assert(offsetof(struct guestgate_version, features) == 16);
