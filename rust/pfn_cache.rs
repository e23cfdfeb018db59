// SPDX-License-Identifier: GPL-2.0

//! The pfn cache: a kernel mapping of one user page, kept coherent by an mmu
//! interval notifier.
//!
//! KVM's `gfn_to_pfn_cache` (`virt/kvm/pfncache.c`) as a standalone cache
//! bound to one mm. A [`PfnCache`] caches the page of one user address
//! (given directly, or as a guest physical address resolved through a
//! [`Memslots`] table), holds no reference on that page, and is kept safe by
//! the protocol alone:
//!
//! - readers take the cache's rwlock for reading (any context, hardirq
//!   included), check that the cache is valid and access the page before
//!   they drop it. In Rust the mapping is reachable only through a
//!   [`ReadGuard`], which exists only once the check passed and drops the
//!   lock when it goes. C readers use the inline functions of
//!   `<linux/guestgate/pfncache.h>`, so the fast path makes no call into
//!   guestgate between the lock and the unlock (Rust's makes none either:
//!   the check is inlined here);
//! - the cache's own interval notifier covers exactly the cached page. It
//!   runs before the page is unmapped or changed, takes the lock for writing
//!   and clears `valid`: once it returns, no reader uses the old page;
//! - a refresh (process context, in the cache's mm, serialized by the
//!   refresh mutex) takes the notifier's sequence, looks the page up (which
//!   sleeps), and publishes it under the write lock only if the sequence
//!   says no invalidation of that page ran meanwhile; otherwise it looks
//!   again. It then drops its page reference.
//!
//! # The difference from upstream
//!
//! Upstream registers one mmu notifier per VM and retries a refresh while
//! any invalidation is in flight anywhere in the VM's mm
//! (`mn_active_invalidate_count`), so a task that keeps invalidating an
//! unrelated range can starve refreshes. Here each cache has its own
//! interval notifier on its own page: an invalidation of another range
//! neither calls it nor moves its sequence, so it never makes a refresh look
//! again. (A notifier inserted while invalidations are in flight is added to
//! the interval tree once they end, and the refresh's first
//! `mmu_interval_read_begin()` waits for that: once per new page.)
//!
//! # Limits
//!
//! - A refresh, activation or deactivation on a cache whose [`ReadGuard`]
//!   the same task holds deadlocks (they take the write lock, and sleep):
//!   drop the guard first, as the lock's rules say in C.
//! - `PREEMPT_RT` is not supported: there `rwlock_t` sleeps, and readers in
//!   hardirq context (the hrtimer case) would be invalid.
//! - 64-bit only: the cached page is reached through the direct map.
//!
//! # Locking
//!
//! The state of a cache (what readers see, [`bindings::guestgate_gpc`], and
//! the rest, [`bindings::guestgate_gpc_fields`]) is written only with the
//! write lock held; the request (`active`, `uhva`, `gpa`, `slots`,
//! `slots_generation`, `notified`, `notifier_start`) additionally only with
//! the refresh mutex held. So the refresh mutex's holder may read the request without the
//! rwlock, and every other reader holds the rwlock. A refresh never uses
//! what it read under the rwlock after dropping it: what it publishes is
//! what it looked up, validated by the notifier's sequence under the write
//! lock (the bug class of 93984f19e7bc, "drop the lock and assume the fields
//! unchanged", has nothing to read).

use crate::bindings;
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
    sync::atomic::{
        AtomicU32, AtomicU64,
        Ordering::{Acquire, Relaxed, Release},
    },
};
use kernel::{
    ffi::{c_int, c_uint, c_ulong, c_void},
    new_mutex,
    page::{PAGE_MASK, PAGE_SIZE},
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
};

type Fields = bindings::guestgate_gpc_fields;
type Gpc = bindings::guestgate_gpc;
type Cache = bindings::guestgate_pfn_cache;

const PAGE_SHIFT: u32 = kernel::page::PAGE_SHIFT as u32;

static CACHES: AtomicU64 = AtomicU64::new(0);
static ACTIVATIONS: AtomicU64 = AtomicU64::new(0);
static REFRESHES: AtomicU64 = AtomicU64::new(0);
static REFRESH_ERRORS: AtomicU64 = AtomicU64::new(0);
static INVALIDATIONS: AtomicU64 = AtomicU64::new(0);
static RETRIES: AtomicU64 = AtomicU64::new(0);
/// The most retries one refresh took.
static RETRIES_MAX: AtomicU64 = AtomicU64::new(0);
static MEMSLOT_CHANGES: AtomicU64 = AtomicU64::new(0);
/// The checks of the caches destroyed so far (a live cache counts its own).
static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
/// Fault injection for the tests, see [`guestgate_rs_gpc_break_refresh`].
static BREAK_REFRESH: AtomicU32 = AtomicU32::new(bindings::GUESTGATE_GPC_REFRESH_NORMAL);

/// Whether `[addr, addr + len)` stays within the page of `addr`. `len`
/// comes from callers unchecked: a huge one must not wrap the sum.
pub(crate) fn fits_in_page(addr: u64, len: usize) -> bool {
    ((addr & !(PAGE_MASK as u64)) as usize)
        .checked_add(len)
        .is_some_and(|end| end <= PAGE_SIZE)
}

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
    generation: AtomicU64,
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

    /// Replaces the whole table with `slots` (`(base_gfn, npages, uhva)`,
    /// slot `i` from `slots[i]`, the others empty) in one change: a lookup
    /// sees the old table or the new one, never a part of either. On error
    /// (`EINVAL` as [`Self::set`], `EEXIST` for an overlap) the table is
    /// unchanged.
    pub(crate) fn replace(&self, slots: &[(u64, u64, u64)]) -> Result {
        if slots.len() > MAX_SLOTS {
            return Err(EINVAL);
        }
        let mut new = [Slot::default(); MAX_SLOTS];
        for (i, &(base_gfn, npages, uhva)) in slots.iter().enumerate() {
            let slot = Self::slot(base_gfn, npages, uhva)?;
            if npages != 0 && new[..i].iter().any(|s| s.overlaps(base_gfn, npages)) {
                return Err(EEXIST);
            }
            new[i] = slot;
        }
        let mut table = self.table.lock();
        // INVARIANT: checked above: no overlap, no wrap.
        *table = new;
        // INVARIANT: `table` is locked; the slots are written before.
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
    fn resolve(&self, gpa: u64) -> Result<(u64, u64)> {
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

/// The counters of a cache kept in its fields (`struct
/// guestgate_gpc_counters`; hits and misses are per CPU, in the C half).
#[derive(Clone, Copy)]
enum Stat {
    Refreshes,
    Invalidations,
    Retries,
}

/// A pfn cache bound to the mm of the task that made it.
///
/// # Invariants
///
/// `pc` was allocated by `guestgate_gpc_alloc()`, is owned by this value
/// and freed by its drop. In its `gpc` and `f`:
///
/// - once the cache is made, every member is written only with the write
///   lock held, and `active`, `uhva`, `gpa`, `slots`, `slots_generation`,
///   `notified` and `notifier_start` only with the refresh mutex held as
///   well; `writable` is set at creation and never changes; `counters` are
///   accessed only atomically;
/// - `slots` is NULL or comes from [`Arc::into_raw`] of an `Arc<Memslots>`
///   whose reference the cache owns, and `slots_generation` is the
///   generation of that table, or the cache's own `generation` if `slots`
///   is NULL (as `guestgate_gpc_alloc()` sets it);
/// - if `valid`: `active` and `notified` are set, `notifier_start` is the
///   page of `uhva`, and `pfn` and `khva` are the page that was mapped at
///   `uhva` when the notifier's sequence was last found unchanged, with no
///   invalidation of that page since (it would have cleared `valid`);
///   `khva` includes `uhva`'s offset in the page. The page therefore stays
///   allocated and mapped at `khva` while the lock is held for reading with
///   `valid` set. If not `valid`, `khva` is NULL and `pfn` 0.
pub(crate) struct PfnCache {
    pc: NonNull<Cache>,
}

// SAFETY: The cache is not tied to a task: its mm was grabbed, and its
// state is accessed only under its locks or atomically.
unsafe impl Send for PfnCache {}
// SAFETY: As for `Send`: every method that takes `&self` locks or uses
// atomics.
unsafe impl Sync for PfnCache {}

/// The refresh mutex of a cache, held. Not `Send`: a mutex is unlocked by
/// the task that locked it.
struct RefreshGuard<'a>(&'a PfnCache, PhantomData<*mut ()>);

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `PfnCache::lock_refresh()`, by this task.
        unsafe { bindings::guestgate_gpc_refresh_unlock(self.0.pc.as_ptr()) };
    }
}

