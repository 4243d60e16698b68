/* SPDX-License-Identifier: Apache-2.0 */
/* ember content ls|info|rm|label|active|abort|gc */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int content_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *b;
	size_t i;

	if (cli_call(cli, "io.ember.Content.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "blobs");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, b)
			puts(json_string_value(json_object_get(b, "digest")));
	} else {
		static const char *const head[] = { "DIGEST", "SIZE", "AGE", "LABELS" };
		struct cli_table *t = cli_table_new(head, 4);
		json_array_foreach(list, i, b) {
			char size[16];
			cli_format_size(json_integer_value(json_object_get(b, "size")), size);
			_cleanup_free_ char *labels = cli_format_labels(json_object_get(b, "labels"));
			const char *created = json_string_value(json_object_get(b, "created_at"));
			const char *row[] = { json_string_value(json_object_get(b, "digest")), size,
					      created ? created : "", labels };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int content_info(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Content.Info", cli_with_namespace(cli, json_pack("{s:s}", "digest", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "blob"));
	json_decref(reply);
	return CLI_OK;
}

static int content_get(struct cli *cli, const struct cli_args *a)
{
	const char *out = cli_arg(a, "output");
	int to_stdout = !out || !strcmp(out, "-");
	_cleanup_close_ int fd = to_stdout ? cli_tmp_file() : open(out, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "ember: content get: %s: %s\n", to_stdout ? "temporary file" : out, strerror(errno));
		return CLI_FAILED;
	}
	if (cli_connect(cli) < 0)
		return CLI_FAILED;
	ember_client_attach_fds(cli->client, &fd, 1);
	if (cli_call(cli, "io.ember.Content.Read", cli_with_namespace(cli, json_pack("{s:s}", "digest", a->pos[0])),
		     NULL) < 0)
		return CLI_FAILED;
	if (to_stdout && (lseek(fd, 0, SEEK_SET) < 0 || cli_copy_fd(fd, 1) < 0)) {
		fprintf(stderr, "ember: content get: write to standard output: %s\n", strerror(errno));
		return CLI_FAILED;
	}
	return CLI_OK;
}

static int content_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Content.Delete",
			     cli_with_namespace(cli, json_pack("{s:s}", "digest", a->pos[i])), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int content_label(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos + 1, a->npos - 1, &labels);

	if (r)
		return r;
	if (cli_call(cli, "io.ember.Content.SetLabels",
		     cli_with_namespace(cli, json_pack("{s:s, s:o, s:b}", "digest", a->pos[0], "labels", labels,
					      "replace", cli_flag(a, "replace") > 0)), &reply) < 0)
		return CLI_FAILED;
	json_t *l = json_object_get(json_object_get(reply, "blob"), "labels");
	cli_print_labels(cli, l);
	json_decref(reply);
	return CLI_OK;
}

static int content_active(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *g;
	size_t i;

	(void)a;
	if (cli_call(cli, "io.ember.Content.ListIngests", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "ingests");
	if (cli->json) {
		cli_print_json(list);
	} else {
		static const char *const head[] = { "KEY", "REF", "OFFSET", "SIZE" };
		struct cli_table *t = cli_table_new(head, 4);
		json_array_foreach(list, i, g) {
			char off[16], size[16];
			cli_format_size(json_integer_value(json_object_get(g, "offset")), off);
			cli_format_size(json_integer_value(json_object_get(g, "size")), size);
			const char *row[] = { json_string_value(json_object_get(g, "key")),
					      json_string_value(json_object_get(g, "ref")), off, size };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int content_abort(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Content.AbortIngest",
			     cli_with_namespace(cli, json_pack("{s:s}", "key", a->pos[i])), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static void print_removed(json_t *reply, int dry_run)
{
	const char *verb = dry_run ? "would remove" : "removed";
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(reply, "images"), i, x) {
		char frees[16];
		cli_format_size(json_integer_value(json_object_get(x, "frees")), frees);
		printf("%s image %s (namespace %s): %s, last used %s, frees %s\n", verb,
		       json_string_value(json_object_get(x, "name")), json_string_value(json_object_get(x, "namespace")),
		       !strcmp(json_string_value(json_object_get(x, "reason")) ?: "", "keep") ? "past gc.keep"
											      : "below gc.free_low",
		       json_string_value(json_object_get(x, "last_used")), frees);
	}
	if (!dry_run)
		return; /* the blobs and snapshots: --json lists them */
	json_array_foreach(json_object_get(reply, "blobs"), i, x) {
		char size[16];
		cli_format_size(json_integer_value(json_object_get(x, "size")), size);
		printf("%s blob %s (%s)\n", verb, json_string_value(json_object_get(x, "digest")), size);
	}
	json_array_foreach(json_object_get(reply, "snapshots"), i, x)
		printf("%s snapshot %s (%s, namespace %s)\n", verb, json_string_value(json_object_get(x, "key")),
		       json_string_value(json_object_get(x, "snapshotter")),
		       json_string_value(json_object_get(x, "namespace")));
}

static int content_gc(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;
	int dry_run = cli_flag(a, "dry-run") > 0;

	if (cli_call(cli, "io.ember.Content.GarbageCollect",
		     cli_with_namespace(cli, json_pack("{s:b, s:b}", "dry_run", dry_run, "policy",
						      cli_flag(a, "no-policy") == 0)),
		     &reply) < 0)
		return CLI_FAILED;
	if (cli->json) {
		cli_print_json(reply);
	} else {
		char size[16];
		print_removed(reply, dry_run);
		cli_format_size(json_integer_value(json_object_get(reply, "removed_bytes")), size);
		json_int_t snaps = json_integer_value(json_object_get(reply, "removed_snapshots"));
		json_int_t imgs = json_integer_value(json_object_get(reply, "removed_images"));
		printf("%s%s %" JSON_INTEGER_FORMAT " blob(s), %s; kept %" JSON_INTEGER_FORMAT,
		       dry_run ? "dry run: " : "", dry_run ? "would remove" : "removed",
		       json_integer_value(json_object_get(reply, "removed_blobs")), size,
		       json_integer_value(json_object_get(reply, "kept_blobs")));
		const char *verb = dry_run ? "would remove" : "removed";
		if (snaps)
			printf("; %s %" JSON_INTEGER_FORMAT " snapshot(s)", verb, snaps);
		if (imgs)
			printf("; %s %" JSON_INTEGER_FORMAT " image(s)", verb, imgs);
		putchar('\n');
	}
	const char *warning = json_string_value(json_object_get(reply, "warning"));
	if (warning)
		fprintf(stderr, "ember: warning: %s\n", warning);
	json_decref(reply);
	return CLI_OK;
}

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the digests" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt get_opts[] = {
	{ "output", 'o', "FILE", "write to FILE (default: standard output)" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt gc_opts[] = {
	{ "dry-run", 0, NULL, "remove nothing: list what would go (images, blobs, snapshots)" },
	{ "no-policy", 0, NULL, "collect only what nothing uses: no image goes, whatever [gc] says" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt label_opts[] = {
	{ "replace", 0, NULL, "make the given labels the only ones" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command content_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list blobs", .opts = ls_opts, .run = content_ls,
};
static const struct cli_command content_info_cmd = {
	.name = "info", .args = "DIGEST", .summary = "print a blob's record as JSON",
	.min_args = 1, .max_args = 1, .run = content_info,
};
static const struct cli_command content_get_cmd = {
	.name = "get", .args = "DIGEST", .summary = "write a blob's bytes out",
	.opts = get_opts, .min_args = 1, .max_args = 1, .run = content_get,
};
static const struct cli_command content_rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "DIGEST...",
	.summary = "delete blobs no image uses", .min_args = 1, .max_args = -1, .run = content_rm,
};
static const struct cli_command content_label_cmd = {
	.name = "label", .args = "DIGEST [KEY=VALUE...]", .summary = "set or clear labels of a blob",
	.help = CLI_HELP("ember.io/gc.root=1 (or containerd.io/gc.root) keeps a blob from garbage collection."),
	.opts = label_opts, .min_args = 1, .max_args = -1, .run = content_label,
};
static const struct cli_command content_active_cmd = {
	.name = "active", .aliases = "ingests", .summary = "list partial downloads",
	.run = content_active,
};
static const struct cli_command content_abort_cmd = {
	.name = "abort", .args = "KEY...", .summary = "delete partial downloads",
	.min_args = 1, .max_args = -1, .run = content_abort,
};
static const struct cli_command content_gc_cmd = {
	.name = "gc", .aliases = "prune", .summary = "apply the [gc] image policy, then delete what no image uses",
	.help = CLI_HELP("The [gc] section of the daemon's config.toml removes images past gc.keep per repository,\n"
			 "and unused images, oldest used first, while free space is below gc.free_low (until\n"
			 "gc.free_high is free). Never an image a container, lease or gc.root label holds."),
	.opts = gc_opts, .run = content_gc,
};

static const struct cli_command *const content_sub[] = {
	&content_abort_cmd, &content_active_cmd, &cli_cmd_content_fetch, &content_gc_cmd, &content_get_cmd,
	&content_info_cmd,
	&content_label_cmd, &content_ls_cmd, &content_rm_cmd, NULL,
};

const struct cli_command cli_cmd_content = {
	.name = "content",
	.summary = "manage the content store",
	.sub = content_sub,
};
