#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile-fail tests: misuse of a Rust API must not build. Prints TAP, exits
# 1 on any failure.
#
#   compile-fail.sh [--kbuild] [MODULE/NAME...]
#
# tools/testing/compile_fail/MODULE/NAME.rs is one snippet, compiled as a
# child module of rust/MODULE.rs (so it sees the private items) in a copy of
# the tree. Its header says what it must do:
#
#   // what: TEXT            the TAP line's description
#   // expect: SUBSTRING     the build fails and its output contains
#                            SUBSTRING; repeated, it must contain each
#   // expect-build: ok      the build succeeds: a control, which proves
#                            that the other snippets fail for their misuse,
#                            not for a broken harness or a changed API
#
# An expected substring may start inside a name ("GuestTiming` in ...") so
# that it holds whether rustc prints the name with its path or without.
#
# Speed. The copy is built once by kbuild (rust/guestgate.o, the one object
# a snippet goes into: the C shims never see it). That build
# writes rust/.guestgate.o.cmd, the exact command line kbuild ran for the
# crate, and each snippet then reruns only that command, in KDIR, with
# kbuild's RUSTC_BOOTSTRAP=1: about 0.3 s a snippet against 2.2 s for kbuild
# (rust/guestgate.o or 'make modules' alike: make's start-up is most of it).
# The flags are kbuild's own (-D warnings, panic=abort, codegen to an
# object, so that the post-monomorphization errors of drop checks fire);
# what is skipped runs only after rustc succeeded (objtool, modpost, the
# link). --kbuild builds each snippet with kbuild instead: the reference the
# fast path is checked against, and the fallback when the .cmd file has no
# command. A fast path that broke would fail snippets, not pass them: the
# controls if it always fails, the others if it always succeeds. The copy's
# rust/MODULE.rs is restored after each snippet.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

kdir=${KDIR:-$(gg_kdir)}
cf_dir=tools/testing/compile_fail
crate_obj=rust/guestgate.o
use_kbuild=0
[ "${1:-}" = --kbuild ] && { use_kbuild=1; shift; }

cd "$GG_TOP" || exit 1
[ -f "$kdir/Module.symvers" ] || gg_die "no kernel build tree at KDIR=$kdir"

if [ $# -gt 0 ]; then
	snippets=("${@%.rs}")
else
	mapfile -t snippets < <(cd "$cf_dir" && ls -1 -- */*.rs | sed 's/\.rs$//')
fi
[ ${#snippets[@]} -gt 0 ] || gg_die "no snippets in $cf_dir"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
tree=$work/tree
mkdir -p "$tree" "$work/orig"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tree"

# kbuild FILE: kbuild builds one file of the copy; its output, less progress.
kbuild()
{
	make -s -C "$kdir" M="$tree" $(gg_kmake_vars) "$1" 2>&1 |
		grep -v '^ *\(CC\|LD\|AR\|BINDGEN\|RUSTC\|MODPOST\)'
	return "${PIPESTATUS[0]}"
}

# build_crate: builds the copy's crate object; its output, paths relative
# to the tree.
build_crate()
{
	local rc

	rm -f "$tree/$crate_obj"
	if [ "$use_kbuild" = 1 ]; then
		kbuild "$crate_obj"
	else
		(cd "$kdir" && RUSTC_BOOTSTRAP=1 sh -c "$rustc_cmd") 2>&1
	fi | sed "s|$tree/||g"
	rc=${PIPESTATUS[0]}
	return "$rc"
}

# diag TEXT: TAP diagnostics, at most 40 lines.
diag()
{
	[ -n "$1" ] && echo "$1" | head -40 | sed 's/^/# /'
}

echo "TAP version 13"
echo "1..${#snippets[@]}"

t0=${EPOCHREALTIME/./}
base_out=$(kbuild "$crate_obj" | sed "s|$tree/||g")
base_rc=${PIPESTATUS[0]}
t1=${EPOCHREALTIME/./}
rustc_cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$tree/rust/.guestgate.o.cmd" 2>/dev/null)
if [ "$base_rc" = 0 ] && [ "$use_kbuild" = 0 ] && [ -z "$rustc_cmd" ]; then
	gg_log "no rustc command in rust/.guestgate.o.cmd: building with kbuild"
	use_kbuild=1
fi

n=0
fail=0
for s in "${snippets[@]}"; do
	n=$((n + 1))
	mod=${s%%/*}
	file=$cf_dir/$s.rs
	what=$(sed -n 's|^// what: ||p' "$file" 2>/dev/null | head -1)
	mapfile -t expect < <(sed -n 's|^// expect: ||p' "$file" 2>/dev/null)
	grep -qx '// expect-build: ok' "$file" 2>/dev/null && control=1 || control=0
	what=${what//#/}
	tap="compile-fail $s: ${what:-?}"

	if [ "$base_rc" != 0 ]; then
		[ "$n" = 1 ] && diag "$base_out"
		echo "# the copy of the tree does not build without a snippet"
		echo "not ok $n $tap"
		fail=1
		continue
	fi
	if [ ! -f "$tree/$file" ] || [ ! -f "$tree/rust/$mod.rs" ]; then
		echo "# no snippet $file or no rust/$mod.rs"
		echo "not ok $n $tap"
		fail=1
		continue
	fi
	if [ $((control + (${#expect[@]} > 0))) != 1 ]; then
		echo "# $file: needs either '// expect: ...' lines or '// expect-build: ok'"
		echo "not ok $n $tap"
		fail=1
		continue
	fi

	cp "$tree/rust/$mod.rs" "$work/orig/$mod.rs"
	printf '\n#[path = "%s"]\nmod compile_fail_snippet;\n' "$tree/$file" >>"$tree/rust/$mod.rs"
	out=$(build_crate)
	rc=$?
	cp "$work/orig/$mod.rs" "$tree/rust/$mod.rs"

	why=()
	if [ "$control" = 1 ]; then
		[ "$rc" = 0 ] || why+=("the control does not build: the other results prove nothing")
	elif [ "$rc" = 0 ]; then
		why+=("built, but the snippet must not compile")
	else
		for e in "${expect[@]}"; do
			grep -qF -- "$e" <<<"$out" || why+=("the build failed, but without: $e")
		done
	fi
	if [ ${#why[@]} -eq 0 ]; then
		echo "ok $n $tap"
	else
		diag "$out"
		printf '# %s\n' "${why[@]}"
		echo "not ok $n $tap"
		fail=1
	fi
done

t2=${EPOCHREALTIME/./}
awk -v n="$n" -v b="$((t1 - t0))" -v s="$((t2 - t1))" -v k="$use_kbuild" 'BEGIN {
	printf "# %d snippets in %.1f s, %.2f s each (%s); the copy'"'"'s first build %.1f s\n",
		n, s / 1e6, s / 1e6 / n, k ? "kbuild" : "rustc from the .cmd file", b / 1e6 }'
exit $fail