/// The write lock of a cache, held with interrupts disabled. Not `Send`:
/// the interrupt flags are this CPU's.
struct WriteGuard<'a> {
    cache: &'a PfnCache,
    flags: c_ulong,
    _not_send: PhantomData<*mut ()>,
}

impl WriteGuard<'_> {
    /// What the cache's readers see, which this guard may write.
    fn g(&self) -> *mut Gpc {
        self.cache.gpc()
    }

    /// The rest of the cache's state, which this guard may write.
    fn f(&self) -> *mut Fields {
        self.cache.fields()
    }

    /// Whether an invalidation of the notifier's page ran since `seq`.
    fn retry(&self, seq: c_ulong) -> bool {
        // SAFETY: The write lock is held (`self`); the notifier is inserted
        // (the callers took `seq` from it under the refresh mutex).
        unsafe { bindings::guestgate_gpc_read_retry(self.cache.pc.as_ptr(), seq) }
    }

    fn invalidate(&self) {
        // SAFETY: The write lock is held: the state may be written.
        unsafe { invalidate(self.cache.pc.as_ptr()) };
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `PfnCache::lock_write()` with these flags, on
        // this CPU (the guard is not `Send`).
        unsafe { bindings::guestgate_gpc_write_unlock(self.cache.pc.as_ptr(), self.flags) };
    }
}

/// A page reference from `guestgate_gpc_get_page()`, put on drop.
struct PageRef(*mut kernel::bindings::page);

impl Drop for PageRef {
    fn drop(&mut self) {
        // SAFETY: A reference this value owns.
        unsafe { bindings::guestgate_gpc_put_page(self.0) };
    }
}

/// How a [`ReadGuard`] releases its lock.
enum Unlock {
    Plain,
    Irqrestore(c_ulong),
}

impl Unlock {
    /// Drops the read lock of `gpc` and counts the check made under it, a
    /// hit or a miss.
    ///
    /// # Safety
    ///
    /// `gpc` is read-locked as `self` says, by this task or on this CPU.
    unsafe fn release(&self, gpc: *mut Gpc, hit: bool) {
        match *self {
            // SAFETY: By the safety requirements.
            Unlock::Plain => unsafe { bindings::guestgate_gpc_reader_unlock(gpc, hit) },
            // SAFETY: As above, with these flags, on this CPU.
            Unlock::Irqrestore(flags) => unsafe {
                bindings::guestgate_gpc_reader_unlock_irqrestore(gpc, hit, flags)
            },
        }
    }
}

/// The read lock of a cache that was found valid: the only way to the
/// cached mapping.
///
/// # Invariants
///
/// The cache's lock is held for reading, taken as `unlock` says, on this
/// task or CPU (the guard is neither `Send` nor `Sync`), and the cache was
/// valid when it was taken: `khva` is the kernel address of the cache's
/// `uhva`, `len` bytes from it lie in the cached page, and while the guard
/// lives that page stays allocated and mapped there (the notifier waits for
/// the lock). `writable` says the page was looked up for writing. The
/// check that made the guard is counted as a hit when it drops.
pub(crate) struct ReadGuard<'a> {
    cache: &'a PfnCache,
    khva: *mut u8,
    len: usize,
    pfn: u64,
    writable: bool,
    unlock: Unlock,
    _not_send: PhantomData<*mut ()>,
}

impl PfnCache {
    /// An inactive cache bound to the current mm; `EINVAL` without one.
    ///
    /// Process context; may sleep.
    pub(crate) fn new(writable: bool) -> Result<Self> {
        let mut pc = ptr::null_mut();
        // SAFETY: `pc` is valid for writes.
        kernel::error::to_result(unsafe { bindings::guestgate_gpc_alloc(&mut pc) })?;
        let pc = NonNull::new(pc).ok_or(ENOMEM)?;
        // SAFETY: Just allocated, zeroed and not shared yet.
        unsafe { (*pc.as_ptr()).f.writable = u8::from(writable) };
        CACHES.fetch_add(1, Relaxed);
        // INVARIANT: allocated above; all members zero: inactive, invalid,
        // no slots, no notifier.
        Ok(Self { pc })
    }

    /// What the cache's readers see. Access it under the rules of the type
    /// invariants, through raw places (never as a reference: the lock in
    /// it is taken concurrently).
    fn gpc(&self) -> *mut Gpc {
        // SAFETY: `pc` is valid while `self` lives; `addr_of_mut!` takes
        // the member's place without a reference.
        unsafe { ptr::addr_of_mut!((*self.pc.as_ptr()).gpc) }
    }

    /// The `slots_generation` of a cache without a memslot table: its own
    /// `generation`, which then always compares equal.
    fn own_generation(&self) -> *const u64 {
        // SAFETY: As in `gpc()`.
        unsafe { ptr::addr_of!((*self.gpc()).generation) }
    }

    /// The rest of the cache's state, as [`Self::gpc`] (readers update
    /// the counters concurrently).
    fn fields(&self) -> *mut Fields {
        // SAFETY: As in `gpc()`.
        unsafe { ptr::addr_of_mut!((*self.pc.as_ptr()).f) }
    }

    /// A counter of this cache.
    fn stat(&self, which: Stat) -> &AtomicU64 {
        let f = self.fields();
        // SAFETY: `f` is valid while `self` lives; `addr_of_mut!` takes the
        // counter's place without a reference. The counters are aligned
        // `u64`s accessed only atomically (type invariant).
        unsafe {
            AtomicU64::from_ptr(match which {
                Stat::Refreshes => ptr::addr_of_mut!((*f).counters.refreshes),
                Stat::Invalidations => ptr::addr_of_mut!((*f).counters.invalidations),
                Stat::Retries => ptr::addr_of_mut!((*f).counters.retries),
            })
        }
    }

