// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: perf guest-info callbacks switched under real perf samples.
 *
 * perf asks state() several times for one sample: for its IP
 * (perf_instruction_pointer()), for its callchain (perf_callchain_kernel()
 * and _user()) and for its misc flags (perf_misc_flags()). While
 * guestgate_test.ko registers and unregisters, through guestgate, a set
 * whose guest runs on the odd-numbered CPUs (while it is unregistered, its
 * get_ip() takes its time, so that the switch runs while samples are
 * between two calls of state()), perf samples every CPU
 * (cpu-clock, CPU-wide, with callchains) and every CPU is kept busy; every
 * sample is read back from the ring buffer and checked for one answer of
 * state(): its misc flags, its IP and its callchain must all say guest or
 * all say host, and no guest sample may come from an even-numbered CPU.
 *
 * - samples.torn_free: guestgate's switch; no sample may be torn.
 * - samples.no_gate_tears: the switch without its gates (test-only fault
 *   injection), which patches state() from one answer to the other under
 *   samples in flight: some sample must be torn, or the check could not
 *   see the bug.
 *
 * No NMI-context samples: the test VM (TCG) has no PMU; the stress readers
 * of perf_callbacks_test cover NMIs with real NMI IPIs.
 *
 * Needs guestgate.ko and guestgate_test.ko loaded (guestgate_sample.ko's
 * toy steps aside meanwhile), debugfs mounted and root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "debugfs_counter.h"
#include "guestgate_sample.h"
#include "perf_ring.h"
#include "pin_cpu.h"

#include "kselftest_harness.h"

#define STRESS_FILE	"/sys/kernel/debug/guestgate_test/perf"
/* The module's bound on a run that hangs; the cases' timeouts are above. */
#define STRESS_SECONDS	300
#define PERIOD_NS	100000		/* 10 kHz */

/* One counter of the last stress run, or -1. */
static long long stress_counter(const char *name)
{
	return debugfs_counter(STRESS_FILE, name);
}

FIXTURE(samples) {
	int toy;
};

/* The stress registers a set of its own: the toy steps aside meanwhile. */
FIXTURE_SETUP(samples)
{
	self->toy = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (self->toy >= 0)
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_UNREGISTER);
	ASSERT_EQ(0, access(STRESS_FILE, W_OK)) TH_LOG("is guestgate_test.ko loaded?");
}

FIXTURE_TEARDOWN(samples)
{
	if (self->toy >= 0) {
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_REGISTER);
		close(self->toy);
	}
}

/* GG_SAMPLES_GUEST_IP of tools/testing/guestgate_test/guestgate_test.h */
#define SAMPLES_GUEST_IP	0x6767c0de0000ULL
/* Register + unregister pairs of a samples run. */
#define SAMPLES_SWITCHES	30
/* The planted bug's runs: this many pairs each, until a torn sample. */
#define SAMPLES_NO_GATE_SWITCHES 10
#define SAMPLES_NO_GATE_RUNS	20
#define SAMPLES_MAX_STACK	16
#define SAMPLES_MAX_CPUS	64

/* What the samples of a run said. */
struct samples_count {
	long long guest, host, lost;
	/* guest misc flags with a host IP, host flags with the guest's IP */
	long long torn_ip;
	/* a callchain that disagrees with the misc flags */
	long long torn_chain;
	/* guest samples on an even-numbered CPU, where no guest runs */
	long long guest_on_host_cpu;
};

struct samples_run {
	const char *mode;
	int switches;
	int ret;
	int done;
};

static int samples_stop;

