/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-dmctl: the few device-mapper calls the power-cut test needs in the
 * BusyBox guest (tests/guest/powercut), which has no dmsetup: Debian's is
 * dynamic. A device of one target, whose table can be swapped while a file
 * system on it stays mounted: the swap skips the file system freeze
 * (dmsetup --nolockfs) and the flush of queued I/O (--noflush), so what the
 * page cache holds is NOT written first, as a power cut would not.
 *
 *   ember-dmctl create NAME "START LEN TARGET ARGS..."   prints /dev/mapper/NAME
 *   ember-dmctl reload NAME "START LEN TARGET ARGS..."   swap the live table
 *   ember-dmctl remove NAME
 *
 * The interface is <linux/dm-ioctl.h> on /dev/mapper/control.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BUF_SIZE 16384

static union {
	struct dm_ioctl io;
	char bytes[BUF_SIZE];
} buf;
static int ctl = -1;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "ember-dmctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static struct dm_ioctl *start(const char *name)
{
	memset(&buf, 0, sizeof(buf));
	buf.io.version[0] = DM_VERSION_MAJOR;
	buf.io.version[1] = 0;
	buf.io.version[2] = 0;
	buf.io.data_size = sizeof(buf);
	buf.io.data_start = sizeof(struct dm_ioctl);
	if (strlen(name) >= sizeof(buf.io.name))
		die("name too long: %s", name);
	strcpy(buf.io.name, name);
	return &buf.io;
}

static void call(unsigned long req, const char *what)
{
	if (ioctl(ctl, req, &buf) < 0) {
		fprintf(stderr, "ember-dmctl: %s %s: %s\n", what, buf.io.name, strerror(errno));
		exit(1);
	}
}

/* TABLE is "START LEN TARGET ARGS...": one target. */
static void load(const char *name, const char *table)
{
	struct dm_ioctl *io = start(name);
	struct dm_target_spec *t = (struct dm_target_spec *)(buf.bytes + sizeof(struct dm_ioctl));
	char *params = (char *)(t + 1);
	unsigned long long first, len;
	char type[sizeof(t->target_type)];
	int n = 0;

	if (sscanf(table, "%llu %llu %15s %n", &first, &len, type, &n) != 3 || !n)
		die("a table is \"START LEN TARGET ARGS...\", not \"%s\"", table);
	t->sector_start = first;
	t->length = len;
	strcpy(t->target_type, type);
	if (strlen(table + n) + 1 > (size_t)(buf.bytes + sizeof(buf) - params))
		die("table too long: %s", table);
	strcpy(params, table + n);
	t->next = 0;
	io->target_count = 1;
	io->data_size = (uint32_t)(sizeof(struct dm_ioctl) + sizeof(*t) + ((strlen(params) + 1 + 7) & ~7u));
	call(DM_TABLE_LOAD, "load a table into");
}

/* Suspend without the file system's freeze or a flush, then resume, which
   puts the loaded table in place. */
static void swap(const char *name)
{
	start(name)->flags = DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG | DM_NOFLUSH_FLAG;
	call(DM_DEV_SUSPEND, "suspend");
	start(name)->flags = DM_SKIP_LOCKFS_FLAG | DM_NOFLUSH_FLAG;
	call(DM_DEV_SUSPEND, "resume");
}

int main(int argc, char **argv)
{
	char node[256];

	if (argc < 3 || (strcmp(argv[1], "remove") && argc != 4) || (!strcmp(argv[1], "remove") && argc != 3)) {
		fprintf(stderr, "usage: ember-dmctl create|reload NAME TABLE | remove NAME\n");
		return 2;
	}
	const char *name = argv[2];
	snprintf(node, sizeof(node), "/dev/mapper/%s", name);
	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die("/dev/mapper/control: %s (is dm_mod loaded?)", strerror(errno));

	if (!strcmp(argv[1], "create")) {
		start(name);
		call(DM_DEV_CREATE, "create");
		dev_t dev = (dev_t)buf.io.dev;
		load(name, argv[3]);
		start(name)->flags = 0;
		call(DM_DEV_SUSPEND, "resume");
		unlink(node);
		if (mknod(node, S_IFBLK | 0600, makedev(major(dev), minor(dev))) < 0)
			die("mknod: %s", strerror(errno));
		printf("%s\n", node);
	} else if (!strcmp(argv[1], "reload")) {
		load(name, argv[3]);
		swap(name);
	} else if (!strcmp(argv[1], "remove")) {
		start(name);
		call(DM_DEV_REMOVE, "remove");
		unlink(node);
	} else {
		die("unknown command %s", argv[1]);
	}
	return 0;
}