    fn count(&self, which: Stat) {
        self.stat(which).fetch_add(1, Relaxed);
    }

    fn lock_refresh(&self) -> RefreshGuard<'_> {
        // SAFETY: The cache is allocated (type invariant); unlocked on drop.
        unsafe { bindings::guestgate_gpc_refresh_lock(self.pc.as_ptr()) };
        RefreshGuard(self, PhantomData)
    }

    fn lock_write(&self) -> WriteGuard<'_> {
        // SAFETY: The cache is allocated; unlocked on drop.
        let flags = unsafe { bindings::guestgate_gpc_write_lock(self.pc.as_ptr()) };
        WriteGuard {
            cache: self,
            flags,
            _not_send: PhantomData,
        }
    }

    /// Whether the calling task runs in the cache's mm (refreshes fail with
    /// `EFAULT` elsewhere).
    pub(crate) fn in_mm(&self) -> bool {
        // SAFETY: The cache is allocated.
        unsafe { bindings::guestgate_gpc_in_mm(self.pc.as_ptr()) }
    }

    /// Starts caching the page of `uhva`, then refreshes: see
    /// `guestgate_gpc_activate_hva()`.
    pub(crate) fn activate_hva(&self, uhva: u64, len: usize) -> Result {
        self.activate(None, uhva, len)
    }

    /// Starts caching the page of guest physical address `gpa` of `slots`,
    /// then refreshes: see `guestgate_gpc_activate()`.
    pub(crate) fn activate_gpa(
        &self,
        slots: ArcBorrow<'_, Memslots>,
        gpa: u64,
        len: usize,
    ) -> Result {
        self.activate(Some(slots), gpa, len)
    }

    fn activate(&self, slots: Option<ArcBorrow<'_, Memslots>>, addr: u64, len: usize) -> Result {
        ACTIVATIONS.fetch_add(1, Relaxed);
        if !fits_in_page(addr, len) {
            return Err(EINVAL);
        }
        if !self.in_mm() {
            return Err(EFAULT);
        }
        let new_slots = slots.map_or(ptr::null(), |s| Arc::into_raw(Arc::from(s)));
        let new_generation = if new_slots.is_null() {
            self.own_generation()
        } else {
            // SAFETY: The reference taken just above keeps the table.
            unsafe { (*new_slots).generation.as_ptr().cast_const() }
        };
        let r = self.lock_refresh();
        let old_slots;
        {
            let w = self.lock_write();
            let (g, f) = (w.g(), w.f());
            w.invalidate();
            // SAFETY: Both locks are held: the request may be written.
            unsafe {
                old_slots = (*f).slots;
                // INVARIANT: `new_slots` is NULL or an `Arc::into_raw()`
                // whose reference now belongs to the cache, and
                // `new_generation` is its generation.
                (*f).slots = new_slots.cast();
                (*g).slots_generation = new_generation;
                if new_slots.is_null() {
                    (*g).uhva = addr;
                    (*f).gpa = u64::MAX;
                } else {
                    (*f).gpa = addr;
                    // Until a refresh resolves it: the offset in the page
                    // (the gpa's), which the checks of a length use.
                    (*g).uhva = addr & !(PAGE_MASK as u64);
                }
                (*g).generation = 0;
                (*f).active = 1;
            }
        }
        // SAFETY: The cache owned this reference, and no longer holds it.
        drop(unsafe { Self::take_slots(old_slots) });
        self.refresh_locked(&r, len)
    }

    /// The `Arc<Memslots>` behind a `slots` field value, if any.
    ///
    /// # Safety
    ///
    /// `slots` is NULL or an [`Arc::into_raw()`] whose reference the caller
    /// owns and gives up.
    unsafe fn take_slots(slots: *const c_void) -> Option<Arc<Memslots>> {
        // SAFETY: By the safety requirements.
        (!slots.is_null()).then(|| unsafe { Arc::from_raw(slots.cast::<Memslots>()) })
    }

    /// Looks the page up again and publishes it: see
    /// `guestgate_gpc_refresh()`.
    pub(crate) fn refresh(&self, len: usize) -> Result {
        let r = self.lock_refresh();
        self.refresh_locked(&r, len)
    }

    fn refresh_locked(&self, _r: &RefreshGuard<'_>, len: usize) -> Result {
        let ret = self.do_refresh(len);
        match ret {
            Ok(()) => REFRESHES.fetch_add(1, Relaxed),
            Err(_) => REFRESH_ERRORS.fetch_add(1, Relaxed),
        };
        ret
    }

    /// The refresh, refresh mutex held (callers: `refresh_locked()`).
    fn do_refresh(&self, len: usize) -> Result {
        let (g, f) = (self.gpc(), self.fields());
        // SAFETY: The refresh mutex is held: the request is stable and may
        // be read without the rwlock (type invariant).
        let (active, slots, gpa, mut uhva, writable, notified, start) = unsafe {
            (
                (*f).active != 0,
                (*f).slots,
                (*f).gpa,
                (*g).uhva,
                (*f).writable != 0,
                (*f).notified != 0,
                (*f).notifier_start,
            )
        };
        if active && !self.in_mm() {
            return Err(EFAULT);
        }
        let fail = |e: Error| {
            self.lock_write().invalidate();
            Err(e)
        };
        if !active {
            return Err(EINVAL);
        }
        let mut generation = 0;
        if !slots.is_null() {
            // SAFETY: The cache owns a reference to `slots` (type
            // invariant), which the refresh mutex keeps.
            let table = unsafe { ArcBorrow::from_raw(slots.cast::<Memslots>()) };
            match table.resolve(gpa) {
                Ok((u, g)) => (uhva, generation) = (u, g),
                Err(e) => return fail(e),
            }
        }
        if !fits_in_page(uhva, len) {
            // The caller's length is wrong, not the cache: it stays as it
            // is (a mapping of an older memslot generation fails its check
            // anyway).
            return Err(EINVAL);
        }
        {
            let w = self.lock_write();
            // SAFETY: The write lock is held. Valid for this address and
            // generation: the notifier keeps it current, nothing to look up.
            if unsafe { (*g).valid && (*g).uhva == uhva && (*g).generation == generation } {
                drop(w);
                self.count(Stat::Refreshes);
                return Ok(());
            }
        }
        let page_start = uhva & PAGE_MASK as u64;
        if !notified || start != page_start {
            self.move_notifier(notified, page_start).or_else(fail)?;
        }
        let mut retries = 0;
        loop {
            // SAFETY: The notifier is inserted (above, or before, under
            // this refresh mutex); this may sleep, which process context
            // allows.
            let seq = unsafe { bindings::guestgate_gpc_read_begin(self.pc.as_ptr()) };
            let mut page = ptr::null_mut();
            let mut pfn = 0;
            let mut khva = ptr::null_mut();
            // SAFETY: The pointers are valid for writes; the caller runs
            // in the cache's mm (checked above).
            let ret = unsafe {
                bindings::guestgate_gpc_get_page(
                    uhva as c_ulong,
                    writable,
                    &mut page,
                    &mut pfn,
                    &mut khva,
                )
            };
            if let Err(e) = kernel::error::to_result(ret) {
                return fail(e);
            }
            // Put after the write lock is dropped (declared before it).
            let _page = PageRef(page);
            // Compiled out without KUnit: nothing can set it there.
            let mode = if cfg!(CONFIG_KUNIT) {
                BREAK_REFRESH.load(Relaxed)
            } else {
                bindings::GUESTGATE_GPC_REFRESH_NORMAL
            };
            let broken = mode == bindings::GUESTGATE_GPC_REFRESH_BROKEN;
            if mode != bindings::GUESTGATE_GPC_REFRESH_NORMAL {
                // SAFETY: FFI call; process context, no lock but the
                // refresh mutex held.
                unsafe { bindings::guestgate_gpc_break_delay() };
            }
            let w = self.lock_write();
            if !broken && w.retry(seq) {
                // An invalidation of this page ran since `seq`: the page
                // looked up may be gone. Nothing of it is kept.
                self.count(Stat::Retries);
                RETRIES.fetch_add(1, Relaxed);
                retries += 1;
                RETRIES_MAX.fetch_max(retries, Relaxed);
                continue;
            }
            let off = (uhva & !(PAGE_MASK as u64)) as usize;
            // SAFETY: Both locks are held. INVARIANT: `pfn` and `khva` are
            // the page mapped at `uhva` (now the cache's) as of `seq`, and
            // no invalidation of it ran since; the notifier covers it.
            // `khva` plus the offset is within the page.
            unsafe {
                (*g).uhva = uhva;
                (*g).generation = generation;
                (*f).pfn = pfn;
                (*g).khva = khva.cast::<u8>().wrapping_add(off).cast();
                (*g).valid = true;
            }
            drop(w);
            self.count(Stat::Refreshes);
            return Ok(());
        }
    }

    /// Moves the notifier to the page at `page_start`, with the cache
    /// invalid meanwhile. Refresh mutex held (callers: `do_refresh()`).
    fn move_notifier(&self, notified: bool, page_start: u64) -> Result {
        {
            let w = self.lock_write();
            w.invalidate();
            // SAFETY: Both locks are held. INVARIANT: invalid, so nothing
            // depends on the notifier until it is inserted again.
            unsafe { (*w.f()).notified = 0 };
        }
        if notified {
            // SAFETY: Inserted, refresh mutex held, write lock not held.
            unsafe { bindings::guestgate_gpc_notifier_remove(self.pc.as_ptr()) };
        }
        // SAFETY: Refresh mutex held; the caller runs in the cache's mm.
        kernel::error::to_result(unsafe {
            bindings::guestgate_gpc_notifier_insert(self.pc.as_ptr(), page_start as c_ulong)
        })?;
        let w = self.lock_write();
        // SAFETY: Both locks are held.
        unsafe {
            (*w.f()).notified = 1;
            (*w.f()).notifier_start = page_start;
        }
        Ok(())
    }

    /// Stops caching: see `guestgate_gpc_deactivate()`.
    ///
    /// The notifier stays on its page: an activation on that page again
    /// inserts none. (Inserting one while any invalidation is in flight in
    /// the mm makes its first sequence read wait until none is, which an
    /// unrelated storm of invalidations can make long.) The drop removes
    /// it.
    pub(crate) fn deactivate(&self) {
        let _r = self.lock_refresh();
        let slots;
        {
            let w = self.lock_write();
            let (g, f) = (w.g(), w.f());
            w.invalidate();
            // SAFETY: Both locks are held.
            unsafe {
                (*f).active = 0;
                slots = (*f).slots;
                (*f).slots = ptr::null();
                (*g).slots_generation = self.own_generation();
            }
        }
        // SAFETY: The cache owned this reference and no longer holds it.
        drop(unsafe { Self::take_slots(slots) });
    }

    /// Removes the notifier, if inserted. The cache is inactive (callers:
    /// the drop, after `deactivate()`).
    fn remove_notifier(&self) {
        let _r = self.lock_refresh();
        let notified;
        {
            let w = self.lock_write();
            // SAFETY: Both locks are held. INVARIANT: the cache is inactive,
            // hence invalid: nothing depends on the notifier.
            unsafe {
                notified = (*w.f()).notified != 0;
                (*w.f()).notified = 0;
            }
        }
        if notified {
            // SAFETY: Inserted, refresh mutex held, write lock not held.
            unsafe { bindings::guestgate_gpc_notifier_remove(self.pc.as_ptr()) };
        }
    }

    /// Makes the cache invalid until the next refresh or activation: see
    /// `guestgate_gpc_invalidate()`.
    pub(crate) fn invalidate(&self) {
        // The refresh mutex first: a refresh under way publishes before
        // this, not after.
        let _r = self.lock_refresh();
        self.lock_write().invalidate();
    }

    /// The check of `guestgate_gpc_check()`, lock held: the kernel address
    /// of `uhva` and the pfn, or `EINVAL` (inactive, or the access crosses
    /// the page) or `EAGAIN` (invalid, or its memslot table changed).
    ///
    /// # Safety
    ///
    /// The caller holds the cache's lock.
    unsafe fn check_locked(&self, len: usize) -> Result<(*mut u8, u64)> {
        let (g, f) = (self.gpc(), self.fields());
        // SAFETY: The lock is held: the state is stable. `slots_generation`
        // is the cache's own `generation`, or that of the table the cache
        // holds a reference to, which changes only atomically (type
        // invariant): an aligned `u64` either way, read atomically as C
        // reads it with `READ_ONCE()`.
        unsafe {
            let fits = fits_in_page((*g).uhva, len);
            let stale = AtomicU64::from_ptr((*g).slots_generation.cast_mut()).load(Relaxed)
                ^ (*g).generation;
            // Nonzero if any condition fails: one branch, as in C (with
            // "&" of the conditions, the compiler still branched on each).
            let bad = u64::from(!(*g).valid) | u64::from(!fits) | stale;
            if bad == 0 {
                // `valid`: `khva` is the address of `uhva` in the cached
                // page, and `fits`: `len` bytes from it lie in the page.
                Ok(((*g).khva.cast(), (*f).pfn))
            } else {
                Err(Self::miss_errno((*f).active != 0, fits))
            }
        }
    }

    /// Why a check failed: `EINVAL` if the cache is inactive or the access
    /// does not fit, `EAGAIN` if only a refresh is missing.
    #[cold]
    fn miss_errno(active: bool, fits: bool) -> Error {
        if active && fits {
            EAGAIN
        } else {
            EINVAL
        }
    }

    fn guard(&self, len: usize, unlock: Unlock) -> Result<ReadGuard<'_>> {
        // SAFETY: The callers hold the read lock, taken as `unlock` says.
        let (khva, pfn) = match unsafe { self.check_locked(len) } {
            Ok(checked) => checked,
            Err(e) => {
                // SAFETY: As above; a miss.
                unsafe { unlock.release(self.gpc(), false) };
                return Err(e);
            }
        };
        // SAFETY: `writable` never changes.
        let writable = unsafe { (*self.fields()).writable } != 0;
        // INVARIANT: the cache was found valid with the lock held.
        Ok(ReadGuard {
            cache: self,
            khva,
            len,
            pfn,
            writable,
            unlock,
            _not_send: PhantomData,
        })
    }

    /// Takes the read lock and checks the cache for an access of `len`
    /// bytes: `EINVAL` if inactive or the access crosses the page,
    /// `EAGAIN` if invalid (refresh and try again).
    ///
    /// Task or softirq context, or interrupts disabled.
    pub(crate) fn read(&self, len: usize) -> Result<ReadGuard<'_>> {
        // SAFETY: The cache is allocated; the guard, or `guard()` on
        // error, unlocks.
        unsafe { bindings::guestgate_gpc_reader_lock(self.gpc()) };
        self.guard(len, Unlock::Plain)
    }

    /// As [`Self::read`], but fails with `EBUSY` instead of spinning while
    /// the lock is held or waited for by a writer (the notifier, or an
    /// activation, refresh or deactivation publishing). Any context but
    /// NMI.
    pub(crate) fn try_read(&self, len: usize) -> Result<ReadGuard<'_>> {
        // SAFETY: As in `read()`.
        if !unsafe { bindings::guestgate_gpc_reader_trylock(self.gpc()) } {
            return Err(EBUSY);
        }
        self.guard(len, Unlock::Plain)
    }

    /// As [`Self::read`], with interrupts disabled until the guard drops.
    /// Any context, hardirq included.
    pub(crate) fn read_irqsave(&self, len: usize) -> Result<ReadGuard<'_>> {
        // SAFETY: As in `read()`.
        let flags = unsafe { bindings::guestgate_gpc_reader_lock_irqsave(self.gpc()) };
        self.guard(len, Unlock::Irqrestore(flags))
    }

    /// The counters of this cache.
    pub(crate) fn stats(&self) -> bindings::guestgate_gpc_stats {
        let (mut hits, mut misses) = (0, 0);
        // SAFETY: The cache is allocated (type invariant); both pointers
        // are valid for writes.
        unsafe { bindings::guestgate_gpc_sum_checks(self.gpc(), &mut hits, &mut misses) };
        bindings::guestgate_gpc_stats {
            hits,
            misses,
            refreshes: self.stat(Stat::Refreshes).load(Relaxed),
            invalidations: self.stat(Stat::Invalidations).load(Relaxed),
            retries: self.stat(Stat::Retries).load(Relaxed),
        }
    }

    /// Hands the cache to C: a handle is the address of its `gpc`, which
    /// is its first member (asserted in `bindings.rs`).
    fn into_raw(self) -> *mut Gpc {
        ManuallyDrop::new(self).gpc()
    }

    /// The cache behind a C handle, not to be dropped.
    ///
    /// # Safety
    ///
    /// `gpc` comes from [`Self::into_raw`] and is not destroyed while the
    /// result lives.
    unsafe fn borrow_raw(gpc: *mut Gpc) -> ManuallyDrop<Self> {
        // SAFETY: Not NULL, and the address of the whole cache, by the
        // safety requirements.
        let pc = unsafe { NonNull::new_unchecked(gpc.cast::<Cache>()) };
        ManuallyDrop::new(Self { pc })
    }
}

