/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * guestgate_test.ko: the private userspace interface of /dev/guestgate_test,
 * the pfn cache test device. Not part of guestgate's UAPI: only the
 * kselftests of tools/testing/selftests/guestgate include it, as
 * lib/test_hmm_uapi.h serves the hmm selftests.
 *
 * The device drives guestgate.ko's pfn cache through its C API
 * (<linux/guestgate/pfncache.h>), as KVM does. Every ioctl returns 0 on
 * success or -1 with errno set; an unknown command fails with ENOTTY.
 */
#ifndef _GUESTGATE_TEST_UAPI_H
#define _GUESTGATE_TEST_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GUESTGATE_TEST_DEVICE_PATH	"/dev/guestgate_test"

/* guestgate's ioctl magic, with numbers that /dev/guestgate never uses. */
#define GUESTGATE_TEST_IOC_MAGIC	0xB9

/*
 * The pfn cache on /dev/guestgate_test. Each open file has its own memslot
 * table and up to GUESTGATE_PFN_CACHES_MAX caches, bound to the mm of the
 * task that creates them and named by handles; closing the file destroys
 * them all.
 * Reserved fields and padding must be zero (EINVAL otherwise).
 */

/* The slots of a memslot table: GUESTGATE_MEMSLOTS_MAX of guestgate.ko. */
#define GUESTGATE_PFN_MEMSLOTS_MAX	32
/* The maximum number of caches of one open file. */
#define GUESTGATE_PFN_CACHES_MAX	64
/* The largest access of GUESTGATE_TEST_IOCTL_PFN_ACCESS, in bytes. */
#define GUESTGATE_PFN_ACCESS_MAX	64

/**
 * struct guestgate_pfn_memslot - one slot of a memslot table
 * @base_gfn: first guest frame number of the slot
 * @npages: pages in the slot; 0 leaves the slot empty
 * @uhva: page-aligned user address of @base_gfn
 */
struct guestgate_pfn_memslot {
	__u64 base_gfn;
	__u64 npages;
	__u64 uhva;
};

/**
 * struct guestgate_pfn_memslots - argument of GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS
 * @nslots: entries at @slots, at most GUESTGATE_PFN_MEMSLOTS_MAX; slot i is
 *          @slots[i], the slots from @nslots on are emptied
 * @pad: zero
 * @slots: user address of an array of struct guestgate_pfn_memslot
 */
struct guestgate_pfn_memslots {
	__u32 nslots;
	__u32 pad;
	__u64 slots;
};

/* Flags of struct guestgate_pfn_create. */
#define GUESTGATE_PFN_WRITABLE	(1U << 0)	/* map pages for writing */
#define GUESTGATE_PFN_GPA	(1U << 1)	/* @addr is a guest physical address */

/**
 * struct guestgate_pfn_create - argument of GUESTGATE_TEST_IOCTL_PFN_CREATE and
 *                               GUESTGATE_TEST_IOCTL_PFN_ACTIVATE
 * @addr: user address, or with GUESTGATE_PFN_GPA guest physical address
 *        resolved through the file's memslot table
 * @len: bytes from @addr that accesses may use, 1 to the end of the page
 * @flags: GUESTGATE_PFN_*; for ACTIVATE, GUESTGATE_PFN_WRITABLE must be as
 *         at creation
 * @handle: out for CREATE (nonzero), in for ACTIVATE
 * @pad: zero
 */
