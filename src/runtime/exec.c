/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The executor: a container's PID 1 cloned straight from the daemon (no
 * shim, no runc). The parent turns the spec into flat arrays first; the
 * child only makes system calls: the daemon has worker threads, so after
 * the clone no lock (malloc, stdio) may be taken. It reads the spec's JSON
 * (lookups in jansson never allocate) and formats messages into stack
 * buffers.
 *
 * The parent and the child talk over a SOCK_SEQPACKET pair. The parent
 * says "go" once the child is in its cgroup and has its id maps; the child
 * answers with one text message when a step fails ('mount "/proc":
 * operation not permitted') and exits, or sends the terminal's master
 * (SCM_RIGHTS, a message starting with RT_MSG_TTY). `ember init` inherits
 * the child's end and reports a failed exec of the application the same
 * way; the end closes (EOF without a message) once the application runs.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/mount.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC 4
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

#define RT_MSG_TTY '\001'
#define RT_MSG_USER '\002' /* the child asks for the ids of s->user */
#define RT_MSG_PID '\003'  /* exec: the process in the task's pid namespace (pid, pidfd) */
#define RT_MSG_PTY_FD '\004' /* pty_to_init: the master's number in init (an int) */
#define RT_MSG_GATED '\005'  /* start_gate: set up, waiting at the gate */
#define RT_MSG_HOOKS '\006'  /* hooks_parent: the rootfs is mounted, run them */

struct rt_ids {
	uint32_t uid, gid, n;
	gid_t groups[RUNTIME_GROUPS_MAX];
};
#define RT_MAX_BINDS 128
#define RT_MAX_RLIMITS 16
#define RT_MAX_NODES 64 /* linux.devices */
#define RT_SETUP_TIMEOUT_MS 10000
#define RT_MAX_PRESERVE_FDS 1024

/* clone3's argument, as far as ember uses it (CLONE_ARGS_SIZE_VER2). */
struct rt_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

struct rt_caps {
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* Everything the child needs that is not a lookup in the spec. */
struct rt_plan {
	const struct runtime_start *s;
	json_t *spec, *process, *lx;
	uint64_t clone_flags;
	int unshare_cgroup;
	int ns_fd[8], ns_type[8];
	size_t n_ns;
	int has_userns, host_cgroup2;
	/* Namespaces joined by path with a user namespace (or a pid namespace
	   by path): the child joins those first, as the daemon, then the user
	   namespace (userns_fd: one given by path, or a new one made here),
	   then unshares the new ones, which that one owns, and clones PID 1
	   into them (child_join()). */
	int join_first;
	int userns_fd;
	long long root_uid, root_gid; /* a user namespace's root, as host ids (-1: none) */
	int setgroups_deny;           /* the user namespace joined denies setgroups() */
	char *const *argv;
	char *const *envp;
	size_t argc;
	uid_t uid;
	gid_t gid;
	gid_t groups[RUNTIME_GROUPS_MAX];
	size_t n_groups;
	struct rt_caps caps;
	int last_cap;
	struct {
		int resource;
		struct rlimit r;
	} rlimits[RT_MAX_RLIMITS];
	size_t n_rlimits;
	int nnp, terminal;
	int personality; /* -1: leave it */
	int ioprio;      /* ioprio_set()'s value; -1: leave it */
	int unshare_time; /* a new time namespace: unshare, offsets, then exec */
	int in_chroot; /* the daemon runs in a chroot: see mount_rootfs() */
	int bind_fd[RT_MAX_BINDS]; /* by spec mount index; -1: not a bind */
	int sock;                  /* the child's end */
	/* A user namespace: the rootfs comes mounted from the parent, bind
	   sources are taken by the parent too, device nodes are bound from the
	   host's (no mknod there). */
	int root_mnt;
	int pty_master; /* pty_to_init */
	int dev_fd[6];
	int node_fd[RT_MAX_NODES]; /* linux.devices' nodes, bound from the host's in a user namespace */
};

/* ---- the child ------------------------------------------------------------------------ */

/* One message, and the descriptor it carries (into *fd, replacing one
   there). No allocation: the child uses it too. */
static int recv_msg(int sock, char *buf, size_t size, int *fd)
{
	struct iovec iov = { buf, size - 1 };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };

	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(h), sizeof(int));
			if (*fd >= 0)
				close(*fd);
			*fd = got;
		}
	return (int)n;
}


/* "No such file or directory" -> "no such file or directory". */
static void errno_text(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* Report step, err and "what: errno text" to the parent (the report
   format of runtime-internal.h) and die. */
__attribute__((noreturn)) static void child_report(const struct rt_plan *p, int step, int err, const char *fmt,
						   va_list ap)
{
	char text[1024], et[128], msg[1100];

	int n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	if (err) {
		errno_text(err, et, sizeof(et));
		snprintf(text + n, sizeof(text) - (size_t)n, ": %s", et);
	}
	size_t len = rt_report_format(msg, sizeof(msg), err, step, text);
	(void)!write(p->sock, msg, len);
	_exit(127);
}

__attribute__((noreturn, format(printf, 3, 4))) static void child_fail(const struct rt_plan *p, int err,
								      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_report(p, RT_STEP_SETUP, err, fmt, ap);
}

/* The application itself could not be executed. */
__attribute__((noreturn, format(printf, 3, 4))) static void exec_fail(const struct rt_plan *p, int err,
								     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_report(p, RT_STEP_EXEC, err, fmt, ap);
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, strlen(data));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(data) ? 0 : -1;
}

/* mkdir -p inside the current root; the last component as a file when
   file (a bind mount of a file needs a file to cover). */
static int make_target(const char *path, int file)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *q = buf + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*q = '/';
	}
	if (file) {
		int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 && errno != EISDIR)
			return -1;
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A mount target must not be reached through a magic link (/proc/self/fd/N
   of a descriptor the child still holds would lead out of the root). */
static int target_safe(const char *path)
{
#ifdef SYS_openat2
	struct {
		uint64_t flags, mode, resolve;
	} how = { O_PATH | O_CLOEXEC, 0, 0x02 /* RESOLVE_NO_MAGICLINKS */ };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	if (errno == ENOSYS)
		return 0;
	return -1;
#else
	(void)path;
	return 0;
#endif
}

/* A new network namespace has only lo, and down. */
static void loopback_up(const struct rt_plan *p)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		child_fail(p, errno, "bring up lo: socket");
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(p, errno, "bring up lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(p, errno, "bring up lo");
	close(fd);
}

