// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: the other contexts of the pfn cache ioctls.
 *
 * 6.12 has no Rust abstraction for kthreads, kthread_use_mm() or hrtimers:
 * these helpers run a function of pfn_cache_file.rs once in a kthread that
 * adopts the caller's mm, or in a hardirq hrtimer callback, and wait for it.
 * The caller's stack stays valid meanwhile, so @data may live there.
 */
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "pfn_cache_file_shim.h"

/**
 * struct guestgate_pfn_run - one call of a function in another context
 * @fn: the function
 * @data: its argument
 * @mm: the mm the kthread uses (a reference of mmget()), or NULL
 * @timer: the hrtimer, for guestgate_pfn_run_hrtimer()
 * @done: completed once @fn has returned
 */
struct guestgate_pfn_run {
	void (*fn)(void *data);
	void *data;
	struct mm_struct *mm;
	struct hrtimer timer;
	struct completion done;
};

static int guestgate_pfn_kthread(void *arg)
{
	struct guestgate_pfn_run *run = arg;

	if (run->mm)
		kthread_use_mm(run->mm);
	run->fn(run->data);
	if (run->mm)
		kthread_unuse_mm(run->mm);
	complete(&run->done);
	return 0;
}

int guestgate_pfn_run_kthread(void (*fn)(void *data), void *data)
{
	struct guestgate_pfn_run run = { .fn = fn, .data = data };
	struct task_struct *task;

	init_completion(&run.done);
	/* The ioctl's task is alive: its mm, if any, has users. */
	if (current->mm && mmget_not_zero(current->mm))
		run.mm = current->mm;
	task = kthread_create(guestgate_pfn_kthread, &run, "guestgate_pfn");
	if (IS_ERR(task)) {
		if (run.mm)
			mmput(run.mm);
		return PTR_ERR(task);
	}
	get_task_struct(task);
	wake_up_process(task);
	wait_for_completion(&run.done);
	/* Reaps the thread: its function has returned or is returning. */
	kthread_stop_put(task);
	if (run.mm)
		mmput(run.mm);
	return 0;
}

static enum hrtimer_restart guestgate_pfn_timer(struct hrtimer *timer)
{
	struct guestgate_pfn_run *run =
		container_of(timer, struct guestgate_pfn_run, timer);

	run->fn(run->data);
	complete(&run->done);
	return HRTIMER_NORESTART;
}

void guestgate_pfn_run_hrtimer(void (*fn)(void *data), void *data)
{
	struct guestgate_pfn_run run = { .fn = fn, .data = data };

	init_completion(&run.done);
	hrtimer_init_on_stack(&run.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	run.timer.function = guestgate_pfn_timer;
	hrtimer_start(&run.timer, ns_to_ktime(10 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	wait_for_completion(&run.done);
	/* Waits for the callback to return: @run is on this stack. */
	hrtimer_cancel(&run.timer);
	destroy_hrtimer_on_stack(&run.timer);
}
