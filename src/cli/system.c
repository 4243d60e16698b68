/* SPDX-License-Identifier: Apache-2.0 */
/* ember info */
#include <stdio.h>

#include "cli/cli.h"

static json_int_t get_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *get_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int info_run(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *v;
	size_t i;

	(void)a;
	if (cli_call(cli, "io.ember.System.Info", NULL, &reply) < 0)
		return CLI_FAILED;
	if (cli->json) {
		cli_print_json(reply);
		json_decref(reply);
		return CLI_OK;
	}
	json_t *counts = json_object_get(reply, "counts");
	printf("Server:\n");
	printf("  Version:     %s (%s)\n", get_str(reply, "version"), get_str(reply, "revision"));
	printf("  Root:        %s\n", get_str(reply, "root"));
	printf("  State:       %s\n", get_str(reply, "state"));
	printf("  Address:     %s\n", get_str(reply, "address"));
	printf("  PID:         %lld\n", (long long)get_int(reply, "pid"));
	printf("  Started:     %s (up %llds)\n", get_str(reply, "started"), (long long)get_int(reply, "uptime"));
	printf("  Features:   ");
	json_array_foreach(json_object_get(reply, "features"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n  Namespaces:  %lld\n  Images:      %lld\n  Containers:  %lld\n  Connections: %lld\n",
	       (long long)get_int(counts, "namespaces"), (long long)get_int(counts, "images"),
	       (long long)get_int(counts, "containers"), (long long)get_int(counts, "connections"));
	json_decref(reply);
	return CLI_OK;
}

const struct cli_command cli_cmd_info = {
	.name = "info",
	.summary = "show the daemon's version, paths, features and counts",
	.run = info_run,
};

static const struct cli_command *const system_sub[] = {
#ifdef CONFIG_CLI_IMAGES
	&cli_cmd_system_check,
	&cli_cmd_system_df,
#endif
	&cli_cmd_info,
	NULL,
};

const struct cli_command cli_cmd_system = {
	.name = "system",
	.summary = "the daemon and its store: check, df, info",
	.sub = system_sub,
};
