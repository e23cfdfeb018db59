// SPDX-License-Identifier: GPL-2.0

//! perf guest-info callbacks: registration, the group switch, dispatch.
//!
//! A hypervisor registers one set of four hooks ([`GuestInfo`] in Rust,
//! `struct guestgate_guest_info_callbacks` in C). Each hook is a static call
//! that `perf_callbacks_shim.c` defines: "return 0" while nothing is
//! registered, a direct call of the set's function while one is.
//!
//! # The group switch
//!
//! perf asks `state()` several times for one sample (for its IP, for its
//! misc flags, for its callchain) and calls `get_ip()` in between; a reading
//! section (see [`guest_state`]) is all the calls of one such sample, or of
//! any caller that needs one answer. Static calls are patched one site at a
//! time, and a CPU inside an NMI or interrupt runs the new target as soon as
//! `text_poke_bp()` has planted its INT3, before its serializing IPI can
//! reach that CPU: a section that straddles the patch of `state` would run
//! the old `state()` and then the new one. So `state` is never patched from
//! one answer to another. Each switch of `state` is between two functions
//! that answer alike on every CPU, and the answer changes through the gate:
//!
//! - register: `get_ip`, `handle_intel_pt_intr`, `handle_mediated_pmi`
//!   first, behind `state()` (still 0); then `state` to the gate, every
//!   CPU's gate closed (0 either way); then every CPU opens its own gate
//!   between two of its sections; then `state` to the set's own function
//!   (the gates are open: the same answers).
//! - unregister: `state` to the gate, open (the same answers); then every
//!   CPU closes its own gate between two of its sections; then `state` to
//!   "return 0" (0 either way), then the other hooks, then an RCU grace
//!   period, after which no CPU runs any hook of the set.
//!
//! Each CPU's answer therefore changes once per switch, between two of its
//! sections, and no section mixes hooks of two sets, or of a set and of
//! "none". Upstream 6.12 patches `state` before `get_ip` on registration
//! and resets them with no grace period between, so a sample can see the
//! guest's state and an IP of 0; and any switch that patches `state` from
//! one answer to another can give one sample a guest IP with host flags.

use crate::bindings;
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed},
};
use kernel::{
    ffi::{c_int, c_uint, c_ulong},
    prelude::*,
};

/// The C set of callbacks.
pub(crate) type Callbacks = bindings::guestgate_guest_info_callbacks;

/// The registered set, or NULL. Written with the switch lock held.
static REGISTERED: AtomicPtr<Callbacks> = AtomicPtr::new(ptr::null_mut());
static REGISTRATIONS: AtomicU64 = AtomicU64::new(0);
static UNREGISTRATIONS: AtomicU64 = AtomicU64::new(0);
static EINVALS: AtomicU64 = AtomicU64::new(0);
static EBUSYS: AtomicU64 = AtomicU64::new(0);
static ENOENTS: AtomicU64 = AtomicU64::new(0);
/// Fault injection for the tests, see `guestgate_rs_perf_fault()`.
#[cfg(CONFIG_KUNIT)]
static FAULT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// The fault injected, if any: `GUESTGATE_PERF_FAULT_NONE` outside the tests.
fn fault() -> bindings::guestgate_perf_fault {
    #[cfg(CONFIG_KUNIT)]
    return FAULT.load(Relaxed);
    #[cfg(not(CONFIG_KUNIT))]
    bindings::GUESTGATE_PERF_FAULT_NONE
}

/// Holds the lock that serializes registrations.
struct SwitchLock(());

impl SwitchLock {
    fn lock() -> Self {
        // SAFETY: FFI call without preconditions; released on drop.
        unsafe { bindings::guestgate_perf_lock() };
        Self(())
    }

    /// Points `hook` at `cbs`'s function, or at "return 0".
    fn switch(&self, hook: bindings::guestgate_perf_hook, cbs: *const Callbacks) {
        // SAFETY: The lock is held (`self`). `cbs` is NULL or, by the
        // callers' contract, a set that stays valid while registered.
        unsafe { bindings::guestgate_perf_switch(hook, cbs) };
    }

