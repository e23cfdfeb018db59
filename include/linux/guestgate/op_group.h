/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: runtime switching of a group of patched ops that a module owns.
 *
 * Included through <linux/guestgate.h>; every function is implemented by
 * guestgate.ko and exported GPL-only. See Documentation/op-groups.rst.
 */
#ifndef _LINUX_GUESTGATE_OP_GROUP_H
#define _LINUX_GUESTGATE_OP_GROUP_H

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/static_call.h>
#include <linux/stddef.h>
#include <linux/types.h>

/*
 * Op groups
 *
 * A module owns N static calls (the ops) and two or more implementations,
 * each a struct of N function pointers, which may share state (a lock word
 * that every op of one implementation reads in one form). Callers run the
 * ops inside sections:
 *
 *	if (guestgate_op_group_section_begin(&grp)) {
 *		static_call(my_lock)(...);
 *		...
 *		static_call(my_unlock)(...);
 *		guestgate_op_group_section_end(&grp);
 *	}
 *
 * guestgate_op_group_switch() switches the whole group from one
 * implementation to another so that no section runs ops of two
 * implementations, and no section of the old one is under way when it
 * returns. At the switch point every CPU is outside its sections; the old
 * implementation's @transfer rewrites the shared state into the new one's
 * form, or its @quiescent says the state already reads alike in both; if
 * it declares neither, or either refuses, the switch is refused with
 * -EBUSY and nothing changes.
 *
 * A section is non-preemptible (section_begin() disables preemption) and
 * may nest: a section begun inside another on the same CPU, from the same
 * context, a hardirq or an NMI, joins it. It must not wait for other CPUs
 * other than through the group's own ops (no IPIs, no sleeping, no
 * synchronize_*()).
 *
 * Implicit sections
 *
 * Callers that cannot mark their sections (perf core, which calls a
 * guest-info callback several times for one sample) use an implicit group
 * (@implicit): a section is any stretch of calls that runs with preemption
 * disabled, in a hardirq or in an NMI, and nothing is marked. A switch
 * points every op at its gate, and then each CPU moves its own sections to
 * the new implementation in a work item, which runs between two of them;
 * once every CPU has, no section of the old implementation is under way,
 * every op is pointed at the new one's function and the switch returns.
 * With no switch point at which every CPU is outside its sections, the
 * implementations of an implicit group share no state: they declare
 * neither @quiescent nor @transfer, and every switch is allowed.
 */

/**
 * struct guestgate_op - one op of a group: a static call of the owner's
 * @key: the static call's key, &STATIC_CALL_KEY(name)
 * @tramp: its trampoline, STATIC_CALL_TRAMP_ADDR(name)
 * @gate: the owner's gate for the op, the static call's target during a
 *        switch: a function of the op's type that calls the op of the
 *        implementation its CPU's section runs (guestgate_op_group_ops())
 * @offset: where the op's function pointer is in each implementation's
 *          struct of ops
 *
 * Build it with GUESTGATE_OP(), which checks the types.
 */
struct guestgate_op {
	struct static_call_key *key;
	void *tramp;
	void *gate;
	size_t offset;
};

/**
 * GUESTGATE_OP() - Describe an op of a group.
 * @name: the static call (DEFINE_STATIC_CALL(name, ...) in the owner)
 * @type: the owner's struct of ops, one function pointer per op
 * @member: the op's member in @type
 * @gate_fn: the op's gate
 *
 * Fails to build unless @gate_fn and @type's @member have the static
 * call's type.
 */
#define GUESTGATE_OP(name, type, member, gate_fn)				\
	{									\
		.key = &STATIC_CALL_KEY(name),					\
		.tramp = STATIC_CALL_TRAMP_ADDR(name),				\
		.gate = (void *)(gate_fn),					\
		.offset = offsetof(type, member) +				\
			BUILD_BUG_ON_ZERO(!__same_type(&STATIC_CALL_TRAMP(name),	\
						       &(gate_fn))) +		\
			BUILD_BUG_ON_ZERO(!__same_type(&STATIC_CALL_TRAMP(name),	\
						       ((type *)NULL)->member)), \
	}

struct guestgate_op_impl;

/**
 * struct guestgate_op_impl - one implementation of a group
 * @name: for debugfs and messages
 * @ops: the owner's struct of ops: a function for every op of the group
 * @quiescent: whether the group's shared state, in this implementation's
 *             form, reads alike in @to's; the switch to @to is refused
 *             (-EBUSY) if not
 * @transfer: rewrites the shared state from this implementation's form to
 *            @to's; 0, or -EBUSY to refuse the switch (state unchanged)
 *
 * A switch away from this implementation calls @transfer if it is set,
 * else @quiescent; with neither, every switch away is refused, but in an
 * implicit group, whose implementations declare neither. Either runs
 * at the switch point: interrupts disabled, on the switching CPU, while
 * every CPU is outside its sections and waits for the switch to end. It
 * must be short, must not sleep, must not wait for other CPUs and must not
 * begin a section of any group.
 */
