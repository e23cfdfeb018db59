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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "debugfs_counter.h"

#include "kselftest_harness.h"

#define DEAL_FILE	"/sys/kernel/debug/guestgate/mediated_pmu"
#define DEVICE_FILE	"/sys/kernel/debug/guestgate_test/mediated_pmu"
#define PMU_TYPE_FILE	"/sys/bus/event_source/devices/guestgate_test/type"

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
	FILE *f = fopen(PMU_TYPE_FILE, "r");

	ASSERT_NE(NULL, f) TH_LOG("is guestgate_test.ko loaded?");
	ASSERT_EQ(1, fscanf(f, "%d", &self->type));
	fclose(f);
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

/* Events inherited by a child go through event_init, and are counted. */
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
	EXPECT_EQ(1, deal("guest_counting_events"));
	close(fd);
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
	ASSERT_EQ(sizeof(count), read(fd, &count, sizeof(count)));
	EXPECT_LT(1000000, count) TH_LOG("counted %llu ns in 20 ms of spinning",
					 (unsigned long long)count);
	close(fd);
}

TEST_HARNESS_MAIN
