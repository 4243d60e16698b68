/* SPDX-License-Identifier: Apache-2.0 */
/* Checkpoint and restore through `criu swrk` (see runtime.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/fs.h"
#include "util/kconfig.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define CRIU_MSG_MAX (64u << 10)
#define CRIU_LOG_MAX (16u << 20)
#define CRIU_MOUNTS_MAX 64
#define CRIU_LOG_LEVEL 4 /* debug, as runc asks: the log is what tells why */
/* criu's fds: the socket, then the files it is to restore from. */
#define CRIU_SK_FD 3
#define CRIU_FILE_FD0 4

extern char **environ;

static const char *daemon_path(void)
{
	const char *path = getenv("PATH");
	return path ? path : &RUNTIME_DEFAULT_PATH[sizeof("PATH=") - 1];
}

/* name in the daemon's PATH, into buf. */
static bool path_find(const char *name, char *buf, size_t size)
{
	for (const char *p = daemon_path(); *p;) {
		size_t n = strcspn(p, ":");
		int k = snprintf(buf, size, "%.*s/%s", (int)n, p, name);
		if (n && k > 0 && (size_t)k < size && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

int runtime_criu_find(char *buf, size_t size, struct ember_error *e)
{
	const char *path = daemon_path();
	char q[RT_QUOTE_MAX];

	if (path_find(RUNTIME_CRIU_BIN, buf, size))
		return 0;
	return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
			    "criu is not installed: no \"criu\" in PATH \"%s\" (Debian: apt-get install criu)",
			    rt_quote(path, q));
}

int runtime_criu_file_key(int fd, char key[48], struct ember_error *e)
{
	char name[64];
	struct stat st;
	unsigned long mnt = 0;
	int found = 0;

	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "checkpoint: stat fd %d", fd);
	snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", fd);
	_cleanup_fclose_ FILE *f = fopen(name, "re");
	if (!f)
		return err_sys(e, errno, "checkpoint: %s", name);
	char line[128];
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "mnt_id: %lu", &mnt) == 1;
	if (!found)
		return err_set(e, EIO, "checkpoint: %s: no mnt_id", name);
	/* CRIU's spelling (files-reg.c): hex mount id and inode. */
	snprintf(key, 48, "file[%lx:%llx]", mnt, (unsigned long long)st.st_ino);
	return 0;
}

/* ---- the worker ---- */

struct swrk {
	pid_t pid;
	int sk;
	int pts_master; /* restore: the "orphan-pts-master" notification's descriptor, or -1 */
};

/* criu swrk 3, with files[i].fd as its fd CRIU_FILE_FD0 + i. */
static int swrk_start(const char *bin, const struct runtime_criu_file *files, size_t n, struct swrk *w,
		      struct ember_error *e)
{
	int sv[2];

	w->pid = -1;
	w->sk = w->pts_master = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "criu: socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(sv[0]);
		close(sv[1]);
		return err_sys(e, err, "criu: fork");
	}
	if (pid == 0) {
		/* The daemon has threads: only system calls from here on.
		   Copies above every target first, so that no dup2 clobbers a
		   descriptor still to be moved. */
		int hi[1 + RUNTIME_CHECKPOINT_FILES_MAX];
		int null = open("/dev/null", O_RDWR);
		hi[0] = fcntl(sv[1], F_DUPFD, 100);
		for (size_t i = 0; i < n; i++)
			hi[1 + i] = fcntl(files[i].fd, F_DUPFD, 100);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(hi[0], CRIU_SK_FD) < 0)
			_exit(127);
		for (size_t i = 0; i < n; i++)
			if (hi[1 + i] < 0 || dup2(hi[1 + i], CRIU_FILE_FD0 + (int)i) < 0)
				_exit(127);
		(void)syscall(SYS_close_range, CRIU_FILE_FD0 + (unsigned)n, ~0u, 0);
		char *argv[] = { (char *)RUNTIME_CRIU_BIN, (char *)"swrk", (char *)"3", NULL };
		execve(bin, argv, environ);
		_exit(127);
	}
	close(sv[1]);
	w->pid = pid;
	w->sk = sv[0];
	return 0;
}

/* Close the socket (criu exits when it reads EOF) and reap criu. */
static void swrk_end(struct swrk *w)
{
	int st;

	close_keep_errno(TAKE_FD(w->sk));
	close_keep_errno(TAKE_FD(w->pts_master));
	if (w->pid > 0)
		while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
			;
	w->pid = -1;
}

static int swrk_send(struct swrk *w, enum rt_criu_req_type type, const struct rt_criu_opts *o, bool ok,
		     struct ember_error *e)
{
	struct pb_buf req;

