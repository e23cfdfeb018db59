// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate_test.ko: the lock that the reviewers of runtime paravirt
 * patching (LKML, 2020) argued about, as an op group switched under load
 * (test only).
 *
 * Three ops, lock, unlock and trylock, are static calls of this module, with
 * two implementations over one lock word that they read differently:
 *
 *   ticket  head in bits 15-0, tail in bits 31-16; unlocked when they are
 *           equal, whatever their value
 *   tas     test-and-set: 0 unlocked, 1 locked
 *
 * A ticket lock's "unlocked" (head == tail == 5, say) is a test-and-set
 * lock's "locked". The ticket implementation declares a state transfer (an
 * unlocked word becomes 0, the unlocked word of both; a taken one refuses
 * the switch), the test-and-set one a quiescence predicate (the word is 0).
 *
 * debugfs guestgate_test/op_group: write "MODE MS". A kthread on every
 * online CPU takes the lock in a loop and, under it, increments a plain
 * counter in a widened window (a read, a 500 ns wait, a write), checking
 * that no one else owns the lock meanwhile; every GG_OPG_NMI_EVERY rounds
 * it sends itself an NMI, once while it holds the lock and once outside
 * its section, whose handler trylocks in a section of its own. Meanwhile
 * the writer switches between the implementations every 0.5 to 1 ms for
 * MS milliseconds:
 *
 *   group        guestgate_op_group_switch(); before the run, one switch
 *                attempted while a section left the lock taken, which must
 *                be refused (-EBUSY)
 *   naive        one static_call_update() per op: the failures the
 *                reviewers of runtime paravirt patching predicted
 *   no_transfer  guestgate_op_group_switch() with a group whose ticket
 *                implementation claims quiescence whatever its word: the
 *                test-and-set lock reads a ticket lock's "unlocked" as
 *                taken
 *
 * The implementations' transfer and quiescence callbacks also count the
 * CPUs they find inside one of this test's sections (at_switch): the
 * switch point must find none. A section in which the ops of both
 * implementations ran is torn; a lock
 * or unlock that waited GG_OPG_SPIN_NS (2 s in the group modes, 50 ms in
 * naive, where waits that never end are expected) is stuck and goes on as
 * if it had the lock. Reading the file gives the last run's figures.
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/guestgate.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include "guestgate_test.h"

#define GG_OPG_MAX_MS		60000
#define GG_OPG_NMI_EVERY	64
/* How long an NMI may take to come before it counts as lost. */
#define GG_OPG_NMI_WAIT_NS	(100 * NSEC_PER_MSEC)

enum gg_opg_mode { GG_OPG_GROUP, GG_OPG_NAIVE, GG_OPG_NO_TRANSFER, GG_OPG_NR_MODES };

static const char *const gg_opg_mode_names[] = { "group", "naive", "no_transfer" };

/**
 * struct gg_opg_cpu - one CPU's view of the run
 * @depth: this test's sections under way (nested ones included)
 * @used: implementations whose ops ran in the outermost section, a bit each
 * @nmi_pending: an NMI sent to this CPU and not handled yet
 * @sections: outermost sections ended
 * @torn: of those, sections that ran ops of both implementations
 * @stuck: lock or unlock spins that gave up
 * @nmi_ok: NMI trylocks that took the lock
 * @nmi_busy: NMI trylocks that found it taken
 * @nmi_refused: NMI sections guestgate refused during a switch
 * @nmi_lost: NMIs sent and never handled
 */
struct gg_opg_cpu {
	unsigned int depth;
	unsigned int used;
	bool nmi_pending;
	u64 sections;
	u64 torn;
	u64 stuck;
	u64 nmi_ok;
	u64 nmi_busy;
	u64 nmi_refused;
	u64 nmi_lost;
};

static DEFINE_PER_CPU(struct gg_opg_cpu, gg_opg_cpu);

static u32 gg_opg_word;
static u64 gg_opg_spin_ns;

