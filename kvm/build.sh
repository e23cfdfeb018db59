#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds kvm.ko, kvm-amd.ko and kvm-intel.ko on guestgate: the test kernel's
# own KVM sources with the series of kvm/patches/ applied, out of tree
# against that kernel and guestgate's Module.symvers; and the same sources
# without the series, built the same way ("stock"), the baseline they are
# judged against. Both with Xen emulation, which the test kernel's own kvm
# does not have. Also builds the kernel's own KVM selftests
# (tools/testing/selftests/kvm of the same tree) that make check runs
# against stock kvm and kvm on guestgate.
#
#   kvm/build.sh          build all (incremental), link them under build/
#
# The copies of the sources live in $GUESTGATE_CACHE/kvm/, one per kernel
# tree, variant and series: arch/x86/kvm, virt/kvm and the KVM headers of
# include/linux, patched or not, guestgate's public header beside the
# patched one. The
# modules keep the names kvm and kvm_amd (the selftests read their
# parameters), and are reached as build/kvm/*.ko (on guestgate) and
# build/kvm-stock/*.ko; the selftests as build/kvm-selftests/.

set -euo pipefail
. "$(dirname "$0")/../tools/testing/guestgate/lib.sh"

KDIR=${KDIR:-$(gg_kdir test)}
KVM_DIR=$GG_TOP/kvm
SERIES=$KVM_DIR/patches/series
# The files of the kernel tree the series may touch, and is applied to.
SOURCES="arch/x86/kvm virt/kvm include/linux/kvm_host.h include/linux/kvm_types.h"
# Bumped by hand when the way the copy is made changes.
RECIPE=3

[ -f "$KDIR/Module.symvers" ] || gg_die "no kernel build tree at KDIR=$KDIR"
[ -f "$GG_TOP/Module.symvers" ] || gg_die "build guestgate first (make modules)"