	if (rt_criu_req_encode(type, o, ok, &req, e) < 0)
		return -e->code;
	ssize_t n = send(w->sk, req.data, req.len, MSG_NOSIGNAL);
	int err = errno;
	pb_buf_done(&req);
	if (n < 0)
		return err_sys(e, err, "criu: send the request");
	return 0;
}

/* A message from criu into buf, and the descriptor that came with it
   (-1: none; any more are closed). */
static ssize_t swrk_recv(struct swrk *w, uint8_t *buf, size_t size, int *fd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	ssize_t n;

	*fd = -1;
	while ((n = recvmsg(w->sk, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	for (struct cmsghdr *h = n < 0 ? NULL : CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return n;
}

/* The response to the request sent; notifications on the way are
   answered. Only a terminal's restore asks for them (notify_scripts):
   "orphan-pts-master" brings the new terminal's master, kept in w; the
   others only say what CRIU is doing. */
static int swrk_response(struct swrk *w, struct rt_criu_resp *r, struct ember_error *e)
{
	_cleanup_free_ uint8_t *buf = malloc(CRIU_MSG_MAX);

	if (!buf)
		return rt_oom(e);
	for (;;) {
		int fd;
		ssize_t n = swrk_recv(w, buf, CRIU_MSG_MAX, &fd);
		if (n < 0)
			return err_sys(e, errno, "criu: read the response");
		if (n == 0) {
			close_keep_errno(fd);
			return err_set(e, EPIPE, "criu exited without an answer");
		}
		if (rt_criu_resp_decode(buf, (size_t)n, r, e) < 0) {
			close_keep_errno(fd);
			return -e->code;
		}
		if (r->type == RT_CRIU_NOTIFY && fd >= 0 && !strcmp(r->notify_script, "orphan-pts-master")) {
			close_keep_errno(w->pts_master);
			w->pts_master = TAKE_FD(fd);
		}
		close_keep_errno(fd);
		if (r->type != RT_CRIU_NOTIFY)
			return 0;
		if (swrk_send(w, RT_CRIU_NOTIFY, NULL, true, e) < 0)
			return -e->code;
	}
}

/* Known incompatibilities, for the one line of a failure. */
static const struct {
	const char *error; /* a part of CRIU's error */
	const char *hint;
} hints[] = {
	{ "Unexpected rt vDSO area bounds",
	  "this criu predates the kernel's vDSO layout (Linux 6.13 split vvar): CRIU 4.1 or later is needed" },
	{ "CONFIG_CHECKPOINT_RESTORE", "the kernel lacks CONFIG_CHECKPOINT_RESTORE" },
	/* CRIU 3.17 asks ctnetlink for the network namespace's conntrack
	   (its log says "Dumping netns links" then). */
	{ "-22 reported by netlink",
	  "the kernel may lack ctnetlink (nf_conntrack_netlink, CONFIG_NF_CT_NETLINK), which CRIU needs to dump a "
	  "network namespace" },
};

/* CRIU's first error in its log: "(00.05) Error (criu/vdso.c:381): vdso:
   Unexpected rt vDSO area bounds" gives the text after "): ". Its closing
   "Dumping FAILED." only when it said nothing else. */
static void first_error(int work_fd, const char *log, char *out, size_t size)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct ember_error ignored;

	*out = '\0';
	if (fs_read_file(work_fd, log, CRIU_LOG_MAX, &data, &len, &ignored) < 0)
		return;
	for (char *line = data; line && line < data + len;) {
		char *nl = memchr(line, '\n', (size_t)(data + len - line));
		if (nl)
			*nl = '\0';
		char *err = strstr(line, "Error (");
		char *text = err ? strstr(err, "): ") : NULL;
		if (text) {
			char q[RT_QUOTE_MAX];
			size_t n = strlen(text + 3);
			int closing = n >= 7 && !strcmp(text + 3 + n - 7, "FAILED.");
			if (!closing || !*out)
				snprintf(out, size, "%s", rt_quote(text + 3, q));
			if (!closing)
				return;
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* A failed request: "criu dump: <CRIU's first error>; <hint> (log: ...)". */
static int criu_failed(const struct runtime_checkpoint *c, const char *what, const char *log,
		       const struct rt_criu_resp *r, struct ember_error *e)
{
	char why[RT_CRIU_ERRMSG_MAX];
	const char *hint = NULL;

	first_error(c->work_fd >= 0 ? c->work_fd : c->images_fd, log, why, sizeof(why));
	if (!*why)
		memcpy(why, *r->cr_errmsg ? r->cr_errmsg : "failed", *r->cr_errmsg ? sizeof(why) : sizeof("failed"));
	for (size_t i = 0; i < ARRAY_SIZE(hints); i++)
		if (strstr(why, hints[i].error))
			hint = hints[i].hint;
	return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, r->cr_errno > 0 ? r->cr_errno : EIO,
			    "criu %s: %s%s%s (log: %s/%s)", what, why, hint ? "; " : "", hint ? hint : "",
			    c->work_path ? c->work_path : ".", log);
}

int runtime_mount_is_bind(json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	json_t *o;
	size_t i;

	if (type && !strcmp(type, "bind"))
		return 1;
	json_array_foreach(json_object_get(m, "options"), i, o) {
		const char *s = json_string_value(o);
		if (s && (!strcmp(s, "bind") || !strcmp(s, "rbind")))
			return 1;
	}
	return 0;
}

/* The spec's bind mounts: external to CRIU (their sources are the
   host's). Dump: destination -> destination (the name in the image);
   restore: that name -> the source. */
static int ext_mounts(json_t *spec, int restore, struct rt_criu_kv *kv, size_t *n, struct ember_error *e)
{
	json_t *m;
	size_t i;

	*n = 0;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));
		if (!runtime_mount_is_bind(m) || !dst || !src)
			continue;
		if (*n == CRIU_MOUNTS_MAX)
			return err_unsupported(e, "checkpoint: more than %d bind mounts", CRIU_MOUNTS_MAX);
		kv[*n].key = dst;
		kv[(*n)++].val = restore ? src : dst;
	}
	return 0;
}

/* pts_master (restore, may be NULL): the terminal's new master CRIU sent,
   or -1. */
static int criu_call(const char *bin, const struct runtime_checkpoint *c, enum rt_criu_req_type type,
		     const struct rt_criu_opts *o, struct rt_criu_resp *r, int *pts_master, struct ember_error *e)
{
	const char *what = type == RT_CRIU_DUMP ? "dump" : "restore";
	struct swrk w;

	if (swrk_start(bin, type == RT_CRIU_RESTORE ? c->files : NULL, type == RT_CRIU_RESTORE ? c->n_files : 0, &w,
		       e) < 0)
		return err_wrap(e, "criu %s", what);
	int rc = 0;
	if (ENABLED(CONFIG_CGROUPS) && type == RT_CRIU_RESTORE && c->cg)
		rc = runtime_cgroup_enter(c->cg, w.pid, e);
	if (rc == 0 && swrk_send(&w, type, o, false, e) == 0 && swrk_response(&w, r, e) == 0) {
		if (!r->success || r->type != (int)type)
			rc = criu_failed(c, what, o->log_file, r, e);
	} else {
		rc = rc < 0 ? rc : -e->code;
		/* A worker that died (no such binary, a crash): its log may
		   still tell why. */
		char why[RT_QUOTE_MAX + 8];
		first_error(c->work_fd >= 0 ? c->work_fd : c->images_fd, o->log_file, why, sizeof(why));
		if (*why)
			err_wrap(e, "criu %s: %s", what, why);
		else
			err_wrap(e, "criu %s", what);
	}
	if (rc < 0 && w.pid > 0)
		(void)kill(w.pid, SIGKILL);
	if (rc == 0 && pts_master)
		*pts_master = TAKE_FD(w.pts_master);
	swrk_end(&w);
	return rc;
}

static void criu_opts_init(const struct runtime_checkpoint *c, struct rt_criu_opts *o, const char *log)
{
	memset(o, 0, sizeof(*o));
	o->images_dir_fd = c->images_fd;
	o->work_dir_fd = c->work_fd;
	o->log_file = log;
	o->log_level = CRIU_LOG_LEVEL;
	o->root = c->rootfs;
	o->tcp_established = c->tcp_established;
	o->file_locks = c->file_locks;
	o->manage_cgroups = c->manage_cgroups;
	o->manage_cgroups_mode = c->manage_cgroups ? RT_CRIU_CG_SOFT : 0;
	/* CRIU locks the container's network while it works with
	   iptables-restore unless told otherwise, and a device of
	   nftables alone (as ember's own NAT is) has none: there CRIU
	   does it with its libnftables. */
	char ipt[PATH_MAX];
	if (!path_find("iptables-restore", ipt, sizeof(ipt)))
		o->network_lock = RT_CRIU_NETLOCK_NFTABLES;
}

/*
 * CRIU before 4.1 names its nftables network lock after the dumped tree's
 * host pid ("inet CRIU-<pid>"), which goes into the images with the
 * namespace's rules, and a restore unlocks the table of the restored
 * tree's pid: the dump's stays in the restored namespace, dropping every
 * packet (CRIU's commit f83931542 keeps the dump's name since). The
 * dump's name is kept next to CRIU's images (runtime_criu_netlock()) for
 * the caller to remove the table once the restore is done; CRIU 4.1 has
 * removed it itself by then.
 */
#define NETLOCK_FILE "ember-netlock"

static int netlock_note(const struct runtime_checkpoint *c, const struct rt_criu_opts *o, struct ember_error *e)
{
	char name[32];

	if (o->network_lock != RT_CRIU_NETLOCK_NFTABLES)
		return 0;
	int n = snprintf(name, sizeof(name), "CRIU-%d", (int)c->pid);
	return fs_write_atomic(c->images_fd, NETLOCK_FILE, name, (size_t)n, 0600, e);
}

int runtime_criu_netlock(int images_fd, char name[32])
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct ember_error none;

	if (fs_read_file(images_fd, NETLOCK_FILE, 31, &text, &len, &none) < 0 || len < 6 || strncmp(text, "CRIU-", 5) ||
	    strspn(text + 5, "0123456789") != len - 5)
		return 0;
	memcpy(name, text, len);
	name[len] = '\0';
	return 1;
}

int runtime_checkpoint(const struct runtime_checkpoint *c, struct ember_error *e)
{
	char bin[PATH_MAX];
	struct rt_criu_kv mnt[CRIU_MOUNTS_MAX];
	const char *ext[RUNTIME_CHECKPOINT_FILES_MAX];
	struct rt_criu_opts o;
	struct rt_criu_resp r;
	size_t n_mnt;

	if (runtime_criu_find(bin, sizeof(bin), e) < 0 || ext_mounts(c->spec, 0, mnt, &n_mnt, e) < 0)
		return -e->code;
	for (size_t i = 0; i < c->n_files; i++)
		ext[i] = c->files[i].key;
	criu_opts_init(c, &o, c->log_name ? c->log_name : "dump.log");
	o.pid = c->pid;
	o.leave_running = c->leave_running;
	o.ext_mnt = mnt;
	o.n_ext_mnt = n_mnt;
	o.external = ext;
	o.n_external = c->n_files;
	o.orphan_pts_master = c->terminal;
	if (netlock_note(c, &o, e) < 0)
		return err_wrap(e, "criu dump");
	return criu_call(bin, c, RT_CRIU_DUMP, &o, &r, NULL, e);
}

int runtime_restore(const struct runtime_checkpoint *c, struct runtime_started *out, struct ember_error *e)
{
	char bin[PATH_MAX];
	struct rt_criu_kv mnt[CRIU_MOUNTS_MAX];
	struct rt_criu_inherit inh[RUNTIME_CHECKPOINT_FILES_MAX];
	struct rt_criu_opts o;
	struct rt_criu_resp r;
	size_t n_mnt;

	out->pid = 0;
	out->pidfd = out->pty_master = out->init_pty_fd = -1;
	if (runtime_criu_find(bin, sizeof(bin), e) < 0 || ext_mounts(c->spec, 1, mnt, &n_mnt, e) < 0)
		return -e->code;
	for (size_t i = 0; i < c->n_files; i++) {
		inh[i].key = c->files[i].key;
		inh[i].fd = CRIU_FILE_FD0 + (int)i;
	}
	criu_opts_init(c, &o, c->log_name ? c->log_name : "restore.log");
	o.rst_sibling = true; /* the tree becomes the caller's child */
	o.ext_mnt = mnt;
	o.n_ext_mnt = n_mnt;
	o.inherit_fd = inh;
	o.n_inherit_fd = c->n_files;
	o.orphan_pts_master = o.notify_scripts = c->terminal;
	if (c->net_external) {
		o.external = &c->net_external;
		o.n_external = 1;
	}
	if (criu_call(bin, c, RT_CRIU_RESTORE, &o, &r, &out->pty_master, e) < 0)
		return -e->code;
	int rc = 0;
	if (r.restore_pid <= 0)
		rc = err_set(e, EBADMSG, "criu restore: no pid in the answer");
	else if (c->terminal && out->pty_master < 0)
		rc = err_set(e, EBADMSG, "criu restore: no terminal's master came (orphan-pts-master)");
	else if ((out->pidfd = (int)syscall(SYS_pidfd_open, r.restore_pid, 0)) < 0)
		rc = err_sys(e, errno, "criu restore: pidfd_open %d", (int)r.restore_pid);
	else if (runtime_pid_start_time(r.restore_pid, &out->start_time, e) < 0)
		rc = err_wrap(e, "criu restore");
	if (rc < 0) {
		out->pidfd = close_keep_errno(out->pidfd);
		out->pty_master = close_keep_errno(out->pty_master);
		return rc;
	}
	out->pid = r.restore_pid;
	return 0;
}
