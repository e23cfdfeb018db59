/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: the debugfs files of guestgate and of its test
 * modules, which take a command in one write and print one "name: value"
 * line per counter.
 */
#ifndef _GUESTGATE_DEBUGFS_COUNTER_H
#define _GUESTGATE_DEBUGFS_COUNTER_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes @cmd to the debugfs file @path: 0, or the errno of the failure. */
static inline int debugfs_write(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, cmd, strlen(cmd));
	if (n < 0)
		ret = errno;
	else if (n != (ssize_t)strlen(cmd))
		ret = EIO;
	close(fd);
	return ret;
}

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
