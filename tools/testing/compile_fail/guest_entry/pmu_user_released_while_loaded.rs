// SPDX-License-Identifier: GPL-2.0
//
// what: the mediated user released while the guest's PMU is loaded for it
// expect: error[E0505]: cannot move out of `user` because it is borrowed
//
// While the guest has the PMU, no host event may count the guest: the
// mediated user the context was loaded for stays borrowed until it is put.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_pmu_user_released_while_loaded() {
    let Ok(user) = MediatedPmu::create() else {
        return;
    };
    match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
        Ok(timing) => {
            let exited = timing.run_guest(SpinGuest::from_us(1));
            drop(user);
            drop(exited.put_guest_pmu().take_interrupts().exit_guest_timing());
        }
        Err(irqs) => drop(irqs),
    }
}
