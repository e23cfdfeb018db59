#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: lint on the host, every test in the VM, the verdict on the host.
# Expects the modules and kselftests built (the Makefile does that first).

set -uo pipefail
. "$(dirname "$0")/lib.sh"

R=$GG_TOP/build/check
rm -rf "$R"
mkdir -p "$R"
start=$(date +%s)

gg_log "lint"
bash "$GG_TOOLS_DIR/lint.sh" >"$R/lint.tap"
gg_log "booting the test kernel and running the tests (TCG, a few minutes)"
bash "$GG_TOOLS_DIR/vm.sh" check "$R"
gg_log "VM done after $(($(date +%s) - start)) s; results in $R"
python3 "$GG_TOOLS_DIR/judge.py" --lint "$R/lint.tap" "$R"
