/* SPDX-License-Identifier: Apache-2.0 */
/* ember revisions stage|ls|show|rm */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int revisions_stage(struct cli *cli, const struct cli_args *a)
{
	const char *path = a->pos[0];
	json_error_t je;
	json_t *doc, *reply;

	/* Duplicate keys are refused here: the API's JSON reader keeps the last. */
	doc = !strcmp(path, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
				 : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		fprintf(stderr, "ember: revision %s: %s (line %d)\n", strcmp(path, "-") ? path : "(stdin)", je.text,
			je.line);
		return CLI_FAILED;
	}
	if (cli_call(cli, "io.ember.Revisions.Stage", cli_with_namespace(cli, json_pack("{s:o}", "document", doc)),
		     &reply) < 0)
		return CLI_FAILED;
	json_t *rev = json_object_get(reply, "revision");
	if (cli->json)
		cli_print_json(rev);
	else
		printf("%s: %s (%zu container(s))\n", json_string_value(json_object_get(rev, "name")),
		       json_string_value(json_object_get(rev, "state")),
		       json_array_size(json_object_get(json_object_get(rev, "document"), "containers")));
	json_decref(reply);
	return CLI_OK;
}

static int revisions_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *r;
	size_t i;

	if (cli_call(cli, "io.ember.Revisions.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "revisions");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, r)
			puts(json_string_value(json_object_get(r, "name")));
	} else {
		static const char *const head[] = { "ID", "STATE", "CONTAINERS", "CREATED AT" };
		struct cli_table *t = cli_table_new(head, 4);
		json_array_foreach(list, i, r) {
			char n[24];
			snprintf(n, sizeof(n), "%zu",
				 json_array_size(json_object_get(json_object_get(r, "document"), "containers")));
			const char *row[] = { json_string_value(json_object_get(r, "name")),
					      json_string_value(json_object_get(r, "state")), n,
					      json_string_value(json_object_get(r, "created_at")) };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int revisions_show(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Revisions.Get", cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "revision"));
	json_decref(reply);
	return CLI_OK;
}

static int revisions_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Revisions.Remove",
			     cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[i])), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command stage_cmd = {
	.name = "stage", .args = "FILE", .summary = "check a revision document (- reads stdin), pin its images",
	.min_args = 1, .max_args = 1, .run = revisions_stage,
};
static const struct cli_command ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list revisions", .opts = ls_opts, .run = revisions_ls,
};
static const struct cli_command show_cmd = {
	.name = "show", .aliases = "info inspect", .args = "ID", .summary = "print a revision's record",
	.min_args = 1, .max_args = 1, .run = revisions_show,
};
static const struct cli_command rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "ID...", .summary = "remove staged revisions",
	.min_args = 1, .max_args = -1, .run = revisions_rm,
};

static const struct cli_command *const revisions_sub[] = { &ls_cmd, &rm_cmd, &show_cmd, &stage_cmd, NULL };

const struct cli_command cli_cmd_revisions = {
	.name = "revisions",
	.aliases = "revision",
	.summary = "stage revisions: the whole set of a namespace's containers, for OTA agents",
	.sub = revisions_sub,
};
