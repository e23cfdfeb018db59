// SPDX-License-Identifier: GPL-2.0

//! Rust KUnit cases of the `guestgate_pfn_cache` suite.

use super::memslots::MAX_SLOTS;
use super::*;
use crate::guest_entry::IrqsOff;

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

    // Setting a slot as it is is a change; a slot may overlap its old self
    // but no other slot (slot 1 holds 0x104).
    kunit_expect!(t, slots.set(2, 0x100, 4, 0xa000_0000).is_ok());
    kunit_expect!(t, slots.generation() == 6);
    kunit_expect!(t, slots.set(2, 0x100, 5, 0xa000_0000) == Err(EEXIST));
    kunit_expect!(t, slots.set(2, 0x101, 3, 0xa000_0000).is_ok());
    kunit_expect!(t, slots.generation() == 7);
    kunit_expect!(t, slots.resolve(0x100 << PAGE_SHIFT) == Err(EFAULT));
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
    drop(cache.raw().lock_write());
    kunit_expect!(t, cache.try_read(4).is_ok());
    // A length the activation's offset cannot hold; lengths that would
    // wrap the offset's sum (the check must not overflow).
    kunit_expect!(t, cache.read(PAGE_SIZE - 8).err() == Some(EINVAL));
    kunit_expect!(t, cache.read(usize::MAX).err() == Some(EINVAL));
    kunit_expect!(t, cache.read(usize::MAX - 15).err() == Some(EINVAL));
    kunit_expect!(t, cache.refresh(usize::MAX) == Err(EINVAL));
    kunit_expect!(t, cache.activate_hva(uhva + 16, usize::MAX) == Err(EINVAL));
    kunit_expect!(t, cache.activate_hva(uhva + 16, 64).is_ok());
    {
        let irqs = IrqsOff::disable();
        match irqs.irqs_disabled().map(|off| cache.read_irqs_off(off, 4)) {
            Some(Ok(g)) => kunit_expect!(t, g.read_u32(0) == Ok(0xdead_beef)),
            _ => kunit_expect!(t, false),
        };
    }
    let s = cache.stats();
    // Activated twice; misses: inactive, and the three lengths too long.
    kunit_expect!(t, s.refreshes == 2);
    kunit_expect!(t, s.hits == 3);
    kunit_expect!(t, s.misses == 4);

    // Invalidated: no guard until refreshed.
    {
        let _w = cache.raw().lock_write();
        // SAFETY: The notifier's work, with the write lock held.
        unsafe { super::notifier::guestgate_rs_gpc_invalidate(cache.raw().ptr()) };
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
