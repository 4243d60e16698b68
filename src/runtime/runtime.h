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
#include <linux/filter.h> /* struct sock_filter */

#include <ember/error.h>

#include "util/err.h" /* the stubs of options that are off */

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

	/* A user namespace: arrays of "containerID:hostID:size" strings, as
	   ctr's --uidmap and --gidmap; one alone serves for both. */
	json_t *uid_map;
	json_t *gid_map;

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
 * ipc, uts, mount, network (unless net_host), cgroup, and user with uid_map
 * or gid_map; Docker's default
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
 * type twice), noNewPrivileges, oomScoreAdj (-1000 .. 1000), ioPriority
 * (a known class, 0 .. 7); hostname and domainname (at most 64 bytes, only
 * with a uts namespace); mounts (absolute destination without ".."; strings;
 * bind mounts need a source and take no file system options; idmapped
 * ones: a bind, both of uidMappings and gidMappings); annotations
 * (strings); hooks (ENOTSUP unless empty); linux: namespaces (known
 * types, each once, absolute paths, a mount namespace), uid/gidMappings,
 * maskedPaths and readonlyPaths (absolute), sysctl (only keys of the
 * container's own namespaces), resources (memory, cpu, pids types),
 * cgroupsPath, rootfsPropagation (a known one), seccomp.defaultAction,
 * devices (c, b, u with numbers, p; a mode of permissions), personality
 * (LINUX or LINUX32), timeOffsets (monotonic, boottime; with a new time
 * namespace). Known fields ember does not do are ENOTSUP, naming the
 * field: process.scheduler, execCPUAffinity, non-empty apparmorProfile,
 * selinuxLabel, linux.mountLabel; linux.intelRdt, memoryPolicy,
 * netDevices, personality.flags, seccomp.listenerPath; tmpcopyup. Unknown
 * properties are ignored, as the runtime spec requires.
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

/* Capability names (as in a spec's process.capabilities lists) as a mask,
   bit n for capability n; unknown names are ignored. */
uint64_t runtime_cap_mask(json_t *names);
/* Capability n's name without "CAP_" ("NET_ADMIN"); NULL for one ember
   does not know. */
const char *runtime_cap_name(int n);

/* ---- the executor (exec.c) ---- */

struct runtime_seccomp;

/*
 * How a container's PID 1 is started. Descriptors are borrowed; -1: none.
 */
struct runtime_start {
	json_t *spec;          /* runtime_spec_check()ed, process.user resolved */
	json_t *rootfs_mounts; /* a snapshot's mounts (util/mount.h), mounted on
				  rootfs in the container's mount namespace only;
				  NULL: rootfs is a host directory, bound */
	const char *rootfs;    /* absolute: an empty directory, or the directory */
	int self_fd;           /* the ember binary: PID 1 is `ember init`; -1:
				  the application itself is PID 1 */
	int stdio[3];          /* the application's 0, 1, 2 (-1: /dev/null);
				  ignored with process.terminal */
	int exit_fd;           /* for init: the exit status file */
	int log_fd[2];         /* for init: the two log files, log_max bytes each */
	int64_t log_max;
	int cgroup_fd;         /* cgroup v2: the directory for CLONE_INTO_CGROUP */
	/* In the parent, after the clone, before the child sets itself up
	   (cgroup v1: move pid into the cgroup). */
	int (*before_setup)(pid_t pid, void *userdata, struct ember_error *e);
	void *userdata;
	const struct runtime_seccomp *seccomp; /* NULL: none */
	const char *user;      /* the spec's ember.io/user annotation: resolved
				  against the container's /etc once its root is
				  in place (runtime_user_resolve()); NULL: the
				  spec's ids are final */
	unsigned timeout_ms;   /* for the whole setup; 0: 10 s */
	int pty_to_init;       /* process.terminal, detached: init keeps the
				  master (and copies it to the logs) instead of
				  the caller getting it */
	int start_gate_fd;     /* with self_fd -1: an O_PATH descriptor of a
				  FIFO. Set up, the process waits (created,
				  not started) until a reader opens the FIFO,
				  writes a byte to it and executes the
				  application; runtime_start() returns once it
				  waits. 0 (and any of 0..2): none */
	pid_t join_pid;        /* exec: the pid of join_pidfd */
	int join_pidfd;        /* exec: a process in the running task (its
				  PID 1's pidfd) whose namespaces the new one
				  joins; spec then only needs "process" and
				  self_fd, exit_fd, log_fd are -1. Else -1. */
	int preserve_fds;      /* the caller's descriptors 3 .. 3 + n - 1 go
				  to the process as they are (runc's
				  --preserve-fds); each must be open (EBADF
				  naming it). 0: none */
	/* The caller's hooks (the runtime spec's), NULL: none. hooks_parent
	   runs in the parent once the child has its namespaces and its
	   rootfs mounted at s->rootfs with the spec's mounts and /dev in
	   place, before its pivot_root (runc's order; the child
	   waits for it); a failure ends the setup with its error.
	   hooks_child runs in the child, in the container's namespaces:
	   RUNTIME_HOOKS_CREATE right after hooks_parent, still before
	   pivot_root (the host's paths); RUNTIME_HOOKS_START, with self_fd
	   -1, after the start gate, just before the application's exec (the
	   container's root, the process's ids and restrictions). The child
	   is a copy of the caller, so hooks_child may allocate only where the
	   caller is single-threaded (the oci role). */
	int (*hooks_parent)(pid_t pid, void *data, struct ember_error *e);
	int (*hooks_child)(int point, void *data, struct ember_error *e);
	void *hooks_data;
};

enum { RUNTIME_HOOKS_CREATE = 1, RUNTIME_HOOKS_START };

struct runtime_started {
	pid_t pid;           /* PID 1, as the host sees it */
	int pidfd;           /* owned by the caller */
	uint64_t start_time; /* /proc/<pid>/stat starttime */
	int pty_master;      /* process.terminal: owned by the caller; else -1 */
	int init_pty_fd;     /* pty_to_init: the master's number in init */
};

/*
 * Clone the container (clone3: its namespaces, CLONE_PIDFD, and
 * CLONE_INTO_CGROUP with cgroup_fd), set it up (rootfs, mounts, /dev,
 * terminal, masked and read-only paths, hostname, sysctls, cwd, rlimits,
 * ids, capabilities, no_new_privs, seccomp), and exec `ember init` (or the
 * application). Returns once the application runs, or with the step that
 * failed, one line: 'mount "/proc" (proc): operation not permitted',
 * 'exec "/bin/foo": no such file or directory', with the errno of the
 * failure (and io.ember.ExecFailed when the application itself could not
 * be executed: ENOENT not found, else found but not runnable). On failure
 * nothing is left running. The caller reaps the child (waitid on the pidfd).
 */
int runtime_start(const struct runtime_start *s, struct runtime_started *out, struct ember_error *e);

/*
 * A process in a running task (ember tasks exec): s->join_pidfd and
 * join_pid name the task's PID 1, whose namespaces it joins (and its root,
 * its cgroup with cgroup_fd or before_setup); s->spec needs only
 * "process" (and "annotations", "linux" for seccomp), and self_fd, exit_fd
 * and log_fd are -1: the process is the application itself, not init.
 * Errors as runtime_start()'s.
 */
int runtime_exec(const struct runtime_start *s, struct runtime_started *out, struct ember_error *e);

/* /proc/<pid>/stat's starttime: with the pid, a process's identity. */
int runtime_pid_start_time(pid_t pid, uint64_t *out, struct ember_error *e);

/* Whether pid is still the process that started at start_time and has not
   exited: a zombie nobody reaped yet (a detached container's PID 1 whose
   new parent is slow to wait) has exited. */
bool runtime_pid_alive(pid_t pid, uint64_t start_time);

/*
 * ---- checkpoint/restore with CRIU (CONFIG_CHECKPOINT, checkpoint.c) ----
 *
 * Debian's `criu` binary, found in PATH, driven as runc drives it: `criu
 * swrk 3` on one end of a socketpair, one protobuf request (CRIU's
 * images/rpc.proto), its notifications answered, one response. CRIU's log
 * (dump.log, restore.log) goes to the work directory; when
 * CRIU fails, the error is one line: what failed and CRIU's first error
 * from that log, e.g.
 *
 *     criu dump: vdso: Unexpected rt vDSO area bounds (CRIU 3.17 predates
 *     Linux 6.13's vDSO layout: CRIU 4.1 or later is needed; log: ...)
 *
 * A dump that fails leaves the tree running (CRIU thaws it).
 */
#define RUNTIME_CRIU_BIN "criu"
#define RUNTIME_CHECKPOINT_FILES_MAX 8

/* A file of the tree that lives outside the container's mount namespace
   (ember init's exit and log files): CRIU dumps it as external
   ("file[MNT:INO]", key) and restores it from fd. */
struct runtime_criu_file {
	char key[48];
	int fd;
};

struct runtime_checkpoint {
	pid_t pid;          /* dump: the container's PID 1 */
	int images_fd;      /* the image directory */
	int work_fd;        /* CRIU's log; -1: images_fd */
	const char *work_path; /* the work directory's path, for messages */
	const char *log_name;  /* CRIU's log in work_fd; NULL: dump.log, restore.log */
	json_t *spec;       /* the container's spec: its bind mounts are external */
	const char *rootfs; /* restore: the rootfs, mounted where CRIU sees it */
	bool leave_running, tcp_established, file_locks;
	bool manage_cgroups; /* the tree's cgroups are dumped and restored (soft) */
	/* The container's terminal has its master outside the tree (`ember
	   oci`: the caller's, from --console-socket): dumped without it, and
	   a restore makes a new one (out->pty_master). */
	bool terminal;
	/* restore: CRIU's external for the network's veth,
	   "veth[eth0]:HOST_END@BRIDGE" (NULL: none) */
	const char *net_external;
	/* restore: before the request, criu enters the task's cgroup so what
	   it restores starts there; NULL: none */
	const struct runtime_cgroup *cg;
	struct runtime_criu_file files[RUNTIME_CHECKPOINT_FILES_MAX];
	size_t n_files;
};

#ifdef CONFIG_CHECKPOINT
/* The criu binary in PATH (into buf), or ENOENT: "criu is not installed
   (not in PATH ...)". */
int runtime_criu_find(char *buf, size_t size, struct ember_error *e);
/* The file external key for fd as CRIU names it: "file[MNT_ID:INODE]". */
int runtime_criu_file_key(int fd, char key[48], struct ember_error *e);
/* Dump the tree at c->pid into c->images_fd. Without leave_running CRIU
   kills it once it is dumped. */
int runtime_checkpoint(const struct runtime_checkpoint *c, struct ember_error *e);
/* Restore the tree from c->images_fd, on c->rootfs, as a child of the
   caller (CRIU's rst_sibling): out->pid, pidfd, start_time, and with
   c->terminal the terminal's new master (pty_master; else -1). */
int runtime_restore(const struct runtime_checkpoint *c, struct runtime_started *out, struct ember_error *e);
/* The nftables table CRIU before 4.1 leaves locked in a restored tree's
   network namespace ("CRIU-<pid>"), from the images at images_fd, into
   name: 1, or 0 for none (net_nat_delete_in() removes it). */
int runtime_criu_netlock(int images_fd, char name[32]);
/* Whether an OCI mount m is a bind mount (type bind, or option bind or
   rbind): CRIU restores those from their host source. */
int runtime_mount_is_bind(json_t *m);
#else
static inline int runtime_criu_unsupported(struct ember_error *e)
{
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP,
			    "this ember is built without checkpoint/restore (CONFIG_CHECKPOINT)");
}
static inline int runtime_criu_find(char *buf, size_t size, struct ember_error *e)
{
	(void)buf;
	(void)size;
	return runtime_criu_unsupported(e);
}
static inline int runtime_criu_file_key(int fd, char key[48], struct ember_error *e)
{
	(void)fd;
	(void)key;
	return runtime_criu_unsupported(e);
}
static inline int runtime_criu_netlock(int images_fd, char name[32])
{
	(void)images_fd;
	(void)name;
	return 0;
}
static inline int runtime_checkpoint(const struct runtime_checkpoint *c, struct ember_error *e)
{
	(void)c;
	return runtime_criu_unsupported(e);
}
static inline int runtime_restore(const struct runtime_checkpoint *c, struct runtime_started *out,
				  struct ember_error *e)
{
	(void)c;
	(void)out;
	return runtime_criu_unsupported(e);
}
#endif

