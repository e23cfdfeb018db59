// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_guest_samples: perf attributes samples to a real KVM guest through
 * guestgate.
 *
 * kvm on guestgate (kvm/patches/) registers its perf callbacks with
 * guestgate, and guestgate's bridge is the set perf calls. A KVM guest of
 * one vCPU spins over known RIPs (four NOPs and a jump back, in real mode,
 * CPL 0) on CPU 0,
 * while perf samples CPU 0 (cpu-clock, CPU-wide: every interrupt of its
 * hrtimer makes the guest exit, and perf samples in KVM's interrupt window,
 * where KVM's state() says the guest was running).
 *
 * - kvm.guest_samples: with kvm on guestgate loaded, samples of the vCPU
 *   thread are GUEST_KERNEL with ip one of the guest's RIPs, never
 *   GUEST_USER nor another guest ip; guestgate's guest_samples counter
 *   moved by at least as many; guestgate counted exactly one guest entry
 *   for each of the vCPU's VM-Enters that KVM counts (its "exits"
 *   statistic); and CPU 0's guest time in /proc/stat moved. It logs what
 *   perf saw (make run shows it).
 * - kvm.no_guest_samples: with no kvm loaded, a task spinning on CPU 0 is
 *   sampled and no sample is a guest's.
 *
 * guest.sh runs the second before kvm is loaded and after it is unloaded,
 * the first in between (kselftest_harness's -t selects one). Needs
 * guestgate.ko with its bridge, no other set registered with guestgate,
 * debugfs mounted and root. Not in the kselftest list: guest.sh runs it
 * beside the kvm it loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "debugfs_counter.h"
#include "kvm_vm.h"
#include "perf_ring.h"
#include "pin_cpu.h"
#include "proc_stat.h"

#include "kselftest_harness.h"

#define ENTRY_FILE	"/sys/kernel/debug/guestgate/guest_entry"
#define PERF_FILE	"/sys/kernel/debug/guestgate/perf_callbacks"
#define CPU		0
#define PERIOD_NS	1000000		/* 1 kHz */
#define RUN_MS		2000
/* The guest's code at GUEST_RIP: 1: nop; nop; nop; nop; jmp 1b. */
#define GUEST_RIP	0x1000
static const unsigned char guest_code[] = { 0x90, 0x90, 0x90, 0x90, 0xeb, 0xfa };
#define GUEST_IPS	5	/* the instructions' RIPs, GUEST_RIP + 0..4 */
#define MIN_GUEST_SAMPLES 20

struct tally {
	pid_t tid;		/* the vCPU thread, or 0 */
	long host, guest, guest_user, guest_bad_ip, lost, other_tid;
	long at[GUEST_IPS];	/* guest samples per RIP */
	uint64_t bad_ip;
};

/* Body of PERF_SAMPLE_IP | PERF_SAMPLE_TID. */
struct sample {
	uint64_t ip;
	uint32_t pid, tid;
};

static void tally_record(const struct perf_event_header *hdr, const char *body,
			 void *arg)
{
	const struct sample *s = (const void *)body;
	struct tally *t = arg;

	if (hdr->type == PERF_RECORD_LOST) {
		t->lost++;
		return;
	}
	if (hdr->type != PERF_RECORD_SAMPLE)
		return;
	switch (hdr->misc & PERF_RECORD_MISC_CPUMODE_MASK) {
	case PERF_RECORD_MISC_GUEST_KERNEL:
		t->guest++;
		if (s->ip - GUEST_RIP < GUEST_IPS) {
			t->at[s->ip - GUEST_RIP]++;
		} else {
			t->guest_bad_ip++;
			t->bad_ip = s->ip;
		}
		if (t->tid && (pid_t)s->tid != t->tid)
			t->other_tid++;
		break;
	case PERF_RECORD_MISC_GUEST_USER:
		t->guest_user++;
		break;
	default:
		t->host++;
	}
}

/* A CPU-wide cpu-clock sampler of CPU, enabled; its fd, or -1. */
static int sampler_open(struct ring *ring)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = PERIOD_NS,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID,
		.disabled = 1,
	};
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, -1, CPU, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 || ring_map(ring, fd))
		return -1;
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	return fd;
}

