// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing exited with the guest's PMU still loaded
// expect: error[E0599]: no method named `exit_guest_timing` found for struct
// expect: GuestTiming<GuestPmu<
//
// The guest's PMU context is put at guest exit, before interrupts are
// enabled and guest timing ends; a chain that ends timing with it loaded
// would leave the host's events stopped and the guest's state in the PMU.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_pmu_timing_exit_while_loaded() {
    let Ok(user) = MediatedPmu::create() else {
        return;
    };
    match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
        Ok(timing) => drop(timing.exit_guest_timing()),
        Err(irqs) => drop(irqs),
    }
}
