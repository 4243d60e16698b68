/* SPDX-License-Identifier: Apache-2.0 */
/* The command tree, argument parsing, help and dispatch. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/version.h"

static const struct cli_opt global_opts[] = {
	{ "address", 'a', "PATH", "daemon socket (default $EMBER_ADDRESS or " CONFIG_DEFAULT_ADDRESS ")" },
	{ "namespace", 'n', "NAME", "namespace (default $EMBER_NAMESPACE or \"default\")" },
	{ "json", 0, NULL, "print JSON instead of tables" },
	{ "debug", 0, NULL, "print API error names and codes" },
	{ "help", 'h', NULL, "show help" },
	{ NULL, 0, NULL, NULL },
};

static int version_run(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	version_print(stdout, cli->json);
	return CLI_OK;
}

static const struct cli_command cli_cmd_version = {
	.name = "version",
	.summary = "print ember's version, revision and compiled-in features",
	.run = version_run,
};

static int help_run(struct cli *cli, const struct cli_args *a);

static const struct cli_command cli_cmd_help = {
	.name = "help",
	.args = "[COMMAND...]",
	.summary = "show help for a command",
	.max_args = -1,
	.run = help_run,
};

static const struct cli_command *const root_sub[] = {
#ifdef CONFIG_CLI_CALL
	&cli_cmd_call,
#endif
#ifdef CONFIG_CLI_COMPLETION
	&cli_cmd_completion,
#endif
#ifdef CONFIG_CLI_IMAGES
	&cli_cmd_content,
#endif
#ifdef CONFIG_CLI_CONTAINERS
	&cli_cmd_containers,
#endif
	&cli_cmd_events,
	&cli_cmd_help,
#ifdef CONFIG_CLI_IMAGES
	&cli_cmd_images,
#endif
	&cli_cmd_info,
	&cli_cmd_jobs,
#ifdef CONFIG_CLI_IMAGES
	&cli_cmd_leases,
#endif
#ifdef CONFIG_CLI_CONTAINERS
	&cli_cmd_logs,
#endif
	&cli_cmd_namespaces,
#if defined(CONFIG_NET) && defined(CONFIG_CLI_CONTAINERS)
	&cli_cmd_networks,
#endif
#ifdef CONFIG_CLI_IMAGES
	&cli_cmd_pull,
#endif
#ifdef CONFIG_PUSH
	&cli_cmd_push,
#endif
#if defined(CONFIG_REVISIONS) && defined(CONFIG_CLI_CONTAINERS)
	&cli_cmd_revisions,
#endif
#ifdef CONFIG_CLI_CONTAINERS
	&cli_cmd_run,
#endif
#ifdef CONFIG_CLI_SNAPSHOTS
	&cli_cmd_snapshots,
#endif
	&cli_cmd_system,
#ifdef CONFIG_CLI_CONTAINERS
	&cli_cmd_tasks,
#endif
	&cli_cmd_version,
	NULL,
};

const struct cli_command cli_root = {
	.name = "ember",
	.args = "COMMAND",
	.summary = "container runtime for embedded and edge devices",
	.help = CLI_HELP("The daemon runs as `ember daemon` (or `emberd`); see `ember daemon --help`.\n"
			 "Environment: EMBER_ADDRESS, EMBER_NAMESPACE."),
	.sub = root_sub,
};

/* ---- help -------------------------------------------------------------- */

static void print_opts(FILE *f, const struct cli_opt *opts)
{
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->short_name ? "-" : "",
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s\n", o->short_name ? left : left + 1, o->help);
	}
}

static void print_help(FILE *f, const char *path, const struct cli_command *cmd)
{
	fprintf(f, "Usage: %s%s%s%s\n\n%s\n", path, cmd->opts || cmd == &cli_root ? " [OPTIONS]" : "",
		cmd->args || cmd->sub ? " " : "", cmd->args ? cmd->args : (cmd->sub ? "COMMAND" : ""),
		cmd->summary);
	if (cmd->aliases)
		fprintf(f, "Aliases: %s\n", cmd->aliases);
	if (cmd->help)
		fprintf(f, "\n%s\n", cmd->help);
	if (cmd->sub) {
		fputs("\nCommands:\n", f);
		for (const struct cli_command *const *s = cmd->sub; *s; s++)
			fprintf(f, "  %-14s %s\n", (*s)->name, (*s)->summary);
	}
	if (cmd->opts && cmd->opts->name) {
		fputs("\nOptions:\n", f);
		print_opts(f, cmd->opts);
	}
	fputs("\nGlobal options:\n", f);
	print_opts(f, global_opts);
}