/* Samples CPU for RUN_MS, draining the ring as it goes. */
static void sample_for(struct ring *ring, struct tally *t)
{
	int ms;

	for (ms = 0; ms < RUN_MS; ms += 50) {
		sleep_ms(50);
		ring_drain(ring, tally_record, t);
	}
	ioctl(ring->fd, PERF_EVENT_IOC_DISABLE, 0);
	ring_drain(ring, tally_record, t);
}

/* The VM and its vCPU thread. */
struct vm {
	struct kvm_vm vm;
	pthread_t thread;
	pid_t tid;
	int stop;
	int run_errno;
};

static struct vm *the_vm;

/* SIGUSR1 ends the vCPU's KVM_RUN, or the next one (immediate_exit). */
static void vcpu_kick(int sig)
{
	the_vm->vm.run->immediate_exit = 1;
}

static void *vcpu_thread(void *arg)
{
	struct vm *v = arg;

	__atomic_store_n(&v->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (pin_cpu(CPU)) {
		v->run_errno = errno;
		return NULL;
	}
	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		if (ioctl(v->vm.vcpu, KVM_RUN, 0) && errno != EINTR) {
			v->run_errno = errno;
			break;
		}
		/* Only a signal may end a run of a guest that spins. */
		if (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE) &&
		    v->vm.run->exit_reason != KVM_EXIT_INTR) {
			v->run_errno = 1000 + v->vm.run->exit_reason;
			break;
		}
	}
	return NULL;
}

FIXTURE(kvm) {
	struct ring ring;
	struct tally t;
};

FIXTURE_SETUP(kvm)
{
	memset(&self->t, 0, sizeof(self->t));
	self->ring.fd = -1;
	ASSERT_EQ(0, access(PERF_FILE, R_OK)) TH_LOG("is guestgate.ko loaded?");
	ASSERT_EQ(0, system("grep -qx 'bridge: on' " PERF_FILE))
		TH_LOG("guestgate's bridge is off: perf does not call it");
}

FIXTURE_TEARDOWN(kvm)
{
	if (self->ring.fd >= 0)
		ring_close(&self->ring);
}

