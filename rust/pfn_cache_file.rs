// SPDX-License-Identifier: GPL-2.0

//! The pfn caches of one open file of `/dev/guestgate`.
//!
//! The `GUESTGATE_IOCTL_PFN_*` commands of the UAPI, decoded by
//! [`crate::device`], act on a [`PfnFile`]: the file's memslot table and up
//! to `GUESTGATE_PFN_CACHES_MAX` [`PfnCache`]s named by handles. Accesses run
//! in the ioctl's task, in a kthread or in a hardirq hrtimer callback
//! (`pfn_cache_file_shim.c` provides both contexts and waits for them):
//!
//! - the task and the kthread refresh an invalid cache and try again, as
//!   the read loop of `include/linux/guestgate/pfncache.h` does. The kthread
//!   adopts the ioctl caller's mm with `kthread_use_mm()`, so it refreshes
//!   exactly when the ioctl's task could: a refresh from another mm fails
//!   with `EFAULT`;
//! - the hrtimer never refreshes: `EAGAIN` if the cache is invalid, `EBUSY`
//!   if its lock is held for writing (it uses [`PfnCache::try_read`]).
//!
//! Dropping the [`PfnFile`] (at the file's release) drops every cache, which
//! deactivates it and removes its notifier, then the memslot table.

use crate::{
    bindings,
    pfn_cache::{fits_in_page, Memslots, PfnCache, MAX_SLOTS},
};
use core::{ffi::c_void, mem::size_of};
use kernel::{
    ffi::c_long,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{Arc, Mutex},
    uaccess::{UserPtr, UserSlice, UserSliceReader},
};

/// The maximum number of caches of one file.
const MAX_CACHES: usize = bindings::GUESTGATE_PFN_CACHES_MAX as usize;
/// The largest access, in bytes.
const ACCESS_MAX: usize = bindings::GUESTGATE_PFN_ACCESS_MAX as usize;
/// How often a task or kthread access refreshes before it gives up with
/// `EAGAIN` (each refresh was immediately invalidated again).
const ACCESS_TRIES: usize = 16;

const CREATE_FLAGS: u32 = bindings::GUESTGATE_PFN_WRITABLE | bindings::GUESTGATE_PFN_GPA;
const ACCESS_FLAGS: u32 =
    bindings::GUESTGATE_PFN_ACCESS_WRITE | bindings::GUESTGATE_PFN_ACCESS_NOREFRESH;

/// A cache of a file, with the length of its activation.
#[pin_data]
struct FileCache {
    cache: PfnCache,
    writable: bool,
    /// The `len` of the current activation, which refreshes and accesses
    /// use. Held across an activation, so that the cache's address and
    /// this length change together.
    #[pin]
    len: Mutex<usize>,
}

/// A named cache of a file.
struct Entry {
    handle: u32,
    cache: Arc<FileCache>,
}

/// The caches of a file.
///
/// # Invariants
///
/// Handles are nonzero and unique among `entries`; `next` is not the handle
/// of any entry.
struct Caches {
    next: u32,
    entries: [Option<Entry>; MAX_CACHES],
}

impl Caches {
    fn get(&self, handle: u32) -> Result<Arc<FileCache>> {
        self.entries
            .iter()
            .flatten()
            .find(|e| e.handle == handle)
            .map(|e| e.cache.clone())
            .ok_or(ENOENT)
    }

    /// Names `cache`, or `ENOSPC` if the file has `MAX_CACHES` caches.
    fn insert(&mut self, cache: Arc<FileCache>) -> Result<u32> {
        let free = self
            .entries
            .iter()
            .position(Option::is_none)
            .ok_or(ENOSPC)?;
        let handle = self.next;
        // Handles are not reused before the counter wraps; after it has,
        // skip 0 and the handles still in use.
        loop {
            self.next = self.next.wrapping_add(1);
            if self.next != 0 && self.get(self.next).is_err() {
                break;
            }
        }
        // INVARIANT: `handle` was `next`, which no entry had; `next` moved
        // to a free nonzero handle.
        self.entries[free] = Some(Entry { handle, cache });
        Ok(handle)
    }
}