/* Keeps a CPU busy in user space: TCG stops a busy vCPU anywhere. */
static void *samples_spin(void *arg)
{
	pin_cpu((int)(long)arg);
	while (!__atomic_load_n(&samples_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

/* Runs the stress module's writer; returns when its run is over. */
static void *samples_writer(void *arg)
{
	struct samples_run *run = arg;
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "%s %d %d", run->mode, run->switches, STRESS_SECONDS);
	run->ret = debugfs_write(STRESS_FILE, cmd);
	__atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int samples_open(struct ring *r, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = PERIOD_NS,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_CPU | PERF_SAMPLE_CALLCHAIN,
		.sample_max_stack = SAMPLES_MAX_STACK,
	};
	int fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -1 : ring_map(r, fd);
}

/* Checks one PERF_RECORD_SAMPLE: ip, cpu, callchain. */
static void samples_check(const char *rec, uint16_t misc, struct samples_count *c)
{
	uint16_t mode = misc & PERF_RECORD_MISC_CPUMODE_MASK;
	int guest = mode == PERF_RECORD_MISC_GUEST_KERNEL ||
		    mode == PERF_RECORD_MISC_GUEST_USER;
	uint64_t ip, nr, i, entry;
	uint32_t cpu;
	int only_contexts = 1, guest_ip;

	memcpy(&ip, rec, 8);
	memcpy(&cpu, rec + 8, 4);
	memcpy(&nr, rec + 16, 8);
	for (i = 0; i < nr && i < SAMPLES_MAX_STACK + 8; i++) {
		memcpy(&entry, rec + 24 + 8 * i, 8);
		/* PERF_CONTEXT_* markers sit at the top of the u64 range. */
		if (entry < (uint64_t)PERF_CONTEXT_MAX)
			only_contexts = 0;
	}
	if (guest)
		c->guest++;
	else
		c->host++;
	guest_ip = ip == SAMPLES_GUEST_IP;
	if (guest != guest_ip)
		c->torn_ip++;
	/* No host stack for a guest sample, always some IP for a host one. */
	if (guest != only_contexts)
		c->torn_chain++;
	if (guest && !(cpu & 1))
		c->guest_on_host_cpu++;
}

static void samples_record(const struct perf_event_header *hdr, const char *body, void *arg)
{
	struct samples_count *c = arg;

	if (hdr->type == PERF_RECORD_SAMPLE)
		samples_check(body, hdr->misc, c);
	else if (hdr->type == PERF_RECORD_LOST)
		c->lost++;
}

/*
 * One run of the stress module's @mode, @switches pairs, with every CPU busy
 * and sampled; adds what the samples said to @c.
 */
static void samples_run(struct __test_metadata *_metadata, const char *mode,
			int switches, struct samples_count *c)
{
	int ncpus = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	struct samples_run run = { .mode = mode, .switches = switches };
	pthread_t spin[SAMPLES_MAX_CPUS], writer;
	struct ring rings[SAMPLES_MAX_CPUS];

	ASSERT_GE(SAMPLES_MAX_CPUS, ncpus);
	ASSERT_LE(2, ncpus) TH_LOG("no odd-numbered CPU for the guest");
	for (cpu = 0; cpu < ncpus; cpu++)
		ASSERT_EQ(0, samples_open(&rings[cpu], cpu))
			TH_LOG("perf_event_open: %s", strerror(errno));
	__atomic_store_n(&samples_stop, 0, __ATOMIC_RELAXED);
	for (cpu = 0; cpu < ncpus; cpu++)
		ASSERT_EQ(0, pthread_create(&spin[cpu], NULL, samples_spin, (void *)(long)cpu));
	ASSERT_EQ(0, pthread_create(&writer, NULL, samples_writer, &run));
	while (!__atomic_load_n(&run.done, __ATOMIC_ACQUIRE)) {
		for (cpu = 0; cpu < ncpus; cpu++)
			ring_drain(&rings[cpu], samples_record, c);
		sleep_ms(10);
	}
	pthread_join(writer, NULL);
	__atomic_store_n(&samples_stop, 1, __ATOMIC_RELAXED);
	for (cpu = 0; cpu < ncpus; cpu++) {
		pthread_join(spin[cpu], NULL);
		ioctl(rings[cpu].fd, PERF_EVENT_IOC_DISABLE, 0);
		ring_drain(&rings[cpu], samples_record, c);
		ring_close(&rings[cpu]);
	}
	ASSERT_EQ(0, run.ret) TH_LOG("%s: %s", mode, strerror(run.ret));
	EXPECT_EQ(0, stress_counter("timed_out"));
	TH_LOG("%s: %lld switches in %lld ms; samples: %lld guest, %lld host, %lld lost records",
	       mode, stress_counter("switches"), stress_counter("msecs"), c->guest, c->host,
	       c->lost);
	TH_LOG("%s: torn: %lld by IP, %lld by callchain; %lld guest samples on even CPUs",
	       mode, c->torn_ip, c->torn_chain, c->guest_on_host_cpu);
}

/*
 * No sample is torn across guestgate's switch: each one's IP, callchain
 * and misc flags agree, while sets are switched in and out under it.
 */
TEST_F_TIMEOUT(samples, torn_free, STRESS_SECONDS + 60)
{
	struct samples_count c = {};

	samples_run(_metadata, "samples", SAMPLES_SWITCHES, &c);
	EXPECT_EQ(SAMPLES_SWITCHES, stress_counter("switches"));
	EXPECT_EQ(0, c.torn_ip);
	EXPECT_EQ(0, c.torn_chain);
	EXPECT_EQ(0, c.guest_on_host_cpu);
	/* Both kinds were seen: the checks above meant something. */
	EXPECT_LT(0, c.guest);
	EXPECT_LT(0, c.host);
}

/*
 * The check can see the bug: the switch without its gates patches state()
 * from one answer to the other under samples in flight, and tears some.
 */
TEST_F_TIMEOUT(samples, no_gate_tears, 600)
{
	struct samples_count c = {};
	int i;

	for (i = 0; i < SAMPLES_NO_GATE_RUNS && !c.torn_ip && !c.torn_chain; i++)
		samples_run(_metadata, "samples_no_gate", SAMPLES_NO_GATE_SWITCHES, &c);
	TH_LOG("%d runs of %d switches", i, SAMPLES_NO_GATE_SWITCHES);
	EXPECT_LT(0, c.torn_ip + c.torn_chain);
	EXPECT_EQ(0, c.guest_on_host_cpu);
}

TEST_HARNESS_MAIN
