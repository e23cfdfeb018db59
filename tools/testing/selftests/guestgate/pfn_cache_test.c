// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the pfn cache through /dev/guestgate_test (guestgate_test.ko,
 * the test device over the pfn cache's C API), on real mappings.
 *
 * Accesses through a cache from the ioctl's task, a kthread and a hardirq
 * hrtimer; what the mm does to the cached page (munmap, MADV_DONTNEED,
 * mprotect, fork and copy-on-write, mremap, THP split and collapse) and to a
 * memslot table; the pfn against /proc/self/pagemap; every errno of the
 * UAPI; teardown at close; and an ioctl fuzzer. And a C caller of the
 * kernel API: the toy vCPU of samples/guestgate keeps a runstate area of
 * this task up to date through a pfn cache while another thread zaps it.
 *
 * Needs guestgate.ko, guestgate_test.ko and guestgate_sample.ko loaded,
 * debugfs mounted and root (pagemap pfns).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestgate_test_uapi.h"

#include "debugfs_counter.h"
#include "guestgate_sample.h"
#include "pin_cpu.h"
#include "kselftest_harness.h"

#define PFN_CACHE_FILE	"/sys/kernel/debug/guestgate/pfn_cache"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define PAGE		4096UL
#define HPAGE		(2UL << 20)

/* Memory the kernel writes behind the compiler's back. */
static uint32_t load32(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}

static void store32(void *p, uint32_t val)
{
	__atomic_store_n((uint32_t *)p, val, __ATOMIC_RELAXED);
}

static const char *const ctx_name[] = { "task", "kthread", "hrtimer" };

static int gpc_create(int fd, uint64_t addr, uint32_t len, uint32_t flags)
{
	struct guestgate_pfn_create c = {
		.addr = addr, .len = len, .flags = flags,
	};

	if (ioctl(fd, GUESTGATE_TEST_IOCTL_PFN_CREATE, &c))
		return -errno;
	return c.handle;
}

static int gpc_activate(int fd, int h, uint64_t addr, uint32_t len,
			uint32_t flags)
{
	struct guestgate_pfn_create c = {
		.addr = addr, .len = len, .flags = flags, .handle = h,
	};

	return ioctl(fd, GUESTGATE_TEST_IOCTL_PFN_ACTIVATE, &c) ? -errno : 0;
}

static int gpc_op(int fd, unsigned long cmd, int h)
{
	struct guestgate_pfn_handle a = { .handle = h };

	return ioctl(fd, cmd, &a) ? -errno : 0;
}

/* Accesses @len bytes at @off; *pfn is the page used. Returns 0 or -errno. */
static int gpc_access(int fd, int h, uint32_t ctx, uint32_t flags,
		      uint64_t off, void *buf, uint32_t len, uint64_t *pfn)
{
	struct guestgate_pfn_access a = {
		.handle = h, .context = ctx, .flags = flags, .len = len,
		.offset = off,
	};

	if (len <= sizeof(a.data))
		memcpy(a.data, buf, len);
	if (ioctl(fd, GUESTGATE_TEST_IOCTL_PFN_ACCESS, &a))
		return -errno;
	if (!(flags & GUESTGATE_PFN_ACCESS_WRITE) && len <= sizeof(a.data))
		memcpy(buf, a.data, len);
	if (pfn)
		*pfn = a.pfn;
	return 0;
}

static int gpc_read32(int fd, int h, uint32_t ctx, uint32_t flags,
		      uint64_t off, uint32_t *val)
{
	return gpc_access(fd, h, ctx, flags, off, val, 4, NULL);
}

static int gpc_write32(int fd, int h, uint32_t ctx, uint64_t off, uint32_t val)
{
	return gpc_access(fd, h, ctx, GUESTGATE_PFN_ACCESS_WRITE, off, &val, 4,
			  NULL);
}

static struct guestgate_pfn_stats gpc_stats(int fd, int h)
{
	struct guestgate_pfn_stats s = { .handle = h };

	if (ioctl(fd, GUESTGATE_TEST_IOCTL_PFN_STATS, &s))
		memset(&s, 0xff, sizeof(s));
	return s;
}

static int set_memslots(int fd, const struct guestgate_pfn_memslot *slots,
			uint32_t n)
{
	struct guestgate_pfn_memslots m = {
		.nslots = n, .slots = (uintptr_t)slots,
	};

	return ioctl(fd, GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS, &m) ? -errno : 0;
}

/* The pfn mapped at @addr per /proc/self/pagemap: 0 if absent, -1 if hidden. */
static long long pagemap_pfn(void *addr)
{
	uint64_t e;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / PAGE * 8) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	e &= (1ULL << 55) - 1;
	return e ? (long long)e : -1;
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n * PAGE);
	return p;
}

FIXTURE(pfn) {
	int fd;
	char *mem;
};