/*
 * ---- cgroups (CONFIG_CGROUPS) ----
 *
 * v1 and v2, told apart at run time by the file system at mnt (normally
 * "/sys/fs/cgroup"): cgroup2 is v2; anything else (a tmpfs of v1
 * hierarchies, also the v1/v2 hybrid whose cgroup2 tree at mnt/unified
 * carries no controllers) is v1. rel is a relative path below each
 * hierarchy's root ("ember/default/web"): no "..", "." or empty parts.
 *
 * v1 uses the hierarchies of memory, cpu, cpuacct, pids, freezer and
 * cpuset, each found by probing mnt/<name> (a cgroup file system; "cpu" is
 * usually a symlink to "cpu,cpuacct") or else in /proc/self/mountinfo (a
 * cgroup mount directly below mnt carrying the controller). A missing one
 * is skipped: runtime_cgroup_has() says which are there; limits for a
 * missing one fail naming the file. A cpuset cgroup made here gets its
 * parent's cpus and mems, or no task could enter it.
 *
 * The calls taking a const cgroup may run in several threads at once on
 * one cgroup (a job kills a task while the loop reads its stats). v1 keeps
 * no descriptor between them: each opens the hierarchies it needs and
 * closes them again, so a daemon's tasks do not each hold six.
 *
 * Errors name the file and, for writes, the value, e.g.
 *
 *     cgroup: memory.max: "12": Invalid argument
 *     cgroup: freezer/cgroup.procs: "4242": No such process
 */
