// SPDX-License-Identifier: GPL-2.0

//! [`RawCache`]: the locks, the notifier and the page mapping of a cache,
//! the one place where the pfn cache touches its C half.
//!
//! The C half (`struct guestgate_pfn_cache` of `pfn_cache_shim.h`) holds
//! what C must: what C readers see (`struct guestgate_gpc`, its rwlock
//! among it), the pfn and the counters, the mmu interval notifier and the
//! mm. The request (what the cache is asked to cache) is Rust's, in a
//! [`Mutex`] that is also the refresh mutex. Every state change goes
//! through a guard that proves its lock: [`RequestGuard`] (the refresh
//! mutex), [`WriteGuard`] (the rwlock for writing) and [`ReadLock`] (for
//! reading). A page can be published only by [`WriteGuard::publish`],
//! which checks the notifier's sequence itself.

use super::*;
use kernel::{
    error::to_result,
    init::pin_init_from_closure,
    sync::lock::{mutex::MutexBackend, Guard},
    types::Opaque,
};

/// What a cache is asked to cache.
pub(super) struct Request {
    /// The user address, or the guest physical address with `slots`.
    addr: u64,
    /// The table that resolves `addr`, for a cache activated by gpa.
    slots: Option<Arc<Memslots>>,
    /// The page the notifier covers, if it is inserted.
    notified: Option<u64>,
}

/// The C half of a cache and its request.
///
/// # Invariants
///
/// - `inner` was initialised by `guestgate_gpc_raw_init()` and is released
///   by the drop, after the notifier was removed;
/// - its members are written only with its rwlock held for writing; those
///   that say what the cache is asked for (`gpc.uhva` until published,
///   `gpc.slots_generation`, `f.active`) also only with `request` locked;
///   the counters are accessed only atomically;
/// - `gpc.slots_generation` points to the `generation` of `request.slots`,
///   or, without a table, to `gpc.generation`;
/// - the notifier is inserted exactly while `request.notified` is set,
///   on that page;
/// - if `gpc.valid`: the cache is active, the notifier covers the page of
///   `gpc.uhva`, and `f.pfn` and `gpc.khva` are the page mapped at
///   `gpc.uhva` when the notifier's sequence was last found unchanged,
///   with no invalidation of that page since (it clears `valid` under the
///   write lock); `khva` includes `uhva`'s offset in the page. Otherwise
///   `khva` is NULL and `pfn` 0.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub(super) struct RawCache {
    /// First: a C handle, the address of `inner.gpc`, is the cache's.
    #[pin]
    inner: Opaque<Cache>,
    #[pin]
    request: Mutex<Request>,
}

// A C handle is the address of the C half's `gpc`: both come first.
const _: () = assert!(core::mem::offset_of!(RawCache, inner) == 0);

// SAFETY: The C half is not tied to a task (the mm was grabbed) and is
// accessed only under its locks or atomically.
unsafe impl Send for RawCache {}
// SAFETY: As for `Send`: every method that takes `&self` locks or uses
// atomics.
unsafe impl Sync for RawCache {}

