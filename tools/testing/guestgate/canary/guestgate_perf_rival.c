// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_perf_rival: holds perf's guest-info slot, as Xen PV's PMU does
 * from boot, or a hypervisor guestgate cannot name.
 *
 * Loaded by guest.sh in the canary phase, then guestgate.ko: perf WARNs at
 * the second registration and ignores it, and guestgate must see that perf
 * does not call its bridge and refuse to load, opening no door meanwhile
 * (load_refused checks). The WARN is planted: the judge requires it there
 * and nowhere else.
 */
#include <linux/module.h>
#include <linux/perf_event.h>

static unsigned int rival_state(void)
{
	return 0;
}

static unsigned long rival_get_ip(void)
{
	return 0;
}

static struct perf_guest_info_callbacks rival_cbs = {
	.state = rival_state,
	.get_ip = rival_get_ip,
};

static int __init rival_init(void)
{
	perf_register_guest_info_callbacks(&rival_cbs);
	return 0;
}
module_init(rival_init);

static void __exit rival_exit(void)
{
	perf_unregister_guest_info_callbacks(&rival_cbs);
}
module_exit(rival_exit);

MODULE_DESCRIPTION("guestgate test: another holder of perf's guest-info callbacks (test only)");
MODULE_LICENSE("GPL");
