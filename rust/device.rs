// SPDX-License-Identifier: GPL-2.0

//! The `/dev/guestgate` misc device.
//!
//! `device_shim.c` registers the misc device and the debugfs directory
//! (`/sys/kernel/debug/guestgate/`), which 6.12 offers only in C, and forwards
//! every file operation here. The device answers one question, which
//! guestgate is loaded (`GUESTGATE_IOCTL_VERSION`: release, ABI and the
//! mechanisms built), for user space that must know before it relies on
//! one; an open file has no state. The counters shown by debugfs live here.
//! The pfn cache's test device is `guestgate_test.ko`'s, not the product's.

use crate::{bindings, info};
use core::{
    mem::size_of,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};
use kernel::{
    error::{from_result, to_result},
    ffi::{c_int, c_long, c_uint, c_ulong},
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

static REGISTERED: AtomicBool = AtomicBool::new(false);
static OPENS: AtomicU64 = AtomicU64::new(0);
static RELEASES: AtomicU64 = AtomicU64::new(0);
static IOCTLS: AtomicU64 = AtomicU64::new(0);
static UNKNOWN_IOCTLS: AtomicU64 = AtomicU64::new(0);

/// The registered misc device.
///
/// # Invariants
///
/// While a `MiscDevice` exists, `/dev/guestgate` is registered, and it is
/// the only `MiscDevice`.
pub(crate) struct MiscDevice(());

impl MiscDevice {
    /// Registers `/dev/guestgate`: a door for userspace, opened once
    /// everything behind it is in place and nothing after it can fail (a
    /// file opened during a module init that then fails would keep file
    /// operations in the freed module).
    ///
    /// Fails with `EBUSY` while another `MiscDevice` exists.
    pub(crate) fn new() -> Result<Self> {
        if REGISTERED.swap(true, Relaxed) {
            return Err(EBUSY);
        }
        // SAFETY: FFI call without preconditions; `REGISTERED` makes it the
        // only registration.
        if let Err(e) = to_result(unsafe { bindings::guestgate_device_register() }) {
            REGISTERED.store(false, Relaxed);
            return Err(e);
        }
        // INVARIANT: registered above, and `REGISTERED` was false.
        Ok(Self(()))
    }
}

impl Drop for MiscDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is registered, and this is
        // the only `MiscDevice`, so it is unregistered once. Files still
        // open keep working: they pin this module and its file operations.
        unsafe { bindings::guestgate_device_unregister() };
        REGISTERED.store(false, Relaxed);
    }
}

/// The debugfs directory `guestgate/` and its files, one per mechanism and
/// `state`, from the table of `device_shim.c`.
///
/// # Invariants
///
/// While a `Debugfs` exists, the directory is registered; it is the only
/// `Debugfs` (only the module's init makes one).
pub(crate) struct Debugfs(());

impl Debugfs {
    /// Creates the directory and its files; debugfs failures are not
    /// errors, so this cannot fail. Called once, by the module's init.
    pub(crate) fn new() -> Self {
        // SAFETY: FFI call without preconditions; the module's init calls
        // this once.
        unsafe { bindings::guestgate_debugfs_register() };
        // INVARIANT: registered above, once.
        Self(())
    }
}

impl Drop for Debugfs {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the directory is registered, and
        // this is the only `Debugfs`, so it is removed once.
        unsafe { bindings::guestgate_debugfs_unregister() };
    }
}

/// Handles a command of the UAPI.
fn ioctl(cmd: c_uint, arg: UserPtr) -> Result<c_long> {
    match cmd {
        bindings::cmd::VERSION => ioctl_version(arg),
        _ => {
            UNKNOWN_IOCTLS.fetch_add(1, Relaxed);
            Err(ENOTTY)
        }
    }
}

/// `GUESTGATE_IOCTL_VERSION`: copies a `struct guestgate_version` out.
fn ioctl_version(arg: UserPtr) -> Result<c_long> {
    let ver = info::version();
    UserSlice::new(arg, size_of::<bindings::guestgate_version>())
        .writer()
        .write(&ver)?;
    Ok(0)
}

/// Opens a file, which has no state: counts it.
#[no_mangle]
extern "C" fn guestgate_rs_open() -> c_int {
    OPENS.fetch_add(1, Relaxed);
    0
}