/// The pfn cache state of one open file of `/dev/guestgate`.
#[pin_data]
pub(crate) struct PfnFile {
    slots: Arc<Memslots>,
    #[pin]
    caches: Mutex<Caches>,
}

/// One access through a cache, run in some context by [`PfnFile::access`].
struct Access<'a> {
    cache: &'a FileCache,
    offset: usize,
    len: usize,
    write: bool,
    refresh: bool,
    data: [u8; ACCESS_MAX],
    pfn: u64,
    result: Result,
}

impl Access<'_> {
    /// The access through `guard`, which was checked for `offset + len`.
    fn through(&mut self, guard: &crate::pfn_cache::ReadGuard<'_>) {
        let buf = &mut self.data[..self.len];
        self.result = if self.write {
            guard.write_bytes(self.offset, buf)
        } else {
            guard.read_bytes(self.offset, buf)
        };
        self.pfn = guard.pfn();
    }

    /// One try from a task or a kthread: may spin on the lock, never
    /// refreshes.
    fn run_once(&mut self) {
        let cache = self.cache;
        match cache.cache.read(self.offset + self.len) {
            Ok(guard) => self.through(&guard),
            Err(e) => self.result = Err(e),
        }
    }

    /// From a hardirq: never refreshes, never spins on the write lock.
    fn run_irq(&mut self) {
        let cache = self.cache;
        match cache.cache.try_read(self.offset + self.len) {
            Ok(guard) => self.through(&guard),
            Err(e) => self.result = Err(e),
        }
    }

    /// Runs `attempt` until it finds the cache valid, refreshing it in
    /// between from the calling task, unless the access says not to. The
    /// refresh is always the ioctl's task's: a page fault in a kthread
    /// could wait for ever (on a userfaultfd) with the task waiting for the
    /// kthread uninterruptibly, and a fatal signal only reaches the task.
    fn run(&mut self, mut attempt: impl FnMut(&mut Self) -> Result) -> Result {
        for _ in 0..ACCESS_TRIES {
            attempt(self)?;
            if self.result != Err(EAGAIN) || !self.refresh {
                return Ok(());
            }
            self.cache.cache.refresh(self.offset + self.len)?;
        }
        self.result = Err(EAGAIN);
        Ok(())
    }
}

