#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the benchmarks, in the test VM, then what the built objects
# say about the hot paths. One run; figures are ratios against a baseline
# measured in the same run (TCG timings are not hardware timings).
#
# Prints to stdout and keeps everything in build/bench/.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

R=$GG_TOP/build/bench
rm -rf "$R"
mkdir -p "$R"
gg_log "booting the test kernel and running the benchmarks (TCG)"
bash "$GG_TOOLS_DIR/vm.sh" bench "$R"
[ -f "$R/done" ] || gg_die "the VM did not finish: see $R/console.log"
[ -s "$R/bench.txt" ] || gg_die "no benchmark results: see $R/console.log"

# The pfn cache's target is checked on the bench kernel: on the test kernel
# lockdep's bookkeeping of the read lock is most of the fast path. Its
# modules are built from a copy of the tree (kbuild of 6.12 writes an
# external module's objects into its source directory).
bench_kernel()
{
	local bk tree=$GG_TOP/build/bench-tree

	bk=$(bash "$GG_TOOLS_DIR/build-kernel.sh" bench) || return 1
	rm -rf "$tree"
	mkdir -p "$tree"
	if git -C "$GG_TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$GG_TOP" ls-files -z --cached --others --exclude-standard |
			rsync -a --from0 --files-from=- "$GG_TOP/" "$tree/"
	else
		rsync -a --exclude=/build --exclude=.git "$GG_TOP/" "$tree/"
	fi
	make -C "$tree" -s KDIR="$bk" modules selftests >"$R/bench-kernel-build.log" 2>&1 ||
		{ tail -20 "$R/bench-kernel-build.log" >&2; return 1; }
	gg_log "booting the bench kernel and running the pfn cache benchmark (TCG)"
	KDIR=$bk bash "$tree/tools/testing/guestgate/vm.sh" bench-pfn "$R/bench-kernel"
}
bench_kernel || gg_log "the bench kernel run failed: see $R/bench-kernel/"

# Disassembly of one function of an object, without addresses or bytes.
disasm()
{
	objdump -dr --no-show-raw-insn "$1" |
		awk -v f="<$2>:" '$2 == f { on = 1; next } on && /^$/ { exit } on'
}

# instructions, indirect branches and atomics of one function
count()
{
	local text

	text=$(disasm "$1" "$2")
	printf "%-52s %3d insns  %d indirect  %d atomic\n" "$(basename "$1"): $2" \
		"$(grep -cE '^ +[0-9a-f]+:' <<<"$text")" \
		"$(grep -cE 'call +\*|jmp +\*|__x86_indirect_thunk' <<<"$text")" \
		"$(grep -cE 'lock |xchg +%?[a-z0-9]+,\(' <<<"$text")"
}

# Instructions of a function's fall-through path: from its entry to its
# first return (the compiler moves unlikely branches out of that path).
hot_insns()
{
	disasm "$1" "$2" | grep -E '^ +[0-9a-f]+:' |
		awk '{ n++ } /\tret|__x86_return_thunk/ { exit } END { print n }'
}

# kvm_ratio COUNT NS: per round, NS / COUNT of stock kvm and of kvm on
# guestgate (lines "COUNT: n" and "NS: ns" of bench_kvm.txt after each
# "round: N KVM"), their ratio, and its median over the rounds.
kvm_ratio()
{
	awk -F': ' -v cnt="$1" -v nsk="$2" '
		$1 == "round" { split($2, w, " "); k = w[1] > 0 ? w[2] : "" }
		$1 == cnt { ex[k] = $2 }
		$1 == nsk && k != "" {
			v[k] = $2 / ex[k]
			if (k == "guestgate" && v["stock"] > 0) {
				n++
				r[n] = v["guestgate"] / v["stock"]
				printf "  round %d: stock %8.0f  guestgate %8.0f  ratio %.3f\n",
					n, v["stock"], v["guestgate"], r[n]
			}
		}
		END {
			if (!n) { print "  no results (kvm: MISSED)"; exit }
			# median of the rounds, insertion sort
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			m = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf "  guestgate / stock: median %.3f, spread %.3f..%.3f over %d rounds (<= 1.05 %s)\n",
				m, r[1], r[n], n, m <= 1.05 ? "ok" : "MISSED"
		}' "$R/bench_kvm.txt"
}

