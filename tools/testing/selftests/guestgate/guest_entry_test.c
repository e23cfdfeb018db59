// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: guest entry and exit, observed on the running kernel.
 *
 * The toy vCPU of samples/guestgate runs KVM's loop around guest entry in
 * the test's task (GUESTGATE_SAMPLE_IOCTL_VCPU_RUN), with guestgate's
 * helpers; guestgate_test.ko runs the same loop with one deliberate bug
 * (guestgate_test/guest_entry). What the tests look at is the kernel's own
 * bookkeeping:
 *
 * - guest time: field 43 (guest_time) of /proc/self/stat and the guest
 *   column of the CPU's line in /proc/stat. On CPU 0, time is charged per
 *   tick: a tick that lands in the guest is taken when the loop enables
 *   interrupts, and counts as guest time only while guest timing is still
 *   entered. The variant that exits timing first gets none. CPU 1 is
 *   nohz_full with vtime accounting: guest time is clocked from timing
 *   enter to timing exit, with or without the bug.
 * - RCU: while the toy sits in one long guest entry on nohz_full CPU 1 with
 *   interrupts disabled, synchronize_rcu() on CPU 0 completes: the guest is
 *   an RCU extended quiescent state. The variant without the context
 *   tracking step blocks it until the guest exits.
 * - lockdep: its hardirq state matches the CPU's after each guest exit and
 *   in each interrupt window.
 *
 * Needs two CPUs with CPU 1 nohz_full, guestgate.ko, guestgate_sample.ko and
 * guestgate_test.ko loaded, debugfs mounted and root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "debugfs_counter.h"
#include "guestgate_sample.h"
#include "pin_cpu.h"
#include "proc_stat.h"

#include "kselftest_harness.h"

#define ENTRY_FILE	"/sys/kernel/debug/guestgate_test/guest_entry"
#define SYNC_RCU_FILE	"/sys/kernel/debug/guestgate_test/sync_rcu"
#define GG_ENTRY_FILE	"/sys/kernel/debug/guestgate/guest_entry"

/* The accounting runs: 1 s of 500 us guest entries. */
#define RUN_MS		1000
#define GUEST_US	500
/* The RCU runs: one guest entry of 500 ms, far below the stall timeout. */
#define RCU_GUEST_US	500000

/* What a run reports, from the sample's ioctl or the stress module. */
struct run {
	uint64_t entries;
	uint64_t guest_cycles;
	uint64_t t_start, t_end, t_first_in, t_last_out;
	unsigned int cpu;
};

/* Field 43 of /proc/self/stat: the process's guest time, in clock ticks. */
static long long task_guest_ticks(void)
{
	char buf[2048], *p;
	long long v = -1;
	int fd, n, field;

	fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* Fields count from the one after the command name's ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	for (field = 3; field <= 43; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
		if (field == 43)
			v = strtoll(p, NULL, 10);
	}
	return v;
}

static int vcpu_run(unsigned int ms, unsigned int guest_us,
		    struct guestgate_sample_vcpu_run *out)
{
	struct guestgate_sample_vcpu_run r = { .ms = ms, .guest_us = guest_us };
	int fd, ret;

	fd = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, &r) ? -errno : 0;
	close(fd);
	*out = r;
	return ret;
}

/* The toy's loop through the sample (@variant NULL) or a stress variant. */
static int run_loop(const char *variant, unsigned int ms, unsigned int guest_us,
		    struct run *res)
{
	struct guestgate_sample_vcpu_run r;
	char cmd[64];
	int ret;

	memset(res, 0, sizeof(*res));
	if (!variant) {
		ret = vcpu_run(ms, guest_us, &r);
		res->entries = r.entries;
		res->guest_cycles = r.guest_cycles;
		res->t_start = r.t_start;
		res->t_end = r.t_end;
		res->t_first_in = r.t_first_in;
		res->t_last_out = r.t_last_out;
		res->cpu = r.cpu;
		return ret;
	}
	snprintf(cmd, sizeof(cmd), "%s %u %u", variant, ms, guest_us);
	ret = -debugfs_write(ENTRY_FILE, cmd);
	if (ret)
		return ret;
	res->entries = debugfs_counter(ENTRY_FILE, "entries");
	res->guest_cycles = debugfs_counter(ENTRY_FILE, "guest_cycles");
	res->t_start = debugfs_counter(ENTRY_FILE, "t_start");
	res->t_end = debugfs_counter(ENTRY_FILE, "t_end");
	res->t_first_in = debugfs_counter(ENTRY_FILE, "t_first_in");
	res->t_last_out = debugfs_counter(ENTRY_FILE, "t_last_out");
	res->cpu = debugfs_counter(ENTRY_FILE, "cpu");
	return 0;
}

