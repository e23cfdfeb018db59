// SPDX-License-Identifier: GPL-2.0

//! The fast path from a Rust caller, for `guestgate_test.ko`'s benchmark.

use super::*;

use crate::kunit::tsc;

/// `guestgate_rs_gpc_bench()`: see `rust/pfn_cache_shim.h`.
///
/// # Safety
///
/// `gpc` is a live cache; `cycles` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_gpc_bench(
    gpc: *mut bindings::guestgate_gpc,
    ops: u64,
    cycles: *mut u64,
) -> c_int {
    // SAFETY: A live cache, by the safety requirements.
    let cache = unsafe { PfnCache::borrow_raw(gpc) };
    let t0 = tsc();
    for i in 0..ops {
        let r = match cache.read(4) {
            Ok(guard) => guard.write_u32(0, i as u32),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            return e.to_errno();
        }
    }
    let t1 = tsc();
    // SAFETY: Valid for writes, by the safety requirements.
    unsafe { cycles.write(t1 - t0) };
    0
}

bindings::c_prototype!(
    guestgate_rs_gpc_bench: unsafe extern "C" fn(*mut bindings::guestgate_gpc, u64, *mut u64)
        -> c_int
);
