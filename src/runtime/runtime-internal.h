/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_RUNTIME_INTERNAL_H
#define EMBER_RUNTIME_INTERNAL_H

/* Shared by the files of src/runtime/ only. */

#include <stdint.h>
#include <sys/syscall.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/pb.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Input-derived text for messages: see err_quote(). */
#define RT_QUOTE_MAX ERR_QUOTE_MAX
#define rt_quote err_quote

/* io.ember.InvalidArgument with EINVAL (rt_bad) or ENOTSUP. */
#define rt_bad err_invalid
#define rt_unsupported err_unsupported
int rt_oom(struct ember_error *e);

/* ---- the device cgroup's program (cgroup-devices.c) ---- */

/* The eBPF program of runtime_cgroup_devices() for lx: *n instructions
   (struct bpf_insn of linux/bpf.h), malloc()ed. */
struct bpf_insn;
int rt_devices_program(json_t *lx, struct bpf_insn **out, size_t *n, struct ember_error *e);

/* ---- capabilities (spec.c) ---- */

/* Every capability ember knows, CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE. */
#define RT_CAP_COUNT 41
#define RT_CAP_ALL ((UINT64_C(1) << RT_CAP_COUNT) - 1)

/* The name of capability n without "CAP_" ("CHOWN"), NULL when unknown. */
const char *rt_cap_name(int n);
/* The number of "CAP_CHOWN", "chown", ...; -1 when unknown. exact: only
   the canonical "CAP_CHOWN" spelling. */
int rt_cap_lookup(const char *s, int exact);

/* ---- paths ---- */

/* s is absolute ('/' first). */
int rt_path_absolute(const char *s);
/* s has a ".." component. */
int rt_path_has_dotdot(const char *s);

/* ---- specs (spec-check.c) ---- */

/* A spec mount object: destination (absolute, no ".."), type, source,
   options (strings); bind mounts need a source. Messages start with
   what ("spec: mounts[2]"). */
int rt_mount_check(const char *what, json_t *m, struct ember_error *e);

/* The RLIMIT_* number of "RLIMIT_NOFILE", ...; -1 when unknown. */
int rt_rlimit_lookup(const char *name);
/* ioprio_set(2)'s class of "IOPRIO_CLASS_BE", ... (1 .. 3); -1 when
   unknown. */
int rt_ioprio_class(const char *name);
/* personality(2)'s domain of linux.personality.domain "LINUX" (0) or
   "LINUX32"; -1 when unknown. */
int rt_personality_domain(const char *name);
/* linux.timeOffsets' clocks, as /proc/PID/timens_offsets names them. */
#define RT_TIME_CLOCKS 2
extern const char *const rt_time_clocks[RT_TIME_CLOCKS];

/* ---- users (user.c) ---- */

struct rt_user {
	char user[RUNTIME_USER_MAX + 1];
	char group[RUNTIME_USER_MAX + 1]; /* "" when none */
	int user_numeric, group_numeric;
	uint32_t uid, gid; /* when numeric */
};

/* "user[:group]" split and checked: each part 1 .. RUNTIME_USER_MAX
   characters without control characters, spaces, ':', ',' or '/'; ids are
   decimal, 0 .. 2^32-2. what names the option in messages ("user"). */
int rt_user_parse(const char *what, const char *s, struct rt_user *u, struct ember_error *e);

/* ---- the new mount API (linux/mount.h clashes with sys/mount.h) ---- */

#define RT_MS_PRIVATE (1 << 18)
#define RT_MOUNT_ATTR_RDONLY 0x00000001
#define RT_MOUNT_ATTR_NOSUID 0x00000002
#define RT_MOUNT_ATTR_NODEV 0x00000004
#define RT_MOUNT_ATTR_NOEXEC 0x00000008
#define RT_MOUNT_ATTR__ATIME 0x00000070
#define RT_MOUNT_ATTR_RELATIME 0x00000000
#define RT_MOUNT_ATTR_NOATIME 0x00000010
#define RT_MOUNT_ATTR_STRICTATIME 0x00000020
#define RT_MOUNT_ATTR_NODIRATIME 0x00000080
#define RT_MOUNT_ATTR_IDMAP 0x00100000
#define RT_MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#define RT_FSCONFIG_SET_FLAG 0
#define RT_FSCONFIG_SET_STRING 1
#define RT_FSCONFIG_SET_FD 5
#define RT_FSCONFIG_CMD_CREATE 6
#define RT_FSOPEN_CLOEXEC 1
#define RT_FSMOUNT_CLOEXEC 1

