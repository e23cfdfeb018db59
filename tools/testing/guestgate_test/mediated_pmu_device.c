// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: the mediated PMU test PMU and its hypervisor stand-in
 * (test only; the PMU's hardware is modelled).
 *
 * "guestgate_test" is a PMU registered with perf_pmu_register() that takes
 * part in guestgate's mediated PMU deal as a PMU driver would: its
 * event_init calls guestgate_pmu_account_event() once its own checks have
 * passed, and only then sets the event's destroy, which calls
 * guestgate_pmu_unaccount_event(). There is no hardware PMU under TCG, so
 * its hardware is modelled: GG_TEST_PMU_SLOTS counter registers per CPU
 * (perf multiplexes more events), each 48 bits wide and advancing with
 * local_clock() (ns) while an event counts in it; its one event kind is
 * config 0. An event's count grows by what its register advanced, modulo
 * its width, as x86's does. The rest is perf's own: perf_event_open() and
 * perf_event_create_kernel_counter(), event_init, inheritance,
 * add/del/start/stop/read on context switches, multiplexing by perf's
 * hrtimer, and reads by IPI. It cannot sample (PERF_PMU_CAP_NO_INTERRUPT):
 * perf_event_overflow() is not exported to modules.
 *
 * It is registered with guestgate's guest PMU context (struct
 * guestgate_pmu): load_guest brings that CPU's counts up to date and stops
 * its registers; from there to the put the registers are the guest's, for
 * the hypervisor and its guest to write (gg_test_pmu_reg_write()), and
 * every PMU callback that runs there is counted (the switch point's
 * measure). put_guest reprograms the register of each host event from its
 * count and lets those of started events count again, so that host counts
 * stand still while the guest has the hardware; a register no host event
 * uses keeps what the hypervisor left in it, which must be 0 (the RDPMC
 * leak, read by gg_test_pmu_reg_read() as a host task's RDPMC would).
 * Callbacks that perf runs while the context is loaded (the switch at vCPU
 * load and put) touch the registers the guest has, as they would on
 * hardware. Its PMI is modelled too, by an NMI the toy vCPU sends itself
 * (gg_test_pmu_raise_pmi()); its handler asks guestgate_pmu_handle_pmi()
 * first, as a real PMU's would.
 *
 * debugfs guestgate_test/mediated_pmu stands in for a hypervisor and an
 * in-kernel perf user: each open file may hold one mediated user and up to
 * GG_MPMU_COUNTERS kernel counters on the test PMU. A write is one command,
 * and returns its errno:
 *
 *   create              guestgate_mediated_pmu_create(); -EALREADY if this
 *                       file holds a user already
 *   release             guestgate_mediated_pmu_release(); -ENOENT if this
 *                       file holds no user
 *   counter guest CPU   a CPU-wide kernel counter on CPU that counts the
 *   counter host CPU    guest (attr.exclude_guest = 0), or that excludes it;
 *                       -ENOSPC if the file holds GG_MPMU_COUNTERS already
 *   close               perf_event_release_kernel() of this file's counters
 *
 * Reading prints "user: 0|1", "counters: N" and each counter's value.
 * Closing the file releases what it holds.
 */
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/guestgate.h>
#include <linux/kstrtox.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/local64.h>
#include <asm/nmi.h>

#include "guestgate_test.h"

#define GG_MPMU_COUNTERS	4

/* The modelled counter registers are 48 bits wide, as x86's often are. */
#define GG_TEST_PMU_REG_MASK	GENMASK_ULL(47, 0)

/*
 * One modelled counter register: the value last written to it or frozen
 * in it, and while it counts, the local_clock() it counts from.
 */
struct gg_test_pmu_reg {
	u64 value;
	u64 since;
	bool counting;
};

/*
 * The modelled hardware of one CPU: GG_TEST_PMU_SLOTS counters and the
 * host events in them, more events than that are multiplexed by perf;
 * whether the guest has the hardware; the PMU callbacks that ran while the
 * guest had it; a modelled PMI raised and not yet handled, and the PMIs
 * handled as the host's and as the guest's.
 */
struct gg_test_pmu_cpu {
	struct perf_event *slots[GG_TEST_PMU_SLOTS];
	struct gg_test_pmu_reg regs[GG_TEST_PMU_SLOTS];
	bool guest;
	u64 calls_loaded;
	bool pmi_pending;
	struct gg_test_pmu_pmis pmis;
};

/* Test only: route PMIs by the guest callbacks' state(), the bug. */
static bool gg_test_pmu_pmi_by_state;

static DEFINE_PER_CPU(struct gg_test_pmu_cpu, gg_test_pmu_cpu);
static struct pmu gg_test_pmu;

/*
 * Every PMU callback runs on the event's CPU with interrupts disabled;
 * count those that run while the guest's PMU context is loaded there.
 */
static void gg_test_pmu_note_call(void)
{
	if (guestgate_pmu_guest_context_loaded())
		this_cpu_inc(gg_test_pmu_cpu.calls_loaded);
}

static u64 gg_test_pmu_reg_value(const struct gg_test_pmu_reg *reg)
{
	u64 value = reg->value;

	if (reg->counting)
		value += local_clock() - reg->since;
	return value & GG_TEST_PMU_REG_MASK;
}

static void gg_test_pmu_reg_set(struct gg_test_pmu_reg *reg, u64 value,
				bool counting)
{
	reg->value = value & GG_TEST_PMU_REG_MASK;
	reg->since = local_clock();
	reg->counting = counting;
}

/* Stops the register where it stands. */
static void gg_test_pmu_reg_stop(struct gg_test_pmu_reg *reg)
{
	gg_test_pmu_reg_set(reg, gg_test_pmu_reg_value(reg), false);
}

/*
 * Adds what the event's register advanced since it was last read; the
 * loop is x86's, for a read from an NMI between the two steps.
 */
static void gg_test_pmu_update(struct perf_event *event)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	u64 prev = local64_read(&event->hw.prev_count), now;

	do {
		now = gg_test_pmu_reg_value(&pc->regs[event->hw.idx]);
	} while (!local64_try_cmpxchg(&event->hw.prev_count, &prev, now));
	local64_add((now - prev) & GG_TEST_PMU_REG_MASK, &event->count);
}