/// Releases a file opened by [`guestgate_rs_open`]: counts it.
#[no_mangle]
extern "C" fn guestgate_rs_release() {
    RELEASES.fetch_add(1, Relaxed);
}

/// Handles an ioctl on an open file.
///
/// Returns 0 or a positive result, or a negative errno; `-ENOTTY` for a
/// command this module does not know.
#[no_mangle]
extern "C" fn guestgate_rs_ioctl(cmd: c_uint, arg: c_ulong) -> c_long {
    IOCTLS.fetch_add(1, Relaxed);
    from_result(|| ioctl(cmd, arg as UserPtr))
}

/// Reads the device counters, for debugfs.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
unsafe extern "C" fn guestgate_rs_device_stats(stats: *mut bindings::guestgate_device_stats) {
    let snapshot = bindings::guestgate_device_stats {
        opens: OPENS.load(Relaxed),
        releases: RELEASES.load(Relaxed),
        ioctls: IOCTLS.load(Relaxed),
        unknown_ioctls: UNKNOWN_IOCTLS.load(Relaxed),
    };
    // SAFETY: `stats` is valid for writes by the safety requirements.
    unsafe { stats.write(snapshot) };
}

bindings::c_prototype!(guestgate_rs_open: unsafe extern "C" fn() -> c_int);
bindings::c_prototype!(guestgate_rs_release: unsafe extern "C" fn());
bindings::c_prototype!(guestgate_rs_ioctl: unsafe extern "C" fn(c_uint, c_ulong) -> c_long);
bindings::c_prototype!(
    guestgate_rs_device_stats: unsafe extern "C" fn(*mut bindings::guestgate_device_stats)
);

/// Rust KUnit cases of the `guestgate_device` suite.
#[cfg(CONFIG_KUNIT)]
mod kunit_cases {
    use super::*;
    use crate::kunit::{kunit_expect, Kunit, Test};
    use core::ptr;

    /// Unknown commands get `ENOTTY` and are counted; `VERSION` refuses a
    /// kernel address as its user pointer.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_device_ioctl(test: *mut Kunit) {
        // SAFETY: By the safety requirements.
        let test = unsafe { Test::new(test) };
        let unknown = UNKNOWN_IOCTLS.load(Relaxed);
        kunit_expect!(test, ioctl(0, 0) == Err(ENOTTY));
        // The VERSION number with another size is another command.
        let wrong_size = kernel::ioctl::_IOR::<u64>(bindings::GUESTGATE_IOC_MAGIC, 0);
        kunit_expect!(test, wrong_size != bindings::cmd::VERSION);
        kunit_expect!(test, ioctl(wrong_size, 0) == Err(ENOTTY));
        kunit_expect!(test, UNKNOWN_IOCTLS.load(Relaxed) - unknown == 2);

        // A kernel address is not a user pointer: nothing may be written there.
        let mut ver = bindings::guestgate_version::default();
        let kaddr = ptr::from_mut(&mut ver) as UserPtr;
        kunit_expect!(test, ioctl(bindings::cmd::VERSION, kaddr) == Err(EFAULT));
        kunit_expect!(test, ver.abi == 0);
    }

    /// Opens and releases are counted.
    ///
    /// # Safety
    ///
    /// `test` is the running KUnit case.
    #[no_mangle]
    unsafe extern "C" fn guestgate_kunit_device_open_release(test: *mut Kunit) {
        // SAFETY: By the safety requirements.
        let test = unsafe { Test::new(test) };
        let (opens, releases) = (OPENS.load(Relaxed), RELEASES.load(Relaxed));
        kunit_expect!(test, guestgate_rs_open() == 0);
        kunit_expect!(test, OPENS.load(Relaxed) - opens == 1);
        guestgate_rs_release();
        kunit_expect!(test, RELEASES.load(Relaxed) - releases == 1);
    }

    bindings::c_prototype!(guestgate_kunit_device_ioctl: unsafe extern "C" fn(*mut Kunit));
    bindings::c_prototype!(guestgate_kunit_device_open_release: unsafe extern "C" fn(*mut Kunit));
}
