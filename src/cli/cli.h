/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

/*
 * The command-line client: a ctr-shaped command tree. Each command group
 * lives in its own file with its usage text and option table next to its
 * code; cli.c parses, dispatches and prints help from those tables.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error. Commands
 * that exit with a task's status (run, tasks start, exec, wait, attach:
 * flag CLI_TASK_STATUS) follow Docker's convention instead, so that a
 * script can tell ember's failures from the application's: the task's own
 * status when it ran; 125 when ember failed (a bad flag, no such image or
 * task, the daemon unreachable); 126 when the command cannot be invoked;
 * 127 when it was not found.
 */

#include <jansson.h>

#include <ember/client.h>

#include "util/cleanup.h"

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2
#define CLI_TASK_FAILED 125      /* ember failed */
#define CLI_TASK_CANNOT_INVOKE 126
#define CLI_TASK_NOT_FOUND 127

struct cli {
	const char *address;   /* --address, $EMBER_ADDRESS, or the default */
	const char *namespace; /* --namespace, $EMBER_NAMESPACE, or "default" */
	int namespace_set;     /* given explicitly */
	int json;
	int debug;
	ember_client *client;
	struct ember_error last_error; /* the last one cli_error() printed */
};

struct cli_opt {
	const char *name;  /* long name, without "--" */
	char short_name;   /* or 0 */
	const char *arg;   /* placeholder of its value; NULL for a flag */
	const char *help;
};

struct cli_args {
	/* Options in the order given (a repeated option appears repeatedly). */
	struct cli_arg_value {
		const struct cli_opt *opt;
		const char *value; /* NULL for a flag */
	} *opts;
	int nopts;
	char **pos; /* positional arguments */
	int npos;
};

/* Last value of an option, or NULL. */
const char *cli_arg(const struct cli_args *a, const char *name);
/* How many times a flag or option was given. */
int cli_flag(const struct cli_args *a, const char *name);

#define CLI_STOP_AT_ARGS 1u /* the first positional ends option parsing */
#define CLI_TASK_STATUS 2u  /* exits with a task's status: usage errors are 125 */

struct cli_command {
	const char *name;
	const char *aliases; /* space-separated, or NULL */
	const char *args;    /* usage of the positionals, e.g. "NAME [KEY=VALUE...]" */
	const char *summary; /* one line */
	const char *help;    /* more text; use CLI_HELP() */
	const struct cli_opt *opts; /* terminated by a NULL name, or NULL */
	int min_args, max_args;     /* max_args < 0: unlimited */
	unsigned flags;
	int (*run)(struct cli *cli, const struct cli_args *args);
	const struct cli_command *const *sub; /* subcommands, NULL-terminated */
};

/* Long help texts cost flash; CONFIG_CLI_HELP_VERBOSE drops them. */
#define CLI_HELP(text) (ENABLED(CONFIG_CLI_HELP_VERBOSE) ? (text) : NULL)

#ifdef CONFIG_CLI
int cli_main(int argc, char **argv);
#else
static inline int cli_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 127;
}
#endif

/* The command tree, for help and completion. */
extern const struct cli_command cli_root;

/* Command groups (one file each). */
extern const struct cli_command cli_cmd_namespaces;
extern const struct cli_command cli_cmd_info;
extern const struct cli_command cli_cmd_system;
extern const struct cli_command cli_cmd_system_check;
extern const struct cli_command cli_cmd_system_df;
extern const struct cli_command cli_cmd_events;
extern const struct cli_command cli_cmd_call;
extern const struct cli_command cli_cmd_completion;
extern const struct cli_command cli_cmd_images;
extern const struct cli_command cli_cmd_pull;
extern const struct cli_command cli_cmd_push;
extern const struct cli_command cli_cmd_content;
extern const struct cli_command cli_cmd_leases;
extern const struct cli_command cli_cmd_revisions;
extern const struct cli_command cli_cmd_snapshots;
extern const struct cli_command cli_cmd_images_mount;
extern const struct cli_command cli_cmd_images_unmount;
extern const struct cli_command cli_cmd_containers;
extern const struct cli_command cli_cmd_tasks;
extern const struct cli_command cli_cmd_run;
extern const struct cli_command cli_cmd_logs;
extern const struct cli_command cli_cmd_jobs;
extern const struct cli_command cli_cmd_networks;

