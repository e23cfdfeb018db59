// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the static calls of the perf guest-info callbacks, and the
 * bridge to the kernel's perf.
 *
 * static_call is C-only: this shim defines the four static calls, exports
 * them for the inline dispatch functions of <linux/guestgate/perf.h>, and
 * makes them an implicit op group (Documentation/op-groups.rst) of two
 * implementations: "none", every hook "return 0", and "registered", the
 * registered set. perf_callbacks.rs registers and unregisters a set by
 * switching the group; the op group code has the switch.
 *
 * The bridge registers guestgate's dispatch as the kernel's single set of
 * perf guest-info callbacks, so that perf attributes its samples through
 * whatever set is registered with guestgate, and checks with a real sample
 * that perf took it. A stock kvm takes the same slot: while the bridge holds
 * it, kvm and its vendor modules are refused (a module notifier) unless they
 * go through guestgate (kvm/patches/: kvm registers its set with guestgate),
 * and guestgate refuses to load with the bridge while kvm is loaded.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
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

#include "perf_callbacks_shim.h"
#include "test_hooks.h"

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

/* Serializes registrations; held across the switch of the group. */
static DEFINE_MUTEX(guestgate_perf_mutex);

void guestgate_perf_lock(void)
{
	mutex_lock(&guestgate_perf_mutex);
}

void guestgate_perf_unlock(void)
{
	mutex_unlock(&guestgate_perf_mutex);
}

/*
 * "return 0": the target that static_call_update() turns into an inline
 * "xor %eax, %eax" at every call site. Never called through a pointer
 * (kCFI would refuse a call of it as a hook's type): the gates test for it.
 */
#define GUESTGATE_RET0	((void *)__static_call_return0)

/* A hook, or "return 0" in its place. */
#define guestgate_hook_or_ret0(fn)	((fn) ?: (typeof(fn))GUESTGATE_RET0)

static const struct guestgate_guest_info_callbacks guestgate_perf_none = {
	.state = GUESTGATE_RET0,
	.get_ip = GUESTGATE_RET0,
	.handle_intel_pt_intr = GUESTGATE_RET0,
	.handle_mediated_pmi = GUESTGATE_RET0,
};

/*
 * The registered set, with "return 0" for a hook it has not. Written only
 * while "none" is active (no CPU's sections read it), with the perf lock
 * held.
 */
static struct guestgate_guest_info_callbacks guestgate_perf_set = {
	.state = GUESTGATE_RET0,
	.get_ip = GUESTGATE_RET0,
	.handle_intel_pt_intr = GUESTGATE_RET0,
	.handle_mediated_pmi = GUESTGATE_RET0,
};

void guestgate_perf_set_load(const struct guestgate_guest_info_callbacks *cbs)
{
	lockdep_assert_held(&guestgate_perf_mutex);
	WARN_ON_ONCE(guestgate_op_group_active(&guestgate_perf_group) != GUESTGATE_PERF_NONE);
	if (!cbs) {
		guestgate_perf_set = guestgate_perf_none;
		return;
	}
	guestgate_perf_set.state = guestgate_hook_or_ret0(cbs->state);
	guestgate_perf_set.get_ip = guestgate_hook_or_ret0(cbs->get_ip);
	guestgate_perf_set.handle_intel_pt_intr =
		guestgate_hook_or_ret0(cbs->handle_intel_pt_intr);
	guestgate_perf_set.handle_mediated_pmi =
		guestgate_hook_or_ret0(cbs->handle_mediated_pmi);
}

/* The set this CPU's sections run, for the gates. */
static const struct guestgate_guest_info_callbacks *guestgate_perf_gate_set(void)
{
	return guestgate_op_group_ops(&guestgate_perf_group);
}

static unsigned int guestgate_perf_gate_state(void)
{
	unsigned int (*fn)(void) = guestgate_perf_gate_set()->state;

	return (void *)fn == GUESTGATE_RET0 ? 0 : fn();
}

static unsigned long guestgate_perf_gate_get_ip(void)
{
	unsigned long (*fn)(void) = guestgate_perf_gate_set()->get_ip;

	return (void *)fn == GUESTGATE_RET0 ? 0 : fn();
}