struct runtime_cgroup;
enum { RUNTIME_CGROUP_V1 = 1, RUNTIME_CGROUP_V2 = 2 };

/* *version: RUNTIME_CGROUP_V1 or _V2 for the file system at mnt. */
int runtime_cgroup_detect(const char *mnt, int *version, struct ember_error *e);

/* Where nothing is mounted at mnt (an init system that prepares no
   cgroups: BusyBox init, OpenRC without its cgroups service), mount the
   unified hierarchy there; *mounted says whether it did. */
int runtime_cgroup_mount_if_none(const char *mnt, int *mounted, struct ember_error *e);

/* Create (mkdir -p; existing is fine) the cgroup rel. v2: one directory;
   each ancestor from mnt down gets +memory +cpu +pids +io in its
   cgroup.subtree_control, those of them its cgroup.controllers lists and
   that are not enabled yet. */
int runtime_cgroup_create(const char *mnt, const char *rel, struct runtime_cgroup **out,
			  struct ember_error *e);
/* A create that fails leaves the directories it made: runtime_cgroup_open()
   and runtime_cgroup_remove() clean up. */
/* The same cgroup, existing (re-adoption after a daemon restart); ENOENT
   (io.ember.NotFound) when gone from every hierarchy. */
int runtime_cgroup_open(const char *mnt, const char *rel, struct runtime_cgroup **out,
			struct ember_error *e);

