// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the mediated PMU ownership deal, from perf_event_open() and
 * from in-kernel counters.
 *
 * The PMU is guestgate_test.ko's "guestgate_test", a real perf PMU whose
 * counter is modelled (the test VM has no hardware PMU); it takes part in
 * the deal through guestgate_pmu_account_event(). Its debugfs file
 * guestgate_test/mediated_pmu stands in for a hypervisor (create, release)
 * and for an in-kernel perf user (CPU-wide kernel counters). Each case
 * checks the errnos of both orders and, in its teardown, that nothing is
 * left in the deal: guestgate/mediated_pmu shows no mediated user and no
 * event that counts the guest once every file and event is closed.
 *
 * Needs guestgate.ko and guestgate_test.ko loaded, debugfs mounted and
 * root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "debugfs_counter.h"
#include "guestgate_sample.h"
#include "pin_cpu.h"

#include "kselftest_harness.h"

#define DEAL_FILE	"/sys/kernel/debug/guestgate/mediated_pmu"
#define DEVICE_FILE	"/sys/kernel/debug/guestgate_test/mediated_pmu"
#define PMU_TYPE_FILE	"/sys/bus/event_source/devices/guestgate_test/type"
#define MUX_FILE	"/sys/bus/event_source/devices/guestgate_test/perf_event_mux_interval_ms"
#define SWITCH_FILE	"/sys/kernel/debug/guestgate_test/mediated_pmu_switch"

/* Opens an event of the test PMU; the fd, or -1 with errno set. */
static int pmu_open(int type, bool counts_guest, pid_t pid, int cpu,
		    int group, bool inherit, unsigned long long period)
{
	struct perf_event_attr attr = {
		.type = type,
		.size = sizeof(attr),
		.exclude_guest = !counts_guest,
		.inherit = inherit,
		.sample_period = period,
	};

	return syscall(SYS_perf_event_open, &attr, pid, cpu, group,
		       PERF_FLAG_FD_CLOEXEC);
}

/* The test PMU's perf type, or -1. */
static int pmu_type(void)
{
	FILE *f = fopen(PMU_TYPE_FILE, "r");
	int type = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	return type;
}

/* Writes one command to the test device's file @fd: 0 or its errno. */
static int device_cmd(int fd, const char *cmd)
{
	return write(fd, cmd, strlen(cmd)) < 0 ? errno : 0;
}

static long long deal(const char *name)
{
	return debugfs_counter(DEAL_FILE, name);
}

FIXTURE(deal) {
	int type;
	int dev[2];
	long long bad_leaves;
};

FIXTURE_SETUP(deal)
{
	self->type = pmu_type();
	ASSERT_LE(0, self->type) TH_LOG("is guestgate_test.ko loaded?");
	self->dev[0] = open(DEVICE_FILE, O_RDWR | O_CLOEXEC);
	self->dev[1] = open(DEVICE_FILE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev[0]);
	ASSERT_LE(0, self->dev[1]);
	ASSERT_EQ(0, deal("mediated_users"));
	ASSERT_EQ(0, deal("guest_counting_events"));
	self->bad_leaves = deal("bad_leaves");
}

/* Nothing leaked: with every file closed, nobody is in the deal. */
FIXTURE_TEARDOWN(deal)
{
	close(self->dev[0]);
	close(self->dev[1]);
	EXPECT_EQ(0, deal("mediated_users"));
	EXPECT_EQ(0, deal("guest_counting_events"));
	EXPECT_EQ(deal("events_accounted"), deal("events_unaccounted"));
	EXPECT_EQ(deal("creates"), deal("releases"));
	EXPECT_EQ(self->bad_leaves, deal("bad_leaves"));
}

/* An event from user space that counts the guest keeps a hypervisor out. */
TEST_F(deal, user_event_then_create)
{
	int fd = pmu_open(self->type, true, 0, -1, -1, false, 0);

	ASSERT_LE(0, fd) TH_LOG("perf_event_open: %s", strerror(errno));
	EXPECT_EQ(1, deal("guest_counting_events"));
	EXPECT_EQ(EBUSY, device_cmd(self->dev[0], "create"));
	close(fd);
	EXPECT_EQ(0, device_cmd(self->dev[0], "create"));
	EXPECT_EQ(1, deal("mediated_users"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "release"));
}

