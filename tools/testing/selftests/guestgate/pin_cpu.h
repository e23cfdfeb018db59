/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate kselftests: running the calling thread on one CPU.
 */
#ifndef _GUESTGATE_PIN_CPU_H
#define _GUESTGATE_PIN_CPU_H

#include <sched.h>

/* Runs the calling thread on @cpu only; 0, or -1 with errno set. */
static inline int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

#endif /* _GUESTGATE_PIN_CPU_H */