    /// Opens or closes every CPU's gate, each CPU its own between two of
    /// its sections; returns once all have.
    fn set_gates(&self, open: bool) {
        let each_cpu = fault() != bindings::GUESTGATE_PERF_FAULT_NO_WAIT;
        // SAFETY: The lock is held (`self`); process context (documented
        // requirement of register and unregister).
        unsafe { bindings::guestgate_perf_set_gates(open, each_cpu) };
    }
}

impl Drop for SwitchLock {
    fn drop(&mut self) {
        // SAFETY: Locked in `lock()`, by this task.
        unsafe { bindings::guestgate_perf_unlock() };
    }
}

/// Waits until every reading section that began before has ended, and every
/// hook call that began before has returned.
fn wait_for_readers() {
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_WAIT {
        return;
    }
    // SAFETY: FFI call; may sleep, and the callers are in process context
    // (documented requirement of register and unregister).
    unsafe { kernel::bindings::synchronize_rcu() };
}

/// Installs `cbs`: see `guestgate_register_guest_info_callbacks()`.
///
/// # Safety
///
/// `cbs` is NULL or valid for reads, and stays valid and unchanged until it
/// is unregistered. Its hooks are safe to call in NMI, hardirq and task
/// context while it is registered.
unsafe fn register(cbs: *const Callbacks) -> Result {
    // SAFETY: `cbs` is NULL or valid for reads by the safety requirements.
    let valid = unsafe { cbs.as_ref() }.is_some_and(|c| c.state.is_some() && c.get_ip.is_some());
    if !valid {
        EINVALS.fetch_add(1, Relaxed);
        return Err(EINVAL);
    }
    let lock = SwitchLock::lock();
    if !REGISTERED.load(Relaxed).is_null() {
        EBUSYS.fetch_add(1, Relaxed);
        return Err(EBUSY);
    }
    // get_ip and the PT handler are behind state(), which answers 0:
    // nothing calls them yet. The mediated PMI hook is not gated; `cbs` is
    // valid from the call on.
    lock.switch(bindings::GUESTGATE_PERF_GET_IP, cbs);
    lock.switch(bindings::GUESTGATE_PERF_INTEL_PT_INTR, cbs);
    lock.switch(bindings::GUESTGATE_PERF_MEDIATED_PMI, cbs);
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        lock.switch(bindings::GUESTGATE_PERF_STATE, cbs);
    } else {
        // Through the gates, all closed: 0 as before.
        lock.switch(bindings::GUESTGATE_PERF_GATE_TARGET, cbs);
        lock.switch(bindings::GUESTGATE_PERF_STATE_GATED, ptr::null());
        // Each CPU starts answering with `cbs` between two of its sections.
        lock.set_gates(true);
        // The gates are open: the same answers without them.
        lock.switch(bindings::GUESTGATE_PERF_STATE, cbs);
    }
    REGISTERED.store(cbs.cast_mut(), Relaxed);
    REGISTRATIONS.fetch_add(1, Relaxed);
    Ok(())
}

/// Removes `cbs`: see `guestgate_unregister_guest_info_callbacks()`.
fn unregister(cbs: *const Callbacks) -> Result {
    let lock = SwitchLock::lock();
    if cbs.is_null() || REGISTERED.load(Relaxed).cast_const() != cbs {
        ENOENTS.fetch_add(1, Relaxed);
        return Err(ENOENT);
    }
    if fault() == bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        // The gate's old scheme: state() first, then a wait for every
        // section that may have seen it answer for `cbs`.
        lock.switch(bindings::GUESTGATE_PERF_STATE, ptr::null());
        wait_for_readers();
    } else {
        // Through the gates, all open: the same answers.
        lock.switch(bindings::GUESTGATE_PERF_STATE_GATED, ptr::null());
        // Each CPU stops answering with `cbs` between two of its sections:
        // once all have, no section that saw `cbs` answer is under way.
        lock.set_gates(false);
        // The gates are closed: 0 either way.
        lock.switch(bindings::GUESTGATE_PERF_STATE, ptr::null());
        lock.switch(bindings::GUESTGATE_PERF_GATE_TARGET, ptr::null());
    }
    lock.switch(bindings::GUESTGATE_PERF_GET_IP, ptr::null());
    lock.switch(bindings::GUESTGATE_PERF_INTEL_PT_INTR, ptr::null());
    lock.switch(bindings::GUESTGATE_PERF_MEDIATED_PMI, ptr::null());
    // No CPU is inside any hook of `cbs` once every call that began before
    // has returned, NMIs included: the caller may free them.
    wait_for_readers();
    REGISTERED.store(ptr::null_mut(), Relaxed);
    UNREGISTRATIONS.fetch_add(1, Relaxed);
    Ok(())
}

