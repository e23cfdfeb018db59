// SPDX-License-Identifier: GPL-2.0

//! Benchmark loops of Rust callers, for `make bench` (`CONFIG_KUNIT` builds,
//! run by `guestgate_test.ko`).

use super::*;
use kernel::error::from_result;

use crate::kunit::tsc;
use core::hint::black_box;

extern "C" fn ip() -> c_ulong {
    0
}

/// The registered set: its `state()` is the baseline's empty function.
static SET: Callbacks = Callbacks {
    state: Some(bindings::guestgate_perf_bench_empty),
    get_ip: Some(ip),
    handle_intel_pt_intr: None,
    handle_mediated_pmi: None,
};

/// The set the pre-static-call scheme reads, as perf read `perf_guest_cbs`.
static PTR: AtomicPtr<Callbacks> = AtomicPtr::new(ptr::null_mut());

/// Times `calls` dispatches of one scheme and returns the TSC cycles:
/// 0 nothing registered, 1 registered, 2 direct call, 3 pointer and
/// indirect call. `EBUSY` for 1 if a set is registered; `EINVAL` for an
/// unknown kind.
fn run(kind: u32, calls: u64) -> Result<u64> {
    let t0;
    let t1;
    match kind {
        0 => {
            t0 = tsc();
            for _ in 0..calls {
                guest_state();
            }
            t1 = tsc();
        }
        1 => {
            // SAFETY: `SET` is static and immutable, its hooks run
            // anywhere.
            unsafe { register(&SET) }?;
            let _reg = BenchRegistration;
            t0 = tsc();
            for _ in 0..calls {
                guest_state();
            }
            t1 = tsc();
        }
        2 => {
            t0 = tsc();
            for _ in 0..calls {
                // SAFETY: An empty C function, callable anywhere.
                unsafe { bindings::guestgate_perf_bench_empty() };
            }
            t1 = tsc();
        }
        3 => {
            // Opaque to the compiler, or it would see that PTR can only
            // hold `&SET` and call its `state()` directly.
            PTR.store(black_box(ptr::from_ref(&SET).cast_mut()), Relaxed);
            t0 = tsc();
            for _ in 0..calls {
                let cbs = PTR.load(Relaxed);
                if !cbs.is_null() {
                    // SAFETY: `PTR` only ever holds `&SET`.
                    if let Some(state) = unsafe { (*cbs).state } {
                        // SAFETY: A hook of `SET`, callable anywhere.
                        unsafe { state() };
                    }
                }
            }
            t1 = tsc();
        }
        _ => return Err(EINVAL),
    }
    Ok(t1 - t0)
}

/// Unregisters `SET` on drop.
struct BenchRegistration;

impl Drop for BenchRegistration {
    fn drop(&mut self) {
        let _ = unregister(&SET);
    }
}

/// `guestgate_rs_perf_bench()`: see `rust/perf_callbacks_shim.h`.
///
/// # Safety
///
/// `cycles` is valid for writes. Process context (registers and
/// unregisters for kind 1).
#[no_mangle]
unsafe extern "C" fn guestgate_rs_perf_bench(kind: u32, calls: u64, cycles: *mut u64) -> c_int {
    from_result(|| {
        let c = run(kind, calls)?;
        // SAFETY: `cycles` is valid for writes by the safety requirements.
        unsafe { cycles.write(c) };
        Ok(0)
    })
}

bindings::c_prototype!(
    guestgate_rs_perf_bench: unsafe extern "C" fn(u32, u64, *mut u64) -> c_int
);
