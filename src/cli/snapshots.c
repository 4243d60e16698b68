/* SPDX-License-Identifier: Apache-2.0 */
/* ember snapshots ls|info|prepare|view|commit|rm|mounts|usage|tree|label,
   ember images mount|unmount */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/mount.h"

/* {"namespace", "snapshotter"} from -n and --snapshotter, plus more. */
static json_t *snap_params(const struct cli *cli, const struct cli_args *a, json_t *params)
{
	const char *sn = cli_arg(a, "snapshotter");

	if (params && sn)
		json_object_set_new(params, "snapshotter", json_string(sn));
	return cli_with_namespace(cli, params);
}

static int print_mounts(json_t *mounts, const char *target)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		_cleanup_free_ char *line = mount_command(m, target);
		if (line)
			puts(line);
	}
	return CLI_OK;
}

static int snapshots_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *s;
	size_t i;

	if (cli_call(cli, "io.ember.Snapshots.List", snap_params(cli, a, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "snapshots");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, s)
			puts(json_string_value(json_object_get(s, "key")));
	} else {
		static const char *const head[] = { "KEY", "PARENT", "KIND" };
		struct cli_table *t = cli_table_new(head, 3);
		json_array_foreach(list, i, s) {
			const char *row[] = { json_string_value(json_object_get(s, "key")),
					      json_string_value(json_object_get(s, "parent")) ?: "",
					      json_string_value(json_object_get(s, "kind")) };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int snapshots_info(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Snapshots.Info", snap_params(cli, a, json_pack("{s:s}", "key", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "snapshot"));
	json_decref(reply);
	return CLI_OK;
}

static int prepare_or_view(struct cli *cli, const struct cli_args *a, const char *method)
{
	json_t *reply;
	json_t *params = json_pack("{s:s}", "key", a->pos[0]);

	if (a->npos > 1)
		json_object_set_new(params, "parent", json_string(a->pos[1]));
	if (cli_call(cli, method, snap_params(cli, a, params), &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(reply);
	else if (cli_flag(a, "mounts"))
		print_mounts(json_object_get(reply, "mounts"), cli_arg(a, "target") ?: "/tmp/target");
	json_decref(reply);
	return CLI_OK;
}

static int snapshots_prepare(struct cli *cli, const struct cli_args *a)
{
	return prepare_or_view(cli, a, "io.ember.Snapshots.Prepare");
}

static int snapshots_view(struct cli *cli, const struct cli_args *a)
{
	return prepare_or_view(cli, a, "io.ember.Snapshots.View");
}

static int snapshots_commit(struct cli *cli, const struct cli_args *a)
{
	if (cli_call(cli, "io.ember.Snapshots.Commit",
		     snap_params(cli, a, json_pack("{s:s, s:s}", "name", a->pos[0], "key", a->pos[1])), NULL) < 0)
		return CLI_FAILED;
	return CLI_OK;
}

static int snapshots_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Snapshots.Remove", snap_params(cli, a, json_pack("{s:s}", "key", a->pos[i])),
			     NULL) < 0)
			failed = 1;
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int snapshots_mounts(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Snapshots.Mounts", snap_params(cli, a, json_pack("{s:s}", "key", a->pos[1])),
		     &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(json_object_get(reply, "mounts"));
	else
		print_mounts(json_object_get(reply, "mounts"), a->pos[0]);
	json_decref(reply);
	return CLI_OK;
}

static int snapshots_usage(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *u;
	size_t i;
	json_t *params = json_object();

	if (a->npos)
		json_object_set_new(params, "key", json_string(a->pos[0]));
	if (cli_call(cli, "io.ember.Snapshots.Usage", snap_params(cli, a, params), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "usage");
	if (cli->json) {
		cli_print_json(list);
	} else {
		static const char *const head[] = { "KEY", "SIZE", "INODES" };
		struct cli_table *t = cli_table_new(head, 3);
		json_array_foreach(list, i, u) {
			char size[16], inodes[24];
			cli_format_size(json_integer_value(json_object_get(u, "size")), size);
			snprintf(inodes, sizeof(inodes), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(u, "inodes")));
			const char *row[] = { json_string_value(json_object_get(u, "key")), size, inodes };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static void print_tree(json_t *list, const char *parent, int depth)
{
	size_t i;
	json_t *s;

	if (depth > 512)
		return;
	json_array_foreach(list, i, s) {
		const char *p = json_string_value(json_object_get(s, "parent"));
		if ((parent == NULL) != (p == NULL) || (parent && strcmp(parent, p)))
			continue;
		const char *key = json_string_value(json_object_get(s, "key"));
		const char *kind = json_string_value(json_object_get(s, "kind"));
		printf("%*s%s%s%s%s\n", depth * 2, "", depth ? "\\_ " : "", key, strcmp(kind, "committed") ? " " : "",
		       strcmp(kind, "committed") ? kind : "");
		print_tree(list, key, depth + 1);
	}
}

static int snapshots_tree(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Snapshots.List", snap_params(cli, a, json_object()), &reply) < 0)
		return CLI_FAILED;
	print_tree(json_object_get(reply, "snapshots"), NULL, 0);
	json_decref(reply);
	return CLI_OK;
}

static int snapshots_label(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos + 1, a->npos - 1, &labels);

	if (r)
		return r;
	if (cli_call(cli, "io.ember.Snapshots.SetLabels",
		     snap_params(cli, a, json_pack("{s:s, s:o}", "key", a->pos[0], "labels", labels)), &reply) < 0)
		return CLI_FAILED;
	json_t *l = json_object_get(json_object_get(reply, "snapshot"), "labels");
	cli_print_labels(cli, l);
	json_decref(reply);
	return CLI_OK;
}

static const struct cli_opt sn_opts[] = {
	{ "snapshotter", 0, "NAME", "overlay, native or btrfs (default: the daemon's)" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt ls_opts[] = {
	{ "snapshotter", 0, "NAME", "overlay, native or btrfs (default: the daemon's)" },
	{ "quiet", 'q', NULL, "print only the keys" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt prepare_opts[] = {
	{ "snapshotter", 0, "NAME", "overlay, native or btrfs (default: the daemon's)" },
	{ "target", 0, "DIR", "where --mounts mounts it (default /tmp/target)" },
	{ "mounts", 0, NULL, "print the mount commands" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list snapshots", .opts = ls_opts, .run = snapshots_ls,
};
static const struct cli_command info_cmd = {
	.name = "info", .args = "KEY", .summary = "print a snapshot record as JSON", .opts = sn_opts,
	.min_args = 1, .max_args = 1, .run = snapshots_info,
};
static const struct cli_command prepare_cmd = {
	.name = "prepare", .args = "KEY [PARENT]", .summary = "make a writable snapshot on a committed one",
	.opts = prepare_opts, .min_args = 1, .max_args = 2, .run = snapshots_prepare,
};
static const struct cli_command view_cmd = {
	.name = "view", .args = "KEY PARENT", .summary = "make a read-only view of a committed snapshot",
	.opts = prepare_opts, .min_args = 2, .max_args = 2, .run = snapshots_view,
};
static const struct cli_command commit_cmd = {
	.name = "commit", .args = "NAME KEY", .summary = "commit the active snapshot KEY as NAME",
	.help = CLI_HELP("The tree is synced to disk before the committed record is written."),
	.opts = sn_opts, .min_args = 2, .max_args = 2, .run = snapshots_commit,
};
static const struct cli_command rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "KEY...", .summary = "remove snapshots",
	.help = CLI_HELP("A snapshot that is another's parent is refused: remove the children first."),
	.opts = sn_opts, .min_args = 1, .max_args = -1, .run = snapshots_rm,
};
static const struct cli_command mounts_cmd = {
	.name = "mounts", .aliases = "m", .args = "TARGET KEY", .summary = "print the mount commands of a snapshot",
	.opts = sn_opts, .min_args = 2, .max_args = 2, .run = snapshots_mounts,
};
static const struct cli_command usage_cmd = {
	.name = "usage", .args = "[KEY]", .summary = "disk usage of snapshots (each one's own tree)",
	.opts = sn_opts, .min_args = 0, .max_args = 1, .run = snapshots_usage,
};
static const struct cli_command tree_cmd = {
	.name = "tree", .summary = "print snapshots as a tree of parents and children",
	.opts = sn_opts, .run = snapshots_tree,
};
static const struct cli_command label_cmd = {
	.name = "label", .args = "KEY [LABEL=VALUE...]", .summary = "set labels (an empty value removes one)",
	.opts = sn_opts, .min_args = 1, .max_args = -1, .run = snapshots_label,
};

static const struct cli_command *const snapshots_sub[] = {
	&commit_cmd, &info_cmd, &label_cmd, &ls_cmd, &mounts_cmd, &prepare_cmd, &rm_cmd, &tree_cmd, &usage_cmd, &view_cmd,
	NULL,
};

const struct cli_command cli_cmd_snapshots = {
	.name = "snapshots",
	.aliases = "snapshot",
	.summary = "manage snapshots (unpacked layers, container root file systems)",
	.opts = sn_opts, /* `ember snapshots --snapshotter native ls`, as with ctr */
	.sub = snapshots_sub,
};

/* ---- images mount / unmount ----------------------------------------------------- */

/* The key of the snapshot behind a mount point: its absolute path. */
static int mount_key(const char *dir, char key[PATH_MAX])
{
	if (!realpath(dir, key)) {
		fprintf(stderr, "ember: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The directory at an absolute path that has no symlink in it (realpath()
   made it so): opened without following any, should one appear. */
static int open_resolved(const char *path)
{
	struct {
		uint64_t flags, mode, resolve;
	} how = { O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0, 0x04 /* RESOLVE_NO_SYMLINKS */ };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static int images_mount(struct cli *cli, const struct cli_args *a)
{
	char key[PATH_MAX];
	json_t *reply;
	struct ember_error e;

	if (mount_key(a->pos[1], key) < 0)
		return CLI_FAILED;
	/* Held open from now on, the resolved path not followed again: the
	   mount goes where the key says, whatever DIR becomes meanwhile. */
	_cleanup_close_ int dir = open_resolved(key);
	if (dir < 0) {
		fprintf(stderr, "ember: %s: %s\n", a->pos[1], strerror(errno));
		return CLI_FAILED;
	}
	json_t *params = json_pack("{s:s, s:s}", "key", key, "image", a->pos[0]);
	if (cli_arg(a, "platform"))
		json_object_set_new(params, "platform", json_string(cli_arg(a, "platform")));
	int rw = cli_flag(a, "rw") > 0;
	if (cli_call(cli, rw ? "io.ember.Snapshots.Prepare" : "io.ember.Snapshots.View", snap_params(cli, a, params),
		     &reply) < 0)
		return CLI_FAILED;
	if (mount_apply(json_object_get(reply, "mounts"), dir, key, &e) < 0) {
		cli_error(cli, &e);
		json_decref(reply);
		(void)cli_call(cli, "io.ember.Snapshots.Remove", snap_params(cli, a, json_pack("{s:s}", "key", key)), NULL);
		return CLI_FAILED;
	}
	json_decref(reply);
	puts(key);
	return CLI_OK;
}

static int images_unmount(struct cli *cli, const struct cli_args *a)
{
	char key[PATH_MAX];

	if (mount_key(a->pos[0], key) < 0)
		return CLI_FAILED;
	if (umount2(key, 0) < 0) {
		fprintf(stderr, "ember: unmount %s: %s\n", key, strerror(errno));
		return CLI_FAILED;
	}
	if (cli_flag(a, "keep"))
		return CLI_OK;
	/* The snapshotter it came from: the one named, else whichever has it. */
	static const char *const names[] = { "overlay", "native", "btrfs" };
	const char *given = cli_arg(a, "snapshotter");
	struct ember_error e = { 0 }, first = { 0 };
	for (size_t i = 0; i < (given ? 1 : sizeof(names) / sizeof(names[0])); i++) {
		json_t *params = cli_with_namespace(cli, json_pack("{s:s, s:s}", "key", key, "snapshotter",
								   given ? given : names[i]));
		_cleanup_free_ char *text = json_dumps(params, JSON_COMPACT);
		_cleanup_free_ char *answer = NULL;
		json_decref(params);
		if (cli_connect(cli) < 0)
			return CLI_FAILED;
		if (ember_call(cli->client, "io.ember.Snapshots.Remove", text, &answer, &e) == 0)
			return CLI_OK;
		/* A snapshotter the store cannot hold (btrfs elsewhere) has none. */
		if (!given && !strcmp(e.name, EMBER_ERROR_UNAVAILABLE))
			continue;
		if (strcmp(e.name, EMBER_ERROR_NOT_FOUND))
			break;
		if (!first.name[0])
			first = e;
	}
	cli_error(cli, first.name[0] && !strcmp(e.name, EMBER_ERROR_UNAVAILABLE) ? &first : &e);
	return CLI_FAILED;
}

static const struct cli_opt mount_opts[] = {
	{ "snapshotter", 0, "NAME", "overlay, native or btrfs (default: the daemon's)" },
	{ "platform", 0, "OS/ARCH[/VARIANT]", "of an index, this platform (default: this machine's)" },
	{ "rw", 0, NULL, "a writable snapshot instead of a read-only view" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt unmount_opts[] = {
	{ "snapshotter", 0, "NAME", "where the snapshot is (default: any)" },
	{ "keep", 0, NULL, "keep the snapshot (default: remove it)" },
	{ "rm", 0, NULL, "remove the snapshot (the default; ctr's flag)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_images_mount = {
	.name = "mount", .args = "REF DIR", .summary = "mount an unpacked image's file system at DIR",
	.help = CLI_HELP("A read-only view (writable with --rw) on the image's top layer, keyed by\n"
			 "DIR's absolute path. `ember images unmount DIR` removes it again."),
	.opts = mount_opts, .min_args = 2, .max_args = 2, .run = images_mount,
};
const struct cli_command cli_cmd_images_unmount = {
	.name = "unmount", .aliases = "umount", .args = "DIR", .summary = "unmount an image and remove its snapshot",
	.opts = unmount_opts, .min_args = 1, .max_args = 1, .run = images_unmount,
};
