// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: benchmark of the pfn cache (make bench).
 *
 * guestgate_test/pfn_cache_bench caches a page of this task; each read
 * times, in this task, a 4-byte write through the cache (read lock, check,
 * write, unlock), the same write by get_user_pages_fast() + kmap_local +
 * put_page() and by copy_to_user(), and a refresh (TSC cycles per operation,
 * best of 11 batches, the kinds taking turns; here, best of 3 such reads).
 * Here too: the cost of MADV_DONTNEED on the cached page against an
 * uncached one (the cache's notifier), and the refresh again while another
 * thread storms MADV_DONTNEED on an unrelated range: it must stay flat,
 * with no retry. Prints "name: value" lines.
 *
 * Then activation through /dev/guestgate_test (ACTIVATE of guestgate_test.ko):
 * to the other of two pages in turn (the notifier moves: removed, inserted
 * on the new page) and deactivate + activate on the same page, quiet and
 * while one or two threads storm MADV_DONTNEED on unrelated memory of the
 * same mm (median and largest TSC cycles of ACTIVATE_SAMPLES). An interval
 * notifier inserted while any invalidation of the mm is in flight waits, in
 * its first mmu_interval_read_begin(), until none is.
 *
 * The benchmark runs on CPU 0 and the storm on CPU 1: the storm never
 * shares the benchmark's CPU, and every run measures on the same CPU.
 * Under TCG a read's figures can all be slower by up to half than the
 * next read's, in the same boot and on the same CPU: hence the best of
 * several reads, and ratios taken within them.
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
#include <unistd.h>
#include <sys/ioctl.h>
#include <x86intrin.h>

#include "guestgate_test_uapi.h"

#include "pin_cpu.h"

#define BENCH_FILE	"/sys/kernel/debug/guestgate_test/pfn_cache_bench"
#define PAGE		4096
#define STORM_PAGES	64
#define ZAPS		301
#define ACTIVATE_SAMPLES	201
#define STORMS		2

static int storm_stop;
static unsigned long storm_zaps;

/* Runs the calling thread on @cpu only, if there is such a CPU. */
static void pin(int cpu)
{
	if (pin_cpu(cpu))
		fprintf(stderr, "cpu %d: %s, not pinned\n", cpu, strerror(errno));
}

static void *storm_fn(void *arg)
{
	char *c = arg;
	int i;

	pin(1);
	while (!__atomic_load_n(&storm_stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < STORM_PAGES; i++)
			c[i * PAGE] = 1;
		madvise(c, STORM_PAGES * PAGE, MADV_DONTNEED);
		__atomic_fetch_add(&storm_zaps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

#define MAX_FIGURES	32
#define QUIET_READS	3

struct figures {
	int n;
	char name[MAX_FIGURES][64];
	long long val[MAX_FIGURES];
};

/*
 * Reads the module's figures. Each read runs the batches again; a cycle
 * figure (the kinds) keeps its least value over the reads, a counter its
 * last.
 */
static int read_figures(int fd, struct figures *f)
{
	char buf[2048], name[64];
	long long val;
	ssize_t n;
	char *line;
	int i;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "%63[^:]: %lld", name, &val) != 2)
			continue;
		for (i = 0; i < f->n && strcmp(f->name[i], name); i++)
			;
		if (i == f->n) {
			if (f->n == MAX_FIGURES)
				return -1;
			memcpy(f->name[f->n++], name, sizeof(name));
		} else if (strcmp(name, "refreshes") && strcmp(name, "invalidations") &&
			   strcmp(name, "retries") && val > f->val[i]) {
			continue;
		}
		f->val[i] = val;
	}
	return 0;
}

/* Reads the figures @reads times, prints them with @suffix. */
static int kernel_figures(int fd, int reads, const char *suffix,
			  long long *retries, long long *refresh)
{
	struct figures f = { 0 };
	int i;

	for (i = 0; i < reads; i++)
		if (read_figures(fd, &f))
			return -1;
	for (i = 0; i < f.n; i++) {
		printf("%s%s: %lld\n", f.name[i], suffix, f.val[i]);
		if (!strcmp(f.name[i], "retries"))
			*retries = f.val[i];
		if (!strcmp(f.name[i], "refresh"))
			*refresh = f.val[i];
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the @n samples of @t; returns their median. */
static uint64_t sort_median(uint64_t *t, size_t n)
{
	qsort(t, n, sizeof(t[0]), cmp_u64);
	return t[n / 2];
}

/*
 * ACTIVATE_SAMPLES activations of cache @handle of @dev: to @a and @b in
 * turn (@b NULL: deactivate, then activate on @a again). Prints the median
 * and the largest, in TSC cycles, as NAME_median and NAME_max. Returns the
 * median, or 0 on an error.
 */
static uint64_t activations(int dev, unsigned int handle, char *a, char *b,
			    const char *name)
{
	struct guestgate_pfn_create c = { .len = 8, .flags = GUESTGATE_PFN_WRITABLE,
					  .handle = handle };
	struct guestgate_pfn_handle h = { .handle = handle };
	uint64_t t[ACTIVATE_SAMPLES], t0, median;
	int i;

	for (i = 0; i < ACTIVATE_SAMPLES; i++) {
		c.addr = (unsigned long)(b && i % 2 ? b : a);
		if (!b && ioctl(dev, GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE, &h)) {
			perror("GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE");
			return 0;
		}
		t0 = __rdtsc();
		if (ioctl(dev, GUESTGATE_TEST_IOCTL_PFN_ACTIVATE, &c)) {
			perror("GUESTGATE_TEST_IOCTL_PFN_ACTIVATE");
			return 0;
		}
		t[i] = __rdtsc() - t0;
	}
	median = sort_median(t, ACTIVATE_SAMPLES);
	printf("%s_median: %llu\n%s_max: %llu\n", name, (unsigned long long)median,
	       name, (unsigned long long)t[ACTIVATE_SAMPLES - 1]);
	return median;
}

/*
 * Activation quiet and beside 1 and STORMS storm threads on @c (each its
 * own STORM_PAGES pages). Returns 0, or 1 on an error.
 */
static int activation_bench(char *a, char *b, char *c)
{
	struct guestgate_pfn_create create = { .addr = (unsigned long)a, .len = 8,
					       .flags = GUESTGATE_PFN_WRITABLE };
	pthread_t storm[STORMS];
	char name[64];
	int dev, n, i;

	dev = open(GUESTGATE_TEST_DEVICE_PATH, O_RDWR);
	if (dev < 0 || ioctl(dev, GUESTGATE_TEST_IOCTL_PFN_CREATE, &create)) {
		perror(GUESTGATE_TEST_DEVICE_PATH);
		return 1;
	}
	for (n = 0; n <= STORMS; n++) {
		storm_stop = 0;
		storm_zaps = 0;
		for (i = 0; i < n; i++)
			if (pthread_create(&storm[i], NULL, storm_fn,
					   c + i * STORM_PAGES * PAGE))
				return 1;
		while (n && __atomic_load_n(&storm_zaps, __ATOMIC_RELAXED) < 10)
			usleep(1000);
		snprintf(name, sizeof(name), "activate_move_storm%d", n);
		if (!activations(dev, create.handle, a, b, name))
			return 1;
		snprintf(name, sizeof(name), "activate_same_storm%d", n);
		if (!activations(dev, create.handle, a, NULL, name))
			return 1;
		__atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
		for (i = 0; i < n; i++)
			pthread_join(storm[i], NULL);
		printf("activate_storm%d_zaps: %lu\n", n,
		       __atomic_load_n(&storm_zaps, __ATOMIC_RELAXED));
	}
	close(dev);
	return 0;
}

/* Median TSC cycles of MADV_DONTNEED on the page @p, faulted in before. */
static uint64_t zap_cycles(char *p)
{
	uint64_t t[ZAPS], t0;
	int i;

	for (i = 0; i < ZAPS; i++) {
		__atomic_store_n(p, 1, __ATOMIC_RELAXED);
		t0 = __rdtsc();
		madvise(p, PAGE, MADV_DONTNEED);
		t[i] = __rdtsc() - t0;
	}
	return sort_median(t, ZAPS);
}

int main(void)
{
	long long retries = -1, retries_storm = -1, refresh = 0, refresh_storm = 0;
	char *a, *b, *c, cmd[32];
	pthread_t storm;
	int fd;

	pin(0);
	a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, STORMS * STORM_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	a[0] = 1;
	b[0] = 1;
	fd = open(BENCH_FILE, O_RDWR);
	if (fd < 0) {
		perror(BENCH_FILE);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%lx", (unsigned long)a);
	if (write(fd, cmd, strlen(cmd)) < 0) {
		perror("activate");
		return 1;
	}
	if (kernel_figures(fd, QUIET_READS, "", &retries, &refresh))
		return 1;
	printf("zap_cached: %llu\n", (unsigned long long)zap_cycles(a));
	printf("zap_uncached: %llu\n", (unsigned long long)zap_cycles(b));

	if (pthread_create(&storm, NULL, storm_fn, c))
		return 1;
	while (__atomic_load_n(&storm_zaps, __ATOMIC_RELAXED) < 10)
		usleep(1000);
	if (kernel_figures(fd, 1, "_storm", &retries_storm, &refresh_storm))
		return 1;
	__atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
	pthread_join(storm, NULL);
	printf("storm_zaps: %lu\n", __atomic_load_n(&storm_zaps, __ATOMIC_RELAXED));
	close(fd);
	if (activation_bench(a, b, c))
		return 1;
	/* Both counters read, and the storm added no retry. */
	return retries >= 0 && retries_storm == retries ? 0 : 2;
}
