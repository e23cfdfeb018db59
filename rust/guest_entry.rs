// SPDX-License-Identifier: GPL-2.0

//! Guest entry and exit: the order of the steps is a type.
//!
//! A hypervisor runs a guest in this order (`Documentation/guest-entry-exit.rst`):
//! interrupts off; guest timing enter; state enter; the guest; state exit;
//! interrupts on, so that the interrupts that came in the guest are taken
//! while guest timing still counts; interrupts off; guest timing exit.
//!
//! Each step here is a value, and each transition a method that consumes it:
//!
//! ```text
//! IrqsOff --enter_guest_timing--> GuestTiming --run_guest--> GuestExited
//!    ^                              |      ^                  |   |
//!    +-------exit_guest_timing------+      +-take_interrupts--+   run_guest
//! ```
//!
//! So guest timing cannot be exited before the guest's interrupts were taken
//! (the accounting bug the helpers exist to prevent: [`GuestExited`] has no
//! `exit_guest_timing`), the guest cannot run without guest timing, and a
//! state that is dropped instead of exited does not compile: [`GuestTiming`]
//! and [`GuestExited`] hold a [`MustExit`], whose drop is a compile-time error.
//!
//! The window itself, from state enter to state exit, has no Rust value:
//! code that runs while RCU is not watching must be noinstr, which Rust
//! cannot be, so [`GuestTiming::run_guest`] is one call into noinstr C
//! (`guest_entry_shim.c`) that enters, runs the guest and exits. Rust code
//! can therefore never run inside the window.
//!
//! # The guest's PMU
//!
//! A hypervisor with a mediated vPMU ([`MediatedPmu`]) hands the guest this
//! CPU's PMUs for the guest's runs: [`IrqsOff::enter_guest_timing_with_pmu`]
//! loads the guest PMU context and then enters guest timing, as Linux 7.0's
//! KVM does, interrupts disabled. The states then carry the guest's PMU as
//! a type parameter, [`GuestPmu`], which only
//! [`GuestExited::put_guest_pmu`] (or [`GuestTiming::put_guest_pmu`]) turns
//! back into [`HostPmu`]:
//!
//! ```text
//! IrqsOff --enter_guest_timing_with_pmu--> GuestTiming<GuestPmu> --run_guest--> GuestExited<GuestPmu>
//!                                                                               |   |
//!                         GuestExited<HostPmu> <----------put_guest_pmu---------+   run_guest
//! ```
//!
//! `take_interrupts` and `exit_guest_timing` exist for [`HostPmu`] states
//! only, so the interrupt window cannot open while the guest has the PMU
//! (perf's tick, multiplexing hrtimer and IPIs would reach the PMU with the
//! guest's state in it: the problem of switching at vCPU load and put), and
//! guest timing cannot end with the PMU still loaded. The context cannot be
//! loaded but from the [`IrqsOff`] that disabled interrupts, and the
//! [`MediatedPmu`] it was loaded for stays borrowed until it is put.
//!
//! The C API of `<linux/guestgate/entry.h>` offers the same steps one function
//! each, checked at run time by a per-CPU state machine instead.

use crate::bindings;
use crate::mediated_pmu::MediatedPmu;
use core::marker::PhantomData;
use core::mem;
use kernel::ffi::c_ulong;

/// A value that must be consumed by one of its owner's exit methods.
///
/// Its drop is a post-monomorphization error: a function that could drop
/// the owner (a missing exit, an early return, a conditional move) fails to
/// compile with the message of `T`'s [`ExitRule`]. Exit methods consume the
/// owner with [`mem::forget`], which drops nothing. The Rust kernel builds
/// with `panic=abort`, so no unwinding path drops it either.
struct MustExit<T: ExitRule>(PhantomData<T>);

/// What the compile error says when a [`MustExit`] would be dropped.
trait ExitRule {
    /// Evaluated only if a [`MustExit<Self>`] is dropped somewhere.
    const DROPPED: ();
}

impl<T: ExitRule> Drop for MustExit<T> {
    fn drop(&mut self) {
        #[allow(clippy::let_unit_value)]
        let () = T::DROPPED;
    }
}

