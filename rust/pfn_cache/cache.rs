// SPDX-License-Identifier: GPL-2.0

//! [`PfnCache`]: the cache, its refresh, activation and deactivation, and
//! the locks it takes for them.

use super::*;

/// A pfn cache bound to the mm of the task that made it.
///
/// The logic of activation, refresh and deactivation, in safe code over
/// [`RawCache`], whose invariants are the cache's.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub(crate) struct PfnCache {
    /// First: a C handle, the address of the C half, is the cache's.
    #[pin]
    raw: RawCache,
    /// Pages are looked up for writing.
    writable: bool,
}

// A C handle is the address of the C half's `gpc`: it comes first.
const _: () = assert!(core::mem::offset_of!(PfnCache, raw) == 0);

impl PfnCache {
    /// An inactive cache bound to the current mm; `EINVAL` without one.
    ///
    /// Process context; may sleep.
    pub(crate) fn new(writable: bool) -> Result<Pin<KBox<Self>>> {
        // Charged to the caller's memcg, as KVM charges its vCPUs' memory.
        let cache = KBox::pin_init(
            try_pin_init!(Self {
                raw <- RawCache::new(),
                writable,
            }? Error),
            GFP_KERNEL_ACCOUNT,
        )?;
        CACHES.fetch_add(1, Relaxed);
        Ok(cache)
    }

    /// The C half.
    pub(super) fn raw(&self) -> &RawCache {
        &self.raw
    }

    /// Whether the calling task runs in the cache's mm (refreshes fail with
    /// `EFAULT` elsewhere).
    pub(crate) fn in_mm(&self) -> bool {
        self.raw.in_mm()
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
        let mut req = self.raw.lock_request();
        let old = req.set(true, addr, slots.map(Arc::from));
        let ret = self.refresh_locked(&mut req, len);
        drop(req);
        drop(old);
        ret
    }

    /// Looks the page up again and publishes it: see
    /// `guestgate_gpc_refresh()`.
    pub(crate) fn refresh(&self, len: usize) -> Result {
        self.refresh_locked(&mut self.raw.lock_request(), len)
    }

    fn refresh_locked(&self, req: &mut RequestGuard<'_>, len: usize) -> Result {
        let ret = self.do_refresh(req, len);
        match ret {
            Ok(()) => REFRESHES.fetch_add(1, Relaxed),
            Err(_) => REFRESH_ERRORS.fetch_add(1, Relaxed),
        };
        ret
    }

    /// The refresh, the request locked (callers: `refresh_locked()`).
    fn do_refresh(&self, req: &mut RequestGuard<'_>, len: usize) -> Result {
        if req.active() && !self.in_mm() {
            return Err(EFAULT);
        }
        let fail = |e: Error| {
            self.raw.lock_write().invalidate();
            Err(e)
        };
        if !req.active() {
            return Err(EINVAL);
        }
        let (uhva, generation) = match req.slots() {
            Some(table) => match table.resolve(req.addr()) {
                Ok(resolved) => resolved,
                Err(e) => return fail(e),
            },
            None => (req.addr(), 0),
        };
        if !fits_in_page(uhva, len) {
            // The caller's length is wrong, not the cache: it stays as it
            // is (a mapping of an older memslot generation fails its check
            // anyway).
            return Err(EINVAL);
        }
        // Valid for this address and generation: the notifier keeps it
        // current, nothing to look up.
        if req.lock_write().is_valid_for(uhva, generation) {
            self.raw.count(Stat::Refreshes);
            return Ok(());
        }
        let page_start = uhva & PAGE_MASK as u64;
        if req.notified() != Some(page_start) {
            req.move_notifier(page_start).or_else(fail)?;
        }
        let mut retries = 0;
        loop {
            // Inserted above, or before under this request's lock.
            let Some(seq) = req.read_begin() else {
                return fail(EINVAL);
            };
            let page = match PageRef::get(uhva, self.writable) {
                Ok(page) => page,
                Err(e) => return fail(e),
            };
            // Compiled out without KUnit: nothing can set it there.
            let mode = if cfg!(CONFIG_KUNIT) {
                BREAK_REFRESH.load(Relaxed)
            } else {
                bindings::GUESTGATE_GPC_REFRESH_NORMAL
            };
            if mode != bindings::GUESTGATE_GPC_REFRESH_NORMAL {
                // SAFETY: FFI call; process context, no lock but the
                // request's held.
                unsafe { bindings::guestgate_gpc_break_delay() };
            }
            let mut w = req.lock_write();
            if mode == bindings::GUESTGATE_GPC_REFRESH_BROKEN {
                w.publish_unchecked(uhva, generation, &page);
            } else if !w.publish(&seq, uhva, generation, &page) {
                // An invalidation of this page ran since `seq`: the page
                // looked up may be gone. Nothing of it is kept.
                drop(w);
                self.raw.count(Stat::Retries);
                RETRIES.fetch_add(1, Relaxed);
                retries += 1;
                RETRIES_MAX.fetch_max(retries, Relaxed);
                continue;
            }
            // The page reference goes after the write lock.
            drop(w);
            drop(page);
            self.raw.count(Stat::Refreshes);
            return Ok(());
        }
    }