struct guestgate_op_impl {
	const char *name;
	const void *ops;
	bool (*quiescent)(void *state, const struct guestgate_op_impl *to);
	int (*transfer)(void *state, const struct guestgate_op_impl *to);
};

/**
 * struct guestgate_op_group_cpu - a group's section on one CPU (private)
 * @nest: sections begun and not ended on the CPU; 0 outside any
 * @pinned: implicit groups: the implementation the CPU's sections run
 * @pinned_gen: the switch generation the CPU's outermost section began in
 */
struct guestgate_op_group_cpu {
	unsigned int nest;
	unsigned int pinned;
	unsigned long pinned_gen;
};

/**
 * struct guestgate_op_group - a group of ops and its implementations
 * @name: for debugfs and messages
 * @ops: the ops
 * @nr_ops: how many
 * @impls: the implementations; the first is the one the static calls are
 *         defined with, active at registration
 * @nr_impls: how many, 2 or more
 * @state: passed to @quiescent and @transfer
 * @implicit: callers do not mark their sections (see "Implicit sections")
 * @cpu: per-CPU section state (DEFINE_GUESTGATE_OP_GROUP() defines it)
 * @gen: switch generation: odd while a switch waits out the sections
 * @active: the implementation sections begun now run
 * @registered: between register and unregister
 * @node: in guestgate's list of groups
 * @switches: switches done
 * @refused: switches refused by @quiescent or @transfer (-EBUSY)
 * @timeouts: switches abandoned because a section did not end
 * @switch_ns: wall time of the switches (done, refused or abandoned), in
 *             total, patching and waits included
 * @switch_max_ns: the longest switch
 * @window_ns: time spent at switch points, interrupts disabled, in total
 * @window_max_ns: the longest switch point
 * @nmi_refused: sections refused to NMIs during a switch
 * @outside: gate calls and section ends outside any section (a caller's
 *           bug)
 *
 * The owner fills in the fields up to @cpu; the others are guestgate's.
 */
struct guestgate_op_group {
	const char *name;
	const struct guestgate_op *ops;
	unsigned int nr_ops;
	const struct guestgate_op_impl *impls;
	unsigned int nr_impls;
	void *state;
	bool implicit;
	struct guestgate_op_group_cpu __percpu *cpu;

	unsigned long gen;
	unsigned int active;
	bool registered;
	struct list_head node;
	u64 switches;
	u64 refused;
	u64 timeouts;
	u64 switch_ns;
	u64 switch_max_ns;
	u64 window_ns;
	u64 window_max_ns;
	atomic64_t nmi_refused;
	atomic64_t outside;
};

/**
 * DEFINE_GUESTGATE_OP_GROUP() - Define a group.
 * @grp: the group's name
 * @op_array: its ops, an array of struct guestgate_op
 * @impl_array: its implementations, an array of struct guestgate_op_impl
 * @state_ptr: its shared state, for the implementations' callbacks
 */
#define DEFINE_GUESTGATE_OP_GROUP(grp, op_array, impl_array, state_ptr)		\
	__DEFINE_GUESTGATE_OP_GROUP(grp, op_array, impl_array, state_ptr, false)

/**
 * DEFINE_GUESTGATE_OP_GROUP_IMPLICIT() - Define a group whose callers do
 * not mark their sections.
 * @grp: the group's name
 * @op_array: its ops, an array of struct guestgate_op
 * @impl_array: its implementations, which share no state
 */
#define DEFINE_GUESTGATE_OP_GROUP_IMPLICIT(grp, op_array, impl_array)		\
	__DEFINE_GUESTGATE_OP_GROUP(grp, op_array, impl_array, NULL, true)

