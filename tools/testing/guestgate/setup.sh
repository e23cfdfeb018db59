#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing guestgate needs, skipping what is there:
# Debian packages (as root), bindgen-cli from the crate registry and
# virtme-ng from PyPI in a venv, both under $GUESTGATE_CACHE.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

rust_pkgs="rustc-web libstd-rust-web-dev rust-web-src rust-web-clippy rustfmt-web"
other_pkgs="$GG_KSRC_PKG clang lld llvm libclang-dev bc flex bison libelf-dev
	libssl-dev cpio kmod dwarves qemu-system-x86 busybox-static python3-venv
	udev perl make gcc libc6-dev"

pkg_ok()
{
	local pkg=$1 want=${2:-}
	local st

	st=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null) || return 1
	case "$st" in
	"install ok installed"*) ;;
	*) return 1 ;;
	esac
	[ -z "$want" ] || [ "${st##* }" = "$want" ]
}

missing=()
for p in $rust_pkgs; do
	pkg_ok "$p" "$GG_RUST_VERSION" || missing+=("$p=$GG_RUST_VERSION")
done
for p in $other_pkgs; do
	pkg_ok "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		gg_die "missing Debian packages; as root run:
  apt-get update && apt-get install -y ${missing[*]}"
	fi
	gg_log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if ! apt-get install -y -qq --allow-downgrades "${missing[@]}" >/dev/null; then
		# The pinned rustc may have left the archive: take what is offered
		# and say so, since 6.12 is only known to build with the pin.
		gg_log "WARNING: rustc-web $GG_RUST_VERSION not installable, trying the current one"
		# shellcheck disable=SC2086
		apt-get install -y -qq $rust_pkgs ${missing[*]//=$GG_RUST_VERSION/} >/dev/null
	fi
fi

if [ ! -x "$GG_BINDGEN" ]; then
	# rustup's cargo, wherever the environment left PATH.
	export PATH=$PATH:$GG_HOME/.cargo/bin
	gg_log "installing bindgen-cli $GG_BINDGEN_VERSION into $GG_CACHE/tools"
	cargo install --quiet --locked --root "$GG_CACHE/tools" \
		bindgen-cli --version "$GG_BINDGEN_VERSION"
fi

if [ ! -x "$GG_VNG" ]; then
	gg_log "installing virtme-ng $GG_VNG_VERSION into $GG_VENV"
	/usr/bin/python3 -m venv "$GG_VENV"
	"$GG_VENV/bin/pip" install --quiet "virtme-ng==$GG_VNG_VERSION"
fi

[ -f "$GG_KSRC_TARBALL" ] || gg_die "$GG_KSRC_TARBALL missing after install"
exit 0
