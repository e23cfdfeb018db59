// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing exited before the guest's interrupts were taken
// expect: error[E0599]: no method named `exit_guest_timing` found for struct
// expect: GuestExited` in the current scope
//
// The accounting bug the helpers exist to prevent: the interrupts that came
// in the guest (the tick among them) would be charged to the host. Only
// `GuestTiming` has `exit_guest_timing()`; `GuestExited` must go through
// `take_interrupts()` first.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_exit_timing_before_interrupts() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let exited = timing.run_guest(SpinGuest::from_us(1));
    drop(exited.exit_guest_timing());
}