/* ---- parsing -------------------------------------------------------------- */

static int name_matches(const struct cli_command *c, const char *word)
{
	size_t n = strlen(word);

	if (!strcmp(c->name, word))
		return 1;
	for (const char *p = c->aliases; p && *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, word, n))
			return 1;
		p = end ? end + 1 : p + len;
	}
	return 0;
}

static const struct cli_command *find_sub(const struct cli_command *cmd, const char *word)
{
	for (const struct cli_command *const *s = cmd->sub; s && *s; s++)
		if (name_matches(*s, word))
			return *s;
	return NULL;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, char short_name)
{
	for (const struct cli_opt *o = opts; o && o->name; o++)
		if (name ? !strcmp(o->name, name) : o->short_name == short_name)
			return o;
	return NULL;
}

const char *cli_arg(const struct cli_args *a, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i < a->nopts; i++)
		if (!strcmp(a->opts[i].opt->name, name))
			v = a->opts[i].value;
	return v;
}

int cli_flag(const struct cli_args *a, const char *name)
{
	int n = 0;

	for (int i = 0; i < a->nopts; i++)
		n += !strcmp(a->opts[i].opt->name, name);
	return n;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ember: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_USAGE;
}

struct parse {
	const struct cli_command *cmd;
	char path[128]; /* "ember namespaces ls" */
	struct cli_args args;
	int help;
};

static void path_add(struct parse *p, const char *name)
{
	size_t n = strlen(p->path);

	snprintf(p->path + n, sizeof(p->path) - n, " %s", name);
}

/* One pass over argv: command words select subcommands, options may appear
   anywhere (ctr only takes global options before the command: accepting
   them everywhere is friendlier and unambiguous). */
static int parse_argv(int argc, char **argv, struct parse *p)
{
	int stop = 0;

	p->cmd = &cli_root;
	snprintf(p->path, sizeof(p->path), "ember");
	p->args.opts = calloc((size_t)argc + 1, sizeof(*p->args.opts));
	p->args.pos = calloc((size_t)argc + 1, sizeof(*p->args.pos));
	if (!p->args.opts || !p->args.pos) {
		fputs("ember: out of memory\n", stderr);
		return CLI_FAILED;
	}
	for (int i = 1; i < argc; i++) {
		char *w = argv[i];
		if (stop || w[0] != '-' || !w[1]) {
			const struct cli_command *sub = p->args.npos == 0 ? find_sub(p->cmd, w) : NULL;
			if (p->cmd->sub && !p->cmd->run && !sub) {
				fprintf(stderr, "ember: unknown command \"%s\" for \"%s\" (see: %s --help)\n",
					w, p->path, p->path);
				return CLI_USAGE;
			}
			if (sub) {
				p->cmd = sub;
				path_add(p, sub->name);
				continue;
			}
			p->args.pos[p->args.npos++] = w;
			if (p->cmd->flags & CLI_STOP_AT_ARGS)
				stop = 1;
			continue;
		}
		if (!strcmp(w, "--")) {
			stop = 1;
			continue;
		}
		const struct cli_opt *o;
		const char *value = NULL;
		char name[64];
		if (w[1] == '-') {
			const char *eq = strchr(w + 2, '=');
			size_t n = eq ? (size_t)(eq - (w + 2)) : strlen(w + 2);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, w + 2, n);
			name[n] = '\0';
			o = find_opt(p->cmd->opts, name, 0);
			if (!o)
				o = find_opt(global_opts, name, 0);
			if (eq)
				value = eq + 1;
		} else {
			o = find_opt(p->cmd->opts, NULL, w[1]);
			if (!o)
				o = find_opt(global_opts, NULL, w[1]);
			snprintf(name, sizeof(name), "%c", w[1]);
			if (w[2])
				value = w + 2;
			if (o && !o->arg && w[2])
				o = NULL; /* no bundling of short flags: -ab is not -a -b */
		}
		if (!o) {
			fprintf(stderr, "ember: unknown option %s for \"%s\" (see: %s --help)\n", w, p->path,
				p->path);
			return CLI_USAGE;
		}
		if (!o->arg && value) {
			fprintf(stderr, "ember: option --%s takes no value\n", o->name);
			return CLI_USAGE;
		}
		if (o->arg && !value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "ember: option --%s needs a value (%s)\n", o->name, o->arg);
				return CLI_USAGE;
			}
			value = argv[++i];
		}
		if (!strcmp(o->name, "help")) {
			p->help = 1;
			continue;
		}
		p->args.opts[p->args.nopts].opt = o;
		p->args.opts[p->args.nopts].value = value;
		p->args.nopts++;
	}
	return -1;
}