static unsigned int guestgate_perf_gate_pt_intr(void)
{
	unsigned int (*fn)(void) = guestgate_perf_gate_set()->handle_intel_pt_intr;

	return (void *)fn == GUESTGATE_RET0 ? 0 : fn();
}

static void guestgate_perf_gate_mediated_pmi(void)
{
	void (*fn)(void) = guestgate_perf_gate_set()->handle_mediated_pmi;

	if ((void *)fn != GUESTGATE_RET0)
		fn();
}

static const struct guestgate_op guestgate_perf_ops[] = {
	GUESTGATE_OP(__guestgate_guest_state, struct guestgate_guest_info_callbacks,
		     state, guestgate_perf_gate_state),
	GUESTGATE_OP(__guestgate_guest_get_ip, struct guestgate_guest_info_callbacks,
		     get_ip, guestgate_perf_gate_get_ip),
	GUESTGATE_OP(__guestgate_guest_handle_intel_pt_intr,
		     struct guestgate_guest_info_callbacks, handle_intel_pt_intr,
		     guestgate_perf_gate_pt_intr),
	GUESTGATE_OP(__guestgate_guest_handle_mediated_pmi,
		     struct guestgate_guest_info_callbacks, handle_mediated_pmi,
		     guestgate_perf_gate_mediated_pmi),
};

static const struct guestgate_op_impl guestgate_perf_impls[] = {
	[GUESTGATE_PERF_NONE] = { .name = "none", .ops = &guestgate_perf_none },
	[GUESTGATE_PERF_REGISTERED] = { .name = "registered", .ops = &guestgate_perf_set },
};

DEFINE_GUESTGATE_OP_GROUP_IMPLICIT(guestgate_perf_group, guestgate_perf_ops,
				   guestgate_perf_impls);

/*
 * The bridge. perf calls these from its PMI (NMI) and from its hrtimer
 * (hardirq): each is one inline-patched static call of guestgate's.
 */
static unsigned int guestgate_bridge_state(void)
{
	return guestgate_guest_state();
}

/*
 * Samples perf attributed to a guest: perf asks get_ip() once per sample
 * whose state() was nonzero. A per-CPU increment, NMI-safe.
 */
static DEFINE_PER_CPU(u64, guestgate_bridge_guest_samples);

