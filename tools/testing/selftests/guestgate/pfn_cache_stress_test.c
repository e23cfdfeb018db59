// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: race stress of the pfn cache on a real mapping.
 *
 * guestgate_test.ko (guestgate_test/pfn_cache, see
 * tools/testing/guestgate_test/pfn_cache_stress.c) writes through a cache of one
 * page of this test from an hrtimer and from a kthread in this mm, while
 * the threads here zap and remap that page: MADV_DONTNEED, munmap + mmap
 * MAP_FIXED at the same address, mprotect() flips. Before each zap the
 * page is pinned by the module ("pin"), after the zap returned it is
 * recorded ("zapped"); the module then checks that no write landed in it
 * afterwards. The zaps are serialized among the threads, so that "the zap
 * returned" means that every invalidation of the page before it completed.
 * While the page is read-only, the flipping thread checks on the mapping
 * itself that the kernel's slots do not change.
 *
 * A run is a number of zaps, not of seconds, so that a slow machine tests as
 * much as a fast one; its time bound and the cases' timeouts only catch a
 * hang.
 *
 * The correct cache must show no violation, also with its refresh widened
 * (guestgate_rs_gpc_break_refresh(): a sleep between the page lookup and
 * the publication, where invalidations land: the sequence check must throw
 * those lookups away, so retries are counted); the broken refresh (the same
 * sleep, no sequence check) must show violations. The two differ only in
 * the check.
 *
 * Needs guestgate.ko and guestgate_test.ko loaded, debugfs and root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "debugfs_counter.h"

#include "kselftest_harness.h"

#define STRESS_FILE	"/sys/kernel/debug/guestgate_test/pfn_cache"
/* Zaps (madvise and remap) of a run of the correct refresh, then the others. */
#define STRESS_ZAPS	400
#define BROKEN_ZAPS	200
/* The bound of a run that hangs; the cases' timeouts are above it. */
#define MAX_SECONDS	300
/* The refresh modes of the module (enum guestgate_gpc_refresh_mode). */
#define REFRESH_NORMAL	0
#define REFRESH_WIDENED	1
#define REFRESH_BROKEN	2
#define PAGE		4096

/* The module's slots at the start of the page: timer, kthread. */
#define NR_SLOTS	2

enum op { OP_MADVISE, OP_REMAP, OP_MPROTECT, NR_OPS };

struct stress {
	int fd;
	uint64_t *page;
	pthread_mutex_t zap_lock;
	int stop;
	int workers_done;
	long long ops[NR_OPS];
	long long failures;
	long long ro_checks;
	long long ro_violations;
};

struct worker {
	struct stress *s;
	enum op op;
};

static int command(struct stress *s, const char *cmd)
{
	return write(s->fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) ? 0 : -errno;
}

/* One zap of the page, pinned before and recorded after. */
static int zap(struct stress *s, enum op op)
{
	int ret;

	ret = command(s, "pin");
	if (ret)
		return ret;
	if (op == OP_MADVISE) {
		ret = madvise(s->page, PAGE, MADV_DONTNEED);
	} else {
		ret = munmap(s->page, PAGE);
		if (!ret && mmap(s->page, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) != s->page)
			ret = -1;
	}
	if (ret)
		return -errno;
	return command(s, "zapped");
}