static void gg_opg_note(unsigned int impl)
{
	this_cpu_or(gg_opg_cpu.used, 1U << impl);
}

static bool gg_opg_spin_expired(u64 start)
{
	if (local_clock() - start < gg_opg_spin_ns)
		return false;
	this_cpu_inc(gg_opg_cpu.stuck);
	return true;
}

static void gg_ticket_lock(void)
{
	u32 old = atomic_fetch_add(1 << 16, (atomic_t *)&gg_opg_word);
	u64 start = local_clock();

	gg_opg_note(0);
	while ((u16)READ_ONCE(gg_opg_word) != (u16)(old >> 16)) {
		if (gg_opg_spin_expired(start))
			return;
		cpu_relax();
	}
}

static void gg_ticket_unlock(void)
{
	gg_opg_note(0);
	/* head + 1, as a 16-bit store: the tail may move meanwhile. */
	smp_store_release((u16 *)&gg_opg_word, READ_ONCE(*(u16 *)&gg_opg_word) + 1);
}

static bool gg_ticket_trylock(void)
{
	int old = READ_ONCE(gg_opg_word);

	gg_opg_note(0);
	if ((u16)old != (u16)((u32)old >> 16))
		return false;
	return atomic_try_cmpxchg_acquire((atomic_t *)&gg_opg_word, &old, old + (1 << 16));
}

static void gg_tas_lock(void)
{
	u64 start = local_clock();

	gg_opg_note(1);
	while (xchg(&gg_opg_word, 1)) {
		if (gg_opg_spin_expired(start))
			return;
		cpu_relax();
	}
}

static void gg_tas_unlock(void)
{
	gg_opg_note(1);
	/* The critical section's accesses before the release. */
	smp_store_release(&gg_opg_word, 0);
}

static bool gg_tas_trylock(void)
{
	gg_opg_note(1);
	return !xchg(&gg_opg_word, 1);
}

/* The ops of one implementation, in the order of the group's ops. */
struct gg_lock_ops {
	void (*lock)(void);
	void (*unlock)(void);
	bool (*trylock)(void);
};

static const struct gg_lock_ops gg_ticket_ops = {
	.lock = gg_ticket_lock,
	.unlock = gg_ticket_unlock,
	.trylock = gg_ticket_trylock,
};

static const struct gg_lock_ops gg_tas_ops = {
	.lock = gg_tas_lock,
	.unlock = gg_tas_unlock,
	.trylock = gg_tas_trylock,
};

DEFINE_STATIC_CALL(gg_lock, gg_ticket_lock);
DEFINE_STATIC_CALL(gg_unlock, gg_ticket_unlock);
DEFINE_STATIC_CALL(gg_trylock, gg_ticket_trylock);

/* The group registered for the run, which the gates ask. */
static struct guestgate_op_group *gg_opg_group;

static const struct gg_lock_ops *gg_opg_ops(void)
{
	return guestgate_op_group_ops(READ_ONCE(gg_opg_group));
}

static void gg_lock_gate(void)
{
	gg_opg_ops()->lock();
}

static void gg_unlock_gate(void)
{
	gg_opg_ops()->unlock();
}

static bool gg_trylock_gate(void)
{
	return gg_opg_ops()->trylock();
}

static const struct guestgate_op gg_lock_group_ops[] = {
	GUESTGATE_OP(gg_lock, struct gg_lock_ops, lock, gg_lock_gate),
	GUESTGATE_OP(gg_unlock, struct gg_lock_ops, unlock, gg_unlock_gate),
	GUESTGATE_OP(gg_trylock, struct gg_lock_ops, trylock, gg_trylock_gate),
};

static atomic64_t gg_opg_at_switch;

/* At the switch point: counts the CPUs inside one of this test's sections. */
static void gg_opg_check_switch_point(void)
{
	int cpu;

	for_each_online_cpu(cpu)
		if (READ_ONCE(per_cpu_ptr(&gg_opg_cpu, cpu)->depth))
			atomic64_inc(&gg_opg_at_switch);
}