/* Brings the count of @event up to now if it is started. */
static void gg_test_pmu_update_started(struct perf_event *event)
{
	if (!(event->hw.state & PERF_HES_STOPPED))
		gg_test_pmu_update(event);
}

/* Brings the count of every started event of this CPU up to now. */
static void gg_test_pmu_update_cpu(struct gg_test_pmu_cpu *pc)
{
	int i;

	for (i = 0; i < GG_TEST_PMU_SLOTS; i++)
		if (pc->slots[i])
			gg_test_pmu_update_started(pc->slots[i]);
}

static void gg_test_pmu_destroy(struct perf_event *event)
{
	guestgate_pmu_unaccount_event(event);
}

static int gg_test_pmu_event_init(struct perf_event *event)
{
	int ret;

	if (event->attr.type != gg_test_pmu.type)
		return -ENOENT;
	if (event->attr.config)
		return -EINVAL;
	/* The deal last, and destroy only once the event is in it. */
	ret = guestgate_pmu_account_event(event);
	if (ret)
		return ret;
	event->destroy = gg_test_pmu_destroy;
	return 0;
}

/* Programs the event's register from 0 and lets it count. */
static void gg_test_pmu_start(struct perf_event *event, int flags)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);

	gg_test_pmu_note_call();
	gg_test_pmu_reg_set(&pc->regs[event->hw.idx], 0, true);
	local64_set(&event->hw.prev_count, 0);
	event->hw.state = 0;
}

static void gg_test_pmu_stop(struct perf_event *event, int flags)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);

	gg_test_pmu_note_call();
	if (event->hw.state & PERF_HES_STOPPED)
		return;
	gg_test_pmu_update(event);
	gg_test_pmu_reg_stop(&pc->regs[event->hw.idx]);
	event->hw.state |= PERF_HES_STOPPED | PERF_HES_UPTODATE;
}

static int gg_test_pmu_add(struct perf_event *event, int flags)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	int i;

	gg_test_pmu_note_call();
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++)
		if (!pc->slots[i])
			break;
	if (i == GG_TEST_PMU_SLOTS)
		return -EAGAIN;
	pc->slots[i] = event;
	event->hw.idx = i;
	event->hw.state = PERF_HES_STOPPED | PERF_HES_UPTODATE;
	if (flags & PERF_EF_START)
		gg_test_pmu_start(event, PERF_EF_RELOAD);
	return 0;
}

static void gg_test_pmu_del(struct perf_event *event, int flags)
{
	gg_test_pmu_stop(event, PERF_EF_UPDATE);
	this_cpu_ptr(&gg_test_pmu_cpu)->slots[event->hw.idx] = NULL;
}

static void gg_test_pmu_read(struct perf_event *event)
{
	gg_test_pmu_note_call();
	gg_test_pmu_update_started(event);
}

static struct pmu gg_test_pmu = {
	.module = THIS_MODULE,
	.task_ctx_nr = perf_hw_context,
	.capabilities = PERF_PMU_CAP_NO_INTERRUPT,
	.event_init = gg_test_pmu_event_init,
	.add = gg_test_pmu_add,
	.del = gg_test_pmu_del,
	.start = gg_test_pmu_start,
	.stop = gg_test_pmu_stop,
	.read = gg_test_pmu_read,
};

