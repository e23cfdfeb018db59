#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot the test kernel, load guestgate and kvm on guestgate, run a
# KVM guest that perf samples, and show what guestgate does.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

R=$GG_TOP/build/run
rm -rf "$R"
mkdir -p "$R"
gg_log "booting the test kernel (TCG, a few minutes)"
bash "$GG_TOOLS_DIR/vm.sh" demo "$R"
[ -f "$R/done" ] || gg_die "the VM did not finish: see $R/console.log"
cat "$R/demo-kvm.txt" "$R/demo.txt"
echo "== verdict"
python3 "$GG_TOOLS_DIR/judge.py" --demo "$R"
