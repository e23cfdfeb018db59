// SPDX-License-Identifier: GPL-2.0

//! The C side of guestgate, as bindgen sees it.
//!
//! Generated at build time from `rust/bindings_helper.h`: the public C API
//! (`include/linux/guestgate.h`), the UAPI (`include/uapi/linux/guestgate.h`)
//! and the private contract with the C shims (`rust/shim.h`, which includes
//! each shim's header). Nothing is declared by hand. The layout assertions
//! below pin every struct both sides share to the figures the C shims assert
//! with `static_assert()`, so a header change that moves a field fails to
//! build on both sides.

use core::mem::{offset_of, size_of};
use kernel::{ffi::c_uint, types::AsBytes};

#[allow(
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod generated {
    // Kernel types the generated items mention (`struct kunit`, `__u32`, ...).
    #[allow(unused_imports)]
    use kernel::bindings::*;

    include!("bindings_generated.rs");
}

pub(crate) use generated::*;

const _: () = {
    assert!(size_of::<guestgate_version>() == 24);
    assert!(offset_of!(guestgate_version, abi) == 12);
    assert!(offset_of!(guestgate_version, features) == 16);

    assert!(size_of::<guestgate_device_stats>() == 32);
    assert!(offset_of!(guestgate_device_stats, unknown_ioctls) == 24);

    assert!(size_of::<guestgate_perf_stats>() == 48);
    assert!(offset_of!(guestgate_perf_stats, registered) == 40);

    assert!(size_of::<guestgate_guest_info_callbacks>() == 32);
    assert!(offset_of!(guestgate_guest_info_callbacks, handle_mediated_pmi) == 24);

    assert!(size_of::<guestgate_gpc_stats>() == 40);
    assert!(offset_of!(guestgate_gpc, checks) == 32);
    assert!(offset_of!(guestgate_gpc, valid) == 40);
    assert!(size_of::<guestgate_gpc_fields>() == 40);
    assert!(offset_of!(guestgate_gpc_fields, counters) == 8);
    assert!(offset_of!(guestgate_gpc_fields, active) == 32);
    // A C handle (`struct guestgate_gpc *`) is the address of its cache.
    assert!(offset_of!(guestgate_pfn_cache, gpc) == 0);
    assert!(size_of::<guestgate_gpc_global_stats>() == 80);

    assert!(size_of::<guestgate_mediated_pmu_stats>() == 64);
    assert!(offset_of!(guestgate_mediated_pmu_stats, bad_leaves) == 56);
};

// SAFETY: `guestgate_version` is four `u32` and a `u64` at offset 16 with no
// padding (asserted above), so every byte of a value is initialised.
unsafe impl AsBytes for guestgate_version {}

/// Checks at compile time that a function this crate defines for C has the
/// prototype the C headers declare for it (bindgen's declaration of the same
/// symbol).
macro_rules! c_prototype {
    ($name:ident: $ty:ty) => {
        const _: $ty = $crate::bindings::$name;
        const _: $ty = $name;
    };
}
pub(crate) use c_prototype;

/// The ioctl command numbers of the UAPI, as the C compiler computed them.
pub(crate) mod cmd {
    use super::c_uint;

    /// `GUESTGATE_IOCTL_VERSION`.
    pub(crate) const VERSION: c_uint = super::GUESTGATE_CMD_VERSION;
}