/* Ticket to anything: an unlocked word becomes 0; a taken one refuses. */
static int gg_ticket_transfer(void *state, const struct guestgate_op_impl *to)
{
	u32 *word = state, w;

	gg_opg_check_switch_point();
	w = READ_ONCE(*word);

	if ((u16)w != (u16)(w >> 16))
		return -EBUSY;
	WRITE_ONCE(*word, 0);
	return 0;
}

/* Test-and-set: 0 is unlocked in every implementation's form. */
static bool gg_tas_quiescent(void *state, const struct guestgate_op_impl *to)
{
	gg_opg_check_switch_point();
	return READ_ONCE(*(u32 *)state) == 0;
}

/* The broken claim of no_transfer: a ticket word always reads alike. */
static bool gg_ticket_claims_quiescent(void *state, const struct guestgate_op_impl *to)
{
	gg_opg_check_switch_point();
	return true;
}

static const struct guestgate_op_impl gg_lock_impls[] = {
	{ .name = "ticket", .ops = &gg_ticket_ops, .transfer = gg_ticket_transfer },
	{ .name = "tas", .ops = &gg_tas_ops, .quiescent = gg_tas_quiescent },
};

static const struct guestgate_op_impl gg_lock_impls_no_transfer[] = {
	{ .name = "ticket", .ops = &gg_ticket_ops, .quiescent = gg_ticket_claims_quiescent },
	{ .name = "tas", .ops = &gg_tas_ops, .quiescent = gg_tas_quiescent },
};

DEFINE_GUESTGATE_OP_GROUP(gg_lock_group, gg_lock_group_ops, gg_lock_impls, &gg_opg_word);
DEFINE_GUESTGATE_OP_GROUP(gg_lock_group_no_transfer, gg_lock_group_ops,
			  gg_lock_impls_no_transfer, &gg_opg_word);

/**
 * struct gg_opg_result - what one run saw
 * @mode: the mode run
 * @cpus: workers, one per online CPU
 * @msecs: how long the writer switched
 * @switches: switches done
 * @switch_errors: switches refused or abandoned during the run
 * @refused_while_held: 1 if the switch tried with the lock left taken was
 *                      refused with -EBUSY (group mode)
 * @switch_max_ns: the longest switch, patching included
 * @switch_total_ns: all switches
 * @increments: critical sections run
 * @counter: the plain counter they incremented
 * @overlaps: critical sections that found another owner
 * @windows: the group's switch points (switches done, refused, abandoned)
 * @window_ns: its time at switch points, interrupts disabled
 * @window_max_ns: the longest switch point
 * @at_switch: CPUs found inside a section at a switch point
 * @outside: the group's gate calls outside any section, during the run
 * @sum: the CPUs' figures summed
 */
struct gg_opg_result {
	enum gg_opg_mode mode;
	unsigned int cpus;
	unsigned int msecs;
	u64 switches;
	u64 switch_errors;
	u64 refused_while_held;
	u64 switch_max_ns;
	u64 switch_total_ns;
	u64 increments;
	u64 counter;
	u64 overlaps;
	u64 windows;
	u64 window_ns;
	u64 window_max_ns;
	u64 at_switch;
	u64 outside;
	struct gg_opg_cpu sum;
};

static DEFINE_MUTEX(gg_opg_lock);
static struct gg_opg_result gg_opg_last;
static int gg_opg_last_ret = -ENODATA;

static unsigned long gg_opg_counter;
static atomic64_t gg_opg_increments;
static atomic64_t gg_opg_overlaps;
static int gg_opg_owner = -1;

/* This test's section: guestgate's, and the torn check around it. */
static bool gg_opg_begin(void)
{
	struct gg_opg_cpu *pc;

	if (!guestgate_op_group_section_begin(gg_opg_group))
		return false;
	pc = this_cpu_ptr(&gg_opg_cpu);
	if (!pc->depth++)
		pc->used = 0;
	return true;
}