impl Drop for PfnCache {
    fn drop(&mut self) {
        self.deactivate();
        self.remove_notifier();
        let stats = self.stats();
        HITS.fetch_add(stats.hits, Relaxed);
        MISSES.fetch_add(stats.misses, Relaxed);
        // SAFETY: Owned (type invariant); the notifier was removed by
        // `remove_notifier()`, and no other reference to the cache exists.
        unsafe { bindings::guestgate_gpc_free(self.pc.as_ptr()) };
        CACHES.fetch_sub(1, Relaxed);
    }
}

impl ReadGuard<'_> {
    /// The length the cache was checked for.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The cached page frame number.
    pub(crate) fn pfn(&self) -> u64 {
        self.pfn
    }

    /// The address of `size` bytes at `off`, aligned to `align`; `EINVAL`
    /// if they leave the checked length or are misaligned.
    fn at(&self, off: usize, size: usize, align: usize) -> Result<*mut u8> {
        match off.checked_add(size) {
            Some(end) if end <= self.len => {}
            _ => return Err(EINVAL),
        }
        // Within the checked length, so within the page (type invariant).
        let p = self.khva.wrapping_add(off);
        if p as usize % align != 0 {
            return Err(EINVAL);
        }
        Ok(p)
    }

    fn at_mut(&self, off: usize, size: usize, align: usize) -> Result<*mut u8> {
        if !self.writable {
            return Err(EPERM);
        }
        self.at(off, size, align)
    }

    /// Reads the `u32` at `off` (aligned).
    pub(crate) fn read_u32(&self, off: usize) -> Result<u32> {
        let p = self.at(off, 4, 4)?;
        // SAFETY: Aligned, within the cached page, which stays mapped while
        // the guard lives (type invariant). Volatile: user space shares it.
        Ok(unsafe { p.cast::<u32>().read_volatile() })
    }

    /// Writes the `u32` at `off` (aligned); `EPERM` on a read-only cache.
    pub(crate) fn write_u32(&self, off: usize, val: u32) -> Result {
        let p = self.at_mut(off, 4, 4)?;
        // SAFETY: As in `read_u32`; the page was looked up for writing.
        unsafe { p.cast::<u32>().write_volatile(val) };
        Ok(())
    }

    /// Reads the `u64` at `off` (aligned).
    pub(crate) fn read_u64(&self, off: usize) -> Result<u64> {
        let p = self.at(off, 8, 8)?;
        // SAFETY: As in `read_u32`.
        Ok(unsafe { p.cast::<u64>().read_volatile() })
    }

    /// Writes the `u64` at `off` (aligned); `EPERM` on a read-only cache.
    pub(crate) fn write_u64(&self, off: usize, val: u64) -> Result {
        let p = self.at_mut(off, 8, 8)?;
        // SAFETY: As in `write_u32`.
        unsafe { p.cast::<u64>().write_volatile(val) };
        Ok(())
    }

    /// Copies `buf.len()` bytes from `off` into `buf`.
    pub(crate) fn read_bytes(&self, off: usize, buf: &mut [u8]) -> Result {
        let p = self.at(off, buf.len(), 1)?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: As in `read_u32`, byte `i` of the checked range.
            *b = unsafe { p.add(i).read_volatile() };
        }
        Ok(())
    }

    /// Copies `buf` to `off`; `EPERM` on a read-only cache.
    pub(crate) fn write_bytes(&self, off: usize, buf: &[u8]) -> Result {
        let p = self.at_mut(off, buf.len(), 1)?;
        for (i, b) in buf.iter().enumerate() {
            // SAFETY: As in `write_u32`, byte `i` of the checked range.
            unsafe { p.add(i).write_volatile(*b) };
        }
        Ok(())
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Read-locked as `unlock` says (type invariant); the check
        // that made the guard passed.
        unsafe { self.unlock.release(self.cache.gpc(), true) };
    }
}