/* While a hypervisor is in, user space cannot count the guest. */
TEST_F(deal, create_then_user_event)
{
	int fd;

	ASSERT_EQ(0, device_cmd(self->dev[0], "create"));
	EXPECT_EQ(-1, pmu_open(self->type, true, 0, -1, -1, false, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, pmu_open(self->type, true, -1, 0, -1, false, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Events that exclude the guest are not part of the deal. */
	fd = pmu_open(self->type, false, 0, -1, -1, false, 0);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, deal("guest_counting_events"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "release"));
	fd = pmu_open(self->type, true, 0, -1, -1, false, 0);
	EXPECT_LE(0, fd) TH_LOG("perf_event_open: %s", strerror(errno));
	close(fd);
}

/* The same two orders with in-kernel counters. */
TEST_F(deal, kernel_counter_then_create)
{
	ASSERT_EQ(0, device_cmd(self->dev[0], "counter guest 0"));
	EXPECT_EQ(1, deal("guest_counting_events"));
	EXPECT_EQ(EBUSY, device_cmd(self->dev[1], "create"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "close"));
	EXPECT_EQ(0, device_cmd(self->dev[1], "create"));
	EXPECT_EQ(0, device_cmd(self->dev[1], "release"));
}

TEST_F(deal, create_then_kernel_counter)
{
	ASSERT_EQ(0, device_cmd(self->dev[0], "create"));
	EXPECT_EQ(EOPNOTSUPP, device_cmd(self->dev[1], "counter guest 0"));
	EXPECT_EQ(0, device_cmd(self->dev[1], "counter host 0"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "release"));
	EXPECT_EQ(0, device_cmd(self->dev[1], "counter guest 0"));
	EXPECT_EQ(1, deal("guest_counting_events"));
	EXPECT_EQ(EBUSY, device_cmd(self->dev[0], "create"));
}

/* Several hypervisors at once; events wait for the last to leave. */
TEST_F(deal, several_users)
{
	ASSERT_EQ(0, device_cmd(self->dev[0], "create"));
	ASSERT_EQ(0, device_cmd(self->dev[1], "create"));
	EXPECT_EQ(2, deal("mediated_users"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "release"));
	EXPECT_EQ(EOPNOTSUPP, device_cmd(self->dev[0], "counter guest 0"));
	/* Closing its file releases the user it holds. */
	close(self->dev[1]);
	self->dev[1] = -1;
	EXPECT_EQ(0, deal("mediated_users"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "counter guest 0"));
}

/* A sibling that counts the guest is refused, its leader is not. */
TEST_F(deal, group_sibling)
{
	int leader, sibling;

	ASSERT_EQ(0, device_cmd(self->dev[0], "create"));
	leader = pmu_open(self->type, false, 0, -1, -1, false, 0);
	ASSERT_LE(0, leader);
	EXPECT_EQ(-1, pmu_open(self->type, true, 0, -1, leader, false, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	sibling = pmu_open(self->type, false, 0, -1, leader, false, 0);
	EXPECT_LE(0, sibling);
	close(sibling);
	close(leader);
}

/*
 * Events inherited by a child go through event_init, and are counted; the
 * parent's close frees them all. (Not checked: the count right after the
 * child's exit. perf may have swapped the two tasks' contexts on a context
 * switch, and then the clone lives on in the parent's until the close.)
 */
TEST_F(deal, inherited_events)
{
	int fd, status;
	pid_t pid;

	fd = pmu_open(self->type, true, 0, -1, -1, true, 0);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(deal("guest_counting_events") == 2 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the child saw %s", "not two events that count the guest");
	close(fd);
	EXPECT_EQ(0, deal("guest_counting_events"));
}

/*
 * An event refused by perf after its event_init succeeded (a sampling
 * event on a PMU without interrupts) is destroyed: its accounting is undone.
 */
TEST_F(deal, refused_after_event_init)
{
	long long accounted = deal("events_accounted");

	EXPECT_EQ(-1, pmu_open(self->type, true, 0, -1, -1, false, 1000000));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(accounted + 1, deal("events_accounted"));
	EXPECT_EQ(0, deal("guest_counting_events"));
}

/* The test device's own errnos. */
TEST_F(deal, device_errnos)
{
	EXPECT_EQ(ENOENT, device_cmd(self->dev[0], "release"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "create"));
	EXPECT_EQ(EALREADY, device_cmd(self->dev[0], "create"));
	EXPECT_EQ(EINVAL, device_cmd(self->dev[0], "counter"));
	EXPECT_EQ(EINVAL, device_cmd(self->dev[0], "counter other 0"));
	EXPECT_EQ(EINVAL, device_cmd(self->dev[0], "counter host 99999"));
	EXPECT_EQ(EINVAL, device_cmd(self->dev[0], "nonsense"));
	EXPECT_EQ(0, device_cmd(self->dev[0], "release"));
}

/* The PMU counts: a real perf event, scheduled in while its task runs. */
TEST_F(deal, counter_counts)
{
	struct timespec t0, t;
	uint64_t count = 0;
	int fd;

	fd = pmu_open(self->type, false, 0, -1, -1, false, 0);
	ASSERT_LE(0, fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000LL + t.tv_nsec - t0.tv_nsec < 20000000);
	ASSERT_EQ((ssize_t)sizeof(count), read(fd, &count, sizeof(count)));
	EXPECT_LT(1000000ULL, count)
		TH_LOG("counted %llu ns in 20 ms of spinning", (unsigned long long)count);
	close(fd);
}

/*
 * The guest PMU context, switched by guestgate_test.ko's toy vCPU on this
 * task's CPU while CPU-wide host events of the test PMU run there, perf
 * multiplexing them every millisecond when there are more than its two
 * counters.
 */
FIXTURE(context) {
	char mux[16];
	int toy;
	long long misuses;
};

static long long last_run(const char *name)
{
	return debugfs_counter(SWITCH_FILE, name);
}

FIXTURE_SETUP(context)
{
	ssize_t n;
	int fd;

	/* The toy vCPU registers perf callbacks of its own for the run. */
	self->toy = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (self->toy >= 0)
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_UNREGISTER);
	ASSERT_EQ(0, pin_cpu(0));
	fd = open(MUX_FILE, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("is guestgate_test.ko loaded?");
	n = read(fd, self->mux, sizeof(self->mux) - 1);
	close(fd);
	ASSERT_LT(0, n);
	self->mux[n] = '\0';
	ASSERT_EQ(0, debugfs_write(MUX_FILE, "1"));
	self->misuses = deal("context_misuses");
}

FIXTURE_TEARDOWN(context)
{
	if (self->toy >= 0) {
		ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_REGISTER);
		close(self->toy);
	}
	EXPECT_EQ(0, debugfs_write(MUX_FILE, self->mux));
	EXPECT_EQ(0, deal("mediated_users"));
	EXPECT_EQ(0, deal("guest_counting_events"));
	EXPECT_EQ(0, deal("cpus_loaded"));
	EXPECT_EQ(self->misuses, deal("context_misuses"));
}

/*
 * The last run's loaded, counted and running time, and the most a frozen
 * count may be: the running time less the loaded time, with 5% of the
 * running time for the moments between a load and its hooks.
 */
struct frozen {
	long long loaded, counted, running, most;
};

static struct frozen frozen_figures(void)
{
	struct frozen f = {
		.loaded = last_run("loaded_ns"),
		.counted = last_run("counted_ns"),
		.running = last_run("running_ns"),
	};

	f.most = f.running - f.loaded + f.running / 20;
	return f;
}

static void log_run(struct __test_metadata *_metadata)
{
	TH_LOG("%lld runs, %lld loads, loaded %lld of %lld ns",
	       last_run("runs"), last_run("loads"), last_run("loaded_ns"),
	       last_run("wall_ns"));
	TH_LOG("counted %lld of %lld ns running, %lld PMU calls while loaded",
	       last_run("counted_ns"), last_run("running_ns"),
	       last_run("calls_loaded"));
	TH_LOG("PMIs raised %lld loaded, %lld put",
	       last_run("pmis_raised_loaded"), last_run("pmis_raised_put"));
	TH_LOG("PMIs handled %lld as the guest's (%lld by the hook), %lld as the host's, %lld lost",
	       last_run("pmis_guest"), last_run("pmis_hook"),
	       last_run("pmis_host"), last_run("pmis_lost"));
	TH_LOG("guest values seen by the host after a put %lld, guest counters lost %lld",
	       last_run("leaks"), last_run("guest_lost"));
}

/*
 * Loaded after interrupts are disabled at guest entry, put before they are
 * enabled: neither the tick, nor the multiplexing hrtimer, nor an IPI can
 * reach the PMU while the guest has it.
 */
TEST_F(context, switch_at_entry_exit)
{
	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "entry_exit 2000 200 3"));
	log_run(_metadata);
	EXPECT_LT(100, last_run("loads"));
	EXPECT_EQ(0, last_run("calls_loaded"));
}

/*
 * A PMI taken while the context is loaded is the guest's: it reaches
 * handle_mediated_pmi, never the host's handler; one taken after the put is
 * the host's.
 */
TEST_F(context, pmi_routed_by_context)
{
	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "entry_exit 2000 200 1"));
	log_run(_metadata);
	EXPECT_LT(10, last_run("pmis_raised_loaded"));
	EXPECT_EQ(0, last_run("pmis_lost"));
	EXPECT_EQ(last_run("pmis_raised_loaded"), last_run("pmis_guest"));
	EXPECT_EQ(last_run("pmis_raised_loaded"), last_run("pmis_hook"));
	EXPECT_EQ(last_run("pmis_raised_put"), last_run("pmis_host"));
}