FIXTURE_SETUP(pfn)
{
	self->fd = open(GUESTGATE_TEST_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GUESTGATE_TEST_DEVICE_PATH,
				      strerror(errno));
	self->mem = map_pages(4);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(pfn)
{
	close(self->fd);
	munmap(self->mem, 4 * PAGE);
}

/* Kernel writes are seen by user space and user writes by the kernel. */
TEST_F(pfn, coherent_every_context)
{
	char *u = self->mem + 64;
	char buf[GUESTGATE_PFN_ACCESS_MAX];
	uint32_t ctx, val;
	int h;

	h = gpc_create(self->fd, (uintptr_t)self->mem, 256,
		       GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, h);
	for (ctx = 0; ctx < 3; ctx++) {
		ASSERT_EQ(0, gpc_write32(self->fd, h, ctx, 64, 0xdead0000 + ctx))
			TH_LOG("%s", ctx_name[ctx]);
		EXPECT_EQ(0xdead0000 + ctx, load32(u)) TH_LOG("%s", ctx_name[ctx]);
		store32(u, 0x1234000 + ctx);
		ASSERT_EQ(0, gpc_read32(self->fd, h, ctx, 0, 64, &val));
		EXPECT_EQ(0x1234000 + ctx, val) TH_LOG("%s", ctx_name[ctx]);
	}
	/* A small buffer, unaligned. */
	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ(0, gpc_access(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER,
				GUESTGATE_PFN_ACCESS_WRITE, 101, buf,
				sizeof(buf), NULL));
	EXPECT_EQ(0, memcmp(self->mem + 101, buf, sizeof(buf)));
	EXPECT_EQ(1ULL, gpc_stats(self->fd, h).refreshes);
	EXPECT_LE(7ULL, gpc_stats(self->fd, h).hits);
}

/* The pfn of an access is the one /proc/self/pagemap shows. */
TEST_F(pfn, pfn_matches_pagemap)
{
	uint64_t pfn;
	uint32_t val;
	long long pm;
	int h;

	h = gpc_create(self->fd, (uintptr_t)self->mem + PAGE, 8, 0);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn));
	pm = pagemap_pfn(self->mem + PAGE);
	if (pm < 0)
		SKIP(return, "pagemap hides pfns (not root?)");
	EXPECT_EQ((uint64_t)pm, pfn);
	TH_LOG("pfn %#llx", (unsigned long long)pfn);
}

/* munmap: the cache is invalid and cannot be refreshed. */
TEST_F(pfn, munmap_invalidates)
{
	char *p = map_pages(1);
	uint32_t val;
	int h;

	ASSERT_NE(NULL, p);
	h = gpc_create(self->fd, (uintptr_t)p, 4, GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, munmap(p, PAGE));
	EXPECT_LE(1ULL, gpc_stats(self->fd, h).invalidations);
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val));
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER,
				      0, 0, &val));
	EXPECT_EQ(-EFAULT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, h));
	EXPECT_EQ(-EFAULT, gpc_read32(self->fd, h, 0, 0, 0, &val));
	EXPECT_EQ(-EFAULT, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD,
				      0, 0, &val));
}

/* MADV_DONTNEED: invalidated; after the refresh the page reads zero. */
TEST_F(pfn, dontneed_invalidates_reads_zero)
{
	struct guestgate_pfn_stats s0, s1;
	uint32_t val;
	int h;

	*(uint32_t *)(self->mem + 8) = 0xfeedface;
	h = gpc_create(self->fd, (uintptr_t)self->mem, 16, 0);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_read32(self->fd, h, 0, 0, 8, &val));
	EXPECT_EQ(0xfeedface, val);
	s0 = gpc_stats(self->fd, h);
	ASSERT_EQ(0, madvise(self->mem, PAGE, MADV_DONTNEED));
	s1 = gpc_stats(self->fd, h);
	EXPECT_LT(s0.invalidations, s1.invalidations);
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER,
				      0, 8, &val));
	/* The kthread refreshes in the caller's mm. */
	val = 1;
	EXPECT_EQ(0, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 8,
				&val));
	EXPECT_EQ(0U, val);
	EXPECT_EQ(s1.refreshes + 1, gpc_stats(self->fd, h).refreshes);
	TH_LOG("invalidations %llu -> %llu",
	       (unsigned long long)s0.invalidations,
	       (unsigned long long)s1.invalidations);
}

/* mprotect(PROT_READ): a writable cache cannot refresh; a read-only one can. */
TEST_F(pfn, mprotect_readonly)
{
	uint32_t val;
	int w, r;

	w = gpc_create(self->fd, (uintptr_t)self->mem, 4,
		       GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, w);
	r = gpc_create(self->fd, (uintptr_t)self->mem, 4, 0);
	ASSERT_LT(0, r);
	ASSERT_EQ(0, mprotect(self->mem, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, w));
	EXPECT_EQ(-EFAULT, gpc_write32(self->fd, w, 0, 0, 1));
	EXPECT_EQ(-EFAULT, gpc_create(self->fd, (uintptr_t)self->mem, 4,
				      GUESTGATE_PFN_WRITABLE));
	EXPECT_EQ(0, gpc_read32(self->fd, r, 0, 0, 0, &val));
	EXPECT_EQ(-EPERM, gpc_write32(self->fd, r, 0, 0, 1));
	ASSERT_EQ(0, mprotect(self->mem, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, w));
}

/*
 * fork + COW: the parent's write breaks COW (invalidation, new page); the
 * child's copy keeps the old contents and its writes do not reach the
 * parent's cache.
 */
