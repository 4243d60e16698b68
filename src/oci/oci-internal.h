/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_OCI_INTERNAL_H
#define EMBER_OCI_INTERNAL_H

/* What the files of src/oci share (oci.h says what the role does). */

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include <ember/error.h>

#define OCI_CGROUP_MNT "/sys/fs/cgroup"
#define OCI_STATE_MAX ((size_t)8 << 20) /* state.json, the bundle's spec in it */

/* The global options; each command gets them. */
struct oci {
	const char *root, *log, *log_format;
	int debug;
};

/* One line on stderr ("ember oci: ..."), and in --log as runc writes it;
   returns 1 (the exit status of most failures). */
__attribute__((format(printf, 2, 3))) int oci_fail(const struct oci *o, const char *fmt, ...);
int oci_fail_e(const struct oci *o, const struct ember_error *e);
/* The same as a warning ("ember oci: warning: ..."; level warning). */
__attribute__((format(printf, 2, 3))) void oci_warn(const struct oci *o, const char *fmt, ...);

/* An option's value: "--name=value", or "--name value" (*i advances);
   NULL when argv[*i] is not that option. */
const char *oci_opt_value(int argc, char **argv, int *i, const char *name);
/* argv[i] is the option name, with or without "=value". */
int oci_is_opt(const char *a, const char *name);
/* runc's container ids: [A-Za-z0-9_+.-], not only dots, 1..1024. */
int oci_id_ok(const char *id);

/* --root, open (made with create). */
int oci_root_fd(const struct oci *o, int create, struct ember_error *e);
/* <root>/<id>/state.json (the spec it ran is its "spec"); a missing one
   is ENOENT, io.ember.NotFound: "container ID does not exist". */
int oci_state_read(const struct oci *o, const char *id, json_t **out, struct ember_error *e);
/* st as <root>/<id>/state.json, atomically (update rewrites it). */
int oci_state_write(const struct oci *o, const char *id, json_t *st, struct ember_error *e);
/* "created", "running", "paused" or "stopped", from what is there now:
   the process (pid and start time, not a zombie), the gate, the freezer. */
const char *oci_status(const struct oci *o, json_t *st);
/* The container's PID 1 as a pidfd while it is created, running or
   paused; else -1, e filled ("container ID is not running"). */
int oci_live_pidfd(const struct oci *o, json_t *st, const char *id, struct ember_error *e);
/* The container's cgroup (its state's "cgroup"); with CONFIG_CGROUPS. */
struct runtime_cgroup;
int oci_cgroup_open(json_t *st, const char *id, struct runtime_cgroup **cg, struct ember_error *e);

/* ---- oci-io.c: terminals and waiting ---- */

/* A --console-socket: connected to the unix socket at path (before
   anything is made, so that a wrong path leaves nothing behind). */
int oci_console_connect(const char *path, struct ember_error *e);
/* The terminal's master to it (SCM_RIGHTS, with the pty's name as the
   message, as runc sends it); sock is closed. */
int oci_console_send(int sock, int master, struct ember_error *e);
/* In the foreground until the process (pidfd) ends: signals go to it, a
   terminal (pty >= 0) is relayed to stdio. Its status, as a shell gives
   it (128 + signal). */
int oci_wait_foreground(int pidfd, int pty);

/* ---- oci-hooks.c ---- */

/* The hook kinds ember runs, for features: a JSON array (owned). */
json_t *oci_hooks_supported(void);
/* A spec's "hooks" (NULL: none): the runtime spec's six kinds, each hook
   an absolute path, args and env arrays of strings, a timeout in seconds.
   Anything else is refused naming the field (an unknown kind: ENOTSUP). */
int oci_hooks_check(json_t *hooks, struct ember_error *e);
/* What a hook reads on stdin, from the container's state st: ociVersion,
   id, status, pid (not once stopped), bundle, annotations (when any). */
json_t *oci_hook_state(json_t *st, const char *status);
/* The hooks of kind in spec, in order, each given state. The first that
   fails (exit status, signal, timeout; with what it said) stops them and
   is the error; with warn, each failure is a warning instead and all run
   (poststart, poststop: the runtime spec says so). */
int oci_hooks_run(const struct oci *warn, json_t *spec, const char *kind, json_t *state, struct ember_error *e);

/* ---- the commands that have files of their own ---- */

int oci_cmd_exec(const struct oci *o, int argc, char **argv);
int oci_cmd_pause(const struct oci *o, int argc, char **argv);
int oci_cmd_resume(const struct oci *o, int argc, char **argv);
int oci_cmd_ps(const struct oci *o, int argc, char **argv);
int oci_cmd_features(const struct oci *o, int argc, char **argv);
int oci_cmd_update(const struct oci *o, int argc, char **argv);
int oci_cmd_events(const struct oci *o, int argc, char **argv);

#endif