/* As create (flags RUNTIME_CGROUP_CREATE) or open, for a version already
   detected (0: detect): the daemon detects once; tests run the v2 logic
   on a directory of regular files. */
#define RUNTIME_CGROUP_CREATE 1
int runtime_cgroup_get(const char *mnt, const char *rel, int version, int flags,
		       struct runtime_cgroup **out, struct ember_error *e);

int runtime_cgroup_version(const struct runtime_cgroup *cg);
/* Whether controller ("memory", "cpu", "cpuacct", "pids", "freezer",
   "cpuset") is there: v1 its hierarchy was found, v2 the cgroup's
   cgroup.controllers lists it ("freezer": v2 always, it is core). */
bool runtime_cgroup_has(const struct runtime_cgroup *cg, const char *controller);

/*
 * Apply an OCI linux.resources object. memory: limit, swap (memory+swap,
 * as the spec says), reservation, swappiness (v1 only; ignored on v2),
 * disableOOMKiller (v1 only), kernel and kernelTCP (deprecated, ignored);
 * cpu: shares, quota, period, realtimeRuntime, realtimePeriod (v1 only),
 * cpus, mems; pids: limit (<= 0: unlimited). devices are not cgroup files
 * here: the executor applies them. Anything else is an error (ENOTSUP),
 * as is a value of the wrong type (EINVAL), naming its JSON path.
 *
 * v1 files: memory.limit_in_bytes, memory.memsw.limit_in_bytes (skipped
 * when absent: no swap accounting), memory.soft_limit_in_bytes,
 * memory.swappiness, memory.oom_control, cpu.shares, cpu.cfs_period_us,
 * cpu.cfs_quota_us, cpu.rt_runtime_us, cpu.rt_period_us, cpuset.cpus,
 * cpuset.mems, pids.max. v2: memory.max, memory.swap.max (swap - limit;
 * skipped when absent), memory.low, cpu.weight (1 + ((shares - 2) * 9999)
 * / 262142, shares clamped to 2 .. 262144, as runc and crun do), cpu.max
 * ("quota period", "max" for no quota), cpuset.cpus, cpuset.mems,
 * pids.max. -1 is "max" (v2) or "-1" (v1).
 */
