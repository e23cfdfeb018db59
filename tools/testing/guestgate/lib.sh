# SPDX-License-Identifier: GPL-2.0
#
# Shared settings of the guestgate test tooling. Sourced, never run.
#
# Everything that is built or installed outside the repository lives under
# $GUESTGATE_CACHE (default ~/.cache/guestgate), so a clean clone reuses it
# and a fresh machine rebuilds it from the README commands alone.

GG_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GG_TOP=$(cd "$GG_TOOLS_DIR/../../.." && pwd)
GG_HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
GG_CACHE=${GUESTGATE_CACHE:-$GG_HOME/.cache/guestgate}

# The kernel's Rust support is tied to one rustc: Debian's rustc-web of this
# version, never the rustup toolchain first on PATH.
GG_RUST_VERSION=1.85.0+dfsg3-1~deb12u3
GG_RUSTC=/usr/bin/rustc
GG_RUSTFMT=/usr/bin/rustfmt
GG_CLIPPY_DRIVER=/usr/bin/clippy-driver

GG_BINDGEN_VERSION=0.73.2
GG_BINDGEN=$GG_CACHE/tools/bin/bindgen

GG_VNG_VERSION=1.42
GG_VENV=$GG_CACHE/venv
GG_VNG=$GG_VENV/bin/vng

GG_KSRC_PKG=linux-source-6.12
GG_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz

# Bumped by hand whenever build-kernel.sh changes in a way that must rebuild.
GG_KERNEL_RECIPE=1

gg_die()
{
	echo "guestgate: $*" >&2
	exit 1
}

gg_log()
{
	echo "guestgate: $*" >&2
}

# The make variables every kernel and module build needs.
gg_kmake_vars()
{
	echo "LLVM=1 RUSTC=$GG_RUSTC BINDGEN=$GG_BINDGEN"
}

# Version of the kernel source package, or nothing when it is not installed.
gg_ksrc_version()
{
	dpkg-query -W -f='${Version}' "$GG_KSRC_PKG" 2>/dev/null || true
}

# The config fragment(s) of a kernel flavor, in merge order: "test" (the
# default, tools/testing/selftests/guestgate/config) or "bench" (the test
# fragment, then bench-kernel.config turning the debug options off).
gg_kfrags()
{
	echo "$GG_TOP/tools/testing/selftests/guestgate/config"
	[ "${1:-test}" = test ] || echo "$GG_TOOLS_DIR/bench-kernel.config"
}

# The cached build tree of a flavor for this source version, config
# fragments, toolchain and recipe. A change to any of them gives a new
# path, hence a rebuild.
gg_kdir()
{
	local flavor=${1:-test} key frag

	key=$( {
		gg_ksrc_version
		gg_kfrags "$flavor" | while IFS= read -r frag; do
			cat "$frag"
		done
		echo "$GG_RUST_VERSION $GG_BINDGEN_VERSION recipe=$GG_KERNEL_RECIPE"
	} | sha256sum | cut -c1-12)
	[ "$flavor" = test ] || key=$flavor-$key
	echo "$GG_CACHE/kernel/linux-$(gg_ksrc_version | sed 's/[^A-Za-z0-9.]/_/g')-$key"
}