TEST_F(pfn, fork_cow)
{
	int go[2], done[2], status, h;
	char *p = self->mem + 2 * PAGE;
	uint64_t pfn0, pfn1;
	uint32_t val;
	pid_t pid;

	store32(p, 0x50505050);
	h = gpc_create(self->fd, (uintptr_t)p, 4, 0);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;

		if (read(go[0], &c, 1) != 1)
			_exit(2);
		if (load32(p) != 0x50505050)
			_exit(3);
		store32(p, 0xc0c0c0c0);
		if (write(done[1], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	/* Shared with the child now: the refresh (not for writing) keeps it. */
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn0));
	EXPECT_EQ(0x50505050U, val);
	/* The parent writes: COW break, the cached page goes. */
	store32(p, 0x51515151);
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val));
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn1));
	EXPECT_EQ(0x51515151U, val);
	EXPECT_NE(pfn0, pfn1);
	if (pagemap_pfn(p) > 0)
		EXPECT_EQ((uint64_t)pagemap_pfn(p), pfn1);
	/* The child checks its copy and writes it. */
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(1, read(done[0], &val, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x", status);
	/* Still valid, still the parent's page and data. */
	ASSERT_EQ(0, gpc_access(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER, 0, 0,
				&val, 4, &pfn0));
	EXPECT_EQ(0x51515151U, val);
	EXPECT_EQ(pfn1, pfn0);
	TH_LOG("invalidations %llu",
	       (unsigned long long)gpc_stats(self->fd, h).invalidations);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}

/*
 * A process that inherited the file but not the mm may not refresh, for its
 * own access or its kthread's (the task refreshes for the kthread); the
 * owner still can.
 */
TEST_F(pfn, foreign_mm_cannot_refresh)
{
	int status, h;
	uint32_t val;
	pid_t pid;

	store32(self->mem, 0x0f0f0f0f);
	h = gpc_create(self->fd, (uintptr_t)self->mem, 4, 0);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, madvise(self->mem, PAGE, MADV_DONTNEED));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_TASK, 0, 0,
			       &val) != -EFAULT)
			_exit(1);
		if (gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 0,
			       &val) != -EFAULT)
			_exit(2);
		if (gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD,
			       GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val) != -EAGAIN)
			_exit(3);
		if (gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, h) != -EFAULT)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x", status);
	val = 1;
	ASSERT_EQ(0, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 0,
				&val));
	EXPECT_EQ(0U, val);
}

/* mremap: the old address is gone; activated at the new one, same data. */
TEST_F(pfn, mremap_moves)
{
	char *old = map_pages(2), *dst, *moved;
	uint64_t pfn0, pfn1;
	uint32_t val;
	int h;

	ASSERT_NE(NULL, old);
	dst = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	*(uint32_t *)(old + PAGE + 12) = 0x3e3e3e3e;
	h = gpc_create(self->fd, (uintptr_t)old + PAGE + 12, 4,
		       GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn0));
	moved = mremap(old, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
		       dst);
	ASSERT_EQ(dst, moved);
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val));
	EXPECT_EQ(-EFAULT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, h));
	ASSERT_EQ(0, gpc_activate(self->fd, h, (uintptr_t)moved + PAGE + 12, 4,
				  GUESTGATE_PFN_WRITABLE));
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn1));
	EXPECT_EQ(0x3e3e3e3eU, val);
	EXPECT_EQ(pfn0, pfn1);
	EXPECT_EQ(0, gpc_write32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 7));
	EXPECT_EQ(7U, *(uint32_t *)(moved + PAGE + 12));
	munmap(moved, 2 * PAGE);
}

/*
 * THP is enabled for madvise(MADV_HUGEPAGE) regions (the test kernel has
 * CONFIG_TRANSPARENT_HUGEPAGE_MADVISE); a kernel without THP skips.
 */
static bool thp_available(char *why, size_t len)
{
	char buf[64] = "";
	FILE *f;

	f = fopen(THP_ENABLED, "r");
	if (!f) {
		snprintf(why, len, "no %s: THP not built in", THP_ENABLED);
		return false;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (strstr(buf, "[never]") || !buf[0]) {
		snprintf(why, len, "THP disabled: %s", buf);
		return false;
	}
	return true;
}

/* The page at @pfn is part of a transparent huge page (/proc/kpageflags). */
static bool pfn_is_thp(long long pfn)
{
	uint64_t flags = 0;
	int fd;

	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return false;
	if (pread(fd, &flags, sizeof(flags), pfn * 8) != sizeof(flags))
		flags = 0;
	close(fd);
	return flags & (1ULL << 22); /* KPF_THP */
}

/*
 * The 2 MiB at @huge are mapped as one huge page: a THP, 512 consecutive
 * pfns from an aligned one.
 */
static bool is_huge(char *huge)
{
	long long first = pagemap_pfn(huge);
	unsigned long i;

	if (first <= 0 || first % 512 || !pfn_is_thp(first))
		return false;
	for (i = 1; i < 512; i++)
		if (pagemap_pfn(huge + i * PAGE) != first + (long long)i)
			return false;
	return true;
}

/* A 2 MiB aligned, MADV_HUGEPAGE range inside a new mapping of 4 MiB. */
static char *thp_range(char **region)
{
	char *huge;

	*region = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*region == MAP_FAILED)
		return NULL;
	huge = (char *)(((uintptr_t)*region + HPAGE - 1) & ~(HPAGE - 1));
	if (madvise(huge, HPAGE, MADV_HUGEPAGE))
		return NULL;
	return huge;
}

/*
 * THP: a cache on a small page inside a huge page. Zapping another small
 * page of it splits the huge page (the notifier covers the whole 2 MiB):
 * the cache is invalidated, and refreshes to the same pfn and data. Zapping
 * the cached page itself then reads zero.
 */
