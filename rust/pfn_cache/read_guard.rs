// SPDX-License-Identifier: GPL-2.0

//! [`ReadGuard`]: the read lock of a cache found valid, the only way to
//! the cached mapping.

use super::*;

/// The read lock of a cache that was found valid: the only way to the
/// cached mapping.
///
/// # Invariants
///
/// The cache's lock is held for reading, on this task or CPU (the guard is
/// neither `Send` nor `Sync`), and the cache was valid when it was taken:
/// `khva` is the kernel address of the cache's `uhva`, `len` bytes from it
/// lie in the cached page, and while the guard
/// lives that page stays allocated and mapped there (the notifier waits for
/// the lock). `writable` says the page was looked up for writing. The
/// check that made the guard is counted as a hit when it drops.
pub(crate) struct ReadGuard<'a> {
    pub(super) cache: &'a PfnCache,
    pub(super) khva: *mut u8,
    pub(super) len: usize,
    pub(super) pfn: u64,
    pub(super) writable: bool,
    pub(super) _not_send: PhantomData<*mut ()>,
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
        // SAFETY: Read-locked by this task (type invariant); the check that
        // made the guard passed.
        unsafe { bindings::guestgate_gpc_reader_unlock(self.cache.gpc(), true) };
    }
}
