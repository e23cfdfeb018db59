// SPDX-License-Identifier: GPL-2.0

//! The Rust API: [`GuestInfo`] and its [`Registration`].

use super::*;

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
pub(super) struct Adapter<T>(PhantomData<T>);

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

    pub(super) const CALLBACKS: Callbacks = Callbacks {
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
