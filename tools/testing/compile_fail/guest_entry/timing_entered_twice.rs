// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing entered twice on the same chain
// expect: error[E0599]: no method named `enter_guest_timing` found for struct
// expect: GuestTiming` in the current scope
//
// Guest timing does not nest: only `IrqsOff` can enter it. (A second chain
// started from a new `IrqsOff` compiles and is refused at run time, see
// control.rs.)

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_timing_entered_twice() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    match timing.enter_guest_timing() {
        Ok(inner) => drop(inner.exit_guest_timing().exit_guest_timing()),
        Err(timing) => drop(timing.exit_guest_timing()),
    }
}
