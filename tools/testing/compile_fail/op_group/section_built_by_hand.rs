// SPDX-License-Identifier: GPL-2.0
//
// what: a section made without beginning one
// expect: is private
//
// Only with_section() makes a Section, after section_begin() succeeded: one
// built by hand would let ops run outside any section, and would end a
// section that never began when it drops.

use super::bench::{op, BENCH};
use super::section::Section;
use core::marker::PhantomData;

#[no_mangle]
extern "C" fn guestgate_cf_opg_section_built_by_hand() -> usize {
    let s = Section {
        grp: &BENCH,
        _not_send: PhantomData,
    };
    op(&s, 1)
}
