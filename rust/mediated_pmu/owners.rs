// SPDX-License-Identifier: GPL-2.0

//! Who holds the PMUs of the deal: the word, its two sides and their
//! guards.

use super::*;

/// The owners of the PMUs of the deal.
///
/// Positive: that many events that count the guest exist; negative: minus
/// that many mediated users exist; zero: neither. Only [`join`] and
/// [`leave`] change it.
pub(super) static OWNERS: AtomicI64 = AtomicI64::new(0);

/// Successful joins and leaves, and refused joins, of each side, for
/// debugfs: `[side]`.
pub(super) static JOINS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
pub(super) static LEAVES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
pub(super) static REFUSALS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// Leaves refused because the side held nothing: misuse by a C caller.
pub(super) static BAD_LEAVES: AtomicU64 = AtomicU64::new(0);

/// One of the two sides of the deal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    /// A host event that counts the guest.
    GuestCountingEvent = 0,
    /// A hypervisor with a mediated vPMU.
    MediatedUser = 1,
}

impl Side {
    /// The sign of this side's share of [`OWNERS`].
    fn sign(self) -> i64 {
        match self {
            Side::GuestCountingEvent => 1,
            Side::MediatedUser => -1,
        }
    }

    /// The errno that refuses a join of this side.
    fn refusal(self) -> Error {
        match self {
            Side::GuestCountingEvent => eopnotsupp(),
            Side::MediatedUser => EBUSY,
        }
    }
}

/// `EOPNOTSUPP`, which 6.12's `kernel::error::code` does not declare.
pub(super) fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// Adds one owner of `side`, unless the other side holds the PMUs.
///
/// Acquire on success: whoever joins sees what the last owner of the other
/// side did before it left, as a lock would give.
pub(super) fn join(side: Side) -> Result {
    let sign = side.sign();
    // The other side holds the word iff its sign is the opposite of ours.
    match OWNERS.fetch_update(AcqRel, Relaxed, |v| (v * sign >= 0).then_some(v + sign)) {
        Ok(_) => {
            JOINS[side as usize].fetch_add(1, Relaxed);
            Ok(())
        }
        Err(_) => {
            REFUSALS[side as usize].fetch_add(1, Relaxed);
            Err(side.refusal())
        }
    }
}

/// Removes one owner of `side`.
///
/// Fails with `EINVAL`, changing nothing, if `side` holds nothing: a leave
/// with no join before it, which only a C caller can make.
pub(super) fn leave(side: Side) -> Result {
    let sign = side.sign();
    match OWNERS.fetch_update(AcqRel, Acquire, |v| (v * sign > 0).then_some(v - sign)) {
        Ok(_) => {
            LEAVES[side as usize].fetch_add(1, Relaxed);
            Ok(())
        }
        Err(_) => {
            BAD_LEAVES.fetch_add(1, Relaxed);
            Err(EINVAL)
        }
    }
}

/// A mediated user of the PMUs of the deal: while it exists, no event that
/// counts the guest exists on them, and none can be created.
///
/// # Invariants
///
/// Counted as one mediated user in [`OWNERS`] from its creation to its drop.
pub(crate) struct MediatedPmu(());

impl MediatedPmu {
    /// Becomes a mediated user: `EBUSY` while an event counts the guest.
    pub(crate) fn create() -> Result<Self> {
        join(Side::MediatedUser)?;
        // INVARIANT: joined above.
        Ok(Self(()))
    }
}

impl Drop for MediatedPmu {
    fn drop(&mut self) {
        // By the type invariant this user is counted, so `leave` cannot
        // fail, unless a C caller released a user it did not create: then
        // the misuse is counted in `BAD_LEAVES`.
        let _ = leave(Side::MediatedUser);
    }
}

/// An event that counts the guest, entered into the deal by its PMU.
///
/// # Invariants
///
/// Counted as one such event in [`OWNERS`] from its creation to its drop.
pub(crate) struct GuestCountingEvent(());

impl GuestCountingEvent {
    /// Enters an event that counts the guest: `EOPNOTSUPP` while a mediated
    /// user exists.
    pub(crate) fn account() -> Result<Self> {
        join(Side::GuestCountingEvent)?;
        // INVARIANT: joined above.
        Ok(Self(()))
    }
}

impl Drop for GuestCountingEvent {
    fn drop(&mut self) {
        // By the type invariant this event is counted, so `leave` cannot
        // fail, unless a C caller unaccounted an event it did not account:
        // then the misuse is counted in `BAD_LEAVES`.
        let _ = leave(Side::GuestCountingEvent);
    }
}
