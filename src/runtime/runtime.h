/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_RUNTIME_H
#define EMBER_RUNTIME_H

/*
 * Containers: OCI runtime specs (runtime-spec v1.0.2, Linux).
 *
 * runtime_spec_build() turns an image config (image-spec "config" object:
 * Entrypoint, Cmd, Env, WorkingDir, User, StopSignal) and the user's
 * options into a spec with the defaults users of Docker and containerd
 * expect. runtime_spec_check() validates a spec a user brings (--spec
 * FILE); every spec runtime_spec_build() makes passes it. Both are pure:
 * no files, no processes. runtime_user_resolve() reads the rootfs's
 * /etc/passwd and /etc/group for user names, safely.
 *
 * Errors are io.ember.InvalidArgument (EINVAL; ENOTSUP for what ember does
 * not do) unless said otherwise, one line, naming the option, the image
 * config field or the spec's JSON path, e.g.
 *
 *     cap-add: unknown capability "NET_FOO"
 *     image config: StopSignal: unknown signal "SIGFOO"
 *     spec: process.args: must be a non-empty array of strings
 *
 * Input-derived text in messages is cut to 80 characters and anything but
 * printable ASCII is shown as '?'.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <ember/error.h>

#define RUNTIME_OCI_VERSION "1.0.2"
#define RUNTIME_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RUNTIME_HOSTNAME_MAX 63
#define RUNTIME_CPU_PERIOD 100000
#define RUNTIME_MEMORY_MIN ((int64_t)6 << 20) /* Docker's minimum */
#define RUNTIME_USER_MAX 255                  /* a "user[:group]" string */
#define RUNTIME_GROUPS_MAX 64                 /* supplementary groups a spec gets */
#define RUNTIME_ETC_FILE_MAX ((size_t)1 << 20) /* /etc/passwd, /etc/group */

/*
 * Annotations ember reads back when it runs a spec. Labels may not use the
 * "ember.io/" prefix.
 *
 *   ember.io/stop-signal  the signal that stops the task: a canonical name
 *                         ("SIGTERM", "SIGRTMIN+3") or, for signals without
 *                         one, a number; the image's StopSignal, default
 *                         SIGTERM. runtime_signal_parse() reads it.
 *   ember.io/user         the user as given ("app", "1000", "app:staff")
 *                         when process.user still needs the rootfs's
 *                         /etc/passwd or /etc/group: see
 *                         runtime_spec_resolve_user().
 *   ember.io/seccomp      "default": the executor applies ember's default
 *                         seccomp profile. Absent when privileged.
 */
#define RUNTIME_ANN_PREFIX "ember.io/"
#define RUNTIME_ANN_STOP_SIGNAL "ember.io/stop-signal"
#define RUNTIME_ANN_USER "ember.io/user"
#define RUNTIME_ANN_SECCOMP "ember.io/seccomp"

/* json_t pointers are borrowed, and NULL when not given. */
struct runtime_spec_options {
	const char *id;     /* the container id (required): default hostname */
	const char *rootfs; /* root.path (required): no ".." component */
	json_t *image_config; /* the image config's "config" object, already
				 checked by image_config_parse() */

	/* The command: args = entrypoint + rest, where entrypoint is
	   o->entrypoint if given (an empty array clears it), else the
	   image's Entrypoint; rest is o->args if given and not empty, else
	   (only when the entrypoint was not replaced, as in Docker) the
	   image's Cmd. */
	json_t *args;       /* array of strings */
	json_t *entrypoint; /* array of strings */

	json_t *env;          /* array of "KEY=value": override the image's Env */
	const char *cwd;      /* absolute; default the image's WorkingDir, "/" */
	const char *user;     /* "user[:group]" (names or ids); default the image's */
	const char *hostname; /* default: id, cut to RUNTIME_HOSTNAME_MAX */
	bool terminal;        /* process.terminal, and TERM=xterm unless set */
	bool read_only;       /* root.readonly */
	bool privileged;      /* every capability, no masked or read-only
				 paths, no seccomp, /sys rw, noNewPrivileges off */
	bool net_host;        /* no network namespace */

	/* Capability names: "CAP_NET_ADMIN", "net_admin" (any case), or
	   "ALL". The set is Docker's: (base - drop) + add, where base is the
	   default set (every capability when privileged, none when drop has
	   ALL); add ALL gives every capability but those dropped by name. */
	json_t *cap_add;
	json_t *cap_drop;

	json_t *mounts; /* array of mount objects (runtime_mount_parse()),
			   after the defaults; one with the destination of a
			   default mount replaces it */

	int64_t memory; /* bytes, 0: no limit, else >= RUNTIME_MEMORY_MIN */
	double cpus;    /* 0: no limit, else 0.01 .. 1024 */
	int64_t pids;   /* 0: no limit, else > 0 */

	json_t *labels; /* object of strings: become annotations */
};