# build_kvm VARIANT: the copy of VARIANT ("stock": the sources as they
# are; "guestgate": with the series applied), built with Xen emulation on,
# linked as build/kvm-VARIANT (build/kvm for guestgate's).
build_kvm()
{
	local variant=$1 key B p undef

	key=$( {
		echo "recipe=$RECIPE $variant $SOURCES"
		[ "$variant" = stock ] || while read -r p; do
			case $p in '' | '#'*) continue ;; esac
			echo "$p"
			cat "$KVM_DIR/patches/$p"
		done <"$SERIES"
	} | sha256sum | cut -c1-12)
	B=$GG_CACHE/kvm/$(basename "$KDIR")-$variant-$key

	# The copy: the tree's sources (not its build products), then the
	# series.
	if [ ! -f "$B/.prepared" ]; then
		gg_log "kvm: copying the kernel's KVM sources to $B ($variant)"
		# One copy per kernel tree and variant: the older ones go.
		rm -rf "$B" "$GG_CACHE/kvm/$(basename "$KDIR")-$variant"-*
		mkdir -p "$B"
		# shellcheck disable=SC2086
		(cd "$KDIR" && find $SOURCES \( -name '*.[chS]' -o -name 'Makefile*' \
			-o -name Kconfig \) ! -name '*.mod.c' ! -name 'kvm-asm-offsets.h' \
			-print0 | cpio -0pdm --quiet "$B")
		# Its own repository: git apply works from the top of the work
		# tree it is in, and the cache may be in another's.
		git init -q "$B"
		[ "$variant" = stock ] || while read -r p; do
			case $p in '' | '#'*) continue ;; esac
			git -C "$B" apply --whitespace=error-all "$KVM_DIR/patches/$p" ||
				gg_die "kvm: $p does not apply to $KDIR"
		done <"$SERIES"
		# Kbuild reads this before the tree's Makefile: the copy's
		# headers (include/linux/kvm_host.h, guestgate.h) come before
		# the kernel's, and arch/x86/kvm's before the tree's for the
		# files of svm/ and vmx/. (The trace headers are still the
		# tree's: define_trace.h includes them by a path relative to
		# itself. The series does not touch them.)
		# CONFIG_KVM_XEN is off in the test kernel and touches nothing
		# outside kvm.ko and its vendor modules (the fields it adds to
		# struct kvm_arch and kvm_vcpu_arch are theirs): it is turned on
		# here, for these modules, as Kconfig would (the make variable
		# for the Makefile, the macro for the sources).
		cat >"$B/arch/x86/kvm/Kbuild" <<-'EOF'
			# SPDX-License-Identifier: GPL-2.0
			NOSTDINC_FLAGS += -I$(src)/../../../include
			ccflags-y += -I$(src) -DCONFIG_KVM_XEN=1
			CONFIG_KVM_XEN := y
			include $(src)/Makefile
		EOF
		touch "$B/.prepared"
	fi

	# guestgate's headers, copied only when they changed: kbuild's
	# dependency tracking rebuilds what includes them.
	if [ "$variant" = guestgate ]; then
		for h in $(cd "$GG_TOP" && echo include/linux/guestgate.h \
			include/linux/guestgate/*.h include/uapi/linux/guestgate.h); do
			mkdir -p "$B/$(dirname $h)"
			cmp -s "$GG_TOP/$h" "$B/$h" || cp "$GG_TOP/$h" "$B/$h"
		done
	fi

	gg_log "kvm: building kvm.ko, kvm-amd.ko and kvm-intel.ko ($variant, Xen on)"
	# shellcheck disable=SC2046
	make -s -C "$KDIR" $(gg_kmake_vars) -j"$(nproc)" M="$B/arch/x86/kvm" \
		KBUILD_EXTRA_SYMBOLS="$GG_TOP/Module.symvers" modules
	# The series did its work (or, stock, was not applied): kvm
	# registers with guestgate, not with perf. (nm's output in a
	# variable: grep -q would end the pipe early, and pipefail would see
	# nm's SIGPIPE.)
	# Its pfn caches are guestgate's, and KVM's own invalidation of them
	# (the walk of kvm->gpc_list from its mmu_notifier) is not built.
	undef=$(nm -u "$B/arch/x86/kvm/kvm.ko")
	syms=$(nm "$B/arch/x86/kvm/kvm.ko")
	grep -qw kvm_xen_hvm_set_attr <<<"$syms" ||
		gg_die "kvm: $B/arch/x86/kvm/kvm.ko has no Xen emulation"
	if [ "$variant" = stock ]; then
		grep -qw perf_register_guest_info_callbacks <<<"$undef" &&
			grep -qw gfn_to_pfn_cache_invalidate_start <<<"$syms" ||
			gg_die "kvm: the stock $B/arch/x86/kvm/kvm.ko is not stock"
		ln -sfn "$B/arch/x86/kvm" "$GG_TOP/build/kvm-stock"
	else
		grep -qw guestgate_register_guest_info_callbacks <<<"$undef" &&
			! grep -qw perf_register_guest_info_callbacks <<<"$undef" ||
			gg_die "kvm: $B/arch/x86/kvm/kvm.ko does not register with guestgate"
		grep -qw guestgate_gpc_init <<<"$undef" &&
			! grep -qw gfn_to_pfn_cache_invalidate_start <<<"$syms" ||
			gg_die "kvm: $B/arch/x86/kvm/kvm.ko's pfn caches are not guestgate's"
		ln -sfn "$B/arch/x86/kvm" "$GG_TOP/build/kvm"
	fi
}

mkdir -p "$GG_TOP/build"
build_kvm stock
build_kvm guestgate

# The KVM selftests of the same tree, with its UAPI headers.
S=$GG_CACHE/kvm-selftests/$(basename "$KDIR")
if [ ! -f "$S/.built" ]; then
	gg_log "kvm: building the kernel's KVM selftests into $S"
	rm -rf "$S"
	mkdir -p "$S"
	# shellcheck disable=SC2046
	{
		make -s -C "$KDIR" $(gg_kmake_vars) headers_install \
			INSTALL_HDR_PATH="$S/usr" &&
		make -s -C "$KDIR/tools/testing/selftests/kvm" -j"$(nproc)" \
			OUTPUT="$S/bin" KHDR_INCLUDES="-isystem $S/usr/include"
	} >"$S/build.log" 2>&1 || gg_die "kvm: the KVM selftests did not build: see $S/build.log"
	touch "$S/.built"
fi

ln -sfn "$S/bin" "$GG_TOP/build/kvm-selftests"
