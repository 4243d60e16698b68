/* SPDX-License-Identifier: Apache-2.0 */
/* ember leases ls|create|rm|add|remove-resource */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int leases_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *l;
	size_t i;

	if (cli_call(cli, "io.ember.Leases.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "leases");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, l)
			puts(json_string_value(json_object_get(l, "name")));
	} else {
		static const char *const head[] = { "ID", "CREATED AT", "RESOURCES", "LABELS" };
		struct cli_table *t = cli_table_new(head, 4);
		json_array_foreach(list, i, l) {
			char n[24];
			snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(l, "resources")));
			_cleanup_free_ char *labels = cli_format_labels(json_object_get(l, "labels"));
			const char *row[] = { json_string_value(json_object_get(l, "name")),
					      json_string_value(json_object_get(l, "created_at")), n, labels };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

/* "30s", "10m", "2h", "7d" or plain seconds. */
static int parse_duration(const char *s, long long *out)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	if (end == s || n < 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	*out = n;
	return 0;
}

static int leases_create(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos, a->npos, &labels);

	if (r)
		return r;
	json_t *params = cli_with_namespace(cli, json_pack("{s:o}", "labels", labels));
	if (cli_arg(a, "id"))
		json_object_set_new(params, "id", json_string(cli_arg(a, "id")));
	if (cli_arg(a, "expires")) {
		long long secs;
		if (parse_duration(cli_arg(a, "expires"), &secs) < 0) {
			json_decref(params);
			return cli_usage_error("--expires wants a duration such as 30m, 2h or 7d");
		}
		json_object_set_new(params, "expire", json_integer(secs));
	}
	if (cli_call(cli, "io.ember.Leases.Create", params, &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(json_object_get(reply, "lease"));
	else
		puts(json_string_value(json_object_get(json_object_get(reply, "lease"), "name")));
	json_decref(reply);
	return CLI_OK;
}

static int leases_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Leases.Delete", cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[i])),
			     NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int change(struct cli *cli, const struct cli_args *a, const char *method)
{
	int failed = 0;

	for (int i = 1; i < a->npos; i++)
		if (cli_call(cli, method, cli_with_namespace(cli, json_pack("{s:s, s:s, s:s}", "id", a->pos[0], "type",
								   "content", "resource", a->pos[i])), NULL) < 0)
			failed = 1;
	return failed ? CLI_FAILED : CLI_OK;
}

static int leases_add(struct cli *cli, const struct cli_args *a)
{
	return change(cli, a, "io.ember.Leases.AddResource");
}

static int leases_release(struct cli *cli, const struct cli_args *a)
{
	return change(cli, a, "io.ember.Leases.DeleteResource");
}

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt create_opts[] = {
	{ "id", 0, "ID", "the lease's id (default: a random one)" },
	{ "expires", 0, "DURATION", "expire after this long (30m, 2h, 7d; default: never)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command leases_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list leases", .opts = ls_opts, .run = leases_ls,
};
static const struct cli_command leases_create_cmd = {
	.name = "create", .args = "[KEY=VALUE...]", .summary = "create a lease and print its id",
	.opts = create_opts, .max_args = -1, .run = leases_create,
};
static const struct cli_command leases_rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "ID...", .summary = "delete leases",
	.min_args = 1, .max_args = -1, .run = leases_rm,
};
static const struct cli_command leases_add_cmd = {
	.name = "add", .args = "ID DIGEST...", .summary = "hold blobs with a lease",
	.min_args = 2, .max_args = -1, .run = leases_add,
};
static const struct cli_command leases_release_cmd = {
	.name = "release", .args = "ID DIGEST...", .summary = "stop holding blobs",
	.min_args = 2, .max_args = -1, .run = leases_release,
};

static const struct cli_command *const leases_sub[] = {
	&leases_add_cmd, &leases_create_cmd, &leases_ls_cmd, &leases_release_cmd, &leases_rm_cmd, NULL,
};

const struct cli_command cli_cmd_leases = {
	.name = "leases",
	.aliases = "lease",
	.summary = "manage leases (holds on content against garbage collection)",
	.sub = leases_sub,
};