/* mount_setattr()'s argument (MOUNT_ATTR_SIZE_VER0). */
struct rt_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* ---- in a child cloned out of the daemon ---- */

/* The daemon has threads, and the clone copies the state of musl's locks
   as they were: musl's setgroups() and setrlimit() apply to every thread
   of the process through a lock (__synccall) that another thread may have
   held at that moment, and would wait on it for ever in the child. The
   child makes the system calls itself. 32-bit arm and i386 take 32-bit
   ids only in the calls named *32. */
#ifdef SYS_setresuid32
#define RT_SYS_SETRESUID SYS_setresuid32
#define RT_SYS_SETRESGID SYS_setresgid32
#define RT_SYS_SETGROUPS SYS_setgroups32
#else
#define RT_SYS_SETRESUID SYS_setresuid
#define RT_SYS_SETRESGID SYS_setresgid
#define RT_SYS_SETGROUPS SYS_setgroups
#endif

/* ---- user namespaces (userns.c), the parent's side ---- */

/* Write lx's uidMappings and gidMappings for pid, just cloned into a new
   user namespace. */
int rt_userns_maps(pid_t pid, json_t *lx, struct ember_error *e);
/* The host ids of the container's root in lx's maps (-1: not mapped). */
void rt_userns_root(json_t *lx, long long *uid, long long *gid);
/* A new user namespace of lx's maps, made here (a descriptor): for a child
   that joins namespaces by path first, as the daemon, then this one. */
int rt_userns_new(json_t *lx, struct ember_error *e);
/* The user namespace at fd (opened from path), to be joined: a user
   namespace not ember's own, whose maps are lx's if lx has any (as runc
   checks them); the host ids of its root into *uid, *gid (-1: none). */
int rt_userns_join(int fd, const char *path, json_t *lx, long long *uid, long long *gid, struct ember_error *e);
/* s's root file system as a detached mount (a descriptor) for the user
   namespace at userns, whose root is host ids ru, rg (-1: none): overlay
   on idmapped lower layers, or an idmapped bind of a directory. */
int rt_userns_rootfs(const struct runtime_start *s, int userns, long long ru, long long rg, struct ember_error *e);
/* A private, detached copy (open_tree) of the tree at path: recursive, made
   read-only, its ids shifted into the user namespace at userns (-1: not).
   Errors name the path. */
int rt_detached_tree(const char *path, int userns, int recursive, int rdonly, struct ember_error *e);
/* Mount m's source as an idmapped bind (a detached tree, private): its
   ids shifted by m's uidMappings and gidMappings, on the top mount (idmap)
   or the whole tree (ridmap, mo->idmap 2). */
struct mount_options;
int rt_idmapped_bind(json_t *m, const struct mount_options *mo, struct ember_error *e);

/* ---- reports of a failed start (report.c) ---- */

/*
 * A step that failed, as the executor's child and ember init report it
 * on the report socket: one message (no newline)
 *
 *     ERRNO STEP TEXT
 *
 * ERRNO in decimal (0: none), STEP "setup" (anything before the
 * application runs) or "exec" (the application itself could not be
 * executed), TEXT one line: `2 exec exec "/bin/foo": no such file or
 * directory`. The executor turns it into an error with that errno and
 * text (io.ember.ExecFailed for "exec"), so callers keep the real errno.
 */
enum { RT_STEP_SETUP, RT_STEP_EXEC };
/* Into buf, without allocating (the cloned child uses it); its length. */
size_t rt_report_format(char *buf, size_t size, int err, int step, const char *text);
/* A report into e; -errno. Anything else is EIO, quoting it. */
int rt_report_parse(const char *msg, struct ember_error *e);

/* ---- ember init (init.c), exposed for the unit tests ---- */

struct rt_init_options {
	int report_fd, exit_fd; /* -1 when not given */
	int pty_fd;             /* -1 when not given */
	int log_fd[2];          /* -1 -1 when not logging */
	uint64_t log_max;
	char **argv; /* PATH ARG..., NULL-terminated (points into argv) */
};

/* The options of `ember init` (argv[0] skipped). o->report_fd is set as
   soon as it is parsed, so that even a later error can go there. */