static void gg_opg_end(void)
{
	struct gg_opg_cpu *pc = this_cpu_ptr(&gg_opg_cpu);

	if (!--pc->depth) {
		pc->sections++;
		if (pc->used & (pc->used - 1))
			pc->torn++;
	}
	guestgate_op_group_section_end(gg_opg_group);
}

/* The critical section: a plain read-modify-write, widened by a wait. */
static void gg_opg_increment(void)
{
	int me = smp_processor_id() + (in_nmi() ? nr_cpu_ids : 0);
	unsigned long c;

	if (cmpxchg(&gg_opg_owner, -1, me) != -1)
		atomic64_inc(&gg_opg_overlaps);
	c = READ_ONCE(gg_opg_counter);
	ndelay(500);
	WRITE_ONCE(gg_opg_counter, c + 1);
	atomic64_inc(&gg_opg_increments);
	cmpxchg(&gg_opg_owner, me, -1);
}

static int gg_opg_nmi(unsigned int cmd, struct pt_regs *regs)
{
	struct gg_opg_cpu *pc = this_cpu_ptr(&gg_opg_cpu);

	if (!READ_ONCE(pc->nmi_pending))
		return NMI_DONE;
	if (!gg_opg_begin()) {
		pc->nmi_refused++;
	} else {
		if (static_call(gg_trylock)()) {
			gg_opg_increment();
			static_call(gg_unlock)();
			pc->nmi_ok++;
		} else {
			pc->nmi_busy++;
		}
		gg_opg_end();
	}
	WRITE_ONCE(pc->nmi_pending, false);
	return NMI_HANDLED;
}

/* An NMI to this CPU, and a wait for its handler. Preemption disabled. */
static void gg_opg_raise_nmi(void)
{
	struct gg_opg_cpu *pc = this_cpu_ptr(&gg_opg_cpu);
	u64 start = local_clock();

	WRITE_ONCE(pc->nmi_pending, true);
	__apic_send_IPI_mask(cpumask_of(smp_processor_id()), NMI_VECTOR);
	while (READ_ONCE(pc->nmi_pending)) {
		if (local_clock() - start > GG_OPG_NMI_WAIT_NS) {
			WRITE_ONCE(pc->nmi_pending, false);
			pc->nmi_lost++;
			return;
		}
		cpu_relax();
	}
}

static int gg_opg_worker(void *unused)
{
	unsigned long i = 0;

	while (!kthread_should_stop()) {
		bool nmi = !(++i % GG_OPG_NMI_EVERY);

		/* A task section is never refused. */
		gg_opg_begin();
		static_call(gg_lock)();
		gg_opg_increment();
		if (nmi)
			gg_opg_raise_nmi();	/* inside, the lock taken */
		static_call(gg_unlock)();
		gg_opg_end();
		if (nmi) {
			preempt_disable();
			gg_opg_raise_nmi();	/* outside any section */
			preempt_enable();
		}
		cond_resched();
	}
	return 0;
}

static void gg_opg_naive_switch(unsigned int to)
{
	const struct gg_lock_ops *ops = to ? &gg_tas_ops : &gg_ticket_ops;

	static_call_update(gg_lock, ops->lock);
	static_call_update(gg_unlock, ops->unlock);
	static_call_update(gg_trylock, ops->trylock);
}

/*
 * The switch a lock left taken across sections must not get: -EBUSY, and
 * the group and the word unchanged.
 */
static int gg_opg_refuse_while_held(struct gg_opg_result *res)
{
	unsigned int active = guestgate_op_group_active(gg_opg_group);
	u32 word;
	int ret;

	gg_opg_begin();
	static_call(gg_lock)();
	gg_opg_end();
	word = READ_ONCE(gg_opg_word);
	ret = guestgate_op_group_switch(gg_opg_group, !active);
	if (ret == -EBUSY && guestgate_op_group_active(gg_opg_group) == active &&
	    READ_ONCE(gg_opg_word) == word)
		res->refused_while_held = 1;
	gg_opg_begin();
	static_call(gg_unlock)();
	gg_opg_end();
	/* Switched anyway: put it back, with the word unlocked now. */
	if (!ret)
		ret = guestgate_op_group_switch(gg_opg_group, active);
	return ret == -EBUSY ? 0 : ret;
}

