// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: perf guest-info callbacks, end to end on the running kernel.
 *
 * - toy: real perf samples (software cpu-clock, CPU-wide) taken while the
 *   sample module's toy vCPU runs "the guest" on a CPU are attributed to
 *   the guest, through perf -> guestgate's bridge -> guestgate's dispatch ->
 *   the toy's callbacks; samples outside the window, and after the toy
 *   unregistered, are not.
 * - stress: drives guestgate_test.ko (torn reads, use after unregister).
 * - reload: the sample module loaded and unloaded RELOADS times while perf
 *   samples every CPU at 10 kHz.
 *
 * The stress runs and the reloads are sized in work done, not in seconds, so
 * that a slow machine tests as much as a fast one. Their time bounds and the
 * cases' timeouts only catch a hang: they are far above what the work takes
 * on a machine several times slower than the test VM needs.
 *
 * Needs guestgate.ko, guestgate_sample.ko and guestgate_test.ko loaded,
 * debugfs mounted and root. GUESTGATE_SAMPLE_KO names the sample's .ko for
 * the reload test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "debugfs_counter.h"
#include "guestgate_sample.h"
#include "perf_ring.h"

#include "kselftest_harness.h"

#define STRESS_FILE	"/sys/kernel/debug/guestgate_test/perf"
/*
 * Register + unregister pairs of a stress run. Every pair is two windows in
 * which a switch can tear; the naive scheme tears in its first.
 */
#define STRESS_SWITCHES	20
/* The module's bound on a run that hangs; the cases' timeouts are above. */
#define STRESS_SECONDS	300
#define RELOADS		50
#define PERIOD_NS	100000		/* 10 kHz */
#define WINDOW_MS	300

struct sample {
	uint16_t misc;
	uint64_t ip;
	uint64_t time;
};

static int perf_open_cpu_clock(int cpu, int enabled)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = PERIOD_NS,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TIME,
		.disabled = !enabled,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
	};

	return syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int ring_open(struct ring *r, int cpu)
{
	int fd = perf_open_cpu_clock(cpu, 0);

	return fd < 0 ? -1 : ring_map(r, fd);
}

/* What ring_samples() collects. */
struct samples_out {
	struct sample *out;
	int max, n, lost;
};

static void ring_sample(const struct perf_event_header *hdr, const char *body, void *arg)
{
	struct samples_out *o = arg;

	if (hdr->type == PERF_RECORD_SAMPLE && o->n < o->max) {
		o->out[o->n].misc = hdr->misc;
		memcpy(&o->out[o->n].ip, body, 8);
		memcpy(&o->out[o->n].time, body + 8, 8);
		o->n++;
	} else if (hdr->type == PERF_RECORD_LOST) {
		o->lost++;
	}
}

/* Reads every sample from the ring (the event is disabled by then). */
static int ring_samples(struct ring *r, struct sample *out, int max, int *lost)
{
	struct samples_out o = { .out = out, .max = max };

	ring_drain(r, ring_sample, &o);
	*lost = o.lost;
	return o.n;
}

/* The CPU the guest runs on: the last online one (nohz_full in the VM). */
static int guest_cpu(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN) - 1;
}

static struct sample samples[RING_PAGES * 4096 / 24];

FIXTURE(toy) {
	int fd;
};

FIXTURE_SETUP(toy)
{
	self->fd = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (is guestgate_sample.ko loaded?)",
				      GUESTGATE_SAMPLE_DEVICE_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(toy)
{
	/* Leave the toy registered, as it was found. */
	ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_REGISTER);
	close(self->fd);
}

/*
 * Samples CPU-wide around one run of the toy guest and checks each sample
 * by its time. @want_misc: the cpumode samples inside the run must have, or
 * 0 if no sample may be a guest sample at all.
 */