/*
 * Guest time the run of @variant on @cpu added, in clock ticks: to the task
 * and to the CPU; the ticks the CPU accounted meanwhile, and the run's wall
 * time in ticks.
 */
struct guest_time {
	long long task, cpu, cpu_total, run_ticks;
	struct run run;
};

static int measure_guest_time(int cpu, const char *variant, struct guest_time *g)
{
	long long task0, cpu0, total0, hz = sysconf(_SC_CLK_TCK);
	int ret;

	if (pin_cpu(cpu))
		return -errno;
	task0 = task_guest_ticks();
	if (task0 < 0 || cpu_ticks(cpu, &cpu0, &total0))
		return -EINVAL;
	ret = run_loop(variant, RUN_MS, GUEST_US, &g->run);
	if (ret)
		return ret;
	g->task = task_guest_ticks();
	if (g->task < 0 || cpu_ticks(cpu, &g->cpu, &g->cpu_total))
		return -EINVAL;
	g->task -= task0;
	g->cpu -= cpu0;
	g->cpu_total -= total0;
	g->run_ticks = (long long)(g->run.t_end - g->run.t_start) * hz / 1000000000LL;
	return 0;
}

static void log_guest_time(struct __test_metadata *_metadata, const char *what,
			   int cpu, struct guest_time *g)
{
	TH_LOG("%s, CPU %d: %llu entries in %lld ticks, %lld accounted",
	       what, cpu, (unsigned long long)g->run.entries, g->run_ticks,
	       g->cpu_total);
	TH_LOG("guest time: task %lld, cpu%d %lld ticks", g->task, cpu, g->cpu);
}

/*
 * The accounting runs, one per CPU and loop. The bounds asserted for "most":
 * no more than the run plus two ticks of rounding, and
 * - vtime (CPU 1): at least half of the ticks the CPU accounted (the toy
 *   spends most of each iteration in the guest, and its own work around it
 *   is under guest timing too);
 * - per tick (CPU 0): at least a fifth of them, four times the bound of
 *   "none". A tick is the guest's if it came while the guest ran and the
 *   host's if it came during the toy's own work between two entries; that
 *   work takes longer the slower or busier the machine, and under TCG QEMU
 *   decides when a timer interrupt arrives, so the guest's share varies a
 *   lot from one machine or run to the next. The variant that charges none
 *   gets none in every run.
 * "None": at most 5 %. Shares are of the ticks the CPU accounted, not of the
 * wall time: on a loaded host the VM's timer interrupts come late and some
 * ticks are never accounted at all.
 */
FIXTURE(guest_time) {
	struct guest_time g;
};

FIXTURE_VARIANT(guest_time) {
	int cpu;
	const char *variant;	/* NULL: the toy vCPU of the sample */
	int per_tick;		/* the CPU accounts per tick, not vtime */
	int most_is_guest;
};

/* CPU 0 charges per tick: the guest's ticks count if timing is still on. */
FIXTURE_VARIANT_ADD(guest_time, ticks_cpu0) {
	.cpu = 0, .variant = NULL, .per_tick = 1, .most_is_guest = 1,
};

FIXTURE_VARIANT_ADD(guest_time, ticks_cpu0_timing_exit_early) {
	.cpu = 0, .variant = "timing_exit_early", .per_tick = 1, .most_is_guest = 0,
};

/* CPU 1 clocks vtime from timing enter to exit: the bug does not show. */
FIXTURE_VARIANT_ADD(guest_time, vtime_cpu1) {
	.cpu = 1, .variant = NULL, .most_is_guest = 1,
};

FIXTURE_VARIANT_ADD(guest_time, vtime_cpu1_timing_exit_early) {
	.cpu = 1, .variant = "timing_exit_early", .most_is_guest = 1,
};

FIXTURE_SETUP(guest_time)
{
}

FIXTURE_TEARDOWN(guest_time)
{
}

TEST_F(guest_time, task_and_cpu)
{
	struct guest_time *g = &self->g;

	ASSERT_EQ(0, measure_guest_time(variant->cpu, variant->variant, g));
	log_guest_time(_metadata, variant->variant ?: "toy vCPU", variant->cpu, g);
	EXPECT_EQ((unsigned int)variant->cpu, g->run.cpu);
	/* A tenth of the run at least: the share below means something. */
	ASSERT_GE(g->cpu_total * 10, g->run_ticks);
	if (variant->most_is_guest) {
		/* A half (vtime) or a fifth (per tick), in tenths. */
		long long tenths = variant->per_tick ? 2 : 5;

		EXPECT_GE(g->task * 10, g->cpu_total * tenths);
		EXPECT_LE(g->task, g->run_ticks + 2);
		EXPECT_GE(g->cpu * 10, g->cpu_total * tenths);
		EXPECT_LE(g->cpu, g->run_ticks + 2);
	} else {
		EXPECT_LE(g->task * 20, g->cpu_total);
		EXPECT_LE(g->cpu * 20, g->cpu_total);
	}
}