static int gg_opg_run(enum gg_opg_mode mode, unsigned int ms, struct gg_opg_result *res)
{
	struct task_struct **tasks;
	unsigned int to = 1;
	u64 end, t;
	int cpu, ret;

	memset(res, 0, sizeof(*res));
	res->mode = mode;
	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(&gg_opg_cpu, cpu), 0, sizeof(struct gg_opg_cpu));
	gg_opg_counter = 0;
	atomic64_set(&gg_opg_increments, 0);
	atomic64_set(&gg_opg_overlaps, 0);
	atomic64_set(&gg_opg_at_switch, 0);
	gg_opg_word = 0;
	gg_opg_spin_ns = mode == GG_OPG_NAIVE ? 50 * NSEC_PER_MSEC : 2 * NSEC_PER_SEC;
	WRITE_ONCE(gg_opg_group, mode == GG_OPG_NO_TRANSFER ? &gg_lock_group_no_transfer :
			       &gg_lock_group);
	tasks = kcalloc(nr_cpu_ids, sizeof(*tasks), GFP_KERNEL);
	if (!tasks)
		return -ENOMEM;
	/* Every op to the active implementation's; the word is unlocked in both. */
	ret = guestgate_op_group_register(gg_opg_group);
	if (ret)
		goto out_free;
	res->outside = atomic64_read(&gg_opg_group->outside);
	if (mode == GG_OPG_GROUP) {
		ret = gg_opg_refuse_while_held(res);
		if (ret)
			goto out_unregister;
	}
	ret = register_nmi_handler(NMI_LOCAL, gg_opg_nmi, 0, "gg_opg");
	if (ret)
		goto out_unregister;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		tasks[cpu] = kthread_create_on_cpu(gg_opg_worker, NULL, cpu, "gg_opg/%u");
		if (IS_ERR(tasks[cpu])) {
			ret = PTR_ERR(tasks[cpu]);
			tasks[cpu] = NULL;
			break;
		}
		wake_up_process(tasks[cpu]);
		res->cpus++;
	}
	cpus_read_unlock();

	t = local_clock();
	end = t + (u64)ms * NSEC_PER_MSEC;
	while (!ret && local_clock() < end) {
		u64 t0 = local_clock(), dt;

		if (mode == GG_OPG_NAIVE) {
			gg_opg_naive_switch(to);
		} else if (guestgate_op_group_switch(gg_opg_group, to)) {
			res->switch_errors++;
			to ^= 1;
		}
		dt = local_clock() - t0;
		res->switches++;
		res->switch_total_ns += dt;
		res->switch_max_ns = max(res->switch_max_ns, dt);
		to ^= 1;
		usleep_range(500, 1000);
	}
	res->switches -= res->switch_errors;
	res->msecs = div_u64(local_clock() - t, NSEC_PER_MSEC);

	for_each_possible_cpu(cpu)
		if (tasks[cpu])
			kthread_stop(tasks[cpu]);
	unregister_nmi_handler(NMI_LOCAL, "gg_opg");
	/* Every op back to the group's active implementation. */
	if (mode == GG_OPG_NAIVE)
		gg_opg_naive_switch(guestgate_op_group_active(gg_opg_group));
	res->outside = atomic64_read(&gg_opg_group->outside) - res->outside;
	res->at_switch = atomic64_read(&gg_opg_at_switch);
	/* Reset by the run's registration. */
	res->windows = gg_opg_group->switches + gg_opg_group->refused +
		       gg_opg_group->timeouts;
	res->window_ns = gg_opg_group->window_ns;
	res->window_max_ns = gg_opg_group->window_max_ns;

	res->increments = atomic64_read(&gg_opg_increments);
	res->counter = gg_opg_counter;
	res->overlaps = atomic64_read(&gg_opg_overlaps);
	for_each_possible_cpu(cpu) {
		struct gg_opg_cpu *pc = per_cpu_ptr(&gg_opg_cpu, cpu);

		res->sum.sections += pc->sections;
		res->sum.torn += pc->torn;
		res->sum.stuck += pc->stuck;
		res->sum.nmi_ok += pc->nmi_ok;
		res->sum.nmi_busy += pc->nmi_busy;
		res->sum.nmi_refused += pc->nmi_refused;
		res->sum.nmi_lost += pc->nmi_lost;
	}
