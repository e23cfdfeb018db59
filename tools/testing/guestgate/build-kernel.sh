#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Rust-enabled 6.12 test kernel once and cache it outside the
# repository. The cache path is keyed by the source version, the config
# fragment, the toolchain and the recipe (see gg_kdir), so changing any of
# them builds a new tree; an interrupted build resumes where it stopped.
#
# Prints the build tree (usable as KDIR) on stdout.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$(gg_kdir)
stamp=$kdir/.guestgate-built
frag=$GG_TOP/tools/testing/selftests/guestgate/config

if [ -f "$stamp" ]; then
	echo "$kdir"
	exit 0
fi

[ -f "$GG_KSRC_TARBALL" ] || gg_die "no $GG_KSRC_TARBALL: run tools/testing/guestgate/setup.sh"
[ -x "$GG_BINDGEN" ] || gg_die "no bindgen at $GG_BINDGEN: run tools/testing/guestgate/setup.sh"

# shellcheck disable=SC2046
set -- $(gg_kmake_vars)
export PATH=$GG_VENV/bin:$PATH
start=$(date +%s)

if [ ! -f "$kdir/Makefile" ]; then
	gg_log "extracting $GG_KSRC_TARBALL into $kdir"
	rm -rf "$kdir.tmp"
	mkdir -p "$kdir.tmp"
	tar -xf "$GG_KSRC_TARBALL" -C "$kdir.tmp" --strip-components=1
	mv "$kdir.tmp" "$kdir"
fi
cd "$kdir"

if [ ! -f .config ] || [ ! -f .guestgate-configured ]; then
	gg_log "configuring (vng --kconfig + $frag)"
	{
		vng --kconfig "$@" &&
			scripts/kconfig/merge_config.sh -m .config "$frag" &&
			make -s "$@" olddefconfig
	} >"$kdir/config.log" 2>&1 || { tail -20 "$kdir/config.log" >&2; gg_die "configuring failed"; }
	make -s "$@" rustavailable >/dev/null ||
		gg_die "Rust is not available to this kernel build: see 'make $* rustavailable' in $kdir"
	touch .guestgate-configured
fi

# Every option of the fragment must have landed as asked.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" .config || { gg_log "config: wanted $line, got: $(grep "^${line%%=*}=" .config || echo 'not set')"; bad=1; }
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q "^$opt=" .config || { gg_log "config: wanted $opt off, got: $(grep "^$opt=" .config)"; bad=1; }
		;;
	esac
done <"$frag"
[ $bad -eq 0 ] || gg_die "the test kernel config does not match $frag"

gg_log "building the test kernel in $kdir (about 18 minutes on 2 cores)"
make -s -j"$(nproc)" "$@" bzImage modules >"$kdir/build.log" 2>&1 ||
	{ tail -40 "$kdir/build.log" >&2; gg_die "kernel build failed, see $kdir/build.log"; }
touch "$stamp"
gg_log "test kernel built in $(($(date +%s) - start)) s"

# Only the current tree is kept: each one is several GiB.
for old in "$GG_CACHE"/kernel/linux-*; do
	[ "$old" = "$kdir" ] || rm -rf "$old"
done
echo "$kdir"