/*
 * Brings each started host count up to now and stops every register: the
 * registers are the guest's until the put.
 */
static void gg_test_pmu_load_guest(struct guestgate_pmu *gpmu)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	int i;

	gg_test_pmu_update_cpu(pc);
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++)
		gg_test_pmu_reg_stop(&pc->regs[i]);
	pc->guest = true;
}

/*
 * Reprograms the register of each host event with the value its count was
 * last brought up to, and lets those of started events count on from
 * there, as a driver reprograms its active events: the time the guest had
 * is in no host count. The other registers keep what the hypervisor left
 * in them.
 */
static void gg_test_pmu_put_guest(struct guestgate_pmu *gpmu)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	struct perf_event *event;
	int i;

	if (!pc->guest)
		return;
	for (i = 0; i < GG_TEST_PMU_SLOTS; i++) {
		event = pc->slots[i];
		if (event)
			gg_test_pmu_reg_set(&pc->regs[i],
					    local64_read(&event->hw.prev_count),
					    !(event->hw.state & PERF_HES_STOPPED));
	}
	pc->guest = false;
}

static struct guestgate_pmu gg_test_gpmu = {
	.load_guest = gg_test_pmu_load_guest,
	.put_guest = gg_test_pmu_put_guest,
};

/*
 * The test PMU's interrupt handler. Its PMI is modelled by an NMI that the
 * toy vCPU sends to its own CPU (gg_test_pmu_raise_pmi()); a real PMU's
 * handler would read its overflow status instead of pmi_pending.
 */
static int gg_test_pmu_nmi(unsigned int cmd, struct pt_regs *regs)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	bool guest;

	if (!READ_ONCE(pc->pmi_pending))
		return NMI_DONE;
	if (READ_ONCE(gg_test_pmu_pmi_by_state))
		guest = guestgate_guest_state() != 0;
	else
		guest = guestgate_pmu_handle_pmi();
	if (guest)
		pc->pmis.guest++;
	else
		pc->pmis.host++;
	WRITE_ONCE(pc->pmi_pending, false);
	return NMI_HANDLED;
}

bool gg_test_pmu_raise_pmi(void)
{
	struct gg_test_pmu_cpu *pc = this_cpu_ptr(&gg_test_pmu_cpu);
	u64 start = local_clock();

	WRITE_ONCE(pc->pmi_pending, true);
	__apic_send_IPI_mask(cpumask_of(smp_processor_id()), NMI_VECTOR);
	while (READ_ONCE(pc->pmi_pending)) {
		if (local_clock() - start > 100 * NSEC_PER_MSEC) {
			WRITE_ONCE(pc->pmi_pending, false);
			pc->pmis.lost++;
			return false;
		}
		cpu_relax();
	}
	return true;
}

void gg_test_pmu_pmis(struct gg_test_pmu_pmis *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct gg_test_pmu_pmis *p = &per_cpu_ptr(&gg_test_pmu_cpu, cpu)->pmis;

		sum->host += READ_ONCE(p->host);
		sum->guest += READ_ONCE(p->guest);
		sum->lost += READ_ONCE(p->lost);
	}
}

void gg_test_pmu_set_pmi_by_state(bool on)
{
	WRITE_ONCE(gg_test_pmu_pmi_by_state, on);
}

u64 gg_test_pmu_reg_read(unsigned int slot)
{
	lockdep_assert_irqs_disabled();
	return gg_test_pmu_reg_value(&this_cpu_ptr(&gg_test_pmu_cpu)->regs[slot]);
}

void gg_test_pmu_reg_write(unsigned int slot, u64 value)
{
	struct gg_test_pmu_reg *reg = &this_cpu_ptr(&gg_test_pmu_cpu)->regs[slot];

	lockdep_assert_irqs_disabled();
	gg_test_pmu_reg_set(reg, value, reg->counting);
}

int gg_test_pmu_type(void)
{
	return gg_test_pmu.type;
}

u64 gg_test_pmu_calls_loaded(void)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(&gg_test_pmu_cpu, cpu)->calls_loaded);
	return sum;
}

int gg_test_pmu_set_registered(bool on)
{
	return on ? guestgate_pmu_register(&gg_test_gpmu) :
		    guestgate_pmu_unregister(&gg_test_gpmu);
}

/* What one open file of guestgate_test/mediated_pmu holds, under @lock. */
struct gg_mpmu_file {
	struct mutex lock; /* serialises the file's commands */
	bool user;
	unsigned int nr_counters;
	struct perf_event *counters[GG_MPMU_COUNTERS];
};

