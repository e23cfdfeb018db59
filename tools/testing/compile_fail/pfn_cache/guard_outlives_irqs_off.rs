// SPDX-License-Identifier: GPL-2.0
//
// what: a read guard taken with interrupts disabled used after they are enabled
// expect: error[E0505]: cannot move out of `irqs` because it is borrowed
//
// read_irqs_off() ties the guard to the proof borrowed from the IrqsOff
// that disabled interrupts: the guard cannot outlive it, so it can never
// hold the lock, or restore interrupt flags, after interrupts came back on.

use super::*;
use crate::guest_entry::IrqsOff;

#[no_mangle]
extern "C" fn guestgate_cf_pfn_guard_outlives_irqs_off() -> u32 {
    let Ok(cache) = PfnCache::new(true) else {
        return 0;
    };
    let irqs = IrqsOff::disable();
    let Some(off) = irqs.irqs_disabled() else {
        return 0;
    };
    let Ok(guard) = cache.read_irqs_off(off, 4) else {
        return 0;
    };
    drop(irqs);
    guard.read_u32(0).unwrap_or(0)
}
