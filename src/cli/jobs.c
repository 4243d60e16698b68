/* SPDX-License-Identifier: Apache-2.0 */
/* ember jobs ls|cancel: the daemon's long work (imports, unpacks, GC, starts...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int jobs_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *j;
	size_t i;
	json_t *params = cli_with_namespace(cli, json_object());

	if (cli_flag(a, "all"))
		json_object_set_new(params, "all", json_true());
	if (cli_call(cli, "io.ember.Jobs.List", params, &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "jobs");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, j)
			printf("%lld\n", (long long)json_integer_value(json_object_get(j, "id")));
	} else {
		static const char *const head[] = { "ID", "KIND", "NAMESPACE", "WHAT", "STATE", "STARTED AT" };
		struct cli_table *t = cli_table_new(head, 6);
		json_array_foreach(list, i, j) {
			char id[24];
			snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(j, "id")));
			const char *row[] = { id, json_string_value(json_object_get(j, "kind")),
					      json_string_value(json_object_get(j, "namespace")),
					      json_string_value(json_object_get(j, "what")),
					      json_string_value(json_object_get(j, "state")),
					      json_string_value(json_object_get(j, "started_at")) };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int jobs_cancel(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		char *end;
		long long id = strtoll(a->pos[i], &end, 10);
		if (end == a->pos[i] || *end || id <= 0)
			return cli_usage_error("job ids are positive numbers (ember jobs ls), not \"%s\"", a->pos[i]);
		if (cli_call(cli, "io.ember.Jobs.Cancel", cli_with_namespace(cli, json_pack("{s:I}", "id", id)), NULL) < 0)
			failed = 1;
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ "all", 0, NULL, "the jobs of every namespace (and GC, which belongs to none)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command jobs_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list the jobs at work",
	.opts = ls_opts, .run = jobs_ls,
};
static const struct cli_command jobs_cancel_cmd = {
	.name = "cancel", .aliases = "rm", .args = "ID...", .summary = "cancel jobs",
	.help = CLI_HELP("A cancelled job stops at its next step and leaves the store as a failure\n"
			 "would: an import removes what it stored, no record is written. The call\n"
			 "that started it gets io.ember.Canceled."),
	.min_args = 1, .max_args = -1, .run = jobs_cancel,
};

static const struct cli_command *const jobs_sub[] = { &jobs_cancel_cmd, &jobs_ls_cmd, NULL };

const struct cli_command cli_cmd_jobs = {
	.name = "jobs",
	.summary = "the daemon's long work: imports, unpacks, GC, starts",
	.sub = jobs_sub,
};