# Whole system: a KVM guest's exits, and two users of KVM's pfn caches,
# stock kvm against kvm on guestgate.
kvm_exits()
{
	local stock=$GG_TOP/build/kvm-stock gg=$GG_TOP/build/kvm f

	echo "KVM: a guest's 20000 CPUID exits (each handled in the kernel and re-entered:"
	echo "vcpu_enter_guest(), svm_vcpu_enter_exit()), stock kvm and kvm on guestgate"
	echo "loaded in turns, one run each per round after a warm-up; ns per exit, same run:"
	kvm_ratio exits ns
	echo "KVM's pfn caches: a guest's 2000 writes of MSR_KVM_SYSTEM_TIME_NEW (each an"
	echo "exit, the pvclock cache activated on the same gpa, a kvmclock update written"
	echo "through it at the next entry); ns per write, same run:"
	kvm_ratio kvmclock_writes kvmclock_ns
	echo "KVM's pfn caches: 20000 Xen event channel sends (KVM_XEN_HVM_EVTCHN_SEND, each"
	echo "delivered by the fast path through the shared info and vcpu_info caches);"
	echo "ns per send, same run:"
	kvm_ratio evtchn_sends evtchn_ns
	echo "The guest entry and exit paths in the built objects (callees not counted):"
	for f in "$stock/kvm-amd.ko" "$gg/kvm-amd.ko"; do
		count "$f" svm_vcpu_enter_exit | sed "s|^kvm-amd.ko|  $(
			[ "$f" = "$gg/kvm-amd.ko" ] && echo "guestgate" || echo "stock    ") kvm-amd.ko|"
	done
	echo "  svm_vcpu_enter_exit's fall-through path: stock" \
		"$(hot_insns "$stock/kvm-amd.ko" svm_vcpu_enter_exit) insns, guestgate" \
		"$(hot_insns "$gg/kvm-amd.ko" svm_vcpu_enter_exit) insns"
	for f in "$stock/kvm.ko" "$gg/kvm.ko"; do
		for fn in vcpu_enter_guest kvm_setup_guest_pvclock kvm_xen_set_evtchn_fast kvm_gpc_check; do
			count "$f" $fn | sed "s|^kvm.ko|  $(
				[ "$f" = "$gg/kvm.ko" ] && echo "guestgate" || echo "stock    ") kvm.ko|"
		done
	done
}

# Guest entry: round trips per CPU, guestgate against kvm_host.h's helpers.
guest_entry()
{
	local st=$GG_TOP/guestgate_test.ko

	echo "Guest entry round trip (timing enter, state enter, state exit, timing exit),"
	echo "TSC cycles, best of 7 runs of 2000, interrupts off, same run:"
	awk -F': ' '
		$1 == "cpu" { cpu = $2 }
		$1 == "upstream" { up = $2 / 1000 }
		$1 == "guestgate" { gg = $2 / 1000 }
		$1 == "upstream_irq_reads" { reads = $2 / 1000 }
		$1 == "guestgate_pmu" {
			r = gg / up
			printf "  CPU %s: upstream %8.1f  guestgate %8.1f  ratio %.3f (<= 1.05 %s)",
				cpu, up, gg, r, r <= 1.05 ? "ok" : "MISSED"
			printf "  upstream + 4 IRQ flag reads %8.1f (%.3f)\n", reads, reads / up
			printf "         guestgate + guest PMU context load and put (one PMU registered) %8.1f (%.3f of guestgate)\n",
				$2 / 1000, $2 / 1000 / gg
		}' "$R/bench_guest_entry.txt"
	echo "The round trip functions of the test module (both inline their helpers;"
	echo "the kernel functions both call, lockdep, vtime, context tracking, not counted):"
	count "$st" gg_bench_round_trip_upstream
	count "$st" gg_bench_round_trip_guestgate
	count "$GG_TOP/guestgate.ko" guestgate_pmu_load_guest_context
	count "$GG_TOP/guestgate.ko" guestgate_pmu_try_load_guest_context
	count "$GG_TOP/guestgate.ko" guestgate_pmu_put_guest_context
	echo "  fall-through path: upstream $(hot_insns "$st" gg_bench_round_trip_upstream) insns," \
		"guestgate $(hot_insns "$st" gg_bench_round_trip_guestgate) insns"
}

