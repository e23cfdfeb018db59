/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: a CPU's ticks in /proc/stat.
 */
#ifndef _GUESTGATE_PROC_STAT_H
#define _GUESTGATE_PROC_STAT_H

#include <stdio.h>
#include <string.h>

/*
 * CPU @cpu's line of /proc/stat, in clock ticks: the guest column in
 * *@guest, and in *@total every tick the CPU accounted (user, nice, system,
 * idle, iowait, irq, softirq, steal; guest is part of user). Returns 0 or -1.
 */
static inline int cpu_ticks(int cpu, long long *guest, long long *total)
{
	char line[512], name[16];
	long long v[9];
	int i, ret = -1;
	FILE *f;

	f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	snprintf(name, sizeof(name), "cpu%d", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)) || line[strlen(name)] != ' ')
			continue;
		if (sscanf(line + strlen(name), "%lld %lld %lld %lld %lld %lld %lld %lld %lld",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
			   &v[8]) == 9) {
			*guest = v[8];
			for (*total = 0, i = 0; i < 8; i++)
				*total += v[i];
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

#endif /* _GUESTGATE_PROC_STAT_H */
