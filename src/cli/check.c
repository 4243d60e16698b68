/* SPDX-License-Identifier: Apache-2.0 */
/* ember system check */
#include <stdio.h>

#include "cli/cli.h"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static int check_run(struct cli *cli, const struct cli_args *a)
{
	json_t *params = json_pack("{s:b, s:b}", "verify", cli_flag(a, "verify") > 0, "repair", cli_flag(a, "repair") > 0);
	json_t *reply, *p;
	size_t i, left = 0;

	if (cli_call(cli, "io.ember.System.Check", params, &reply) < 0)
		return CLI_FAILED;
	json_t *problems = json_object_get(reply, "problems");
	json_array_foreach(problems, i, p)
		left += !json_is_true(json_object_get(p, "repaired"));
	if (cli->json) {
		cli_print_json(reply);
	} else {
		json_array_foreach(problems, i, p)
			printf("%s %s/%s: %s\n", str(p, "kind"), str(p, "namespace"), str(p, "name"), str(p, "problem"));
		json_t *c = json_object_get(reply, "checked");
		printf("checked %lld record(s) in %lld namespace(s), %lld image(s), %lld container(s), %lld snapshot(s)",
		       num(c, "records"), num(c, "namespaces"), num(c, "images"), num(c, "containers"),
		       num(c, "snapshots"));
		if (cli_flag(a, "verify"))
			printf(", %lld blob(s) hashed", num(c, "blobs_verified"));
		printf(" in %lld ms: %zu problem(s)", num(reply, "elapsed_ms"), json_array_size(problems));
		if (json_array_size(problems) > left)
			printf(", %zu repaired", json_array_size(problems) - left);
		printf("\n");
	}
	json_decref(reply);
	return left ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt check_opts[] = {
	{ "verify", 0, NULL, "hash every blob again (reads the whole store)" },
	{ "repair", 0, NULL, "move damaged records aside, remove corrupt blobs, label incomplete images" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_system_check = {
	.name = "check", .summary = "check the store's records against what it holds",
	.help = CLI_HELP("Finds records that do not parse, images that miss a blob (or with --verify hold\n"
			 "one whose bytes no longer hash to its digest), containers without their\n"
			 "snapshot and snapshots without their parent. The daemon runs the same at\n"
			 "start-up and logs what it finds. --repair moves damaged records aside\n"
			 "(<file>.damaged), removes corrupt blobs and labels images that miss a blob\n"
			 "ember.io/incomplete: pulling or importing them again fetches what is missing.\n"
			 "Nothing a record references is deleted but a corrupt blob. Exit status 1 when a\n"
			 "problem is left unrepaired."),
	.opts = check_opts, .run = check_run,
};
