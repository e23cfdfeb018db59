// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_sample: a C module using guestgate's C API, as KVM would.
 *
 * It links against guestgate.ko's exports and queries it at load time. Later
 * mechanisms grow it into a toy vCPU.
 */
#include <linux/guestgate.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init guestgate_sample_init(void)
{
	struct guestgate_version ver;
	int ret;

	ret = guestgate_get_version(&ver);
	if (ret)
		return ret;
	if (ver.abi != GUESTGATE_ABI_VERSION) {
		pr_err("guestgate_sample: guestgate abi %u, built for %u\n",
		       ver.abi, GUESTGATE_ABI_VERSION);
		return -EPROTO;
	}
	pr_info("guestgate_sample: using guestgate %u.%u.%u (abi %u, features %#llx)\n",
		ver.major, ver.minor, ver.patch, ver.abi, ver.features);
	return 0;
}
module_init(guestgate_sample_init);

static void __exit guestgate_sample_exit(void)
{
	pr_info("guestgate_sample: unloaded\n");
}
module_exit(guestgate_sample_exit);

MODULE_DESCRIPTION("guestgate sample: a C consumer of the guestgate C API");
MODULE_LICENSE("GPL");
