// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_gpc_bench: the cost of two users of KVM's pfn caches on the kvm
 * loaded, for make bench to compare stock kvm with kvm on guestgate in one
 * run.
 *
 *   kvm_gpc_bench CPU N kvmclock
 *	A guest of one vCPU, pinned to CPU, writes MSR_KVM_SYSTEM_TIME_NEW N
 *	times (the same enabled address each time), then HLT. Each write is
 *	an exit that (re)activates the vCPU's pvclock cache on that gpa and
 *	requests a clock update, which the next entry makes: kvmclock's
 *	pvclock_vcpu_time_info written through the cache
 *	(kvm_setup_guest_pvclock()).
 *   kvm_gpc_bench CPU N evtchn
 *	A Xen VM (shared info page and the vCPU's vcpu_info set, by gfn and
 *	gpa) whose vCPU does not run; this task sends event channel port 5 to
 *	it N times with KVM_XEN_HVM_EVTCHN_SEND, clearing the port's pending
 *	bit and the vcpu_info's pending selector before each send, so that
 *	each is a full delivery by the fast path: the shared info cache and
 *	the vcpu_info cache read-locked, checked and written.
 *
 * Prints "name: value" lines: the mode, N, and the nanoseconds of the N.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kvm_vm.h"
#include "pin_cpu.h"

#define GUEST_RIP	0x1000
#define PVCLOCK_GPA	0x2000
#define SHINFO_GPA	0x4000
#define VCPU_INFO_GPA	0x5000
#define PORT		5
/* The 32-bit (compat) layouts: the VM is not in long mode. */
#define SHINFO_PENDING	0x800	/* u32 evtchn_pending[32] */
#define VI_PENDING_SEL	4	/* u32 evtchn_pending_sel of vcpu_info */

static long long ns_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000000LL + t1.tv_nsec - t0->tv_nsec;
}

static int kvmclock(unsigned int n)
{
	/*
	 * 16-bit code: mov $N, %esi; mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx;
	 * mov $PVCLOCK_GPA | 1, %eax; xor %edx, %edx; 1: wrmsr; dec %esi;
	 * jnz 1b; hlt.
	 */
	unsigned char code[] = {
		0x66, 0xbe, 0, 0, 0, 0,			/* mov $N, %esi */
		0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b,	/* mov $0x4b564d01, %ecx */
		0x66, 0xb8, 0x01, 0x20, 0, 0,		/* mov $0x2001, %eax */
		0x66, 0x31, 0xd2,			/* xor %edx, %edx */
		0x0f, 0x30,				/* 1: wrmsr */
		0x66, 0x4e,				/* dec %esi */
		0x75, 0xfa,				/* jnz 1b */
		0xf4,					/* hlt */
	};
	uint32_t *version;
	struct kvm_vm v;
	long long ns;

	memcpy(&code[2], &n, sizeof(n));
	if (kvm_vm_create_or_report(&v, code, sizeof(code), GUEST_RIP))
		return 1;
	ns = kvm_vm_run_to_hlt(&v);
	if (ns < 0) {
		kvm_vm_destroy(&v);
		return 1;
	}
	/* pvclock_vcpu_time_info's version: even, and moved. */
	version = (uint32_t *)((char *)v.mem + PVCLOCK_GPA);
	if (!__atomic_load_n(version, __ATOMIC_RELAXED) ||
	    __atomic_load_n(version, __ATOMIC_RELAXED) % 2) {
		fprintf(stderr, "the guest's pvclock was not written\n");
		kvm_vm_destroy(&v);
		return 1;
	}
	printf("kvmclock_writes: %u\nkvmclock_ns: %lld\n", n, ns);
	kvm_vm_destroy(&v);
	return 0;
}

static int evtchn(unsigned int n)
{
	static const unsigned char hlt = 0xf4;
	struct kvm_xen_hvm_config hvmc = { .flags = KVM_XEN_HVM_CONFIG_EVTCHN_SEND };
	struct kvm_xen_hvm_attr ha = { .type = KVM_XEN_ATTR_TYPE_SHARED_INFO };
	struct kvm_xen_vcpu_attr va = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO };
	struct kvm_irq_routing_xen_evtchn e = {
		.port = PORT, .vcpu = 0,
		.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
	};
	uint32_t *pending, *sel;
	uint8_t *upcall;
	struct timespec t0;
	struct kvm_vm v;
	unsigned int i;
	long long ns;
	int caps;

	if (kvm_vm_create_or_report(&v, &hlt, 1, GUEST_RIP))
		return 1;
	caps = ioctl(v.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	if (!(caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND)) {
		fprintf(stderr, "no KVM_XEN_HVM_CONFIG_EVTCHN_SEND (caps %#x)\n", caps);
		goto fail;
	}
	ha.u.shared_info.gfn = SHINFO_GPA >> 12;
	va.u.gpa = VCPU_INFO_GPA;
	if (ioctl(v.vm, KVM_XEN_HVM_CONFIG, &hvmc) ||
	    ioctl(v.vm, KVM_XEN_HVM_SET_ATTR, &ha) ||
	    ioctl(v.vcpu, KVM_XEN_VCPU_SET_ATTR, &va)) {
		perror("Xen setup");
		goto fail;
	}
	pending = (uint32_t *)((char *)v.mem + SHINFO_GPA + SHINFO_PENDING);
	sel = (uint32_t *)((char *)v.mem + VCPU_INFO_GPA + VI_PENDING_SEL);
	upcall = (uint8_t *)v.mem + VCPU_INFO_GPA;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Shared with the kernel, which writes them through its caches. */
	for (i = 0; i < n; i++) {
		__atomic_store_n(&pending[0], 0, __ATOMIC_RELAXED);
		__atomic_store_n(sel, 0, __ATOMIC_RELAXED);
		__atomic_store_n(upcall, 0, __ATOMIC_RELAXED);
		if (ioctl(v.vm, KVM_XEN_HVM_EVTCHN_SEND, &e)) {
			perror("KVM_XEN_HVM_EVTCHN_SEND");
			goto fail;
		}
	}
	ns = ns_since(&t0);
	/* Delivered through both caches by the last send. */
	if (__atomic_load_n(&pending[0], __ATOMIC_RELAXED) != 1U << PORT ||
	    __atomic_load_n(sel, __ATOMIC_RELAXED) != 1 ||
	    __atomic_load_n(upcall, __ATOMIC_RELAXED) != 1) {
		fprintf(stderr, "not delivered: pending %#x, selector %#x, upcall %u\n",
			pending[0], *sel, *upcall);
		goto fail;
	}
	printf("evtchn_sends: %u\nevtchn_ns: %lld\n", n, ns);
	kvm_vm_destroy(&v);
	return 0;
fail:
	kvm_vm_destroy(&v);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int n;

	if (argc != 4) {
		fprintf(stderr, "usage: %s CPU N kvmclock|evtchn\n", argv[0]);
		return 2;
	}
	n = strtoul(argv[2], NULL, 0);
	if (!n) {
		fprintf(stderr, "N must be at least 1\n");
		return 2;
	}
	if (pin_cpu(atoi(argv[1]))) {
		perror("sched_setaffinity");
		return 1;
	}
	if (!strcmp(argv[3], "kvmclock"))
		return kvmclock(n);
	if (!strcmp(argv[3], "evtchn"))
		return evtchn(n);
	fprintf(stderr, "unknown mode %s\n", argv[3]);
	return 2;
}