TEST_F(pfn, thp_split)
{
	char why[128], *region, *huge, *p;
	uint64_t pfn, pfn2;
	uint32_t val;
	int h;

	if (!thp_available(why, sizeof(why)))
		SKIP(return, "%s", why);
	huge = thp_range(&region);
	ASSERT_NE(NULL, huge);
	memset(huge, 0x11, HPAGE);
	if (!is_huge(huge)) {
		munmap(region, 2 * HPAGE);
		SKIP(return, "no huge page at the fault (memory fragmented?)");
	}
	/* khugepaged must not collapse the range again after the split. */
	ASSERT_EQ(0, madvise(huge, HPAGE, MADV_NOHUGEPAGE));
	p = huge + 5 * PAGE + 24;
	h = gpc_create(self->fd, (uintptr_t)p, 8, GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_write32(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER, 0,
				 0xabcdef01));
	EXPECT_EQ(0xabcdef01U, *(uint32_t *)p);
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn));
	EXPECT_EQ((uint64_t)pagemap_pfn(huge) + 5, pfn);

	/* Split by zapping page 100: invalidated, same page after refresh. */
	ASSERT_EQ(0, madvise(huge + 100 * PAGE, PAGE, MADV_DONTNEED));
	EXPECT_FALSE(is_huge(huge));
	EXPECT_LE(1ULL, gpc_stats(self->fd, h).invalidations);
	ASSERT_EQ(-EAGAIN, gpc_access(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val,
				      4, NULL));
	ASSERT_EQ(0, gpc_access(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 0,
				&val, 4, &pfn2));
	EXPECT_EQ(0xabcdef01U, val);
	EXPECT_EQ(pfn, pfn2);
	EXPECT_EQ((uint64_t)pagemap_pfn(p), pfn2);

	/* Zapping the cached page itself. */
	ASSERT_EQ(0, madvise(huge + 5 * PAGE, PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, gpc_read32(self->fd, h, 0, 0, 0, &val));
	EXPECT_EQ(0U, val);
	munmap(region, 2 * HPAGE);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/*
 * THP: MADV_COLLAPSE copies 512 small pages into a new huge page and frees
 * them. A cache on one of them is invalidated before its page is freed and
 * refreshes to the new page, with the data.
 */
TEST_F(pfn, thp_collapse)
{
	char why[128], *region, *huge, *p;
	uint64_t pfn, pfn2;
	uint32_t val;
	unsigned long i;
	int h;

	if (!thp_available(why, sizeof(why)))
		SKIP(return, "%s", why);
	huge = thp_range(&region);
	ASSERT_NE(NULL, huge);
	/* Small pages: fault them in one by one with THP off for the range. */
	ASSERT_EQ(0, madvise(huge, HPAGE, MADV_NOHUGEPAGE));
	for (i = 0; i < HPAGE / PAGE; i++)
		huge[i * PAGE] = (char)i;
	p = huge + 7 * PAGE + 64;
	ASSERT_FALSE(pfn_is_thp(pagemap_pfn(p)));
	*(uint32_t *)p = 0x5eed0007;
	h = gpc_create(self->fd, (uintptr_t)p, 4, GUESTGATE_PFN_WRITABLE);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn));
	EXPECT_EQ(0x5eed0007U, val);

	ASSERT_EQ(0, madvise(huge, HPAGE, MADV_HUGEPAGE));
	if (madvise(huge, HPAGE, MADV_COLLAPSE)) {
		int err = errno;

		munmap(region, 2 * HPAGE);
		/* No huge page to be had now: not the cache's doing. */
		if (err == ENOMEM || err == EAGAIN)
			SKIP(return, "MADV_COLLAPSE: %s", strerror(err));
		ASSERT_EQ(0, err) TH_LOG("MADV_COLLAPSE: %s", strerror(err));
	}
	ASSERT_TRUE(is_huge(huge));
	EXPECT_LE(1ULL, gpc_stats(self->fd, h).invalidations);
	ASSERT_EQ(-EAGAIN, gpc_access(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val,
				      4, NULL));
	ASSERT_EQ(0, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 0,
				&val));
	EXPECT_EQ(0x5eed0007U, val);
	ASSERT_EQ(0, gpc_write32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0,
				 0x5eed1007));
	EXPECT_EQ(0x5eed1007U, *(uint32_t *)p);
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn2));
	EXPECT_NE(pfn, pfn2);
	EXPECT_EQ((uint64_t)pagemap_pfn(huge) + 7, pfn2);
	munmap(region, 2 * HPAGE);
}