/// Makes a cache invalid.
///
/// # Safety
///
/// `pc` is a live cache whose write lock the caller holds.
unsafe fn invalidate(pc: *mut Cache) {
    // SAFETY: The write lock is held: the state may be written.
    unsafe {
        (*pc).gpc.valid = false;
        (*pc).gpc.khva = ptr::null_mut();
        (*pc).f.pfn = 0;
    }
}

/// The notifier's work: see `rust/shim.h`.
///
/// # Safety
///
/// `pc` is a live cache whose write lock the caller holds.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_gpc_invalidate(pc: *mut Cache) {
    // SAFETY: By the safety requirements; the counter is accessed
    // atomically.
    unsafe {
        invalidate(pc);
        AtomicU64::from_ptr(ptr::addr_of_mut!((*pc).f.counters.invalidations))
            .fetch_add(1, Relaxed);
    }
    INVALIDATIONS.fetch_add(1, Relaxed);
}

/// The counters of all caches, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_gpc_global_stats(
    stats: *mut bindings::guestgate_gpc_global_stats,
) {
    let snapshot = bindings::guestgate_gpc_global_stats {
        caches: CACHES.load(Relaxed),
        activations: ACTIVATIONS.load(Relaxed),
        refreshes: REFRESHES.load(Relaxed),
        refresh_errors: REFRESH_ERRORS.load(Relaxed),
        invalidations: INVALIDATIONS.load(Relaxed),
        retries: RETRIES.load(Relaxed),
        retries_max: RETRIES_MAX.load(Relaxed),
        memslot_changes: MEMSLOT_CHANGES.load(Relaxed),
        hits: HITS.load(Relaxed),
        misses: MISSES.load(Relaxed),
    };
    // SAFETY: By the safety requirements.
    unsafe { stats.write(snapshot) };
}