#define __DEFINE_GUESTGATE_OP_GROUP(grp, op_array, impl_array, state_ptr, impl_sections) \
	static DEFINE_PER_CPU(struct guestgate_op_group_cpu, grp##_cpu);	\
	struct guestgate_op_group grp = {					\
		.name = #grp,							\
		.ops = op_array,						\
		.nr_ops = ARRAY_SIZE(op_array),					\
		.impls = impl_array,						\
		.nr_impls = ARRAY_SIZE(impl_array),				\
		.state = state_ptr,						\
		.implicit = impl_sections,					\
		.cpu = &grp##_cpu,						\
	}

/**
 * guestgate_op_group_register() - Make a group switchable.
 * @grp: the group
 *
 * Points every op at the active implementation's function: the first
 * implementation's at the first registration; after an unregistration,
 * the one that was active then.
 *
 * Context: Process context, not under cpus_read_lock(); sleeps.
 * Return: 0; -EINVAL if @grp has no op or no array of ops, fewer than two
 * implementations, an implementation without ops or without a function for
 * some op, an op without a key or a gate or at an offset not aligned to a
 * pointer, or no per-CPU state, or an implicit group with an
 * implementation that declares @quiescent or @transfer; -EEXIST if it is
 * registered; -EBUSY if a registered group has one of its static calls.
 */
int guestgate_op_group_register(struct guestgate_op_group *grp);

/**
 * guestgate_op_group_unregister() - Undo guestgate_op_group_register().
 * @grp: the group
 *
 * Waits for a switch under way. The ops keep pointing at the active
 * implementation; sections may go on.
 *
 * Context: Process context, not under cpus_read_lock(); sleeps.
 * Return: 0; -ENOENT if @grp is not registered.
 */
int guestgate_op_group_unregister(struct guestgate_op_group *grp);

/**
 * guestgate_op_group_switch() - Switch every op of a group to another
 * implementation, all at once.
 * @grp: the group
 * @to: the index of the implementation in @grp->impls
 *
 * Points every op at a gate, waits until every CPU is outside its
 * sections while holding new ones back, asks the active implementation's
 * @transfer or @quiescent, makes @to active (or, refused, keeps the
 * active one), lets the sections go on, and points every op at the active
 * implementation's function. Switches are serialized. Returns once no
 * section runs the old implementation. An implicit group's switch has each
 * CPU move its sections to @to in a work item instead (see "Implicit
 * sections"), and is never refused.
 *
 * The caller must hold nothing that a section may wait for (a lock of the
 * group taken outside a section, say): the patching waits for every CPU
 * to take an IPI, and the switch point for every section to end.
 *
 * Context: Process context, outside any section of any group, not under
 * cpus_read_lock(); sleeps.
 * Return: 0, also if @to is active; -ENOENT if @grp is not registered;
 * -EINVAL if @to is not an implementation of @grp; -EBUSY if the active
 * implementation refused (or declares no way out); -ETIMEDOUT if a section
 * did not end within a second. Refused, nothing changed.
 */
int guestgate_op_group_switch(struct guestgate_op_group *grp, unsigned int to);

/**
 * guestgate_op_group_active() - The implementation sections begun now run.
 * @grp: the group
 *
 * During an implicit group's switch, CPUs that have not moved yet still
 * run the one this answered before.
 *
 * Context: Any context.
 * Return: an index in @grp->impls.
 */
static inline unsigned int guestgate_op_group_active(const struct guestgate_op_group *grp)
{
	return READ_ONCE(grp->active);
}

/**
 * guestgate_op_group_section_begin() - Begin a section of a group's ops.
 * @grp: the group, registered, not implicit
 *
 * Pins the CPU's sections to the active implementation and disables
 * preemption. Inside a section of @grp on this CPU, joins it. While a
 * switch waits out the sections, task and hardirq callers wait for its end
 * (with interrupts as they found them).
 *
 * Context: Any context, NMI included.
 * Return: true, and the section must be ended with
 * guestgate_op_group_section_end(); false only in NMI, while a switch is
 * under way, or when joining a section that began before a switch that
 * then gave up (-ETIMEDOUT): then there is no section and no op may be
 * called.
 */
bool guestgate_op_group_section_begin(struct guestgate_op_group *grp);

/**
 * guestgate_op_group_section_end() - End a section.
 * @grp: the group
 *
 * Without a section to end on this CPU (a caller's bug), WARNs once,
 * counts the call (@outside) and does nothing else.
 *
 * Context: The context of the matching section_begin(), on its CPU.
 */
void guestgate_op_group_section_end(struct guestgate_op_group *grp);

/**
 * guestgate_op_group_ops() - The ops of the implementation this CPU's
 * section runs, for the gates.
 * @grp: the group
 *
 * Outside any section (a caller's bug) it WARNs once, counts the call and
 * answers the active implementation's. In an implicit group, it answers the
 * implementation of this CPU's sections (and WARNs once if preemption is
 * enabled: there is no section then).
 *
 * Context: Any context, inside a section of @grp (implicit groups: with
 * preemption disabled, in a hardirq or in an NMI).
 * Return: the implementation's @ops.
 */
const void *guestgate_op_group_ops(struct guestgate_op_group *grp);

#endif /* _LINUX_GUESTGATE_OP_GROUP_H */