/*
 * A new spec (*out, an owned reference) from o. Defaults: namespaces pid,
 * ipc, uts, mount, network (unless net_host) and cgroup; Docker's default
 * capabilities in bounding, effective and permitted (none inheritable or
 * ambient); mounts /proc, /dev, /dev/pts, /dev/shm (64 MiB), /dev/mqueue,
 * /sys and /sys/fs/cgroup (read-only unless privileged); Docker's masked
 * and read-only paths; RLIMIT_NOFILE 1024/1024; noNewPrivileges unless
 * privileged; PATH=... (RUNTIME_DEFAULT_PATH) unless the image or env set
 * PATH. Env keeps the image's order; an option replaces the image's value
 * in place, new keys come after. A relative image WorkingDir is taken
 * from "/".
 *
 * process.user: "uid:gid" is final; anything else (names, or a uid whose
 * primary group and supplementary groups come from /etc/passwd and
 * /etc/group) sets the ember.io/user annotation, and process.user holds
 * the known ids with 65534 (nobody) for names until resolved.
 *
 * Fails (*out NULL) naming the option or field: e.g. "no command: the
 * image has neither Entrypoint nor Cmd and none was given".
 */
int runtime_spec_build(const struct runtime_spec_options *o, json_t **out, struct ember_error *e);

/*
 * Whether spec is a spec ember can run. Checked, by JSON path: ociVersion
 * (a 1.x SemVer); root.path (non-empty, no ".." component), root.readonly;
 * process (required): args (non-empty array of strings, args[0] not
 * empty), cwd (absolute), env ("KEY=value"), terminal, consoleSize, user
 * (uid, gid, additionalGids: 0 .. 2^32-2; umask), capabilities (five
 * arrays of known "CAP_*" names), rlimits (known types, soft <= hard, no
 * type twice), noNewPrivileges, oomScoreAdj (-1000 .. 1000),
 * apparmorProfile, selinuxLabel; hostname (at most 64 bytes, only with a
 * uts namespace); mounts (absolute destination without ".."; strings;
 * bind mounts need a source); annotations (strings); hooks (ENOTSUP
 * unless empty); linux: namespaces (known types, each once, absolute
 * paths, a mount namespace), uid/gidMappings, maskedPaths and
 * readonlyPaths (absolute), sysctl, resources (memory, cpu, pids types),
 * cgroupsPath, seccomp.defaultAction, devices. Unknown properties are
 * ignored, as the runtime spec requires.
 */
int runtime_spec_check(json_t *spec, struct ember_error *e);

/*
 * A --mount option: comma-separated key=value pairs:
 *
 *   type=bind|tmpfs   (required)
 *   src=, source=     absolute host path; required for bind, tmpfs's
 *                     default is "tmpfs"
 *   dst=, destination=, target=   absolute path in the container, not "/",
 *                     no ".." component (required)
 *   options=a:b:c     mount options: ro rw rbind bind (bind only) nosuid
 *                     suid nodev dev noexec exec noatime relatime
 *                     strictatime nodiratime private rprivate shared
 *                     rshared slave rslave unbindable runbindable; for
 *                     tmpfs also mode=OCTAL size=N[kmg%] nr_inodes=N
 *                     uid=N gid=N
 *   ro, readonly      alone, the same as options=ro
 *
 * A bind mount is recursive (rbind) unless options say bind. *mount (an
 * owned reference) is a spec mount object: destination, type, source,
 * options. Each error quotes the part that is wrong.
 */
int runtime_mount_parse(const char *spec, json_t **mount, struct ember_error *e);

/*
 * The ids for user ("uid", "uid:gid", "name", "name:group", "uid:group",
 * "name:gid") inside the rootfs open at rootfs_fd, as the image spec says:
 * a name must be in /etc/passwd (a group name in /etc/group); without a
 * group, the primary group is the user's in /etc/passwd (0 for a uid that
 * is not there) and the supplementary groups those of /etc/group listing
 * the user's name; with a group there are none. Numeric forms need no
 * files ("uid:gid" reads none).
 *
 * The files are opened inside the rootfs: with openat2(RESOLVE_IN_ROOT),
 * so symlinks resolve as they would in the container, never outside it;
 * where openat2 is missing, component by component without following any
 * symlink (a symlinked /etc/passwd is then an error). They must be regular
 * files of at most RUNTIME_ETC_FILE_MAX bytes.
 *
 * groups has room for *ngroups gids; *ngroups gets how many there are
 * (more than room: E2BIG). Errors name the user, e.g. 'user "app": not
 * found in /etc/passwd' (ENOENT, io.ember.NotFound).
 */
int runtime_user_resolve(int rootfs_fd, const char *user, uid_t *uid, gid_t *gid, gid_t *groups,
			 size_t *ngroups, struct ember_error *e);

/* Tests only: resolve /etc files by the O_NOFOLLOW walk, as where
   openat2 is missing. */
extern int runtime_user_force_walk;

/*
 * Fill in spec's process.user (uid, gid, additionalGids) from its
 * ember.io/user annotation, with runtime_user_resolve() against the rootfs
 * at rootfs_fd. Nothing to do (0) without the annotation.
 */
