/* SPDX-License-Identifier: Apache-2.0 */
/* ember containers create|ls|info|rm|label, and the flags run shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/size.h"

#define FILE_MAX (1u << 20)

static int read_json_file(const char *what, const char *path, json_t **out)
{
	json_error_t je;
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!*out) {
		fprintf(stderr, "ember: %s %s: %s (line %d)\n", what, path, je.text, je.line);
		return -1;
	}
	if (!json_is_object(*out)) {
		fprintf(stderr, "ember: %s %s: not a JSON object\n", what, path);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int env_file(const char *path, json_t *env)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	int n = 0;

	if (!f) {
		fprintf(stderr, "ember: env-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		n++;
		size_t len = strcspn(line, "\r\n");
		line[len] = '\0';
		const char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		if (!strchr(p, '=') || *p == '=') {
			fprintf(stderr, "ember: env-file %s:%d: not KEY=VALUE\n", path, n);
			fclose(f);
			return -1;
		}
		json_array_append_new(env, json_string(p));
	}
	fclose(f);
	return 0;
}

/* Every value of a repeatable option, as an array of strings. */
static json_t *all_values(const struct cli_args *a, const char *name)
{
	json_t *arr = NULL;
	for (int i = 0; i < a->nopts; i++) {
		if (strcmp(a->opts[i].opt->name, name))
			continue;
		if (!arr)
			arr = json_array();
		json_array_append_new(arr, json_string(a->opts[i].value));
	}
	return arr;
}

int cli_container_params(const struct cli *cli, const struct cli_args *a, int first, json_t **out)
{
	const char *rootfs = cli_arg(a, "rootfs");
	int need = rootfs ? 1 : 2;
	json_t *p = json_object(), *o = json_object(), *v;

	*out = NULL;
	if (a->npos - first < need) {
		json_decref(p);
		json_decref(o);
		return cli_usage_error(rootfs ? "give the container's ID" : "give an image REF and the container's ID");
	}
	const char *id = a->pos[first + need - 1];
	json_object_set_new(p, "id", json_string(id));
	if (rootfs)
		json_object_set_new(p, "rootfs", json_string(rootfs));
	else
		json_object_set_new(p, "image", json_string(a->pos[first]));
	if (a->npos > first + need) {
		json_t *args = json_array();
		for (int i = first + need; i < a->npos; i++)
			json_array_append_new(args, json_string(a->pos[i]));
		json_object_set_new(o, "args", args);
	}
	static const struct {
		const char *flag, *key;
	} strings[] = { { "cwd", "cwd" }, { "user", "user" }, { "hostname", "hostname" }, { "net", "net" } };
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (cli_arg(a, strings[i].flag))
			json_object_set_new(o, strings[i].key, json_string(cli_arg(a, strings[i].flag)));
	static const struct {
		const char *flag, *key;
	} flags[] = { { "net-host", "net_host" }, { "privileged", "privileged" }, { "read-only", "read_only" },
		      { "tty", "terminal" } };
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (cli_flag(a, flags[i].flag))
			json_object_set_new(o, flags[i].key, json_true());
	static const struct {
		const char *flag, *key;
	} lists[] = { { "cap-add", "cap_add" }, { "cap-drop", "cap_drop" }, { "mount", "mounts" },
		      { "uidmap", "uid_map" },   { "gidmap", "gid_map" }, { "publish", "publish" },
		      { "dns", "dns" },          { "add-host", "add_host" } };
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if ((v = all_values(a, lists[i].flag)))
			json_object_set_new(o, lists[i].key, v);
	json_t *env = all_values(a, "env");
	if (cli_arg(a, "env-file")) {
		if (!env)
			env = json_array();
		if (env_file(cli_arg(a, "env-file"), env) < 0)
			goto fail;
	}
	if (env)
		json_object_set_new(o, "env", env);
	if (cli_arg(a, "memory-limit")) {
		int64_t n;
		if (size_parse(cli_arg(a, "memory-limit"), &n) < 0) {
			cli_usage_error("--memory-limit: \"%s\" is not a size", cli_arg(a, "memory-limit"));
			goto usage;
		}
		json_object_set_new(o, "memory", json_integer((json_int_t)n));
	}
	if (cli_arg(a, "pids-limit")) {
		char *end;
		long long pl = strtoll(cli_arg(a, "pids-limit"), &end, 10);
		if (*end || end == cli_arg(a, "pids-limit") || pl <= 0) {
			cli_usage_error("--pids-limit: \"%s\" is not a positive number", cli_arg(a, "pids-limit"));
			goto usage;
		}
		json_object_set_new(o, "pids", json_integer(pl));
	}
	if (cli_arg(a, "cpus")) {
		char *end;
		double c = strtod(cli_arg(a, "cpus"), &end);
		if (*end || end == cli_arg(a, "cpus")) {
			cli_usage_error("--cpus: \"%s\" is not a number", cli_arg(a, "cpus"));
			goto usage;
		}
		json_object_set_new(o, "cpus", json_real(c));
	}
	if (cli_arg(a, "seccomp-profile")) {
		json_t *prof;
		if (read_json_file("seccomp profile", cli_arg(a, "seccomp-profile"), &prof) < 0)
			goto fail;
		json_object_set_new(o, "seccomp_profile", prof);
	}
	json_t *labels = all_values(a, "label");
	if (labels) {
		json_t *obj;
		size_t nl = json_array_size(labels);
		char **words = calloc(nl + 1, sizeof(*words));
		for (size_t i = 0; words && i < nl; i++)
			words[i] = (char *)json_string_value(json_array_get(labels, i));
		int r = words ? cli_parse_labels(words, (int)nl, &obj) : CLI_FAILED;
		free(words);
		json_decref(labels);
		if (r)
			goto usage;
		json_object_set_new(p, "labels", obj);
	}
	static const char *const passthrough[] = { "restart", "snapshotter", "platform" };
	for (size_t i = 0; i < ARRAY_SIZE(passthrough); i++)
		if (cli_arg(a, passthrough[i]))
			json_object_set_new(p, passthrough[i], json_string(cli_arg(a, passthrough[i])));
	if (cli_arg(a, "spec")) {
		json_t *spec;
		if (json_object_size(o)) {
			cli_usage_error("--spec: the spec is used as it is: give the other settings in it");
			goto usage;
		}
		if (read_json_file("spec", cli_arg(a, "spec"), &spec) < 0)
			goto fail;
		json_object_set_new(p, "spec", spec);
		json_decref(o);
	} else {
		json_object_set_new(p, "options", o);
	}
	*out = cli_with_namespace(cli, p);
	return CLI_OK;
usage:
	json_decref(p);
	json_decref(o);
	return CLI_USAGE;
fail:
	json_decref(p);
	json_decref(o);
	return CLI_FAILED;
}

