/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * guestgate_sample: userspace interface of /dev/guestgate_sample, the toy
 * vCPU's device.
 */
#ifndef _GUESTGATE_SAMPLE_H
#define _GUESTGATE_SAMPLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GUESTGATE_SAMPLE_DEVICE_PATH	"/dev/guestgate_sample"

/* The instruction pointer the toy guest reports through get_ip(). */
#define GUESTGATE_SAMPLE_GUEST_IP	0x7e57c0de000ULL

/* The longest run GUESTGATE_SAMPLE_IOCTL_RUN accepts, in milliseconds. */
#define GUESTGATE_SAMPLE_MAX_RUN_MS	2000

#define GUESTGATE_SAMPLE_RUN_USER	0x1

/**
 * struct guestgate_sample_run - argument of GUESTGATE_SAMPLE_IOCTL_RUN
 * @cpu: in: the CPU to run the guest on
 * @ms: in: how long, 1 to GUESTGATE_SAMPLE_MAX_RUN_MS milliseconds
 * @flags: in: GUESTGATE_SAMPLE_RUN_USER to run it in guest user mode
 * @pad: zero
 * @t_enter: out: CLOCK_MONOTONIC ns just before the CPU entered the guest
 * @t_in: out: CLOCK_MONOTONIC ns just after it entered
 * @t_out: out: CLOCK_MONOTONIC ns just before it left the guest
 * @t_exit: out: CLOCK_MONOTONIC ns just after it left
 *
 * A perf sample taken on @cpu between @t_in and @t_out is a guest sample;
 * one taken before @t_enter or after @t_exit is not.
 */
struct guestgate_sample_run {
	__u32 cpu;
	__u32 ms;
	__u32 flags;
	__u32 pad;
	__u64 t_enter;
	__u64 t_in;
	__u64 t_out;
	__u64 t_exit;
};

/**
 * struct guestgate_sample_bench - result of GUESTGATE_SAMPLE_IOCTL_BENCH
 * @calls: calls per measurement
 * @empty: TSC cycles per guestgate_guest_state() with nothing registered
 * @registered: the same with a set whose state() is @direct's function
 * @direct: a direct call of an empty function the compiler cannot see into
 * @indirect: READ_ONCE() of a set pointer, NULL check, indirect call of
 *            state() (the scheme before static calls; retpolined)
 *
 * Each figure is the best of several runs, in TSC cycles per call times
 * 1000, loop included.
 */
struct guestgate_sample_bench {
	__u64 calls;
	__u64 empty;
	__u64 registered;
	__u64 direct;
	__u64 indirect;
};

/* Limits of GUESTGATE_SAMPLE_IOCTL_VCPU_RUN. */
#define GUESTGATE_SAMPLE_MAX_GUEST_US	2000000

/*
 * Flags of struct guestgate_sample_vcpu_run: keep @runstate up to date;
 * give the guest the PMU (a mediated vPMU: the vCPU is a mediated user for
 * the run, and loads the guest PMU context for each guest entry).
 */
#define GUESTGATE_SAMPLE_VCPU_RUNSTATE		0x1
#define GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU	0x2

/**
 * struct guestgate_sample_runstate - what the vCPU loop keeps in user memory
 * @entries: guest entries so far
 * @guest_cycles: TSC cycles spent in the guest so far
 *
 * Written after every guest exit through a guestgate pfn cache on the
 * page, as KVM writes a guest's steal time or Xen runstate area. Must not
 * cross a page boundary.
 */
struct guestgate_sample_runstate {
	__u64 entries;
	__u64 guest_cycles;
};