/* The guest side of the RCU tests: one long guest entry on CPU 1. */
struct rcu_guest {
	const char *variant;
	/* The thread that reads sync_rcu, its file, and whether it is done. */
	pid_t reader;
	int fd;
	int read_done;
	int ret;
	struct run run;
	/* From the read of sync_rcu to CPU 1 in guest timing. */
	unsigned int waited_ms;
};

/* Whether thread @tid is in a read() of @fd, from /proc. */
static bool in_read(pid_t tid, int fd)
{
	char path[64], buf[128];
	long nr, arg;
	int f, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return sscanf(buf, "%ld %lx", &nr, &arg) == 2 && nr == SYS_read && arg == fd;
}

/*
 * Enters the guest once the reader waits for it in the kernel: a guest that
 * began earlier could be over before a late reader (on a loaded host, or a
 * slow one) looks, and the reader would wait for one that never comes.
 */
static void *rcu_guest_thread(void *arg)
{
	struct rcu_guest *g = arg;

	g->ret = pin_cpu(1) ? -errno : 0;
	if (g->ret)
		return NULL;
	while (!in_read(g->reader, g->fd)) {
		if (__atomic_load_n(&g->read_done, __ATOMIC_ACQUIRE))
			return NULL;
		usleep(1000);
	}
	g->ret = run_loop(g->variant, 1, RCU_GUEST_US, &g->run);
	return NULL;
}

/*
 * synchronize_rcu() on CPU 0 while CPU 1 is in the guest; its times. The
 * stress module starts it 100 ms after it saw CPU 1 enter guest timing.
 *
 * While the guest runs, this thread must not change the address space it
 * shares with the guest's thread: a TLB shootdown would wait for CPU 1,
 * which has interrupts disabled. So the file is opened before, and read
 * once into a buffer on the stack.
 */
static int rcu_while_in_guest(const char *variant, struct rcu_guest *g,
			      uint64_t *t_start, uint64_t *t_end)
{
	unsigned long long start, end;
	unsigned int waited;
	char buf[128];
	pthread_t thread;
	int fd, n, ret;

	memset(g, 0, sizeof(*g));
	g->variant = variant;
	if (pin_cpu(0))
		return -errno;
	fd = open(SYNC_RCU_FILE, O_RDONLY);
	if (fd < 0)
		return -errno;
	g->reader = syscall(SYS_gettid);
	g->fd = fd;
	ret = pthread_create(&thread, NULL, rcu_guest_thread, g);
	if (ret) {
		close(fd);
		return -ret;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	ret = n < 0 ? -errno : 0;
	__atomic_store_n(&g->read_done, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	close(fd);
	if (ret && g->ret)
		fprintf(stderr, "# the guest thread failed: %s\n", strerror(-g->ret));
	if (ret)
		return ret;
	if (n == 0)
		return -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "cpu: %*u guest_cpu: %*d waited_ms: %u t_start: %llu t_end: %llu",
		   &waited, &start, &end) != 3)
		return -EIO;
	g->waited_ms = waited;
	*t_start = start;
	*t_end = end;
	return g->ret;
}

static void log_rcu(struct __test_metadata *_metadata, struct rcu_guest *g,
		    uint64_t t_start, uint64_t t_end)
{
	TH_LOG("guest on CPU %u from 0 to %.1f ms; synchronize_rcu() on CPU 0 from %.1f to %.1f ms",
	       g->run.cpu, (g->run.t_last_out - g->run.t_first_in) / 1e6,
	       ((int64_t)(t_start - g->run.t_first_in)) / 1e6,
	       ((int64_t)(t_end - g->run.t_first_in)) / 1e6);
	TH_LOG("CPU 1 entered guest timing %u ms after the read began", g->waited_ms);
}

/*
 * The RCU cases wait for the guest thread to reach CPU 1's guest window:
 * the module's bound on that wait (60 s) is a hang's, and this timeout is
 * above it.
 */
FIXTURE(rcu) {
};

FIXTURE_SETUP(rcu)
{
}

FIXTURE_TEARDOWN(rcu)
{
}