/* The flags of `ember containers create` and `ember run`. */
#define CLI_CONTAINER_OPTS                                                                                       \
	{ "env", 'e', "KEY=VALUE", "set an environment variable (repeatable)" },                            \
	{ "env-file", 0, "FILE", "read KEY=VALUE lines from FILE" },                                        \
	{ "mount", 0, "SPEC", "type=bind,src=DIR,dst=DIR,options=rbind:ro (repeatable; also type=tmpfs)" }, \
	{ "cwd", 0, "DIR", "working directory in the container" },                                          \
	{ "user", 'u', "USER[:GROUP]", "run as this user (names from the image's /etc/passwd)" },            \
	{ "net", 0, "MODE", "none (own network namespace, loopback only: the default), host, bridge[:NETWORK]" }, \
	{ "net-host", 0, NULL, "the same as --net host" },                                                \
	{ "publish", 'p', "[IP:]HPORT:PORT[/udp]", "publish a port of a --net bridge container (repeatable)" }, \
	{ "dns", 0, "IP", "a nameserver of the container's resolv.conf (repeatable; --net bridge)" },      \
	{ "add-host", 0, "NAME:IP", "a line of the container's /etc/hosts (repeatable)" },                \
	{ "privileged", 0, NULL, "every capability, no seccomp, no masked paths" },                         \
	{ "cap-add", 0, "CAP", "add a capability (repeatable; ALL for every one)" },                        \
	{ "cap-drop", 0, "CAP", "drop a capability (repeatable; ALL for every one)" },                      \
	{ "read-only", 0, NULL, "mount the rootfs read-only" },                                             \
	{ "memory-limit", 0, "BYTES", "memory limit (bytes; units k, m, g, t, p: 64m, 1.5g)" },             \
	{ "cpus", 0, "N", "CPU limit, e.g. 0.5" },                                                          \
	{ "pids-limit", 0, "N", "most processes" },                                                         \
	{ "hostname", 0, "NAME", "hostname (default: the id)" },                                            \
	{ "label", 0, "KEY=VALUE", "a label (repeatable)" },                                                \
	{ "rootfs", 0, "DIR", "run DIR as the rootfs instead of an image (no REF)" },                       \
	{ "restart", 0, "POLICY", "no, on-failure[:N], always or unless-stopped" },                         \
	{ "snapshotter", 0, "NAME", "overlay, native or btrfs (default: the daemon's)" },                          \
	{ "platform", 0, "OS/ARCH", "the image's platform (default: the host's)" },                         \
	{ "spec", 0, "FILE", "use this OCI runtime spec (config.json) instead of one from the image" },     \
	{ "seccomp-profile", 0, "FILE", "seccomp profile (Docker or OCI JSON) instead of the default" },     \
	{ "uidmap", 0, "C:H:N", "own user namespace: container uids C.. are host uids H.. (N of them; repeatable)" }, \
	{ "gidmap", 0, "C:H:N", "the same for gids (default: as --uidmap)" },                             \
	{ "tty", 't', NULL, "allocate a terminal" }

/* ember tasks attach (logs.c). */
extern const struct cli_command cli_cmd_tasks_attach;
/* {"id": id} with the namespace. */
json_t *cli_task_params(const struct cli *cli, const char *id);
/* The exit status a shell would show for a task's exit object: its code
   (128 + the signal for a signal), 255 when unknown. */
int cli_exit_status(json_t *exit);
/* Our terminal's (stdin's) window size to a task's pty master. */
void cli_pass_winsize(int master);
/* Raw mode on the terminal fd; *saved gets the settings to restore. */
struct termios;
int cli_set_raw(int fd, struct termios *saved);

/* Containers.Create's parameters from the flags above and the positionals
   from a->pos[first]: REF ID [CMD...] (ID [CMD...] with --rootfs). */
int cli_container_params(const struct cli *cli, const struct cli_args *a, int first, json_t **out);

/* An unnamed temporary file (for "-": the daemon reads and writes only
   regular files), and a copy loop; both return -errno on failure. */
int cli_tmp_file(void);
int cli_copy_fd(int from, int to);

extern const struct cli_command cli_cmd_content_fetch;

/* "1.5 MiB" */
void cli_format_size(int64_t n, char out[16]);

/* fd is a terminal that takes cursor movements: TERM is set and not
   "dumb" (progress bars; plain lines otherwise). */
int cli_fancy_terminal(int fd);

/* ---- helpers for commands ---- */

/* Call a method; params is consumed (NULL for {}). On failure prints
   "ember: <message>" and returns -1; on success *reply (if not NULL)
   holds the reply's parameters. */
int cli_call(struct cli *cli, const char *method, json_t *params, json_t **reply);

/* Add {"namespace": -n's value} to params (NULL passes through); returns params. */
json_t *cli_with_namespace(const struct cli *cli, json_t *params);

/* Connect lazily; prints the error and returns -1 on failure. */
int cli_connect(struct cli *cli);

/* Print an error line: "ember: <message>" (with the API name under --debug),
   and keep it as cli->last_error. */
void cli_error(struct cli *cli, const struct ember_error *e);
/* The exit status of a CLI_TASK_STATUS command that failed before its task
   ran: 127 / 126 for io.ember.ExecFailed (ENOENT / anything else) in
   cli->last_error, else 125. */
int cli_task_failed(const struct cli *cli);
/* Print "ember: <message>" and return CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A small text file (a key) read whole: *out NUL-terminated; prints
   "ember: FILE: why" and returns CLI_FAILED when it cannot. */
int cli_read_text(const char *file, size_t max, char **out);
/* Parse KEY=VALUE words into an object of strings ("KEY=" gives ""). */
int cli_parse_labels(char **words, int n, json_t **out);
/* The keys of an object, sorted (the caller frees the array, not the keys). */
const char **cli_sorted_keys(json_t *obj, size_t *n);
/* KEY=VALUE lines sorted by key (the object itself with --json). */
void cli_print_labels(const struct cli *cli, json_t *labels);
/* "k1=v1,k2=v2", sorted by key; the caller frees. */
char *cli_format_labels(json_t *labels);

void cli_print_json(json_t *j);

/* A simple aligned table on stdout. */
struct cli_table;
struct cli_table *cli_table_new(const char *const *headers, int ncols);
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print_free(struct cli_table *t);

#endif
