// SPDX-License-Identifier: GPL-2.0
//
// what: control, the correct chain and a KVM-like run loop compile
// expect-build: ok
//
// Every other snippet here is one misuse away from this code. It must
// compile: if it does not, the others fail for the wrong reason (a broken
// harness, a changed API) and their errors prove nothing.

use super::*;

/// Runs the guest until it has exited `exits` times, re-entering it on the
/// fast path (interrupts still disabled) every other exit, as KVM's
/// `vcpu_run()` does for exits it handles without leaving the guest's
/// interrupt window. Returns the cycles spent in the guest.
#[no_mangle]
extern "C" fn guestgate_cf_control(exits: u32) -> u64 {
    let guest = SpinGuest::from_us(1);
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return 0;
        }
    };

    // A second chain on this CPU is refused and gets its token back. A
    // `match` moves the state out of both arms (see if_let_pitfall.rs).
    match IrqsOff::disable().enter_guest_timing() {
        Ok(other) => drop(other.exit_guest_timing()),
        Err(irqs) => drop(irqs),
    }

    let mut cycles = 0u64;
    let mut n = 0;
    let mut exited = timing.run_guest(guest);
    let timing = loop {
        cycles = cycles.wrapping_add(exited.guest_cycles());
        n += 1;
        if n >= exits {
            break exited.take_interrupts();
        }
        exited = if n % 2 == 0 {
            exited.run_guest(guest)
        } else {
            exited.take_interrupts().run_guest(guest)
        };
    };
    drop(timing.exit_guest_timing());
    cycles
}

/// The same with the guest's PMU, as Linux 7.0's KVM switches it: loaded
/// with guest timing, kept on the fast path, put before the interrupts.
#[no_mangle]
extern "C" fn guestgate_cf_control_guest_pmu() -> u64 {
    let Ok(user) = MediatedPmu::create() else {
        return 0;
    };
    let guest = SpinGuest::from_us(1);
    let timing = match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return 0;
        }
    };
    let exited = timing.run_guest(guest).run_guest(guest);
    let cycles = exited.guest_cycles();
    let timing = exited.put_guest_pmu().take_interrupts();
    drop(timing.exit_guest_timing());

    // Put before the guest ran.
    match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
        Ok(timing) => drop(timing.put_guest_pmu().exit_guest_timing()),
        Err(irqs) => drop(irqs),
    }
    cycles
}
