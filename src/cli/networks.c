/* SPDX-License-Identifier: Apache-2.0 */
/* ember network ls|inspect|create|rm */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int net_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *n;
	size_t i;

	if (cli_call(cli, "io.ember.Networks.List", NULL, &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "networks");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, n)
			puts(json_string_value(json_object_get(n, "name")));
	} else {
		static const char *const head[] = { "NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS", "" };
		struct cli_table *t = cli_table_new(head, 6);
		json_array_foreach(list, i, n) {
			char count[24];
			snprintf(count, sizeof(count), "%lld", (long long)json_integer_value(json_object_get(n, "containers_count")));
			const char *row[] = { json_string_value(json_object_get(n, "name")),
					      json_string_value(json_object_get(n, "bridge")),
					      json_string_value(json_object_get(n, "subnet")),
					      json_string_value(json_object_get(n, "gateway")), count,
					      json_is_true(json_object_get(n, "internal")) ? "internal" : "" };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int net_inspect(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Networks.Inspect", json_pack("{s:s}", "name", a->pos[0]), &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "network"));
	json_decref(reply);
	return CLI_OK;
}

static int net_create(struct cli *cli, const struct cli_args *a)
{
	json_t *p = json_pack("{s:s}", "name", a->pos[0]), *reply;
	static const char *const strings[] = { "subnet", "gateway", "bridge" };

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (cli_arg(a, strings[i]))
			json_object_set_new(p, strings[i], json_string(cli_arg(a, strings[i])));
	if (cli_arg(a, "mtu")) {
		char *end;
		errno = 0;
		long long mtu = strtoll(cli_arg(a, "mtu"), &end, 10);
		if (*end || end == cli_arg(a, "mtu") || errno || mtu < 0) {
			json_decref(p);
			return cli_usage_error("--mtu: \"%s\" is not a number", cli_arg(a, "mtu"));
		}
		json_object_set_new(p, "mtu", json_integer(mtu));
	}
	if (cli_flag(a, "internal"))
		json_object_set_new(p, "internal", json_true());
	if (cli_call(cli, "io.ember.Networks.Create", p, &reply) < 0)
		return CLI_FAILED;
	json_t *n = json_object_get(reply, "network");
	if (cli->json)
		cli_print_json(n);
	else
		printf("%s: %s on %s, gateway %s\n", a->pos[0], json_string_value(json_object_get(n, "subnet")),
		       json_string_value(json_object_get(n, "bridge")), json_string_value(json_object_get(n, "gateway")));
	json_decref(reply);
	return CLI_OK;
}

static int net_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Networks.Remove", json_pack("{s:s}", "name", a->pos[i]), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the names" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt create_opts[] = {
	{ "subnet", 0, "CIDR", "IPv4 subnet, e.g. 10.1.2.0/24 (default: a free /24 of the pool)" },
	{ "gateway", 0, "IP", "the bridge's address (default: the subnet's first)" },
	{ "bridge", 0, "NAME", "bridge device (default: em-NAME, cut to 15 characters)" },
	{ "mtu", 0, "N", "MTU of the bridge and the containers' links" },
	{ "internal", 0, NULL, "no outbound NAT: containers reach each other and the host only" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command net_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list networks", .opts = ls_opts, .run = net_ls,
};
static const struct cli_command net_inspect_cmd = {
	.name = "inspect", .aliases = "info", .args = "NAME",
	.summary = "print a network and its containers' addresses as JSON", .min_args = 1, .max_args = 1,
	.run = net_inspect,
};
static const struct cli_command net_create_cmd = {
	.name = "create", .args = "NAME", .summary = "create a bridge network",
	.help = CLI_HELP("The bridge device is made when the first container starts on the network."),
	.opts = create_opts, .min_args = 1, .max_args = 1, .run = net_create,
};
static const struct cli_command net_rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "NAME...", .summary = "remove networks no container uses",
	.min_args = 1, .max_args = -1, .run = net_rm,
};

static const struct cli_command *const net_sub[] = {
	&net_create_cmd, &net_inspect_cmd, &net_ls_cmd, &net_rm_cmd, NULL,
};

const struct cli_command cli_cmd_networks = {
	.name = "network",
	.aliases = "networks net",
	.summary = "manage bridge networks",
	.help = CLI_HELP("Containers join one with --net bridge[:NAME] (run, containers create); \"bridge\"\n"
			 "(device ember0) is made on first use. An address is the container's from its\n"
			 "create to its delete."),
	.sub = net_sub,
};