int runtime_spec_resolve_user(json_t *spec, int rootfs_fd, struct ember_error *e);

/*
 * A signal: "SIGTERM", "TERM", "sigterm", "15", "SIGRTMIN+3", "RTMAX-1".
 * Real-time signals count from 34 (glibc's SIGRTMIN, as Docker does).
 * runtime_signal_name() gives the canonical name ("SIGTERM",
 * "SIGRTMIN+3"), or the number for 32 and 33.
 */
#define RUNTIME_SIGNAL_NAME_MAX 24
int runtime_signal_parse(const char *s, int *sig, struct ember_error *e);
const char *runtime_signal_name(int sig, char buf[RUNTIME_SIGNAL_NAME_MAX]);

/*
 * ember init (init.c, CONFIG_INIT): the PID 1 of each container. The
 * executor sets the container up and then executes, from the same binary,
 *
 *   ember init [--report-fd N] [--exit-fd N] [--log-fd A --log-fd B
 *              [--log-max BYTES]] [--] PATH ARG...
 *
 * argv[0] may be anything: the role is argv[1] ("init"), found before any
 * other set-up in main(). Options take their value as the next argument;
 * fds must be 3 or more (0-2 are the application's stdio). init runs PATH
 * (searched in the PATH of its own environment when it has no '/', as
 * execvp does; never through /bin/sh) with init's environment, cwd and
 * credentials unchanged, forwards every signal it gets but SIGCHLD to it,
 * reaps every child (it is a subreaper when not PID 1), and exits when the
 * application does: with its exit code, or 128 + the signal that killed it.
 *
 *   --report-fd N  start result. Success: nothing is written and N is
 *                  closed (EOF with no bytes means "started"). Failure: one
 *                  line without a newline, then init exits 127 (2 for bad
 *                  options) and writes no exit file, e.g.
 *                      exec "/bin/foo": no such file or directory
 *                      exec "foo": permission denied
 *                  Without it the line goes to stderr after "ember init: ".
 *   --exit-fd N    a regular file; when the application exits it holds one
 *                  JSON object and a newline (written at offset 0, then
 *                  truncated to its length):
 *                      {"pid":7,"exit_code":3,"exited_at":"<RFC 3339 ns UTC>"}
 *                      {"pid":7,"signal":9,"signal_name":"SIGKILL",
 *                       "core_dumped":false,"exited_at":"..."}
 *                  pid is the application's pid as init sees it (in the
 *                  container's pid namespace).
 *   --log-fd A --log-fd B, --log-max BYTES (default RUNTIME_INIT_LOG_MAX,
 *                  at least RUNTIME_INIT_LOG_MAX_MIN)
 *                  two regular files. The application's stdout and stderr
 *                  share one pipe (so their order is kept; the streams are
 *                  not told apart) and stdin is /dev/null. init appends to A
 *                  (the executor passes the newer file first on a restart)
 *                  until a chunk would take it past BYTES, then truncates
 *                  the other file and goes on there, and so on: at most
 *                  2 x BYTES are kept. Without --log-fd the application
 *                  inherits init's stdio and init copies nothing.
 *
 * Log order: the file being written has the newer mtime; when both mtimes
 * are equal it is A. init keeps this true by waiting, before it switches
 * files, until the clock has passed the old file's mtime (at most a clock
 * tick; it needs a file system with fine timestamps, e.g. tmpfs, and a
 * clock that is not set back). A reader reads the older file, then the
 * other: runtime_log_order() says which is which.
 *
 * There is no stop timeout in init: the daemon stops a task by sending its
 * stop signal to init, which forwards it, and then SIGKILL to init, which,
 * being PID 1, takes every process of the pid namespace with it.
 */
#define RUNTIME_INIT_ROLE "init"
#define RUNTIME_INIT_OPT_REPORT_FD "--report-fd"
#define RUNTIME_INIT_OPT_EXIT_FD "--exit-fd"
#define RUNTIME_INIT_OPT_LOG_FD "--log-fd"
#define RUNTIME_INIT_OPT_LOG_MAX "--log-max"
#define RUNTIME_INIT_LOG_MAX ((uint64_t)10 << 20)
#define RUNTIME_INIT_LOG_MAX_MIN ((uint64_t)4096)
#define RUNTIME_INIT_EXIT_EXEC 127 /* init's status when the start failed */
#define RUNTIME_INIT_EXIT_USAGE 2

/* The role's main: argv[0] is the role name (or anything), then options. */
int runtime_init_main(int argc, char **argv);

/*
 * Which of the two log files of a task (open at fd_a and fd_b, given to
 * init in that order) to read first: *first is 0 (A is the older) or 1.
 * Reading the first, then the other, gives the output in order. Fails
 * only when fstat does. In init.c: only with CONFIG_INIT, as are the
 * log files themselves.
 */
int runtime_log_order(int fd_a, int fd_b, int *first, struct ember_error *e);

#endif