/* Memslot changes invalidate gpa caches by generation. */
TEST_F(pfn, memslot_generation)
{
	struct guestgate_pfn_memslot slots[2] = {
		{ .base_gfn = 0x100, .npages = 2, .uhva = (uintptr_t)self->mem },
	};
	const uint64_t gpa = (0x101ULL << 12) + 8;
	struct guestgate_pfn_memslots m = { .nslots = 1, .pad = 1 };
	char big[64];
	char *other = self->mem + 2 * PAGE;
	uint64_t pfn;
	uint32_t val;
	int h;

	*(uint32_t *)(self->mem + PAGE + 8) = 0xaaaa0001;
	*(uint32_t *)(other + PAGE + 8) = 0xbbbb0002;
	EXPECT_EQ(-EFAULT, gpc_create(self->fd, gpa, 4, GUESTGATE_PFN_GPA));
	ASSERT_EQ(0, set_memslots(self->fd, slots, 1));
	h = gpc_create(self->fd, gpa, 4, GUESTGATE_PFN_GPA);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, gpc_read32(self->fd, h, 0, 0, 0, &val));
	EXPECT_EQ(0xaaaa0001U, val);
	/* Move the slot: the generation moved, the cache is stale. */
	slots[0].uhva = (uintptr_t)other;
	ASSERT_EQ(0, set_memslots(self->fd, slots, 1));
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER,
				      0, 0, &val));
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val));
	ASSERT_EQ(0, gpc_access(self->fd, h, 0, 0, 0, &val, 4, &pfn));
	EXPECT_EQ(0xbbbb0002U, val);
	if (pagemap_pfn(other + PAGE) > 0)
		EXPECT_EQ((uint64_t)pagemap_pfn(other + PAGE), pfn);
	/* Bad tables leave the table as it was: the cache stays valid. */
	slots[1] = slots[0];
	EXPECT_EQ(-EEXIST, set_memslots(self->fd, slots, 2));
	EXPECT_EQ(0, gpc_read32(self->fd, h, 0, GUESTGATE_PFN_ACCESS_NOREFRESH,
				0, &val));
	slots[1].base_gfn = 0x200;
	slots[1].uhva = (uintptr_t)self->mem + 1;
	EXPECT_EQ(-EINVAL, set_memslots(self->fd, slots, 2));
	EXPECT_EQ(-EINVAL, set_memslots(self->fd, slots,
					GUESTGATE_PFN_MEMSLOTS_MAX + 1));
	EXPECT_EQ(-EFAULT, set_memslots(self->fd, NULL, 1));
	m.slots = (uintptr_t)slots;
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, gpc_read32(self->fd, h, 0, GUESTGATE_PFN_ACCESS_NOREFRESH,
				0, &val));
	/* The same table again is a change: the refresh resolves again. */
	ASSERT_EQ(0, set_memslots(self->fd, slots, 1));
	EXPECT_EQ(-EAGAIN, gpc_read32(self->fd, h, 0,
				      GUESTGATE_PFN_ACCESS_NOREFRESH, 0, &val));
	ASSERT_EQ(0, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_KTHREAD, 0, 0,
				&val));
	EXPECT_EQ(0xbbbb0002U, val);
	/* No slots: the cache's address is gone. */
	ASSERT_EQ(0, set_memslots(self->fd, NULL, 0));
	EXPECT_EQ(-EFAULT, gpc_read32(self->fd, h, 0, 0, 0, &val));
	/*
	 * A cache moved from an address at 0xff0 in its page to a gpa at 0
	 * in its page, with no slot: the access of 64 bytes is checked at
	 * the gpa's offset, and fails to refresh (EFAULT), not to fit (EINVAL).
	 */
	h = gpc_create(self->fd, (uintptr_t)self->mem + 0xff0, 16, 0);
	ASSERT_LT(0, h);
	EXPECT_EQ(-EFAULT, gpc_activate(self->fd, h, 0x101ULL << 12, 64,
					GUESTGATE_PFN_GPA));
	EXPECT_EQ(-EFAULT, gpc_access(self->fd, h, 0, 0, 0, big, sizeof(big),
				      NULL));
}

