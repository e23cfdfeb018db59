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

{
	cat "$R/bench.txt"
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
	echo "Rust callers (rust/perf_callbacks.rs): every call of __SCT__ in guestgate.ko"
	echo "  direct calls of a trampoline: $(objdump -dr "$GG_TOP/guestgate.ko" |
		grep -cE 'R_X86_64_PLT32\s+__SCT____guestgate_guest_')"
	echo "  indirect-call thunks in the Rust dispatch: $(objdump -dr "$GG_TOP/guestgate.ko" |
		awk '/perf_callbacks.*guest_state|perf_callbacks.*guest_get_ip/,/^$/' |
		grep -c '__x86_indirect_thunk')"
} | tee "$R/summary.txt"