impl RawCache {
    /// An inactive cache bound to the current mm; `EINVAL` without one.
    pub(super) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            request <- new_mutex!(
                Request {
                    addr: 0,
                    slots: None,
                    notified: None,
                },
                "guestgate_gpc_request"
            ),
            // SAFETY: `guestgate_gpc_raw_init()` initialises the whole
            // struct on success and leaves nothing to release on failure.
            inner <- unsafe {
                pin_init_from_closure(|slot: *mut Opaque<Cache>| {
                    to_result(bindings::guestgate_gpc_raw_init(Opaque::raw_get(slot)))
                })
            },
        }? Error)
    }

    pub(super) fn ptr(&self) -> *mut Cache {
        self.inner.get()
    }

    /// What C readers see, the C API's handle.
    pub(super) fn gpc(&self) -> *mut Gpc {
        // `gpc` is the first member (asserted in `bindings.rs`).
        self.ptr().cast()
    }

    /// Whether the calling task runs in the cache's mm.
    pub(super) fn in_mm(&self) -> bool {
        // SAFETY: Initialised (type invariant).
        unsafe { bindings::guestgate_gpc_in_mm(self.ptr()) }
    }

    /// Locks the request: the refresh mutex.
    pub(super) fn lock_request(&self) -> RequestGuard<'_> {
        RequestGuard {
            raw: self,
            req: self.request.lock(),
        }
    }

    /// Takes the lock for writing, interrupts disabled.
    pub(super) fn lock_write(&self) -> WriteGuard<'_> {
        // SAFETY: Initialised; unlocked by the guard's drop.
        let flags = unsafe { bindings::guestgate_gpc_write_lock(self.ptr()) };
        WriteGuard {
            raw: self,
            flags,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock for reading, spinning while a writer holds it. Task
    /// or softirq context, or interrupts disabled.
    pub(super) fn lock_read(&self) -> ReadLock<'_> {
        // SAFETY: Initialised; unlocked by the guard's drop.
        unsafe { bindings::guestgate_gpc_rust_read_lock(self.gpc()) };
        ReadLock {
            raw: self,
            hit: false,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock for reading if no writer holds or waits for it.
    pub(super) fn try_lock_read(&self) -> Option<ReadLock<'_>> {
        // SAFETY: As in `lock_read()`.
        unsafe { bindings::guestgate_gpc_rust_read_trylock(self.gpc()) }.then_some(ReadLock {
            raw: self,
            hit: false,
            _not_send: PhantomData,
        })
    }

    /// A counter of the cache.
    pub(super) fn stat(&self, which: Stat) -> &AtomicU64 {
        let f = self.ptr();
        // SAFETY: The counters are aligned `u64`s accessed only atomically
        // (type invariant), valid while `self` is; `addr_of_mut!` takes the
        // place without a reference.
        unsafe {
            AtomicU64::from_ptr(match which {
                Stat::Refreshes => ptr::addr_of_mut!((*f).f.counters.refreshes),
                Stat::Invalidations => ptr::addr_of_mut!((*f).f.counters.invalidations),
                Stat::Retries => ptr::addr_of_mut!((*f).f.counters.retries),
            })
        }
    }

    pub(super) fn count(&self, which: Stat) {
        self.stat(which).fetch_add(1, Relaxed);
    }

    /// The checks counted so far: hits and misses, summed over the CPUs.
    pub(super) fn checks(&self) -> (u64, u64) {
        let (mut hits, mut misses) = (0, 0);
        // SAFETY: Initialised; both pointers are valid for writes.
        unsafe { bindings::guestgate_gpc_sum_checks(self.gpc(), &mut hits, &mut misses) };
        (hits, misses)
    }
}

#[pinned_drop]
impl PinnedDrop for RawCache {
    fn drop(self: Pin<&mut Self>) {
        self.lock_request().remove_notifier();
        // SAFETY: Initialised, the notifier removed (above), and nothing
        // else refers to the cache any more.
        unsafe { bindings::guestgate_gpc_raw_release(self.ptr()) };
    }
}

/// The request of a cache, locked: its refresh mutex held.
pub(super) struct RequestGuard<'a> {
    raw: &'a RawCache,
    req: Guard<'a, Request, MutexBackend>,
}

/// The notifier's sequence, as of [`RequestGuard::read_begin`]; the
/// notifier stays inserted while it lives.
pub(super) struct Seq<'a>(c_ulong, PhantomData<&'a ()>);