static unsigned long guestgate_bridge_get_ip(void)
{
	this_cpu_inc(guestgate_bridge_guest_samples);
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

/*
 * Modules that take perf's slot: kvm_amd and kvm_intel register kvm's
 * callbacks in their init (kvm_x86_vendor_init()), and need kvm loaded
 * first.
 */
static const char *const guestgate_perf_rivals[] = { "kvm", "kvm_amd", "kvm_intel" };

/* Whether the bridge holds perf's slot, checked at registration. */
static bool guestgate_bridge_active;

/*
 * Whether @mod uses a symbol of @target, i.e. links against it. The loader
 * records each module a module uses (ref_module()) while it resolves its
 * symbols, before the module is COMING; only the module's own loading and
 * unloading change the list (kept with CONFIG_MODULE_UNLOAD only: without
 * it no module is told apart, and kvm on guestgate is refused too).
 */
#ifdef CONFIG_MODULE_UNLOAD
static bool guestgate_module_uses(struct module *mod, struct module *target)
{
	struct module_use *use;

	list_for_each_entry(use, &mod->target_list, target_list) {
		if (use->target == target)
			return true;
	}
	return false;
}
#endif

/*
 * Whether the COMING module @mod registers its perf callbacks with
 * guestgate rather than perf: it links against guestgate, or it is a
 * vendor module whose kvm (which registers for it) does. The kvm it uses
 * is live and cannot go away under a module that holds a use of it.
 * Linking stands for registering: kvm/patches/ makes kvm do both, and
 * kvm/build.sh applies the series whole.
 */
static bool guestgate_bridge_goes_through(struct module *mod)
{
#ifdef CONFIG_MODULE_UNLOAD
	struct module_use *use;

	if (guestgate_module_uses(mod, THIS_MODULE))
		return true;
	list_for_each_entry(use, &mod->target_list, target_list) {
		if (!strcmp(use->target->name, "kvm") &&
		    guestgate_module_uses(use->target, THIS_MODULE))
			return true;
	}
#endif
	return false;
}

static int guestgate_bridge_module_notify(struct notifier_block *nb,
					  unsigned long action, void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING || !guestgate_perf_rival(mod->name) ||
	    guestgate_bridge_goes_through(mod))
		return NOTIFY_DONE;
	pr_err("guestgate: refusing %s: guestgate holds perf's guest-info callbacks (load a kvm built on guestgate, or guestgate with perf_bridge=0)\n",
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
 * Return: true for kvm and its vendor modules.
 */
bool guestgate_perf_rival(const char *name)
{
	return match_string(guestgate_perf_rivals, ARRAY_SIZE(guestgate_perf_rivals),
			    name) >= 0;
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_perf_rival);

/*
 * Whether perf calls the bridge: a real perf sample (a cpu-clock counter of
 * the kernel's, with perf's own output path) must reach guestgate's state()
 * dispatch, pointed meanwhile at a probe. perf_register_guest_info_callbacks()
 * returns nothing and ignores a second set (with a WARN), and the static
 * call it patches is not exported: this asks perf itself.
 */
static atomic_t guestgate_bridge_probes;

static unsigned int guestgate_bridge_probe(void)
{
	atomic_inc(&guestgate_bridge_probes);
	return 0;
}

/* Samples every GUESTGATE_PROBE_NS; gives up after GUESTGATE_PROBE_MS. */
#define GUESTGATE_PROBE_NS	(100 * NSEC_PER_USEC)
#define GUESTGATE_PROBE_MS	5000

/* A counter for guestgate_bridge_verify(), made before the bridge registers. */
static struct perf_event *guestgate_bridge_probe_counter(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.sample_period = GUESTGATE_PROBE_NS,
		.sample_type = PERF_SAMPLE_IP,
		.pinned = 1,
		.disabled = 1,
	};

	return perf_event_create_kernel_counter(&attr, raw_smp_processor_id(),
						NULL, NULL, NULL);
}

/*
 * Samples with @event until one reaches guestgate's state() dispatch.
 * Returns 1 if one did, 0 if perf took samples and none did (perf ignored
 * the bridge), -EAGAIN if perf took too few samples to tell (the counter's
 * CPU went offline, or ran with interrupts off throughout).
 */
static int guestgate_bridge_verify(struct perf_event *event)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(GUESTGATE_PROBE_MS);
	u64 counted, enabled, running;
	int ret;

	/*
	 * No set can be registered (the module is not live yet), and the
	 * group is not registered yet: state() is "return 0", borrowed here
	 * and given back.
	 */
	atomic_set(&guestgate_bridge_probes, 0);
	static_call_update(__guestgate_guest_state, guestgate_bridge_probe);
	perf_event_enable(event);
	while (!atomic_read(&guestgate_bridge_probes) && time_before(jiffies, deadline))
		usleep_range(1000, 2000);
	perf_event_disable(event);
	/* cpu-clock counts nanoseconds: a sample every GUESTGATE_PROBE_NS. */
	counted = perf_event_read_value(event, &enabled, &running);
	if (atomic_read(&guestgate_bridge_probes))
		ret = 1;
	else
		ret = counted >= 10 * GUESTGATE_PROBE_NS ? 0 : -EAGAIN;
	static_call_update(__guestgate_guest_state, GUESTGATE_RET0);
	return ret;
}

int guestgate_perf_callbacks_show(struct seq_file *m, void *unused)
{
	struct guestgate_perf_stats st;
	u64 guest_samples = 0;
	unsigned int cpu;

	guestgate_rs_perf_stats(&st);
	for_each_possible_cpu(cpu)
		guest_samples += per_cpu(guestgate_bridge_guest_samples, cpu);
	seq_printf(m, "registered: %u\n", st.registered);
	seq_printf(m, "bridge: %s\n", guestgate_bridge_active ? "on" : "off");
	seq_printf(m, "guest_samples: %llu\n", guest_samples);
	seq_printf(m, "registrations: %llu\n", st.registrations);
	seq_printf(m, "unregistrations: %llu\n", st.unregistrations);
	seq_printf(m, "einval: %llu\n", st.einval);
	seq_printf(m, "ebusy: %llu\n", st.ebusy);
	seq_printf(m, "enoent: %llu\n", st.enoent);
	return 0;
}

