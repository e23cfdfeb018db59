// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_exits_bench: the cost of a VM-Exit round trip of the kvm loaded, for
 * make bench to compare stock kvm with kvm on guestgate in one run.
 *
 * A KVM guest of one vCPU, pinned to a CPU, executes CPUID N times (KVM
 * intercepts it and handles it in the kernel: each is an exit, the exit
 * handler and a new entry through vcpu_enter_guest()'s timing and the
 * vendor's guest state transitions), then HLT (an exit to user space: no
 * in-kernel irqchip). Prints the nanoseconds of the KVM_RUN and KVM's own
 * count of exits, "name: value" lines.
 *
 *   kvm_exits_bench CPU N
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kvm_vm.h"
#include "pin_cpu.h"

#define GUEST_RIP	0x1000

int main(int argc, char **argv)
{
	/*
	 * 16-bit code: mov $N, %esi; 1: xor %eax, %eax; cpuid; dec %esi;
	 * jnz 1b; hlt. (CPUID writes eax, ebx, ecx and edx.)
	 */
	unsigned char code[] = {
		0x66, 0xbe, 0, 0, 0, 0,		/* mov $N, %esi */
		0x66, 0x31, 0xc0,		/* 1: xor %eax, %eax */
		0x0f, 0xa2,			/* cpuid */
		0x66, 0x4e,			/* dec %esi */
		0x75, 0xf7,			/* jnz 1b */
		0xf4,				/* hlt */
	};
	struct kvm_vm v;
	unsigned int n;
	long long ns;
	int cpu;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CPU N\n", argv[0]);
		return 2;
	}
	cpu = atoi(argv[1]);
	n = strtoul(argv[2], NULL, 0);
	if (!n) {
		fprintf(stderr, "N must be at least 1\n");
		return 2;
	}
	memcpy(&code[2], &n, sizeof(n));
	if (pin_cpu(cpu)) {
		perror("sched_setaffinity");
		return 1;
	}
	if (kvm_vm_create_or_report(&v, code, sizeof(code), GUEST_RIP))
		return 1;
	ns = kvm_vm_run_to_hlt(&v);
	if (ns < 0) {
		kvm_vm_destroy(&v);
		return 1;
	}
	printf("cpuids: %u\n", n);
	printf("exits: %lld\n", kvm_vcpu_stat(v.vcpu, "exits"));
	printf("ns: %lld\n", ns);
	kvm_vm_destroy(&v);
	return 0;
}