TEST_F_TIMEOUT(rcu, grace_period_completes_while_in_guest, 90)
{
	uint64_t t_start, t_end;
	struct rcu_guest g;

	ASSERT_EQ(0, rcu_while_in_guest(NULL, &g, &t_start, &t_end));
	log_rcu(_metadata, &g, t_start, t_end);
	ASSERT_EQ(1U, g.run.cpu);
	ASSERT_EQ(1ULL, g.run.entries);
	/* The grace period started and ended inside the guest window. */
	EXPECT_GT(t_start, g.run.t_first_in);
	EXPECT_LT(t_end, g.run.t_last_out);
}

TEST_F_TIMEOUT(rcu, grace_period_blocked_without_context_tracking, 90)
{
	uint64_t t_start, t_end;
	struct rcu_guest g;

	ASSERT_EQ(0, rcu_while_in_guest("no_context_tracking", &g, &t_start, &t_end));
	log_rcu(_metadata, &g, t_start, t_end);
	ASSERT_EQ(1U, g.run.cpu);
	ASSERT_EQ(1ULL, g.run.entries);
	/* Started inside the window, done only once the guest exited. */
	EXPECT_GT(t_start, g.run.t_first_in);
	EXPECT_GE(t_end, g.run.t_last_out);
}

TEST(lockdep_agrees_and_counters)
{
	long long enters0, exits0, timing0, n;
	struct guestgate_sample_vcpu_run r;
	int cpu;

	for (cpu = 0; cpu < 2; cpu++) {
		ASSERT_EQ(0, pin_cpu(cpu));
		enters0 = debugfs_counter(GG_ENTRY_FILE, "guest_enters");
		exits0 = debugfs_counter(GG_ENTRY_FILE, "guest_exits");
		timing0 = debugfs_counter(GG_ENTRY_FILE, "timing_enters");
		ASSERT_EQ(0, vcpu_run(200, GUEST_US, &r));
		TH_LOG("CPU %u: %llu entries, lockdep compared %llu times, %llu mismatches",
		       r.cpu, (unsigned long long)r.entries,
		       (unsigned long long)r.lockdep_checks,
		       (unsigned long long)r.lockdep_mismatches);
		EXPECT_EQ((unsigned int)cpu, r.cpu);
		EXPECT_EQ(2 * r.entries, r.lockdep_checks);
		EXPECT_EQ(0ULL, r.lockdep_mismatches);
		n = r.entries;
		EXPECT_EQ(n, debugfs_counter(GG_ENTRY_FILE, "guest_enters") - enters0);
		EXPECT_EQ(n, debugfs_counter(GG_ENTRY_FILE, "guest_exits") - exits0);
		EXPECT_EQ(n, debugfs_counter(GG_ENTRY_FILE, "timing_enters") - timing0);
	}
	/* No rule of the C API was broken by anything so far. */
	EXPECT_EQ(0, debugfs_counter(GG_ENTRY_FILE, "misuse_irqs_on"));
	EXPECT_EQ(0, debugfs_counter(GG_ENTRY_FILE, "misuse_exit_not_entered"));
	EXPECT_EQ(0, debugfs_counter(GG_ENTRY_FILE, "misuse_timing_nested"));
	EXPECT_EQ(0, debugfs_counter(GG_ENTRY_FILE, "misuse_no_timing"));
}

TEST(vcpu_run_bad_input)
{
	static const struct { unsigned int ms, guest_us, flags; } bad[] = {
		{ 0, GUEST_US, 0 },
		{ GUESTGATE_SAMPLE_MAX_RUN_MS + 1, GUEST_US, 0 },
		{ 10, 0, 0 },
		{ 10, GUESTGATE_SAMPLE_MAX_GUEST_US + 1, 0 },
		{ 10, GUEST_US, 4 },
		{ 10, GUEST_US, 0x80000000 },
	};
	struct guestgate_sample_vcpu_run r;
	unsigned int i;
	int fd;

	fd = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&r, 0, sizeof(r));
		r.ms = bad[i].ms;
		r.guest_us = bad[i].guest_us;
		r.flags = bad[i].flags;
		EXPECT_EQ(-1, ioctl(fd, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, &r));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(fd, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(stress_variant_bad_input)
{
	static const char *const bad[] = {
		"bogus 10 100", "timing_exit_early", "timing_exit_early 0 100",
		"timing_exit_early 10 0", "no_context_tracking 2001 100",
		"no_context_tracking 10 2000001",
	};
	unsigned int i;
	int fd;

	fd = open(ENTRY_FILE, O_WRONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, write(fd, bad[i], strlen(bad[i])));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i]);
	}
	close(fd);
}

TEST_HARNESS_MAIN
