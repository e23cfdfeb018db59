// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the /dev/guestgate misc device, the debugfs directory and its
 * state file.
 *
 * 6.12 has no Rust abstraction for either: this shim registers them and
 * forwards every file operation to device.rs, which decodes the ioctls and
 * keeps the counters.
 */
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/stddef.h>
#include <kunit/visibility.h>

#include <linux/guestgate.h>

#include "device_shim.h"
#include "guest_entry_shim.h"
#include "mediated_pmu_shim.h"
#include "op_group_shim.h"
#include "perf_callbacks_shim.h"
#include "pfn_cache_shim.h"

/* bindings.rs asserts the same figures for bindgen's view of the struct. */
static_assert(sizeof(struct guestgate_device_stats) == 32);
static_assert(offsetof(struct guestgate_device_stats, unknown_ioctls) == 24);

static int guestgate_dev_open(struct inode *inode, struct file *file)
{
	return guestgate_rs_open();
}

static int guestgate_dev_release(struct inode *inode, struct file *file)
{
	guestgate_rs_release();
	return 0;
}

static long guestgate_dev_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	return guestgate_rs_ioctl(cmd, arg);
}

static const struct file_operations guestgate_dev_fops = {
	.owner = THIS_MODULE,
	.open = guestgate_dev_open,
	.release = guestgate_dev_release,
	.unlocked_ioctl = guestgate_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice guestgate_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "guestgate",
	.fops = &guestgate_dev_fops,
	.mode = 0600,
};

static struct dentry *guestgate_debugfs;

static int guestgate_state_show(struct seq_file *m, void *unused)
{
	struct guestgate_device_stats st;
	struct guestgate_version ver;

	guestgate_get_version(&ver);
	guestgate_rs_device_stats(&st);
	seq_printf(m, "version: %u.%u.%u\n", ver.major, ver.minor, ver.patch);
	seq_printf(m, "abi: %u\n", ver.abi);
	seq_printf(m, "features: %#llx\n", ver.features);
	seq_printf(m, "opens: %llu\n", st.opens);
	seq_printf(m, "releases: %llu\n", st.releases);
	seq_printf(m, "ioctls: %llu\n", st.ioctls);
	seq_printf(m, "unknown_ioctls: %llu\n", st.unknown_ioctls);
	return 0;
}

int guestgate_device_register(void)
{
	return misc_register(&guestgate_miscdev);
}

void guestgate_device_unregister(void)
{
	misc_deregister(&guestgate_miscdev);
}

/* The files of debugfs guestgate/: one read-only seq_file each. */
static const struct guestgate_debugfs_file {
	const char *name;
	int (*show)(struct seq_file *m, void *unused);
} guestgate_debugfs_files[] = {
	{ "state", guestgate_state_show },
	{ "guest_entry", guestgate_guest_entry_show },
	{ "perf_callbacks", guestgate_perf_callbacks_show },
	{ "pfn_cache", guestgate_pfn_cache_show },
	{ "mediated_pmu", guestgate_mediated_pmu_show },
	{ "op_groups", guestgate_op_groups_show },
};

static int guestgate_debugfs_open(struct inode *inode, struct file *file)
{
	const struct guestgate_debugfs_file *f = inode->i_private;

	return single_open(file, f->show, NULL);
}

static const struct file_operations guestgate_debugfs_fops = {
	.owner = THIS_MODULE,
	.open = guestgate_debugfs_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

void guestgate_debugfs_register(void)
{
	unsigned int i;

	/* debugfs is optional: its failures are not errors, as everywhere. */
	guestgate_debugfs = debugfs_create_dir("guestgate", NULL);
	for (i = 0; i < ARRAY_SIZE(guestgate_debugfs_files); i++)
		debugfs_create_file(guestgate_debugfs_files[i].name, 0444,
				    guestgate_debugfs,
				    (void *)&guestgate_debugfs_files[i],
				    &guestgate_debugfs_fops);
}

void guestgate_debugfs_unregister(void)
{
	debugfs_remove_recursive(guestgate_debugfs);
}

/* guestgate_kunit_device_ioctl(): a Rust KUnit case in device.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_device_ioctl);
/* guestgate_kunit_device_open_release(): a Rust KUnit case in device.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_device_open_release);
