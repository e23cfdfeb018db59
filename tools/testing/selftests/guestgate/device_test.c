// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: /dev/guestgate from userspace. Needs guestgate.ko loaded and
 * debugfs mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/guestgate.h>

#include "debugfs_counter.h"
#include "kselftest_harness.h"

#define GUESTGATE_STATE "/sys/kernel/debug/guestgate/state"
#define KNOWN_FEATURES (GUESTGATE_FEATURE_PERF_CALLBACKS | \
			GUESTGATE_FEATURE_GUEST_ENTRY | \
			GUESTGATE_FEATURE_PFN_CACHE | \
			GUESTGATE_FEATURE_MEDIATED_PMU)

/* One counter of the debugfs state file, or -1. */
static long long state_counter(const char *name)
{
	return debugfs_counter(GUESTGATE_STATE, name);
}

FIXTURE(device) {
	int fd;
};

FIXTURE_SETUP(device)
{
	self->fd = open(GUESTGATE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (is guestgate.ko loaded?)",
				      GUESTGATE_DEVICE_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(device)
{
	close(self->fd);
}

TEST_F(device, version)
{
	struct guestgate_version ver;

	memset(&ver, 0xa5, sizeof(ver));
	ASSERT_EQ(0, ioctl(self->fd, GUESTGATE_IOCTL_VERSION, &ver));
	EXPECT_EQ((__u32)GUESTGATE_ABI_VERSION, ver.abi);
	EXPECT_EQ(0ULL, ver.features & ~KNOWN_FEATURES);
	EXPECT_NE(0xa5a5a5a5U, ver.major);
	EXPECT_NE(0xa5a5a5a5U, ver.minor);
	EXPECT_NE(0xa5a5a5a5U, ver.patch);
	TH_LOG("guestgate %u.%u.%u, abi %u, features %#llx", ver.major,
	       ver.minor, ver.patch, ver.abi, (unsigned long long)ver.features);
}

TEST_F(device, version_bad_pointer_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_IOCTL_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_IOCTL_VERSION, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(device, unknown_ioctl_enotty)
{
	struct guestgate_version ver;
	const unsigned long cmds[] = {
		0,
		_IO(GUESTGATE_IOC_MAGIC, 0x7f),
		/* VERSION's number with another size or direction. */
		_IOR(GUESTGATE_IOC_MAGIC, 0x00, __u64),
		_IOW(GUESTGATE_IOC_MAGIC, 0x00, struct guestgate_version),
		_IOWR(GUESTGATE_IOC_MAGIC, 0x00, struct guestgate_version),
		/* VERSION with another magic. */
		_IOR(GUESTGATE_IOC_MAGIC + 1, 0x00, struct guestgate_version),
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], &ver))
			TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
	}
}

TEST_F(device, debugfs_counts_ioctls)
{
	long long ioctls = state_counter("ioctls");
	long long unknown = state_counter("unknown_ioctls");
	struct guestgate_version ver;

	ASSERT_LE(0, ioctls) TH_LOG("no %s", GUESTGATE_STATE);
	ASSERT_LE(0, unknown);
	EXPECT_EQ(0, ioctl(self->fd, GUESTGATE_IOCTL_VERSION, &ver));
	EXPECT_EQ(-1, ioctl(self->fd, _IO(GUESTGATE_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ioctls + 2, state_counter("ioctls"));
	EXPECT_EQ(unknown + 1, state_counter("unknown_ioctls"));
}

TEST(open_close_counted)
{
	long long opens = state_counter("opens");
	long long releases = state_counter("releases");
	int fd;

	ASSERT_LE(0, opens) TH_LOG("no %s", GUESTGATE_STATE);
	fd = open(GUESTGATE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(opens + 1, state_counter("opens"));
	EXPECT_EQ(releases, state_counter("releases"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(releases + 1, state_counter("releases"));
}

TEST_HARNESS_MAIN
