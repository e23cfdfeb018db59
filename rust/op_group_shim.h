/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestgate: op groups (op_group_shim.c, op_group.rs).
 */
#ifndef _GUESTGATE_OP_GROUP_SHIM_H
#define _GUESTGATE_OP_GROUP_SHIM_H

#include <linux/guestgate/op_group.h>
#include <linux/types.h>

struct kunit;
struct seq_file;

/*
 * What guestgate_op_group_patch() points every op of a group at: the
 * gates, or (any other value) that implementation's functions.
 */
#define GUESTGATE_OP_GROUP_GATES	0xffffffffU

/* op_group_shim.c, for op_group.rs */
/* Serializes registrations and switches of every group. */
void guestgate_op_group_lock(void);
void guestgate_op_group_unlock(void);
/*
 * Points every op of @grp at @impl's function, or at its gate if @impl is
 * GUESTGATE_OP_GROUP_GATES. Lock held; sleeps.
 */
void guestgate_op_group_patch(struct guestgate_op_group *grp, unsigned int impl);
/*
 * The switch point: holds new sections of @grp back, waits until every CPU
 * is outside its sections, asks the active implementation, makes @to
 * active if it agrees, and lets the sections go on. Returns 0, -EBUSY
 * (refused, or no way out declared) or -ETIMEDOUT (a section did not end
 * in time); refused, nothing changed. Lock held; @to valid and not active.
 */
int guestgate_op_group_window(struct guestgate_op_group *grp, unsigned int to);
/*
 * Moves the sections of the implicit group @grp to @impl, then makes @impl
 * active: with @each_cpu, each online CPU writes its own pin in a work
 * item, between two of its sections, and this returns once all have (no
 * time limit: a CPU that never schedules holds it up); without it (fault
 * injection only) this task writes them all. Lock held; sleeps; not under
 * cpus_read_lock().
 */
void guestgate_op_group_pin(struct guestgate_op_group *grp, unsigned int impl,
			    bool each_cpu);
/* Whether a registered group has a static call of @grp's. Lock held. */
bool guestgate_op_group_keys_taken(const struct guestgate_op_group *grp);
/* Adds @grp to, or removes it from, the list of registered groups. Lock held. */
void guestgate_op_group_list_add(struct guestgate_op_group *grp);
void guestgate_op_group_list_del(struct guestgate_op_group *grp);

#if IS_ENABLED(CONFIG_KUNIT)
/* A Rust KUnit case in op_group/kunit.rs, exported for guestgate_kunit.ko */
void guestgate_kunit_op_group_rust(struct kunit *test);
#endif

/* debugfs guestgate/op_groups (device_shim.c's table) */
int guestgate_op_groups_show(struct seq_file *m, void *unused);

#endif /* _GUESTGATE_OP_GROUP_SHIM_H */
