// SPDX-License-Identifier: GPL-2.0

//! Support for the Rust KUnit cases.
//!
//! 6.12 cannot run `#[kunit_tests]` in a loadable module, so the suites are C
//! (`tools/testing/kunit/`, built as `guestgate_kunit.ko`) and their Rust cases
//! are `#[no_mangle] extern "C" fn guestgate_kunit_*(test)` functions next to
//! the code they test, exported to the suites by the C shims with
//! `EXPORT_SYMBOL_IF_KUNIT`. A case reports each expectation with [`kunit_expect!`],
//! which records a KUnit failure with the expression, file and line, and goes
//! on like `KUNIT_EXPECT_*`.

use crate::bindings;
use kernel::str::CStr;

/// The C `struct kunit`.
pub(crate) type Kunit = kernel::bindings::kunit;

/// The running test case, as passed to a Rust case by its C suite.
///
/// # Invariants
///
/// The pointer is the `struct kunit` of a test case that is running on this
/// task; it outlives the `Test`.
pub(crate) struct Test(*mut Kunit);

impl Test {
    /// Wraps the test case a C suite passed to a Rust case.
    ///
    /// # Safety
    ///
    /// `test` is the `struct kunit` of the case running on this task, and it
    /// stays valid while the returned `Test` exists.
    pub(crate) unsafe fn new(test: *mut Kunit) -> Self {
        // INVARIANT: By the safety requirements.
        Self(test)
    }

    /// Records a failed expectation unless `ok`. Use [`kunit_expect!`].
    pub(crate) fn check(&self, ok: bool, file: &'static CStr, line: u32, expr: &'static CStr) {
        // SAFETY: By the type invariant `self.0` is a running test case; the
        // strings are NUL-terminated and static.
        unsafe {
            bindings::guestgate_kunit_check(
                self.0,
                ok,
                file.as_char_ptr(),
                line as i32,
                expr.as_char_ptr(),
            )
        };
    }
}

/// Expects `$cond` to hold in KUnit test `$test` (a [`Test`]), like
/// `KUNIT_EXPECT_TRUE()`: a failure is recorded with the expression, file and
/// line, and the case goes on.
macro_rules! kunit_expect {
    ($test:expr, $cond:expr) => {
        $test.check(
            $cond,
            kernel::c_str!(file!()),
            line!(),
            kernel::c_str!(stringify!($cond)),
        )
    };
}
pub(crate) use kunit_expect;

/// The TSC, ordered against the loads and stores around it: the clock of
/// the benchmark loops the test modules run through `CONFIG_KUNIT` exports.
pub(crate) fn tsc() -> u64 {
    use core::arch::x86_64::{_mm_lfence, _rdtsc};

    // SAFETY: `lfence` and `rdtsc` have no memory effects; x86-64 has both.
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}
