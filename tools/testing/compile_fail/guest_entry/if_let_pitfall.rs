// SPDX-License-Identifier: GPL-2.0
//
// what: known property, `if let` on enter_guest_timing() is refused
// expect: error[E0080]
// expect: guest timing dropped
//
// Not a misuse, a known property of `MustExit`: this code never drops a
// `GuestTiming` at run time, yet it does not compile. `if let` moves the
// state out of `Ok` only; on the other path the whole
// `Result<GuestTiming, IrqsOff>` is dropped, and its drop glue, which
// contains `GuestTiming`'s, is instantiated. Use a `match` that moves the
// value out of both arms, as control.rs does. Should the compiler ever
// accept this, the test fails and this note needs updating.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_if_let_pitfall() {
    if let Ok(timing) = IrqsOff::disable().enter_guest_timing() {
        drop(timing.exit_guest_timing());
    }
}
