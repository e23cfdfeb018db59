/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: reading the debugfs files of guestgate and of its
 * test modules, which print one "name: value" line per counter.
 */
#ifndef _GUESTGATE_DEBUGFS_COUNTER_H
#define _GUESTGATE_DEBUGFS_COUNTER_H

#include <stdio.h>

/* The counter @name of the debugfs file @path, or -1. */
static inline long long debugfs_counter(const char *path, const char *name)
{
	char key[64], line[128];
	long long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	snprintf(key, sizeof(key), "%s: %%lld", name);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, key, &val) == 1)
			break;
	fclose(f);
	return val;
}

#endif /* _GUESTGATE_DEBUGFS_COUNTER_H */
