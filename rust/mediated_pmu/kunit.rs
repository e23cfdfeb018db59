// SPDX-License-Identifier: GPL-2.0

//! Rust KUnit case of the `guestgate_mediated_pmu` suite.

use super::owners::*;
use super::*;
use crate::kunit::{kunit_expect, Kunit, Test};

/// The two sides exclude each other in both orders, each side may hold
/// several owners, the guards give back what they took, and a leave with
/// nothing to leave changes nothing.
///
/// # Safety
///
/// `test` is the running KUnit case.
#[no_mangle]
unsafe extern "C" fn guestgate_kunit_mediated_pmu_owners(test: *mut Kunit) {
    // SAFETY: By the safety requirements.
    let test = unsafe { Test::new(test) };
    let bad = BAD_LEAVES.load(Relaxed);

    // Nothing else takes part while the suites run.
    kunit_expect!(test, OWNERS.load(Relaxed) == 0);
    {
        let a = MediatedPmu::create();
        let b = MediatedPmu::create();
        kunit_expect!(test, a.is_ok() && b.is_ok());
        kunit_expect!(test, OWNERS.load(Relaxed) == -2);
        kunit_expect!(
            test,
            GuestCountingEvent::account().err() == Some(eopnotsupp())
        );
        drop(a);
        kunit_expect!(
            test,
            GuestCountingEvent::account().err() == Some(eopnotsupp())
        );
    }
    kunit_expect!(test, OWNERS.load(Relaxed) == 0);
    {
        let e = GuestCountingEvent::account();
        let f = GuestCountingEvent::account();
        kunit_expect!(test, e.is_ok() && f.is_ok());
        kunit_expect!(test, OWNERS.load(Relaxed) == 2);
        kunit_expect!(test, MediatedPmu::create().err() == Some(EBUSY));
        drop(e);
        kunit_expect!(test, MediatedPmu::create().err() == Some(EBUSY));
    }
    kunit_expect!(test, OWNERS.load(Relaxed) == 0);
    kunit_expect!(test, MediatedPmu::create().is_ok());

    // A C caller's leave with nothing to leave: refused, nothing changed.
    kunit_expect!(test, leave(Side::MediatedUser) == Err(EINVAL));
    kunit_expect!(test, leave(Side::GuestCountingEvent) == Err(EINVAL));
    kunit_expect!(test, OWNERS.load(Relaxed) == 0);
    kunit_expect!(test, BAD_LEAVES.load(Relaxed) - bad == 2);
}

bindings::c_prototype!(guestgate_kunit_mediated_pmu_owners: unsafe extern "C" fn(*mut Kunit));
