/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: what bindgen turns into rust/bindings_generated.rs.
 *
 * Only items declared in guestgate's own headers are generated; the kernel
 * types they mention come from kernel::bindings.
 */
#include <linux/guestgate.h>
#include <uapi/linux/guestgate.h>
#include "shim.h"
