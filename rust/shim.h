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

#include "device_shim.h"
#include "guest_entry_shim.h"
#include "kunit_shim.h"
#include "mediated_pmu_shim.h"
#include "op_group_shim.h"
#include "perf_callbacks_shim.h"
#include "pfn_cache_shim.h"
#include "test_hooks.h"

#endif /* _GUESTGATE_SHIM_H */
