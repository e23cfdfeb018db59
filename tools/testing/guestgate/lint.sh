#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lint guestgate; prints TAP, exits 1 on any failure.
#   - rustfmt --check with the tree's .rustfmt.toml
#   - clippy (the kernel's CLIPPY=1 build with the clippy-driver matching
#     the kernel's rustc), on a copy of the tree
#   - checkpatch.pl --strict on every C file and header, and on the KVM
#     series (kvm/patches/)
#   - kernel-doc -Wall on the headers, and kernel-doc present for every
#     function exported to other modules
#   - the crate also builds without CONFIG_KUNIT (no code only KUnit uses
#     left dead)
#   - compile-fail.sh: misuse of the Rust APIs must not compile
#   - noinstr-check.py on the built module objects (run 'make modules' and
#     'make kvm' first), kvm on guestgate's among them, and on the canary,
#     whose planted call it must flag

set -uo pipefail
. "$(dirname "$0")/lib.sh"

# The module objects noinstr-check.py checks, one a line: the object, the
# objects of the modules whose symbols it uses (comma-separated, or -), and
# "required" if it must have noinstr functions or "may-be-empty" if it may
# have none yet.
NOINSTR_OBJECTS="
guestgate.o				-		required
samples/guestgate/guestgate_sample.o	guestgate.o	required
guestgate_test.o			guestgate.o	required
guestgate_kunit.o			guestgate.o	required
guestgate_misuse_kunit.o		guestgate.o	required
build/kvm/kvm-amd.o	guestgate.o,build/kvm/kvm.o	required
build/kvm/kvm-intel.o	guestgate.o,build/kvm/kvm.o	required
"

kdir=${KDIR:-$(gg_kdir)}
cd "$GG_TOP" || exit 1
n=0
fail=0

# check DESCRIPTION COMMAND...: a TAP line; the output of a failure as
# comments before it, where (K)TAP parsers look for a test's log.
check()
{
	local desc=$1 out

	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n $desc"
	else
		head -40 <<<"$out" | sed 's/^/# /'
		echo "not ok $n $desc"
		fail=1
	fi
}

clippy()
{
	local tmp rc

	tmp=$(mktemp -d)
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tmp"
	make -s -C "$kdir" M="$tmp" $(gg_kmake_vars) CLIPPY=1 \
		CLIPPY_DRIVER="$GG_CLIPPY_DRIVER" modules 2>&1 |
		grep -v '^ *\(CC\|LD\|AR\|BINDGEN\|CLIPPY\|MODPOST\)' | sed "s|$tmp/||g"
	rc=${PIPESTATUS[0]}
	rm -rf "$tmp"
	return "$rc"
}