int runtime_cgroup_set(const struct runtime_cgroup *cg, json_t *resources, struct ember_error *e);

/* Move pid into the cgroup (every hierarchy). */
int runtime_cgroup_enter(const struct runtime_cgroup *cg, pid_t pid, struct ember_error *e);

/*
 * The device cgroup (CONFIG_CGROUP_DEVICES), from lx, the spec's
 * "linux": the rules of resources.devices in their order ({allow, type
 * a|b|c (absent: a), major, minor (absent or -1: any), access: letters
 * of "rwm" (absent: all)}), then what runc 1.1 allows every container:
 * mknod of any node, null, zero, full, random, urandom, tty, ptmx, pts/N,
 * net/tun (not linux.devices' nodes: runc neither). For
 * each kind of access asked (an open for reading and writing asks two)
 * the last rule that names it and matches the device decides; none
 * matching denies. On v2 an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
 * attached to the cgroup, beside those of the cgroups above it
 * (BPF_F_ALLOW_MULTI). On v1, as runc 1.1: "a" to the devices
 * controller's devices.deny, then each rule in order to devices.allow or
 * devices.deny ("c 1:3 rwm"); the kernel's list of exceptions decides
 * there, where a deny only takes access from an allow of exactly its
 * device (so not "last match wins" for overlapping rules). Nothing on
 * v1 without a devices hierarchy, nor in a user namespace (runc neither).
 * A bad rule is EINVAL naming it: "linux.resources.devices[2].access".
 */
int runtime_cgroup_devices(const struct runtime_cgroup *cg, json_t *lx, struct ember_error *e);

/* v2: an O_PATH|O_DIRECTORY fd of the cgroup for clone3's
   CLONE_INTO_CGROUP; -1 on v1. Owned by cg. */
int runtime_cgroup_fd(const struct runtime_cgroup *cg);

/* Freeze or thaw, and wait (at most RUNTIME_CGROUP_WAIT_MS; then
   ETIMEDOUT) until the kernel says it is done: v1 freezer.state
   FROZEN/THAWED, v2 cgroup.freeze and "frozen 1"/"frozen 0" in
   cgroup.events. v1 without a freezer hierarchy: ENOTSUP. */
#define RUNTIME_CGROUP_WAIT_MS 5000
int runtime_cgroup_freeze(const struct runtime_cgroup *cg, bool frozen, struct ember_error *e);

