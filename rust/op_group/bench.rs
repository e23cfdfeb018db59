// SPDX-License-Identifier: GPL-2.0

//! Benchmark loops of Rust callers, for `make bench` (`CONFIG_KUNIT`
//! builds, run by `guestgate_test.ko`): the op of `op_group_shim.c`'s
//! bench group, against a direct and an indirect call of its function.
//! Each loop keeps `x` opaque (`black_box`), which costs a spill and a
//! reload per call in every kind alike.

use super::section::{GroupRef, Section};
use super::*;
use crate::kunit::tsc;
use core::{
    hint::black_box,
    sync::atomic::{AtomicPtr, Ordering::Relaxed},
};
use kernel::{error::from_result, ffi::c_ulong};

/// The marker type of the bench group.
pub(super) struct BenchGroup;

/// The bench group of `op_group_shim.c`, also the Rust KUnit case's.
// SAFETY: `guestgate_op_bench_group` is a C static of this module, and
// `BenchGroup` is this `GroupRef`'s alone.
pub(super) static BENCH: GroupRef<BenchGroup> =
    unsafe { GroupRef::new(core::ptr::addr_of_mut!(bindings::guestgate_op_bench_group)) };

/// The bench group's op: a call of its static call, which objtool records
/// as a call site of the static call, so that it is patched to a direct
/// call of the target, as a C caller's is.
#[inline]
pub(super) fn op(_section: &Section<'_, BenchGroup>, x: usize) -> usize {
    // SAFETY: The trampoline is a function of this module with this
    // signature; its targets run anywhere. `_section` pins the
    // implementation it reaches.
    unsafe { bindings::__SCT____guestgate_op_bench(x as _) as usize }
}

/// The function the indirect calls read, as a pointer.
static PTR: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Unregisters the bench group when the run ends.
struct Registered;

impl Drop for Registered {
    fn drop(&mut self) {
        let _ = BENCH.unregister();
    }
}

/// Times `calls` calls of one kind: see `guestgate_rs_op_group_bench()`.
fn run(kind: u32, calls: u64) -> Result<u64> {
    let mut x = 0usize;
    let t0;
    let t1;
    match kind {
        0 | 3 => {
            BENCH.register()?;
            let _reg = Registered;
            if kind == 0 {
                let (start, end, last) = BENCH
                    .with_section(|s| {
                        let mut x = x;
                        let start = tsc();
                        for _ in 0..calls {
                            x = op(s, black_box(x));
                        }
                        (start, tsc(), x)
                    })
                    .ok_or(EBUSY)?;
                (t0, t1, x) = (start, end, last);
            } else {
                t0 = tsc();
                for _ in 0..calls {
                    x = BENCH.with_section(|s| op(s, black_box(x))).ok_or(EBUSY)?;
                }
                t1 = tsc();
            }
        }
        1 => {
            t0 = tsc();
            for _ in 0..calls {
                // SAFETY: A C function that does nothing, callable anywhere.
                x = unsafe { bindings::guestgate_op_bench_a(black_box(x) as _) } as usize;
            }
            t1 = tsc();
        }
        2 => {
            // Opaque to the compiler, or it would call the function directly.
            let f: unsafe extern "C" fn(c_ulong) -> c_ulong = bindings::guestgate_op_bench_a;
            PTR.store(black_box(f as *mut c_void), Relaxed);
            t0 = tsc();
            for _ in 0..calls {
                let p = PTR.load(Relaxed);
                // SAFETY: `PTR` holds `guestgate_op_bench_a`, of this type.
                let f: unsafe extern "C" fn(c_ulong) -> c_ulong =
                    unsafe { core::mem::transmute(p) };
                // SAFETY: A C function that does nothing, callable anywhere.
                x = unsafe { f(black_box(x) as _) } as usize;
            }
            t1 = tsc();
        }
        _ => return Err(EINVAL),
    }
    black_box(x);
    Ok(t1 - t0)
}

/// `guestgate_rs_op_group_bench()`: see `rust/test_hooks.h`.
///
/// # Safety
///
/// `cycles` is valid for writes. Process context (kinds 0 and 3 register
/// the bench group).
#[no_mangle]
unsafe extern "C" fn guestgate_rs_op_group_bench(kind: u32, calls: u64, cycles: *mut u64) -> c_int {
    from_result(|| {
        let c = run(kind, calls)?;
        // SAFETY: `cycles` is valid for writes by the safety requirements.
        unsafe { cycles.write(c) };
        Ok(0)
    })
}

bindings::c_prototype!(
    guestgate_rs_op_group_bench: unsafe extern "C" fn(u32, u64, *mut u64) -> c_int
);
