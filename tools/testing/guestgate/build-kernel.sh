#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Rust-enabled 6.12 test kernel once and cache it outside the
# repository. The cache path is keyed by the source version, the config
# fragments, the toolchain and the recipe (see gg_kdir), so changing any of
# them builds a new tree; an interrupted build resumes where it stopped.
#
#   build-kernel.sh [test|bench]
#
# "test" (the default) is the debug kernel every test runs on; "bench" is the
# same kernel without lockdep, KASAN and kmemleak, for the benchmarks whose
# targets a debug kernel would measure wrongly (make bench only).
#
# Prints the build tree (usable as KDIR) on stdout.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavor=${1:-test}
case "$flavor" in
test | bench) ;;
*) gg_die "usage: build-kernel.sh [test|bench]" ;;
esac
kdir=$(gg_kdir "$flavor")
stamp=$kdir/.guestgate-built
mapfile -t frags < <(gg_kfrags "$flavor")

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
	gg_log "configuring (vng --kconfig + ${frags[*]})"
	{
		vng --kconfig "$@" &&
			scripts/kconfig/merge_config.sh -m .config "${frags[@]}" &&
			make -s "$@" olddefconfig
	} >"$kdir/config.log" 2>&1 || { tail -20 "$kdir/config.log" >&2; gg_die "configuring failed"; }
	make -s "$@" rustavailable >/dev/null ||
		gg_die "Rust is not available to this kernel build: see 'make $* rustavailable' in $kdir"
	touch .guestgate-configured
fi

# Every option of the fragments must have landed as asked (the last
# fragment that names an option wins, as in merge_config.sh).
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
done < <(awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { o = $0; sub(/=.*/, "", o) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { o = $2 }
	o != "" { if (!(o in v)) k[n++] = o; v[o] = $0; o = "" }
	END { for (i = 0; i < n; i++) print v[k[i]] }' "${frags[@]}")
[ $bad -eq 0 ] || gg_die "the $flavor kernel config does not match ${frags[*]}"

gg_log "building the $flavor kernel in $kdir (about 18 minutes on 2 cores)"
make -s -j"$(nproc)" "$@" bzImage modules >"$kdir/build.log" 2>&1 ||
	{ tail -40 "$kdir/build.log" >&2; gg_die "kernel build failed, see $kdir/build.log"; }
touch "$stamp"
gg_log "$flavor kernel built in $(($(date +%s) - start)) s"

# Only the current tree of each flavor is kept: each one is several GiB.
for old in "$GG_CACHE"/kernel/linux-*; do
	case "${old##*/}" in
	*-bench-*) [ "$flavor" = bench ] || continue ;;
	*) [ "$flavor" = test ] || continue ;;
	esac
	[ "$old" = "$kdir" ] || rm -rf "$old"
done
echo "$kdir"
