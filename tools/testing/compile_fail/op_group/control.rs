// SPDX-License-Identifier: GPL-2.0
//
// what: control, an op called with its group's section, inside the closure
// expect-build: ok
//
// The other snippets here are one misuse away from this code. It must
// compile: if it does not, the others fail for the wrong reason (a broken
// harness, a changed API) and their errors prove nothing.

use super::bench::{op, BENCH};

#[no_mangle]
extern "C" fn guestgate_cf_opg_control() -> usize {
    BENCH.with_section(|s| op(s, 1)).unwrap_or(0)
}
