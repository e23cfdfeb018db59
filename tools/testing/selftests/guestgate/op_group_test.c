// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: an op group switched under load, the lock of the runtime
 * paravirt patching argument (LKML, 2020).
 *
 * guestgate_test.ko's debugfs file guestgate_test/op_group runs a lock
 * with two implementations whose lock words differ (ticket and
 * test-and-set) as three ops of a guestgate op group (lock, unlock,
 * trylock), taken by a kthread on every CPU and trylocked by the NMIs
 * they send themselves, while the writer switches the implementation back
 * and forth; see tools/testing/guestgate_test/op_group_locks.c. Each case
 * runs one mode and checks its figures: mutual exclusion (a plain counter
 * incremented under the lock, and an owner check), torn sections (ops of
 * both implementations in one section) and stuck waits (a lock word the
 * other implementation misread).
 *
 * Needs guestgate.ko and guestgate_test.ko loaded, debugfs mounted and
 * root.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "debugfs_counter.h"

#include "kselftest_harness.h"

#define RUN_FILE	"/sys/kernel/debug/guestgate_test/op_group"
#define RUN_MS		"3000"

static long long last_run(const char *name)
{
	return debugfs_counter(RUN_FILE, name);
}

static void log_run(struct __test_metadata *_metadata)
{
	TH_LOG("on %lld CPUs for %lld ms: %lld switches, %lld refused or abandoned",
	       last_run("cpus"), last_run("msecs"), last_run("switches"),
	       last_run("switch_errors"));
	TH_LOG("a switch took %lld ns on average, %lld ns at most",
	       last_run("switch_avg_ns"), last_run("switch_max_ns"));
	TH_LOG("%lld sections, %lld increments, %lld lost, %lld overlaps, %lld torn, %lld stuck",
	       last_run("sections"), last_run("increments"),
	       last_run("lost_increments"), last_run("overlaps"),
	       last_run("torn"), last_run("stuck"));
	TH_LOG("CPUs in a section at a switch point: %lld; gate calls outside sections: %lld",
	       last_run("at_switch"), last_run("outside"));
	TH_LOG("NMI trylocks: %lld took the lock, %lld found it taken",
	       last_run("nmi_ok"), last_run("nmi_busy"));
	TH_LOG("NMI sections refused during a switch: %lld; NMIs lost: %lld",
	       last_run("nmi_refused"), last_run("nmi_lost"));
}

/*
 * guestgate's switch: no CPU is inside a section at the switch point,
 * exclusion holds, no section runs ops of both implementations, no gate
 * is called outside a section, no lock word is misread (nothing waits
 * forever), the NMI users run throughout, and a switch while the lock is
 * left taken is refused with -EBUSY and changes nothing.
 */
TEST(group_switch_keeps_exclusion)
{
	ASSERT_EQ(0, debugfs_write(RUN_FILE, "group " RUN_MS))
		TH_LOG("is guestgate_test.ko loaded?");
	log_run(_metadata);
	ASSERT_EQ(0, last_run("ret"));
	EXPECT_LE(2, last_run("cpus"));
	EXPECT_LE(10, last_run("switches"));
	EXPECT_EQ(0, last_run("switch_errors"));
	EXPECT_EQ(0, last_run("at_switch"));
	EXPECT_EQ(0, last_run("outside"));
	EXPECT_EQ(1, last_run("refused_while_held"));
	EXPECT_LT(1000, last_run("increments"));
	EXPECT_EQ(0, last_run("lost_increments"));
	EXPECT_EQ(0, last_run("overlaps"));
	EXPECT_EQ(0, last_run("torn"));
	EXPECT_EQ(0, last_run("stuck"));
	EXPECT_LT(0, last_run("nmi_ok"));
	EXPECT_LT(0, last_run("nmi_busy"));
	EXPECT_EQ(0, last_run("nmi_lost"));
}

/*
 * One static_call_update() per op: sections that lock with one
 * implementation and unlock with the other (torn), and with them lost
 * exclusion or waits that never end. The failures the reviewers of
 * runtime paravirt patching predicted, counted.
 */
TEST(naive_switch_breaks_exclusion)
{
	ASSERT_EQ(0, debugfs_write(RUN_FILE, "naive " RUN_MS));
	log_run(_metadata);
	ASSERT_EQ(0, last_run("ret"));
	EXPECT_LE(10, last_run("switches"));
	EXPECT_LT(0, last_run("torn"));
	EXPECT_LT(0, last_run("lost_increments") + last_run("overlaps") + last_run("stuck"));
}

/*
 * The switch point without the state transfer: a ticket lock's unlocked
 * word (head == tail, not 0) is a test-and-set lock's taken one, and the
 * first test-and-set lock after the switch waits for it forever (here:
 * until its limit).
 */
TEST(no_transfer_misreads_lock_word)
{
	ASSERT_EQ(0, debugfs_write(RUN_FILE, "no_transfer " RUN_MS));
	log_run(_metadata);
	ASSERT_EQ(0, last_run("ret"));
	EXPECT_EQ(0, last_run("torn"));
	EXPECT_LT(0, last_run("stuck"));
}

TEST(bad_requests_refused)
{
	EXPECT_EQ(EINVAL, debugfs_write(RUN_FILE, "bogus 10"));
	EXPECT_EQ(EINVAL, debugfs_write(RUN_FILE, "group"));
	EXPECT_EQ(EINVAL, debugfs_write(RUN_FILE, "group 0"));
	EXPECT_EQ(EINVAL, debugfs_write(RUN_FILE, "group 60001"));
	EXPECT_EQ(EINVAL, debugfs_write(RUN_FILE, "group 10 10"));
}

TEST_HARNESS_MAIN
