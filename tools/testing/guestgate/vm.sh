#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the cached test kernel under virtme-ng and run guest.sh in it.
#
#   vm.sh check|demo RESULTS_DIR
#
# TCG, not KVM: this machine's /dev/kvm cannot boot a stock kernel. Two
# vCPUs, CPU 1 nohz_full so guest entry/exit really takes the context
# tracking and RCU paths. Single-threaded TCG (the vCPUs take turns on one
# host thread): with one thread per vCPU, QEMU 7.2 let a CPU execute an int3
# of text_poke_bp() after the patch had completed on every CPU (an "Oops:
# int3" in static call sites under the perf callbacks stress, 2 runs of 2). The host's root is the guest's, read-only, so the
# repository is at its own path; RESULTS_DIR is the one writable directory.
# The console goes to RESULTS_DIR/console.log. Exits with vng's status; the
# results are judged by judge.py, not by this status.
#
# Boot options:
# - module_blacklist=kvm,...: kvm must stay unloaded (it would take perf's
#   single guest-callback slot), but udev loads it for the emulated CPU.
# - no5lvl: with TCG's LA57, an early timer interrupt can land while
#   identify_cpu() has cleared the boot CPU's feature bits; KASAN, briefly
#   seeing 4-level paging, then reports a wild access to a valid address
#   (in about one boot of three here, never with no5lvl).
# - rcupdate.rcu_expedited=1: every synchronize_rcu() is expedited. Same
#   guarantee, far shorter waits under TCG, where the tests (module unloads,
#   200 sample reloads, unregisters) wait for hundreds of grace periods.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=$1
R=$(realpath "$2")
kdir=${KDIR:-$(gg_kdir)}
timeout=${GUESTGATE_VM_TIMEOUT:-900}

[ -f "$kdir/arch/x86/boot/bzImage" ] || gg_die "no test kernel at $kdir: run 'make kernel'"
mkdir -p "$R"
export PATH=$GG_VENV/bin:$PATH

timeout -k 10 "$timeout" "$GG_VNG" -r "$kdir/arch/x86/boot/bzImage" \
	--disable-kvm --qemu-opt=-accel --qemu-opt=tcg,thread=single \
	--force-9p --cpus 2 --memory 2G \
	--append "nohz_full=1 module_blacklist=kvm,kvm_amd,kvm_intel no5lvl rcupdate.rcu_expedited=1" \
	--verbose --rwdir "$R" \
	-- bash "$GG_TOP/tools/testing/guestgate/guest.sh" "$mode" "$R" \
	</dev/null >"$R/console.log" 2>&1
rc=$?
[ $rc -ne 124 ] || gg_log "the VM timed out after ${timeout}s"
exit $rc