struct runtime_cgroup_stats {
	int64_t memory_usage, memory_max_usage, memory_limit; /* bytes, -1 unknown/unlimited */
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	int64_t pids_current, pids_limit; /* -1 unknown/unlimited */
	uint64_t oom_kills; /* v1: memory.oom_control "oom_kill N" (kernel >= 4.13);
			       v2: memory.events oom_kill */
	bool frozen;
};
/* What the cgroup's files say; what a missing controller or file would
   tell stays unknown (-1, or 0 for the counters). v1 memory limits of
   2^62 and more are the kernel's "unlimited" (PAGE_COUNTER_MAX). */
int runtime_cgroup_stats(const struct runtime_cgroup *cg, struct runtime_cgroup_stats *st,
			 struct ember_error *e);

/* Every pid in the cgroup (cgroup.procs of the first hierarchy on v1),
   malloc'd (NULL when none). */
int runtime_cgroup_pids(const struct runtime_cgroup *cg, pid_t **pids, size_t *n, struct ember_error *e);

/* An fd of file in the cgroup's directory of controller (v2: the one
   directory), opened with flags (O_CLOEXEC and O_NOFOLLOW added): the
   files `ember oci events` reads beyond runtime_cgroup_stats(), and v1's
   memory.oom_control and cgroup.event_control for OOM notifications.
   ENOENT when the controller, the cgroup or the file is not there. */
int runtime_cgroup_open_file(const struct runtime_cgroup *cg, const char *controller, const char *file, int flags,
			     struct ember_error *e);

/* Send sig to every process of the cgroup. v2 SIGKILL: cgroup.kill when
   there. Otherwise over cgroup.procs, again while new processes show up;
   for SIGKILL on v1 with a freezer, frozen first (so none forks or exits
   and has its pid reused meanwhile) and thawed after so the frozen die;
   on v2 thawed after. Processes gone meanwhile are not an error. */
int runtime_cgroup_kill(const struct runtime_cgroup *cg, int sig, struct ember_error *e);

/* rmdir in every hierarchy, retrying on EBUSY for at most
   RUNTIME_CGROUP_WAIT_MS while the last processes exit; gone is fine.
   Then the parents that are now empty, up to but not including rel's
   first component ("ember" of "ember/default/web" stays). */
int runtime_cgroup_remove(const struct runtime_cgroup *cg, struct ember_error *e);

/* Another reference to cg (returned); runtime_cgroup_free() drops one,
   the last frees it. Neither removes the cgroup. */
struct runtime_cgroup *runtime_cgroup_ref(struct runtime_cgroup *cg);
/* Returns NULL. */
struct runtime_cgroup *runtime_cgroup_free(struct runtime_cgroup *cg);

/* ---- seccomp (CONFIG_SECCOMP, seccomp.c) ---- */

/*
 * Seccomp filters, compiled to classic BPF by ember itself (no libseccomp)
 * for x86_64 and aarch64.
 *
 * A profile is Docker's seccomp profile JSON or the runtime spec's
 * linux.seccomp object (the union of both): defaultAction,
 * defaultErrnoRet, architectures, archMap, flags, and syscalls[] with
 * names (or the older "name"), action, errnoRet, args[] ({index 0..5,
 * value, valueTwo, op}), includes and excludes ({caps, arches,
 * minKernel}, as Docker reads them). Actions: SCMP_ACT_ALLOW, _ERRNO,
 * _KILL (= _KILL_THREAD), _KILL_PROCESS, _TRAP, _TRACE, _LOG; operators
 * SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ (value is the mask,
 * valueTwo what the masked argument must equal), compared as unsigned
 * 64-bit numbers; a negative value is taken as its two's complement.
 *
 *  - Syscall names the target's table lacks are skipped, as libseccomp
 *    does, so one profile serves every architecture.
 *  - Architectures in the profile only matter to includes/excludes: the
 *    filter is for the target alone. Any other seccomp_data.arch (i386
 *    via int 0x80, arm32) kills the process; x32 syscalls on x86_64 get
 *    the default action.
 *  - A syscall's rules are tried in profile order, those with argument
 *    conditions (ANDed) before an unconditional one (only the first
 *    unconditional rule counts); none matching gives the default action.
 *  - includes/excludes: caps are the container's effective capabilities
 *    (an unknown name is a capability it does not have); arches are
 *    Docker's Go names ("amd64", "arm64"), libseccomp's
 *    ("SCMP_ARCH_X86_64") or uname's ("x86_64"); minKernel ("4.8") is
 *    compared with the running kernel's uname release.
 *  - errnoRet (default EPERM) is 0..4095, only with SCMP_ACT_ERRNO or
 *    SCMP_ACT_TRACE. SCMP_ACT_NOTIFY is not supported (ENOTSUP).
 *
 * Errors name the JSON path: 'seccomp: syscalls[3].args[0].op: unknown
 * operator "FOO"'.
 */