impl<T: ExitRule> MustExit<T> {
    const fn new() -> Self {
        Self(PhantomData)
    }
}

/// Tag of [`GuestTiming`]'s [`MustExit`].
struct TimingRule;

impl ExitRule for TimingRule {
    const DROPPED: () =
        panic!("guest timing dropped: end it with GuestTiming::exit_guest_timing()");
}

/// Tag of [`GuestExited`]'s [`MustExit`].
struct ExitedRule;

impl ExitRule for ExitedRule {
    const DROPPED: () = panic!(
        "guest exit dropped: take the guest's interrupts with GuestExited::take_interrupts()"
    );
}

/// Who has this CPU's PMUs in a chain of states: [`HostPmu`] or
/// [`GuestPmu`], and nothing else (the trait is sealed).
pub(crate) trait PmuOwner: sealed::Sealed {}

mod sealed {
    pub(crate) trait Sealed {}
}

/// The host has this CPU's PMUs: no guest PMU context is loaded by the
/// chain of states. The default of [`GuestTiming`] and [`GuestExited`].
pub(crate) struct HostPmu;

/// The guest has this CPU's PMUs: the chain of states loaded the guest PMU
/// context for the mediated user borrowed for `'a`.
pub(crate) struct GuestPmu<'a>(PhantomData<&'a MediatedPmu>);

impl sealed::Sealed for HostPmu {}
impl PmuOwner for HostPmu {}
impl sealed::Sealed for GuestPmu<'_> {}
impl PmuOwner for GuestPmu<'_> {}

/// Interrupts and preemption disabled on this CPU.
///
/// Values nest, but only the outermost one, the one that found interrupts
/// enabled and disabled them, owns them: it alone can start guest timing or
/// prove that interrupts are disabled ([`IrqsOff::irqs_disabled`]), and
/// dropping it enables them. Dropping an inner value only enables
/// preemption, whatever the order of the drops: an inner value dropped
/// after the outer one must not disable interrupts again, which a plain
/// `local_irq_restore()` of its flags does where a restore writes the flags
/// (arm64; on x86 it only ever enables), leaving them disabled with
/// preemption enabled.
///
/// # Invariants
///
/// `flags` are the flags `local_irq_save()` returned when this value was
/// made; preemption is disabled while it lives (the value cannot leave the
/// task: it is neither `Send` nor `Sync`). If `flags` say interrupts were
/// enabled, this value disabled them, and they stay disabled until it is
/// dropped: only such a value enables them when dropped, and no second
/// such value can be made while this one lives.
pub(crate) struct IrqsOff {
    flags: c_ulong,
    _not_send: PhantomData<*mut ()>,
}

/// Proof that interrupts are disabled on this CPU for `'a`, borrowed from
/// the value that disabled them ([`IrqsOff::irqs_disabled`]), so that it
/// cannot outlive it.
///
/// # Invariants
///
/// Interrupts are disabled on this CPU, and preemption, for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct IrqsDisabled<'a> {
    _state: PhantomData<&'a ()>,
    _not_send: PhantomData<*mut ()>,
}

