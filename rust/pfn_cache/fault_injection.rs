// SPDX-License-Identifier: GPL-2.0

//! Fault injection for the tests (`guestgate_test.ko`).

use super::*;

/// Fault injection for the tests, see [`guestgate_rs_gpc_break_refresh`].
pub(super) static BREAK_REFRESH: AtomicU32 = AtomicU32::new(bindings::GUESTGATE_GPC_REFRESH_NORMAL);

/// The refresh of every cache from now on (`enum
/// guestgate_gpc_refresh_mode`): widened, it sleeps between the lookup and
/// the publication, so that invalidations land there and the sequence check
/// must catch them; broken, it also skips the check, and the race stress
/// shows that the stale writes this allows are seen. Test only
/// (`guestgate_test.ko`), exported with `CONFIG_KUNIT`.
#[no_mangle]
extern "C" fn guestgate_rs_gpc_break_refresh(mode: c_uint) {
    BREAK_REFRESH.store(mode, Relaxed);
}

bindings::c_prototype!(guestgate_rs_gpc_break_refresh: unsafe extern "C" fn(c_uint));
