#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the cached test kernel under virtme-ng and run guest.sh in it.
#
#   vm.sh check|demo|bench|bench-pfn RESULTS_DIR
#
# TCG, not KVM: this machine's /dev/kvm cannot boot a stock kernel. Two
# vCPUs, CPU 1 nohz_full so guest entry/exit really takes the context
# tracking and RCU paths. Single-threaded TCG (the vCPUs take turns on one
# host thread): with one thread per vCPU, QEMU 7.2 let a CPU execute an int3
# of text_poke_bp() after the patch had completed on every CPU (an "Oops:
# int3" in static call sites under the perf callbacks stress, 2 runs of 2).
# The host's root is the guest's, read-only, so the repository is at its own
# path; RESULTS_DIR is the one writable directory. The console goes to
# RESULTS_DIR/console.log.
#
# The guest's init is vm-init, in an initramfs built here around the host's
# busybox: virtme-ng's own init would coldplug every device through udev and
# wait for it to settle (see vm-init).
#
# Time limits: the boot must reach guest.sh within GUESTGATE_BOOT_LIMIT
# seconds (600), and each phase of guest.sh must end within its own limit,
# which guest.sh enforces itself; this script ends the VM when a phase has
# outlived its limit by GUESTGATE_VM_GRACE seconds more (300), i.e. when the
# guest could not even do that. Either is written to RESULTS_DIR/vm.txt for
# judge.py, with the boot limit and the VM's wall time. Exits with vng's
# status; the results are judged by judge.py, not by this status.
#
# Boot options:
# - no5lvl: with TCG's LA57, an early timer interrupt can land while
#   identify_cpu() has cleared the boot CPU's feature bits; KASAN, briefly
#   seeing 4-level paging, then reports a wild access to a valid address
#   (in about one boot of three here, never with no5lvl).
# - rcupdate.rcu_expedited=1: every synchronize_rcu() is expedited. Same
#   guarantee, far shorter waits under TCG, where the tests (module unloads,
#   sample reloads, unregisters) wait for hundreds of grace periods.
# - tsc=reliable: the clocksource watchdog marked the TSC unstable in the
#   middle of a run (TCG's read-back delays) and the guest fell back to the
#   HPET, whose every read exits to QEMU. TCG's TSC is the host's clock,
#   the same on both vCPUs.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=$1
R=$(realpath "$2")
kdir=${KDIR:-$(gg_kdir)}
boot_limit=${GUESTGATE_BOOT_LIMIT:-600}
grace=${GUESTGATE_VM_GRACE:-300}

[ -f "$kdir/arch/x86/boot/bzImage" ] || gg_die "no test kernel at $kdir: run 'make kernel'"
[ -x /bin/busybox ] || gg_die "no /bin/busybox (busybox-static): run tools/testing/guestgate/setup.sh"
mkdir -p "$R"
export PATH=$GG_VENV/bin:$PATH

# The initramfs: vm-init as /init, and busybox with its applets (no /proc
# yet when the first ones run, so they must be links on PATH).
initramfs=$R/initramfs.cpio
root=$(mktemp -d)
mkdir -p "$root/bin"
cp "$GG_TOOLS_DIR/vm-init" "$root/init"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
(cd "$root" && find . | cpio -o -H newc --quiet) >"$initramfs" ||
	gg_die "cannot build $initramfs"
rm -rf "$root"

echo "boot_limit $boot_limit" >"$R/vm.txt"
start=$(date +%s)
setsid "$GG_VNG" -r "$kdir/arch/x86/boot/bzImage" \
	--disable-kvm --qemu-opt=-accel --qemu-opt=tcg,thread=single \
	--qemu-opt=-initrd --qemu-opt="$initramfs" --skip-modules \
	--force-9p --cpus 2 --memory 2G \
	--append "nohz_full=1 no5lvl rcupdate.rcu_expedited=1 tsc=reliable" \
	--verbose --rwdir "$R" \
	-- env GUESTGATE_KDIR="$kdir" \
	bash "$GG_TOP/tools/testing/guestgate/guest.sh" "$mode" "$R" \
	</dev/null >"$R/console.log" 2>&1 &
vm=$!

# stop REASON: ends the VM, for judge.py and the user.
stop()
{
	echo "killed $1" >>"$R/vm.txt"
	gg_log "ending the VM: $1"
	kill -TERM -- "-$vm" 2>/dev/null
	sleep 10
	kill -KILL -- "-$vm" 2>/dev/null
}

while kill -0 "$vm" 2>/dev/null; do
	sleep 2
	now=$(date +%s)
	if [ ! -f "$R/phases" ]; then
		if [ $((now - start)) -gt "$boot_limit" ]; then
			stop "the boot did not reach guest.sh within $boot_limit s"
			break
		fi
	elif read -r name limit _ 2>/dev/null <"$R/phase"; then
		began=$(stat -c %Y "$R/phase" 2>/dev/null) || continue
		if [ $((now - began)) -gt $((limit + grace)) ]; then
			stop "phase $name outlived its limit of $limit s by $grace s"
			break
		fi
	fi
done
wait "$vm"
rc=$?
echo "wall $(($(date +%s) - start))" >>"$R/vm.txt"
exit $rc
