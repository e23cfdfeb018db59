// SPDX-License-Identifier: GPL-2.0

//! Rust KUnit cases of the `guestgate_perf_callbacks` suite.

use super::*;

use crate::kunit::{kunit_expect, Kunit, Test};

const STATE_A: u32 = 0x1 | (0xa << 8);
const IP_A: usize = 0xffff_ffff_a000_0000;

struct SetA;

#[vtable]
impl GuestInfo for SetA {
    fn state() -> u32 {
        STATE_A
    }

    fn get_ip() -> usize {
        IP_A
    }

    fn handle_intel_pt_intr() -> u32 {
        0xa
    }
}

struct SetB;

#[vtable]
impl GuestInfo for SetB {
    fn state() -> u32 {
        0x3
    }

    fn get_ip() -> usize {
        0xb
    }
}

/// The guard registers, the Rust dispatch reaches the set, optional
/// hooks left out return 0, and drop unregisters.
///
/// # Safety
///
/// `test` is the running KUnit case.
#[no_mangle]
unsafe extern "C" fn guestgate_kunit_perf_guard(test: *mut Kunit) {
    // SAFETY: By the safety requirements.
    let test = unsafe { Test::new(test) };
    let unregs = UNREGISTRATIONS.load(Relaxed);

    kunit_expect!(test, guest_state() == 0);
    {
        let reg = Registration::<SetA>::new();
        kunit_expect!(test, reg.is_ok());
        kunit_expect!(test, guest_state() == STATE_A);
        kunit_expect!(test, guest_get_ip() == IP_A);
        kunit_expect!(test, guest_handle_intel_pt_intr() == 0xa);
        // SetA has no mediated PMI hook: "return 0", nothing to see.
        guest_handle_mediated_pmi();
    }
    kunit_expect!(test, UNREGISTRATIONS.load(Relaxed) - unregs == 1);
    kunit_expect!(test, REGISTERED.load(Relaxed).is_null());
    kunit_expect!(test, guest_state() == 0);
    kunit_expect!(test, guest_get_ip() == 0);
    kunit_expect!(test, guest_handle_intel_pt_intr() == 0);

    // Another set after the first was dropped; its PT hook is left out.
    let reg = Registration::<SetB>::new();
    kunit_expect!(test, reg.is_ok());
    kunit_expect!(test, guest_state() == 0x3);
    kunit_expect!(test, guest_handle_intel_pt_intr() == 0);
}

/// A second registration, of the same set or another, is `EBUSY` and
/// leaves the first in place.
///
/// # Safety
///
/// `test` is the running KUnit case.
#[no_mangle]
unsafe extern "C" fn guestgate_kunit_perf_busy(test: *mut Kunit) {
    // SAFETY: By the safety requirements.
    let test = unsafe { Test::new(test) };
    let reg = Registration::<SetA>::new();
    kunit_expect!(test, reg.is_ok());
    kunit_expect!(test, Registration::<SetA>::new().err() == Some(EBUSY));
    kunit_expect!(test, Registration::<SetB>::new().err() == Some(EBUSY));
    kunit_expect!(test, guest_state() == STATE_A);
    kunit_expect!(test, guest_get_ip() == IP_A);
    // An unregistration of a set that is not the registered one.
    kunit_expect!(
        test,
        unregister(&super::guest_info::Adapter::<SetB>::CALLBACKS) == Err(ENOENT)
    );
    kunit_expect!(test, guest_state() == STATE_A);
    drop(reg);
    kunit_expect!(test, guest_state() == 0);
}

/// The Rust dispatch of `handle_intel_pt_intr()`, for the C cases.
#[no_mangle]
extern "C" fn guestgate_kunit_perf_pt_intr() -> c_uint {
    guest_handle_intel_pt_intr()
}

bindings::c_prototype!(guestgate_kunit_perf_pt_intr: unsafe extern "C" fn() -> c_uint);
bindings::c_prototype!(guestgate_kunit_perf_guard: unsafe extern "C" fn(*mut Kunit));
bindings::c_prototype!(guestgate_kunit_perf_busy: unsafe extern "C" fn(*mut Kunit));
