// SPDX-License-Identifier: GPL-2.0
//
// what: control, a read guard under a proof of interrupts disabled compiles
// expect-build: ok
//
// The other snippet here is one misuse away from this code. It must
// compile: if it does not, the other fails for the wrong reason (a broken
// harness, a changed API) and its error proves nothing.

use super::*;
use crate::guest_entry::IrqsOff;

/// Reads the first word of the cached page with interrupts disabled, or 0.
#[no_mangle]
extern "C" fn guestgate_cf_pfn_control() -> u32 {
    let Ok(cache) = PfnCache::new(true) else {
        return 0;
    };
    let irqs = IrqsOff::disable();
    let Some(off) = irqs.irqs_disabled() else {
        return 0;
    };
    let word = match cache.read_irqs_off(off, 4) {
        Ok(guard) => guard.read_u32(0).unwrap_or(0),
        Err(_) => 0,
    };
    drop(irqs);
    word
}