/* Every errno of the UAPI. */
TEST_F(pfn, errnos)
{
	struct guestgate_pfn_handle pad = { .pad = 1 };
	char big[GUESTGATE_PFN_ACCESS_MAX + 1];
	char *gone = map_pages(1);
	uint32_t val = 0;
	int h, r, i;

	ASSERT_NE(NULL, gone);
	ASSERT_EQ(0, munmap(gone, PAGE));
	h = gpc_create(self->fd, (uintptr_t)self->mem + PAGE - 8, 8, 0);
	ASSERT_LT(0, h);

	/* Unmapped: EFAULT. Crossing a page: EINVAL. */
	EXPECT_EQ(-EFAULT, gpc_create(self->fd, (uintptr_t)gone, 4, 0));
	EXPECT_EQ(-EINVAL, gpc_create(self->fd, (uintptr_t)self->mem + PAGE - 4,
				      8, 0));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, 0, 0, 8, &val));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, GUESTGATE_PFN_CTX_HRTIMER,
				      0, 6, &val));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, 0, 0, PAGE, &val));
	/* Beyond the length of the activation (in the page): EINVAL. */
	r = gpc_create(self->fd, (uintptr_t)self->mem, 8, 0);
	ASSERT_LT(0, r);
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, r, 0, 0, 6, &val));
	EXPECT_EQ(0, gpc_read32(self->fd, r, 0, 0, 4, &val));
	/*
	 * A failed activation keeps its address and length together: the
	 * refresh uses the new length with the new address (EFAULT: still
	 * unmapped), not the old 4096 with the new offset (EINVAL).
	 */
	i = gpc_create(self->fd, (uintptr_t)self->mem, PAGE, 0);
	ASSERT_LT(0, i);
	EXPECT_EQ(-EFAULT, gpc_activate(self->fd, i, (uintptr_t)gone + 0x800,
					16, 0));
	EXPECT_EQ(-EFAULT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, i));
	EXPECT_EQ(0, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DESTROY, i));
	EXPECT_EQ(0, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DESTROY, r));
	/* Bad flags, sizes, contexts. */
	EXPECT_EQ(-EINVAL, gpc_create(self->fd, (uintptr_t)self->mem, 4, 4));
	EXPECT_EQ(-EINVAL, gpc_create(self->fd, (uintptr_t)self->mem, 0, 0));
	EXPECT_EQ(-EINVAL, gpc_create(self->fd, (uintptr_t)self->mem,
				      PAGE + 1, 0));
	EXPECT_EQ(-EINVAL, gpc_access(self->fd, h, 0, 0, 0, big, 0, NULL));
	EXPECT_EQ(-EINVAL, gpc_access(self->fd, h, 0, 0, 0, big,
				      sizeof(big), NULL));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, 3, 0, 0, &val));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, 0, 4, 0, &val));
	EXPECT_EQ(-EINVAL, gpc_activate(self->fd, h, (uintptr_t)self->mem, 4,
					GUESTGATE_PFN_WRITABLE));
	pad.handle = h;
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, &pad));
	EXPECT_EQ(EINVAL, errno);
	/* Read-only cache: EPERM for writes. */
	EXPECT_EQ(-EPERM, gpc_write32(self->fd, h, 0, 0, 1));
	/* Bad handles: ENOENT. */
	EXPECT_EQ(-ENOENT, gpc_read32(self->fd, h + 1000, 0, 0, 0, &val));
	EXPECT_EQ(-ENOENT, gpc_read32(self->fd, 0, 0, 0, 0, &val));
	EXPECT_EQ(-ENOENT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, 0));
	EXPECT_EQ(-ENOENT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE, 77));
	EXPECT_EQ(-ENOENT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_STATS, 77));
	EXPECT_EQ(-ENOENT, gpc_activate(self->fd, 77, (uintptr_t)self->mem, 4,
					0));
	/* Bad user pointers: EFAULT. */
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_TEST_IOCTL_PFN_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_TEST_IOCTL_PFN_ACCESS, gone));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, GUESTGATE_TEST_IOCTL_PFN_STATS,
			    (void *)0xffffffff81000000UL));
	EXPECT_EQ(EFAULT, errno);
	/* Unknown commands: ENOTTY, near misses included. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(GUESTGATE_TEST_IOC_MAGIC, 0x18,
					   struct guestgate_pfn_handle), &val));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(GUESTGATE_TEST_IOC_MAGIC, 0x14, __u32),
			    &val));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(GUESTGATE_TEST_IOC_MAGIC, 0x16,
					   struct guestgate_pfn_handle), &val));
	EXPECT_EQ(ENOTTY, errno);
	/* Deactivated: EINVAL until activated again. */
	ASSERT_EQ(0, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE, h));
	EXPECT_EQ(-EINVAL, gpc_read32(self->fd, h, 0, 0, 0, &val));
	EXPECT_EQ(-EINVAL, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_REFRESH, h));
	ASSERT_EQ(0, gpc_activate(self->fd, h, (uintptr_t)self->mem, 4, 0));
	EXPECT_EQ(0, gpc_read32(self->fd, h, 0, 0, 0, &val));
	/* Destroyed: ENOENT. */
	ASSERT_EQ(0, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DESTROY, h));
	EXPECT_EQ(-ENOENT, gpc_op(self->fd, GUESTGATE_TEST_IOCTL_PFN_DESTROY, h));
	EXPECT_EQ(-ENOENT, gpc_read32(self->fd, h, 0, 0, 0, &val));
	/* At most GUESTGATE_PFN_CACHES_MAX caches: ENOSPC. */
	for (i = 0; i < GUESTGATE_PFN_CACHES_MAX; i++)
		ASSERT_LT(0, gpc_create(self->fd, (uintptr_t)self->mem, 4, 0))
			TH_LOG("cache %d", i);
	r = gpc_create(self->fd, (uintptr_t)self->mem, 4, 0);
	EXPECT_EQ(-ENOSPC, r);
}

/* Closing the file destroys its caches (the run checks kmemleak). */
/* The sample's toy vCPU loop, keeping the runstate at @rs; 0 or -errno. */
static int vcpu_runstate(void *rs, uint32_t ms, struct guestgate_sample_vcpu_run *r)
{
	int fd, ret;

	memset(r, 0, sizeof(*r));
	r->ms = ms;
	r->guest_us = 100;
	r->flags = GUESTGATE_SAMPLE_VCPU_RUNSTATE;
	r->runstate = (uintptr_t)rs;
	fd = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, GUESTGATE_SAMPLE_IOCTL_VCPU_RUN, r) ? -errno : 0;
	close(fd);
	return ret;
}