fn errno(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The C API: see `include/linux/guestgate/pfncache.h` for each function. A C
/// handle is a [`PfnCache`] given up with `into_raw()`, or an
/// `Arc<Memslots>` given up with [`Arc::into_raw`]; the callers' contract
/// is that they pass handles they got from guestgate and not destroyed yet.
mod c_api {
    use super::*;

    type Slots = bindings::guestgate_memslots;

    /// # Safety
    ///
    /// `slotsp` is valid for writes.
    #[no_mangle]
    unsafe extern "C" fn guestgate_memslots_create(slotsp: *mut *mut Slots) -> c_int {
        match Memslots::new() {
            Ok(s) => {
                // SAFETY: By the safety requirements.
                unsafe { slotsp.write(Arc::into_raw(s).cast_mut().cast()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `slots` is a live handle.
    unsafe fn slots<'a>(slots: *mut Slots) -> ArcBorrow<'a, Memslots> {
        // SAFETY: From `Arc::into_raw()`, and its creator's reference stays
        // until `guestgate_memslots_destroy()` (safety requirements).
        unsafe { ArcBorrow::from_raw(slots.cast_const().cast()) }
    }

    /// # Safety
    ///
    /// `s` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_memslots_set(
        s: *mut Slots,
        id: u32,
        base_gfn: u64,
        npages: u64,
        uhva: c_ulong,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        errno(unsafe { slots(s) }.set(id, base_gfn, npages, uhva as u64))
    }

    /// # Safety
    ///
    /// `s` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_memslots_generation(s: *mut Slots) -> u64 {
        // SAFETY: By the safety requirements.
        unsafe { slots(s) }.generation()
    }

    /// # Safety
    ///
    /// `s` is NULL or a live handle, which this call ends.
    #[no_mangle]
    unsafe extern "C" fn guestgate_memslots_destroy(s: *mut Slots) {
        if !s.is_null() {
            // SAFETY: The creator's reference, given up here.
            drop(unsafe { Arc::from_raw(s.cast_const().cast::<Memslots>()) });
        }
    }

    /// # Safety
    ///
    /// `gpcp` is valid for writes.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_init(gpcp: *mut *mut Gpc, flags: c_uint) -> c_int {
        if flags & !bindings::GUESTGATE_GPC_WRITABLE != 0 {
            return EINVAL.to_errno();
        }
        match PfnCache::new(flags & bindings::GUESTGATE_GPC_WRITABLE != 0) {
            Ok(c) => {
                // SAFETY: By the safety requirements.
                unsafe { gpcp.write(c.into_raw()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `gpc` and `s` are live handles.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_activate(
        gpc: *mut Gpc,
        s: *mut Slots,
        gpa: u64,
        len: c_ulong,
    ) -> c_int {
        if s.is_null() {
            return EINVAL.to_errno();
        }
        // SAFETY: By the safety requirements.
        let (cache, table) = unsafe { (PfnCache::borrow_raw(gpc), slots(s)) };
        errno(cache.activate_gpa(table, gpa, len))
    }

    /// # Safety
    ///
    /// `gpc` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_activate_hva(
        gpc: *mut Gpc,
        uhva: c_ulong,
        len: c_ulong,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        errno(unsafe { PfnCache::borrow_raw(gpc) }.activate_hva(uhva as u64, len))
    }

    /// # Safety
    ///
    /// `gpc` is a live handle, read-locked by the caller.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_pfn(gpc: *mut Gpc) -> c_ulong {
        // SAFETY: By the safety requirements, the lock is held.
        let f = unsafe { PfnCache::borrow_raw(gpc) }.fields();
        // SAFETY: As above.
        unsafe { (*f).pfn as c_ulong }
    }

    /// # Safety
    ///
    /// `gpc` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_refresh(gpc: *mut Gpc, len: c_ulong) -> c_int {
        // SAFETY: By the safety requirements.
        errno(unsafe { PfnCache::borrow_raw(gpc) }.refresh(len))
    }

    /// # Safety
    ///
    /// `gpc` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_deactivate(gpc: *mut Gpc) {
        // SAFETY: By the safety requirements.
        unsafe { PfnCache::borrow_raw(gpc) }.deactivate();
    }

    /// # Safety
    ///
    /// `gpc` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_invalidate(gpc: *mut Gpc) {
        // SAFETY: By the safety requirements.
        unsafe { PfnCache::borrow_raw(gpc) }.invalidate();
    }

    /// # Safety
    ///
    /// `gpc` is NULL or a live handle, which this call ends.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_destroy(gpc: *mut Gpc) {
        if !gpc.is_null() {
            // SAFETY: Given up by the caller, so owned here.
            drop(ManuallyDrop::into_inner(unsafe {
                PfnCache::borrow_raw(gpc)
            }));
        }
    }

    /// # Safety
    ///
    /// `gpc` is a live handle; `stats` is valid for writes.
    #[no_mangle]
    unsafe extern "C" fn guestgate_gpc_stats(
        gpc: *mut Gpc,
        stats: *mut bindings::guestgate_gpc_stats,
    ) {
        // SAFETY: By the safety requirements.
        unsafe { stats.write(PfnCache::borrow_raw(gpc).stats()) };
    }

    bindings::c_prototype!(guestgate_memslots_create: unsafe extern "C" fn(*mut *mut Slots) -> c_int);
    bindings::c_prototype!(
        guestgate_memslots_set: unsafe extern "C" fn(*mut Slots, u32, u64, u64, c_ulong) -> c_int
    );
    bindings::c_prototype!(guestgate_memslots_generation: unsafe extern "C" fn(*mut Slots) -> u64);
    bindings::c_prototype!(guestgate_memslots_destroy: unsafe extern "C" fn(*mut Slots));
    bindings::c_prototype!(guestgate_gpc_init: unsafe extern "C" fn(*mut *mut Gpc, c_uint) -> c_int);
    bindings::c_prototype!(
        guestgate_gpc_activate: unsafe extern "C" fn(*mut Gpc, *mut Slots, u64, c_ulong) -> c_int
    );
    bindings::c_prototype!(
        guestgate_gpc_activate_hva: unsafe extern "C" fn(*mut Gpc, c_ulong, c_ulong) -> c_int
    );
    bindings::c_prototype!(guestgate_gpc_pfn: unsafe extern "C" fn(*mut Gpc) -> c_ulong);
    bindings::c_prototype!(guestgate_gpc_refresh: unsafe extern "C" fn(*mut Gpc, c_ulong) -> c_int);
    bindings::c_prototype!(guestgate_gpc_invalidate: unsafe extern "C" fn(*mut Gpc));
    bindings::c_prototype!(guestgate_gpc_deactivate: unsafe extern "C" fn(*mut Gpc));
    bindings::c_prototype!(guestgate_gpc_destroy: unsafe extern "C" fn(*mut Gpc));
    bindings::c_prototype!(
        guestgate_gpc_stats: unsafe extern "C" fn(*mut Gpc, *mut bindings::guestgate_gpc_stats)
    );
}

/// The refresh of every cache from now on (`enum
/// guestgate_gpc_refresh_mode`): widened, it sleeps between the lookup and
/// the publication, so that invalidations land there and the sequence check
/// must catch them; broken, it also skips the check, and the race stress
/// shows that the stale writes this allows are seen. Test only
/// (`guestgate_stress.ko`), exported with `CONFIG_KUNIT`.
#[no_mangle]
extern "C" fn guestgate_rs_gpc_break_refresh(mode: c_uint) {
    BREAK_REFRESH.store(mode, Relaxed);
}

bindings::c_prototype!(guestgate_rs_gpc_invalidate: unsafe extern "C" fn(*mut Cache));
bindings::c_prototype!(guestgate_rs_gpc_break_refresh: unsafe extern "C" fn(c_uint));
bindings::c_prototype!(
    guestgate_rs_gpc_global_stats: unsafe extern "C" fn(*mut bindings::guestgate_gpc_global_stats)
);

/// The debugfs file `guestgate/pfn_cache`, while registered.
///
/// # Invariants
///
/// `guestgate_gpc_debugfs_register()` was called and is undone on drop.
pub(crate) struct Registration(());

impl Registration {
    /// Creates the debugfs file; the debugfs directory exists.
    pub(crate) fn new() -> Self {
        // SAFETY: FFI call; the directory (`device::Debugfs`) is registered
        // before this and released after it.
        unsafe { bindings::guestgate_gpc_debugfs_register() };
        // INVARIANT: registered just above.
        Self(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant), undone once here.
        unsafe { bindings::guestgate_gpc_debugfs_unregister() };
    }
}

/// Rust KUnit cases of the `guestgate_pfn_cache` suite.
/// The fast path from a Rust caller, for `guestgate_stress.ko`'s benchmark.
#[cfg(CONFIG_KUNIT)]
mod bench {
    use super::*;
    use crate::kunit::tsc;

    /// `guestgate_rs_gpc_bench()`: see `rust/shim.h`.
    ///
    /// # Safety
    ///
    /// `gpc` is a live cache; `cycles` is valid for writes.
    #[no_mangle]
    unsafe extern "C" fn guestgate_rs_gpc_bench(
        gpc: *mut bindings::guestgate_gpc,
        ops: u64,
        cycles: *mut u64,
    ) -> c_int {
        // SAFETY: A live cache, by the safety requirements.
        let cache = unsafe { PfnCache::borrow_raw(gpc) };
        let t0 = tsc();
        for i in 0..ops {
            let r = match cache.read(4) {
                Ok(guard) => guard.write_u32(0, i as u32),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                return e.to_errno();
            }
        }
        let t1 = tsc();
        // SAFETY: Valid for writes, by the safety requirements.
        unsafe { cycles.write(t1 - t0) };
        0
    }

    bindings::c_prototype!(
        guestgate_rs_gpc_bench: unsafe extern "C" fn(*mut bindings::guestgate_gpc, u64, *mut u64)
            -> c_int
    );
}

#[cfg(CONFIG_KUNIT)]
mod kunit_cases {
    use super::*;
    use crate::kunit::{kunit_expect, Kunit, Test};

    /// Memslot rules and generations, without an mm.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_pfn_cache_memslots(test: *mut Kunit) {
        // SAFETY: By the safety requirements.
        let t = unsafe { Test::new(test) };
        let Ok(slots) = Memslots::new() else {
            kunit_expect!(t, false);
            return;
        };
        let page = PAGE_SIZE as u64;
        kunit_expect!(t, slots.generation() == 0);
        kunit_expect!(t, slots.set(0, 0x100, 4, 0x7000_0000).is_ok());
        kunit_expect!(t, slots.generation() == 1);
        kunit_expect!(t, slots.set(MAX_SLOTS as u32, 0, 1, 0) == Err(EINVAL));
        kunit_expect!(t, slots.set(1, 0x200, 1, 0x7000_0001) == Err(EINVAL));
        kunit_expect!(t, slots.set(1, u64::MAX, 2, 0) == Err(EINVAL));
        kunit_expect!(t, slots.set(1, 0x103, 2, 0x8000_0000) == Err(EEXIST));
        kunit_expect!(t, slots.set(1, 0xff, 2, 0x8000_0000) == Err(EEXIST));
        kunit_expect!(t, slots.generation() == 1);
        // Adjacent ranges do not overlap.
        kunit_expect!(t, slots.set(1, 0x104, 1, 0x8000_0000).is_ok());
        kunit_expect!(t, slots.generation() == 2);

        let gpa = (0x102 << PAGE_SHIFT) + 0x18;
        kunit_expect!(
            t,
            slots.resolve(gpa) == Ok((0x7000_0000 + 2 * page + 0x18, 2))
        );
        kunit_expect!(
            t,
            slots.resolve(0x104 << PAGE_SHIFT) == Ok((0x8000_0000, 2))
        );
        kunit_expect!(t, slots.resolve(0x105 << PAGE_SHIFT) == Err(EFAULT));
        kunit_expect!(t, slots.resolve(0xff << PAGE_SHIFT) == Err(EFAULT));
        // Moving a slot re-resolves; deleting one leaves a hole.
        kunit_expect!(t, slots.set(0, 0x100, 4, 0x9000_0000).is_ok());
        kunit_expect!(
            t,
            slots.resolve(gpa) == Ok((0x9000_0000 + 2 * page + 0x18, 3))
        );
        kunit_expect!(t, slots.set(0, 0, 0, 0).is_ok());
        kunit_expect!(t, slots.resolve(gpa) == Err(EFAULT));
        kunit_expect!(t, slots.generation() == 4);
        // A freed range can be taken by another slot.
        kunit_expect!(t, slots.set(2, 0x100, 4, 0xa000_0000).is_ok());
        kunit_expect!(t, slots.generation() == 5);

        // A whole table at once: one change; a bad one changes nothing.
        let a = (0x10, 2, 0xb000_0000);
        kunit_expect!(
            t,
            slots
                .replace(&[a, (0, 0, 0), (0x20, 1, 0xc000_0000)])
                .is_ok()
        );
        kunit_expect!(t, slots.generation() == 6);
        kunit_expect!(t, slots.resolve(gpa) == Err(EFAULT));
        kunit_expect!(t, slots.resolve(0x20 << PAGE_SHIFT) == Ok((0xc000_0000, 6)));
        kunit_expect!(
            t,
            slots.replace(&[a, (0x11, 1, 0xd000_0000)]) == Err(EEXIST)
        );
        kunit_expect!(
            t,
            slots.replace(&[a, (0x40, 1, 0xd000_0001)]) == Err(EINVAL)
        );
        let too_many = [(0, 0, 0); MAX_SLOTS + 1];
        kunit_expect!(t, slots.replace(&too_many) == Err(EINVAL));
        kunit_expect!(t, slots.generation() == 6);
        kunit_expect!(t, slots.resolve(0x20 << PAGE_SHIFT) == Ok((0xc000_0000, 6)));
        kunit_expect!(t, slots.replace(&[]).is_ok());
        kunit_expect!(t, slots.resolve(0x10 << PAGE_SHIFT) == Err(EFAULT));
    }

    /// The guard: exists only for a valid cache, bounds its accessors,
    /// refuses writes on a read-only cache, releases the lock.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case; `uhva` is a mapped, writable,
    /// zero-filled page of the current mm.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_pfn_cache_guard(test: *mut Kunit, uhva: c_ulong) {
        // SAFETY: By the safety requirements.
        let t = unsafe { Test::new(test) };
        let uhva = uhva as u64;
        let Ok(cache) = PfnCache::new(true) else {
            kunit_expect!(t, false);
            return;
        };
        // Inactive: no guard.
        kunit_expect!(t, cache.read(4).err() == Some(EINVAL));
        kunit_expect!(t, cache.refresh(4) == Err(EINVAL));
        kunit_expect!(
            t,
            cache.activate_hva(uhva + PAGE_SIZE as u64 - 4, 8) == Err(EINVAL)
        );
        kunit_expect!(t, cache.activate_hva(uhva + 16, 64).is_ok());
        {
            let Ok(g) = cache.read(64) else {
                kunit_expect!(t, false);
                return;
            };
            kunit_expect!(t, g.len() == 64);
            kunit_expect!(t, g.pfn() != 0);
            kunit_expect!(t, g.write_u32(0, 0xdead_beef).is_ok());
            kunit_expect!(t, g.read_u32(0) == Ok(0xdead_beef));
            kunit_expect!(t, g.write_u64(8, 0x0123_4567_89ab_cdef).is_ok());
            kunit_expect!(t, g.read_u64(8) == Ok(0x0123_4567_89ab_cdef));
            kunit_expect!(t, g.write_bytes(60, &[1, 2, 3, 4]).is_ok());
            let mut buf = [0u8; 4];
            kunit_expect!(t, g.read_bytes(60, &mut buf).is_ok());
            kunit_expect!(t, buf == [1, 2, 3, 4]);
            // Bounded by the checked length, aligned.
            kunit_expect!(t, g.read_u32(61) == Err(EINVAL));
            kunit_expect!(t, g.read_u32(62) == Err(EINVAL));
            kunit_expect!(t, g.read_u64(60) == Err(EINVAL));
            kunit_expect!(t, g.write_bytes(61, &[0; 4]) == Err(EINVAL));
            kunit_expect!(t, g.read_bytes(usize::MAX, &mut buf) == Err(EINVAL));
            kunit_expect!(t, g.read_u32(2) == Err(EINVAL));
        }
        // Dropped: the lock is free again (the write side can take it).
        drop(cache.lock_write());
        kunit_expect!(t, cache.try_read(4).is_ok());
        // A length the activation's offset cannot hold; lengths that would
        // wrap the offset's sum (the check must not overflow).
        kunit_expect!(t, cache.read(PAGE_SIZE - 8).err() == Some(EINVAL));
        kunit_expect!(t, cache.read(usize::MAX).err() == Some(EINVAL));
        kunit_expect!(t, cache.read(usize::MAX - 15).err() == Some(EINVAL));
        kunit_expect!(t, cache.refresh(usize::MAX) == Err(EINVAL));
        kunit_expect!(t, cache.activate_hva(uhva + 16, usize::MAX) == Err(EINVAL));
        kunit_expect!(t, cache.activate_hva(uhva + 16, 64).is_ok());
        match cache.read_irqsave(4) {
            Ok(g) => kunit_expect!(t, g.read_u32(0) == Ok(0xdead_beef)),
            Err(_) => kunit_expect!(t, false),
        }
        let s = cache.stats();
        // Activated twice; misses: inactive, and the three lengths too long.
        kunit_expect!(t, s.refreshes == 2);
        kunit_expect!(t, s.hits == 3);
        kunit_expect!(t, s.misses == 4);

        // Invalidated: no guard until refreshed.
        {
            let w = cache.lock_write();
            // SAFETY: The notifier's work, with the write lock held.
            unsafe { guestgate_rs_gpc_invalidate(w.cache.pc.as_ptr()) };
        }
        kunit_expect!(t, cache.read(4).err() == Some(EAGAIN));
        kunit_expect!(t, cache.refresh(4).is_ok());
        kunit_expect!(
            t,
            cache.read(4).map(|g| g.read_u32(0)) == Ok(Ok(0xdead_beef))
        );
        cache.deactivate();
        kunit_expect!(t, cache.read(4).err() == Some(EINVAL));

        // Read-only: reads, no writes.
        let Ok(ro) = PfnCache::new(false) else {
            kunit_expect!(t, false);
            return;
        };
        kunit_expect!(t, ro.activate_hva(uhva + 16, 4).is_ok());
        match ro.read(4) {
            Ok(g) => {
                kunit_expect!(t, g.read_u32(0) == Ok(0xdead_beef));
                kunit_expect!(t, g.write_u32(0, 1) == Err(EPERM));
            }
            Err(_) => kunit_expect!(t, false),
        };
    }

    bindings::c_prototype!(guestgate_kunit_pfn_cache_memslots: unsafe extern "C" fn(*mut Kunit));
    bindings::c_prototype!(guestgate_kunit_pfn_cache_guard: unsafe extern "C" fn(*mut Kunit, c_ulong));
}