# The pfn cache: cycles per access and ratios, same run, of one kernel.
#   pfn_cache_figures RESULTS_FILE TARGET(yes|no)
pfn_cache_figures()
{
	awk -F': ' -v target="$2" '
		{ v[$1] = $2 }
		END {
			c = v["cache_write"]; if (c == 0) c = 1
			printf "  4-byte write: cache (read lock, check, write, unlock) %d,", c
			printf " gup_fast+kmap+put_page %d, copy_to_user %d\n", v["gup_write"],
				v["copy_to_user"]
			r = v["gup_write"] / c
			printf "    gup / cache %.1fx", r
			if (target == "yes")
				printf " (>= 10x %s)", (r >= 10 ? "ok" : "MISSED")
			printf ", copy_to_user / cache %.2fx\n", v["copy_to_user"] / c
			u = v["rust_write"]
			if (u > 0) {
				printf "  from Rust (read(4), the guard'"'"'s write_u32(), drop) %d:", u
				printf " gup / Rust %.1fx", v["gup_write"] / u
				if (target == "yes")
					printf " (>= 10x %s)", (v["gup_write"] / u >= 10 ? "ok" : "MISSED")
				printf "\n"
			}
			f = v["rwlock_inline"]; if (f == 0) f = 1
			printf "  floor of an rwlock-protected cache (read_lock, inline check, write,"
			printf " read_unlock; no call into guestgate) %d: gup / floor %.1fx,", f,
				v["gup_write"] / f
			printf " cache / floor %.2fx\n", c / f
			k = v["check_write"]; if (k == 0) k = 1
			printf "  of which check + write under one read lock per batch %d:", k
			printf " read lock + unlock %d; gup / check+write %.1fx\n",
				c - k, v["gup_write"] / k
			printf "  refresh: %d quiet, %d while another thread storms MADV_DONTNEED on an\n",
				v["refresh"], v["refresh_storm"]
			printf "    unrelated range (%d storms): ratio %.2f; cache retries %d -> %d (%s)\n",
				v["storm_zaps"], v["refresh_storm"] / v["refresh"],
				v["retries"], v["retries_storm"],
				(v["retries"] == v["retries_storm"] ? "none added" : "RETRIED")
			printf "  MADV_DONTNEED of one page (median of 301): cached %d, uncached %d,",
				v["zap_cached"], v["zap_uncached"]
			printf " cost of the notifier %+d (%.2fx)\n", v["zap_cached"] - v["zap_uncached"],
				v["zap_cached"] / v["zap_uncached"]
			printf "  cache invalidations: %d, then %d after the 301 cached zaps and the storm:",
				v["invalidations"], v["invalidations_storm"]
			printf " %d from the storm\n", v["invalidations_storm"] - v["invalidations"] - 301
			printf "  bench exit status %s (0: no retry under the storm)\n", v["rc"]
			printf "  activation (/dev/guestgate_test, 201 each, median / largest), quiet, then\n"
			printf "  beside 1 and 2 threads storming MADV_DONTNEED on unrelated memory:\n"
			split("move same", kinds, " ")
			for (i = 1; i <= 2; i++) {
				printf "    %s:", kinds[i] == "move" ? "to the other page" : "same page again  "
				for (n = 0; n <= 2; n++)
					printf " %d / %d%s", v["activate_" kinds[i] "_storm" n "_median"],
						v["activate_" kinds[i] "_storm" n "_max"], n < 2 ? "," : "\n"
			}
		}' "$1"
}

