// SPDX-License-Identifier: GPL-2.0
//
// what: guest run without guest timing
// expect: error[E0599]: no method named `run_guest` found for struct
// expect: IrqsOff` in the current scope
//
// The guest's time would be charged to the host. Only the states inside
// guest timing (`GuestTiming`, `GuestExited`) can run the guest.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_guest_without_timing() {
    let exited = IrqsOff::disable().run_guest(SpinGuest::from_us(1));
    drop(exited.take_interrupts().exit_guest_timing());
}