struct zapper {
	char *page;
	int stop;
	unsigned long zaps;
	/* CLOCK_MONOTONIC ns when the last zap returned. */
	uint64_t last_zap_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* On CPU 1: MADV_DONTNEED of the runstate's page every 10 ms. */
static void *zap_fn(void *arg)
{
	struct zapper *z = arg;

	pin_cpu(1);
	while (!__atomic_load_n(&z->stop, __ATOMIC_RELAXED)) {
		if (!madvise(z->page, PAGE, MADV_DONTNEED))
			z->zaps++;
		z->last_zap_ns = now_ns();
		usleep(10000);
	}
	return NULL;
}

/* The runs of sample_vcpu_runstate that may end with a zap. */
#define RUNSTATE_TRIES	5

/*
 * The runstate the loop wrote last is what this task reads, though the page
 * under it was replaced again and again: each zap invalidated the sample's
 * cache, and its next write refreshed it to the new page.
 *
 * That holds when the last zap returned before the loop's last write. A zap
 * that comes later empties the page after that write (the zapper stops only
 * once the run has returned, and a descheduled zapper can be late): such a
 * run proves nothing and is done again.
 */
TEST(sample_vcpu_runstate)
{
	struct guestgate_sample_vcpu_run r;
	struct zapper z;
	uint64_t *rs;
	pthread_t t;
	int try;

	ASSERT_EQ(0, pin_cpu(0));
	for (try = 0; try < RUNSTATE_TRIES; try++) {
		memset(&z, 0, sizeof(z));
		z.page = map_pages(1);
		ASSERT_NE(NULL, z.page);
		rs = (uint64_t *)(z.page + 64);
		ASSERT_EQ(0, pthread_create(&t, NULL, zap_fn, &z));
		EXPECT_EQ(0, vcpu_runstate(rs, 300, &r));
		__atomic_store_n(&z.stop, 1, __ATOMIC_RELAXED);
		pthread_join(t, NULL);
		/* The last write follows the last guest exit. */
		if (z.last_zap_ns < r.t_last_out)
			break;
		TH_LOG("a zap returned after the loop's last guest exit: again");
		munmap(z.page, PAGE);
	}
	ASSERT_GT(RUNSTATE_TRIES, try);
	TH_LOG("%llu entries, %lu zaps, %llu refreshes of the runstate cache",
	       (unsigned long long)r.entries, z.zaps,
	       (unsigned long long)r.runstate_refreshes);
	EXPECT_LT(0ULL, r.entries);
	EXPECT_EQ(r.entries, __atomic_load_n(&rs[0], __ATOMIC_RELAXED));
	EXPECT_EQ(r.guest_cycles, __atomic_load_n(&rs[1], __ATOMIC_RELAXED));
	/* Zaps landed during the run, and only they make a refresh. */
	EXPECT_LE(2ULL, r.runstate_refreshes);
	EXPECT_GE(z.zaps + 1, r.runstate_refreshes);
	munmap(z.page, PAGE);
}

TEST(sample_vcpu_runstate_errnos)
{
	struct guestgate_sample_vcpu_run r;
	char *p = map_pages(2);

	ASSERT_NE(NULL, p);
	/* Across a page boundary. */
	EXPECT_EQ(-EINVAL, vcpu_runstate(p + PAGE - 8, 10, &r));
	/* Read-only. */
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, vcpu_runstate(p, 10, &r));
	/* Not mapped. */
	ASSERT_EQ(0, munmap(p, 2 * PAGE));
	EXPECT_EQ(-EFAULT, vcpu_runstate(p + PAGE, 10, &r));
}

