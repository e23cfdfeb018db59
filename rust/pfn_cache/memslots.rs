// SPDX-License-Identifier: GPL-2.0

//! Memslot tables: guest frame numbers to user addresses, with a
//! generation.

use super::*;

/// The number of slots of a [`Memslots`] table.
pub(crate) const MAX_SLOTS: usize = bindings::GUESTGATE_MEMSLOTS_MAX as usize;

/// One memslot: `npages` guest frames from `base_gfn`, mapped at `uhva`.
/// Empty if `npages` is 0.
#[derive(Clone, Copy, Default)]
struct Slot {
    base_gfn: u64,
    npages: u64,
    uhva: u64,
}

impl Slot {
    fn contains(&self, gfn: u64) -> bool {
        self.npages != 0 && gfn >= self.base_gfn && gfn - self.base_gfn < self.npages
    }

    fn overlaps(&self, base_gfn: u64, npages: u64) -> bool {
        self.npages != 0
            && base_gfn < self.base_gfn + self.npages
            && self.base_gfn < base_gfn + npages
    }
}

/// A memslot table: guest frame numbers to user addresses, with a
/// generation bumped on every change.
///
/// # Invariants
///
/// Slots do not overlap; a slot's frames, guest physical addresses and user
/// addresses do not wrap. `generation` changes only with `table` locked, and
/// after the change it counts.
#[pin_data]
pub(crate) struct Memslots {
    #[pin]
    table: Mutex<[Slot; MAX_SLOTS]>,
    pub(super) generation: AtomicU64,
}

impl Memslots {
    /// An empty table.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                table <- new_mutex!([Slot::default(); MAX_SLOTS], "guestgate_memslots"),
                generation: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// A slot of `npages` frames from `base_gfn` at `uhva`; `EINVAL` if its
    /// frames, addresses or user addresses would wrap, or `uhva` is not
    /// page aligned.
    fn slot(base_gfn: u64, npages: u64, uhva: u64) -> Result<Slot> {
        if npages != 0 {
            let bytes = npages.checked_mul(PAGE_SIZE as u64).ok_or(EINVAL)?;
            let end_gfn = base_gfn.checked_add(npages).ok_or(EINVAL)?;
            if uhva & !(PAGE_MASK as u64) != 0
                || uhva.checked_add(bytes).is_none()
                || end_gfn > u64::MAX >> PAGE_SHIFT
            {
                return Err(EINVAL);
            }
        }
        Ok(Slot {
            base_gfn,
            npages,
            uhva,
        })
    }

    /// Sets slot `id`, or deletes it if `npages` is 0. See
    /// `guestgate_memslots_set()`.
    pub(crate) fn set(&self, id: u32, base_gfn: u64, npages: u64, uhva: u64) -> Result {
        let id = id as usize;
        if id >= MAX_SLOTS {
            return Err(EINVAL);
        }
        let slot = Self::slot(base_gfn, npages, uhva)?;
        let mut table = self.table.lock();
        if npages != 0
            && table
                .iter()
                .enumerate()
                .any(|(i, s)| i != id && s.overlaps(base_gfn, npages))
        {
            return Err(EEXIST);
        }
        // INVARIANT: checked above: no overlap, no wrap.
        table[id] = slot;
        // INVARIANT: `table` is locked; the slot is written before.
        self.generation.fetch_add(1, Release);
        MEMSLOT_CHANGES.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The number of changes so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Acquire)
    }

    /// The user address of `gpa` and the generation of the table that says
    /// so; `EFAULT` if no slot holds it.
    pub(super) fn resolve(&self, gpa: u64) -> Result<(u64, u64)> {
        let table = self.table.lock();
        // Stable while `table` is locked, by the type invariant.
        let generation = self.generation.load(Relaxed);
        let gfn = gpa >> PAGE_SHIFT;
        let slot = table.iter().find(|s| s.contains(gfn)).ok_or(EFAULT)?;
        // No wrap, by the type invariant.
        let uhva = slot.uhva + ((gfn - slot.base_gfn) << PAGE_SHIFT) + (gpa & !(PAGE_MASK as u64));
        Ok((uhva, generation))
    }
}
