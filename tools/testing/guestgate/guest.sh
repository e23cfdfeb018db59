#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM, as root: loads guestgate, its KUnit suites and the
# sample, runs the kselftests, unloads everything and collects what the host
# judges (judge.py). Decides nothing itself: every outcome is a file in $R.
#
#   guest.sh check RESULTS_DIR     the whole test run
#   guest.sh demo RESULTS_DIR      load, show what guestgate does, unload
#
# Results: lifecycle.tap (module load/unload steps as TAP), kunit/<suite>.ktap,
# kselftest/<test>.tap and .rc, kmemleak.txt, tainted, dmesg.txt, then
# canary/ (what the detectors said of a planted WARN and leak), done; in demo
# mode demo.txt instead of the test results.

set -u
mode=$1
R=$2
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
SELFTESTS=$TOP/tools/testing/selftests/guestgate
DBG=/sys/kernel/debug
KMEMLEAK=$DBG/kmemleak

mkdir -p "$R/kunit" "$R/kselftest"
: >"$R/lifecycle.body"
n=0

# step DESCRIPTION COMMAND...: one TAP line of lifecycle.tap.
step()
{
	local desc=$1 out

	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $desc" >>"$R/lifecycle.body"
	else
		echo "not ok $n $desc" >>"$R/lifecycle.body"
		echo "$out" | sed 's/^/# /' >>"$R/lifecycle.body"
	fi
}

kmsg()
{
	echo "guestgate-vm: $*" >/dev/kmsg
}

mountpoint -q $DBG || mount -t debugfs none $DBG

kmsg "start ($mode)"
if [ -w $KMEMLEAK ]; then
	# Report and forget what booting leaked, so the final scans show only
	# what the run leaked; no automatic scans meanwhile. A leak is reported
	# on the second scan that finds it (see the end).
	echo scan=off >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
fi

step "kvm is not loaded (perf's guest-callback slot is free)" \
	sh -c '! grep -qE "^kvm(_amd|_intel)? " /proc/modules'
step "insmod guestgate.ko" insmod "$TOP/guestgate.ko"
step "/dev/guestgate exists" test -c /dev/guestgate
step "debugfs guestgate/state readable" test -r $DBG/guestgate/state
step "insmod guestgate_sample.ko (C API consumer)" \
	insmod "$TOP/samples/guestgate/guestgate_sample.ko"
step "sample reached guestgate through the C API" \
	sh -c 'dmesg | grep -q "guestgate_sample: using guestgate"'

if [ "$mode" = demo ]; then
	{
		echo "== /sys/kernel/debug/guestgate/state"
		cat $DBG/guestgate/state
		echo "== kernel log"
		dmesg | grep -E '\] guestgate[a-z_]*: ' | sed 's/^/  /'
		echo "== kselftests"
		for t in "$SELFTESTS"/*_test; do
			[ -x "$t" ] && "$t" 2>&1 | sed 's/^/  /'
		done
		echo "== /sys/kernel/debug/guestgate/state after the kselftests"
		cat $DBG/guestgate/state
	} >"$R/demo.txt" 2>&1
else
	step "insmod guestgate_kunit.ko (runs the KUnit suites)" \
		insmod "$TOP/guestgate_kunit.ko"
	for d in $DBG/kunit/guestgate*; do
		[ -r "$d/results" ] && cp "$d/results" "$R/kunit/$(basename "$d").ktap"
	done
	step "rmmod guestgate_kunit" rmmod guestgate_kunit

	for t in "$SELFTESTS"/*_test; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		kmsg "kselftest $name"
		(cd "$SELFTESTS" && timeout 300 "$t") >"$R/kselftest/$name.tap" 2>&1
		echo $? >"$R/kselftest/$name.rc"
	done
fi

step "rmmod guestgate_sample" rmmod guestgate_sample
step "rmmod guestgate" rmmod guestgate
step "/dev/guestgate removed" test ! -e /dev/guestgate
step "debugfs guestgate/ removed" test ! -e $DBG/guestgate

kmsg "end ($mode)"
{
	echo "TAP version 13"
	echo "1..$n"
	cat "$R/lifecycle.body"
} >"$R/lifecycle.tap"
rm -f "$R/lifecycle.body"
cat /proc/sys/kernel/tainted >"$R/tainted"
dmesg >"$R/dmesg.txt"

# The run's results are in. Plant a WARN and a leak (tools/testing/guestgate/
# canary/) for the judge to prove the detectors work: the WARN lands after
# dmesg.txt was saved, the leak is told apart by its marker.
if [ "$mode" = check ]; then
	mkdir -p "$R/canary"
	kmsg "canary"
	insmod "$TOP/tools/testing/guestgate/canary/guestgate_canary.ko"
	rmmod guestgate_canary
fi

# kmemleak reports an object once it is 5 s old and unchanged between two
# scans: one scan alone reports nothing allocated since the previous one.
if [ -w $KMEMLEAK ]; then
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >"$R/kmemleak.txt"
fi
[ "$mode" != check ] || dmesg | sed -n '/guestgate-vm: canary/,$p' >"$R/canary/dmesg.txt"
touch "$R/done"
