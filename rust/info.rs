// SPDX-License-Identifier: GPL-2.0

//! Version and feature query.
//!
//! Implements `guestgate_get_version()` of the C API
//! (`include/linux/guestgate.h`); `info_shim.c` exports it. The release numbers
//! and feature bits are the headers' own constants, read through bindgen, so C
//! callers, userspace and this crate cannot disagree.

use crate::bindings;
use kernel::{error::code::EINVAL, ffi::c_int};

/// The `GUESTGATE_FEATURE_*` bits this build provides; each mechanism adds
/// its bit when it lands.
const FEATURES: u64 = bindings::GUESTGATE_FEATURE_PERF_CALLBACKS as u64
    | bindings::GUESTGATE_FEATURE_GUEST_ENTRY as u64
    | bindings::GUESTGATE_FEATURE_PFN_CACHE as u64
    | bindings::GUESTGATE_FEATURE_MEDIATED_PMU as u64;

/// Version and features of the running module.
pub(crate) fn version() -> bindings::guestgate_version {
    bindings::guestgate_version {
        major: bindings::GUESTGATE_VERSION_MAJOR,
        minor: bindings::GUESTGATE_VERSION_MINOR,
        patch: bindings::GUESTGATE_VERSION_PATCH,
        abi: bindings::GUESTGATE_ABI_VERSION,
        features: FEATURES,
    }
}

/// `guestgate_get_version()`: see `include/linux/guestgate.h`.
///
/// # Safety
///
/// `ver` is NULL or valid for writing a `struct guestgate_version`.
#[no_mangle]
unsafe extern "C" fn guestgate_get_version(ver: *mut bindings::guestgate_version) -> c_int {
    if ver.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: `ver` is not NULL, so by the safety requirements it is valid for
    // writes of a `guestgate_version`.
    unsafe { ver.write(version()) };
    0
}

bindings::c_prototype!(
    guestgate_get_version: unsafe extern "C" fn(*mut bindings::guestgate_version) -> c_int
);