TEST_F_TIMEOUT(kvm, guest_samples, 300)
{
	long long samples0, enters0, timing0, exits, enters, timing;
	long long guest0, total0, guest1, total1;
	int i, top;
	struct vm v = { 0 };
	struct sigaction sa = { .sa_handler = vcpu_kick };
	const char *failed;

	if (access("/dev/kvm", F_OK))
		SKIP(return, "no /dev/kvm: kvm is not loaded");
	/* kvm's set: kvm_amd does not load while another is registered. */
	ASSERT_EQ(1, debugfs_counter(PERF_FILE, "registered"));
	samples0 = debugfs_counter(PERF_FILE, "guest_samples");
	enters0 = debugfs_counter(ENTRY_FILE, "guest_enters");
	timing0 = debugfs_counter(ENTRY_FILE, "timing_enters");
	ASSERT_LE(0, samples0);
	ASSERT_EQ(0, cpu_ticks(CPU, &guest0, &total0));

	failed = kvm_vm_create(&v.vm, guest_code, sizeof(guest_code), GUEST_RIP);
	ASSERT_EQ(NULL, failed) TH_LOG("%s: %s", failed, strerror(errno));
	the_vm = &v;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	ASSERT_LE(0, sampler_open(&self->ring));
	ASSERT_EQ(0, pthread_create(&v.thread, NULL, vcpu_thread, &v));
	while (!__atomic_load_n(&v.tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	self->t.tid = v.tid;
	sample_for(&self->ring, &self->t);
	__atomic_store_n(&v.stop, 1, __ATOMIC_RELEASE);
	pthread_kill(v.thread, SIGUSR1);
	pthread_join(v.thread, NULL);

	ASSERT_EQ(0, cpu_ticks(CPU, &guest1, &total1));
	exits = kvm_vcpu_stat(v.vm.vcpu, "exits");
	enters = debugfs_counter(ENTRY_FILE, "guest_enters") - enters0;
	timing = debugfs_counter(ENTRY_FILE, "timing_enters") - timing0;
	kvm_vm_destroy(&v.vm);

	TH_LOG("perf samples of CPU %d: %ld guest, %ld host, %ld lost; guestgate: +%lld",
	       CPU, self->t.guest, self->t.host, self->t.lost,
	       debugfs_counter(PERF_FILE, "guest_samples") - samples0);
	for (top = 0, i = 1; i < GUEST_IPS; i++)
		top = self->t.at[i] > self->t.at[top] ? i : top;
	TH_LOG("guest IPs: 0x%x %ld, 0x%x %ld, 0x%x %ld, 0x%x %ld, 0x%x %ld (top 0x%x)",
	       GUEST_RIP, self->t.at[0], GUEST_RIP + 1, self->t.at[1],
	       GUEST_RIP + 2, self->t.at[2], GUEST_RIP + 3, self->t.at[3],
	       GUEST_RIP + 4, self->t.at[4], GUEST_RIP + top);
	TH_LOG("/proc/stat cpu%d: %lld of %lld ticks were guest time", CPU,
	       guest1 - guest0, total1 - total0);
	TH_LOG("VM-Enters: kvm counted %lld exits; guestgate %lld guest entries, %lld timing",
	       exits, enters, timing);
	ASSERT_EQ(0, v.run_errno)
		TH_LOG("KVM_RUN: errno %d, or 1000 + an unexpected exit reason", v.run_errno);
	EXPECT_LE(MIN_GUEST_SAMPLES, self->t.guest);
	EXPECT_EQ(0, self->t.guest_bad_ip)
		TH_LOG("a guest sample at 0x%llx", (unsigned long long)self->t.bad_ip);
	EXPECT_EQ(0, self->t.guest_user);
	EXPECT_EQ(0, self->t.other_tid);
	EXPECT_LE(self->t.guest, debugfs_counter(PERF_FILE, "guest_samples") - samples0);
	EXPECT_LT(0, exits);
	/*
	 * One guest entry per vcpu_run(), which KVM counts as an exit. Not on
	 * VMX without unrestricted guest, where a run that needs emulation
	 * counts without entering.
	 */
	if (access("/sys/module/kvm_intel", F_OK) ||
	    !system("grep -qx Y /sys/module/kvm_intel/parameters/unrestricted_guest"))
		EXPECT_EQ(exits, enters);
	EXPECT_LT(0, timing);
	EXPECT_LT(0, guest1 - guest0);
}

TEST_F_TIMEOUT(kvm, no_guest_samples, 120)
{
	long long samples0 = debugfs_counter(PERF_FILE, "guest_samples");
	struct timespec end, now;

	if (!access("/dev/kvm", F_OK))
		SKIP(return, "kvm is loaded");
	ASSERT_EQ(0, debugfs_counter(PERF_FILE, "registered"));
	ASSERT_EQ(0, pin_cpu(CPU));
	ASSERT_LE(0, sampler_open(&self->ring));
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += RUN_MS / 1000;
	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	ioctl(self->ring.fd, PERF_EVENT_IOC_DISABLE, 0);
	ring_drain(&self->ring, tally_record, &self->t);
	TH_LOG("samples: %ld host, %ld guest", self->t.host, self->t.guest);
	EXPECT_LE(MIN_GUEST_SAMPLES, self->t.host);
	EXPECT_EQ(0, self->t.guest + self->t.guest_user);
	EXPECT_EQ(samples0, debugfs_counter(PERF_FILE, "guest_samples"));
}

TEST_HARNESS_MAIN
