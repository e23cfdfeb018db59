/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: KUnit expectations from Rust (kunit_shim.c, kunit.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_KUNIT_SHIM_H
#define _GUESTGATE_KUNIT_SHIM_H

#include <linux/types.h>

struct kunit;

#if IS_ENABLED(CONFIG_KUNIT)
/* kunit_shim.c, for kunit.rs */
void guestgate_kunit_check(struct kunit *test, bool ok, const char *file,
			   int line, const char *expr);
#endif

#endif /* _GUESTGATE_KUNIT_SHIM_H */