/*
 * The check above can fail: routed by state(), which says no guest runs
 * between guest runs, the guest's PMIs go to the host's handler.
 */
TEST_F(context, pmi_routed_by_state_misroutes)
{
	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "pmi_by_state 2000 200 1"));
	log_run(_metadata);
	EXPECT_LT(10, last_run("pmis_raised_loaded"));
	EXPECT_EQ(0, last_run("pmis_guest"));
	EXPECT_EQ(0, last_run("pmis_hook"));
	EXPECT_EQ(last_run("pmis_raised_loaded") + last_run("pmis_raised_put"),
		  last_run("pmis_host"));
}

/*
 * Loaded at vCPU load and put at vCPU put, interrupts enabled in between:
 * perf touches the PMU while the guest's state is in it, and its
 * multiplexing overwrites counters the guest wrote.
 */
TEST_F(context, switch_at_vcpu_load_put)
{
	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "vcpu_load_put 2000 200 3"));
	log_run(_metadata);
	EXPECT_LT(0, last_run("calls_loaded"));
	EXPECT_LT(0, last_run("guest_lost"));
}

/* A host event's count does not advance while the guest has the PMU. */
TEST_F(context, host_count_frozen)
{
	struct frozen f;

	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "entry_exit 2000 200 1"));
	log_run(_metadata);
	f = frozen_figures();
	/* Enough loaded time for the check to see a count that goes on. */
	EXPECT_LT(f.running / 5, f.loaded);
	EXPECT_LT(0, f.counted);
	EXPECT_GE(f.most, f.counted);
}