static int help_run(struct cli *cli, const struct cli_args *a)
{
	const struct cli_command *cmd = &cli_root;
	char path[128] = "ember";

	(void)cli;
	for (int i = 0; i < a->npos; i++) {
		const struct cli_command *sub = find_sub(cmd, a->pos[i]);
		if (!sub) {
			fprintf(stderr, "ember: no command \"%s\" in \"%s\"\n", a->pos[i], path);
			return CLI_USAGE;
		}
		cmd = sub;
		size_t n = strlen(path);
		snprintf(path + n, sizeof(path) - n, " %s", cmd->name);
	}
	print_help(stdout, path, cmd);
	return CLI_OK;
}

/* ---- running --------------------------------------------------------------- */

void cli_error(struct cli *cli, const struct ember_error *e)
{
	if (cli)
		cli->last_error = *e;
	if (cli && cli->debug)
		fprintf(stderr, "ember: %s [%s, errno %d]\n", e->message, err_api_name(e), e->code);
	else
		fprintf(stderr, "ember: %s\n", e->message);
}

int cli_task_failed(const struct cli *cli)
{
	if (strcmp(cli->last_error.name, EMBER_ERROR_EXEC_FAILED))
		return CLI_TASK_FAILED;
	return cli->last_error.code == ENOENT ? CLI_TASK_NOT_FOUND : CLI_TASK_CANNOT_INVOKE;
}

int cli_connect(struct cli *cli)
{
	struct ember_error e;

	if (cli->client)
		return 0;
	if (ember_client_connect(&cli->client, cli->address, &e) < 0) {
		cli_error(cli, &e);
		return -1;
	}
	return 0;
}

int cli_call(struct cli *cli, const char *method, json_t *params, json_t **reply)
{
	struct ember_error e;
	_cleanup_free_ char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	_cleanup_free_ char *answer = NULL;

	json_decref(params);
	if (cli_connect(cli) < 0)
		return -1;
	if (ember_call(cli->client, method, text, &answer, &e) < 0) {
		cli_error(cli, &e);
		return -1;
	}
	if (reply) {
		*reply = json_loads(answer, 0, NULL);
		if (!*reply) {
			fprintf(stderr, "ember: %s: unreadable reply\n", method);
			return -1;
		}
	}
	return 0;
}

int cli_main(int argc, char **argv)
{
	struct parse p = { 0 };
	struct cli cli = { 0 };
	int r;

	r = parse_argv(argc, argv, &p);
	if (r >= 0)
		goto out;
	cli.address = cli_arg(&p.args, "address");
	cli.namespace = cli_arg(&p.args, "namespace");
	cli.namespace_set = cli.namespace != NULL;
	if (!cli.namespace && (cli.namespace = getenv("EMBER_NAMESPACE")) && *cli.namespace)
		cli.namespace_set = 1;
	if (!cli.namespace || !*cli.namespace)
		cli.namespace = "default";
	cli.json = cli_flag(&p.args, "json");
	cli.debug = cli_flag(&p.args, "debug");

	if (p.help) {
		print_help(stdout, p.path, p.cmd);
		r = CLI_OK;
		goto out;
	}
	if (!p.cmd->run) {
		/* A group without its subcommand. */
		print_help(stderr, p.path, p.cmd);
		r = CLI_USAGE;
		goto out;
	}
	if (p.args.npos < p.cmd->min_args) {
		fprintf(stderr, "ember: %s needs %s (see: %s --help)\n", p.path,
			p.cmd->args ? p.cmd->args : "arguments", p.path);
		r = CLI_USAGE;
		goto out;
	}
	if (p.cmd->max_args >= 0 && p.args.npos > p.cmd->max_args) {
		fprintf(stderr, "ember: %s: unexpected argument \"%s\" (see: %s --help)\n", p.path,
			p.args.pos[p.cmd->max_args], p.path);
		r = CLI_USAGE;
		goto out;
	}
	r = p.cmd->run(&cli, &p.args);
	if (fflush(stdout) != 0 && r == CLI_OK) {
		fprintf(stderr, "ember: write output: %s\n", strerror(errno));
		r = CLI_FAILED;
	}
	goto done;
out:
	/* Refused before it ran: ember's failure, in Docker's terms. */
	if (r != CLI_OK && p.cmd && (p.cmd->flags & CLI_TASK_STATUS))
		r = CLI_TASK_FAILED;
done:
	ember_client_free(cli.client);
	free(p.args.opts);
	free(p.args.pos);
	return r;
}
