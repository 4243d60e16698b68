/* SPDX-License-Identifier: Apache-2.0 */
/* ember system df */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static json_int_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void add_rows(struct cli_table *t, const char *ns, json_t *u)
{
	static const char *const types[] = { "images", "blobs", "snapshots", "containers", "logs" };
	static const char *const names[] = { "Images", "Blobs", "Snapshots", "Containers", "Logs" };

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		json_t *r = json_object_get(u, types[i]);
		char count[24], active[24] = "", size[16], shared[16] = "", excl[16] = "", recl[40] = "", pct[16];
		json_int_t bytes = num(r, "bytes");
		snprintf(count, sizeof(count), "%" JSON_INTEGER_FORMAT, num(r, "count"));
		if (!strcmp(types[i], "images"))
			snprintf(active, sizeof(active), "%" JSON_INTEGER_FORMAT, num(r, "in_use"));
		cli_format_size(bytes, size);
		/* Containers' layers and logs are theirs alone: no sharing, and
		   what frees them is deleting the container. */
		if (i < 3) {
			cli_format_size(num(r, "shared"), shared);
			cli_format_size(num(r, "exclusive"), excl);
			cli_format_size(num(r, "reclaimable"), recl);
			snprintf(pct, sizeof(pct), " (%d%%)", bytes ? (int)(num(r, "reclaimable") * 100 / bytes) : 0);
			strncat(recl, pct, sizeof(recl) - strlen(recl) - 1);
		}
		const char *row[] = { ns, names[i], count, active, size, shared, excl, recl };
		cli_table_add(t, row);
	}
}

static int df_run(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *n;
	size_t i;

	(void)a;
	json_t *params = cli->namespace_set ? json_pack("{s:s}", "namespace", cli->namespace) : json_object();
	if (cli_call(cli, "io.ember.System.DiskUsage", params, &reply) < 0)
		return CLI_FAILED;
	if (cli->json) {
		cli_print_json(reply);
		json_decref(reply);
		return CLI_OK;
	}
	static const char *const head[] = { "NAMESPACE", "TYPE", "COUNT", "IN USE", "SIZE", "SHARED", "EXCLUSIVE",
					    "RECLAIMABLE" };
	struct cli_table *t = cli_table_new(head, 8);
	json_t *nss = json_object_get(reply, "namespaces");
	json_array_foreach(nss, i, n)
		add_rows(t, json_string_value(json_object_get(n, "namespace")), n);
	if (!cli->namespace_set)
		add_rows(t, "(all)", json_object_get(reply, "total"));
	cli_table_print_free(t);

	char free_s[16], size_s[16];
	json_int_t free = num(reply, "free"), size = num(reply, "size");
	cli_format_size(free, free_s);
	cli_format_size(size, size_s);
	printf("\nFree: %s of %s (%d%%)", free_s, size_s, size ? (int)(free * 100 / size) : 0);
	json_t *pol = json_object_get(reply, "policy");
	if (json_object_get(pol, "free_low")) {
		char lo[16], hi[16];
		cli_format_size(num(pol, "free_low"), lo);
		cli_format_size(num(pol, "free_high"), hi);
		printf("; below %s free, unused images go until %s is", lo, hi);
	}
	if (num(pol, "keep"))
		printf("; %" JSON_INTEGER_FORMAT " image(s) kept per repository", num(pol, "keep"));
	putchar('\n');
	json_decref(reply);
	return CLI_OK;
}

const struct cli_command cli_cmd_system_df = {
	.name = "df",
	.summary = "show the space used by blobs, snapshots, containers and logs, per namespace",
	.help = CLI_HELP("Bytes are allocated bytes, as du counts them; each blob and snapshot tree once.\n"
			 "SHARED: needed by more than one image; EXCLUSIVE: by exactly one (what removing it frees);\n"
			 "RECLAIMABLE: by nothing (content gc frees it now); for images, what removing every image\n"
			 "that no container, lease or gc.root label holds would free.\n"
			 "All namespaces and their total, or only the one given with -n."),
	.run = df_run,
};