# Every export of the C API is GPL-only and has kernel-doc in the public
# headers (include/linux/guestgate.h and those of include/linux/guestgate/).
exports_documented()
{
	local sym

	grep -Hn 'EXPORT_SYMBOL(' rust/*_shim.c
	for sym in $(sed -n 's/^EXPORT_SYMBOL_GPL(\(.*\));/\1/p' rust/*_shim.c); do
		grep -q "^ \* $sym() - " include/linux/guestgate.h include/linux/guestgate/*.h ||
			echo "$sym: exported without kernel-doc in include/linux/guestgate{.h,/}"
	done
}

# noinstr_check OBJECT ALSO EMPTY: noinstr-check.py's report on a failure.
noinstr_check()
{
	local obj=$1 also=$2 empty=$3 args=() o out

	if [ "$also" != - ]; then
		for o in ${also//,/ }; do
			args+=(--also "$o")
		done
	fi
	[ "$empty" = required ] || args+=(--allow-empty)
	out=$(python3 "$GG_TOOLS_DIR/noinstr-check.py" --kdir "$kdir" "${args[@]}" "$obj" 2>&1) ||
		echo "$out"
}

# The canary's planted noinstr call must fail the check, and nothing else:
# every finding names guestgate_canary_noinstr_leak, and the correctly
# annotated guestgate_canary_noinstr_ok was checked.
noinstr_canary()
{
	local obj=tools/testing/guestgate/canary/guestgate_canary.o out rc

	out=$(python3 "$GG_TOOLS_DIR/noinstr-check.py" --kdir "$kdir" "$obj" 2>&1)
	rc=$?
	if [ $rc -ne 1 ] ||
	   ! grep -q "FAIL .*guestgate_canary_noinstr_leak" <<<"$out" ||
	   grep "FAIL " <<<"$out" | grep -qv guestgate_canary_noinstr_leak ||
	   ! grep -q "noinstr: guestgate_canary_noinstr_ok$" <<<"$out"; then
		echo "findings on guestgate_canary_noinstr_leak only (exit 1) wanted, got exit $rc:"
		echo "$out"
	fi
}

# The crate also builds for a kernel without CONFIG_KUNIT: kbuild's own
# rustc command for rust/guestgate.o ('make modules' wrote it), with the
# kernel's cfg list less CONFIG_KUNIT*, into a scratch directory.
rust_without_kunit()
{
	local tmp cmd rc

	cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' rust/.guestgate.o.cmd 2>/dev/null)
	[ -n "$cmd" ] || { echo "no rust/.guestgate.o.cmd: run 'make modules' first"; return 1; }
	tmp=$(mktemp -d)
	grep -v CONFIG_KUNIT "$kdir/include/generated/rustc_cfg" >"$tmp/rustc_cfg"
	cmd=$(sed -e "s|@./include/generated/rustc_cfg|@$tmp/rustc_cfg|" \
		-e "s|--emit=dep-info=[^ ]*|--emit=dep-info=$tmp/g.d|" \
		-e "s|--emit=obj=[^ ]*|--emit=obj=$tmp/g.o|" \
		-e "s|--out-dir [^ ]*|--out-dir $tmp|" <<<"$cmd")
	(cd "$kdir" && RUSTC_BOOTSTRAP=1 sh -c "$cmd") 2>&1
	rc=$?
	rm -rf "$tmp"
	return $rc
}

c_files=$(git ls-files -co --exclude-standard '*.c' '*.h')
rs_files=$(git ls-files -co --exclude-standard '*.rs')

# The compile-fail tests (compile-fail.sh), one result each in this plan.
cf_out=$(bash "$GG_TOOLS_DIR/compile-fail.sh" 2>&1)
cf_n=$(echo "$cf_out" | grep -c '^\(not \)\?ok ')

echo "TAP version 13"
kvm_patches=$(git ls-files -co --exclude-standard 'kvm/patches/*.patch')
echo "1..$((6 + $(echo "$c_files" $kvm_patches | wc -w) + $(echo "$NOINSTR_OBJECTS" | grep -c .) + \
	(cf_n ? cf_n : 1)))"
# shellcheck disable=SC2086
check "rustfmt --check" "$GG_RUSTFMT" --check --config-path .rustfmt.toml $rs_files
check "clippy" clippy
check "the crate builds without CONFIG_KUNIT" rust_without_kunit
# shellcheck disable=SC2086
check "kernel-doc -Wall include/ rust/*.h" \
	"$kdir/scripts/kernel-doc" -none -Wall $(git ls-files -co --exclude-standard 'include/*.h' 'rust/*.h')
check "every export is GPL-only with kernel-doc" exports_documented
for f in $c_files; do
	# A private UAPI header is for user space too, which has no BIT():
	# checkpatch exempts include/uapi/ alone.
	# The op group macros take identifiers (a static call's name, a
	# member, arrays), which have no side effects to repeat.
	case $f in
	*_uapi.h) ignore=--ignore=BIT_MACRO ;;
	include/linux/guestgate/op_group.h) ignore=--ignore=MACRO_ARG_REUSE ;;
	*) ignore= ;;
	esac
	# shellcheck disable=SC2086
	check "checkpatch --strict $f" \
		"$kdir/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types $ignore -f "$f"
done
# On stdin: checkpatch reads a file git tracks as a source file, not a patch.
for f in $kvm_patches; do
	check "checkpatch --strict $f" sh -c '"$1" --strict --no-tree --quiet --show-types - <"$2"' \
		- "$kdir/scripts/checkpatch.pl" "$f"
done
check "noinstr check flags the canary's planted call" noinstr_canary
while read -r obj also empty; do
	[ -n "$obj" ] || continue
	check "noinstr check $obj" noinstr_check "$obj" "$also" "$empty"
done <<<"$NOINSTR_OBJECTS"
if [ "$cf_n" -eq 0 ]; then
	check "compile-fail tests ran" sh -c "echo \"\$1\" | head -40" - "$cf_out"
fi
while IFS= read -r line; do
	case $line in
	"ok "*)
		n=$((n + 1))
		echo "ok $n ${line#ok * }"
		;;
	"not ok "*)
		n=$((n + 1))
		echo "not ok $n ${line#not ok * }"
		fail=1
		;;
	"# "*)
		echo "$line"
		;;
	esac
done <<<"$cf_out"
exit $fail
