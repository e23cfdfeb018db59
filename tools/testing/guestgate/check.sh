#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: the modules and kselftests built, lint on the host, every test
# in the VM, the verdict on the host. GG_MAKE is the make to build with (the
# Makefile passes its own, with its command line).
#
# The host's phases and their seconds go to build/check/host.txt, for the
# table of where the time went that judge.py prints.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

R=$GG_TOP/build/check
rm -rf "$R"
mkdir -p "$R"

# host_phase NAME COMMAND...: runs COMMAND and records how long it took.
host_phase()
{
	local name=$1 t0=$SECONDS rc

	shift
	"$@"
	rc=$?
	echo "$name $((SECONDS - t0))" >>"$R/host.txt"
	return $rc
}

gg_log "building the modules and the kselftests"
# shellcheck disable=SC2086
host_phase build ${GG_MAKE:-make --no-print-directory -s} -C "$GG_TOP" modules selftests kvm ||
	gg_die "the build failed"
gg_log "lint"
host_phase lint bash "$GG_TOOLS_DIR/lint.sh" >"$R/lint.tap"
gg_log "booting the test kernel and running the tests (TCG, about 18 minutes)"
host_phase vm bash "$GG_TOOLS_DIR/vm.sh" check "$R"
gg_log "results in $R"
python3 "$GG_TOOLS_DIR/judge.py" --lint "$R/lint.tap" "$R"
