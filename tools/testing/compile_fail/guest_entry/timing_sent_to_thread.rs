// SPDX-License-Identifier: GPL-2.0
//
// what: guest timing sent to another thread
// expect: error[E0277]: `*mut ()` cannot be sent between threads safely
// expect: GuestTiming`, the trait `Send` is not implemented for `*mut ()`
//
// Guest timing is a property of this task on this CPU, with interrupts and
// preemption disabled: the state must not leave the task. `on_other_thread`
// stands for every kernel API that hands a value to another thread
// (workqueues, kthreads): they all require `Send`.

use super::*;

fn on_other_thread<T: Send>(state: T) -> T {
    state
}

#[no_mangle]
extern "C" fn guestgate_cf_timing_sent_to_thread() {
    let timing = match IrqsOff::disable().enter_guest_timing() {
        Ok(timing) => timing,
        Err(irqs) => {
            drop(irqs);
            return;
        }
    };
    let timing = on_other_thread(timing);
    drop(timing.exit_guest_timing());
}
