// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the C half of the mediated PMU ownership deal.
 *
 * The exported C API of <linux/guestgate/mediated_pmu.h>. Who holds the
 * PMUs, and every errno of create and account, is mediated_pmu.rs's; here is
 * what is C: reading attr.exclude_guest from a struct perf_event, WARNing on
 * a caller's misuse, and the guest PMU context, whose state is per CPU and
 * whose registered PMUs are an RCU list, walked with interrupts disabled.
 * mediated_pmu.rs's typestate calls the same load and put. Also the debugfs
 * file guestgate/mediated_pmu.
 */
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/guestgate.h>
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/perf_event.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "mediated_pmu_shim.h"

/* bindings.rs asserts the same figures for bindgen's view of the struct. */
static_assert(sizeof(struct guestgate_mediated_pmu_stats) == 64);
static_assert(offsetof(struct guestgate_mediated_pmu_stats, bad_leaves) == 56);

int guestgate_mediated_pmu_create(void)
{
	return guestgate_rs_mediated_pmu_join(GUESTGATE_PMU_SIDE_MEDIATED_USER);
}
EXPORT_SYMBOL_GPL(guestgate_mediated_pmu_create);

void guestgate_mediated_pmu_release(void)
{
	WARN_ONCE(guestgate_rs_mediated_pmu_leave(GUESTGATE_PMU_SIDE_MEDIATED_USER),
		  "guestgate: mediated PMU released without a mediated user\n");
}
EXPORT_SYMBOL_GPL(guestgate_mediated_pmu_release);

int guestgate_pmu_account_event(struct perf_event *event)
{
	if (!event)
		return -EINVAL;
	if (event->attr.exclude_guest)
		return 0;
	return guestgate_rs_mediated_pmu_join(GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT);
}
EXPORT_SYMBOL_GPL(guestgate_pmu_account_event);

void guestgate_pmu_unaccount_event(struct perf_event *event)
{
	if (WARN_ONCE(!event, "guestgate: PMU event unaccounted that is NULL\n") ||
	    event->attr.exclude_guest)
		return;
	WARN_ONCE(guestgate_rs_mediated_pmu_leave(GUESTGATE_PMU_SIDE_GUEST_COUNTING_EVENT),
		  "guestgate: PMU event unaccounted that was not accounted\n");
}
EXPORT_SYMBOL_GPL(guestgate_pmu_unaccount_event);

/* The registered struct guestgate_pmu: written under the mutex, read under RCU. */
static LIST_HEAD(guestgate_pmus);
static DEFINE_MUTEX(guestgate_pmus_lock);

/**
 * struct guestgate_pmu_cpu - the guest PMU context of one CPU
 * @loaded: the guest's PMU context is loaded on this CPU
 * @loads: guestgate_pmu_load_guest_context() that loaded
 * @puts: guestgate_pmu_put_guest_context() that put
 * @misuses: loads and puts refused (and WARNed)
 * @guest_pmis: PMIs handed to handle_mediated_pmi
 */
struct guestgate_pmu_cpu {
	bool loaded;
	u64 loads;
	u64 puts;
	u64 misuses;
	u64 guest_pmis;
};

static DEFINE_PER_CPU(struct guestgate_pmu_cpu, guestgate_pmu_cpu);

int guestgate_pmu_register(struct guestgate_pmu *gpmu)
{
	struct guestgate_pmu *p;

	if (!gpmu || !gpmu->load_guest || !gpmu->put_guest)
		return -EINVAL;
	guard(mutex)(&guestgate_pmus_lock);
	list_for_each_entry(p, &guestgate_pmus, node)
		if (p == gpmu)
			return -EBUSY;
	list_add_tail_rcu(&gpmu->node, &guestgate_pmus);
	return 0;
}
EXPORT_SYMBOL_GPL(guestgate_pmu_register);

/* IPI of guestgate_pmu_unregister(): between two loaded windows of this CPU. */
static void guestgate_pmu_put_on_cpu(void *info)
{
	struct guestgate_pmu *gpmu = info;

	gpmu->put_guest(gpmu);
}

int guestgate_pmu_unregister(struct guestgate_pmu *gpmu)
{
	struct guestgate_pmu *p;

	scoped_guard(mutex, &guestgate_pmus_lock) {
		list_for_each_entry(p, &guestgate_pmus, node)
			if (p == gpmu)
				break;
		if (&p->node == &guestgate_pmus)
			return -ENOENT;
		list_del_rcu(&gpmu->node);
	}
	/* Each walk of the list is within one interrupts-off section. */
	synchronize_rcu();
	/*
	 * A CPU that loaded with @gpmu in the list and put after it left ran
	 * load_guest but not put_guest. Its loaded window has interrupts
	 * disabled from load to put: the IPI comes after the put.
	 */
	on_each_cpu(guestgate_pmu_put_on_cpu, gpmu, 1);
	return 0;
}
EXPORT_SYMBOL_GPL(guestgate_pmu_unregister);