static int guestgate_bridge_register(void)
{
	struct perf_event *probe;
	void *kvm_init_sym;
	int reached, ret;

	if (!perf_bridge) {
		pr_info("guestgate: perf bridge off (perf_bridge=0)\n");
		return 0;
	}

	/*
	 * The notifier goes first: from here on no rival passes its COMING
	 * state. One that passed it before is loaded or loading: a vendor
	 * module needs kvm loaded (its kvm_init symbol resolves), and a kvm
	 * still COMING (its symbols do not resolve yet) registers nothing
	 * itself; its vendor module, loaded after, meets the notifier.
	 */
	ret = register_module_notifier(&guestgate_bridge_nb);
	if (ret)
		return ret;
	kvm_init_sym = __symbol_get("kvm_init");
	if (kvm_init_sym) {
		symbol_put_addr(kvm_init_sym);
		pr_err("guestgate: kvm is loaded and may own perf's guest-info callbacks; unload it or load guestgate with perf_bridge=0\n");
		ret = -EBUSY;
		goto err_notifier;
	}
	probe = guestgate_bridge_probe_counter();
	if (IS_ERR(probe)) {
		ret = PTR_ERR(probe);
		pr_err("guestgate: cannot make a perf counter to check the bridge: %d\n", ret);
		goto err_notifier;
	}
	/*
	 * Any other holder of the slot (Xen PV's PMU, a module this cannot
	 * name) makes perf WARN here and ignore guestgate's set, which the
	 * check sees; then there is nothing to unregister.
	 */
	perf_register_guest_info_callbacks(&guestgate_bridge_cbs);
	reached = guestgate_bridge_verify(probe);
	perf_event_release_kernel(probe);
	if (!reached) {
		pr_err("guestgate: perf does not call guestgate's callbacks: another module holds perf's guest-info slot (load guestgate with perf_bridge=0)\n");
		ret = -EBUSY;
		goto err_notifier;
	}
	/*
	 * Too few samples to tell: perf may hold the bridge, so it stays, and
	 * is unregistered at unload as usual (where perf WARNs if it never
	 * held it).
	 */
	if (reached < 0)
		pr_warn("guestgate: could not check that perf calls the bridge (too few samples)\n");
	guestgate_bridge_active = true;
	return 0;

err_notifier:
	unregister_module_notifier(&guestgate_bridge_nb);
	return ret;
}

static void guestgate_bridge_unregister(void)
{
	if (!guestgate_bridge_active)
		return;
	/* Waits until no CPU is inside a bridge function. */
	perf_unregister_guest_info_callbacks(&guestgate_bridge_cbs);
	unregister_module_notifier(&guestgate_bridge_nb);
	guestgate_bridge_active = false;
}

int guestgate_perf_bridge_register(void)
{
	int ret;

	/* The bridge's check borrows state() before the group owns it. */
	ret = guestgate_bridge_register();
	if (ret)
		return ret;
	ret = guestgate_op_group_register(&guestgate_perf_group);
	if (ret)
		guestgate_bridge_unregister();
	return ret;
}

void guestgate_perf_bridge_unregister(void)
{
	guestgate_op_group_unregister(&guestgate_perf_group);
	guestgate_bridge_unregister();
}

/* guestgate_kunit_perf_guard(): a Rust KUnit case in perf_callbacks.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_perf_guard);
/* guestgate_kunit_perf_busy(): a Rust KUnit case in perf_callbacks.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_perf_busy);
/* guestgate_kunit_perf_pt_intr(): the Rust PT dispatch, in perf_callbacks.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_perf_pt_intr);
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
/* guestgate_rs_perf_fault(): fault injection for the tests */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_perf_fault);
