// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing dropped by `let _ =`
// expect: error[E0080]
// expect: guest timing dropped
//
// `let _ =` drops the state `take_interrupts()` returns at once, and it
// silences `#[must_use]`: only `MustExit` is left to refuse it.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_timing_dropped_let_underscore() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let exited = timing.run_guest(SpinGuest::from_us(1));
    let _ = exited.take_interrupts();
}
