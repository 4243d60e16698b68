/* SPDX-License-Identifier: Apache-2.0 */
/* ember namespaces ls|create|rm|label|info */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int ns_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *ns;
	size_t i;

	if (cli_call(cli, "io.ember.Namespaces.List", NULL, &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "namespaces");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, ns)
			puts(json_string_value(json_object_get(ns, "name")));
	} else {
		static const char *const head[] = { "NAME", "LABELS" };
		struct cli_table *t = cli_table_new(head, 2);
		json_array_foreach(list, i, ns) {
			_cleanup_free_ char *labels = cli_format_labels(json_object_get(ns, "labels"));
			const char *row[] = { json_string_value(json_object_get(ns, "name")), labels };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int ns_create(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos + 1, a->npos - 1, &labels);

	if (r)
		return r;
	if (cli_call(cli, "io.ember.Namespaces.Create",
		     json_pack("{s:s, s:o}", "name", a->pos[0], "labels", labels), &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(json_object_get(reply, "namespace"));
	json_decref(reply);
	return CLI_OK;
}

static int ns_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	/* Like ctr: remove each, print the names removed, report the rest. */
	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Namespaces.Delete", json_pack("{s:s}", "name", a->pos[i]),
			     NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int ns_label(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos + 1, a->npos - 1, &labels);

	if (r)
		return r;
	if (a->npos == 1 && !cli_flag(a, "replace")) {
		/* No labels given: show the current ones. */
		json_decref(labels);
		r = cli_call(cli, "io.ember.Namespaces.Get", json_pack("{s:s}", "name", a->pos[0]), &reply);
	} else {
		r = cli_call(cli, "io.ember.Namespaces.SetLabels",
			     json_pack("{s:s, s:o, s:b}", "name", a->pos[0], "labels", labels, "replace",
				       cli_flag(a, "replace") > 0), &reply);
	}
	if (r < 0)
		return CLI_FAILED;
	json_t *ns_labels = json_object_get(json_object_get(reply, "namespace"), "labels");
	cli_print_labels(cli, ns_labels);
	json_decref(reply);
	return CLI_OK;
}

static int ns_info(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Namespaces.Get", json_pack("{s:s}", "name", a->pos[0]), &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "namespace"));
	json_decref(reply);
	return CLI_OK;
}

/* Flags to labels (verify.h's), then the policy as pulls apply it. */
static int ns_verify(struct cli *cli, const struct cli_args *a)
{
	json_t *labels = json_object(), *reply;

	for (int i = 0; i < a->nopts; i++) {
		const char *opt = a->opts[i].opt->name, *v = a->opts[i].value;
		char label[128];
		if (!strcmp(opt, "require") || !strcmp(opt, "none")) {
			json_object_set_new(labels, "ember.io/verify", json_string(!strcmp(opt, "require") ? "require" : ""));
			continue;
		}
		if (strcmp(opt, "key") && strcmp(opt, "remove-key"))
			continue; /* a global option (--address) */
		const char *eq = v ? strchr(v, '=') : NULL;
		if (!strcmp(opt, "key") && (!eq || eq == v)) {
			json_decref(labels);
			return cli_usage_error("--key wants NAME=FILE.pem");
		}
		if (!strcmp(opt, "remove-key"))
			eq = NULL;
		snprintf(label, sizeof(label), "ember.io/verify.key.%.*s", (int)(eq ? eq - v : (long)strlen(v)), v);
		char *pem = NULL;
		if (eq && cli_read_text(eq + 1, 16384, &pem)) {
			json_decref(labels);
			return CLI_FAILED;
		}
		json_object_set_new(labels, label, json_string(pem ? pem : ""));
		free(pem);
	}
	if (json_object_size(labels)) {
		if (cli_call(cli, "io.ember.Namespaces.SetLabels",
			     json_pack("{s:s, s:O}", "name", a->pos[0], "labels", labels), &reply) < 0) {
			json_decref(labels);
			return CLI_FAILED;
		}
		json_decref(reply);
	}
	json_decref(labels);
	if (cli_call(cli, "io.ember.Namespaces.GetVerification", json_pack("{s:s}", "name", a->pos[0]), &reply) < 0)
		return CLI_FAILED;
	json_t *v = json_object_get(reply, "verification"), *k;
	size_t i;
	if (cli->json) {
		cli_print_json(v);
	} else {
		printf("policy: %s\n", json_string_value(json_object_get(v, "policy")));
		json_array_foreach(json_object_get(v, "keys"), i, k)
			printf("key: %s %s %s (%s)\n", json_string_value(json_object_get(k, "name")),
			       json_string_value(json_object_get(k, "type")),
			       json_string_value(json_object_get(k, "fingerprint")),
			       json_string_value(json_object_get(k, "source")));
	}
	json_decref(reply);
	return CLI_OK;
}

static const struct cli_opt verify_opts[] = {
	{ "require", 0, NULL, "require signed images (label ember.io/verify=require)" },
	{ "none", 0, NULL, "remove that label (the config's policy stays)" },
	{ "key", 0, "NAME=FILE.pem", "trust this public key (label ember.io/verify.key.NAME)" },
	{ "remove-key", 0, "NAME", "remove a key that a label added" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the names" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt label_opts[] = {
	{ "replace", 0, NULL, "make the given labels the only ones" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command ns_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list namespaces",
	.opts = ls_opts, .run = ns_ls,
};
static const struct cli_command ns_create_cmd = {
	.name = "create", .args = "NAME [KEY=VALUE...]", .summary = "create a namespace with labels",
	.help = CLI_HELP("Names are letters and digits joined by single '.', '_' or '-', at most 76 characters."),
	.min_args = 1, .max_args = -1, .run = ns_create,
};
static const struct cli_command ns_rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "NAME...",
	.summary = "remove empty namespaces",
	.help = CLI_HELP("A namespace that still holds images, containers or leases is not removed."),
	.min_args = 1, .max_args = -1, .run = ns_rm,
};
static const struct cli_command ns_label_cmd = {
	.name = "label", .args = "NAME [KEY=VALUE...]", .summary = "set or clear labels of a namespace",
	.help = CLI_HELP("KEY=VALUE sets a label, KEY= removes it; the others stay unless --replace.\n"
			 "Without labels, prints the namespace's labels."),
	.opts = label_opts, .min_args = 1, .max_args = -1, .run = ns_label,
};
static const struct cli_command ns_info_cmd = {
	.name = "info", .aliases = "inspect", .args = "NAME", .summary = "print a namespace as JSON",
	.min_args = 1, .max_args = 1, .run = ns_info,
};

static const struct cli_command ns_verify_cmd = {
	.name = "verify", .args = "NAME", .summary = "show or tighten a namespace's signature policy",
	.help = CLI_HELP("Pulls into a namespace whose policy is \"require\" take only images with a\n"
			 "cosign signature that one of its keys verifies. The policy comes from\n"
			 "config.toml ([verify], [verify.namespaces.NAME]) and the namespace's labels,\n"
			 "which these flags set; labels only add (a key, or \"require\")."),
	.opts = verify_opts, .min_args = 1, .max_args = 1, .run = ns_verify,
};

static const struct cli_command *const ns_sub[] = {
	&ns_create_cmd, &ns_info_cmd, &ns_label_cmd, &ns_ls_cmd, &ns_rm_cmd, &ns_verify_cmd, NULL,
};

const struct cli_command cli_cmd_namespaces = {
	.name = "namespaces",
	.aliases = "namespace ns",
	.summary = "manage namespaces",
	.help = CLI_HELP("Namespaces keep the images, containers and leases of different users of one\n"
			 "daemon apart. Other commands act in the namespace given by -n."),
	.sub = ns_sub,
};
