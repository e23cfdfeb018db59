// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: benchmark of the pfn cache (make bench).
 *
 * guestgate_stress/pfn_cache_bench caches a page of this task; each read
 * times, in this task, a 4-byte write through the cache (read lock, check,
 * write, unlock), the same write by get_user_pages_fast() + kmap_local +
 * put_page() and by copy_to_user(), and a refresh (TSC cycles per operation,
 * best of 7 batches). Here: the cost of MADV_DONTNEED on the cached page
 * against an uncached one (the cache's notifier), and the refresh again
 * while another thread storms MADV_DONTNEED on an unrelated range: it must
 * stay flat, with no retry. Prints "name: value" lines.
 *
 * Needs guestgate.ko and guestgate_stress.ko loaded, debugfs and root.
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
#include <x86intrin.h>

#define BENCH_FILE	"/sys/kernel/debug/guestgate_stress/pfn_cache_bench"
#define PAGE		4096
#define STORM_PAGES	64
#define ZAPS		301

static int storm_stop;
static unsigned long storm_zaps;

static void *storm_fn(void *arg)
{
	char *c = arg;
	int i;

	while (!__atomic_load_n(&storm_stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < STORM_PAGES; i++)
			c[i * PAGE] = 1;
		madvise(c, STORM_PAGES * PAGE, MADV_DONTNEED);
		__atomic_fetch_add(&storm_zaps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Reads the module's figures into @out, printed with @suffix. */
static int kernel_figures(int fd, const char *suffix, long long *retries,
			  long long *refresh)
{
	char buf[1024], name[64];
	long long val;
	ssize_t n;
	char *line;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "%63[^:]: %lld", name, &val) != 2)
			continue;
		printf("%s%s: %lld\n", name, suffix, val);
		if (!strcmp(name, "retries"))
			*retries = val;
		if (!strcmp(name, "refresh"))
			*refresh = val;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
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
	qsort(t, ZAPS, sizeof(t[0]), cmp_u64);
	return t[ZAPS / 2];
}

int main(void)
{
	long long retries = -1, retries_storm = -1, refresh = 0, refresh_storm = 0;
	char *a, *b, *c, cmd[32];
	pthread_t storm;
	int fd;

	a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, STORM_PAGES * PAGE, PROT_READ | PROT_WRITE,
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
	if (kernel_figures(fd, "", &retries, &refresh))
		return 1;
	printf("zap_cached: %llu\n", (unsigned long long)zap_cycles(a));
	printf("zap_uncached: %llu\n", (unsigned long long)zap_cycles(b));

	if (pthread_create(&storm, NULL, storm_fn, c))
		return 1;
	while (__atomic_load_n(&storm_zaps, __ATOMIC_RELAXED) < 10)
		usleep(1000);
	if (kernel_figures(fd, "_storm", &retries_storm, &refresh_storm))
		return 1;
	__atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
	pthread_join(storm, NULL);
	printf("storm_zaps: %lu\n", __atomic_load_n(&storm_zaps, __ATOMIC_RELAXED));
	close(fd);
	/* Both counters read, and the storm added no retry. */
	return retries >= 0 && retries_storm == retries ? 0 : 2;
}
