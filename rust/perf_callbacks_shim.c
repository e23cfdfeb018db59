// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the static calls of the perf guest-info callbacks, and the
 * bridge to the kernel's perf.
 *
 * static_call is C-only: this shim defines the four static calls, exports
 * them for the inline dispatch functions of <linux/guestgate.h>, and lets
 * perf_callbacks.rs switch one hook at a time (guestgate_perf_switch()).
 * The order of the switches, the grace periods between them and the
 * bookkeeping are Rust's.
 *
 * The bridge registers guestgate's dispatch as the kernel's single set of
 * perf guest-info callbacks, so that perf attributes its samples through
 * whatever set is registered with guestgate. kvm takes the same slot: while
 * the bridge holds it, kvm is refused (a module notifier), and guestgate
 * refuses to load with the bridge while kvm is loaded.
 */
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/perf_event.h>
#include <linux/seq_file.h>
#include <linux/static_call.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "shim.h"

/* bindings.rs asserts the same figures for bindgen's view of the structs. */
static_assert(sizeof(struct guestgate_perf_stats) == 48);
static_assert(offsetof(struct guestgate_perf_stats, registered) == 40);
static_assert(sizeof(struct guestgate_guest_info_callbacks) == 32);
static_assert(offsetof(struct guestgate_guest_info_callbacks, handle_mediated_pmi) == 24);

static bool perf_bridge = true;
module_param(perf_bridge, bool, 0444);
MODULE_PARM_DESC(perf_bridge,
		 "Register guestgate's dispatch with perf, so that perf samples are attributed to the guest (default: on; conflicts with kvm)");

DEFINE_STATIC_CALL_RET0(__guestgate_guest_state,
			*((struct guestgate_guest_info_callbacks *)NULL)->state);
DEFINE_STATIC_CALL_RET0(__guestgate_guest_get_ip,
			*((struct guestgate_guest_info_callbacks *)NULL)->get_ip);
DEFINE_STATIC_CALL_RET0(__guestgate_guest_handle_intel_pt_intr,
			*((struct guestgate_guest_info_callbacks *)NULL)->handle_intel_pt_intr);
DEFINE_STATIC_CALL_RET0(__guestgate_guest_handle_mediated_pmi,
			*((struct guestgate_guest_info_callbacks *)NULL)->handle_mediated_pmi);
EXPORT_STATIC_CALL_GPL(__guestgate_guest_state);
EXPORT_STATIC_CALL_GPL(__guestgate_guest_get_ip);
EXPORT_STATIC_CALL_GPL(__guestgate_guest_handle_intel_pt_intr);
EXPORT_STATIC_CALL_GPL(__guestgate_guest_handle_mediated_pmi);

/* guestgate_register_guest_info_callbacks() is defined in perf_callbacks.rs. */
EXPORT_SYMBOL_GPL(guestgate_register_guest_info_callbacks);
/* guestgate_unregister_guest_info_callbacks() is defined in perf_callbacks.rs. */
EXPORT_SYMBOL_GPL(guestgate_unregister_guest_info_callbacks);

/* Serializes registrations; held across the switch and its grace periods. */
static DEFINE_MUTEX(guestgate_perf_mutex);

void guestgate_perf_lock(void)
{
	mutex_lock(&guestgate_perf_mutex);
}

void guestgate_perf_unlock(void)
{
	mutex_unlock(&guestgate_perf_mutex);
}

/* A hook, or "return 0" in its place. */
static void *guestgate_hook_or_ret0(void *fn)
{
	return fn ?: (void *)__static_call_return0;
}

void guestgate_perf_switch(enum guestgate_perf_hook hook,
			   const struct guestgate_guest_info_callbacks *cbs)
{
	lockdep_assert_held(&guestgate_perf_mutex);

	switch (hook) {
	case GUESTGATE_PERF_STATE:
		static_call_update(__guestgate_guest_state,
				   guestgate_hook_or_ret0(cbs ? cbs->state : NULL));
		break;
	case GUESTGATE_PERF_GET_IP:
		static_call_update(__guestgate_guest_get_ip,
				   guestgate_hook_or_ret0(cbs ? cbs->get_ip : NULL));
		break;
	case GUESTGATE_PERF_INTEL_PT_INTR:
		static_call_update(__guestgate_guest_handle_intel_pt_intr,
				   guestgate_hook_or_ret0(cbs ? cbs->handle_intel_pt_intr : NULL));
		break;
	case GUESTGATE_PERF_MEDIATED_PMI:
		static_call_update(__guestgate_guest_handle_mediated_pmi,
				   guestgate_hook_or_ret0(cbs ? cbs->handle_mediated_pmi : NULL));
		break;
	}
}

/*
 * The bridge. perf calls these from its PMI (NMI) and from its hrtimer
 * (hardirq): each is one inline-patched static call of guestgate's.
 */
