// SPDX-License-Identifier: GPL-2.0
//
// what: interrupts-off token sent to another thread
// expect: error[E0277]: `*mut ()` cannot be sent between threads safely
// expect: IrqsOff`, the trait `Send` is not implemented for `*mut ()`
//
// `IrqsOff` restores the flags `local_irq_save()` returned on this CPU and
// enables preemption of this task: doing that on another thread would
// corrupt both. See timing_sent_to_thread.rs for `on_other_thread`.

use super::*;

fn on_other_thread<T: Send>(state: T) -> T {
    state
}

#[no_mangle]
extern "C" fn guestgate_cf_irqs_off_sent_to_thread() {
    drop(on_other_thread(IrqsOff::disable()));
}
