// SPDX-License-Identifier: GPL-2.0
//
// what: guest run after guest timing was exited
// expect: error[E0382]: use of moved value: `timing`
// expect: `GuestTiming::exit_guest_timing` takes ownership of the receiver `self`
//
// Once guest timing is exited the state that could run the guest is gone:
// running it again would charge the guest's time to the host.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_run_after_exit() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let irqs = timing.exit_guest_timing();
    let exited = timing.run_guest(SpinGuest::from_us(1));
    drop(exited.take_interrupts().exit_guest_timing());
    drop(irqs);
}