static void mount_rootfs(struct rt_plan *p)
{
	const struct runtime_start *s = p->s;
	unsigned long prop = MS_PRIVATE | MS_REC;
	const char *rp = json_string_value(json_object_get(p->lx, "rootfsPropagation"));
	struct mount_options mo;
	struct ember_error e;

	if (rp) {
		if (!strcmp(rp, "slave") || !strcmp(rp, "rslave"))
			prop = MS_SLAVE | MS_REC;
		else if (!strcmp(rp, "shared") || !strcmp(rp, "rshared"))
			prop = MS_SHARED | MS_REC;
	}
	/* Nothing the container mounts may reach the host's mount table.
	   Shared and unbindable are set on the rootfs's tree only
	   (enter_rootfs()): pivot_root refuses a shared parent or new root
	   (enter_root()), and an unbindable tree could not be bound. */
	unsigned long first = (prop & MS_SHARED) ? (MS_SLAVE | MS_REC) : prop;
	if (mount(NULL, "/", NULL, first, NULL) < 0) {
		if (errno != EINVAL)
			child_fail(p, errno, "make the mounts private");
		/* "/" is not a mount point: the daemon runs in a chroot. Make it
		   one (a recursive bind of the whole tree, entered by chroot) so
		   that propagation and pivot_root work; the container's root
		   then hangs below the chroot's own tree, so it loses
		   CAP_SYS_CHROOT, the way to climb out of a root that is not
		   the namespace's. */
		if (mount("/", s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(s->rootfs) < 0 || chroot(".") < 0 ||
		    chdir("/") < 0)
			child_fail(p, errno, "make \"/\" a mount point (ember runs in a chroot)");
		p->in_chroot = 1;
		if (mount(NULL, "/", NULL, first, NULL) < 0)
			child_fail(p, errno, "make the mounts private");
	}
	if (p->root_mnt >= 0) {
		/* At the rootfs's own path, as runc has it, where the
		   createContainer hooks look, when the namespace's root can
		   reach it. Often it cannot (a root-only store; and a descriptor
		   of the directory would name the host's mount, not this
		   namespace's copy): stack the rootfs on "/" then, for
		   pivot_root. Paths keep resolving from the old root until then:
		   a walk starts at the root and only crosses mounts below it. */
		if (syscall(SYS_move_mount, p->root_mnt, "", AT_FDCWD, s->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0 &&
		    syscall(SYS_move_mount, p->root_mnt, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
			child_fail(p, errno, "attach the rootfs");
		return;
	}
	if (s->rootfs_mounts) {
		size_t i;
		json_t *m;
		json_array_foreach(s->rootfs_mounts, i, m) {
			const char *type = json_string_value(json_object_get(m, "type"));
			const char *src = json_string_value(json_object_get(m, "source"));
			if (mount_options_parse(json_object_get(m, "options"), &mo, s->rootfs, &e) < 0)
				child_fail(p, 0, "mount the rootfs: %s", e.message);
			int bind = !strcmp(type, "bind") || (mo.flags & MS_BIND);
			unsigned long fl = mo.flags | (bind ? MS_BIND : 0);
			if (mount(src, s->rootfs, bind ? NULL : type, bind ? fl & ~MS_RDONLY : fl,
				  mo.data[0] ? mo.data : NULL) < 0) {
				if (errno == ENODEV)
					child_fail(p, ENODEV, "mount the rootfs: this kernel has no %s file system (%s)", type,
						   *mount_fs_kconfig(type) ? mount_fs_kconfig(type) : "its module not loaded?");
				child_fail(p, errno, "mount the rootfs (%s) on \"%s\"", type, s->rootfs);
			}
			if (bind && (fl & MS_RDONLY) &&
			    mount(NULL, s->rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
				child_fail(p, errno, "make the rootfs read-only");
		}
	} else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		child_fail(p, errno, "bind the rootfs \"%s\"", s->rootfs);
	}
}

/* In a user namespace, a new proc or sysfs is refused once no instance of
   it is fully visible (the host's goes with pivot_root): make them while
   the host's is there, attach them after, like binds. Without a network
   namespace of its own, sysfs cannot be made at all: the host's is bound
   (read-only when asked), as runc does. */
static int early_fs(const struct rt_plan *p, const char *type, const struct mount_options *mo, const char *dst,
		    int host_sys)
{
	unsigned long flags = mo->flags;
	unsigned attrs = ((flags & MS_RDONLY) ? RT_MOUNT_ATTR_RDONLY : 0) | ((flags & MS_NOSUID) ? RT_MOUNT_ATTR_NOSUID : 0) |
			 ((flags & MS_NODEV) ? RT_MOUNT_ATTR_NODEV : 0) | ((flags & MS_NOEXEC) ? RT_MOUNT_ATTR_NOEXEC : 0);
	int sysfs = !strcmp(type, "sysfs");

	if (sysfs && host_sys) {
		long fd = syscall(SYS_open_tree, AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fd < 0)
			child_fail(p, errno, "mount \"%s\": bind the host's /sys", dst);
		struct rt_mount_attr a = { .attr_set = attrs };
		if (attrs && syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
			child_fail(p, errno, "mount \"%s\": the host's /sys with the mount's options", dst);
		return (int)fd;
	}
	long fs = syscall(SYS_fsopen, type, RT_FSOPEN_CLOEXEC);
	if (fs < 0)
		child_fail(p, errno, "mount \"%s\" (%s)", dst, type);
	/* The file system's own options ("hidepid=2,subset=pid"), one by one. */
	char data[sizeof(mo->data)];
	memcpy(data, mo->data, sizeof(data));
	for (char *opt = data, *next; opt && *opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		char *eq = strchr(opt, '=');
		if (eq)
			*eq++ = '\0';
		if (syscall(SYS_fsconfig, (int)fs, eq ? RT_FSCONFIG_SET_STRING : RT_FSCONFIG_SET_FLAG, opt, eq, 0) < 0)
			child_fail(p, errno, "mount \"%s\" (%s): option \"%s\"", dst, type, opt);
	}
	if (syscall(SYS_fsconfig, (int)fs, RT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		child_fail(p, errno, "mount \"%s\" (%s)", dst, type);
	long fd = syscall(SYS_fsmount, (int)fs, RT_FSMOUNT_CLOEXEC, attrs);
	if (fd < 0)
		child_fail(p, errno, "mount \"%s\" (%s)", dst, type);
	close((int)fs);
	return (int)fd;
}

/* With a user namespace, a network namespace joined by path is not its
   own: its sysfs is made by the daemon's child, in it, before it joins
   the user namespace (there the host's /sys would be bound instead,
   which shows the host's network). */
static void joined_net_sysfs(struct rt_plan *p)
{
	json_t *m;
	size_t i;
	struct mount_options mo;
	struct ember_error e;

	json_array_foreach(json_object_get(p->spec, "mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *dst = json_string_value(json_object_get(m, "destination"));
		if (!type || strcmp(type, "sysfs"))
			continue;
		if (mount_options_parse(json_object_get(m, "options"), &mo, dst, &e) < 0)
			child_fail(p, 0, "%s", e.message);
		p->bind_fd[i] = early_fs(p, type, &mo, dst, 0);
	}
}

/* Bind sources are host paths: take them (open_tree) before
   enter_rootfs() hides the host, attach them after. */
static void open_binds(struct rt_plan *p)
{
	json_t *mounts = json_object_get(p->spec, "mounts"), *m;
	size_t i;
	struct mount_options mo;
	struct ember_error e;
	int dev_tmpfs = 0;

	json_array_foreach(mounts, i, m) {
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *dst = json_string_value(json_object_get(m, "destination"));
		if (mount_options_parse(json_object_get(m, "options"), &mo, dst, &e) < 0)
			child_fail(p, 0, "%s", e.message);
		/* Nodes are bound only where /dev will be a tmpfs (make_dev()). */
		if (type && dst && !strcmp(type, "tmpfs") && !strcmp(dst, "/dev"))
			dev_tmpfs = 1;
		if (p->has_userns && type && (!strcmp(type, "proc") || !strcmp(type, "sysfs"))) {
			/* (A joined network's sysfs is made already: joined_net_sysfs().) */
			if (p->bind_fd[i] < 0)
				p->bind_fd[i] = early_fs(p, type, &mo, dst, !(p->clone_flags & CLONE_NEWNET));
			continue;
		}
		if (!(type && !strcmp(type, "bind")) && !(mo.flags & MS_BIND))
			continue;
		if (p->bind_fd[i] >= 0)
			continue; /* taken by the parent */
		long fd = syscall(SYS_open_tree, AT_FDCWD, src,
				  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((mo.flags & MS_REC) ? AT_RECURSIVE : 0));
		if (fd < 0)
			child_fail(p, errno, "bind mount \"%s\": source \"%s\"", dst, src);
		p->bind_fd[i] = (int)fd;
	}
	json_array_foreach(p->has_userns ? json_object_get(p->lx, "devices") : NULL, i, m) {
		const char *path = json_string_value(json_object_get(m, "path"));
		if (!strcmp(json_string_value(json_object_get(m, "type")) ?: "", "p"))
			continue; /* a FIFO it may make */
		long fd = syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fd < 0)
			child_fail(p, errno, "linux.devices: bind \"%s\" from the host (a user namespace cannot mknod)", path);
		p->node_fd[i] = (int)fd;
	}
	for (i = 0; p->has_userns && dev_tmpfs && i < ARRAY_SIZE(dev_nodes); i++) {
		long fd = syscall(SYS_open_tree, AT_FDCWD, dev_nodes[i].name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fd < 0)
			child_fail(p, errno, "bind \"%s\" from the host", dev_nodes[i].name);
		p->dev_fd[i] = (int)fd;
	}
}

/* rootfsPropagation's shared or unbindable (private and slave are
   mount_rootfs()'s); 0 for neither. */
static unsigned long root_propagation(const struct rt_plan *p)
{
	const char *rp = json_string_value(json_object_get(p->lx, "rootfsPropagation"));

	return !rp ? 0 : strstr(rp, "shared") ? MS_SHARED : strstr(rp, "unbindable") ? MS_UNBINDABLE : 0;
}

/* The spec's mounts go in before pivot_root, as runc's do, so that the
   createContainer hooks find them under the rootfs: chroot into it for
   that, so each destination (and a symlink on its way) resolves inside
   the rootfs as it would once it is the root; the descriptor returned
   is the root to come back to (leave_rootfs()). */
static int enter_rootfs(const struct rt_plan *p)
{
	int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host < 0)
		child_fail(p, errno, "open \"/\"");
	if ((p->root_mnt >= 0 ? fchdir(p->root_mnt) : chdir(p->s->rootfs)) < 0 || chroot(".") < 0)
		child_fail(p, errno, "enter \"%s\"", p->s->rootfs);
	/* Shared or unbindable before the mounts, which then get what they
	   got when this came after pivot_root: under a shared parent a mount
	   is shared, under an unbindable one private, and a mount's own
	   propagation option still has the last word. */
	unsigned long prop = root_propagation(p);
	if (prop && mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
		child_fail(p, errno, "rootfsPropagation \"%s\"",
			   json_string_value(json_object_get(p->lx, "rootfsPropagation")));
	return host;
}

/* Back to the root pivot_root needs (it must be the namespace's root, or
   the chroot's mount that mount_rootfs() made). */
static void leave_rootfs(const struct rt_plan *p, int host)
{
	if (fchdir(host) < 0 || chroot(".") < 0)
		child_fail(p, errno, "leave \"%s\"", p->s->rootfs);
	close(host);
}

static void enter_root(const struct rt_plan *p)
{
	unsigned long prop = root_propagation(p);

	if ((p->root_mnt >= 0 ? fchdir(p->root_mnt) : chdir(p->s->rootfs)) < 0)
		child_fail(p, errno, "chdir \"%s\"", p->s->rootfs);
	/* pivot_root refuses a shared new root: its own mount is private for
	   the move (the mounts below keep theirs), shared again after. */
	if (prop == MS_SHARED && mount(NULL, ".", NULL, MS_PRIVATE, NULL) < 0)
		child_fail(p, errno, "make the rootfs private for pivot_root");
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		struct statfs sf;
		/* The initial root (an initramfs) cannot be pivoted away from. */
		if (errno == EINVAL && statfs("/", &sf) == 0 &&
		    ((uint32_t)sf.f_type == RAMFS_MAGIC || (uint32_t)sf.f_type == TMPFS_MAGIC))
			child_fail(p, EINVAL,
				   "pivot_root: the system runs from its initramfs, whose root cannot be pivoted away "
				   "from: switch_root to a tmpfs at boot first");
		child_fail(p, errno, "pivot_root \"%s\"", p->s->rootfs);
	}
	/* The old root is stacked under the new one: detach it. */
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(p, errno, "detach the old root");
	if (chdir("/") < 0)
		child_fail(p, errno, "chdir \"/\"");
	if (prop == MS_SHARED && mount(NULL, "/", NULL, MS_SHARED, NULL) < 0)
		child_fail(p, errno, "rootfsPropagation \"%s\"",
			   json_string_value(json_object_get(p->lx, "rootfsPropagation")));
}

/* A bind's flags (MS_RDONLY, MS_NOSUID...) on its detached tree's top
   mount, as mount_setattr() attributes; -1 with errno. */
static int bind_attrs(int fd, unsigned long fl)
{
	struct rt_mount_attr a = { 0 };

	if (fl & MS_RDONLY)
		a.attr_set |= RT_MOUNT_ATTR_RDONLY;
	if (fl & MS_NOSUID)
		a.attr_set |= RT_MOUNT_ATTR_NOSUID;
	if (fl & MS_NODEV)
		a.attr_set |= RT_MOUNT_ATTR_NODEV;
	if (fl & MS_NOEXEC)
		a.attr_set |= RT_MOUNT_ATTR_NOEXEC;
	if (fl & MS_NODIRATIME)
		a.attr_set |= RT_MOUNT_ATTR_NODIRATIME;
	if (fl & MOUNT_MS_NOSYMFOLLOW)
		a.attr_set |= RT_MOUNT_ATTR_NOSYMFOLLOW;
	if (fl & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
		a.attr_clr |= RT_MOUNT_ATTR__ATIME;
		a.attr_set |= (fl & MS_NOATIME)	      ? RT_MOUNT_ATTR_NOATIME
			      : (fl & MS_STRICTATIME) ? RT_MOUNT_ATTR_STRICTATIME
						      : RT_MOUNT_ATTR_RELATIME;
	}
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof(a));
}

/* The v1 hierarchies a container has a cgroup of: those with one of the
   controllers ember places it in (runtime/cgroup.c; devices with
   CONFIG_CGROUP_DEVICES). Others would show the daemon's cgroup. */
static int v1_own(const char *ctrls, size_t n)
{
	static const char *const own[] = { "cpu", "cpuacct", "memory", "pids", "freezer", "cpuset", "devices" };
	size_t n_own = ARRAY_SIZE(own) - !ENABLED(CONFIG_CGROUP_DEVICES);

	for (const char *c = ctrls, *end = ctrls + n; c < end;) {
		size_t k = strcspn(c, ",:");
		for (size_t i = 0; i < n_own; i++)
			if (strlen(own[i]) == k && !strncmp(c, own[i], k))
				return 1;
		c += k + 1;
	}
	return 0;
}

/* Docker's v1 layout at dst: a tmpfs with one directory per hierarchy
   (cpu and cpuacct as links to "cpu,cpuacct"), each mounted from the
   cgroup namespace, so its root is the container's own cgroup. In the
   child: no allocation, only system calls. -1 with errno. */
static int cgroup_v1_layout(const char *dst, unsigned long fl)
{
	char buf[2048], path[PATH_MAX], alias[PATH_MAX];
	ssize_t n = -1;

	if (mount("cgroup", dst, "tmpfs", (fl & ~MS_RDONLY), "mode=755,size=4k") < 0)
		return -1;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	/* Lines "ID:CONTROLLERS:PATH"; the v2 one has no controllers. */
	for (char *line = buf, *nl; n > 0 && line < buf + n; line = nl + 1) {
		if (!(nl = memchr(line, '\n', (size_t)(buf + n - line))))
			break;
		char *ctrls = memchr(line, ':', (size_t)(nl - line));
		char *end = ctrls ? memchr(ctrls + 1, ':', (size_t)(nl - ctrls - 1)) : NULL;
		if (!end || end == ctrls + 1 || !v1_own(ctrls + 1, (size_t)(end - ctrls - 1)))
			continue;
		*end = '\0';
		ctrls++;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dst, ctrls) >= sizeof(path))
			continue;
		if ((mkdir(path, 0755) < 0 && errno != EEXIST) || mount("cgroup", path, "cgroup", fl, ctrls) < 0)
			return -1;
		for (char *c = ctrls; strchr(ctrls, ',') && *c;) {
			size_t k = strcspn(c, ",");
			if ((size_t)snprintf(alias, sizeof(alias), "%s/%.*s", dst, (int)k, c) < sizeof(alias))
				(void)symlink(ctrls, alias);
			c += k + (c[k] == ',');
		}
	}
	if ((fl & MS_RDONLY) && mount(NULL, dst, NULL, MS_REMOUNT | fl, "mode=755,size=4k") < 0)
		return -1;
	return 0;
}

static void do_mounts(const struct rt_plan *p)
{
	json_t *mounts = json_object_get(p->spec, "mounts"), *m;
	size_t i;
	struct mount_options mo;
	struct ember_error e;
	struct stat st;

	json_array_foreach(mounts, i, m) {
		const char *type = json_string_value(json_object_get(m, "type")) ?: "none";
		const char *src = json_string_value(json_object_get(m, "source")) ?: type;
		const char *dst = json_string_value(json_object_get(m, "destination"));
		(void)mount_options_parse(json_object_get(m, "options"), &mo, dst, &e);
		int bind = p->bind_fd[i] >= 0;
		int file = bind && fstat(p->bind_fd[i], &st) == 0 && !S_ISDIR(st.st_mode);
		if (make_target(dst, file) < 0)
			child_fail(p, errno, "mount \"%s\": create the mount point", dst);
		if (target_safe(dst) < 0)
			child_fail(p, errno, "mount \"%s\"", dst);
		if (bind) {
			unsigned long fl = mo.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
						       MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MOUNT_MS_NOSYMFOLLOW);
			/* The options on the detached copy before it is attached:
			   a read-only bind is never writable, not even for a moment. */
			int later = fl && bind_attrs(p->bind_fd[i], fl) < 0;
			/* In a user namespace the parent took the tree (made
			   read-only there): its other flags need the remount. */
			if (later && errno != ENOSYS && !(errno == EPERM && p->has_userns))
				child_fail(p, errno, "bind mount \"%s\": apply the options", dst);
			if (syscall(SYS_move_mount, p->bind_fd[i], "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
				child_fail(p, errno, "bind mount \"%s\" on \"%s\"", src, dst);
			/* Before Linux 5.12 (no mount_setattr): a remount after. */
			if (later && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | fl, NULL) < 0)
				child_fail(p, errno, "bind mount \"%s\": apply the options", dst);
		} else if (!strcmp(type, "cgroup")) {
			/* The container's own cgroup, seen from its cgroup
			   namespace: cgroup2 where the host has it, else the
			   per-controller layout of v1 (and of the hybrid one). */
			unsigned long fl = mo.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;
			int r = p->host_cgroup2 ? mount("cgroup2", dst, "cgroup2", fl, NULL) : cgroup_v1_layout(dst, fl);
			if (r < 0)
				child_fail(p, errno, "mount \"%s\" (cgroup)", dst);
		} else if (mount(src, dst, type, mo.flags, mo.data[0] ? mo.data : NULL) < 0) {
			child_fail(p, errno, "mount \"%s\" (%s)", dst, type);
		}
		if (mo.propagation && mount(NULL, dst, NULL, mo.propagation, NULL) < 0)
			child_fail(p, errno, "mount \"%s\": propagation", dst);
		/* rro, rnosuid...: on every mount of the tree, once it is all
		   there (nothing of the container runs yet). */
		struct rt_mount_attr ra = { .attr_set = mo.rattr_set, .attr_clr = mo.rattr_clr };
		if ((ra.attr_set || ra.attr_clr) && syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &ra, sizeof(ra)) < 0)
			child_fail(p, errno, "mount \"%s\": the recursive options (mount_setattr)", dst);
	}
}

/* The minimal /dev when /dev is a file system the spec made for it. */
static void make_dev(const struct rt_plan *p)
{
	static const struct {
		const char *target, *name;
	} links[] = {
		{ "/proc/self/fd", "/dev/fd" },   { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },      { "/proc/kcore", "/dev/core" },
	};
	struct statfs sf;

	if (statfs("/dev", &sf) < 0 || sf.f_type != 0x01021994 /* TMPFS_MAGIC */)
		return;
	mode_t old = umask(0);
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		const char *name = dev_nodes[i].name;
		if (p->dev_fd[i] >= 0) {
			if (make_target(name, 1) < 0 ||
			    syscall(SYS_move_mount, p->dev_fd[i], "", AT_FDCWD, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
				umask(old);
				child_fail(p, errno, "bind \"%s\"", name);
			}
			continue;
		}
		if (mknod(name, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) == 0 || errno == EEXIST)
			continue;
		umask(old);
		child_fail(p, errno, "mknod \"%s\"", name);
	}
	umask(old);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlink(links[i].target, links[i].name) < 0 && errno != EEXIST)
			child_fail(p, errno, "symlink \"%s\"", links[i].name);
}

/* linux.devices' nodes: made (mknod), or in a user namespace, where
   mknod of a device is refused, the host's node at the same path bound
   (taken before pivot_root, open_binds()), as runc does. An existing node
   is left. */
static void make_nodes(const struct rt_plan *p)
{
	json_t *list = json_object_get(p->lx, "devices"), *d;
	size_t i;

	mode_t old = umask(0);
	json_array_foreach(list, i, d) {
		const char *path = json_string_value(json_object_get(d, "path"));
		const char *type = json_string_value(json_object_get(d, "type"));
		json_t *mode = json_object_get(d, "fileMode");
		mode_t perm = mode ? (mode_t)json_integer_value(mode) & 07777 : 0666;
		mode_t kind = type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
		dev_t dev = makedev((unsigned)json_integer_value(json_object_get(d, "major")),
				    (unsigned)json_integer_value(json_object_get(d, "minor")));
		char dir[PATH_MAX] = "/";
		size_t n = (size_t)(strrchr(path, '/') - path);
		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, path, n);
			dir[n] = '\0';
			if (make_target(dir, 0) < 0) {
				umask(old);
				child_fail(p, errno, "linux.devices \"%s\": create its directory", path);
			}
		}
		if (target_safe(dir) < 0) {
			umask(old);
			child_fail(p, errno, "linux.devices \"%s\"", path);
		}
		if (p->node_fd[i] >= 0) {
			if (make_target(path, 1) < 0 ||
			    syscall(SYS_move_mount, p->node_fd[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
				umask(old);
				child_fail(p, errno, "linux.devices: bind \"%s\" from the host", path);
			}
			continue;
		}
		if (mknod(path, kind | perm, kind == S_IFIFO ? 0 : dev) < 0) {
			if (errno == EEXIST)
				continue;
			umask(old);
			child_fail(p, errno, "linux.devices: mknod \"%s\"", path);
		}
		json_t *uid = json_object_get(d, "uid"), *gid = json_object_get(d, "gid");
		if ((uid || gid) && lchown(path, uid ? (uid_t)json_integer_value(uid) : (uid_t)-1,
					  gid ? (gid_t)json_integer_value(gid) : (gid_t)-1) < 0) {
			umask(old);
			child_fail(p, errno, "linux.devices: chown \"%s\"", path);
		}
	}
	umask(old);
}

/* One byte, with fd (none when -1). */
static int send_fd(int sock, char byte, int fd)
{
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);

	memset(u.buf, 0, sizeof(u.buf));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	if (fd < 0) {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* A pty from the container's own devpts: the slave becomes the console
   and the application's stdio, the master goes to the parent. */
static int make_terminal(struct rt_plan *p)
{
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		child_fail(p, errno, "open \"/dev/pts/ptmx\"");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		child_fail(p, errno, "unlock the pty");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		child_fail(p, errno, "open the pty's slave");
	json_t *size = json_object_get(p->process, "consoleSize");
	if (size) {
		struct winsize ws = { .ws_row = (unsigned short)json_integer_value(json_object_get(size, "height")),
				      .ws_col = (unsigned short)json_integer_value(json_object_get(size, "width")) };
		(void)ioctl(slave, TIOCSWINSZ, &ws);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", slave);
	if (p->s->join_pidfd < 0 && make_target("/dev/console", 1) == 0)
		(void)mount(path, "/dev/console", NULL, MS_BIND, NULL);
	if (p->s->pty_to_init) {
		p->pty_master = master; /* for init */
		return slave;
	}
	if (send_fd(p->sock, RT_MSG_TTY, master) < 0)
		child_fail(p, errno, "pass the pty to the daemon");
	close(master);
	return slave;
}

static void mask_paths(const struct rt_plan *p)
{
	json_t *list = json_object_get(p->lx, "maskedPaths"), *x;
	size_t i;
	struct stat st;

	json_array_foreach(list, i, x) {
		const char *path = json_string_value(x);
		if (!path || lstat(path, &st) < 0 || target_safe(path) < 0)
			continue;
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", path, NULL, MS_BIND, NULL);
		if (r < 0)
			child_fail(p, errno, "mask \"%s\"", path);
	}
	list = json_object_get(p->lx, "readonlyPaths");
	json_array_foreach(list, i, x) {
		const char *path = json_string_value(x);
		if (!path || lstat(path, &st) < 0 || target_safe(path) < 0)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			child_fail(p, errno, "make \"%s\" read-only", path);
	}
}

static void set_sysctls(const struct rt_plan *p)
{
	json_t *sysctl = json_object_get(p->lx, "sysctl"), *v;
	const char *key;
	char path[PATH_MAX];

	json_object_foreach(sysctl, key, v) {
		int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
		if (n < 0 || (size_t)n >= sizeof(path))
			child_fail(p, ENAMETOOLONG, "sysctl \"%s\"", key);
		for (char *q = path + 10; *q; q++)
			if (*q == '.')
				*q = '/';
		if (write_file(path, json_string_value(v) ?: "") < 0)
			child_fail(p, errno, "sysctl \"%s\"", key);
	}
}

static void enter_cwd(const struct rt_plan *p)
{
	const char *cwd = json_string_value(json_object_get(p->process, "cwd")) ?: "/";
	char buf[PATH_MAX];

	if (chdir(cwd) < 0) {
		/* Docker and runc create a missing working directory. */
		if (errno != ENOENT || make_target(cwd, 0) < 0 || chdir(cwd) < 0)
			child_fail(p, errno, "chdir \"%s\"", cwd);
	}
	/* A cwd reached through a magic link could be outside the root: the
	   kernel then says "(unreachable)" instead of an absolute path. */
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0 || buf[0] != '/')
		child_fail(p, n < 0 ? errno : EXDEV, "chdir \"%s\": outside the container", cwd);
}

static void set_capabilities(const struct rt_plan *p)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];
	const struct rt_caps *c = &p->caps;

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(c->effective >> (32 * i));
		data[i].permitted = (uint32_t)(c->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(c->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(p, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		child_fail(p, errno, "clear ambient capabilities");
	for (int n = 0; n <= p->last_cap && n < 64; n++)
		if ((c->ambient >> n) & 1 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) < 0)
			child_fail(p, errno, "raise ambient capability %s", rt_cap_name(n) ?: "?");
}

static void load_seccomp(const struct rt_plan *p)
{
	struct ember_error e;
	if (ENABLED(CONFIG_SECCOMP) && p->s->seccomp && runtime_seccomp_load(p->s->seccomp, &e) < 0)
		child_fail(p, 0, "seccomp: %s", e.message);
}

/* Credentials, capabilities and the last restrictions, in the order that
   keeps the privileges each step needs until it has run. */
static void drop_privileges(struct rt_plan *p)
{
	if (p->in_chroot) {
		uint64_t no = ~(UINT64_C(1) << 18); /* CAP_SYS_CHROOT */
		p->caps.bounding &= no;
		p->caps.effective &= no;
		p->caps.permitted &= no;
		p->caps.inheritable &= no;
		p->caps.ambient &= no;
	}
	for (int n = 0; n <= p->last_cap && n < 64; n++)
		if (!((p->caps.bounding >> n) & 1) && prctl(PR_CAPBSET_DROP, n, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(p, errno, "drop capability %s from the bounding set", rt_cap_name(n) ?: "?");
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it
	   while we still have it. */
	if (!p->nnp)
		load_seccomp(p);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_fail(p, errno, "keep capabilities");
	/* Always: the daemon's own supplementary groups must not stay (in a
	   user namespace too: the daemon wrote its gid map, so setgroups is
	   allowed there). */
	if (p->setgroups_deny) {
		/* The groups stay as they are; none can be added. */
		if (p->n_groups)
			child_fail(p, EPERM, "setgroups: the user namespace denies it (its setgroups file)");
	} else if (syscall(RT_SYS_SETGROUPS, p->n_groups, p->groups) < 0) {
		child_fail(p, errno, "setgroups");
	}
	if (syscall(RT_SYS_SETRESGID, p->gid, p->gid, p->gid) < 0)
		child_fail(p, errno, "setgid %u", (unsigned)p->gid);
	if (syscall(RT_SYS_SETRESUID, p->uid, p->uid, p->uid) < 0)
		child_fail(p, errno, "setuid %u", (unsigned)p->uid);
	set_capabilities(p);
	if (p->nnp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			child_fail(p, errno, "no_new_privs");
		load_seccomp(p);
	}
}

/* Moves fd above the descriptors the child rearranges. */
static int lift(const struct rt_plan *p, int fd, const char *what)
{
	if (fd < 0)
		return -1;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 16);
	if (nfd < 0)
		child_fail(p, errno, "dup %s", what);
	return nfd;
}

static void set_stdio(const struct rt_plan *p, const int src[3])
{
	int null = -1;
	for (int i = 0; i < 3; i++) {
		int fd = src[i];
		if (fd < 0) {
			if (null < 0 && (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				child_fail(p, errno, "open \"/dev/null\"");
			fd = null;
		}
		if (dup2(fd, i) < 0)
			child_fail(p, errno, "dup2 stdio");
	}
	if (null >= 0)
		close(null);
}

static void keep_fd(const struct rt_plan *p, int fd)
{
	if (fd >= 0 && fcntl(fd, F_SETFD, 0) < 0)
		child_fail(p, errno, "keep descriptor %d", fd);
}

/* The caller's hooks before pivot_root, the spec's mounts and /dev in
   place under the rootfs: the parent's first (the child waits for its
   answer), then the child's own. */
static void create_hooks(const struct rt_plan *p)
{
	const struct runtime_start *s = p->s;
	char msg = RT_MSG_HOOKS, ok;
	struct ember_error e;

	if (s->hooks_parent && (write(p->sock, &msg, 1) != 1 || read(p->sock, &ok, 1) != 1))
		_exit(127); /* the parent's hooks failed: it says why */
	if (s->hooks_child && s->hooks_child(RUNTIME_HOOKS_CREATE, s->hooks_data, &e) < 0)
		child_fail(p, 0, "%s", e.message);
}

/* The caller's hooks just before the application's exec. Past the gate
   (gated) nobody listens on the socket: the application's stderr hears
   of a failure, and the gate of none. */
static void start_hooks(const struct rt_plan *p, int gated)
{
	struct ember_error e;

	if (!p->s->hooks_child || p->s->hooks_child(RUNTIME_HOOKS_START, p->s->hooks_data, &e) == 0)
		return;
	if (!gated)
		child_fail(p, 0, "%s", e.message);
	dprintf(2, "%s\n", e.message);
	_exit(127);
}

/* Created, not started: tell the parent (whose conversation ends here, and
   who may exit: the death signal is off), then wait until a reader opens
   the gate, a FIFO (`ember oci start`), run the start hooks, and tell it
   by a byte that the application runs now. Opened by /proc/self/fd: the
   O_PATH descriptor reaches it from inside the root. */
static void wait_at_gate(const struct rt_plan *p, int sock)
{
	char path[40], msg = RT_MSG_GATED;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->s->start_gate_fd);
	if (write(sock, &msg, 1) != 1)
		child_fail(p, errno, "report the gate");
	close(sock);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(127); /* nobody to tell: the parent is gone */
	start_hooks(p, 1);
	if (write(fd, "0", 1) != 1)
		_exit(127);
	close(fd);
	close(p->s->start_gate_fd);
}

/* The application's file as execvp would find it (PATH lookup), into
   buf: 0, or the errno execvp would report. Only used when the
   application is PID 1 itself (no `ember init`), before the start gate:
   runc's create, too, fails on a program that is not there. */
static int app_find(const struct rt_plan *p, char *buf, size_t size)
{
	const char *prog = p->argv[0];
	struct stat st;
	int err = ENOENT;

	if (strchr(prog, '/')) {
		if (snprintf(buf, size, "%s", prog) >= (int)size)
			return ENAMETOOLONG;
		return access(buf, X_OK) < 0 ? errno : 0;
	}
	const char *path = NULL;
	for (size_t i = 0; p->envp[i]; i++)
		if (!strncmp(p->envp[i], "PATH=", 5))
			path = p->envp[i] + 5;
	if (!path)
		path = &RUNTIME_DEFAULT_PATH[5]; /* after "PATH=" */
	for (const char *d = path;; d++) {
		size_t n = strcspn(d, ":");
		if (snprintf(buf, size, "%.*s%s%s", (int)n, d, n ? "/" : "", prog) < (int)size) {
			if (stat(buf, &st) == 0) {
				if (S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
					return 0;
				err = EACCES; /* there, but not to be executed */
			} else if (errno != ENOENT && errno != ENOTDIR) {
				err = errno;
			}
		}
		d += n;
		if (!*d)
			break;
	}
	return err;
}

/* Execute the application found by app_find. Past the start gate
   (gated) nobody listens on the report socket: a failure goes to the
   application's stderr, as runc's does, and the status is 127. */
static _Noreturn void exec_app(const struct rt_plan *p, const char *file, int gated)
{
	execve(file, p->argv, p->envp);
	if (!gated)
		exec_fail(p, errno, "exec \"%s\"", p->argv[0]);
	char et[128];
	errno_text(errno, et, sizeof(et));
	dprintf(2, "ember oci: exec \"%.200s\": %s\n", p->argv[0], et);
	_exit(127);
}

/* Close every descriptor but keep[] (n of them), for real: until execve
   the child holds the daemon's whole table, directories of the host among
   them, and /proc/self/fd/N would lead there. */
static void close_others(const struct rt_plan *p, const int *keep, size_t n)
{
	int k[RT_MAX_BINDS + 32];
	size_t m = 0;

	for (size_t i = 0; i < n && m < ARRAY_SIZE(k); i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	/* Sort the few kept ones (insertion sort: no allocation). */
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	/* The caller's preserved descriptors sit just above stdio. */
	unsigned lo = 3 + (unsigned)p->s->preserve_fds;
	for (size_t i = 0; i <= m; i++) {
		unsigned hi = i < m ? (unsigned)k[i] : ~0U;
		if (hi < lo)
			continue; /* kept, and among the preserved ones */
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			if (errno != ENOSYS)
				child_fail(p, errno, "close the daemon's descriptors");
			/* Before Linux 5.9: one by one, as far as the limit goes. */
			struct rlimit rl;
			unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ? (unsigned)rl.rlim_cur : 65536;
			for (unsigned fd = lo; fd < hi && fd < top; fd++)
				(void)close((int)fd);
		}
		if (i < m)
			lo = (unsigned)k[i] + 1;
	}
}

static int send_pid(int sock, pid_t pid, int fd)
{
	char msg[1 + sizeof(pid_t)];
	struct iovec iov = { msg, sizeof(msg) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);

	msg[0] = RT_MSG_PID;
	memcpy(msg + 1, &pid, sizeof(pid));
	memset(u.buf, 0, sizeof(u.buf));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(msg) ? 0 : -1;
}

/* Whether the user namespace the child is in refuses setgroups() (a
   joined one: `unshare -r` makes it so). */
static int setgroups_denied(void)
{
	char buf[8] = "";
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 4 && !strncmp(buf, "deny", 4);
}

/* In a new user namespace the child still has the host's root ids, which
   the namespace does not map: what it creates in file systems of the
   namespace (its /dev) would have no owner. Become the namespace's root. */
static void become_root(const struct rt_plan *p)
{
	if ((!p->setgroups_deny && syscall(RT_SYS_SETGROUPS, 0, NULL) < 0) || syscall(RT_SYS_SETRESGID, 0, 0, 0) < 0 ||
	    syscall(RT_SYS_SETRESUID, 0, 0, 0) < 0)
		child_fail(p, errno, "user namespace: become its root (uid and gid 0 must be mapped)");
}

/* exec: enter the task's namespaces; a pid namespace only takes effect
   for children, so the process is cloned once more, as a child of the
   daemon (CLONE_PARENT), and this one goes. */
static void join_task(struct rt_plan *p)
{
	const struct runtime_start *s = p->s;
	int pidfd = -1;
	char go;

	/* Not ptrace-able (nor its /proc/<pid>/fd readable) by the
	   container's processes while it still has the daemon's privileges. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(p, errno, "make the exec undumpable");
	/* Joining the mount namespace gives the namespace's root, which is
	   the task's root only if its pivot_root made it so (not where the
	   daemon runs in a chroot): take the task's own root, and enter it
	   after the namespaces. */
	char rootpath[64];
	snprintf(rootpath, sizeof(rootpath), "/proc/%d/root", (int)s->join_pid);
	int rootfd = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		child_fail(p, errno, "open the task's root");
	/* The task's user namespace first (setns orders it so), if it has one:
	   the others belong to it. */
	struct stat mine, its;
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/user", (int)s->join_pid);
	/* Not knowing must not mean staying in the host's. */
	if (stat(nspath, &its) < 0 || stat("/proc/self/ns/user", &mine) < 0)
		child_fail(p, errno, "find the task's user namespace");
	int userns = its.st_ino != mine.st_ino || its.st_dev != mine.st_dev;
	/* Its time namespace, if it has one (a kernel without them has no
	   such file: nothing to join). */
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/time", (int)s->join_pid);
	int timens = stat(nspath, &its) == 0 && stat("/proc/self/ns/time", &mine) == 0 &&
		     (its.st_ino != mine.st_ino || its.st_dev != mine.st_dev);
	/* The cgroup namespace last, from the new process, once it is in the
	   task's cgroup: with cgroup2's nsdelegate (systemd mounts it so)
	   clone3 may only move a process between cgroups inside the caller's
	   cgroup namespace, and the daemon's cgroup is outside the task's. */
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/cgroup", (int)s->join_pid);
	int cgns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (cgns < 0 && errno != ENOENT)
		child_fail(p, errno, "open the task's cgroup namespace");
	/* None of its own: the host's is ours already, and from its user
	   namespace not ours to join again. */
	if (cgns >= 0 && fstat(cgns, &its) == 0 && stat("/proc/self/ns/cgroup", &mine) == 0 &&
	    its.st_ino == mine.st_ino && its.st_dev == mine.st_dev) {
		close(cgns);
		cgns = -1;
	}
	if (setns(s->join_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
					     (userns ? CLONE_NEWUSER : 0) | (timens ? CLONE_NEWTIME : 0)) < 0)
		child_fail(p, errno, "join the task's namespaces");
	if (userns)
		p->setgroups_deny = setgroups_denied();
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		child_fail(p, errno, "enter the task's root");
	close(rootfd);
	struct rt_clone_args ca = { .flags = CLONE_PARENT | CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd };
	if (s->cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)s->cgroup_fd;
	}
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		child_fail(p, errno, "clone3 into the task");
	if (pid > 0) {
		if (send_pid(p->sock, (pid_t)pid, pidfd) < 0)
			child_fail(p, errno, "report the exec's pid");
		_exit(0);
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (cgns >= 0 && setns(cgns, CLONE_NEWCGROUP) < 0)
		child_fail(p, errno, "join the task's cgroup namespace");
	if (cgns >= 0)
		close(cgns);
	if (read(p->sock, &go, 1) != 1)
		_exit(127);
	if (userns)
		become_root(p);
}

/* What both children do first: the signals the daemon blocks and ignores
   back to their defaults, death with the daemon while setting up, and
   the daemon's "go" (with the rootfs's mount in a user namespace). */
static void child_begin(struct rt_plan *p)
{
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	char go_msg[2];
	if (recv_msg(p->sock, go_msg, sizeof(go_msg), &p->root_mnt) != 1)
		_exit(127);
}

/* The user's ids from the container's /etc: the parent reads them
   through /proc/<pid>/root now that the root is in place. */
static void ask_user(struct rt_plan *p)
{
	char ask = RT_MSG_USER;
	struct rt_ids ids;

	if (!p->s->user)
		return;
	if (write(p->sock, &ask, 1) != 1 || read(p->sock, &ids, sizeof(ids)) != (ssize_t)sizeof(ids))
		_exit(127);
	p->uid = ids.uid;
	p->gid = ids.gid;
	p->n_groups = ids.n <= RUNTIME_GROUPS_MAX ? ids.n : RUNTIME_GROUPS_MAX;
	memcpy(p->groups, ids.groups, sizeof(p->groups));
}

/* What both children do last: cwd, rlimits, descriptors, credentials,
   stdio, and the exec of `ember init` (self_fd) or of the application. */
__attribute__((noreturn)) static void child_finish(struct rt_plan *p, int tty)
{
	const struct runtime_start *s = p->s;

	enter_cwd(p);
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (syscall(SYS_prlimit64, 0, p->rlimits[i].resource, &p->rlimits[i].r, NULL) < 0)
			child_fail(p, errno, "setrlimit %d", p->rlimits[i].resource);

	/* Descriptors: the daemon's are close-on-exec (make sure of it), the
	   ones init needs are lifted out of 0..2's way and kept. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS && errno != EINVAL)
		child_fail(p, errno, "close_range");
	int sock = lift(p, p->sock, "the report socket");
	int stdio[3];
	for (int i = 0; i < 3; i++)
		stdio[i] = tty >= 0 ? tty : lift(p, s->stdio[i], "stdio");
	int exit_fd = lift(p, s->exit_fd, "the exit file");
	int log_fd[2] = { lift(p, s->log_fd[0], "a log file"), lift(p, s->log_fd[1], "a log file") };
	int pty = lift(p, p->pty_master, "the terminal");
	p->sock = sock;
	if (pty >= 0) {
		char msg[1 + sizeof(int)] = { RT_MSG_PTY_FD };
		memcpy(msg + 1, &pty, sizeof(int));
		if (write(sock, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			child_fail(p, errno, "report the terminal");
	}

	/* These outlive execve. */
	json_t *umask_v = json_object_get(json_object_get(p->process, "user"), "umask");
	if (umask_v)
		umask((mode_t)json_integer_value(umask_v) & 0777);
	if (p->personality >= 0 && syscall(SYS_personality, (unsigned long)p->personality) < 0)
		child_fail(p, errno, "personality");
	if (p->ioprio >= 0 && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p->ioprio) < 0)
		child_fail(p, errno, "ioprio_set");
	drop_privileges(p);
	set_stdio(p, stdio);
	for (int fd = 3; fd < 3 + s->preserve_fds; fd++)
		keep_fd(p, fd);

	if (s->self_fd < 0) {
		/* The application leads a session of its own, as runc's
		   does, and its terminal is its controlling one: not the
		   caller's session, outside the container (which CRIU
		   cannot dump: "a session leader ... is outside of its
		   pid namespace"). */
		(void)setsid();
		if (tty >= 0)
			(void)ioctl(0, TIOCSCTTY, 0);
		(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		char file[PATH_MAX];
		int err = app_find(p, file, sizeof(file));
		if (err)
			exec_fail(p, err, "exec \"%s\"", p->argv[0]);
		if (s->start_gate_fd > 2)
			wait_at_gate(p, sock);
		else
			start_hooks(p, 0);
		exec_app(p, file, s->start_gate_fd > 2);
	}

	/* ember init REPORT EXIT [LOG LOG MAX] -- ARGS */
	char a_sock[16], a_exit[16], a_log0[16], a_log1[16], a_max[24], a_pty[16];
	const char *argv[16 + 4096];
	size_t n = 0;
	snprintf(a_sock, sizeof(a_sock), "%d", sock);
	argv[n++] = "ember";
	argv[n++] = "init";
	argv[n++] = "--report-fd";
	argv[n++] = a_sock;
	keep_fd(p, sock);
	if (exit_fd >= 0) {
		snprintf(a_exit, sizeof(a_exit), "%d", exit_fd);
		argv[n++] = "--exit-fd";
		argv[n++] = a_exit;
		keep_fd(p, exit_fd);
	}
	if (log_fd[0] >= 0 && log_fd[1] >= 0) {
		snprintf(a_log0, sizeof(a_log0), "%d", log_fd[0]);
		snprintf(a_log1, sizeof(a_log1), "%d", log_fd[1]);
		snprintf(a_max, sizeof(a_max), "%lld", (long long)s->log_max);
		argv[n++] = "--log-fd";
		argv[n++] = a_log0;
		argv[n++] = "--log-fd";
		argv[n++] = a_log1;
		argv[n++] = "--log-max";
		argv[n++] = a_max;
		keep_fd(p, log_fd[0]);
		keep_fd(p, log_fd[1]);
		if (pty >= 0) {
			snprintf(a_pty, sizeof(a_pty), "%d", pty);
			argv[n++] = RUNTIME_INIT_OPT_PTY_FD;
			argv[n++] = a_pty;
			keep_fd(p, pty);
		}
	}
	argv[n++] = "--";
	for (size_t i = 0; i < p->argc && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = p->argv[i];
	argv[n] = NULL;
	/* The parent-death signal survives execve: init must outlive the daemon. */
	(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	syscall(SYS_execveat, s->self_fd, "", argv, p->envp, AT_EMPTY_PATH);
	child_fail(p, errno, "exec ember init");
}

/* A new time namespace takes its clocks' offsets before any process is in
   it: unshared, this process stays out (its children and the program it
   executes go in), so the offsets are written now and hold from the exec
   on. */
static void enter_time_ns(const struct rt_plan *p)
{
	json_t *offs = json_object_get(p->lx, "timeOffsets");
	char buf[128];
	size_t len = 0;

	if (unshare(CLONE_NEWTIME) < 0)
		child_fail(p, errno, "time namespace");
	for (size_t k = 0; k < RT_TIME_CLOCKS; k++) {
		json_t *o = json_object_get(offs, rt_time_clocks[k]);
		if (!o)
			continue;
		int n = snprintf(buf + len, sizeof(buf) - len, "%s %lld %lld\n", rt_time_clocks[k],
				 (long long)json_integer_value(json_object_get(o, "secs")),
				 (long long)json_integer_value(json_object_get(o, "nanosecs")));
		if (n > 0 && (size_t)n < sizeof(buf) - len)
			len += (size_t)n;
	}
	buf[len] = '\0';
	if (len && write_file("/proc/self/timens_offsets", buf) < 0)
		child_fail(p, errno, "time namespace: write its offsets \"%.*s\"", (int)len - 1, buf);
}

static void set_oom_score(const struct rt_plan *p)
{
	json_t *oom = json_object_get(p->process, "oomScoreAdj");
	if (oom) {
		char v[24];
		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(oom));
		if (write_file("/proc/self/oom_score_adj", v) < 0)
			child_fail(p, errno, "oom_score_adj");
	}
}

/* join_first: the namespaces given by path are joined as the daemon,
   whose privileges over them the user namespace would not have; then the
   user namespace; then the new namespaces are unshared, and it owns them.
   A new or joined pid namespace holds only the children of who made or
   joined it: PID 1 is cloned now, as a child of the daemon (CLONE_PARENT),
   and this one goes. PID 1 waits for the daemon's "go" (once before_setup
   had it: conv_second_child()). */
static void child_join(struct rt_plan *p)
{
	/* Until the execve nothing of a namespace joined may ptrace the
	   setup or read its /proc (its root is still the host's): not
	   dumpable, as runc's. /proc/self is the host root's then: what is
	   written there is written now, as the daemon. */
	set_oom_score(p);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(p, errno, "make the setup undumpable");
	for (size_t i = 0; i < p->n_ns; i++) {
		if (setns(p->ns_fd[i], p->ns_type[i]) < 0)
			child_fail(p, errno, "join namespace %zu", i);
		if (p->ns_type[i] == CLONE_NEWNET && p->userns_fd >= 0)
			joined_net_sysfs(p);
	}
	if (p->unshare_time)
		enter_time_ns(p);
	if (p->userns_fd >= 0) {
		if (setns(p->userns_fd, CLONE_NEWUSER) < 0)
			child_fail(p, errno, "join the user namespace");
		close(p->userns_fd);
		p->userns_fd = -1;
		p->setgroups_deny = setgroups_denied();
		become_root(p);
	}
	if (p->clone_flags && unshare((int)p->clone_flags) < 0)
		child_fail(p, errno, "make the new namespaces");
	int pidfd = -1;
	struct rt_clone_args ca = { .flags = CLONE_PARENT | CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		child_fail(p, errno, "clone3 PID 1 into the namespaces");
	if (pid > 0) {
		if (send_pid(p->sock, (pid_t)pid, pidfd) < 0)
			child_fail(p, errno, "report PID 1");
		_exit(0);
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	char go;
	if (read(p->sock, &go, 1) != 1)
		_exit(127);
}

/* A container's PID 1: its namespaces are new (clone3 made them, or
   child_join()). */
__attribute__((noreturn)) static void child_start(struct rt_plan *p)
{
	const struct runtime_start *s = p->s;

	child_begin(p);
	{
		int keep[12 + ARRAY_SIZE(p->ns_fd) + RT_MAX_BINDS] = { p->sock,     s->stdio[0], s->stdio[1],
								      s->stdio[2], s->exit_fd,  s->log_fd[0],
								      s->log_fd[1], s->self_fd, p->root_mnt,
								      s->start_gate_fd, p->userns_fd };
		size_t n = 11;
		for (size_t i = 0; i < RT_MAX_BINDS; i++)
			if (p->bind_fd[i] >= 0)
				keep[n++] = p->bind_fd[i];
		for (size_t i = 0; i < p->n_ns; i++)
			keep[n++] = p->ns_fd[i];
		close_others(p, keep, n);
	}
	if (p->join_first) {
		child_join(p);
	} else {
		if (p->has_userns)
			become_root(p);
		for (size_t i = 0; i < p->n_ns; i++)
			if (setns(p->ns_fd[i], p->ns_type[i]) < 0)
				child_fail(p, errno, "join namespace %zu", i);
	}
	if (p->unshare_cgroup && unshare(CLONE_NEWCGROUP) < 0)
		child_fail(p, errno, "cgroup namespace");
	if (p->unshare_time && !p->join_first)
		enter_time_ns(p);
	if (p->clone_flags & CLONE_NEWNET)
		loopback_up(p);
	if (p->clone_flags & CLONE_NEWNS) {
		mount_rootfs(p);
		open_binds(p);
		/* Mounts and /dev, then the hooks, then pivot_root: runc's
		   order, which the hooks see. */
		int host = enter_rootfs(p);
		do_mounts(p);
		make_dev(p);
		make_nodes(p);
		leave_rootfs(p, host);
		create_hooks(p);
		enter_root(p);
	}
	int tty = p->terminal ? make_terminal(p) : -1;
	/* Before /proc/sys becomes read-only. */
	const char *hostname = json_string_value(json_object_get(p->spec, "hostname"));
	if (hostname && (p->clone_flags & CLONE_NEWUTS) && sethostname(hostname, strlen(hostname)) < 0)
		child_fail(p, errno, "sethostname \"%s\"", hostname);
	const char *domain = json_string_value(json_object_get(p->spec, "domainname"));
	if (domain && (p->clone_flags & CLONE_NEWUTS) && setdomainname(domain, strlen(domain)) < 0)
		child_fail(p, errno, "setdomainname \"%s\"", domain);
	set_sysctls(p);
	if (p->clone_flags & CLONE_NEWNS) {
		mask_paths(p);
		if (json_is_true(json_object_get(json_object_get(p->spec, "root"), "readonly")) &&
		    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			child_fail(p, errno, "make the rootfs read-only");
	}
	ask_user(p);
	if (!p->join_first)
		set_oom_score(p);
	child_finish(p, tty);
}

/* A process in a running task: it joins the task's namespaces (and, as a
   second child, its pid namespace) instead of making any. */
__attribute__((noreturn)) static void child_exec(struct rt_plan *p)
{
	const struct runtime_start *s = p->s;

	child_begin(p);
	{
		int keep[] = { p->sock, s->stdio[0], s->stdio[1], s->stdio[2], s->join_pidfd, s->cgroup_fd };
		close_others(p, keep, ARRAY_SIZE(keep));
	}
	join_task(p);
	{
		int keep[4] = { p->sock, s->stdio[0], s->stdio[1], s->stdio[2] };
		close_others(p, keep, 4);
	}
	int tty = p->terminal ? make_terminal(p) : -1;
	ask_user(p);
	child_finish(p, tty);
}

/* ---- the parent ------------------------------------------------------------------------ */

static const struct {
	const char *type;
	uint64_t flag;
} ns_types[] = {
	{ "pid", CLONE_NEWPID },   { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },   { "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static void plan_done(struct rt_plan *p)
{
	for (size_t i = 0; i < p->n_ns; i++)
		close_keep_errno(p->ns_fd[i]);
	p->n_ns = 0;
	close_keep_errno(p->userns_fd);
	p->userns_fd = -1;
	for (size_t i = 0; i < RT_MAX_BINDS; i++)
		if (p->bind_fd[i] >= 0)
			close_keep_errno(p->bind_fd[i]);
	free((void *)p->argv);
	free((void *)p->envp);
	p->argv = p->envp = NULL;
}

static char *const *string_array(json_t *a, size_t *n)
{
	size_t len = json_array_size(a);
	char **v = calloc(len + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < len; i++)
		v[i] = (char *)json_string_value(json_array_get(a, i));
	if (n)
		*n = len;
	return v;
}

static uint64_t cap_set(json_t *caps, const char *which)
{
	return runtime_cap_mask(json_object_get(caps, which));
}

/* In a user namespace the child could not reach sources only root may
   (a bind of a host directory needs not be open to the container's
   root): take them here, as the daemon. */
static int open_binds_here(struct rt_plan *p, struct ember_error *e)
{
	json_t *m;
	size_t i;
	struct mount_options mo;

	json_array_foreach(json_object_get(p->spec, "mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *dst = json_string_value(json_object_get(m, "destination"));
		if (mount_options_parse(json_object_get(m, "options"), &mo, dst, e) < 0)
			return -e->code;
		if ((!(type && !strcmp(type, "bind")) && !(mo.flags & MS_BIND)) || p->bind_fd[i] >= 0)
			continue;
		/* Private: the child's own binds come from its private copy of
		   the mounts; these must not stay the host's peers either. */
		struct ember_error why;
		int fd = rt_detached_tree(src, -1, (mo.flags & MS_REC) != 0, (mo.flags & MS_RDONLY) != 0, &why);
		if (fd < 0)
			return err_sys(e, why.code, "bind mount \"%s\": source \"%s\"", dst, src);
		p->bind_fd[i] = fd;
	}
	return 0;
}

/* Idmapped binds (a mount's uidMappings): taken here, where a user
   namespace of their maps can be made and written. */
static int open_idmapped_binds(struct rt_plan *p, struct ember_error *e)
{
	json_t *m;
	size_t i;
	struct mount_options mo;

	json_array_foreach(json_object_get(p->spec, "mounts"), i, m) {
		if (!json_object_get(m, "uidMappings"))
			continue;
		if (!ENABLED(CONFIG_USERNS))
			return rt_unsupported(e, "spec: mounts[%zu]: idmapped mounts are not in this build (CONFIG_USERNS)", i);
		if (mount_options_parse(json_object_get(m, "options"), &mo, "", e) < 0)
			return -e->code;
		int fd = rt_idmapped_bind(m, &mo, e);
		if (fd < 0)
			return err_wrap(e, "mount \"%s\"", json_string_value(json_object_get(m, "destination")) ?: "");
		p->bind_fd[i] = fd;
	}
	return 0;
}

static int plan_build(const struct runtime_start *s, struct rt_plan *p, struct ember_error *e)
{
	json_t *x;
	size_t i;
	struct statfs sf;

	memset(p, 0, sizeof(*p));
	p->s = s;
	p->sock = p->root_mnt = p->pty_master = p->userns_fd = -1;
	p->root_uid = p->root_gid = -1;
	for (i = 0; i < ARRAY_SIZE(p->dev_fd); i++)
		p->dev_fd[i] = -1;
	for (i = 0; i < RT_MAX_NODES; i++)
		p->node_fd[i] = -1;
	p->spec = s->spec;
	p->process = json_object_get(s->spec, "process");
	p->lx = json_object_get(s->spec, "linux");
	if (json_array_size(json_object_get(p->lx, "devices")) > RT_MAX_NODES)
		return rt_bad(e, "spec: linux.devices: more than %d", RT_MAX_NODES);
	for (i = 0; i < RT_MAX_BINDS; i++)
		p->bind_fd[i] = -1;
	if (json_array_size(json_object_get(s->spec, "mounts")) > RT_MAX_BINDS)
		return rt_bad(e, "spec: more than %d mounts", RT_MAX_BINDS);
	json_array_foreach(json_object_get(p->lx, "namespaces"), i, x) {
		const char *type = json_string_value(json_object_get(x, "type"));
		const char *path = json_string_value(json_object_get(x, "path"));
		size_t k = 0;
		while (k < ARRAY_SIZE(ns_types) && strcmp(type, ns_types[k].type))
			k++;
		if (k == ARRAY_SIZE(ns_types))
			return rt_unsupported(e, "spec: namespace \"%s\" is not supported", type);
		if (ns_types[k].flag == CLONE_NEWUSER)
			p->has_userns = 1;
		if (path) {
			if (p->n_ns == ARRAY_SIZE(p->ns_fd))
				return rt_bad(e, "spec: too many namespaces");
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return err_sys(e, errno, "namespace %s: \"%s\"", type, path);
			if (ns_types[k].flag == CLONE_NEWUSER) {
				p->userns_fd = fd;
				continue;
			}
			/* The pid namespace holds the children of who joins it. */
			if (ns_types[k].flag == CLONE_NEWPID)
				p->join_first = 1;
			p->ns_fd[p->n_ns] = fd;
			p->ns_type[p->n_ns++] = (int)ns_types[k].flag;
		} else if (ns_types[k].flag == CLONE_NEWTIME) {
			/* clone3 would put the child in it at once, before its
			   offsets can be written: unshared later (child_start()). */
			p->unshare_time = 1;
		} else if (ns_types[k].flag == CLONE_NEWCGROUP && s->cgroup_fd < 0) {
			/* Only once the child is in its cgroup, or the namespace's
			   root would be the daemon's cgroup. */
			p->unshare_cgroup = 1;
		} else {
			p->clone_flags |= ns_types[k].flag;
		}
	}
	if (s->join_pidfd >= 0)
		p->clone_flags = p->unshare_cgroup = p->unshare_time = 0; /* the task's own, joined */
	else if (!(p->clone_flags & CLONE_NEWNS))
		return rt_unsupported(e, "spec: a container needs its own mount namespace");
	if (s->join_pidfd < 0 && open_idmapped_binds(p, e) < 0)
		return -e->code;
	if (p->has_userns && s->join_pidfd < 0) {
		if (!ENABLED(CONFIG_USERNS))
			return rt_unsupported(e, "user namespaces are not in this build (CONFIG_USERNS)");
		/* Its maps are there (runtime_spec_check() says so), or it has its
		   own. A new one with namespaces to join by path is made here: the
		   child joins those as the daemon first, whose privileges over them
		   a child in the new one would not have. */
		const char *path = NULL;
		json_array_foreach(json_object_get(p->lx, "namespaces"), i, x)
			if (!strcmp(json_string_value(json_object_get(x, "type")), "user"))
				path = json_string_value(json_object_get(x, "path"));
		if (ENABLED(CONFIG_USERNS) && path &&
		    rt_userns_join(p->userns_fd, path, p->lx, &p->root_uid, &p->root_gid, e) < 0)
			return -e->code;
		if (ENABLED(CONFIG_USERNS) && !path) {
			rt_userns_root(p->lx, &p->root_uid, &p->root_gid);
			if (p->n_ns && (p->userns_fd = rt_userns_new(p->lx, e)) < 0)
				return -e->code;
			if (p->userns_fd >= 0)
				p->clone_flags &= ~(uint64_t)CLONE_NEWUSER; /* joined, not made, by the child */
		}
		if (open_binds_here(p, e) < 0)
			return -e->code;
	}
	if (s->join_pidfd < 0 && p->userns_fd >= 0)
		p->join_first = 1;
	p->host_cgroup2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;

	if (!(p->argv = string_array(json_object_get(p->process, "args"), &p->argc)) ||
	    !(p->envp = string_array(json_object_get(p->process, "env"), NULL)))
		return rt_oom(e);
	json_t *user = json_object_get(p->process, "user");
	p->uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
	p->gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
	json_array_foreach(json_object_get(user, "additionalGids"), i, x) {
		if (p->n_groups == RUNTIME_GROUPS_MAX)
			return rt_bad(e, "spec: process.user.additionalGids: more than %d", RUNTIME_GROUPS_MAX);
		p->groups[p->n_groups++] = (gid_t)json_integer_value(x);
	}
	json_t *caps = json_object_get(p->process, "capabilities");
	p->caps = (struct rt_caps){ cap_set(caps, "bounding"), cap_set(caps, "effective"), cap_set(caps, "permitted"),
				    cap_set(caps, "inheritable"), cap_set(caps, "ambient") };
	/* A container gets no capability the daemon lacks (where root runs
	   with a reduced set, --privileged means "all we have", as in
	   containerd). */
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} cur[2];
	if (syscall(SYS_capget, &hdr, cur) == 0) {
		uint64_t have = cur[0].permitted | ((uint64_t)cur[1].permitted << 32);
		p->caps.bounding &= have;
		p->caps.effective &= have;
		p->caps.permitted &= have;
		p->caps.inheritable &= have;
		p->caps.ambient &= have;
	}
	/* The kernel raises an ambient capability only if it is inheritable
	   too; specs (runc's own default) often list it as ambient alone.
	   Inheritable adds nothing ambient does not already give. */
	p->caps.inheritable |= p->caps.ambient;
	p->last_cap = RT_CAP_COUNT - 1;
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0 && atoi(buf) > 0)
			p->last_cap = atoi(buf);
	}
	json_array_foreach(json_object_get(p->process, "rlimits"), i, x) {
		if (p->n_rlimits == RT_MAX_RLIMITS)
			break;
		int res = rt_rlimit_lookup(json_string_value(json_object_get(x, "type")));
		if (res < 0)
			continue;
		p->rlimits[p->n_rlimits].resource = res;
		p->rlimits[p->n_rlimits].r.rlim_cur = (rlim_t)json_integer_value(json_object_get(x, "soft"));
		p->rlimits[p->n_rlimits++].r.rlim_max = (rlim_t)json_integer_value(json_object_get(x, "hard"));
	}
	if (s->preserve_fds < 0 || s->preserve_fds > RT_MAX_PRESERVE_FDS)
		return rt_bad(e, "preserve fds: %d: from 0 to %d", s->preserve_fds, RT_MAX_PRESERVE_FDS);
	for (int pfd = 3; pfd < 3 + s->preserve_fds; pfd++)
		if (fcntl(pfd, F_GETFD) < 0)
			return err_sys(e, EBADF, "preserve fds: descriptor %d", pfd);
	p->personality = rt_personality_domain(json_string_value(json_object_get(json_object_get(p->lx, "personality"), "domain")));
	json_t *io = json_object_get(p->process, "ioPriority");
	p->ioprio = -1;
	if (io)
		p->ioprio = rt_ioprio_class(json_string_value(json_object_get(io, "class"))) << 13 |
			    (int)json_integer_value(json_object_get(io, "priority"));
	p->nnp = json_is_true(json_object_get(p->process, "noNewPrivileges"));
	p->terminal = json_is_true(json_object_get(p->process, "terminal"));
	if (p->terminal && s->pty_to_init && (s->self_fd < 0 || s->log_fd[0] < 0 || s->log_fd[1] < 0))
		return rt_unsupported(e, "a detached terminal needs ember init and its logs (CONFIG_INIT)");
	return 0;
}

/* /proc/<pid>/stat's state letter and starttime. */
static int pid_stat(pid_t pid, char *state, uint64_t *start, struct ember_error *e)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int saved = errno;
	close(fd);
	if (n <= 0)
		return err_sys(e, n < 0 ? saved : EIO, "read %s", path);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	char *q = strrchr(buf, ')');
	if (!q || q[1] != ' ' || !q[2])
		return err_set(e, EIO, "%s: unexpected format", path);
	*state = q[2];
	/* q is at the space before field 3 (state); starttime is field 22. */
	q++;
	for (int field = 3; field < 22; field++) {
		q = strchr(q + 1, ' ');
		if (!q)
			return err_set(e, EIO, "%s: unexpected format", path);
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(q + 1, &end, 10);
	if (errno || end == q + 1)
		return err_set(e, EIO, "%s: unexpected format", path);
	*start = v;
	return 0;
}

int runtime_pid_start_time(pid_t pid, uint64_t *out, struct ember_error *e)
{
	char state;
	return pid_stat(pid, &state, out, e);
}

bool runtime_pid_alive(pid_t pid, uint64_t start_time)
{
	struct ember_error ignored;
	uint64_t t;
	char state;

	return pid > 0 && pid_stat(pid, &state, &t, &ignored) == 0 && t == start_time && state != 'Z' && state != 'X';
}

static int answer_user(const struct runtime_start *s, pid_t pid, int sock, struct ember_error *e)
{
	char path[64];
	struct rt_ids ids = { 0 };
	uid_t uid;
	gid_t gid;
	size_t n = RUNTIME_GROUPS_MAX;

	if (!s->user)
		return err_set(e, EPROTO, "container setup: unexpected request");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	_cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, errno, "open the container's root");
	if (runtime_user_resolve(root, s->user, &uid, &gid, ids.groups, &n, e) < 0)
		return -e->code;
	ids.uid = uid;
	ids.gid = gid;
	ids.n = (uint32_t)n;
	if (write(sock, &ids, sizeof(ids)) != (ssize_t)sizeof(ids))
		return err_sys(e, errno, "container setup: pass the user's ids");
	return 0;
}

static void reap(int pidfd)
{
	siginfo_t si;
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
}

/* Why a child that closed its socket without a word is gone. */
static int died(int pidfd, const struct runtime_start *s, struct ember_error *e)
{
	siginfo_t si = { 0 };
	struct stat st;

	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
		return 0; /* running */
	if (s->exit_fd >= 0 && fstat(s->exit_fd, &st) == 0 && st.st_size > 0)
		return 0; /* init ran the application, which finished already */
	if (s->self_fd < 0)
		return 0; /* the application itself: it ran (exec closed the socket) */
	if (si.si_code == CLD_EXITED)
		return err_set(e, EIO, "container setup failed: exit status %d", si.si_status);
	return err_set(e, EIO, "container setup failed: killed by signal %d", si.si_status);
}

/* The parent's side of one setup: the socket, the child's pidfd and pid,
   and what the conversation hands out. */
struct rt_conv {
	const struct runtime_start *s;
	struct rt_plan *p;
	int sock;
	int pidfd;
	pid_t pid;
	uint64_t start_time;
	int pty;          /* the terminal's master, sent by the child */
	int init_pty_fd;  /* pty_to_init: the master's number in init */
};

/* Clone the child (flags: its namespaces, none for an exec) and hand it its
   end of the socket pair; child runs the child's side. */
static int conv_clone(struct rt_conv *c, uint64_t flags, int into_cgroup,
		      void (*child)(struct rt_plan *p), struct ember_error *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	c->p->sock = sv[1];
	struct rt_clone_args ca = { .flags = flags | CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&c->pidfd,
				    .exit_signal = SIGCHLD };
	if (into_cgroup && c->s->cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)c->s->cgroup_fd;
	}
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(sv[0]);
		child(c->p);
	}
	int saved = errno;
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		if (saved == EPERM && (ca.flags & CLONE_NEWUSER))
			return err_sys(e, saved, "clone3 with a new user namespace (refused in a chroot, or with "
						 "user.max_user_namespaces 0)");
		if (saved == ENOSPC && (ca.flags & CLONE_NEWUSER))
			return err_sys(e, saved, "clone3 with a new user namespace (user.max_user_namespaces is 0 or used up)");
		if (saved == EINVAL) {
			/* A namespace type this kernel was built without. */
			static const struct {
				uint64_t flag;
				const char *file, *option;
			} ns[] = {
				{ CLONE_NEWUSER, "user", "CONFIG_USER_NS" },	{ CLONE_NEWPID, "pid", "CONFIG_PID_NS" },
				{ CLONE_NEWNET, "net", "CONFIG_NET_NS" },	{ CLONE_NEWIPC, "ipc", "CONFIG_IPC_NS" },
				{ CLONE_NEWUTS, "uts", "CONFIG_UTS_NS" },	{ CLONE_NEWCGROUP, "cgroup", "CONFIG_CGROUPS" },
			};
			char path[32];
			for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
				snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i].file);
				if ((ca.flags & ns[i].flag) && access(path, F_OK) < 0)
					return err_set(e, EINVAL, "this kernel has no %s namespaces (%s)", ns[i].file,
						       ns[i].option);
			}
		}
		return err_sys(e, saved, "clone3");
	}
	c->sock = sv[0];
	c->pid = (pid_t)pid;
	return runtime_pid_start_time(c->pid, &c->start_time, e);
}

/* An exec's first child joined the task and cloned the process into its
   pid namespace: that one (its pid and pidfd) is the exec now. */
static int conv_second_child(struct rt_conv *c, const char *msg, int *fd, struct ember_error *e)
{
	siginfo_t si;

	while (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(c->pidfd);
	c->pidfd = TAKE_FD(*fd);
	memcpy(&c->pid, msg + 1, sizeof(pid_t));
	int r = runtime_pid_start_time(c->pid, &c->start_time, e);
	if (r == 0 && c->s->before_setup)
		r = c->s->before_setup(c->pid, c->s->userdata, e);
	if (r == 0 && write(c->sock, "g", 1) != 1)
		r = err_sys(e, errno, "start the exec's setup");
	return r;
}

/* The child's messages until its end of the socket closes (the program
   runs), it reports a failed step, or the setup times out. */
static int conv_talk(struct rt_conv *c, int exec, struct ember_error *e)
{
	unsigned timeout = c->s->timeout_ms ? c->s->timeout_ms : RT_SETUP_TIMEOUT_MS;
	char msg[1100];
	int fd = -1, r = 0;

	while (r == 0) {
		struct pollfd pf = { c->sock, POLLIN, 0 };
		int n = poll(&pf, 1, (int)timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? err_sys(e, errno, "poll") : err_set(e, ETIMEDOUT, "container setup timed out");
			break;
		}
		n = recv_msg(c->sock, msg, sizeof(msg), &fd);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = err_sys(e, errno, "read the container's setup");
		} else if (n == 0) {
			break;
		} else if (msg[0] == RT_MSG_PID && n == 1 + (int)sizeof(pid_t) && (exec || c->p->join_first) && fd >= 0) {
			r = conv_second_child(c, msg, &fd, e);
		} else if (msg[0] == RT_MSG_PTY_FD && n == 1 + (int)sizeof(int) && c->s->pty_to_init) {
			memcpy(&c->init_pty_fd, msg + 1, sizeof(int));
		} else if (msg[0] == RT_MSG_HOOKS && n == 1 && c->s->hooks_parent) {
			r = c->s->hooks_parent(c->pid, c->s->hooks_data, e);
			if (r == 0 && write(c->sock, "h", 1) != 1)
				r = err_sys(e, errno, "container setup: resume after the hooks");
		} else if (msg[0] == RT_MSG_USER && n == 1) {
			r = answer_user(c->s, c->pid, c->sock, e);
		} else if (msg[0] == RT_MSG_GATED && n == 1 && c->s->start_gate_fd > 2) {
			break; /* set up: it waits at the gate */
		} else if (msg[0] == RT_MSG_TTY) {
			if (c->pty >= 0)
				close(c->pty);
			c->pty = TAKE_FD(fd);
		} else {
			r = rt_report_parse(msg, e);
		}
	}
	close_keep_errno(fd);
	if (r == 0)
		r = died(c->pidfd, c->s, e);
	if (r == 0 && c->p->terminal && (c->s->pty_to_init ? c->init_pty_fd < 0 : c->pty < 0))
		r = err_set(e, EIO, "the container sent no terminal");
	return r;
}

/* The end, either way: what runs is the caller's, or nothing runs. */
static int conv_end(struct rt_conv *c, int r, struct runtime_started *out)
{
	close_keep_errno(c->sock);
	plan_done(c->p);
	if (r < 0) {
		if (c->pidfd >= 0) {
			reap(c->pidfd);
			close(c->pidfd);
		}
		close_keep_errno(c->pty);
		return r;
	}
	out->pid = c->pid;
	out->pidfd = c->pidfd;
	out->start_time = c->start_time;
	out->pty_master = c->pty;
	out->init_pty_fd = c->init_pty_fd;
	return 0;
}

static void started_init(struct runtime_started *out)
{
	out->pid = -1;
	out->pidfd = out->pty_master = out->init_pty_fd = -1;
}

/* The parent's part for a user namespace: the maps of a new one the
   clone made, and the rootfs's mount for the namespace either way. */
static int userns_parent(const struct rt_plan *p, pid_t pid, struct ember_error *e)
{
	char path[64];

	if (p->userns_fd >= 0)
		return rt_userns_rootfs(p->s, p->userns_fd, p->root_uid, p->root_gid, e);
	int r = rt_userns_maps(pid, p->lx, e);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return err_sys(e, errno, "user namespace: open %s", path);
	return rt_userns_rootfs(p->s, ns, p->root_uid, p->root_gid, e);
}

int runtime_start(const struct runtime_start *s, struct runtime_started *out, struct ember_error *e)
{
	struct rt_plan p;
	struct rt_conv c = { .s = s, .p = &p, .sock = -1, .pidfd = -1, .pty = -1, .init_pty_fd = -1 };

	started_init(out);
	if (s->join_pidfd >= 0)
		return err_invalid(e, "runtime_start: a new container joins no task (runtime_exec)");
	if (plan_build(s, &p, e) < 0) {
		plan_done(&p);
		return -e->code;
	}
	/* Joining first, the child makes its namespaces itself, and PID 1 is
	   its child: before_setup is for that one (conv_second_child()). */
	int r = conv_clone(&c, p.join_first ? 0 : p.clone_flags, 1, child_start, e);
	/* cgroup v1: into the cgroup before anything runs. */
	if (r == 0 && s->before_setup && !p.join_first)
		r = s->before_setup(c.pid, s->userdata, e);
	int root_mnt = -1;
	if (ENABLED(CONFIG_USERNS) && r == 0 && p.has_userns && (root_mnt = userns_parent(&p, c.pid, e)) < 0)
		r = root_mnt;
	if (r == 0 && send_fd(c.sock, 'g', root_mnt) < 0)
		r = err_sys(e, errno, "start the container's setup");
	if (root_mnt >= 0)
		close(root_mnt);
	if (r == 0)
		r = conv_talk(&c, 0, e);
	return conv_end(&c, r, out);
}

int runtime_exec(const struct runtime_start *s, struct runtime_started *out, struct ember_error *e)
{
	struct rt_plan p;
	struct rt_conv c = { .s = s, .p = &p, .sock = -1, .pidfd = -1, .pty = -1, .init_pty_fd = -1 };

	started_init(out);
	if (s->join_pidfd < 0)
		return err_invalid(e, "runtime_exec: an exec joins a task (join_pidfd)");
	if (plan_build(s, &p, e) < 0) {
		plan_done(&p);
		return -e->code;
	}
	/* No namespace of its own: the child joins the task's, then clones
	   the process into its pid namespace (conv_second_child()). */
	int r = conv_clone(&c, 0, 0, child_exec, e);
	if (r == 0 && send_fd(c.sock, 'g', -1) < 0)
		r = err_sys(e, errno, "start the exec's setup");
	if (r == 0)
		r = conv_talk(&c, 1, e);
	return conv_end(&c, r, out);
}
