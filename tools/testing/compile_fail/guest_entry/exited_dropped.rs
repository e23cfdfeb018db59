// SPDX-License-Identifier: GPL-2.0
//
// what: guest exit dropped, take_interrupts() forgotten
// expect: error[E0080]
// expect: guest exit dropped
//
// The guest ran and the function returns without taking the guest's
// interrupts, so `GuestExited` is dropped: guest timing would never end
// and the interrupts would stay disabled. `#[must_use]` does not catch it
// (the value is used); its `MustExit` does, at monomorphization.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_exited_dropped() -> u64 {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return 0;
        }
    };
    let exited = timing.run_guest(SpinGuest::from_us(1));
    exited.guest_cycles()
}
