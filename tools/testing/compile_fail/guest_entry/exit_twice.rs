// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing exited twice
// expect: error[E0382]: use of moved value: `timing`
// expect: `GuestTiming::exit_guest_timing` takes ownership of the receiver `self`
//
// `exit_guest_timing()` consumes the state: the second exit, which would
// account a guest exit that never happened, uses a moved value.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_exit_twice() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let irqs = timing.exit_guest_timing();
    let again = timing.exit_guest_timing();
    drop(irqs);
    drop(again);
}
