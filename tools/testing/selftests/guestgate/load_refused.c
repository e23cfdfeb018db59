// SPDX-License-Identifier: GPL-2.0
/*
 * guestgate: a load that must be refused opens no door meanwhile.
 *
 *   load_refused MODULE.ko
 *
 * Loads MODULE.ko (guestgate.ko), whose init must fail with EBUSY (kvm
 * loaded, or another module holding perf's guest-info slot), and checks
 * that nothing of it was ever visible: no /dev/guestgate and no debugfs
 * guestgate/ created, even for a moment (inotify), and nothing left behind
 * (/proc/modules, /dev, debugfs). A file opened through a door of an init
 * that then fails keeps file operations in the freed module.
 *
 * Run by guest.sh as a step of the test run; exits 0 if all holds, 1 with
 * the reasons on stdout otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAME	"guestgate"
#define DEV	"/dev"
#define DEBUGFS	"/sys/kernel/debug"

static int failed;

static void fail(const char *what)
{
	printf("%s\n", what);
	failed = 1;
}

/* Reports every creation of NAME in the watched directories. */
static void check_events(int in, int dev_wd)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;
	ssize_t len, off;

	while ((len = read(in, u.buf, sizeof(u.buf))) > 0) {
		for (off = 0; off < len;) {
			struct inotify_event *ev = (struct inotify_event *)(u.buf + off);

			if (ev->len && !strcmp(ev->name, NAME) && (ev->mask & IN_CREATE))
				fail(ev->wd == dev_wd ? "/dev/guestgate appeared during the load" :
					"debugfs guestgate/ appeared during the load");
			off += sizeof(*ev) + ev->len;
		}
	}
}

static int module_listed(void)
{
	char line[256];
	FILE *f = fopen("/proc/modules", "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, NAME " ", strlen(NAME) + 1))
			found = 1;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct stat st;
	int in, dev_wd, fd, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MODULE.ko\n", argv[0]);
		return 2;
	}
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0) {
		perror("inotify_init1");
		return 1;
	}
	dev_wd = inotify_add_watch(in, DEV, IN_CREATE);
	if (dev_wd < 0 || inotify_add_watch(in, DEBUGFS, IN_CREATE) < 0) {
		perror("inotify_add_watch");
		return 1;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	ret = syscall(SYS_finit_module, fd, "", 0);
	if (!ret) {
		fail("the module loaded; its load should have been refused");
		syscall(SYS_delete_module, NAME, O_NONBLOCK);
	} else if (errno != EBUSY) {
		printf("load failed with %s, not EBUSY\n", strerror(errno));
		failed = 1;
	} else {
		printf("load refused: %s\n", strerror(errno));
	}
	close(fd);
	check_events(in, dev_wd);
	if (module_listed())
		fail("guestgate is in /proc/modules");
	if (!stat(DEV "/" NAME, &st))
		fail("/dev/guestgate is left");
	if (!stat(DEBUGFS "/" NAME, &st))
		fail("debugfs guestgate/ is left");
	return failed;
}