int rt_init_parse(int argc, char **argv, struct rt_init_options *o, struct ember_error *e);

/* Whether a chunk of n bytes makes the log switch files: the current file
   holds size bytes and would pass max (an empty file takes any chunk). */
static inline int rt_init_log_full(uint64_t size, uint64_t n, uint64_t max)
{
	return size > 0 && size + n > max;
}

/* The exit file's JSON for the wait status st of pid, exited at `at`
   (RFC 3339); its length, or -1 when buf is too small. */
int rt_init_exit_json(char *buf, size_t size, pid_t pid, int st, const char *at);

/* The report line for a failed exec of prog: "exec \"prog\": <strerror in
   lower case>"; interp: the file exists, so an ENOENT means its ELF or #!
   interpreter is missing, and the line says so. */
void rt_init_exec_message(char *buf, size_t size, const char *prog, int err, int interp);

/* ---- CRIU's RPC messages (criu-rpc.c, CONFIG_CHECKPOINT): pure ---- */

/*
 * criu_req, criu_opts and criu_resp of CRIU's images/rpc.proto, only the
 * fields ember uses (numbers in criu-rpc.c). Strings and arrays are
 * borrowed; a NULL string or an empty array is not sent.
 */
enum rt_criu_req_type {
	RT_CRIU_EMPTY = 0,
	RT_CRIU_DUMP = 1,
	RT_CRIU_RESTORE = 2,
	RT_CRIU_CHECK = 3,
	RT_CRIU_NOTIFY = 6,
	RT_CRIU_VERSION = 10,
};

enum { RT_CRIU_CG_SOFT = 3, RT_CRIU_CG_FULL = 4 }; /* criu_cg_mode */
enum { RT_CRIU_NETLOCK_IPTABLES = 1, RT_CRIU_NETLOCK_NFTABLES = 2 }; /* criu_network_lock_method */

struct rt_criu_kv {
	const char *key, *val;
};
struct rt_criu_inherit {
	const char *key;
	int fd; /* in criu's own fd table */
};

struct rt_criu_opts {
	int images_dir_fd; /* the caller's fd; criu opens /proc/<peer>/fd/N */
	int work_dir_fd;   /* -1: not sent */
	pid_t pid;         /* dump: the tree's root */
	const char *log_file; /* in work_dir */
	int log_level;        /* 0: not sent */
	const char *root;     /* restore: where the root file system is */
	bool leave_running, tcp_established, file_locks;
	bool manage_cgroups, rst_sibling;
	/* A pty slave whose master is outside the tree (a terminal's master
	   sent to a console socket): dumped without it; a restore makes a
	   master and sends it in the "orphan-pts-master" notification,
	   which needs notify_scripts. */
	bool orphan_pts_master, notify_scripts;
	int manage_cgroups_mode; /* 0: not sent */
	int network_lock;        /* 0: not sent (CRIU's default, iptables) */
	const struct rt_criu_kv *ext_mnt;
	size_t n_ext_mnt;
	const struct rt_criu_inherit *inherit_fd;
	size_t n_inherit_fd;
	const char *const *external;
	size_t n_external;
};

/* A criu_req of type, with o (NULL: no opts, for CHECK, VERSION, NOTIFY)
   and notify_success (a NOTIFY's answer) into out (pb_buf_done() it). */
int rt_criu_req_encode(enum rt_criu_req_type type, const struct rt_criu_opts *o, bool notify_success,
		       struct pb_buf *out, struct ember_error *e);

#define RT_CRIU_ERRMSG_MAX 256
struct rt_criu_resp {
	int type;
	bool success;
	int cr_errno;                       /* 0: not sent */
	char cr_errmsg[RT_CRIU_ERRMSG_MAX]; /* "" or printable ASCII, cut */
	bool dump_restored;
	pid_t restore_pid;                  /* 0: not sent */
	char notify_script[64];             /* a NOTIFY: the action's name, cut */
	pid_t notify_pid;
	int version_major, version_minor, version_sublevel; /* -1: not sent */
};

/* A criu_resp from CRIU (untrusted bytes): -EBADMSG naming what is wrong
   when malformed or when a required field is missing. Unknown fields are
   skipped, as proto2 does. */
int rt_criu_resp_decode(const void *data, size_t len, struct rt_criu_resp *r, struct ember_error *e);

#endif
