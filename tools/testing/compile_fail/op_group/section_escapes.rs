// SPDX-License-Identifier: GPL-2.0
//
// what: a section kept past the closure that it was lent to
// expect: lifetime may not live long enough
//
// with_section() ends the section when the closure returns: a reference to
// it that outlived the closure would call ops outside any section, with
// preemption enabled again.

use super::bench::{op, BENCH};

#[no_mangle]
extern "C" fn guestgate_cf_opg_section_escapes() -> usize {
    let kept = BENCH.with_section(|s| s);
    kept.map_or(0, |s| op(s, 1))
}
