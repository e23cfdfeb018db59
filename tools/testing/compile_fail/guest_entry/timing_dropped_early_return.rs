// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing dropped by an early return
// expect: error[E0080]
// expect: guest timing dropped
//
// The `return` in the middle of the chain drops the live `GuestTiming`;
// the path that exits it properly does not make the function correct.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_timing_dropped_early_return(us: u64) -> u64 {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return 0;
        }
    };
    if us == 0 {
        return 0;
    }
    let exited = timing.run_guest(SpinGuest::from_us(us));
    let cycles = exited.guest_cycles();
    drop(exited.take_interrupts().exit_guest_timing());
    cycles
}