/// `guestgate_register_guest_info_callbacks()`: see
/// `include/linux/guestgate/perf.h`.
///
/// # Safety
///
/// `cbs` is NULL or valid for reads, and stays valid and unchanged until it
/// is unregistered; its hooks follow the C API's rules.
#[no_mangle]
unsafe extern "C" fn guestgate_register_guest_info_callbacks(cbs: *const Callbacks) -> c_int {
    // SAFETY: By the safety requirements.
    match unsafe { register(cbs) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `guestgate_unregister_guest_info_callbacks()`: see
/// `include/linux/guestgate/perf.h`.
///
/// # Safety
///
/// Process context. `cbs` is only compared, never dereferenced.
#[no_mangle]
unsafe extern "C" fn guestgate_unregister_guest_info_callbacks(cbs: *const Callbacks) -> c_int {
    match unregister(cbs) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Reads the counters, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_perf_stats(stats: *mut bindings::guestgate_perf_stats) {
    let snapshot = bindings::guestgate_perf_stats {
        registrations: REGISTRATIONS.load(Relaxed),
        unregistrations: UNREGISTRATIONS.load(Relaxed),
        einval: EINVALS.load(Relaxed),
        ebusy: EBUSYS.load(Relaxed),
        enoent: ENOENTS.load(Relaxed),
        registered: u32::from(!REGISTERED.load(Relaxed).is_null()),
    };
    // SAFETY: `stats` is valid for writes by the safety requirements.
    unsafe { stats.write(snapshot) };
}

/// Until the next call, register and unregister switch as `fault` says:
/// the tests show that the bugs the product's switch prevents are then
/// seen. `CONFIG_KUNIT` only. `EBUSY` while a set is registered (it must be
/// unregistered as it was registered), `EINVAL` for an unknown fault.
#[cfg(CONFIG_KUNIT)]
#[no_mangle]
extern "C" fn guestgate_rs_perf_fault(fault: bindings::guestgate_perf_fault) -> c_int {
    if fault > bindings::GUESTGATE_PERF_FAULT_NO_GATE {
        return EINVAL.to_errno();
    }
    let _lock = SwitchLock::lock();
    if !REGISTERED.load(Relaxed).is_null() {
        return EBUSY.to_errno();
    }
    FAULT.store(fault, Relaxed);
    0
}

bindings::c_prototype!(
    guestgate_register_guest_info_callbacks: unsafe extern "C" fn(*const Callbacks) -> c_int
);
bindings::c_prototype!(
    guestgate_unregister_guest_info_callbacks: unsafe extern "C" fn(*const Callbacks) -> c_int
);
bindings::c_prototype!(
    guestgate_rs_perf_stats: unsafe extern "C" fn(*mut bindings::guestgate_perf_stats)
);
#[cfg(CONFIG_KUNIT)]
bindings::c_prototype!(
    guestgate_rs_perf_fault: unsafe extern "C" fn(bindings::guestgate_perf_fault) -> c_int
);

/// What perf may ask a hypervisor about the guest on the current CPU.
///
/// The Rust face of `struct guestgate_guest_info_callbacks`; register an
/// implementation with [`Registration`]. Every method runs in NMI, hardirq
/// or task context with preemption disabled, on the CPU it reports about:
/// it must not sleep or take locks.
#[vtable]
pub(crate) trait GuestInfo {
    /// `PERF_GUEST_ACTIVE`, with `PERF_GUEST_USER` for guest user mode,
    /// while a guest runs on this CPU; 0 otherwise.
    fn state() -> u32;

    /// The guest's instruction pointer; asked only after [`Self::state`]
    /// returned nonzero.
    fn get_ip() -> usize;

    /// Handles an Intel PT interrupt that belongs to the guest; nonzero if
    /// handled. Without it, dispatch returns 0.
    fn handle_intel_pt_intr() -> u32 {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Handles a PMI of the mediated vPMU. Without it, dispatch does nothing.
    fn handle_mediated_pmi() {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The C set of a [`GuestInfo`] implementation.
struct Adapter<T>(PhantomData<T>);

impl<T: GuestInfo> Adapter<T> {
    extern "C" fn state() -> c_uint {
        T::state()
    }

    extern "C" fn get_ip() -> c_ulong {
        T::get_ip() as c_ulong
    }

    extern "C" fn handle_intel_pt_intr() -> c_uint {
        T::handle_intel_pt_intr()
    }

    extern "C" fn handle_mediated_pmi() {
        T::handle_mediated_pmi()
    }

    const CALLBACKS: Callbacks = Callbacks {
        state: Some(Self::state),
        get_ip: Some(Self::get_ip),
        handle_intel_pt_intr: if T::HAS_HANDLE_INTEL_PT_INTR {
            Some(Self::handle_intel_pt_intr)
        } else {
            None
        },
        handle_mediated_pmi: if T::HAS_HANDLE_MEDIATED_PMI {
            Some(Self::handle_mediated_pmi)
        } else {
            None
        },
    };
}

/// A registered [`GuestInfo`] implementation; unregisters it on drop.
///
/// # Invariants
///
/// `cbs` is the registered set; it is static.
pub(crate) struct Registration<T: GuestInfo> {
    cbs: &'static Callbacks,
    _t: PhantomData<T>,
}

impl<T: GuestInfo> Registration<T> {
    /// Registers `T`. Fails with `EBUSY` while a set, `T`'s included, is
    /// registered.
    ///
    /// Process context; sleeps.
    pub(crate) fn new() -> Result<Self> {
        // One promotion of the constant, kept: unregistering must pass the
        // same address.
        let cbs: &'static Callbacks = &Adapter::<T>::CALLBACKS;
        // SAFETY: `cbs` is static and immutable. `T`'s hooks have the
        // contexts the trait documents; they are the module's code, which
        // stays loaded while `self` lives.
        unsafe { register(cbs) }?;
        // INVARIANT: registered just above.
        Ok(Self {
            cbs,
            _t: PhantomData,
        })
    }
}

impl<T: GuestInfo> Drop for Registration<T> {
    fn drop(&mut self) {
        // By the type invariant `self.cbs` is registered: this cannot fail.
        let ret = unregister(self.cbs);
        debug_assert!(ret.is_ok());
    }
}

/// The registered set's `state()`, or 0: one call of the static call's
/// trampoline.
///
/// A reading section is a sequence of these calls with preemption disabled
/// (an NMI or interrupt handler, or task code under `preempt_disable()` or
/// with interrupts off). Within one, every call of `guest_state()` answers
/// for the same set (or every one for none), and the other hooks called
/// belong to that set, provided [`guest_get_ip`] is called only once
/// `guest_state()` has returned nonzero.
#[inline]
pub(crate) fn guest_state() -> u32 {
    // SAFETY: The trampoline is a function of this module with this
    // signature, callable in any context (its targets are).
    unsafe { bindings::__SCT____guestgate_guest_state() }
}

/// The registered set's `get_ip()`, or 0. See [`guest_state`].
#[inline]
pub(crate) fn guest_get_ip() -> usize {
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_get_ip() as usize }
}

/// The registered set's `handle_intel_pt_intr()` if [`guest_state`] says a
/// guest runs on this CPU, or 0. See [`guest_state`].
#[inline]
pub(crate) fn guest_handle_intel_pt_intr() -> u32 {
    if guest_state() == 0 {
        return 0;
    }
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_handle_intel_pt_intr() }
}

/// The registered set's `handle_mediated_pmi()`, if any. See [`guest_state`].
#[inline]
pub(crate) fn guest_handle_mediated_pmi() {
    // SAFETY: As in `guest_state`.
    unsafe { bindings::__SCT____guestgate_guest_handle_mediated_pmi() }
}

/// The perf bridge, registered for the module's lifetime.
///
/// # Invariants
///
/// `guestgate_perf_bridge_register()` succeeded and is undone on drop.
pub(crate) struct Bridge(());

impl Bridge {
    /// Unless the `perf_bridge` parameter is off, registers guestgate's
    /// dispatch with perf and checks with a real sample that perf calls it.
    /// Fails with `EBUSY` while kvm is loaded or another module holds perf's
    /// slot.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: FFI call without preconditions; process context (init).
        kernel::error::to_result(unsafe { bindings::guestgate_perf_bridge_register() })?;
        // INVARIANT: registered just above.
        Ok(Self(()))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // SAFETY: Registered, by the type invariant, and undone once here.
        unsafe { bindings::guestgate_perf_bridge_unregister() };
    }
}

/// The debugfs file `guestgate/perf_callbacks`.
///
/// # Invariants
///
/// Created by `new`, removed on drop.
pub(crate) struct DebugfsFile(());

impl DebugfsFile {
    /// Creates the file; the debugfs directory exists (`device::Debugfs`
    /// comes before and goes after).
    pub(crate) fn new() -> Self {
        // SAFETY: FFI call; the directory exists, as said above.
        unsafe { bindings::guestgate_perf_debugfs_register() };
        // INVARIANT: created just above.
        Self(())
    }
}

impl Drop for DebugfsFile {
    fn drop(&mut self) {
        // SAFETY: Created (type invariant), removed once here.
        unsafe { bindings::guestgate_perf_debugfs_unregister() };
    }
}

/// Benchmark loops of Rust callers, for `make bench` (`CONFIG_KUNIT` builds,
/// run by `guestgate_stress.ko`).
#[cfg(CONFIG_KUNIT)]
mod bench {
    use super::*;
    use crate::kunit::tsc;
    use core::hint::black_box;

    extern "C" fn ip() -> c_ulong {
        0
    }

    /// The registered set: its `state()` is the baseline's empty function.
    static SET: Callbacks = Callbacks {
        state: Some(bindings::guestgate_perf_bench_empty),
        get_ip: Some(ip),
        handle_intel_pt_intr: None,
        handle_mediated_pmi: None,
    };

    /// The set the pre-static-call scheme reads, as perf read `perf_guest_cbs`.
    static PTR: AtomicPtr<Callbacks> = AtomicPtr::new(ptr::null_mut());

    /// Times `calls` dispatches of one scheme and returns the TSC cycles:
    /// 0 nothing registered, 1 registered, 2 direct call, 3 pointer and
    /// indirect call. `EBUSY` for 1 if a set is registered; `EINVAL` for an
    /// unknown kind.
    fn run(kind: u32, calls: u64) -> Result<u64> {
        let t0;
        let t1;
        match kind {
            0 => {
                t0 = tsc();
                for _ in 0..calls {
                    guest_state();
                }
                t1 = tsc();
            }
            1 => {
                // SAFETY: `SET` is static and immutable, its hooks run
                // anywhere.
                unsafe { register(&SET) }?;
                let _reg = BenchRegistration;
                t0 = tsc();
                for _ in 0..calls {
                    guest_state();
                }
                t1 = tsc();
            }
            2 => {
                t0 = tsc();
                for _ in 0..calls {
                    // SAFETY: An empty C function, callable anywhere.
                    unsafe { bindings::guestgate_perf_bench_empty() };
                }
                t1 = tsc();
            }
            3 => {
                // Opaque to the compiler, or it would see that PTR can only
                // hold `&SET` and call its `state()` directly.
                PTR.store(black_box(ptr::from_ref(&SET).cast_mut()), Relaxed);
                t0 = tsc();
                for _ in 0..calls {
                    let cbs = PTR.load(Relaxed);
                    if !cbs.is_null() {
                        // SAFETY: `PTR` only ever holds `&SET`.
                        if let Some(state) = unsafe { (*cbs).state } {
                            // SAFETY: A hook of `SET`, callable anywhere.
                            unsafe { state() };
                        }
                    }
                }
                t1 = tsc();
            }
            _ => return Err(EINVAL),
        }
        Ok(t1 - t0)
    }

    /// Unregisters `SET` on drop.
    struct BenchRegistration;

    impl Drop for BenchRegistration {
        fn drop(&mut self) {
            let _ = unregister(&SET);
        }
    }

    /// `guestgate_rs_perf_bench()`: see `rust/shim.h`.
    ///
    /// # Safety
    ///
    /// `cycles` is valid for writes. Process context (registers and
    /// unregisters for kind 1).
    #[no_mangle]
    unsafe extern "C" fn guestgate_rs_perf_bench(kind: u32, calls: u64, cycles: *mut u64) -> c_int {
        match run(kind, calls) {
            Ok(c) => {
                // SAFETY: `cycles` is valid for writes by the safety requirements.
                unsafe { cycles.write(c) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    bindings::c_prototype!(
        guestgate_rs_perf_bench: unsafe extern "C" fn(u32, u64, *mut u64) -> c_int
    );
}

/// Rust KUnit cases of the `guestgate_perf_callbacks` suite.
#[cfg(CONFIG_KUNIT)]
mod kunit_cases {
    use super::*;
    use crate::kunit::{kunit_expect, Kunit, Test};

    const STATE_A: u32 = 0x1 | (0xa << 8);
    const IP_A: usize = 0xffff_ffff_a000_0000;

    struct SetA;

    #[vtable]
    impl GuestInfo for SetA {
        fn state() -> u32 {
            STATE_A
        }

        fn get_ip() -> usize {
            IP_A
        }

        fn handle_intel_pt_intr() -> u32 {
            0xa
        }
    }

    struct SetB;

    #[vtable]
    impl GuestInfo for SetB {
        fn state() -> u32 {
            0x3
        }

        fn get_ip() -> usize {
            0xb
        }
    }

    /// The guard registers, the Rust dispatch reaches the set, optional
    /// hooks left out return 0, and drop unregisters.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_perf_guard(test: *mut Kunit) {
        // SAFETY: By the safety requirements.
        let test = unsafe { Test::new(test) };
        let unregs = UNREGISTRATIONS.load(Relaxed);

        kunit_expect!(test, guest_state() == 0);
        {
            let reg = Registration::<SetA>::new();
            kunit_expect!(test, reg.is_ok());
            kunit_expect!(test, guest_state() == STATE_A);
            kunit_expect!(test, guest_get_ip() == IP_A);
            kunit_expect!(test, guest_handle_intel_pt_intr() == 0xa);
            // SetA has no mediated PMI hook: "return 0", nothing to see.
            guest_handle_mediated_pmi();
        }
        kunit_expect!(test, UNREGISTRATIONS.load(Relaxed) - unregs == 1);
        kunit_expect!(test, REGISTERED.load(Relaxed).is_null());
        kunit_expect!(test, guest_state() == 0);
        kunit_expect!(test, guest_get_ip() == 0);
        kunit_expect!(test, guest_handle_intel_pt_intr() == 0);

        // Another set after the first was dropped; its PT hook is left out.
        let reg = Registration::<SetB>::new();
        kunit_expect!(test, reg.is_ok());
        kunit_expect!(test, guest_state() == 0x3);
        kunit_expect!(test, guest_handle_intel_pt_intr() == 0);
    }

    /// A second registration, of the same set or another, is `EBUSY` and
    /// leaves the first in place.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_perf_busy(test: *mut Kunit) {
        // SAFETY: By the safety requirements.
        let test = unsafe { Test::new(test) };
        let reg = Registration::<SetA>::new();
        kunit_expect!(test, reg.is_ok());
        kunit_expect!(test, Registration::<SetA>::new().err() == Some(EBUSY));
        kunit_expect!(test, Registration::<SetB>::new().err() == Some(EBUSY));
        kunit_expect!(test, guest_state() == STATE_A);
        kunit_expect!(test, guest_get_ip() == IP_A);
        // An unregistration of a set that is not the registered one.
        kunit_expect!(test, unregister(&Adapter::<SetB>::CALLBACKS) == Err(ENOENT));
        kunit_expect!(test, guest_state() == STATE_A);
        drop(reg);
        kunit_expect!(test, guest_state() == 0);
    }

    /// The Rust dispatch of `handle_intel_pt_intr()`, for the C cases.
    #[no_mangle]
    extern "C" fn guestgate_kunit_perf_pt_intr() -> c_uint {
        guest_handle_intel_pt_intr()
    }

    bindings::c_prototype!(guestgate_kunit_perf_pt_intr: unsafe extern "C" fn() -> c_uint);
    bindings::c_prototype!(guestgate_kunit_perf_guard: unsafe extern "C" fn(*mut Kunit));
    bindings::c_prototype!(guestgate_kunit_perf_busy: unsafe extern "C" fn(*mut Kunit));
}
