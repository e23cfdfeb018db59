// SPDX-License-Identifier: GPL-2.0

//! [`ReadGuard`]: the read lock of a cache found valid, the only way to
//! the cached mapping.

use super::*;
use core::mem::{align_of, size_of};

/// The read lock of a cache that was found valid: the only way to the
/// cached mapping.
///
/// # Invariants
///
/// The cache's lock is held for reading by `_lock`, on this task or CPU
/// (the guard is neither `Send` nor `Sync`), and the cache was valid when
/// it was taken:
/// `khva` is the kernel address of the cache's `uhva`, `len` bytes from it
/// lie in the cached page, and while the guard
/// lives that page stays allocated and mapped there (the notifier waits for
/// the lock). `writable` says the page was looked up for writing. The
/// check that made the guard is counted as a hit when `_lock` drops.
pub(crate) struct ReadGuard<'a> {
    pub(super) _lock: ReadLock<'a>,
    pub(super) khva: *mut u8,
    pub(super) len: usize,
    pub(super) pfn: u64,
    pub(super) writable: bool,
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

    /// Reads the `T` at `off` (aligned).
    fn load<T: Copy>(&self, off: usize) -> Result<T> {
        let p = self.at(off, size_of::<T>(), align_of::<T>())?;
        // SAFETY: Aligned, within the cached page, which stays mapped while
        // the guard lives (type invariant); every caller's `T` is valid for
        // any bits. Volatile: user space shares the page.
        Ok(unsafe { p.cast::<T>().read_volatile() })
    }

    /// Writes `val` at `off` (aligned); `EPERM` on a read-only cache.
    fn store<T: Copy>(&self, off: usize, val: T) -> Result {
        let p = self.at_mut(off, size_of::<T>(), align_of::<T>())?;
        // SAFETY: As in `load()`; the page was looked up for writing.
        unsafe { p.cast::<T>().write_volatile(val) };
        Ok(())
    }

    /// Reads the `u32` at `off` (aligned).
    pub(crate) fn read_u32(&self, off: usize) -> Result<u32> {
        self.load(off)
    }

    /// Writes the `u32` at `off` (aligned); `EPERM` on a read-only cache.
    pub(crate) fn write_u32(&self, off: usize, val: u32) -> Result {
        self.store(off, val)
    }

    /// Reads the `u64` at `off` (aligned).
    pub(crate) fn read_u64(&self, off: usize) -> Result<u64> {
        self.load(off)
    }

    /// Writes the `u64` at `off` (aligned); `EPERM` on a read-only cache.
    pub(crate) fn write_u64(&self, off: usize, val: u64) -> Result {
        self.store(off, val)
    }

    /// Copies `buf.len()` bytes from `off` into `buf`.
    pub(crate) fn read_bytes(&self, off: usize, buf: &mut [u8]) -> Result {
        // The whole range first: nothing is copied from a bad one.
        self.at(off, buf.len(), 1)?;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.load(off + i)?;
        }
        Ok(())
    }

    /// Copies `buf` to `off`; `EPERM` on a read-only cache.
    pub(crate) fn write_bytes(&self, off: usize, buf: &[u8]) -> Result {
        self.at_mut(off, buf.len(), 1)?;
        for (i, b) in buf.iter().enumerate() {
            self.store(off + i, *b)?;
        }
        Ok(())
    }
}