    /// Stops caching: see `guestgate_gpc_deactivate()`.
    ///
    /// The notifier stays on its page: an activation on that page again
    /// inserts none. (Inserting one while any invalidation is in flight in
    /// the mm makes its first sequence read wait until none is, which an
    /// unrelated storm of invalidations can make long.) The drop removes
    /// it.
    pub(crate) fn deactivate(&self) {
        let mut req = self.raw.lock_request();
        let slots = req.set(false, 0, None);
        drop(req);
        drop(slots);
    }

    /// Makes the cache invalid until the next refresh or activation: see
    /// `guestgate_gpc_invalidate()`.
    pub(crate) fn invalidate(&self) {
        // The request first: a refresh under way publishes before this,
        // not after.
        let req = self.raw.lock_request();
        req.lock_write().invalidate();
    }

    fn guard<'a>(&self, mut lock: ReadLock<'a>, len: usize) -> Result<ReadGuard<'a>> {
        // A miss drops the lock, counted as one.
        let (khva, pfn) = lock.check(len)?;
        // INVARIANT: the cache was found valid with the lock held.
        Ok(ReadGuard {
            _lock: lock,
            khva,
            len,
            pfn,
            writable: self.writable,
        })
    }

    /// Takes the read lock and checks the cache for an access of `len`
    /// bytes: `EINVAL` if inactive or the access crosses the page,
    /// `EAGAIN` if invalid (refresh and try again).
    ///
    /// Task or softirq context, or interrupts disabled.
    pub(crate) fn read(&self, len: usize) -> Result<ReadGuard<'_>> {
        self.guard(self.raw.lock_read(), len)
    }

    /// As [`Self::read`], but fails with `EBUSY` instead of spinning while
    /// the lock is held or waited for by a writer (the notifier, or an
    /// activation, refresh or deactivation publishing). Any context but
    /// NMI.
    pub(crate) fn try_read(&self, len: usize) -> Result<ReadGuard<'_>> {
        self.guard(self.raw.try_lock_read().ok_or(EBUSY)?, len)
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
        self.guard(self.raw.lock_read(), len)
    }

    /// The counters of this cache.
    pub(crate) fn stats(&self) -> bindings::guestgate_gpc_stats {
        let (hits, misses) = self.raw.checks();
        bindings::guestgate_gpc_stats {
            hits,
            misses,
            refreshes: self.raw.stat(Stat::Refreshes).load(Relaxed),
            invalidations: self.raw.stat(Stat::Invalidations).load(Relaxed),
            retries: self.raw.stat(Stat::Retries).load(Relaxed),
        }
    }

    /// Hands the cache to C: a handle is the address of its C half's
    /// `gpc`, the first member of both (asserted in `bindings.rs`).
    pub(super) fn into_raw(cache: Pin<KBox<Self>>) -> *mut Gpc {
        // SAFETY: The cache stays pinned: C gives the handle back to
        // `from_raw()` to free it, and never moves it.
        KBox::into_raw(unsafe { Pin::into_inner_unchecked(cache) }).cast()
    }

    /// The cache behind a C handle, given back.
    ///
    /// # Safety
    ///
    /// `gpc` comes from [`Self::into_raw`], and its owner gives it up.
    pub(super) unsafe fn from_raw(gpc: *mut Gpc) -> Pin<KBox<Self>> {
        // SAFETY: From `KBox::into_raw()` of a pinned box, by the safety
        // requirements.
        unsafe { Pin::new_unchecked(KBox::from_raw(gpc.cast::<Self>())) }
    }

    /// The cache behind a C handle.
    ///
    /// # Safety
    ///
    /// `gpc` comes from [`Self::into_raw`] and is not given back while the
    /// result lives.
    pub(super) unsafe fn borrow_raw<'a>(gpc: *mut Gpc) -> &'a Self {
        // SAFETY: A live cache, by the safety requirements.
        unsafe { &*gpc.cast::<Self>() }
    }
}

#[pinned_drop]
impl PinnedDrop for PfnCache {
    fn drop(self: Pin<&mut Self>) {
        self.deactivate();
        let stats = self.stats();
        HITS.fetch_add(stats.hits, Relaxed);
        MISSES.fetch_add(stats.misses, Relaxed);
        CACHES.fetch_sub(1, Relaxed);
        // Then `raw` drops: the notifier is removed, the C half released.
    }
}