int guestgate_pmu_try_load_guest_context(void)
{
	struct guestgate_pmu_cpu *pc = this_cpu_ptr(&guestgate_pmu_cpu);
	struct guestgate_pmu *gpmu;

	if (pc->loaded)
		return -EBUSY;
	if (!guestgate_rs_mediated_pmu_held())
		return -EPERM;
	list_for_each_entry_rcu(gpmu, &guestgate_pmus, node)
		gpmu->load_guest(gpmu);
	/* The host's events are stopped: a PMI from here on is the guest's. */
	WRITE_ONCE(pc->loaded, true);
	pc->loads++;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_pmu_try_load_guest_context);

void guestgate_pmu_load_guest_context(void)
{
	int ret;

	if (WARN_ONCE(!irqs_disabled(),
		      "guestgate: guest PMU context loaded with interrupts enabled\n"))
		goto misuse;
	ret = guestgate_pmu_try_load_guest_context();
	if (WARN_ONCE(ret == -EBUSY, "guestgate: guest PMU context loaded twice\n") ||
	    WARN_ONCE(ret == -EPERM,
		      "guestgate: guest PMU context loaded without a mediated user\n"))
		goto misuse;
	return;
misuse:
	this_cpu_inc(guestgate_pmu_cpu.misuses);
}
EXPORT_SYMBOL_GPL(guestgate_pmu_load_guest_context);

void guestgate_pmu_put_guest_context(void)
{
	struct guestgate_pmu_cpu *pc;
	struct guestgate_pmu *gpmu;

	if (WARN_ONCE(!irqs_disabled(),
		      "guestgate: guest PMU context put with interrupts enabled\n"))
		goto misuse;
	pc = this_cpu_ptr(&guestgate_pmu_cpu);
	if (WARN_ONCE(!pc->loaded, "guestgate: guest PMU context put without a load\n"))
		goto misuse;
	/* The guest's counters are zeroed: a PMI from here on is the host's. */
	WRITE_ONCE(pc->loaded, false);
	list_for_each_entry_rcu(gpmu, &guestgate_pmus, node)
		gpmu->put_guest(gpmu);
	pc->puts++;
	return;
misuse:
	this_cpu_inc(guestgate_pmu_cpu.misuses);
}
EXPORT_SYMBOL_GPL(guestgate_pmu_put_guest_context);

bool guestgate_pmu_guest_context_loaded(void)
{
	return READ_ONCE(this_cpu_ptr(&guestgate_pmu_cpu)->loaded);
}
EXPORT_SYMBOL_GPL(guestgate_pmu_guest_context_loaded);

bool guestgate_pmu_handle_pmi(void)
{
	struct guestgate_pmu_cpu *pc = this_cpu_ptr(&guestgate_pmu_cpu);

	if (!READ_ONCE(pc->loaded))
		return false;
	guestgate_guest_handle_mediated_pmi();
	pc->guest_pmis++;
	return true;
}
EXPORT_SYMBOL_GPL(guestgate_pmu_handle_pmi);

void guestgate_pmu_context_stats(struct guestgate_pmu_context_stats *stats)
{
	int cpu;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		const struct guestgate_pmu_cpu *pc = per_cpu_ptr(&guestgate_pmu_cpu, cpu);

		stats->cpus_loaded += READ_ONCE(pc->loaded);
		stats->loads += READ_ONCE(pc->loads);
		stats->puts += READ_ONCE(pc->puts);
		stats->misuses += READ_ONCE(pc->misuses);
		stats->guest_pmis += READ_ONCE(pc->guest_pmis);
	}
}
EXPORT_SYMBOL_IF_KUNIT(guestgate_pmu_context_stats);

int guestgate_mediated_pmu_show(struct seq_file *m, void *unused)
{
	struct guestgate_pmu_context_stats ctx;
	struct guestgate_mediated_pmu_stats st;

	guestgate_pmu_context_stats(&ctx);
	guestgate_rs_mediated_pmu_stats(&st);
	seq_printf(m, "mediated_users: %lld\n", st.owners < 0 ? -st.owners : 0);
	seq_printf(m, "guest_counting_events: %lld\n", st.owners > 0 ? st.owners : 0);
	seq_printf(m, "creates: %llu\n", st.creates);
	seq_printf(m, "releases: %llu\n", st.releases);
	seq_printf(m, "ebusy: %llu\n", st.ebusy);
	seq_printf(m, "events_accounted: %llu\n", st.events_accounted);
	seq_printf(m, "events_unaccounted: %llu\n", st.events_unaccounted);
	seq_printf(m, "eopnotsupp: %llu\n", st.eopnotsupp);
	seq_printf(m, "bad_leaves: %llu\n", st.bad_leaves);
	seq_printf(m, "cpus_loaded: %u\n", ctx.cpus_loaded);
	seq_printf(m, "loads: %llu\n", ctx.loads);
	seq_printf(m, "puts: %llu\n", ctx.puts);
	seq_printf(m, "context_misuses: %llu\n", ctx.misuses);
	seq_printf(m, "guest_pmis: %llu\n", ctx.guest_pmis);
	return 0;
}

/* guestgate_rs_mediated_pmu_stats(): defined in mediated_pmu.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_rs_mediated_pmu_stats);
/* guestgate_kunit_mediated_pmu_owners(): a Rust KUnit case in mediated_pmu.rs */
EXPORT_SYMBOL_IF_KUNIT(guestgate_kunit_mediated_pmu_owners);
