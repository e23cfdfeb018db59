// SPDX-License-Identifier: GPL-2.0

//! The exported C API.

use super::*;
use kernel::error::from_result;

/// `guestgate_op_group_register()`: see `include/linux/guestgate/op_group.h`.
///
/// # Safety
///
/// `grp` is valid for reads and writes and stays so, unmoved, until it is
/// unregistered; its fields as the header says.
#[no_mangle]
unsafe extern "C" fn guestgate_op_group_register(grp: *mut Group) -> c_int {
    // SAFETY: By the safety requirements.
    from_result(|| unsafe { register(grp) }.map(|()| 0))
}

/// `guestgate_op_group_unregister()`.
///
/// # Safety
///
/// `grp` is valid for reads and writes.
#[no_mangle]
unsafe extern "C" fn guestgate_op_group_unregister(grp: *mut Group) -> c_int {
    // SAFETY: By the safety requirements.
    from_result(|| unsafe { unregister(grp) }.map(|()| 0))
}

/// `guestgate_op_group_switch()`.
///
/// # Safety
///
/// `grp` is valid for reads and writes; process context, outside any
/// section.
#[no_mangle]
unsafe extern "C" fn guestgate_op_group_switch(grp: *mut Group, to: u32) -> c_int {
    // SAFETY: By the safety requirements.
    from_result(|| unsafe { switch(grp, to, Steps::All) }.map(|()| 0))
}

bindings::c_prototype!(guestgate_op_group_register: unsafe extern "C" fn(*mut Group) -> c_int);
bindings::c_prototype!(guestgate_op_group_unregister: unsafe extern "C" fn(*mut Group) -> c_int);
bindings::c_prototype!(guestgate_op_group_switch: unsafe extern "C" fn(*mut Group, u32) -> c_int);
