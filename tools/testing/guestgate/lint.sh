#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lint guestgate; prints TAP, exits 1 on any failure.
#   - rustfmt --check with the tree's .rustfmt.toml
#   - clippy (the kernel's CLIPPY=1 build with the clippy-driver matching
#     the kernel's rustc), on a copy of the tree
#   - checkpatch.pl --strict on every C file and header
#   - kernel-doc -Wall on the headers, and kernel-doc present for every
#     function exported to other modules

set -uo pipefail
. "$(dirname "$0")/lib.sh"

kdir=${KDIR:-$(gg_kdir)}
cd "$GG_TOP" || exit 1
n=0
fail=0

# check DESCRIPTION COMMAND...: a TAP line; the output of a failure as comments.
check()
{
	local desc=$1 out

	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n $desc"
	else
		echo "not ok $n $desc"
		echo "$out" | head -40 | sed 's/^/# /'
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

# Every export of the C API is GPL-only and has kernel-doc in the header.
exports_documented()
{
	local sym

	grep -Hn 'EXPORT_SYMBOL(' rust/*_shim.c
	for sym in $(sed -n 's/^EXPORT_SYMBOL_GPL(\(.*\));/\1/p' rust/*_shim.c); do
		grep -q "^ \* $sym() - " include/linux/guestgate.h ||
			echo "$sym: exported without kernel-doc in include/linux/guestgate.h"
	done
}

c_files=$(git ls-files -co --exclude-standard '*.c' '*.h')
rs_files=$(git ls-files -co --exclude-standard '*.rs')

echo "TAP version 13"
echo "1..$((4 + $(echo "$c_files" | wc -w)))"
# shellcheck disable=SC2086
check "rustfmt --check" "$GG_RUSTFMT" --check --config-path .rustfmt.toml $rs_files
check "clippy" clippy
# shellcheck disable=SC2086
check "kernel-doc -Wall include/ rust/shim.h" \
	"$kdir/scripts/kernel-doc" -none -Wall $(git ls-files -co --exclude-standard 'include/*.h') rust/shim.h
check "every export is GPL-only with kernel-doc" exports_documented
for f in $c_files; do
	check "checkpatch --strict $f" \
		"$kdir/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types -f "$f"
done
exit $fail