struct guestgate_pfn_create {
	__u64 addr;
	__u32 len;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct guestgate_pfn_handle - argument of the ioctls that name a cache
 * @handle: from GUESTGATE_TEST_IOCTL_PFN_CREATE
 * @pad: zero
 */
struct guestgate_pfn_handle {
	__u32 handle;
	__u32 pad;
};

/* Contexts of struct guestgate_pfn_access. */
#define GUESTGATE_PFN_CTX_TASK		0	/* the calling task */
#define GUESTGATE_PFN_CTX_KTHREAD	1	/* a kthread, in the caller's mm */
#define GUESTGATE_PFN_CTX_HRTIMER	2	/* an hrtimer callback (hardirq) */

/* Flags of struct guestgate_pfn_access. */
#define GUESTGATE_PFN_ACCESS_WRITE	(1U << 0)	/* write @data */
#define GUESTGATE_PFN_ACCESS_NOREFRESH	(1U << 1)	/* EAGAIN if invalid */

/**
 * struct guestgate_pfn_access - argument of GUESTGATE_TEST_IOCTL_PFN_ACCESS
 * @handle: the cache
 * @context: GUESTGATE_PFN_CTX_*
 * @flags: GUESTGATE_PFN_ACCESS_*
 * @len: bytes to access, 1 to GUESTGATE_PFN_ACCESS_MAX
 * @offset: from the cache's address; @offset + @len must be within the
 *          length of the cache's activation
 * @pfn: out: the page frame number the access used
 * @data: in for a write, out for a read: @len bytes
 *
 * A task or kthread access that finds the cache invalid has the calling
 * task refresh it and tries again, unless GUESTGATE_PFN_ACCESS_NOREFRESH.
 * The kthread runs with the caller's mm (kthread_use_mm()) but never
 * refreshes itself: a fault there could wait for ever (on a userfaultfd)
 * and the calling task waits for the kthread. A refresh from an mm other
 * than the cache's fails with EFAULT. The hrtimer never refreshes: EAGAIN
 * if the cache is invalid, EBUSY if its lock is taken for writing.
 */
struct guestgate_pfn_access {
	__u32 handle;
	__u32 context;
	__u32 flags;
	__u32 len;
	__u64 offset;
	__u64 pfn;
	__u8 data[GUESTGATE_PFN_ACCESS_MAX];
};

/**
 * struct guestgate_pfn_stats - argument of GUESTGATE_TEST_IOCTL_PFN_STATS
 * @handle: in: the cache
 * @pad: zero
 * @hits: checks that found the cache valid
 * @misses: checks that did not
 * @refreshes: refreshes that made the cache valid
 * @invalidations: notifier calls (the cached page was invalidated)
 * @retries: page lookups thrown away because of a racing invalidation
 */
struct guestgate_pfn_stats {
	__u32 handle;
	__u32 pad;
	__u64 hits;
	__u64 misses;
	__u64 refreshes;
	__u64 invalidations;
	__u64 retries;
};

/*
 * Replace the memslot table of the file. The new table is checked whole
 * first: EINVAL for too many slots or a bad slot (unaligned, wrapping),
 * EEXIST for overlapping slots, EFAULT for a bad @slots, and the table is
 * then unchanged. Otherwise the slots are changed one at a time through
 * guestgate_memslots_set(): a refresh running meanwhile may resolve through
 * a table in between. Every call, even with the same table, invalidates the
 * caches created by gpa.
 */
#define GUESTGATE_TEST_IOCTL_PFN_SET_MEMSLOTS \
	_IOW(GUESTGATE_TEST_IOC_MAGIC, 0x10, struct guestgate_pfn_memslots)
/*
 * Create a cache and activate it (refresh included). EFAULT if the address
 * is not mapped (writably, for a writable cache) or in no memslot, EINVAL
 * if the range crosses a page, ENOSPC beyond GUESTGATE_PFN_CACHES_MAX.
 */
#define GUESTGATE_TEST_IOCTL_PFN_CREATE \
	_IOWR(GUESTGATE_TEST_IOC_MAGIC, 0x11, struct guestgate_pfn_create)
/* Activate an existing cache on another address; errors as CREATE. */
#define GUESTGATE_TEST_IOCTL_PFN_ACTIVATE \
	_IOW(GUESTGATE_TEST_IOC_MAGIC, 0x12, struct guestgate_pfn_create)
/*
 * Access through a cache. EPERM for a write through a read-only cache,
 * EINVAL beyond the length of the activation, ENOENT for an unknown handle
 * (as every ioctl that takes one).
 */
#define GUESTGATE_TEST_IOCTL_PFN_ACCESS \
	_IOWR(GUESTGATE_TEST_IOC_MAGIC, 0x13, struct guestgate_pfn_access)
/* Refresh a cache. EFAULT as CREATE, EINVAL if deactivated. */
#define GUESTGATE_TEST_IOCTL_PFN_REFRESH \
	_IOW(GUESTGATE_TEST_IOC_MAGIC, 0x14, struct guestgate_pfn_handle)
/* Deactivate a cache: accesses fail with EINVAL until ACTIVATE. */
#define GUESTGATE_TEST_IOCTL_PFN_DEACTIVATE \
	_IOW(GUESTGATE_TEST_IOC_MAGIC, 0x15, struct guestgate_pfn_handle)
/*
 * Destroy a cache. Its handle is never reused by the file: after
 * 2^32 - 1 creations, CREATE fails with ENOSPC.
 */
#define GUESTGATE_TEST_IOCTL_PFN_DESTROY \
	_IOW(GUESTGATE_TEST_IOC_MAGIC, 0x16, struct guestgate_pfn_handle)
/* Read the counters of a cache. */
#define GUESTGATE_TEST_IOCTL_PFN_STATS \
	_IOWR(GUESTGATE_TEST_IOC_MAGIC, 0x17, struct guestgate_pfn_stats)

#endif /* _GUESTGATE_TEST_UAPI_H */
