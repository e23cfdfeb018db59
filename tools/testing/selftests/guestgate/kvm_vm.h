/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: a KVM VM of one vCPU in real mode, made with raw
 * ioctls, and the vCPU's statistics.
 */
#ifndef _GUESTGATE_KVM_VM_H
#define _GUESTGATE_KVM_VM_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Guest physical memory, at 0. */
#define KVM_VM_MEM	0x10000

struct kvm_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
};

/*
 * Makes @v: @code at guest physical @rip, the vCPU in real mode (CS base 0,
 * CPL 0) at @rip with interrupts off. Returns NULL, or the step that failed
 * (errno set); kvm_vm_destroy() undoes either.
 */
static inline const char *kvm_vm_create(struct kvm_vm *v, const void *code,
					size_t len, uint64_t rip)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int size;

	v->kvm = -1;
	v->vm = -1;
	v->vcpu = -1;
	v->run = MAP_FAILED;
	v->mem = MAP_FAILED;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return "open /dev/kvm";
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return "KVM_CREATE_VM";
	v->mem = mmap(NULL, KVM_VM_MEM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		return "mmap guest memory";
	memcpy((char *)v->mem + rip, code, len);
	region.memory_size = KVM_VM_MEM;
	region.userspace_addr = (uintptr_t)v->mem;
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region))
		return "KVM_SET_USER_MEMORY_REGION";
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return "KVM_CREATE_VCPU";
	size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return "KVM_GET_VCPU_MMAP_SIZE";
	v->run_size = size;
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		return "mmap kvm_run";
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs))
		return "KVM_GET_SREGS";
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs))
		return "KVM_SET_SREGS";
	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rflags = 0x2;
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs))
		return "KVM_SET_REGS";
	return NULL;
}

/* Undoes kvm_vm_create(), whatever step it reached; a second call is a no-op. */
static inline void kvm_vm_destroy(struct kvm_vm *v)
{
	if (v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->mem != MAP_FAILED)
		munmap(v->mem, KVM_VM_MEM);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
	v->run = MAP_FAILED;
	v->mem = MAP_FAILED;
	v->vcpu = -1;
	v->vm = -1;
	v->kvm = -1;
}

/*
 * kvm_vm_create() for a program that gives up when it fails: says on stderr
 * which step failed and why, and destroys @v. Returns 0, or -1.
 */
static inline int kvm_vm_create_or_report(struct kvm_vm *v, const void *code,
					  size_t len, uint64_t rip)
{
	const char *failed = kvm_vm_create(v, code, len, rip);

	if (!failed)
		return 0;
	fprintf(stderr, "%s: %s\n", failed, strerror(errno));
	kvm_vm_destroy(v);
	return -1;
}

/*
 * Runs @v's vCPU until it executes HLT (an exit to user space: no in-kernel
 * irqchip), through signals. Returns the nanoseconds it took, or -1 after
 * saying why on stderr.
 */
static inline long long kvm_vm_run_to_hlt(struct kvm_vm *v)
{
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ret = ioctl(v->vcpu, KVM_RUN, 0);
	} while ((ret && errno == EINTR) || (!ret && v->run->exit_reason == KVM_EXIT_INTR));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret || v->run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "KVM_RUN: %d (%s), exit reason %u\n", ret, strerror(errno),
			v->run->exit_reason);
		return -1;
	}
	return (t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec;
}

/* A statistic of the vCPU from its binary stats (KVM_GET_STATS_FD), or -1. */
static inline long long kvm_vcpu_stat(int vcpu, const char *name)
{
	struct kvm_stats_header h;
	long long val = -1;
	size_t desc_size;
	uint64_t data;
	char *descs;
	uint32_t i;
	int fd;

	fd = ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -1;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		goto out;
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, desc_size);
	if (!descs)
		goto out;
	if (pread(fd, descs, h.num_desc * desc_size, h.desc_offset) ==
	    (ssize_t)(h.num_desc * desc_size)) {
		for (i = 0; i < h.num_desc; i++) {
			struct kvm_stats_desc *d = (void *)(descs + i * desc_size);

			if (strcmp(d->name, name))
				continue;
			if (pread(fd, &data, sizeof(data), h.data_offset + d->offset) ==
			    sizeof(data))
				val = data;
			break;
		}
	}
	free(descs);
out:
	close(fd);
	return val;
}

#endif /* _GUESTGATE_KVM_VM_H */