static unsigned int guestgate_bridge_state(void)
{
	return guestgate_guest_state();
}

static unsigned long guestgate_bridge_get_ip(void)
{
	return guestgate_guest_get_ip();
}

static unsigned int guestgate_bridge_handle_intel_pt_intr(void)
{
	return guestgate_guest_handle_intel_pt_intr();
}

static struct perf_guest_info_callbacks guestgate_bridge_cbs = {
	.state = guestgate_bridge_state,
	.get_ip = guestgate_bridge_get_ip,
	.handle_intel_pt_intr = guestgate_bridge_handle_intel_pt_intr,
};

/* kvm registers its own callbacks when a vendor module initializes it. */
#define GUESTGATE_PERF_RIVAL	"kvm"

static bool guestgate_bridge_active;

static int guestgate_bridge_module_notify(struct notifier_block *nb,
					  unsigned long action, void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING || !guestgate_perf_rival(mod->name))
		return NOTIFY_DONE;
	pr_err("guestgate: refusing %s: guestgate holds perf's guest-info callbacks (load guestgate with perf_bridge=0 to share the machine with kvm)\n",
	       mod->name);
	return notifier_from_errno(-EBUSY);
}

static struct notifier_block guestgate_bridge_nb = {
	.notifier_call = guestgate_bridge_module_notify,
};

/**
 * guestgate_perf_rival() - Whether a module would take perf's callback slot.
 * @name: A module name.
 *
 * Return: true for kvm.
 */
bool guestgate_perf_rival(const char *name)
{
	return !strcmp(name, GUESTGATE_PERF_RIVAL);
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_perf_rival);

static struct dentry *guestgate_perf_debugfs;

static int guestgate_perf_callbacks_show(struct seq_file *m, void *unused)
{
	struct guestgate_perf_stats st;

	guestgate_rs_perf_stats(&st);
	seq_printf(m, "registered: %u\n", st.registered);
	seq_printf(m, "bridge: %s\n", guestgate_bridge_active ? "on" : "off");
	seq_printf(m, "registrations: %llu\n", st.registrations);
	seq_printf(m, "unregistrations: %llu\n", st.unregistrations);
	seq_printf(m, "einval: %llu\n", st.einval);
	seq_printf(m, "ebusy: %llu\n", st.ebusy);
	seq_printf(m, "enoent: %llu\n", st.enoent);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(guestgate_perf_callbacks);

int guestgate_perf_bridge_register(void)
{
	void *kvm_init_sym;
	int ret;

	guestgate_perf_debugfs = debugfs_create_file("perf_callbacks", 0444,
						     guestgate_debugfs, NULL,
						     &guestgate_perf_callbacks_fops);
	if (!perf_bridge) {
		pr_info("guestgate: perf bridge off (perf_bridge=0)\n");
		return 0;
	}

	/*
	 * A loaded kvm may hold perf's slot: perf would WARN and ignore us.
	 * The notifier goes first, so that no kvm can slip in after the check.
	 */
	ret = register_module_notifier(&guestgate_bridge_nb);
	if (ret)
		goto err_debugfs;
	kvm_init_sym = __symbol_get("kvm_init");
	if (kvm_init_sym) {
		symbol_put_addr(kvm_init_sym);
		pr_err("guestgate: kvm is loaded and may own perf's guest-info callbacks; unload it or load guestgate with perf_bridge=0\n");
		ret = -EBUSY;
		goto err_notifier;
	}
	perf_register_guest_info_callbacks(&guestgate_bridge_cbs);
	guestgate_bridge_active = true;
	return 0;

err_notifier:
	unregister_module_notifier(&guestgate_bridge_nb);
err_debugfs:
	debugfs_remove(guestgate_perf_debugfs);
	return ret;
}

void guestgate_perf_bridge_unregister(void)
{
	if (guestgate_bridge_active) {
		/* Waits until no CPU is inside a bridge function. */
		perf_unregister_guest_info_callbacks(&guestgate_bridge_cbs);
		unregister_module_notifier(&guestgate_bridge_nb);
		guestgate_bridge_active = false;
	}
	debugfs_remove(guestgate_perf_debugfs);
}

/* guestgate_kunit_perf_guard(): a Rust KUnit case in perf_callbacks.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_perf_guard);
/* guestgate_kunit_perf_busy(): a Rust KUnit case in perf_callbacks.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_perf_busy);
#if IS_ENABLED(CONFIG_KUNIT)
/* A direct call of this is the benchmark's baseline; never inlined. */
noinline unsigned int guestgate_perf_bench_empty(void)
{
	barrier();
	return 0;
}
#endif

/* guestgate_rs_perf_bench(): benchmark of Rust callers */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_perf_bench);
/* guestgate_rs_perf_skip_rcu_wait(): fault injection for the tests */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_perf_skip_rcu_wait);