static int gg_mpmu_open(struct inode *inode, struct file *file)
{
	struct gg_mpmu_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static void gg_mpmu_close_counters(struct gg_mpmu_file *f)
{
	while (f->nr_counters)
		perf_event_release_kernel(f->counters[--f->nr_counters]);
}

static int gg_mpmu_release(struct inode *inode, struct file *file)
{
	struct gg_mpmu_file *f = file->private_data;

	gg_mpmu_close_counters(f);
	if (f->user)
		guestgate_mediated_pmu_release();
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static int gg_mpmu_counter(struct gg_mpmu_file *f, char *args)
{
	struct perf_event_attr attr = {
		.type = gg_test_pmu.type,
		.size = sizeof(attr),
	};
	struct perf_event *event;
	char *kind = strsep(&args, " ");
	unsigned int cpu;
	int ret;

	if (!args)
		return -EINVAL;
	ret = kstrtouint(args, 10, &cpu);
	if (ret)
		return ret;
	if (cpu >= nr_cpu_ids)
		return -EINVAL;
	if (!strcmp(kind, "host"))
		attr.exclude_guest = 1;
	else if (strcmp(kind, "guest"))
		return -EINVAL;
	if (f->nr_counters == GG_MPMU_COUNTERS)
		return -ENOSPC;
	event = perf_event_create_kernel_counter(&attr, cpu, NULL, NULL, NULL);
	if (IS_ERR(event))
		return PTR_ERR(event);
	f->counters[f->nr_counters++] = event;
	return 0;
}

static int gg_mpmu_command(struct gg_mpmu_file *f, char *cmd)
{
	char *args = cmd;
	int ret;

	cmd = strsep(&args, " ");
	if (!strcmp(cmd, "counter"))
		return args ? gg_mpmu_counter(f, args) : -EINVAL;
	if (args)
		return -EINVAL;
	if (!strcmp(cmd, "create")) {
		if (f->user)
			return -EALREADY;
		ret = guestgate_mediated_pmu_create();
		f->user = !ret;
		return ret;
	}
	if (!strcmp(cmd, "release")) {
		if (!f->user)
			return -ENOENT;
		guestgate_mediated_pmu_release();
		f->user = false;
		return 0;
	}
	if (!strcmp(cmd, "close")) {
		gg_mpmu_close_counters(f);
		return 0;
	}
	return -EINVAL;
}

static ssize_t gg_mpmu_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	struct gg_mpmu_file *f = file->private_data;
	char buf[32];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	mutex_lock(&f->lock);
	ret = gg_mpmu_command(f, strim(buf));
	mutex_unlock(&f->lock);
	return ret ?: len;
}

static ssize_t gg_mpmu_read(struct file *file, char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct gg_mpmu_file *f = file->private_data;
	u64 enabled, running;
	char buf[256];
	unsigned int i;
	int n;

	mutex_lock(&f->lock);
	n = scnprintf(buf, sizeof(buf), "user: %d\ncounters: %u\n", f->user,
		      f->nr_counters);
	for (i = 0; i < f->nr_counters; i++)
		n += scnprintf(buf + n, sizeof(buf) - n, "counter%u: %llu\n", i,
			       perf_event_read_value(f->counters[i], &enabled,
						     &running));
	mutex_unlock(&f->lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations gg_mpmu_fops = {
	.owner = THIS_MODULE,
	.open = gg_mpmu_open,
	.release = gg_mpmu_release,
	.read = gg_mpmu_read,
	.write = gg_mpmu_write,
};

int gg_test_mediated_pmu_register(struct dentry *dir)
{
	int ret = register_nmi_handler(NMI_LOCAL, gg_test_pmu_nmi, 0, "gg_test_pmu");

	if (ret)
		return ret;
	ret = guestgate_pmu_register(&gg_test_gpmu);
	if (ret) {
		unregister_nmi_handler(NMI_LOCAL, "gg_test_pmu");
		return ret;
	}
	debugfs_create_file("mediated_pmu", 0600, dir, NULL, &gg_mpmu_fops);
	return 0;
}

void gg_test_mediated_pmu_unregister(void)
{
	guestgate_pmu_unregister(&gg_test_gpmu);
	unregister_nmi_handler(NMI_LOCAL, "gg_test_pmu");
}

int gg_test_pmu_publish(void)
{
	return perf_pmu_register(&gg_test_pmu, "guestgate_test", -1);
}

/* Every event is gone: each held this module. */
void gg_test_pmu_withdraw(void)
{
	perf_pmu_unregister(&gg_test_pmu);
}