out_unregister:
	guestgate_op_group_unregister(gg_opg_group);
out_free:
	kfree(tasks);
	return ret;
}

static int gg_opg_show(struct seq_file *m, void *unused)
{
	struct gg_opg_result *r = &gg_opg_last;

	mutex_lock(&gg_opg_lock);
	seq_printf(m, "ret: %d\n", gg_opg_last_ret);
	if (gg_opg_last_ret != -ENODATA) {
		seq_printf(m, "mode: %s\n", gg_opg_mode_names[r->mode]);
		seq_printf(m, "cpus: %u\n", r->cpus);
		seq_printf(m, "msecs: %u\n", r->msecs);
		seq_printf(m, "switches: %llu\n", r->switches);
		seq_printf(m, "switch_errors: %llu\n", r->switch_errors);
		seq_printf(m, "refused_while_held: %llu\n", r->refused_while_held);
		seq_printf(m, "switch_avg_ns: %llu\n",
			   r->switches ? div64_u64(r->switch_total_ns, r->switches) : 0);
		seq_printf(m, "switch_max_ns: %llu\n", r->switch_max_ns);
		seq_printf(m, "window_avg_ns: %llu\n",
			   r->windows ? div64_u64(r->window_ns, r->windows) : 0);
		seq_printf(m, "window_max_ns: %llu\n", r->window_max_ns);
		seq_printf(m, "sections: %llu\n", r->sum.sections);
		seq_printf(m, "increments: %llu\n", r->increments);
		seq_printf(m, "lost_increments: %lld\n", (s64)(r->increments - r->counter));
		seq_printf(m, "overlaps: %llu\n", r->overlaps);
		seq_printf(m, "at_switch: %llu\n", r->at_switch);
		seq_printf(m, "outside: %llu\n", r->outside);
		seq_printf(m, "torn: %llu\n", r->sum.torn);
		seq_printf(m, "stuck: %llu\n", r->sum.stuck);
		seq_printf(m, "nmi_ok: %llu\n", r->sum.nmi_ok);
		seq_printf(m, "nmi_busy: %llu\n", r->sum.nmi_busy);
		seq_printf(m, "nmi_refused: %llu\n", r->sum.nmi_refused);
		seq_printf(m, "nmi_lost: %llu\n", r->sum.nmi_lost);
	}
	mutex_unlock(&gg_opg_lock);
	return 0;
}

static int gg_opg_open(struct inode *inode, struct file *file)
{
	return single_open(file, gg_opg_show, NULL);
}

static ssize_t gg_opg_write(struct file *file, const char __user *ubuf, size_t len,
			    loff_t *ppos)
{
	int mode, ret;
	u32 ms;

	mode = gg_test_parse_run(ubuf, len, gg_opg_mode_names, GG_OPG_NR_MODES, &ms, 1);
	if (mode < 0)
		return mode;
	if (!ms || ms > GG_OPG_MAX_MS)
		return -EINVAL;

	mutex_lock(&gg_opg_lock);
	ret = gg_opg_run(mode, ms, &gg_opg_last);
	gg_opg_last_ret = ret;
	mutex_unlock(&gg_opg_lock);
	return ret ?: len;
}

static const struct file_operations gg_opg_fops = {
	.owner = THIS_MODULE,
	.open = gg_opg_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = gg_opg_write,
};

void gg_test_op_group_init(struct dentry *dir)
{
	debugfs_create_file("op_group", 0600, dir, NULL, &gg_opg_fops);
}