/* While the page is read-only, the kernel must not write into it. */
static int flip(struct stress *s)
{
	uint64_t before[NR_SLOTS], after[NR_SLOTS];
	int i;

	if (mprotect(s->page, PAGE, PROT_READ))
		return -errno;
	for (i = 0; i < NR_SLOTS; i++)
		before[i] = __atomic_load_n(&s->page[i], __ATOMIC_RELAXED);
	usleep(500);
	for (i = 0; i < NR_SLOTS; i++)
		after[i] = __atomic_load_n(&s->page[i], __ATOMIC_RELAXED);
	s->ro_checks++;
	if (memcmp(before, after, sizeof(before)))
		s->ro_violations++;
	if (mprotect(s->page, PAGE, PROT_READ | PROT_WRITE))
		return -errno;
	return 0;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	int ret;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&s->zap_lock);
		ret = w->op == OP_MPROTECT ? flip(s) : zap(s, w->op);
		if (ret == -ENOSPC) {
			/* The broken run's graveyard is full: zapping ends. */
			pthread_mutex_unlock(&s->zap_lock);
			break;
		}
		if (ret)
			s->failures++;
		else
			__atomic_store_n(&s->ops[w->op], s->ops[w->op] + 1, __ATOMIC_RELAXED);
		/* The user's own write, beside the kernel's slots. */
		s->page[NR_SLOTS] = s->ops[w->op];
		pthread_mutex_unlock(&s->zap_lock);
		usleep(200 + 100 * w->op);
	}
	__atomic_fetch_add(&s->workers_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static long long zaps_done(struct stress *s)
{
	return __atomic_load_n(&s->ops[OP_MADVISE], __ATOMIC_RELAXED) +
	       __atomic_load_n(&s->ops[OP_REMAP], __ATOMIC_RELAXED);
}

struct result {
	long long writes_timer, writes_kthread, invalid_timer, busy_timer;
	long long kthread_refreshes, refresh_errors, zaps, live, checked;
	long long violations;
	long long invalidations, retries, msecs;
};

/*
 * One run of @zaps zaps; false if it could not start (the test is then
 * skipped, or has failed an assertion).
 */
static bool run(struct __test_metadata *_metadata, int mode,
		long long zaps, struct stress *s, struct result *r)
{
	struct worker w[NR_OPS];
	struct timespec t0, t;
	pthread_t th[NR_OPS];
	bool timed_out = false;
	char cmd[64];
	int i;

	memset(s, 0, sizeof(*s));
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&s->zap_lock, NULL);
	s->fd = open(STRESS_FILE, O_RDWR);
	if (s->fd < 0)
		SKIP(return false, "no %s (guestgate_test.ko)", STRESS_FILE);
	s->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s->page);
	s->page[0] = 0;
	snprintf(cmd, sizeof(cmd), "start %lx %d", (unsigned long)s->page,
		 mode);
	ASSERT_EQ(0, command(s, cmd));
	for (i = 0; i < NR_OPS; i++) {
		w[i].s = s;
		w[i].op = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_fn, &w[i]));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (zaps_done(s) < zaps &&
	       __atomic_load_n(&s->workers_done, __ATOMIC_RELAXED) < NR_OPS) {
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= MAX_SECONDS) {
			timed_out = true;
			break;
		}
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_OPS; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, command(s, "stop"));
	close(s->fd);
	munmap(s->page, PAGE);

	ASSERT_EQ(0, debugfs_counter(STRESS_FILE, "ret"));
	r->msecs = debugfs_counter(STRESS_FILE, "msecs");
	r->writes_timer = debugfs_counter(STRESS_FILE, "writes_timer");
	r->writes_kthread = debugfs_counter(STRESS_FILE, "writes_kthread");
	r->invalid_timer = debugfs_counter(STRESS_FILE, "invalid_timer");
	r->busy_timer = debugfs_counter(STRESS_FILE, "busy_timer");
	r->kthread_refreshes = debugfs_counter(STRESS_FILE, "kthread_refreshes");
	r->refresh_errors = debugfs_counter(STRESS_FILE, "refresh_errors");
	r->zaps = debugfs_counter(STRESS_FILE, "zaps");
	r->live = debugfs_counter(STRESS_FILE, "live");
	r->checked = debugfs_counter(STRESS_FILE, "checked");
	r->violations = debugfs_counter(STRESS_FILE, "violations");
	r->invalidations = debugfs_counter(STRESS_FILE, "invalidations");
	r->retries = debugfs_counter(STRESS_FILE, "retries");
	ksft_print_msg("%s refresh, %lld ms\n",
		       mode == REFRESH_BROKEN ? "broken" :
		       mode == REFRESH_WIDENED ? "widened" : "correct", r->msecs);
	ksft_print_msg("writes: timer %lld, kthread %lld\n", r->writes_timer,
		       r->writes_kthread);
	ksft_print_msg("timer: skipped invalid %lld, trylock busy %lld\n",
		       r->invalid_timer, r->busy_timer);
	ksft_print_msg("kthread refreshes: %lld, failed %lld\n",
		       r->kthread_refreshes, r->refresh_errors);
	ksft_print_msg("zaps: madvise %lld, remap %lld; pinned %lld, live %lld, checked %lld\n",
		       s->ops[OP_MADVISE], s->ops[OP_REMAP], r->zaps, r->live,
		       r->checked);
	ksft_print_msg("mprotect flips: %lld, read-only checks %lld\n",
		       s->ops[OP_MPROTECT], s->ro_checks);
	ksft_print_msg("cache: invalidations %lld, retries %lld\n",
		       r->invalidations, r->retries);
	ksft_print_msg("violations: %lld after a zap, %lld while read-only\n",
		       r->violations, s->ro_violations);
	ksft_print_msg("failed user operations: %lld\n", s->failures);
	EXPECT_FALSE(timed_out) TH_LOG("%lld of %lld zaps in %d s: hung?",
				       zaps_done(s), zaps, MAX_SECONDS);
	EXPECT_EQ(0LL, s->failures);
	EXPECT_GT(r->writes_timer, 0);
	EXPECT_GT(r->writes_kthread, 0);
	EXPECT_GT(r->zaps, 0);
	EXPECT_EQ(r->zaps, r->checked);
	EXPECT_GT(s->ops[OP_MPROTECT], 0LL);
	EXPECT_GE(r->invalidations, r->zaps);
	EXPECT_GT(r->live, 0);
	return true;
}