/*
 * The check above can fail: with the test PMU out of the context switch,
 * its host event counts the time the guest had the PMU too.
 */
TEST_F(context, unregistered_pmu_counts_through)
{
	struct frozen f;

	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "unregistered 2000 200 1"));
	log_run(_metadata);
	f = frozen_figures();
	EXPECT_LT(f.running / 5, f.loaded);
	EXPECT_LT(f.most, f.counted);
	EXPECT_GE(f.running + f.running / 20, f.counted);
}

/*
 * The RDPMC leak: the hypervisor writes 0 to the guest's counters before
 * the put, and the put gives the host's registers back what they held, so
 * no host read after a put sees a value the guest wrote, no host count
 * takes one in, and the guest finds its counters as it left them.
 */
TEST_F(context, guest_values_not_leaked)
{
	struct frozen f;

	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "entry_exit 1000 200 1"));
	log_run(_metadata);
	f = frozen_figures();
	EXPECT_LT(50, last_run("loads"));
	EXPECT_EQ(0, last_run("leaks"));
	EXPECT_EQ(0, last_run("guest_lost"));
	EXPECT_GE(f.most, f.counted);
}

/*
 * The check above can fail: with the guest's counters saved but not
 * zeroed, the register no host event uses shows the guest's value after
 * every put.
 */
TEST_F(context, unzeroed_counters_leak)
{
	ASSERT_EQ(0, debugfs_write(SWITCH_FILE, "no_zero 1000 200 1"));
	log_run(_metadata);
	EXPECT_LT(50, last_run("loads"));
	EXPECT_LE(last_run("loads"), last_run("leaks"));
	EXPECT_EQ(0, last_run("guest_lost"));
}

/* The toy vCPU is a mediated user: refused while an event counts the guest. */
TEST_F(context, refused_while_guest_counted)
{
	int type = pmu_type(), fd;

	ASSERT_LE(0, type);
	fd = pmu_open(type, true, -1, 0, -1, false, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EBUSY, debugfs_write(SWITCH_FILE, "entry_exit 100 10 1"));
	close(fd);
	EXPECT_EQ(0, debugfs_write(SWITCH_FILE, "entry_exit 100 10 1"));
}

/*
 * The sample's toy vCPU as a mediated vPMU: one load and one put per guest
 * entry, and refused while a host event counts the guest.
 */
TEST_F(context, sample_vcpu)
{
	struct guestgate_sample_vcpu_run run = {
		.ms = 200,
		.guest_us = 50,
		.flags = GUESTGATE_SAMPLE_VCPU_MEDIATED_PMU,
	};
	long long loads = deal("loads"), puts = deal("puts");
	int type = pmu_type(), fd;

	ASSERT_LE(0, self->toy) TH_LOG("is guestgate_sample.ko loaded?");
	ASSERT_EQ(0, ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, &run))
		TH_LOG("VCPU_RUN: %s", strerror(errno));
	EXPECT_LT(0ULL, run.entries);
	EXPECT_EQ(loads + (long long)run.entries, deal("loads"));
	EXPECT_EQ(puts + (long long)run.entries, deal("puts"));
	EXPECT_EQ(0ULL, run.lockdep_mismatches);

	ASSERT_LE(0, type);
	fd = pmu_open(type, true, 0, -1, -1, false, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(self->toy, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, &run));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
}

TEST_HARNESS_MAIN