impl IrqsOff {
    /// Proof that interrupts are disabled while `self` is borrowed: `None`
    /// for an inner value, whose interrupts an outer one could enable.
    pub(crate) fn irqs_disabled(&self) -> Option<IrqsDisabled<'_>> {
        // SAFETY: FFI call without preconditions.
        if unsafe { bindings::guestgate_entry_irqs_disabled_flags(self.flags) } {
            return None;
        }
        // INVARIANT: `flags` say enabled, so by the type invariant `self`
        // disabled interrupts and they stay disabled while it lives.
        Some(IrqsDisabled {
            _state: PhantomData,
            _not_send: PhantomData,
        })
    }

    /// Disables preemption and interrupts.
    pub(crate) fn disable() -> Self {
        // SAFETY: FFI call without preconditions.
        let flags = unsafe { bindings::guestgate_entry_irqs_off() };
        // INVARIANT: `flags` were returned by `local_irq_save()` just now.
        Self {
            flags,
            _not_send: PhantomData,
        }
    }

    /// Starts charging time to the guest (the current task gets `PF_VCPU`).
    ///
    /// Gives `self` back if it is not the outermost value (interrupts were
    /// already disabled when it was made), if this CPU is already in guest
    /// timing (a chain of states is alive on it, or C code entered), or if
    /// the current task has no mm: a kernel thread cannot run a guest (the
    /// C API's `GUESTGATE_MISUSE_NO_MM` would refuse it at state enter,
    /// after [`GuestTiming::run_guest`] had promised a guest that ran).
    pub(crate) fn enter_guest_timing(self) -> Result<GuestTiming, IrqsOff> {
        if !self.may_enter_guest_timing() {
            return Err(self);
        }
        // SAFETY: Checked just now.
        Ok(unsafe { self.into_guest_timing() })
    }

    /// Loads the guest PMU context for `user`, then starts guest timing.
    ///
    /// Gives `self` back, with nothing loaded, where
    /// [`IrqsOff::enter_guest_timing`] would, and if C code has a guest PMU
    /// context loaded on this CPU.
    pub(crate) fn enter_guest_timing_with_pmu<'a>(
        self,
        _user: &'a MediatedPmu,
    ) -> Result<GuestTiming<GuestPmu<'a>>, IrqsOff> {
        if !self.may_enter_guest_timing() {
            return Err(self);
        }
        // SAFETY: This value disabled interrupts (checked above). A
        // mediated user exists while `_user` is borrowed, unless a C caller
        // released one it did not create; then the load is refused.
        if unsafe { bindings::guestgate_pmu_try_load_guest_context() } != 0 {
            return Err(self);
        }
        // SAFETY: Checked above; loading the PMU context changed no state of
        // guest entry.
        Ok(unsafe { self.into_guest_timing() })
    }

    /// Whether this value may start guest timing: it disabled interrupts,
    /// the task has an mm and this CPU is not in guest timing.
    fn may_enter_guest_timing(&self) -> bool {
        // SAFETY: FFI call without preconditions.
        if unsafe { bindings::guestgate_entry_irqs_disabled_flags(self.flags) } {
            return false;
        }
        // SAFETY: FFI call without preconditions.
        if !unsafe { bindings::guestgate_entry_has_mm() } {
            return false;
        }
        // SAFETY: FFI call; preemption is disabled (type invariant).
        let state = unsafe { bindings::guestgate_entry_cpu_state() };
        state == bindings::GUESTGATE_ENTRY_IDLE
    }

    /// Starts guest timing.
    ///
    /// # Safety
    ///
    /// [`IrqsOff::may_enter_guest_timing`] returned true for `self`; with
    /// `P` = [`GuestPmu`], the guest PMU context was loaded since.
    unsafe fn into_guest_timing<P: PmuOwner>(self) -> GuestTiming<P> {
        // SAFETY: By the safety requirements `self.flags` say interrupts
        // were enabled, so by the type invariant this value disabled them
        // and they still are; this CPU is not in guest timing (no interrupt
        // or other task can change it meanwhile).
        unsafe { bindings::guestgate_entry_timing_enter() };
        let flags = self.flags;
        mem::forget(self);
        // INVARIANT: Guest timing was entered with interrupts disabled;
        // `flags` move from `self`, whose drop was skipped; the PMU's owner
        // is `P` by the safety requirements.
        GuestTiming::new(flags)
    }
}

