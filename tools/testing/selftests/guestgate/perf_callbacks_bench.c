// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: benchmark of the perf guest-info callbacks' dispatch (make
 * bench). Not a test: it prints figures and the targets they are held to.
 *
 * Cycles per call are host TSC cycles of a TCG guest: only the ratios to
 * the direct call measured in the same run mean anything.
 *
 * Needs guestgate.ko, guestgate_sample.ko and guestgate_test.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guestgate_sample.h"

#define RUST_BENCH "/sys/kernel/debug/guestgate_test/perf_bench"

struct figures {
	double empty, registered, direct, indirect;
};

static void row(const char *caller, const struct figures *f, double max_empty,
		double max_registered, int *missed)
{
	double a = f->empty / f->direct, b = f->registered / f->direct;
	double d = f->indirect / f->direct;
	int ok_a = a <= max_empty, ok_b = b <= max_registered;

	printf("%-6s %8.1f %8.1f %8.1f %8.1f", caller, f->empty, f->registered,
	       f->direct, f->indirect);
	printf("   a/c %.2f (<= %.2f %s)", a, max_empty, ok_a ? "ok" : "MISSED");
	printf("  b/c %.2f (<= %.2f %s)", b, max_registered, ok_b ? "ok" : "MISSED");
	printf("  d/c %.2f\n", d);
	*missed += !ok_a + !ok_b;
}

int main(void)
{
	struct guestgate_sample_bench cb;
	struct figures c, rust;
	unsigned long long v;
	int toy, missed = 0;
	char key[32];
	FILE *f;

	toy = open(GUESTGATE_SAMPLE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (toy < 0 || ioctl(toy, GUESTGATE_SAMPLE_IOCTL_BENCH, &cb)) {
		perror("guestgate_sample bench");
		return 1;
	}
	c = (struct figures){ cb.empty / 1000.0, cb.registered / 1000.0,
			      cb.direct / 1000.0, cb.indirect / 1000.0 };

	/* The Rust benchmark registers a set of its own. */
	if (ioctl(toy, GUESTGATE_SAMPLE_IOCTL_UNREGISTER) && errno != ENOENT) {
		perror("unregister the toy");
		return 1;
	}
	f = fopen(RUST_BENCH, "r");
	if (!f) {
		perror(RUST_BENCH);
		return 1;
	}
	while (fscanf(f, " %31[^:]: %llu", key, &v) == 2) {
		if (!strcmp(key, "empty"))
			rust.empty = v / 1000.0;
		else if (!strcmp(key, "registered"))
			rust.registered = v / 1000.0;
		else if (!strcmp(key, "direct"))
			rust.direct = v / 1000.0;
		else if (!strcmp(key, "indirect"))
			rust.indirect = v / 1000.0;
	}
	fclose(f);
	ioctl(toy, GUESTGATE_SAMPLE_IOCTL_REGISTER);
	close(toy);

	printf("perf guest-info callbacks: TSC cycles per dispatch\n");
	printf("(TCG guest; best of 7 x %llu calls, loop included)\n",
	       (unsigned long long)cb.calls);
	printf("a: nothing registered, b: registered,\n");
	printf("c: direct call of an empty function (the baseline),\n");
	printf("d: READ_ONCE pointer + NULL check + retpolined indirect call\n");
	printf("   (the scheme static calls avoid)\n\n");
	printf("%-6s %8s %8s %8s %8s\n", "caller", "a", "b", "c", "d");
	row("C", &c, 0.25, 1.3, &missed);
	row("Rust", &rust, 1.2, 1.5, &missed);
	printf("\n%d target%s missed\n", missed, missed == 1 ? "" : "s");
	return 0;
}