impl RequestGuard<'_> {
    /// Activated and not deactivated: the C half's `active`, which the
    /// failed checks of readers report.
    pub(super) fn active(&self) -> bool {
        // SAFETY: Initialised; `f.active` is written only with the request
        // locked (type invariant of `RawCache`), as it is by `self`.
        unsafe { (*self.raw.ptr()).f.active != 0 }
    }

    pub(super) fn addr(&self) -> u64 {
        self.req.addr
    }

    pub(super) fn slots(&self) -> Option<ArcBorrow<'_, Memslots>> {
        self.req.slots.as_ref().map(|s| s.as_arc_borrow())
    }

    pub(super) fn notified(&self) -> Option<u64> {
        self.req.notified
    }

    /// Asks the cache for `addr` (a user address, or a gpa of `slots`),
    /// or for nothing if not `active`. The cache is invalid until a
    /// refresh publishes a page. Returns the table the cache held: drop
    /// it with no lock held.
    pub(super) fn set(
        &mut self,
        active: bool,
        addr: u64,
        slots: Option<Arc<Memslots>>,
    ) -> Option<Arc<Memslots>> {
        let mut w = self.raw.lock_write();
        w.invalidate();
        let g = self.raw.gpc();
        let generation = match &slots {
            Some(s) => s.generation.as_ptr().cast_const(),
            None => g
                .cast::<u8>()
                .wrapping_add(core::mem::offset_of!(Gpc, generation))
                .cast::<u64>()
                .cast_const(),
        };
        // Until a refresh resolves a gpa: its offset in the page, which the
        // checks of a length use.
        let uhva = if slots.is_some() {
            addr & !(PAGE_MASK as u64)
        } else {
            addr
        };
        // SAFETY: Both locks are held. INVARIANT: `slots_generation` is
        // that of the table stored below, or the cache's own.
        unsafe {
            (*g).slots_generation = generation;
            (*g).uhva = uhva;
            (*g).generation = 0;
            (*self.raw.ptr()).f.active = u8::from(active);
        }
        drop(w);
        self.req.addr = addr;
        core::mem::replace(&mut self.req.slots, slots)
    }

    /// Moves the notifier to the page at `start`, the cache invalid
    /// meanwhile. The caller runs in the cache's mm.
    pub(super) fn move_notifier(&mut self, start: u64) -> Result {
        self.raw.lock_write().invalidate();
        self.remove_notifier();
        // SAFETY: Initialised, the request locked, the notifier not
        // inserted (removed above).
        to_result(unsafe {
            bindings::guestgate_gpc_notifier_insert(self.raw.ptr(), start as c_ulong)
        })?;
        // INVARIANT: inserted on `start`.
        self.req.notified = Some(start);
        Ok(())
    }

    /// Removes the notifier, if it is inserted.
    pub(super) fn remove_notifier(&mut self) {
        if self.req.notified.take().is_some() {
            // SAFETY: Inserted (type invariant), the request locked; the
            // write lock is not held (this guard cannot make one outlive
            // it). INVARIANT: `notified` was cleared above.
            unsafe { bindings::guestgate_gpc_notifier_remove(self.raw.ptr()) };
        }
    }

    /// The notifier's sequence, before a page lookup; sleeps while an
    /// invalidation of its page runs. `None` if no notifier is inserted.
    pub(super) fn read_begin(&self) -> Option<Seq<'_>> {
        self.req.notified?;
        // SAFETY: Inserted (checked above), and stays while the `Seq`
        // borrows this guard.
        let seq = unsafe { bindings::guestgate_gpc_read_begin(self.raw.ptr()) };
        Some(Seq(seq, PhantomData))
    }

    pub(super) fn lock_write(&self) -> WriteGuard<'_> {
        self.raw.lock_write()
    }
}

/// A page reference and its kernel address, put on drop.
pub(super) struct PageRef {
    page: *mut kernel::bindings::page,
    pfn: u64,
    khva: *mut u8,
}

impl PageRef {
    /// Faults in and references the page at `uhva` of the current mm.
    pub(super) fn get(uhva: u64, writable: bool) -> Result<Self> {
        let mut page = ptr::null_mut();
        let mut pfn = 0;
        let mut khva = ptr::null_mut();
        // SAFETY: The pointers are valid for writes.
        to_result(unsafe {
            bindings::guestgate_gpc_get_page(
                uhva as c_ulong,
                writable,
                &mut page,
                &mut pfn,
                &mut khva,
            )
        })?;
        Ok(Self {
            page,
            pfn,
            khva: khva.cast(),
        })
    }
}

impl Drop for PageRef {
    fn drop(&mut self) {
        // SAFETY: A reference this value owns.
        unsafe { bindings::guestgate_gpc_put_page(self.page) };
    }
}

/// The lock of a cache, held for writing with interrupts disabled. Not
/// `Send`: the interrupt flags are this CPU's.
pub(super) struct WriteGuard<'a> {
    raw: &'a RawCache,
    flags: c_ulong,
    _not_send: PhantomData<*mut ()>,
}