# Op groups: cycles per call of each kind and its ratio to the direct call,
# C and Rust callers, then the switch under load (guestgate_test/op_group).
op_groups()
{
	echo "Op groups (guestgate_test/op_group_bench), TSC cycles per call, best of 7"
	echo "runs of 100000, interrupts on, same run; ratio to the direct call:"
	awk -F': ' '
		{ v[$1] = $2 }
		END {
			n = v["calls"]
			if (n == 0 || v["c_direct"] == 0 || v["rust_direct"] == 0 ||
			    v["ret"] != 0 || v["mode"] != "group") {
				print "  no results (or the switch run failed): see bench_op_group.txt"
				exit
			}
			split("group direct indirect section", k, " ")
			split("op through the group (one section)|direct call|pointer + indirect call|section begin + op + end", d, "|")
			for (c = 1; c <= 2; c++) {
				who = c == 1 ? "c" : "rust"
				printf "  %s callers:\n", c == 1 ? "C" : "Rust"
				for (i = 1; i <= 4; i++)
					printf "    %-40s %7.1f  %.2f\n", d[i], v[who "_" k[i]] / n,
						v[who "_" k[i]] / v[who "_direct"]
			}
			printf "  Switch under load (2 CPUs locking, NMI trylocks), %d switches in %d ms",
				v["switches"], v["msecs"]
			printf " (%d refused or abandoned):\n", v["switch_errors"]
			printf "    wall time avg %.2f ms, max %.2f ms (patching of 3 ops to gates and back)\n",
				v["switch_avg_ns"] / 1e6, v["switch_max_ns"] / 1e6
			printf "    switch point (interrupts off) avg %.1f us, max %.1f us; grace periods: 0\n",
				v["window_avg_ns"] / 1e3, v["window_max_ns"] / 1e3
			printf "    lost %d, overlaps %d, torn %d, stuck %d\n", v["lost_increments"],
				v["overlaps"], v["torn"], v["stuck"]
		}' "$R/bench_op_group.txt"
	echo "perf's group (implicit sections), registered and unregistered under the"
	echo "perf stress's readers (task, hrtimer, NMI on every CPU):"
	awk -F'[: ]+' '
		$1 == "ret" { ret = $2 }
		$1 == "mode" { mode = $2 }
		$1 == "torn" { torn = $2 }
		$1 == "switches" { pairs = $2 }
		# Before and after the run: its switches are the difference.
		$1 == "guestgate_perf_group" { seen++; n[seen] = $3; t[seen] = $6; max = $7 }
		END {
			sw = n[2] - n[1]
			if (ret != 0 || mode != "torn" || seen != 2 || sw <= 0) {
				print "  no results (or the stress run failed): see bench_perf_switch.txt"
				exit
			}
			printf "    %d switches (the stress'"'"'s %d registrations and as many unregistrations,",
				sw, pairs
			printf " the toy'"'"'s set out and back), torn sections %d\n", torn
			printf "    wall time avg %.2f ms (max since load %.2f ms): 8 patches, a work item per CPU;",
				(t[2] - t[1]) / sw / 1e6, max / 1e6
			printf " grace periods: 0\n"
		}' "$R/bench_perf_switch.txt"
	echo "Sections in the built object (kernel callees not counted):"
	count "$GG_TOP/guestgate.ko" guestgate_op_group_section_begin
	count "$GG_TOP/guestgate.ko" guestgate_op_group_section_end
	echo "  fall-through path: section_begin" \
		"$(hot_insns "$GG_TOP/guestgate.ko" guestgate_op_group_section_begin) insns"
}

