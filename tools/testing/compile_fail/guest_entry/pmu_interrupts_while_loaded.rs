// SPDX-License-Identifier: GPL-2.0
//
// what: the guest's interrupts taken with the guest's PMU still loaded
// expect: error[E0599]: no method named `take_interrupts` found for struct
// expect: GuestExited<GuestPmu<
//
// The switch at vCPU load and put: interrupts enabled while the guest's PMU
// context is loaded let perf's tick, its multiplexing hrtimer and its IPIs
// reach the PMU with the guest's state in it. Only `GuestExited<HostPmu>`
// has `take_interrupts()`; the context must be put first.

use super::*;

#[no_mangle]
extern "C" fn guestgate_cf_pmu_interrupts_while_loaded() {
    let Ok(user) = MediatedPmu::create() else {
        return;
    };
    let timing = match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let timing = timing.run_guest(SpinGuest::from_us(1)).take_interrupts();
    drop(timing.put_guest_pmu().exit_guest_timing());
}
