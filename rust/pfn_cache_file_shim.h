/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: the pfn cache ioctls of /dev/guestgate (pfn_cache_file_shim.c,
 * pfn_cache_file.rs).
 *
 * Part of the contract between the Rust crate and its C shims (shim.h
 * includes every part).
 */
#ifndef _GUESTGATE_PFN_CACHE_FILE_SHIM_H
#define _GUESTGATE_PFN_CACHE_FILE_SHIM_H

/*
 * pfn_cache_file_shim.c, for pfn_cache_file.rs: runs @fn(@data) once in
 * another context and returns when it has returned. In a new kthread that
 * uses the caller's mm (kthread_use_mm()), or in a hardirq hrtimer callback.
 * Return: 0, or -ENOMEM, -EINTR if the kthread could not be started.
 */
int guestgate_pfn_run_kthread(void (*fn)(void *data), void *data);
void guestgate_pfn_run_hrtimer(void (*fn)(void *data), void *data);

#endif /* _GUESTGATE_PFN_CACHE_FILE_SHIM_H */
