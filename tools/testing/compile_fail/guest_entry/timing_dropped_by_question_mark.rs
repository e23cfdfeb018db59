// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing dropped by the early return of `?`
// expect: error[E0080]
// expect: guest timing dropped
//
// The most common early return of kernel Rust: a fallible step inside the
// chain whose error `?` propagates drops the live `GuestTiming`.

use super::*;
use kernel::prelude::*;

fn guest_us(arg: u64) -> Result<u64> {
    if arg > 1000 {
        return Err(EINVAL);
    }
    Ok(arg)
}

fn run(arg: u64) -> Result<u64> {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(_irqs) => return Err(EBUSY),
    };
    let exited = timing.run_guest(SpinGuest::from_us(guest_us(arg)?));
    let cycles = exited.guest_cycles();
    drop(exited.take_interrupts().exit_guest_timing());
    Ok(cycles)
}

#[no_mangle]
extern "C" fn guestgate_cf_timing_dropped_by_question_mark(arg: u64) -> u64 {
    run(arg).unwrap_or(0)
}
