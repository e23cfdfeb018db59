// SPDX-License-Identifier: GPL-2.0

//! [`PfnCache`]: the cache, its refresh, activation and deactivation, and
//! the locks it takes for them.

use super::*;

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
    pub(super) pc: NonNull<Cache>,
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
pub(super) struct WriteGuard<'a> {
    pub(super) cache: &'a PfnCache,
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
    pub(super) fn gpc(&self) -> *mut Gpc {
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
    pub(super) fn fields(&self) -> *mut Fields {
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

    pub(super) fn lock_write(&self) -> WriteGuard<'_> {
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

    fn guard(&self, len: usize) -> Result<ReadGuard<'_>> {
        // SAFETY: The callers hold the read lock.
        let (khva, pfn) = match unsafe { self.check_locked(len) } {
            Ok(checked) => checked,
            Err(e) => {
                // SAFETY: As above; a miss.
                unsafe { bindings::guestgate_gpc_reader_unlock(self.gpc(), false) };
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
        self.guard(len)
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
        self.guard(len)
    }

    /// As [`Self::read`], with interrupts disabled for the guard's whole
    /// life: `irqs` proves they are, and the guard cannot outlive it. (A
    /// guard that saved and restored the interrupt flags itself could be
    /// dropped after, or inside, a state that disabled them later, and
    /// restore them there.)
    pub(crate) fn read_irqs_off<'a>(
        &'a self,
        _irqs: IrqsDisabled<'a>,
        len: usize,
    ) -> Result<ReadGuard<'a>> {
        // SAFETY: As in `read()`.
        unsafe { bindings::guestgate_gpc_reader_lock(self.gpc()) };
        self.guard(len)
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
    pub(super) fn into_raw(self) -> *mut Gpc {
        ManuallyDrop::new(self).gpc()
    }

    /// The cache behind a C handle, not to be dropped.
    ///
    /// # Safety
    ///
    /// `gpc` comes from [`Self::into_raw`] and is not destroyed while the
    /// result lives.
    pub(super) unsafe fn borrow_raw(gpc: *mut Gpc) -> ManuallyDrop<Self> {
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