FIXTURE(stress) {
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

/*
 * The correct cache: no write after the zap of its page, none while it is
 * read-only, over STRESS_ZAPS zaps.
 */
TEST_F_TIMEOUT(stress, race, MAX_SECONDS + 60)
{
	struct stress s;
	struct result r;

	if (!run(_metadata, REFRESH_NORMAL, STRESS_ZAPS, &s, &r))
		return;
	/*
	 * The writers wrote through the pages being zapped: the module waits
	 * for the cache to be valid on the page before every other zap (a
	 * few milliseconds at most), so at least a third of the zaps are live.
	 */
	EXPECT_GE(r.live * 3, r.zaps);
	EXPECT_EQ(0, r.violations);
	EXPECT_EQ(0LL, s.ro_violations);
}

/*
 * The refresh widened by a sleep between its lookup and its publication:
 * invalidations land in the window, the sequence check throws those
 * lookups away (retries), and still no violation.
 */
TEST_F_TIMEOUT(stress, race_widened_refresh, MAX_SECONDS + 60)
{
	struct stress s;
	struct result r;

	if (!run(_metadata, REFRESH_WIDENED, BROKEN_ZAPS, &s, &r))
		return;
	EXPECT_GT(r.retries, 0);
	EXPECT_EQ(0, r.violations);
	EXPECT_EQ(0LL, s.ro_violations);
}

/*
 * The broken refresh (the same window, no sequence check) publishes zapped
 * pages: the same checks see it.
 */
TEST_F_TIMEOUT(stress, broken_refresh_is_caught, MAX_SECONDS + 60)
{
	struct stress s;
	struct result r;

	if (!run(_metadata, REFRESH_BROKEN, BROKEN_ZAPS, &s, &r))
		return;
	EXPECT_GT(r.violations + s.ro_violations, 0LL);
}

TEST_HARNESS_MAIN