/// [`Access::run_once`] for `guestgate_pfn_run_kthread()`.
///
/// # Safety
///
/// `data` points to an [`Access`] that nothing else uses during the call.
unsafe extern "C" fn access_kthread(data: *mut c_void) {
    // SAFETY: By the safety requirements.
    unsafe { &mut *data.cast::<Access<'_>>() }.run_once();
}

/// [`Access::run_irq`] for `guestgate_pfn_run_hrtimer()`.
///
/// # Safety
///
/// `data` points to an [`Access`] that nothing else uses during the call.
unsafe extern "C" fn access_hrtimer(data: *mut c_void) {
    // SAFETY: By the safety requirements.
    unsafe { &mut *data.cast::<Access<'_>>() }.run_irq();
}

/// Reads a `T` of the UAPI from `arg`; `EFAULT` on a bad pointer.
fn read_arg<T: kernel::types::FromBytes>(arg: UserPtr) -> Result<(T, UserSlice)> {
    let val = UserSlice::new(arg, size_of::<T>()).reader().read::<T>()?;
    Ok((val, UserSlice::new(arg, size_of::<T>())))
}

impl PfnFile {
    /// The state of a new file: an empty table, no caches.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let slots = Memslots::new()?;
        Arc::pin_init(
            pin_init!(Self {
                slots,
                caches <- new_mutex!(
                    Caches {
                        next: 1,
                        entries: [const { None }; MAX_CACHES],
                    },
                    "guestgate_pfn_file"
                ),
            }),
            GFP_KERNEL,
        )
    }

    fn get(&self, handle: u32) -> Result<Arc<FileCache>> {
        self.caches.lock().get(handle)
    }

    /// `GUESTGATE_IOCTL_PFN_SET_MEMSLOTS`.
    pub(crate) fn ioctl_set_memslots(&self, arg: UserPtr) -> Result<c_long> {
        let (req, _) = read_arg::<bindings::guestgate_pfn_memslots>(arg)?;
        let n = req.nslots as usize;
        if req.pad != 0 || n > MAX_SLOTS {
            return Err(EINVAL);
        }
        let mut slots: [bindings::guestgate_pfn_memslot; MAX_SLOTS] =
            core::array::from_fn(|_| Default::default());
        let size = size_of::<bindings::guestgate_pfn_memslot>();
        let mut reader: UserSliceReader = UserSlice::new(req.slots as UserPtr, n * size).reader();
        for slot in slots.iter_mut().take(n) {
            *slot = reader.read()?;
        }
        let mut new = [(0, 0, 0); MAX_SLOTS];
        for (n, s) in new.iter_mut().zip(slots.iter().take(n)) {
            *n = (s.base_gfn, s.npages, s.uhva);
        }
        self.slots.replace(&new[..n])?;
        Ok(0)
    }

    /// Checks the flags and length of a create or activate request.
    fn check_create(req: &bindings::guestgate_pfn_create) -> Result {
        if req.pad != 0
            || req.flags & !CREATE_FLAGS != 0
            || req.len == 0
            || req.len as usize > PAGE_SIZE
        {
            return Err(EINVAL);
        }
        Ok(())
    }

    fn activate(&self, fc: &FileCache, req: &bindings::guestgate_pfn_create) -> Result {
        let len = req.len as usize;
        let mut cur = fc.len.lock();
        // The checks that fail before the cache takes the new address:
        // whatever fails after it (the refresh) leaves the new address and
        // so the new length.
        if !fits_in_page(req.addr, len) {
            return Err(EINVAL);
        }
        if !fc.cache.in_mm() {
            return Err(EFAULT);
        }
        *cur = len;
        if req.flags & bindings::GUESTGATE_PFN_GPA != 0 {
            fc.cache
                .activate_gpa(self.slots.as_arc_borrow(), req.addr, len)
        } else {
            fc.cache.activate_hva(req.addr, len)
        }
    }

    /// `GUESTGATE_IOCTL_PFN_CREATE`.
    pub(crate) fn ioctl_create(&self, arg: UserPtr) -> Result<c_long> {
        let (mut req, out) = read_arg::<bindings::guestgate_pfn_create>(arg)?;
        Self::check_create(&req)?;
        if self.caches.lock().entries.iter().all(Option::is_some) {
            return Err(ENOSPC);
        }
        let writable = req.flags & bindings::GUESTGATE_PFN_WRITABLE != 0;
        let cache = PfnCache::new(writable)?;
        let fc = Arc::pin_init(
            pin_init!(FileCache {
                cache,
                writable,
                len <- new_mutex!(0, "guestgate_pfn_file_cache"),
            }),
            GFP_KERNEL,
        )?;
        self.activate(&fc, &req)?;
        req.handle = self.caches.lock().insert(fc.clone())?;
        if let Err(e) = out.writer().write(&req) {
            // The caller cannot know the handle: take the cache back.
            self.remove(req.handle);
            return Err(e);
        }
        Ok(0)
    }

    /// `GUESTGATE_IOCTL_PFN_ACTIVATE`.
    pub(crate) fn ioctl_activate(&self, arg: UserPtr) -> Result<c_long> {
        let (req, _) = read_arg::<bindings::guestgate_pfn_create>(arg)?;
        Self::check_create(&req)?;
        let fc = self.get(req.handle)?;
        if (req.flags & bindings::GUESTGATE_PFN_WRITABLE != 0) != fc.writable {
            return Err(EINVAL);
        }
        self.activate(&fc, &req)?;
        Ok(0)
    }

    /// Reads a `struct guestgate_pfn_handle` and finds its cache.
    fn handle_arg(&self, arg: UserPtr) -> Result<(u32, Arc<FileCache>)> {
        let (req, _) = read_arg::<bindings::guestgate_pfn_handle>(arg)?;
        if req.pad != 0 {
            return Err(EINVAL);
        }
        Ok((req.handle, self.get(req.handle)?))
    }

    /// `GUESTGATE_IOCTL_PFN_REFRESH`.
    pub(crate) fn ioctl_refresh(&self, arg: UserPtr) -> Result<c_long> {
        let (_, fc) = self.handle_arg(arg)?;
        let len = fc.len.lock();
        fc.cache.refresh(*len)?;
        Ok(0)
    }

    /// `GUESTGATE_IOCTL_PFN_DEACTIVATE`.
    pub(crate) fn ioctl_deactivate(&self, arg: UserPtr) -> Result<c_long> {
        let (_, fc) = self.handle_arg(arg)?;
        fc.cache.deactivate();
        Ok(0)
    }

    /// Unnames the cache `handle`, which goes with its last user.
    fn remove(&self, handle: u32) -> Option<Entry> {
        let mut caches = self.caches.lock();
        caches
            .entries
            .iter_mut()
            .find(|e| e.as_ref().is_some_and(|e| e.handle == handle))
            .and_then(Option::take)
    }

    /// `GUESTGATE_IOCTL_PFN_DESTROY`.
    pub(crate) fn ioctl_destroy(&self, arg: UserPtr) -> Result<c_long> {
        let (handle, _) = self.handle_arg(arg)?;
        // Dropped after the lock: the last reference deactivates, which
        // sleeps.
        self.remove(handle).ok_or(ENOENT)?;
        Ok(0)
    }

    /// `GUESTGATE_IOCTL_PFN_STATS`.
    pub(crate) fn ioctl_stats(&self, arg: UserPtr) -> Result<c_long> {
        let (mut req, out) = read_arg::<bindings::guestgate_pfn_stats>(arg)?;
        if req.pad != 0 {
            return Err(EINVAL);
        }
        let s = self.get(req.handle)?.cache.stats();
        req.hits = s.hits;
        req.misses = s.misses;
        req.refreshes = s.refreshes;
        req.invalidations = s.invalidations;
        req.retries = s.retries;
        out.writer().write(&req)?;
        Ok(0)
    }

    /// `GUESTGATE_IOCTL_PFN_ACCESS`.
    pub(crate) fn ioctl_access(&self, arg: UserPtr) -> Result<c_long> {
        let (mut req, out) = read_arg::<bindings::guestgate_pfn_access>(arg)?;
        let (offset, len) = (req.offset, req.len as usize);
        if req.flags & !ACCESS_FLAGS != 0
            || len == 0
            || len > ACCESS_MAX
            || offset >= PAGE_SIZE as u64
            || offset as usize + len > PAGE_SIZE
        {
            return Err(EINVAL);
        }
        let fc = self.get(req.handle)?;
        let write = req.flags & bindings::GUESTGATE_PFN_ACCESS_WRITE != 0;
        if write && !fc.writable {
            return Err(EPERM);
        }
        if offset as usize + len > *fc.len.lock() {
            return Err(EINVAL);
        }
        let mut acc = Access {
            cache: &fc,
            offset: offset as usize,
            len,
            write,
            refresh: req.flags & bindings::GUESTGATE_PFN_ACCESS_NOREFRESH == 0,
            data: req.data,
            pfn: 0,
            result: Ok(()),
        };
        match req.context {
            bindings::GUESTGATE_PFN_CTX_TASK => acc.run(|a| {
                a.run_once();
                Ok(())
            })?,
            bindings::GUESTGATE_PFN_CTX_KTHREAD => acc.run(|a| {
                let data = core::ptr::from_mut(a).cast::<c_void>();
                // SAFETY: `*a` outlives the call, which returns after
                // `access_kthread()` has returned; this task does not touch
                // it meanwhile.
                kernel::error::to_result(unsafe {
                    bindings::guestgate_pfn_run_kthread(Some(access_kthread), data)
                })
            })?,
            bindings::GUESTGATE_PFN_CTX_HRTIMER => {
                let data = core::ptr::from_mut(&mut acc).cast::<c_void>();
                // SAFETY: As above, for `access_hrtimer()`.
                unsafe { bindings::guestgate_pfn_run_hrtimer(Some(access_hrtimer), data) }
            }
            _ => return Err(EINVAL),
        }
        acc.result?;
        req.pfn = acc.pfn;
        if !acc.write {
            req.data = acc.data;
        }
        out.writer().write(&req)?;
        Ok(0)
    }
}
