// SPDX-License-Identifier: GPL-2.0

//! Rust KUnit case of the `guestgate_op_group` suite: the Rust API over
//! the bench group of `op_group_shim.c`.

use super::bench::{op, BENCH};
use super::*;
use crate::kunit::{kunit_expect, Kunit, Test};

/// Registration, sections and a switch, from Rust: the op follows the
/// switch; a group is registered once.
///
/// # Safety
///
/// `test` is the running KUnit case.
#[no_mangle]
unsafe extern "C" fn guestgate_kunit_op_group_rust(test: *mut Kunit) {
    // SAFETY: By the safety requirements.
    let test = unsafe { Test::new(test) };

    kunit_expect!(test, BENCH.register().is_ok());
    kunit_expect!(test, BENCH.register() == Err(EEXIST));
    kunit_expect!(test, BENCH.with_section(|s| op(s, 5)) == Some(5));
    // Nested: joins the section under way.
    kunit_expect!(
        test,
        BENCH.with_section(|s| (op(s, 1), BENCH.with_section(|t| op(t, 2)))) == Some((1, Some(2)))
    );
    kunit_expect!(test, BENCH.switch(1).is_ok());
    kunit_expect!(test, BENCH.with_section(|s| op(s, 5)) == Some(6));
    kunit_expect!(test, BENCH.switch(2) == Err(EINVAL));
    kunit_expect!(test, BENCH.switch(0).is_ok());
    kunit_expect!(test, BENCH.unregister().is_ok());
    kunit_expect!(test, BENCH.unregister() == Err(ENOENT));
}

bindings::c_prototype!(guestgate_kunit_op_group_rust: unsafe extern "C" fn(*mut Kunit));
