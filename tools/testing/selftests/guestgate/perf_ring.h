/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: the ring buffer of a perf event, read as perf's
 * user-space tools read it.
 */
#ifndef _GUESTGATE_PERF_RING_H
#define _GUESTGATE_PERF_RING_H

#include <linux/perf_event.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RING_PAGES	256
/* The largest record read; longer ones end the read. */
#define RING_MAX_RECORD	512

struct ring {
	int fd;
	void *base;
	size_t len;
};

/* Maps the ring of the event @fd; 0, or -1 (and @fd closed). */
static inline int ring_map(struct ring *r, int fd)
{
	long page = sysconf(_SC_PAGESIZE);

	r->fd = fd;
	r->len = (RING_PAGES + 1) * page;
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		close(fd);
		return -1;
	}
	return 0;
}

static inline void ring_close(struct ring *r)
{
	munmap(r->base, r->len);
	close(r->fd);
}

/*
 * Calls @fn for every record written since the last call, with the record's
 * body (after its header) copied out of the ring, then frees their space.
 * Safe while the event runs. Returns the number of records.
 */
static inline int ring_drain(struct ring *r,
			     void (*fn)(const struct perf_event_header *hdr,
					const char *body, void *arg),
			     void *arg)
{
	struct perf_event_mmap_page *meta = r->base;
	char *data = (char *)r->base + meta->data_offset;
	uint64_t size = meta->data_size;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;
	int n = 0;

	while (tail < head) {
		struct perf_event_header hdr;
		char rec[RING_MAX_RECORD];
		uint64_t i;

		for (i = 0; i < sizeof(hdr); i++)
			((char *)&hdr)[i] = data[(tail + i) % size];
		if (hdr.size > sizeof(rec) || hdr.size < sizeof(hdr))
			break;
		for (i = 0; i < hdr.size; i++)
			rec[i] = data[(tail + i) % size];
		fn(&hdr, rec + sizeof(hdr), arg);
		tail += hdr.size;
		n++;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#endif /* _GUESTGATE_PERF_RING_H */
