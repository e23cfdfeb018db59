// SPDX-License-Identifier: GPL-2.0
//
// what: an op called with a section of another group
// expect: error[E0308]: mismatched types
//
// A section pins its own group only: an op of the bench group run in a
// section of another group could meet a switch of the bench group halfway.
// The marker type of each group keeps them apart.

use super::bench::op;
use super::section::GroupRef;

struct Other;

// SAFETY: Never registered nor used: the snippet must not compile.
static OTHER: GroupRef<Other> = unsafe { GroupRef::new(core::ptr::null_mut()) };

#[no_mangle]
extern "C" fn guestgate_cf_opg_op_of_other_group() -> usize {
    OTHER.with_section(|s| op(s, 1)).unwrap_or(0)
}