#define RUNTIME_SECCOMP_PROFILE_MAX ((size_t)1 << 20) /* a --seccomp-profile file */
#define RUNTIME_SECCOMP_SYSCALLS_MAX 4096 /* syscalls[] entries, and names in one */
#define RUNTIME_SECCOMP_RULES_MAX 4096    /* (syscall, rule) pairs after expansion */

struct runtime_seccomp {
	struct sock_filter *insns; /* at most BPF_MAXINSNS */
	size_t len;
	unsigned int flags; /* SECCOMP_FILTER_FLAG_*, from the profile's "flags" */
};

/*
 * Compile profile (NULL: ember's built-in default profile, Docker's
 * default: an allowlist, EPERM for the rest) for the audit architecture
 * arch (AUDIT_ARCH_X86_64 or AUDIT_ARCH_AARCH64; 0: the build's own) and
 * a container whose effective capabilities are caps (bit n: capability
 * n) into *out, to be freed with runtime_seccomp_free(). More than
 * BPF_MAXINSNS instructions is E2BIG.
 */
int runtime_seccomp_compile(json_t *profile, uint32_t arch, uint64_t caps, struct runtime_seccomp *out,
			    struct ember_error *e);
/* Frees s's program (s itself is the caller's); s may be NULL. */
void runtime_seccomp_free(struct runtime_seccomp *s);
/* The filter a checked spec asks for: its linux.seccomp, or ember's
   default where the ember.io/seccomp annotation says "default"; *have 0:
   none (or a build without CONFIG_SECCOMP). */
int runtime_seccomp_for(json_t *spec, struct runtime_seccomp *sc, int *have, struct ember_error *e);

/*
 * Install s in the calling thread (seccomp(2) SECCOMP_SET_MODE_FILTER with
 * s->flags; prctl(PR_SET_SECCOMP) where seccomp(2) is missing). The
 * caller has set no_new_privs or holds CAP_SYS_ADMIN. Allocates nothing:
 * it runs in a freshly cloned child just before execve.
 */
int runtime_seccomp_load(const struct runtime_seccomp *s, struct ember_error *e);

/*
 * A --seccomp-profile FILE: a regular file of at most
 * RUNTIME_SECCOMP_PROFILE_MAX bytes, a JSON profile that compiles for the
 * build's architecture. *out is an owned reference. Errors start with
 * the path.
 */
int runtime_seccomp_profile_read(const char *path, json_t **out, struct ember_error *e);

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
 *                  line without a newline, "ERRNO STEP TEXT" (STEP exec when
 *                  the application could not be executed, else setup),
 *                  then init exits 127 (2 for bad options) and writes no
 *                  exit file, e.g.
 *                      2 exec exec "/bin/foo": no such file or directory
 *                      13 exec exec "foo": permission denied
 *                      22 setup --log-max: at least 4096 bytes
 *                  Without it TEXT goes to stderr after "ember init: ".
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
 *   --pty-fd N     with --log-fd: the master of the terminal that is the
 *                  application's stdio (inherited from init, which gives
 *                  up its own copies of the slave once the application
 *                  runs). init copies what the master gives into the log
 *                  files instead of a pipe's output, and keeps N open for
 *                  as long as init runs (also once the master reads EIO):
 *                  the daemon takes a copy (pidfd_getfd) for a client that
 *                  attaches.
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
#define RUNTIME_INIT_OPT_PTY_FD "--pty-fd"
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