/**
 * struct guestgate_sample_vcpu_run - argument of GUESTGATE_SAMPLE_IOCTL_VCPU_RUN
 * @ms: in: how long to run the vCPU loop, 1 to GUESTGATE_SAMPLE_MAX_RUN_MS
 *      milliseconds
 * @guest_us: in: how long each guest entry lasts (the guest spins with
 *            interrupts disabled), 1 to GUESTGATE_SAMPLE_MAX_GUEST_US
 * @flags: in: GUESTGATE_SAMPLE_VCPU_* or zero
 * @cpu: out: the CPU the loop ran on (the caller's: pin the task first)
 * @entries: out: guest entries
 * @guest_cycles: out: TSC cycles spent in the guest
 * @t_start: out: CLOCK_MONOTONIC ns before the first guest timing enter
 * @t_end: out: CLOCK_MONOTONIC ns after the last guest timing exit
 * @t_first_in: out: CLOCK_MONOTONIC ns just before the first state enter
 * @t_last_out: out: CLOCK_MONOTONIC ns just after the last state exit
 * @lockdep_checks: out: times lockdep's hardirq state was compared with the
 *                  CPU's (after state exit, and in each interrupt window)
 * @lockdep_mismatches: out: comparisons where they disagreed
 * @runstate: in: with GUESTGATE_SAMPLE_VCPU_RUNSTATE, the user address of a
 *            struct guestgate_sample_runstate of the calling task
 * @runstate_refreshes: out: refreshes of the runstate's pfn cache (one to
 *                      activate it, one after each invalidation of its page)
 *
 * The loop is KVM's: interrupts off; guest timing enter; state enter; the
 * guest; state exit; interrupts on, so that the interrupts that came in the
 * guest are taken while guest timing counts; interrupts off; guest timing
 * exit; interrupts on. It runs in the calling task (whose guest time grows).
 * With GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU, the guest PMU context is loaded
 * after interrupts are disabled, before guest timing enter, and put before
 * interrupts are enabled, as Linux 7.0's KVM does; EBUSY while a host
 * event counts the guest.
 */
struct guestgate_sample_vcpu_run {
	__u32 ms;
	__u32 guest_us;
	__u32 flags;
	__u32 cpu;
	__u64 entries;
	__u64 guest_cycles;
	__u64 t_start;
	__u64 t_end;
	__u64 t_first_in;
	__u64 t_last_out;
	__u64 lockdep_checks;
	__u64 lockdep_mismatches;
	__u64 runstate;
	__u64 runstate_refreshes;
};

#define GUESTGATE_SAMPLE_IOC_MAGIC	0xBA

/* Run the toy guest. EINVAL: bad cpu, ms, flags or pad. */
#define GUESTGATE_SAMPLE_IOCTL_RUN \
	_IOWR(GUESTGATE_SAMPLE_IOC_MAGIC, 0x00, struct guestgate_sample_run)
/* Register the toy's callbacks with guestgate; its errno (EBUSY). */
#define GUESTGATE_SAMPLE_IOCTL_REGISTER	_IO(GUESTGATE_SAMPLE_IOC_MAGIC, 0x01)
/* Unregister them; guestgate's errno (ENOENT). */
#define GUESTGATE_SAMPLE_IOCTL_UNREGISTER _IO(GUESTGATE_SAMPLE_IOC_MAGIC, 0x02)

/*
 * Benchmark dispatch from this module (a C caller of guestgate in another
 * module). Takes the toy's callbacks down meanwhile. EBUSY if another set
 * than the toy's is registered.
 */
#define GUESTGATE_SAMPLE_IOCTL_BENCH \
	_IOR(GUESTGATE_SAMPLE_IOC_MAGIC, 0x03, struct guestgate_sample_bench)

/*
 * Run the toy vCPU loop in the calling task with guestgate's guest entry
 * helpers. EINVAL: bad ms, guest_us or flags, or a runstate that crosses a
 * page. EFAULT: a runstate that is not mapped writable, at the start or
 * later (the results so far are copied out). EINTR: a signal stopped it
 * (the results so far are copied out).
 */
#define GUESTGATE_SAMPLE_IOCTL_VCPU_RUN \
	_IOWR(GUESTGATE_SAMPLE_IOC_MAGIC, 0x04, struct guestgate_sample_vcpu_run)

#endif /* _GUESTGATE_SAMPLE_H */