impl Drop for IrqsOff {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.flags` came from
        // `local_irq_save()` on this task, with preemption disabled; only
        // the value that disabled interrupts enables them.
        unsafe { bindings::guestgate_entry_irqs_restore(self.flags) };
    }
}

/// The guest: what runs between state enter and state exit.
///
/// Only noinstr C may run there. The one guest guestgate has is a spin of a
/// fixed number of TSC cycles, standing for the hardware's guest entry
/// (VMRUN, VMLAUNCH) of a real hypervisor.
#[derive(Clone, Copy)]
pub(crate) struct SpinGuest {
    cycles: u64,
}

impl SpinGuest {
    /// A guest that spins for `us` microseconds.
    pub(crate) fn from_us(us: u64) -> Self {
        // SAFETY: FFI call without preconditions.
        let khz = unsafe { bindings::guestgate_entry_tsc_khz() };
        Self {
            cycles: us.saturating_mul(khz) / 1000,
        }
    }
}

/// Guest timing entered, interrupts disabled, no guest interrupt pending.
///
/// Must end with [`GuestTiming::exit_guest_timing`]: dropping it does not
/// compile.
///
/// # Invariants
///
/// Guest timing was entered on this CPU by this value and interrupts are
/// disabled; `flags` are those of the [`IrqsOff`] it came from. With `P` =
/// [`GuestPmu`], the guest PMU context is loaded on this CPU by this chain
/// of states; with [`HostPmu`], the chain loaded none.
#[must_use = "guest timing must end with exit_guest_timing()"]
pub(crate) struct GuestTiming<P: PmuOwner = HostPmu> {
    flags: c_ulong,
    _pmu: PhantomData<P>,
    _exit: MustExit<TimingRule>,
    _not_send: PhantomData<*mut ()>,
}

impl<P: PmuOwner> GuestTiming<P> {
    /// The state of `flags`, whose invariant the caller established.
    fn new(flags: c_ulong) -> Self {
        Self {
            flags,
            _pmu: PhantomData,
            _exit: MustExit::new(),
            _not_send: PhantomData,
        }
    }

    /// Runs `guest`: state enter, the guest, state exit, in noinstr C.
    pub(crate) fn run_guest(self, guest: SpinGuest) -> GuestExited<P> {
        let flags = self.flags;
        mem::forget(self);
        GuestExited::run(flags, guest)
    }
}

impl<'a> GuestTiming<GuestPmu<'a>> {
    /// Puts the guest PMU context back before the guest ran.
    pub(crate) fn put_guest_pmu(self) -> GuestTiming {
        // SAFETY: By the type invariant this chain loaded the context on
        // this CPU, and interrupts are disabled.
        unsafe { bindings::guestgate_pmu_put_guest_context() };
        let flags = self.flags;
        mem::forget(self);
        // INVARIANT: Put above; the rest moves over.
        GuestTiming::new(flags)
    }
}

impl GuestTiming<HostPmu> {
    /// Stops charging time to the guest. The guest's interrupts were taken
    /// (or it never ran).
    pub(crate) fn exit_guest_timing(self) -> IrqsOff {
        // SAFETY: By the type invariant guest timing was entered on this
        // CPU and interrupts are disabled.
        unsafe { bindings::guestgate_entry_timing_exit() };
        let flags = self.flags;
        mem::forget(self);
        // INVARIANT: Interrupts are still disabled; `flags` move over.
        IrqsOff {
            flags,
            _not_send: PhantomData,
        }
    }
}

/// The guest ran and exited; interrupts that came in the guest are pending.
///
/// Guest timing cannot end from here: the pending interrupts (the timer
/// tick among them) must be taken first, or their time is charged to the
/// host. Must end with [`GuestExited::take_interrupts`]: dropping it does
/// not compile. While the guest has the PMU ([`GuestPmu`]), the interrupts
/// cannot be taken either: [`GuestExited::put_guest_pmu`] comes first.
///
/// # Invariants
///
/// As [`GuestTiming`]'s.
#[must_use = "the guest's interrupts must be taken with take_interrupts()"]
pub(crate) struct GuestExited<P: PmuOwner = HostPmu> {
    flags: c_ulong,
    cycles: u64,
    _pmu: PhantomData<P>,
    _exit: MustExit<ExitedRule>,
    _not_send: PhantomData<*mut ()>,
}

impl<P: PmuOwner> GuestExited<P> {
    fn run(flags: c_ulong, guest: SpinGuest) -> Self {
        // SAFETY: Guest timing is entered on this CPU and interrupts are
        // disabled (the invariant of the caller's state, moved into ours).
        let cycles = unsafe { bindings::guestgate_entry_run_guest(guest.cycles) };
        // INVARIANT: State exit left guest timing entered, interrupts off;
        // the PMU's owner moves over from the caller's state.
        Self {
            flags,
            cycles,
            _pmu: PhantomData,
            _exit: MustExit::new(),
            _not_send: PhantomData,
        }
    }

    /// TSC cycles the last guest run spent in the guest.
    pub(crate) fn guest_cycles(&self) -> u64 {
        self.cycles
    }

    /// Runs the guest again without taking its interrupts first (the fast
    /// path of an exit the hypervisor handles with interrupts disabled).
    pub(crate) fn run_guest(self, guest: SpinGuest) -> GuestExited<P> {
        let flags = self.flags;
        mem::forget(self);
        GuestExited::run(flags, guest)
    }
}

impl<'a> GuestExited<GuestPmu<'a>> {
    /// Puts the guest PMU context back: the host's events on this CPU's
    /// PMUs resume. The hypervisor saved and zeroed the guest's counters.
    pub(crate) fn put_guest_pmu(self) -> GuestExited {
        // SAFETY: By the type invariant this chain loaded the context on
        // this CPU, and interrupts are disabled.
        unsafe { bindings::guestgate_pmu_put_guest_context() };
        let (flags, cycles) = (self.flags, self.cycles);
        mem::forget(self);
        // INVARIANT: Put above; the rest moves over.
        GuestExited {
            flags,
            cycles,
            _pmu: PhantomData,
            _exit: MustExit::new(),
            _not_send: PhantomData,
        }
    }
}

impl GuestExited<HostPmu> {
    /// Enables interrupts so that those which came in the guest are taken,
    /// while guest timing still counts, then disables them again.
    /// Preemption stays disabled.
    pub(crate) fn take_interrupts(self) -> GuestTiming {
        // SAFETY: FFI call; preemption is disabled (type invariant), so the
        // task stays on this CPU with guest timing entered.
        unsafe { bindings::guestgate_entry_take_interrupts() };
        let flags = self.flags;
        mem::forget(self);
        // INVARIANT: Interrupts are disabled again, guest timing entered,
        // no PMU context loaded by the chain.
        GuestTiming::new(flags)
    }
}

#[cfg(CONFIG_KUNIT)]
mod kunit_cases {
    use super::*;
    use crate::kunit::{kunit_expect, Kunit, Test};

    fn cpu_state() -> u32 {
        // SAFETY: FFI call; the callers have preemption disabled.
        unsafe { bindings::guestgate_entry_cpu_state() }
    }

    fn irqs_disabled() -> bool {
        // SAFETY: FFI call without preconditions.
        unsafe { bindings::guestgate_entry_irqs_disabled() }
    }

    fn preempt_count() -> i32 {
        // SAFETY: FFI call without preconditions.
        unsafe { bindings::guestgate_entry_preempt_count() }
    }

    fn stats() -> bindings::guestgate_entry_stats {
        let mut st = bindings::guestgate_entry_stats::default();
        // SAFETY: FFI call; `st` is valid for writes.
        unsafe { bindings::guestgate_entry_stats(&mut st) };
        st
    }

    /// The typestate chain walks the C state machine through idle, timing
    /// and back, runs the guest three times (once on the fast path), and
    /// no rule of the C side is broken on the way. The suite's init gives
    /// the case an mm (context tracking wants one).
    #[no_mangle]
    extern "C" fn guestgate_kunit_guest_entry_typestate(test: *mut Kunit) {
        // SAFETY: Called by the C suite with its running test case.
        let t = unsafe { Test::new(test) };

        // Nested values dropped outer first: interrupts end enabled and
        // preemption as it was (the inner value does not disable them
        // again). Only the outer one proves interrupts are disabled. (On
        // x86 a restore of flags that say disabled writes nothing, so the
        // old drop was harmless here; where a restore writes the flags,
        // arm64's DAIF, it disabled them.)
        let count = preempt_count();
        kunit_expect!(t, !irqs_disabled());
        let outer = IrqsOff::disable();
        let inner = IrqsOff::disable();
        kunit_expect!(t, outer.irqs_disabled().is_some());
        kunit_expect!(t, inner.irqs_disabled().is_none());
        drop(outer);
        kunit_expect!(t, !irqs_disabled());
        drop(inner);
        kunit_expect!(t, !irqs_disabled());
        kunit_expect!(t, preempt_count() == count);

        let before = stats();
        let guest = SpinGuest::from_us(20);

        let irqs = IrqsOff::disable();
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_IDLE);
        let timing = match irqs.enter_guest_timing() {
            Ok(timing) => timing,
            Err(_irqs) => {
                kunit_expect!(t, false);
                return;
            }
        };
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_TIMING);

        // A second chain on this CPU is refused and gets its token back
        // (it is not the outermost value).
        match IrqsOff::disable().enter_guest_timing() {
            Ok(other) => {
                kunit_expect!(t, false);
                drop(other.exit_guest_timing());
            }
            Err(irqs) => drop(irqs),
        }

        let exited = timing.run_guest(guest);
        kunit_expect!(t, exited.guest_cycles() >= guest.cycles);
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_TIMING);
        let exited = exited.take_interrupts().run_guest(guest).run_guest(guest);
        let irqs = exited.take_interrupts().exit_guest_timing();
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_IDLE);
        drop(irqs);

        let after = stats();
        kunit_expect!(t, after.timing_enters - before.timing_enters == 1);
        kunit_expect!(t, after.timing_exits - before.timing_exits == 1);
        kunit_expect!(t, after.guest_enters - before.guest_enters == 3);
        kunit_expect!(t, after.guest_exits - before.guest_exits == 3);
        kunit_expect!(t, after.misuse == before.misuse);
    }

    fn pmu_loaded() -> bool {
        // SAFETY: FFI call; the callers have preemption disabled.
        unsafe { bindings::guestgate_pmu_guest_context_loaded() }
    }

    /// The chain with the guest's PMU: loaded with guest timing, kept on
    /// the fast path, put before the interrupt window, or before the guest
    /// ran. Needs a mediated user: no event may count the guest meanwhile.
    #[no_mangle]
    extern "C" fn guestgate_kunit_guest_entry_guest_pmu(test: *mut Kunit) {
        // SAFETY: Called by the C suite with its running test case.
        let t = unsafe { Test::new(test) };
        let before = stats();
        let guest = SpinGuest::from_us(5);
        let Ok(user) = MediatedPmu::create() else {
            kunit_expect!(t, false);
            return;
        };

        let timing = match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
            Ok(timing) => timing,
            Err(_irqs) => {
                kunit_expect!(t, false);
                return;
            }
        };
        kunit_expect!(t, pmu_loaded());
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_TIMING);
        let exited = timing.run_guest(guest).run_guest(guest);
        kunit_expect!(t, pmu_loaded());
        let timing = exited.put_guest_pmu().take_interrupts();
        kunit_expect!(t, !pmu_loaded());
        drop(timing.exit_guest_timing());

        match IrqsOff::disable().enter_guest_timing_with_pmu(&user) {
            Ok(timing) => drop(timing.put_guest_pmu().exit_guest_timing()),
            Err(_irqs) => kunit_expect!(t, false),
        }
        kunit_expect!(t, !pmu_loaded());
        kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_IDLE);
        kunit_expect!(t, stats().misuse == before.misuse);
    }

    /// A task without an mm (the KUnit thread) gets its token back from
    /// `enter_guest_timing()`: no guest ever runs, no misuse is counted.
    #[no_mangle]
    extern "C" fn guestgate_kunit_guest_entry_no_mm(test: *mut Kunit) {
        // SAFETY: Called by the C suite with its running test case.
        let t = unsafe { Test::new(test) };
        let before = stats();
        match IrqsOff::disable().enter_guest_timing() {
            Ok(timing) => {
                kunit_expect!(t, false);
                drop(timing.exit_guest_timing());
            }
            Err(irqs) => {
                kunit_expect!(t, cpu_state() == bindings::GUESTGATE_ENTRY_IDLE);
                drop(irqs);
            }
        }
        let after = stats();
        kunit_expect!(t, after.timing_enters == before.timing_enters);
        kunit_expect!(t, after.misuse == before.misuse);
    }
}