static void sample_around_run(struct __test_metadata *_metadata, int toy,
			      uint32_t flags, uint16_t want_misc)
{
	struct guestgate_sample_run run = {
		.cpu = guest_cpu(), .ms = WINDOW_MS, .flags = flags,
	};
	int n, i, lost, in = 0, before_after = 0, guest = 0;
	struct ring r;

	ASSERT_EQ(0, ring_open(&r, run.cpu)) TH_LOG("perf_event_open: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(r.fd, PERF_EVENT_IOC_ENABLE, 0));
	sleep_ms(50);
	ASSERT_EQ(0, ioctl(toy, GUESTGATE_SAMPLE_IOCTL_RUN, &run))
		TH_LOG("run: %s", strerror(errno));
	sleep_ms(50);
	ASSERT_EQ(0, ioctl(r.fd, PERF_EVENT_IOC_DISABLE, 0));
	n = ring_samples(&r, samples, ARRAY_SIZE(samples), &lost);
	ring_close(&r);

	for (i = 0; i < n; i++) {
		struct sample *s = &samples[i];
		uint16_t mode = s->misc & PERF_RECORD_MISC_CPUMODE_MASK;
		int is_guest = mode == PERF_RECORD_MISC_GUEST_KERNEL ||
			       mode == PERF_RECORD_MISC_GUEST_USER;

		guest += is_guest;
		if (s->time >= run.t_in && s->time <= run.t_out) {
			in++;
			if (!want_misc) {
				EXPECT_FALSE(is_guest) TH_LOG("guest sample after unregister");
				continue;
			}
			EXPECT_EQ(want_misc, mode)
				TH_LOG("sample %d in the run: cpumode %u", i, mode);
			EXPECT_EQ(GUESTGATE_SAMPLE_GUEST_IP, s->ip);
		} else if (s->time < run.t_enter || s->time > run.t_exit) {
			before_after++;
			EXPECT_FALSE(is_guest) TH_LOG("guest sample %d outside the run", i);
		}
	}
	TH_LOG("%d samples (%d lost records): %d in the %d ms run, %d outside, %d guest",
	       n, lost, in, WINDOW_MS, before_after, guest);
	/* Enough samples on both sides for the checks above to mean something. */
	EXPECT_LE(10, in);
	EXPECT_LE(1, before_after);
	/* Every sample in the run is a guest sample, or none at all is. */
	EXPECT_LE(want_misc ? in : 0, guest);
	EXPECT_EQ(0, want_misc ? 0 : guest);
}

TEST_F(toy, guest_kernel_samples)
{
	sample_around_run(_metadata, self->fd, 0, PERF_RECORD_MISC_GUEST_KERNEL);
}

TEST_F(toy, guest_user_samples)
{
	sample_around_run(_metadata, self->fd, GUESTGATE_SAMPLE_RUN_USER,
			  PERF_RECORD_MISC_GUEST_USER);
}

TEST_F(toy, no_guest_samples_after_unregister)
{
	ASSERT_EQ(0, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_UNREGISTER));
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_UNREGISTER));
	EXPECT_EQ(ENOENT, errno);
	sample_around_run(_metadata, self->fd, 0, 0);
	ASSERT_EQ(0, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_REGISTER));
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_REGISTER));
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(toy, run_einval)
{
	struct guestgate_sample_run bad[] = {
		{ .cpu = 0, .ms = 0 },
		{ .cpu = 0, .ms = GUESTGATE_SAMPLE_MAX_RUN_MS + 1 },
		{ .cpu = 100000, .ms = 1 },
		{ .cpu = 0, .ms = 1, .flags = 2 },
		{ .cpu = 0, .ms = 1, .pad = 1 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_RUN, &bad[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %u", i);
	}
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_SAMPLE_IOCTL_RUN, NULL));
	EXPECT_EQ(EFAULT, errno);
}

/* One counter of the last stress run, or -1. */
static long long stress_counter(const char *name)
{
	return debugfs_counter(STRESS_FILE, name);
}

FIXTURE(stress) {
	int toy;
};

/* The stress registers sets of its own: the toy steps aside meanwhile. */
FIXTURE_SETUP(stress)
{
	self->toy = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (self->toy >= 0)
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_UNREGISTER);
	ASSERT_EQ(0, access(STRESS_FILE, W_OK)) TH_LOG("is guestgate_test.ko loaded?");
}

FIXTURE_TEARDOWN(stress)
{
	if (self->toy >= 0) {
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_REGISTER);
		close(self->toy);
	}
}

/*
 * One run of STRESS_SWITCHES pairs in @mode. A mode with a planted bug ends
 * at its first sign (@planted): fewer pairs are then expected.
 */
