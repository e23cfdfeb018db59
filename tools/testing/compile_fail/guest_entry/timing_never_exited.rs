// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing never exited, dropped at the end of its scope
// expect: error[E0080]
// expect: guest timing dropped
//
// The guest's interrupts are taken, then the chain ends without
// `exit_guest_timing()`: the task would keep being charged as a guest.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_timing_never_exited() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let exited = timing.run_guest(SpinGuest::from_us(1));
    let _timing = exited.take_interrupts();
}