pfn_cache()
{
	local gg f

	echo "pfn cache (guestgate_test/pfn_cache_bench), TSC cycles, same run."
	echo "Bench kernel (the test kernel without lockdep, KASAN, kmemleak;"
	echo "tools/testing/guestgate/bench-kernel.config), where the target is checked:"
	if [ -s "$R/bench-kernel/bench_pfn_cache.txt" ]; then
		pfn_cache_figures "$R/bench-kernel/bench_pfn_cache.txt" yes
	else
		echo "  no results: see $R/bench-kernel/ (gup / cache >= 10x MISSED)"
	fi
	echo "Test kernel (lockdep's lock_acquire/release and KASAN on every access):"
	pfn_cache_figures "$R/bench_pfn_cache.txt" no
	echo "The fast path in the built objects (kernel callees, _raw_read_lock and"
	echo "_raw_read_unlock, lockdep's included, not counted): a C caller's, the"
	echo "sample's runstate write (read lock, inline check, write, unlock; its"
	echo "refresh loop included), and"
	echo "the out-of-line read side the Rust API calls:"
	for gg in "$GG_TOP/build/bench-tree" "$GG_TOP"; do
		[ -f "$gg/guestgate.ko" ] || continue
		case $gg in
		*/bench-tree) echo "  built for the bench kernel:" ;;
		*) echo "  built for the test kernel:" ;;
		esac
		count "$gg/samples/guestgate/guestgate_sample.ko" toy_runstate_write |
			sed 's/^/    /'
		for f in guestgate_gpc_rust_read_lock guestgate_gpc_rust_read_unlock; do
			count "$gg/guestgate.ko" $f | sed 's/^/    /'
		done
		# Not toy_runstate_write's: the compiler lays its refresh loop
		# out as the fall-through path, and the hit path jumps over it.
		echo "    fall-through path: guestgate_gpc_rust_read_unlock" \
			"$(hot_insns "$gg/guestgate.ko" guestgate_gpc_rust_read_unlock) insns"
	done
}

{
	cat "$R/bench.txt"
	echo
	pfn_cache
	echo
	guest_entry
	echo
	kvm_exits
	echo
	op_groups
	echo
	echo "Dispatch path in the built objects (before run-time patching):"
	count "$GG_TOP/guestgate.ko" "__SCT____guestgate_guest_state"
	count "$GG_TOP/guestgate.ko" "guestgate_bridge_state"
	count "$GG_TOP/guestgate.ko" "guestgate_bridge_get_ip"
	count "$GG_TOP/samples/guestgate/guestgate_sample.ko" "bench_dispatch"
	count "$GG_TOP/samples/guestgate/guestgate_sample.ko" "bench_indirect"
	echo
	echo "C call site in another module (samples/guestgate, bench_dispatch):"
	disasm "$GG_TOP/samples/guestgate/guestgate_sample.ko" bench_dispatch |
		grep -B1 -A1 "__SCT__" | sed 's/^/  /'
	echo "  objtool recorded the module's static call sites for the loader:" \
		"$(readelf -SW "$GG_TOP/samples/guestgate/guestgate_sample.ko" |
			awk '$2 == ".static_call_sites" { print $6 }' | { read -r h; echo $((0x$h / 8)); }) sites;"
	echo "  at run time each is a 5-byte 'xor %eax,%eax' while nothing is registered,"
	echo "  a direct call of the registered function once a set is"
	echo
	echo "Rust callers (rust/perf_callbacks/dispatch.rs): every call of __SCT__ in guestgate.ko"
	echo "  direct calls of a trampoline: $(objdump -dr "$GG_TOP/guestgate.ko" |
		grep -cE 'R_X86_64_PLT32\s+__SCT____guestgate_guest_')"
	echo "  indirect-call thunks in the Rust dispatch: $(objdump -dr "$GG_TOP/guestgate.ko" |
		awk '/perf_callbacks.*guest_state|perf_callbacks.*guest_get_ip/,/^$/' |
		grep -c '__x86_indirect_thunk')"
} | tee "$R/summary.txt"