static void stress_run(struct __test_metadata *_metadata, const char *mode,
		       bool planted)
{
	char cmd[64];
	int ret;

	snprintf(cmd, sizeof(cmd), "%s %d %d", mode, STRESS_SWITCHES, STRESS_SECONDS);
	ret = debugfs_write(STRESS_FILE, cmd);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", cmd, strerror(ret));
	TH_LOG("%s: %lld switches in %lld ms, %lld guest sections, %lld torn, %lld uaf hits",
	       cmd, stress_counter("switches"), stress_counter("msecs"),
	       stress_counter("guest_sections"), stress_counter("torn"),
	       stress_counter("uaf_hits"));
	TH_LOG("sections: task %lld, hardirq %lld, NMI %lld; NMIs %lld sent, %lld lost",
	       stress_counter("sections_task"), stress_counter("sections_irq"),
	       stress_counter("sections_nmi"), stress_counter("nmis_sent"),
	       stress_counter("nmis_lost"));
	/* The work was done, not cut short by the time bound. */
	EXPECT_EQ(0, stress_counter("timed_out"))
		TH_LOG("%lld of %d switches in %d s: hung?", stress_counter("switches"),
		       STRESS_SWITCHES, STRESS_SECONDS);
	/* All of them, or up to the first sign of the planted bug. */
	EXPECT_LE(planted ? 1 : STRESS_SWITCHES, stress_counter("switches"));
	EXPECT_GE(STRESS_SWITCHES, stress_counter("switches"));
	/* Every kind of reader ran. */
	EXPECT_LT(0, stress_counter("sections_task"));
	EXPECT_LT(0, stress_counter("sections_irq"));
	EXPECT_LT(0, stress_counter("sections_nmi"));
	EXPECT_LT(0, stress_counter("guest_sections"));
}

TEST_F_TIMEOUT(stress, torn_guestgate, STRESS_SECONDS + 60)
{
	stress_run(_metadata, "torn", false);
	EXPECT_EQ(0, stress_counter("torn"));
}

/* The check can see the bug: upstream's hook-by-hook switch tears. */
TEST_F_TIMEOUT(stress, torn_naive_upstream_order, STRESS_SECONDS + 60)
{
	stress_run(_metadata, "naive", true);
	EXPECT_LT(0, stress_counter("torn"));
}

/*
 * No hook sees its object freed under it, which the uaf_no_rcu_wait run of
 * the harness's canary phase shows this count would see; and KASAN, on in
 * the test kernel, reports any use after free in dmesg.
 */
TEST_F_TIMEOUT(stress, use_after_unregister, STRESS_SECONDS + 60)
{
	stress_run(_metadata, "uaf", false);
	EXPECT_EQ(0, stress_counter("uaf_hits"));
}

/* The torn_no_gate run shows that the readers see the bug it plants. */
TEST_F_TIMEOUT(stress, torn_no_gate, STRESS_SECONDS + 60)
{
	stress_run(_metadata, "torn_no_gate", true);
	EXPECT_LT(0, stress_counter("torn"));
}

TEST(stress_bad_input)
{
	static const char *const bad[] = {
		"torn", "torn 1", "torn 0 1", "torn 1 0", "torn 100001 1", "torn 1 601",
		"bogus 1 1", "torn x 1", "torn 1 x", "torn 1 1 1",
	};
	unsigned int i;
	int fd;

	fd = open(STRESS_FILE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, write(fd, bad[i], strlen(bad[i])));
		EXPECT_EQ(EINVAL, errno) TH_LOG("'%s'", bad[i]);
	}
	close(fd);
}

FIXTURE(reload) {
};

FIXTURE_SETUP(reload)
{
}

FIXTURE_TEARDOWN(reload)
{
}

/*
 * Module load and unload while perf samples every CPU at 10 kHz. A sample
 * that still reaches a hook of an unloaded sample oopses or KASAN reports
 * it, and a registration left behind fails the next load with -EBUSY.
 */
TEST_F_TIMEOUT(reload, sample_under_perf, 600)
{
	const char *ko = getenv("GUESTGATE_SAMPLE_KO");
	int ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	int fds[64], cpu, i, ko_fd;
	struct timespec t0, t1;

	if (!ko)
		SKIP(return, "GUESTGATE_SAMPLE_KO not set");
	ASSERT_GE(64, ncpus);
	for (cpu = 0; cpu < ncpus; cpu++) {
		fds[cpu] = perf_open_cpu_clock(cpu, 1);
		ASSERT_LE(0, fds[cpu]) TH_LOG("perf_event_open: %s", strerror(errno));
	}
	ko_fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ko_fd) TH_LOG("%s: %s", ko, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < RELOADS; i++) {
		ASSERT_EQ(0, syscall(SYS_delete_module, "guestgate_sample", O_NONBLOCK))
			TH_LOG("unload %d: %s", i, strerror(errno));
		ASSERT_EQ(0, syscall(SYS_finit_module, ko_fd, "", 0))
			TH_LOG("load %d: %s", i, strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%d unloads and loads in %.1f s", RELOADS,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(ko_fd);
	for (cpu = 0; cpu < ncpus; cpu++)
		close(fds[cpu]);
}

TEST_HARNESS_MAIN