impl WriteGuard<'_> {
    /// Makes the cache invalid: the notifier's work.
    pub(super) fn invalidate(&mut self) {
        // SAFETY: The write lock is held.
        unsafe { invalidate(self.raw.ptr()) };
    }

    /// Whether the cache is valid for `uhva` resolved by table
    /// `generation`.
    pub(super) fn is_valid_for(&self, uhva: u64, generation: u64) -> bool {
        let g = self.raw.gpc();
        // SAFETY: The write lock is held: nothing writes the state.
        unsafe { (*g).valid && (*g).uhva == uhva && (*g).generation == generation }
    }

    /// Publishes `page` as the page of `uhva` (resolved by table
    /// `generation`), unless an invalidation of the notifier's page ran
    /// since `seq`: then nothing is kept and it returns `false`.
    pub(super) fn publish(
        &mut self,
        seq: &Seq<'_>,
        uhva: u64,
        generation: u64,
        page: &PageRef,
    ) -> bool {
        // SAFETY: The write lock is held; the notifier is inserted while
        // `seq` lives.
        if unsafe { bindings::guestgate_gpc_read_retry(self.raw.ptr(), seq.0) } {
            return false;
        }
        self.publish_unchecked(uhva, generation, page);
        true
    }

    /// [`Self::publish`] without the sequence check: what the broken
    /// refresh of the fault injection does, and only it.
    pub(super) fn publish_unchecked(&mut self, uhva: u64, generation: u64, page: &PageRef) {
        let (g, p) = (self.raw.gpc(), self.raw.ptr());
        let off = (uhva & !(PAGE_MASK as u64)) as usize;
        // SAFETY: The write lock is held. INVARIANT: the callers hold the
        // request, whose notifier covers the page of `uhva`, and
        // `publish()` found no invalidation of it since the lookup; `khva`
        // plus the offset is within the page.
        unsafe {
            (*g).uhva = uhva;
            (*g).generation = generation;
            (*p).f.pfn = page.pfn;
            (*g).khva = page.khva.wrapping_add(off).cast();
            (*g).valid = true;
        }
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `lock_write()` with these flags, on this CPU
        // (the guard is not `Send`).
        unsafe { bindings::guestgate_gpc_write_unlock(self.raw.ptr(), self.flags) };
    }
}

/// The lock of a cache, held for reading. Counts the check made under it
/// when dropped.
pub(super) struct ReadLock<'a> {
    raw: &'a RawCache,
    hit: bool,
    _not_send: PhantomData<*mut ()>,
}

impl ReadLock<'_> {
    /// The check of `guestgate_gpc_check()`: the kernel address of the
    /// cached access and the pfn, or `EINVAL` (inactive, or the access
    /// crosses the page) or `EAGAIN` (invalid, or its table changed).
    pub(super) fn check(&mut self, len: usize) -> Result<(*mut u8, u64)> {
        let (g, p) = (self.raw.gpc(), self.raw.ptr());
        // SAFETY: The lock is held: the state is stable. `slots_generation`
        // points to an aligned `u64` that changes only atomically (type
        // invariant), read atomically as C reads it with `READ_ONCE()`.
        let (valid, fits, stale, khva, pfn, active) = unsafe {
            let fits = fits_in_page((*g).uhva, len);
            let stale = AtomicU64::from_ptr((*g).slots_generation.cast_mut()).load(Relaxed)
                ^ (*g).generation;
            (
                (*g).valid,
                fits,
                stale,
                (*g).khva,
                (*p).f.pfn,
                (*p).f.active != 0,
            )
        };
        // Nonzero if any condition fails: one branch, as in C (with "&" of
        // the conditions, the compiler still branched on each).
        if u64::from(!valid) | u64::from(!fits) | stale == 0 {
            self.hit = true;
            // `valid`: `khva` is the address of `uhva` in the cached page,
            // and `fits`: `len` bytes from it lie in the page.
            Ok((khva.cast(), pfn))
        } else {
            Err(miss_errno(active, fits))
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

impl Drop for ReadLock<'_> {
    fn drop(&mut self) {
        // SAFETY: Read-locked by `lock_read()` or `try_lock_read()`, on this
        // task or CPU (the guard is not `Send`).
        unsafe { bindings::guestgate_gpc_rust_read_unlock(self.raw.gpc(), self.hit) };
    }
}