static int containers_create(struct cli *cli, const struct cli_args *a)
{
	json_t *params;
	int r = cli_container_params(cli, a, 0, &params);
	if (r)
		return r;
	json_t *reply;
	if (cli_call(cli, "io.ember.Containers.Create", params, &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(json_object_get(reply, "container"));
	json_decref(reply);
	return CLI_OK;
}

static int containers_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *c;
	size_t i;

	if (cli_call(cli, "io.ember.Containers.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "containers");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, c)
			puts(json_string_value(json_object_get(c, "id")));
	} else {
		static const char *const head[] = { "CONTAINER", "IMAGE", "RUNTIME" };
		struct cli_table *t = cli_table_new(head, 3);
		json_array_foreach(list, i, c) {
			const char *img = json_string_value(json_object_get(c, "image"));
			const char *row[] = { json_string_value(json_object_get(c, "id")),
					      img ? img : json_string_value(json_object_get(c, "rootfs")),
					      "io.ember.init" };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int containers_info(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Containers.Get", cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	json_t *c = json_object_get(reply, "container");
	cli_print_json(cli_flag(a, "spec") ? json_object_get(c, "spec") : c);
	json_decref(reply);
	return CLI_OK;
}

static int containers_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		json_t *p = json_pack("{s:s}", "id", a->pos[i]);
		if (cli_flag(a, "keep-snapshot"))
			json_object_set_new(p, "keep_snapshot", json_true());
		if (cli_call(cli, "io.ember.Containers.Delete", cli_with_namespace(cli, p), NULL) < 0)
			failed = 1;
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int containers_label(struct cli *cli, const struct cli_args *a)
{
	json_t *labels, *reply;
	int r = cli_parse_labels(a->pos + 1, a->npos - 1, &labels);

	if (r)
		return r;
	if (cli_call(cli, "io.ember.Containers.SetLabels",
		     cli_with_namespace(cli, json_pack("{s:s, s:o}", "id", a->pos[0], "labels", labels)), &reply) < 0)
		return CLI_FAILED;
	cli_print_labels(cli, json_object_get(json_object_get(reply, "container"), "labels"));
	json_decref(reply);
	return CLI_OK;
}

static const struct cli_opt create_opts[] = {
	CLI_CONTAINER_OPTS,
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt info_opts[] = {
	{ "spec", 0, NULL, "print only the OCI runtime spec" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt rm_opts[] = {
	{ "keep-snapshot", 0, NULL, "keep the container's snapshot" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command create_cmd = {
	.name = "create", .args = "REF ID [CMD [ARG...]]",
	.summary = "create a container from an image (unpacked by pull) or a --rootfs directory",
	.help = CLI_HELP("The spec comes from the image config (Entrypoint, Cmd, Env, WorkingDir, User,\n"
			 "StopSignal) and the flags, or from --spec FILE. With --rootfs DIR: ID [CMD...]."),
	.opts = create_opts, .min_args = 1, .max_args = -1, .flags = CLI_STOP_AT_ARGS, .run = containers_create,
};
static const struct cli_command ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list containers", .opts = ls_opts, .run = containers_ls,
};
static const struct cli_command info_cmd = {
	.name = "info", .args = "ID", .summary = "print a container record (or its --spec) as JSON",
	.opts = info_opts, .min_args = 1, .max_args = 1, .run = containers_info,
};
static const struct cli_command rm_cmd = {
	.name = "rm", .aliases = "delete remove del", .args = "ID...", .summary = "remove containers and their snapshots",
	.help = CLI_HELP("A container whose task runs is refused: kill the task first."),
	.opts = rm_opts, .min_args = 1, .max_args = -1, .run = containers_rm,
};
static const struct cli_command label_cmd = {
	.name = "label", .args = "ID [LABEL=VALUE...]", .summary = "set labels (an empty value removes one)",
	.min_args = 1, .max_args = -1, .run = containers_label,
};

static const struct cli_command *const containers_sub[] = {
	&create_cmd, &info_cmd, &label_cmd, &ls_cmd, &rm_cmd, NULL,
};

const struct cli_command cli_cmd_containers = {
	.name = "containers",
	.aliases = "container c",
	.summary = "manage containers (a spec and a rootfs, ready to run)",
	.sub = containers_sub,
};