TEST(close_tears_down)
{
	long long before = debugfs_counter(PFN_CACHE_FILE, "caches");
	struct guestgate_pfn_memslot slot;
	char *mem = map_pages(2);
	int fd, i;

	ASSERT_LE(0, before) TH_LOG("no %s", PFN_CACHE_FILE);
	ASSERT_NE(NULL, mem);
	fd = open(GUESTGATE_TEST_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	slot = (struct guestgate_pfn_memslot){ 0, 2, (uintptr_t)mem };
	ASSERT_EQ(0, set_memslots(fd, &slot, 1));
	for (i = 0; i < 8; i++)
		ASSERT_LT(0, gpc_create(fd, (i & 1) * PAGE + i * 8, 8,
					GUESTGATE_PFN_GPA |
					GUESTGATE_PFN_WRITABLE));
	for (i = 0; i < 8; i++)
		ASSERT_LT(0, gpc_create(fd, (uintptr_t)mem + i * 8, 8, 0));
	EXPECT_EQ(before + 16, debugfs_counter(PFN_CACHE_FILE, "caches"));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(before, debugfs_counter(PFN_CACHE_FILE, "caches"));
	/* The notifiers are gone: unmapping calls nobody. */
	before = debugfs_counter(PFN_CACHE_FILE, "invalidations");
	ASSERT_EQ(0, munmap(mem, 2 * PAGE));
	EXPECT_EQ(before, debugfs_counter(PFN_CACHE_FILE, "invalidations"));
}

/* The fuzzer's random numbers: xorshift64*, seeded by the clock (logged). */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

#define FUZZ_IOCTLS	100000
#define FUZZ_ARENA	16
/*
 * PROT_NONE pages above the arena: the furthest a plausible memslot
 * (arena page 15 + 7 pages) or address (arena page 16) reaches. Caches
 * there fail with EFAULT instead of writing into the test's other memory.
 */
#define FUZZ_GUARD	8

static const unsigned long fuzz_cmds[] = {
	GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS,
	GUESTGATE_TEST_IOCTL_PFN_CREATE,
	GUESTGATE_TEST_IOCTL_PFN_ACTIVATE,
	GUESTGATE_TEST_IOCTL_PFN_ACCESS,
	GUESTGATE_TEST_IOCTL_PFN_REFRESH,
	GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE,
	GUESTGATE_TEST_IOCTL_PFN_DESTROY,
	GUESTGATE_TEST_IOCTL_PFN_STATS,
};

/* A real command with its size, direction, number or magic changed. */
static unsigned long near_miss(unsigned long cmd)
{
	switch (rnd() % 5) {
	case 0:
		return cmd ^ (1UL << (_IOC_SIZESHIFT + rnd() % _IOC_SIZEBITS));
	case 1:
		return cmd ^ (1UL << (_IOC_DIRSHIFT + rnd() % _IOC_DIRBITS));
	case 2:
		return cmd ^ (1UL << (_IOC_NRSHIFT + rnd() % _IOC_NRBITS));
	case 3:
		return cmd ^ (1UL << (_IOC_TYPESHIFT + rnd() % _IOC_TYPEBITS));
	default:
		return (unsigned long)rnd();
	}
}

static const int fuzz_allowed[] = {
	0, EFAULT, EINVAL, ENOENT, ENOTTY, ENOSPC, EPERM, EAGAIN, EEXIST, EBUSY,
};

/*
 * Random ioctls: real commands and near misses; NULL, unmapped, kernel and
 * valid pointers; random contents, or contents that point into a mapped
 * arena, with live, stale or random handles. The arena is zapped now and
 * then. Only the allowed errnos may come back; closing tears it all down.
 */
FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, ioctls, 120)
{
	unsigned int counts[ARRAY_SIZE(fuzz_allowed)] = { 0 };
	union {
		struct guestgate_pfn_memslots m;
		struct guestgate_pfn_create c;
		struct guestgate_pfn_handle h;
		struct guestgate_pfn_access a;
		struct guestgate_pfn_stats s;
		uint8_t raw[256];
	} *buf;
	struct guestgate_pfn_memslot slots[4];
	uint32_t handles[16] = { 0 };
	struct timespec t0, t1;
	char *arena, *gone;
	int fd, i, j;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rnd_state = t0.tv_nsec | 1;
	TH_LOG("seed %#llx", (unsigned long long)rnd_state);
	arena = map_pages(FUZZ_ARENA + FUZZ_GUARD);
	gone = map_pages(1);
	buf = malloc(sizeof(*buf));
	ASSERT_NE(NULL, arena);
	ASSERT_EQ(0, mprotect(arena + FUZZ_ARENA * PAGE, FUZZ_GUARD * PAGE,
			      PROT_NONE));
	ASSERT_NE(NULL, gone);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, munmap(gone, PAGE));
	fd = open(GUESTGATE_TEST_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);

	for (i = 0; i < FUZZ_IOCTLS; i++) {
		unsigned long cmd = fuzz_cmds[rnd() % ARRAY_SIZE(fuzz_cmds)];
		uint64_t r = rnd();
		void *arg;
		int ret, err;

		if (r % 8 == 0)
			cmd = near_miss(cmd);
		for (j = 0; j < (int)sizeof(buf->raw); j += 8)
			*(uint64_t *)(buf->raw + j) = rnd();
		/* Plausible contents, most of the time. */
		if ((r >> 3) % 4) {
			uint32_t h = handles[rnd() % 16];

			if (rnd() % 8 == 0)
				h = rnd() % 4 ? rnd() % 256 : (uint32_t)rnd();
			switch (_IOC_NR(cmd)) {
			case 0x10:
				for (j = 0; j < 4; j++)
					slots[j] = (struct guestgate_pfn_memslot){
						.base_gfn = rnd() % 64,
						.npages = rnd() % 8,
						.uhva = (uintptr_t)arena +
							rnd() % FUZZ_ARENA * PAGE,
					};
				buf->m.nslots = rnd() % 5;
				buf->m.pad = rnd() % 16 == 0;
				buf->m.slots = rnd() % 16 ? (uintptr_t)slots :
					       (uintptr_t)gone;
				break;
			case 0x11:
			case 0x12:
				buf->c.flags = rnd() % 16 ? rnd() % 4 : rnd();
				buf->c.addr = buf->c.flags & GUESTGATE_PFN_GPA ?
					rnd() % (64 * PAGE) :
					(uintptr_t)arena +
					rnd() % ((FUZZ_ARENA + 1) * PAGE);
				buf->c.len = rnd() % 16 ? 1 + rnd() % 64 : rnd();
				buf->c.handle = h;
				buf->c.pad = rnd() % 16 == 0;
				break;
			case 0x13:
				buf->a.handle = h;
				buf->a.context = rnd() % 16 ? rnd() % 3 : rnd();
				buf->a.flags = rnd() % 16 ? rnd() % 4 : rnd();
				buf->a.len = rnd() % 16 ? 1 + rnd() % 64 : rnd();
				buf->a.offset = rnd() % 16 ? rnd() % 128 : rnd();
				break;
			default:
				buf->h.handle = h;
				buf->h.pad = rnd() % 16 == 0;
				break;
			}
		}
		switch ((r >> 5) % 16) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = gone;
			break;
		case 2:
			arg = (void *)0xffffffff81000000UL;
			break;
		case 3:
			arg = (char *)buf + rnd() % 64;
			break;
		default:
			arg = buf;
			break;
		}
		ret = ioctl(fd, cmd, arg);
		err = ret ? errno : 0;
		for (j = 0; j < (int)ARRAY_SIZE(fuzz_allowed); j++)
			if (fuzz_allowed[j] == err)
				break;
		ASSERT_LT(j, (int)ARRAY_SIZE(fuzz_allowed))
			TH_LOG("ioctl %d: cmd %#lx: %s", i, cmd, strerror(err));
		counts[j]++;
		if (!ret && cmd == GUESTGATE_TEST_IOCTL_PFN_CREATE && arg == buf)
			handles[rnd() % 16] = buf->c.handle;
		if (i % 2000 == 1999)
			madvise(arena + rnd() % FUZZ_ARENA * PAGE, PAGE,
				MADV_DONTNEED);
	}
	EXPECT_EQ(0, close(fd));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (j = 0; j < (int)ARRAY_SIZE(fuzz_allowed); j++)
		TH_LOG("%-7s %u", fuzz_allowed[j] ?
		       strerrorname_np(fuzz_allowed[j]) : "ok", counts[j]);
	TH_LOG("%d ioctls in %.1f s", FUZZ_IOCTLS,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* The plausible contents reached the commands' work, not only errors. */
	EXPECT_LT(1000U, counts[0]);
	munmap(arena, (FUZZ_ARENA + FUZZ_GUARD) * PAGE);
	free(buf);
}

TEST_HARNESS_MAIN
