/* SPDX-License-Identifier: Apache-2.0 */
/* Task supervision: the state machine of task-fsm.c carried out, its waits run as jobs (see tasks.h). */
#include "daemon/revisions.h"
#include "daemon/tasks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/networks.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define TASK_JSON_MAX (64u << 10)
#define EXIT_FILE_MAX 4096u
#define EXECS_JSON_MAX (256u << 10)

struct task_waiter {
	struct task_waiter *next;
	task_wait_fn fn;
	void *userdata;
};

/* A job at work on a task (start, exec, freeze, kill, delete): what it
   needs copied in, what it makes handed back in the loop. */
struct task_op {
	struct task_op *next; /* t->ops */
	struct daemon *d;
	struct task *t; /* loop-side only: the job's thread never touches it */
	int exclusive;
	enum task_event done_ev;
	task_done_fn done;
	void *userdata;
	char ns[80], id[80];
	struct runtime_cgroup *cg; /* a reference: freeze, kill, delete, exec: the task's; start: the one made */
	/* start and exec */
	int stdio[3];
	int want_pty;
	struct runtime_started st;
	/* start */
	int again, detached, fresh;
	enum { START_USER, START_RESTART, START_BOOT } origin;
	struct task_size size;
	struct restart restart;
	/* exec */
	char exec_id[80];
	json_t *process;
	char *user;
	int join_pidfd;
	pid_t join_pid;
	/* freeze, kill */
	int frozen, sig;
	/* checkpoint (and a start that restores: image_path set) */
	char image_path[PATH_MAX];
	struct task_checkpoint_options ck;
	pid_t pid;
	int saved_user_stopped;
};

static void task_event(struct task *t, enum task_event ev, struct task_op *op, struct ember_error *err);
static void exec_exited(struct loop_source *s, int fd, uint32_t events, void *userdata);

/* ---- waiter lists (a task's, an exec's) ------------------------------------------------ */

static struct task_waiter *waiters_add(struct task_waiter **head, task_wait_fn fn, void *userdata)
{
	struct task_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fn = fn;
	w->userdata = userdata;
	w->next = *head;
	*head = w;
	return w;
}

static void waiters_cancel(struct task_waiter **head, struct task_waiter *w)
{
	for (struct task_waiter **pp = head; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			free(w);
			return;
		}
}

/* Run and free every waiter (t: what they waited for); NULL t: free only. */
static void waiters_wake(struct task_waiter **head, struct task *t)
{
	struct task_waiter *w = *head;
	*head = NULL;
	while (w) {
		struct task_waiter *next = w->next;
		if (t)
			w->fn(t, w->userdata);
		free(w);
		w = next;
	}
}

/* ---- state on disk ------------------------------------------------------------------- */

static json_t *exit_json(const struct task_exit *x)
{
	json_t *j = json_pack("{s:i, s:b, s:s, s:b}", "exit_code", x->code, "oom", x->oom, "exited_at", x->at, "known",
			      x->known);
	if (j && x->signal) {
		char name[RUNTIME_SIGNAL_NAME_MAX];
		json_object_set_new(j, "signal", json_integer(x->signal));
		json_object_set_new(j, "signal_name", json_string(runtime_signal_name(x->signal, name)));
	}
	return j;
}

static void exit_from_json(json_t *j, struct task_exit *x)
{
	memset(x, 0, sizeof(*x));
	x->code = (int)json_integer_value(json_object_get(j, "exit_code"));
	x->signal = (int)json_integer_value(json_object_get(j, "signal"));
	x->oom = json_is_true(json_object_get(j, "oom"));
	x->known = json_is_true(json_object_get(j, "known"));
	snprintf(x->at, sizeof(x->at), "%s", json_string_value(json_object_get(j, "exited_at")) ?: "");
}

json_t *task_json(const struct task *t)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:I}", "id", t->id, "namespace", t->ns, "pid",
			      (json_int_t)t->pid, "start_time", (json_int_t)t->start_time, "status",
			      task_state_name(t->state), "started_at", t->started_at, "detached", t->detached,
			      "restarts", (json_int_t)t->restarts);
	if (j && t->state == TASK_STOPPED && t->exit.at[0])
		json_object_set_new(j, "exit", exit_json(&t->exit));
	if (j && t->user_stopped)
		json_object_set_new(j, "user_stopped", json_true());
	if (j && t->pty_fd >= 0)
		json_object_set_new(j, "pty_fd", json_integer(t->pty_fd));
	return j;
}

static int task_dir_at(int tasks_fd, const char *ns, const char *id, int create, struct ember_error *e)
{
	_cleanup_close_ int nsfd = fs_open_dir(tasks_fd, ns, create, 0711, e);
	if (nsfd < 0)
		return -e->code;
	return fs_open_dir(nsfd, id, create, 0711, e);
}

static int task_dir(struct task *t, int create, struct ember_error *e)
{
	return task_dir_at(t->d->tasks_fd, t->ns, t->id, create, e);
}

static int save_json(struct task *t, const char *file, json_t *j, struct ember_error *e)
{
	_cleanup_close_ int dir = task_dir(t, 0, e);
	if (dir < 0) {
		json_decref(j);
		return -e->code;
	}
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	/* The state directory: a rename, no fsync (util/fs.h). */
	int r = fs_replace(dir, file, text, strlen(text), 0600, e);
	free(text);
	return r;
}

void task_save_or_log(struct task *t)
{
	struct ember_error e;
	if (save_json(t, "task.json", task_json(t), &e) < 0)
		log_warn(&t->d->log, "task %s/%s: %s", t->ns, t->id, e.message);
}

/* execs.json: every exec the daemon knows (a new daemon reads it back, so
   a finished exec's status is not lost across a restart). */
static void save_execs(struct task *t)
{
	struct ember_error e;
	json_t *list = json_array();

	for (struct task_exec *x = t->execs; x && list; x = x->next)
		json_array_append_new(list, task_exec_json(x));
	if (save_json(t, "execs.json", list, &e) < 0)
		log_warn(&t->d->log, "task %s/%s: execs: %s", t->ns, t->id, e.message);
}

/* init's exit file: {"exit_code": N} or {"signal": N, ...}, "exited_at". */
static int read_exit_file(int dir, struct task_exit *x)
{
	char *data = NULL;
	size_t len;
	struct ember_error e;

	if (fs_read_file(dir, "exit", EXIT_FILE_MAX, &data, &len, &e) < 0 || len == 0) {
		free(data);
		return -1;
	}
	json_t *j = json_loadb(data, len, 0, NULL);
	free(data);
	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	json_t *code = json_object_get(j, "exit_code"), *sig = json_object_get(j, "signal");
	const char *at = json_string_value(json_object_get(j, "exited_at"));
	int ok = 1;
	if (json_is_integer(sig) && json_integer_value(sig) > 0 && json_integer_value(sig) < 65) {
		x->signal = (int)json_integer_value(sig);
		x->code = 128 + x->signal;
	} else if (json_is_integer(code) && json_integer_value(code) >= 0 && json_integer_value(code) < 256) {
		x->signal = 0;
		x->code = (int)json_integer_value(code);
	} else {
		ok = 0;
	}
	if (ok && at)
		snprintf(x->at, sizeof(x->at), "%.30s", at);
	json_decref(j);
	if (!ok)
		return -1;
	x->known = 1;
	return 0;
}

/* A wait status into x. */
static void exit_from_siginfo(const siginfo_t *si, struct task_exit *x)
{
	x->known = 1;
	if (si->si_code == CLD_EXITED) {
		x->code = si->si_status;
	} else {
		x->signal = si->si_status;
		x->code = 128 + si->si_status;
	}
}

/* ---- the list ----------------------------------------------------------------------------- */

struct task *task_find(struct daemon *d, const char *ns, const char *id)
{
	for (struct task *t = d->tasks; t; t = t->next)
		if (!strcmp(t->ns, ns) && !strcmp(t->id, id))
			return t;
	return NULL;
}

static void task_unlink(struct task *t)
{
	for (struct task **pp = &t->d->tasks; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
}

static void task_unwatch(struct task *t)
{
	t->watch = loop_source_free(t->watch);
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}

static void exec_free(struct task_exec *x)
{
	x->watch = loop_source_free(x->watch);
	if (x->pidfd >= 0)
		close(x->pidfd);
	waiters_wake(&x->waiters, NULL);
	free(x);
}

static void task_free(struct task *t)
{
	while (t->execs) {
		struct task_exec *x = t->execs;
		t->execs = x->next;
		exec_free(x);
	}
	task_unwatch(t);
	t->restart_timer = loop_source_free(t->restart_timer);
	waiters_wake(&t->waiters, NULL);
	for (struct task_op *op = t->ops; op; op = op->next)
		op->t = NULL; /* its job ends on its own */
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(t->cg);
	free(t);
}

static struct task *task_new(struct daemon *d, const char *ns, const char *id)
{
	struct task *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->d = d;
	t->pidfd = t->pty_fd = -1;
	snprintf(t->ns, sizeof(t->ns), "%s", ns);
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->next = d->tasks;
	d->tasks = t;
	return t;
}

/* ---- waiting -------------------------------------------------------------------------- */

struct task_waiter *task_wait(struct task *t, task_wait_fn fn, void *userdata)
{
	if (t->state == TASK_STOPPED) {
		fn(t, userdata);
		return NULL;
	}
	return waiters_add(&t->waiters, fn, userdata);
}

void task_wait_cancel(struct task *t, struct task_waiter *w)
{
	waiters_cancel(&t->waiters, w);
}

/* ---- containers (the records tasks read) ------------------------------------------------- */

int container_get(struct daemon *d, const char *ns, const char *id, json_t **out, struct ember_error *e)
{
	return meta_object_get(&d->meta, ns, "containers", "container", id, out, e);
}

int container_mark_stopped(struct daemon *d, const char *ns, const char *id, int stopped, struct ember_error *e)
{
	json_t *rec;
	if (container_get(d, ns, id, &rec, e) < 0)
		return -e->code;
	int r = 0;
	if (json_is_true(json_object_get(rec, "user_stopped")) != !!stopped) {
		if (stopped)
			json_object_set_new(rec, "user_stopped", json_true());
		else
			json_object_del(rec, "user_stopped");
		r = meta_object_put(&d->meta, ns, "containers", id, rec, e);
	}
	json_decref(rec);
	return r;
}

/* ---- jobs on a task -------------------------------------------------------------------- */

static struct task_op *op_new(struct task *t, enum task_event done_ev, task_done_fn done, void *userdata)
{
	struct task_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->d = t->d;
	op->t = t;
	op->done_ev = done_ev;
	op->done = done;
	op->userdata = userdata;
	op->stdio[0] = op->stdio[1] = op->stdio[2] = op->join_pidfd = -1;
	op->st.pidfd = op->st.pty_master = -1;
	snprintf(op->ns, sizeof(op->ns), "%s", t->ns);
	snprintf(op->id, sizeof(op->id), "%s", t->id);
	return op;
}

static void op_free(struct task_op *op)
{
	for (int i = 0; i < 3; i++)
		close_keep_errno(op->stdio[i]);
	close_keep_errno(op->st.pidfd);
	close_keep_errno(op->st.pty_master);
	close_keep_errno(op->join_pidfd);
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(op->cg);
	json_decref(op->process);
	free(op->user);
	free((char *)op->ck.image);
	free(op);
}

/* The requester's answer, once; the pty (when there is one) becomes its. */
static void op_answer(struct task_op *op, struct task *t, pid_t pid, const struct ember_error *err)
{
	int pty = -1;
	task_done_fn done = op->done;

	op->done = NULL;
	if (!err && op->want_pty)
		pty = TAKE_FD(op->st.pty_master);
	if (done)
		done(op->d, t, pid, pty, err, op->userdata);
	else
		close_keep_errno(pty);
}

static void op_done(struct job *j, int result, const struct ember_error *e)
{
	struct task_op *op = job_data(j);
	struct task *t = op->t;
	struct ember_error err;

	if (result < 0)
		err = *e;
	if (t) {
		for (struct task_op **pp = &t->ops; *pp; pp = &(*pp)->next)
			if (*pp == op) {
				*pp = op->next;
				break;
			}
		task_event(t, result < 0 && op->done_ev == TEV_STARTED ? TEV_START_FAILED : op->done_ev, op,
			   result < 0 ? &err : NULL);
	} else {
		/* The task went while the job ran (shutdown): what it started
		   must not run unseen. */
		if (result == 0 && op->st.pidfd >= 0)
			(void)syscall(SYS_pidfd_send_signal, op->st.pidfd, SIGKILL, NULL, 0);
		err_set_name(&err, EMBER_ERROR_UNAVAILABLE, ESRCH, "task %s is gone", op->id);
	}
	if (op->done) /* an event that did not answer it: say how it went */
		op_answer(op, t, 0, result < 0 || !t ? &err : NULL);
	op_free(op);
}

static int op_run(struct job *j, struct ember_error *e);

static const struct job_ops task_job_ops = { .run = op_run, .done = op_done };

/* At most one exclusive job at a time (request() checks). */
static int op_start(struct task_op *op, const char *kind, int exclusive, struct ember_error *e)
{
	if (!job_start(op->d->jobs, &task_job_ops, op, kind, op->ns, op->id, e))
		return -e->code;
	op->exclusive = exclusive;
	op->next = op->t->ops;
	op->t->ops = op;
	return 0;
}

static int busy(const struct task *t)
{
	for (const struct task_op *op = t->ops; op; op = op->next)
		if (op->exclusive)
			return 1;
	return 0;
}

/* ---- cgroups ------------------------------------------------------------------------------ */

static int cgroup_enter(pid_t pid, void *userdata, struct ember_error *e)
{
	return runtime_cgroup_enter(userdata, pid, e);
}

/* A start's hook: cgroup v1 first (nothing runs before it is in), then
   the network (the child waits for both). */
struct start_hook {
	struct runtime_cgroup *cg;
	struct network_start *net;
};

static int start_hook(pid_t pid, void *userdata, struct ember_error *e)
{
	struct start_hook *h = userdata;

	if (ENABLED(CONFIG_CGROUPS) && h->cg && runtime_cgroup_enter(h->cg, pid, e) < 0)
		return -e->code;
	if (h->net && networks_attach(h->net, pid, e) < 0)
		return -e->code;
	return 0;
}

static void cgroup_rel(const char *ns, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "ember/%s/%s", ns, id);
}

/* ---- the start job (in its thread) ----------------------------------------------------- */

struct start_ctx {
	json_t *rec, *mounts;
	int dir, exit_fd, log_fd[2];
	char rootfs[PATH_MAX];
};

static void start_ctx_done(struct start_ctx *c)
{
	json_decref(c->rec);
	json_decref(c->mounts);
	close_keep_errno(c->dir);
	close_keep_errno(c->exit_fd);
	close_keep_errno(c->log_fd[0]);
	close_keep_errno(c->log_fd[1]);
}

/* A file init writes, opened without following a link, then opened again
   through /proc/self/fd: the same file, but a description without
   O_NOFOLLOW, which CRIU would repeat on restore when it reopens the file
   it is handed through /proc/self/fd/N (ELOOP). */
static int open_state_file(int dir, const char *name, int flags, struct ember_error *e)
{
	char path[32];
	_cleanup_close_ int fd = openat(dir, name, flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return err_sys(e, errno, "task state: %s", name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int again = open(path, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC);
	if (again < 0)
		return err_sys(e, errno, "task state: %s: open again", name);
	return again;
}

/* A fresh state directory and the files init writes. again: the task ran
   before (a restart, or a start of a stopped task): its logs go on, as
   Docker's do, the newer file first for init. */
static int prepare_state(struct task_op *op, struct start_ctx *c, struct ember_error *e)
{
	_cleanup_close_ int nsfd = fs_open_dir(op->d->tasks_fd, op->ns, 1, 0711, e);
	if (nsfd < 0)
		return -e->code;
	if (!op->again && fs_remove_tree(nsfd, op->id, e) < 0)
		return err_wrap(e, "task state");
	if ((c->dir = fs_open_dir(nsfd, op->id, 1, 0711, e)) < 0)
		return -e->code;
	if (mkdirat(c->dir, "rootfs", 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "task state: rootfs");
	if ((c->exit_fd = open_state_file(c->dir, "exit", O_RDWR | O_TRUNC, e)) < 0)
		return -e->code;
	/* O_APPEND: init only ever appends (or truncates one to start it
	   again), and CRIU checks no size of a file open so: a checkpoint
	   restores after the log grew, or into another daemon's new one. */
	int keep = O_APPEND | (op->again ? 0 : O_TRUNC);
	if (op->detached && ((c->log_fd[0] = open_state_file(c->dir, "log.0", O_WRONLY | keep, e)) < 0 ||
			     (c->log_fd[1] = open_state_file(c->dir, "log.1", O_WRONLY | keep, e)) < 0))
		return -e->code;
	int first = 0;
	if (ENABLED(CONFIG_INIT) && op->detached && op->again &&
	    runtime_log_order(c->log_fd[0], c->log_fd[1], &first, e) == 0 && first == 0) {
		/* log.0 is the older one: init goes on in log.1. */
		int tmp = c->log_fd[0];
		c->log_fd[0] = c->log_fd[1];
		c->log_fd[1] = tmp;
	}
	int n = snprintf(c->rootfs, sizeof(c->rootfs), "%s/tasks/%s/%s/rootfs", op->d->state_path, op->ns, op->id);
	if (n < 0 || (size_t)n >= sizeof(c->rootfs))
		return err_set(e, ENAMETOOLONG, "task state: path too long");
	return 0;
}

static int rootfs_mounts(struct daemon *d, const char *ns, json_t *rec, json_t **out, struct ember_error *e)
{
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	*out = NULL;
	if (!key)
		return 0;
	struct snapshotter *sn = snapshots_get(d, json_string_value(json_object_get(rec, "snapshotter")), e);
	if (!sn)
		return -e->code;
	if (snapshot_mounts(sn, ns, key, out, e) < 0)
		return err_wrap(e, "container's snapshot");
	return 0;
}

/* Where CRIU's log of a restore goes (see task_restore()): NULL for the
   images' directory, or beside the CRIU images of a container made from
   a checkpoint image, which go with it when the restore fails. */
static const char *restore_log_path(struct task_op *op, json_t *rec, char *buf, size_t size)
{
	char dflt[PATH_MAX];
	struct ember_error ignored;

	if (!json_object_get(rec, "checkpoint") ||
	    task_checkpoint_path(op->d, op->ns, op->id, dflt, sizeof(dflt), &ignored) < 0 ||
	    strcmp(dflt, op->image_path))
		return NULL;
	static const char ext[] = ".restore.log";
	size_t n = strlen(dflt);
	if (n + sizeof(ext) > size)
		return NULL;
	memcpy(buf, dflt, n);
	memcpy(buf + n, ext, sizeof(ext));
	return buf;
}

/* A start that restores: CRIU brings the tree back in place of the
   clone; a bridge network's veth is CRIU's, renamed and put in the NAT
   table after (networks_restore_*()). A failure once it runs kills it. */
static int restore(struct task_op *op, struct start_ctx *c, const struct runtime_start *s, struct network_start *ns,
		   const char *log_path, struct ember_error *e)
{
	char ext[128] = "";

	if (ns->net && networks_restore_prepare(ns, ext, sizeof(ext), e) < 0)
		return -e->code;
	if (task_restore_run(op->d, c->dir, s->spec, c->mounts, s->rootfs, op->cg, op->image_path, log_path,
			     ext[0] ? ext : NULL, &op->st, e) < 0)
		return -e->code;
	if (!ns->net || networks_restore_attach(ns, op->st.pid, e) == 0)
		return 0;
	siginfo_t si;
	(void)syscall(SYS_pidfd_send_signal, op->st.pidfd, SIGKILL, NULL, 0);
	while (waitid((idtype_t)P_PIDFD, (id_t)op->st.pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	op->st.pidfd = close_keep_errno(op->st.pidfd);
	return -e->code;
}

static int start_run(struct task_op *op, struct ember_error *e)
{
	struct daemon *d = op->d;
	struct start_ctx c = { .dir = -1, .exit_fd = -1, .log_fd = { -1, -1 } };
	struct runtime_seccomp sc = { 0 };
	struct network_start ns = { .d = d, .ns = op->ns, .id = op->id };
	struct start_hook hook = { 0 };
	char log_path[PATH_MAX];
	int have_sc = 0, r;

	if ((r = container_get(d, op->ns, op->id, &c.rec, e)) < 0)
		goto out;
	json_t *spec = json_object_get(c.rec, "spec");
	if (op->size.rows && op->size.cols)
		json_object_set_new(json_object_get(spec, "process"), "consoleSize",
				    json_pack("{s:I, s:I}", "height", (json_int_t)op->size.rows, "width",
					      (json_int_t)op->size.cols));
	if ((r = restart_parse(json_string_value(json_object_get(c.rec, "restart")), &op->restart, e)) < 0 ||
	    (r = prepare_state(op, &c, e)) < 0 || (r = rootfs_mounts(d, op->ns, c.rec, &c.mounts, e)) < 0)
		goto out;
	struct runtime_start s = {
		.spec = spec,
		.rootfs_mounts = c.mounts,
		.rootfs = c.mounts ? c.rootfs : json_string_value(json_object_get(c.rec, "rootfs")),
		.self_fd = d->self_fd,
		.stdio = { op->stdio[0], op->stdio[1], op->stdio[2] },
		.exit_fd = c.exit_fd,
		.log_fd = { c.log_fd[0], c.log_fd[1] },
		.log_max = TASK_LOG_MAX_DEFAULT,
		.cgroup_fd = -1,
		.join_pidfd = -1,
		.user = json_string_value(json_object_get(json_object_get(spec, "annotations"), RUNTIME_ANN_USER)),
		/* Detached with a terminal: init holds it, for the logs and
		   for `tasks attach`. */
		.pty_to_init = op->detached,
	};
	if (!s.rootfs) {
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "container %s has no rootfs", op->id);
		goto out;
	}
	ns.net = json_object_get(c.rec, "network");
	if (ns.net) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(c.rootfs) - strlen("/rootfs")), c.rootfs);
		if ((r = networks_start_prepare(&ns, c.dir, dir, spec, e)) < 0)
			goto out;
		hook.net = &ns;
		s.before_setup = start_hook;
		s.userdata = &hook;
	}
	if (ENABLED(CONFIG_CGROUPS)) {
		char rel[200];
		cgroup_rel(op->ns, op->id, rel, sizeof(rel));
		if ((r = runtime_cgroup_create("/sys/fs/cgroup", rel, &op->cg, e)) < 0 ||
		    (r = runtime_cgroup_set(op->cg, json_object_get(json_object_get(spec, "linux"), "resources"), e)) < 0 ||
		    (ENABLED(CONFIG_CGROUP_DEVICES) &&
		     (r = runtime_cgroup_devices(op->cg, json_object_get(spec, "linux"), e)) < 0))
			goto out;
		s.cgroup_fd = runtime_cgroup_fd(op->cg);
		if (s.cgroup_fd < 0) {
			hook.cg = op->cg;
			s.before_setup = start_hook;
			s.userdata = &hook;
		}
	}
	if ((r = runtime_seccomp_for(spec, &sc, &have_sc, e)) < 0)
		goto out;
	if (have_sc)
		s.seccomp = &sc;
	if (op->image_path[0])
		r = restore(op, &c, &s, &ns, restore_log_path(op, c.rec, log_path, sizeof(log_path)), e);
	else
		r = runtime_start(&s, &op->st, e);
	if (ENABLED(CONFIG_SECCOMP) && have_sc)
		runtime_seccomp_free(&sc);
out:
	if (r < 0) {
		if (ns.attached)
			networks_detach(d, op->ns, op->id);
		if (ENABLED(CONFIG_CGROUPS) && op->cg) {
			struct ember_error ignored;
			(void)runtime_cgroup_remove(op->cg, &ignored);
			op->cg = runtime_cgroup_free(op->cg);
		}
		if (c.dir >= 0 && !op->again) {
			/* Nothing of a failed start stays behind (a task that ran
			   before keeps its state and logs: they tell why). */
			_cleanup_close_ int nsfd = fs_open_dir(d->tasks_fd, op->ns, 0, 0, &(struct ember_error){ 0 });
			if (nsfd >= 0)
				(void)fs_remove_tree(nsfd, op->id, &(struct ember_error){ 0 });
		}
	}
	start_ctx_done(&c);
	return r;
}

/* ---- the other jobs (in their threads) --------------------------------------------------- */

static int exec_run(struct task_op *op, struct ember_error *e)
{
	json_t *rec = NULL;
	struct runtime_seccomp sc = { 0 };
	int have_sc = 0;

	if (container_get(op->d, op->ns, op->id, &rec, e) < 0)
		return -e->code;
	json_t *cspec = json_object_get(rec, "spec");
	json_t *ann = json_object_get(cspec, "annotations");
	json_t *lx = json_object_get(cspec, "linux");
	json_t *spec = json_pack("{s:O, s:o, s:o}", "process", op->process, "annotations",
				 ann ? json_incref(ann) : json_object(), "linux", lx ? json_incref(lx) : json_object());
	json_decref(rec);
	if (!spec)
		return err_set(e, ENOMEM, "out of memory");
	struct runtime_start s = {
		.spec = spec,
		.self_fd = -1,
		.stdio = { op->stdio[0], op->stdio[1], op->stdio[2] },
		.exit_fd = -1,
		.log_fd = { -1, -1 },
		.cgroup_fd = -1,
		.join_pidfd = op->join_pidfd,
		.join_pid = op->join_pid,
		.user = op->user,
	};
	if (ENABLED(CONFIG_CGROUPS) && op->cg) {
		s.cgroup_fd = runtime_cgroup_fd(op->cg);
		if (s.cgroup_fd < 0) {
			s.before_setup = cgroup_enter;
			s.userdata = op->cg;
		}
	}
	int r = runtime_seccomp_for(spec, &sc, &have_sc, e);
	if (r == 0 && have_sc)
		s.seccomp = &sc;
	if (r == 0)
		r = runtime_exec(&s, &op->st, e);
	if (ENABLED(CONFIG_SECCOMP) && have_sc)
		runtime_seccomp_free(&sc);
	json_decref(spec);
	return r < 0 ? err_wrap(e, "exec in task %s", op->id) : 0;
}

static int delete_run(struct task_op *op, struct ember_error *e)
{
	networks_detach(op->d, op->ns, op->id);
	if (ENABLED(CONFIG_CGROUPS) && op->cg && runtime_cgroup_remove(op->cg, e) < 0)
		return err_wrap(e, "task %s", op->id);
	_cleanup_close_ int nsfd = fs_open_dir(op->d->tasks_fd, op->ns, 0, 0, e);
	if (nsfd >= 0 && fs_remove_tree(nsfd, op->id, e) < 0)
		return err_wrap(e, "task %s", op->id);
	return 0;
}

static int op_run(struct job *j, struct ember_error *e)
{
	struct task_op *op = job_data(j);

	switch (op->done_ev) {
	case TEV_STARTED:
	case TEV_EXEC: {
		if (job_slot_take(&op->d->start_slots, j, e) < 0)
			return -e->code;
		int r = op->done_ev == TEV_STARTED ? start_run(op, e) : exec_run(op, e);
		job_slot_give(&op->d->start_slots);
		return r;
	}
	case TEV_PAUSED:
	case TEV_RESUMED:
	case TEV_KILL:
		/* Only ever started with a cgroup (the freezer, every process). */
		if (!ENABLED(CONFIG_CGROUPS) || !op->cg)
			return err_set(e, EOPNOTSUPP, "task %s has no cgroup", op->id);
		return op->done_ev == TEV_KILL ? runtime_cgroup_kill(op->cg, op->sig, e)
					       : runtime_cgroup_freeze(op->cg, op->frozen, e);
	case TEV_DELETE:
		return delete_run(op, e);
	case TEV_CHECKPOINTED:
		return task_dump_run(op->d, op->ns, op->id, op->pid, op->cg != NULL, &op->ck, e);
	default:
		return err_set(e, EINVAL, "task job: nothing to do");
	}
}

/* ---- the actions (in the loop) ---------------------------------------------------------- */

static void on_pidfd(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct task *t = userdata;
	(void)s;
	(void)fd;
	(void)events;
	task_event(t, TEV_EXITED, NULL, NULL);
}

static int watch(struct task *t, struct ember_error *e)
{
	t->watch = loop_add_io(t->d->loop, t->pidfd, EPOLLIN, on_pidfd, t, "task", e);
	return t->watch ? 0 : -e->code;
}

static int send_signal(struct task *t, int sig, struct ember_error *e)
{
	if (syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) < 0)
		return err_sys(e, errno, "kill task %s", t->id);
	if (sig == SIGKILL)
		t->sent_kill = 1;
	return 0;
}

static void restart_fire(struct loop_source *s, void *userdata);
static int start_task(struct daemon *d, const char *ns, const char *id, int stdio[3], int want_pty,
		      const struct task_size *size, task_done_fn done, void *userdata, int origin,
		      const char *image_path, struct ember_error *e);

/* TA_EXIT: collect how its PID 1 ended, record it, tell everyone, and let
   the restart policy decide. */
static void task_exited(struct task *t)
{
	siginfo_t si = { 0 };
	int reaped = 0;
	struct ember_error e;

	if (t->is_child && t->pidfd >= 0 &&
	    waitid((idtype_t)P_PIDFD, (id_t)t->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		reaped = 1;
	task_unwatch(t);
	memset(&t->exit, 0, sizeof(t->exit));
	_cleanup_close_ int dir = task_dir(t, 0, &e);
	if (dir < 0 || read_exit_file(dir, &t->exit) < 0) {
		/* No word from init: it was killed itself (SIGKILL to the
		   task), or it is not ember init. */
		if (reaped) {
			exit_from_siginfo(&si, &t->exit);
		} else if (t->sent_kill) {
			t->exit.known = 1;
			t->exit.signal = SIGKILL;
			t->exit.code = 128 + SIGKILL;
		} else {
			t->exit.code = 255;
		}
		timestamp_now(t->exit.at);
	}
	struct runtime_cgroup_stats cs;
	if (ENABLED(CONFIG_CGROUPS) && t->cg && runtime_cgroup_stats(t->cg, &cs, &e) == 0 && cs.oom_kills > 0)
		t->exit.oom = 1;
	task_save_or_log(t);
	json_t *ev = json_pack("{s:s, s:I, s:i, s:b, s:s}", "id", t->id, "pid", (json_int_t)t->pid, "exit_code",
			       t->exit.code, "oom", t->exit.oom, "exited_at", t->exit.at);
	if (ev && t->exit.signal)
		json_object_set_new(ev, "signal", json_integer(t->exit.signal));
	if (t->exit.oom)
		events_publish(t->d, t->ns, "/tasks/oom", json_pack("{s:s}", "id", t->id));
	events_publish(t->d, t->ns, "/tasks/exit", ev);
	log_info(&t->d->log, "task %s/%s (pid %d) exited: %s %d%s", t->ns, t->id, (int)t->pid,
		 t->exit.signal ? "signal" : "code", t->exit.signal ? t->exit.signal : t->exit.code,
		 t->exit.oom ? " (OOM)" : "");
	waiters_wake(&t->waiters, t);

	struct task_restart_input in = {
		.policy = t->restart,
		.failed = t->exit.code != 0 || t->exit.signal,
		.user_stopped = t->user_stopped,
		.restarts = t->restarts,
		.ran_ms = loop_now_ms() - t->started_ms,
	};
	uint64_t delay;
	char pol[32];
	switch (task_restart_plan(&in, &t->restarts, &delay)) {
	case TASK_RESTART_NO:
		break;
	case TASK_RESTART_GIVE_UP:
		events_publish(t->d, t->ns, "/tasks/restart-gave-up",
			       json_pack("{s:s, s:i}", "id", t->id, "restarts", (int)t->restarts));
		break;
	case TASK_RESTART_AFTER:
		t->restart_timer = loop_add_timer(t->d->loop, delay, 0, restart_fire, t, "restart", &e);
		if (!t->restart_timer) {
			log_warn(&t->d->log, "task %s/%s: restart: %s", t->ns, t->id, e.message);
			break;
		}
		events_publish(t->d, t->ns, "/tasks/restart",
			       json_pack("{s:s, s:s, s:I, s:i}", "id", t->id, "policy", restart_format(&t->restart, pol),
					 "delay_ms", (json_int_t)delay, "attempt", (int)t->restarts));
		break;
	}
}

/* TA_RUN: the start job's process is the task's PID 1 now. */
static void task_running(struct task *t, struct task_op *op)
{
	struct ember_error e;

	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(t->cg);
	t->cg = TAKE_PTR(op->cg);
	t->restart = op->restart;
	t->pid = op->st.pid;
	t->pidfd = TAKE_FD(op->st.pidfd);
	t->start_time = op->st.start_time;
	t->is_child = 1;
	t->user_stopped = 0;
	t->sent_kill = 0;
	memset(&t->exit, 0, sizeof(t->exit));
	timestamp_now(t->started_at);
	t->started_ms = loop_now_ms();
	t->pty_fd = op->st.init_pty_fd;
	if (watch(t, &e) < 0) {
		/* Unwatchable: do not leave it running unseen; wait for the
		   kill to land (it is ours and dying) before reaping it. */
		siginfo_t si;
		(void)syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)t->pidfd, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
		op_answer(op, t, 0, &e);
		t->state = TASK_STOPPED;
		task_exited(t);
		return;
	}
	task_save_or_log(t);
	events_publish(t->d, t->ns, "/tasks/start", json_pack("{s:s, s:I}", "id", t->id, "pid", (json_int_t)t->pid));
	if (op->origin == START_RESTART)
		log_info(&t->d->log, "task %s/%s restarted (pid %d)", t->ns, t->id, (int)t->pid);
	else if (op->origin == START_BOOT)
		log_info(&t->d->log, "container %s/%s started (restart policy)", t->ns, t->id);
	op_answer(op, t, t->pid, NULL);
	if (t->pending_signal) {
		int sig = t->pending_signal;
		t->pending_signal = 0;
		if (send_signal(t, sig, &e) < 0)
			log_warn(&t->d->log, "task %s/%s: %s", t->ns, t->id, e.message);
	}
}

/* TA_UNLAUNCH: the start failed; a task that never ran goes again. */
static void task_unlaunched(struct task *t, struct task_op *op, const struct ember_error *err)
{
	if (op->origin == START_RESTART) {
		log_warn(&t->d->log, "task %s/%s: restart failed: %s", t->ns, t->id, err->message);
		events_publish(t->d, t->ns, "/tasks/restart-failed", json_pack("{s:s, s:s}", "id", t->id, "error",
										   err->message));
	} else if (op->origin == START_BOOT) {
		log_warn(&t->d->log, "container %s/%s: start (restart policy): %s", t->ns, t->id, err->message);
	}
	t->pending_signal = 0;
	/* Who waits for its exit: a task that never ran ends with 255,
	   unknown; one that ran before keeps the last run's. */
	if (op->fresh) {
		memset(&t->exit, 0, sizeof(t->exit));
		t->exit.code = 255;
		timestamp_now(t->exit.at);
	}
	waiters_wake(&t->waiters, t);
	op_answer(op, op->fresh ? NULL : t, 0, err);
	if (op->fresh) {
		task_unlink(t);
		task_free(t);
	}
}

static void exec_started(struct task *t, struct task_op *op)
{
	struct ember_error e;
	struct task_exec *x = task_exec_find(t, op->exec_id);

	if (!x) {
		if (!(x = calloc(1, sizeof(*x)))) {
			(void)syscall(SYS_pidfd_send_signal, op->st.pidfd, SIGKILL, NULL, 0);
			op_answer(op, t, 0, &(struct ember_error){ .code = ENOMEM, .message = "out of memory" });
			return;
		}
		x->t = t;
		snprintf(x->id, sizeof(x->id), "%s", op->exec_id);
		x->next = t->execs;
		t->execs = x;
	}
	x->pid = op->st.pid;
	x->pidfd = TAKE_FD(op->st.pidfd);
	x->running = 1;
	memset(&x->exit, 0, sizeof(x->exit));
	x->watch = loop_add_io(t->d->loop, x->pidfd, EPOLLIN, exec_exited, x, "exec", &e);
	if (!x->watch) {
		/* Unwatchable: it must not run unseen; ours to reap once dead. */
		siginfo_t si;
		(void)syscall(SYS_pidfd_send_signal, x->pidfd, SIGKILL, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)x->pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(x->pidfd);
		x->pidfd = -1;
		x->running = 0;
		op_answer(op, t, 0, &e);
		return;
	}
	save_execs(t);
	events_publish(t->d, t->ns, "/tasks/exec-started",
		       json_pack("{s:s, s:s, s:I}", "id", t->id, "exec_id", x->id, "pid", (json_int_t)x->pid));
	op_answer(op, t, x->pid, NULL);
}

/*
 * Every event goes through here: the table says whether it is allowed in
 * the task's state and what to do. op: the job that reports (its result in
 * err), or the request being made (refused with err filled, -1 returned
 * through e->code) for the user's events.
 */
static void task_event(struct task *t, enum task_event ev, struct task_op *op, struct ember_error *err)
{
	const struct task_rule *rule = task_fsm_rule(t->state, ev);

	if (!rule) {
		/* A report the state no longer takes: an exec that started as
		   its task ended (the pid namespace took it along). */
		struct ember_error gone;
		err_set_name(&gone, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "task %s is not running", t->id);
		if (op)
			op_answer(op, t, 0, err ? err : &gone);
		return;
	}
	enum task_state from = t->state;
	t->state = rule->to;
	switch (rule->act) {
	case TA_NONE:
		op_answer(op, t, 0, err);
		break;
	case TA_RUN:
		task_running(t, op);
		break;
	case TA_UNLAUNCH:
		task_unlaunched(t, op, err);
		break;
	case TA_EXIT:
		task_exited(t);
		break;
	case TA_NOTE:
		if (err) {
			t->state = from; /* the freeze failed: as it was */
			op_answer(op, t, 0, err);
			break;
		}
		task_save_or_log(t);
		events_publish(t->d, t->ns, t->state == TASK_PAUSED ? "/tasks/paused" : "/tasks/resumed",
			       json_pack("{s:s}", "id", t->id));
		op_answer(op, t, t->pid, NULL);
		break;
	case TA_SIGNAL:
		if (op && op->done_ev == TEV_KILL) /* the kill job of every process ended */
			op_answer(op, t, t->pid, err);
		break;
	case TA_EXEC:
		if (err)
			op_answer(op, t, 0, err);
		else
			exec_started(t, op);
		break;
	case TA_DUMPED:
		if (err) {
			if (op->ck.exit)
				t->user_stopped = op->saved_user_stopped; /* it still runs */
			op_answer(op, t, 0, err);
			break;
		}
		events_publish(t->d, t->ns, "/tasks/checkpoint",
			       json_pack("{s:s, s:s, s:b}", "id", t->id, "image_path", op->image_path, "exit",
					 op->ck.exit));
		op_answer(op, t, t->pid, NULL);
		break;
	case TA_REMOVE:
		if (err) {
			op_answer(op, t, 0, err);
			break;
		}
		events_publish(t->d, t->ns, "/tasks/delete", json_pack("{s:s}", "id", t->id));
		op_answer(op, NULL, 0, NULL);
		task_unlink(t);
		task_free(t);
		break;
	default:
		break;
	}
}

/* A user's request: refused (-errno, e filled) unless the table allows
   ev in the task's state; then the state it goes to. */
static const struct task_rule *request(struct task *t, enum task_event ev, int exclusive, struct ember_error *e)
{
	const struct task_rule *rule = task_fsm_rule(t->state, ev);

	if (exclusive && busy(t)) {
		err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "task %s is busy (another operation runs)", t->id);
		return NULL;
	}
	if (rule)
		return rule;
	switch (t->state) {
	case TASK_STARTING:
		err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "task %s is starting", t->id);
		break;
	case TASK_RUNNING:
	case TASK_PAUSED:
		if (ev == TEV_START)
			err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "task %s is already running (pid %d)", t->id,
				     (int)t->pid);
		else if (ev == TEV_DELETE)
			err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				     "task %s is running: kill it first (ember tasks kill %s)", t->id, t->id);
		else if (ev == TEV_EXEC)
			err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "task %s is paused: resume it first", t->id);
		else
			err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "task %s is %s", t->id,
				     task_state_name(t->state));
		break;
	default:
		err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "task %s is not running", t->id);
		break;
	}
	return NULL;
}

/* ---- the user's requests --------------------------------------------------------------- */

static void restart_fire(struct loop_source *s, void *userdata)
{
	struct task *t = userdata;
	struct ember_error e;
	int none[3] = { -1, -1, -1 };

	(void)s;
	t->restart_timer = loop_source_free(t->restart_timer);
	if (t->state != TASK_STOPPED)
		return;
	if (start_task(t->d, t->ns, t->id, none, 0, NULL, NULL, NULL, START_RESTART, NULL, &e) < 0) {
		log_warn(&t->d->log, "task %s/%s: restart failed: %s", t->ns, t->id, e.message);
		events_publish(t->d, t->ns, "/tasks/restart-failed", json_pack("{s:s, s:s}", "id", t->id, "error", e.message));
	}
}

static int start_task(struct daemon *d, const char *ns, const char *id, int stdio[3], int want_pty,
		      const struct task_size *size, task_done_fn done, void *userdata, int origin,
		      const char *image_path, struct ember_error *e)
{
	struct task *t = task_find(d, ns, id);
	int fresh = !t;

	if (t && !request(t, TEV_START, 1, e))
		goto fail;
	if (fresh && !(t = task_new(d, ns, id))) {
		err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	struct task_op *op = op_new(t, TEV_STARTED, done, userdata);
	if (!op) {
		err_set(e, ENOMEM, "out of memory");
		goto undo;
	}
	for (int i = 0; i < 3; i++)
		op->stdio[i] = TAKE_FD(stdio[i]);
	op->want_pty = want_pty;
	if (image_path)
		snprintf(op->image_path, sizeof(op->image_path), "%s", image_path);
	op->fresh = fresh;
	op->again = !fresh;
	op->origin = origin;
	op->detached = op->stdio[0] < 0 && op->stdio[1] < 0 && op->stdio[2] < 0;
	if (size)
		op->size = *size;
	if (op_start(op, "start", 1, e) < 0) {
		op_free(op);
		goto undo;
	}
	/* A user's start forgets a pending restart and the count. */
	if (origin != START_RESTART) {
		t->restart_timer = loop_source_free(t->restart_timer);
		t->restarts = 0;
	}
	t->cg = ENABLED(CONFIG_CGROUPS) ? runtime_cgroup_free(t->cg) : NULL;
	t->detached = op->detached;
	t->state = task_fsm_rule(t->state, TEV_START)->to;
	return 0;
undo:
	if (fresh) {
		task_unlink(t);
		task_free(t);
	}
fail:
	for (int i = 0; i < 3; i++)
		close_keep_errno(TAKE_FD(stdio[i]));
	return -e->code;
}

int task_start(struct daemon *d, const char *ns, const char *id, int stdio[3], int want_pty,
	       const struct task_size *size, task_done_fn done, void *userdata, struct ember_error *e)
{
	return start_task(d, ns, id, stdio, want_pty, size, done, userdata, START_USER, NULL, e);
}

int task_restore(struct daemon *d, const char *ns, const char *id, const char *image_path, task_done_fn done,
		 void *userdata, struct ember_error *e)
{
	int none[3] = { -1, -1, -1 };

	if (!ENABLED(CONFIG_CHECKPOINT))
		return err_unsupported(e, "this ember is built without checkpoint/restore (CONFIG_CHECKPOINT)");
	if (strlen(image_path) >= PATH_MAX)
		return err_invalid(e, "restore: image path too long");
	return start_task(d, ns, id, none, 0, NULL, done, userdata, START_USER, image_path, e);
}

int task_checkpoint(struct task *t, const struct task_checkpoint_options *o, task_done_fn done, void *userdata,
		    struct ember_error *e)
{
	if (!ENABLED(CONFIG_CHECKPOINT))
		return err_unsupported(e, "this ember is built without checkpoint/restore (CONFIG_CHECKPOINT)");
	if (!request(t, TEV_CHECKPOINT, 1, e))
		return -e->code;
	/* What CRIU cannot take back from outside the container: a client's
	   pipes or sockets as stdio. A detached task's terminal is whole in
	   it: init holds the master. */
	if (!t->detached)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOTSUP,
				    "checkpoint: task %s has a client's stdio attached: only a detached task "
				    "(ember tasks start without --attach) can be checkpointed",
				    t->id);
	if (strlen(o->image_path) >= PATH_MAX)
		return err_invalid(e, "checkpoint: image path too long");
	struct task_op *op = op_new(t, TEV_CHECKPOINTED, done, userdata);
	if (!op)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(op->image_path, sizeof(op->image_path), "%s", o->image_path);
	op->ck = *o;
	op->ck.image_path = op->image_path;
	op->ck.image = NULL;
	op->ck.pty_fd = t->pty_fd;
	if (o->image && !(op->ck.image = strdup(o->image))) {
		op_free(op);
		return err_set(e, ENOMEM, "out of memory");
	}
	op->pid = t->pid;
	op->cg = ENABLED(CONFIG_CGROUPS) ? runtime_cgroup_ref(t->cg) : NULL;
	if (op_start(op, "checkpoint", 1, e) < 0) {
		op_free(op);
		return -e->code;
	}
	/* CRIU kills it once dumped, maybe before the job reports: a stop
	   the restart policy leaves alone (undone if the dump fails). */
	op->saved_user_stopped = t->user_stopped;
	if (o->exit)
		t->user_stopped = 1;
	return 0;
}

int task_checkpoint_path(struct daemon *d, const char *ns, const char *id, char *buf, size_t size,
			 struct ember_error *e)
{
	int n = snprintf(buf, size, "%s/checkpoints/%s/%s", d->cfg.root, ns, id);
	if (n < 0 || (size_t)n >= size)
		return err_invalid(e, "checkpoint: image path too long");
	return 0;
}

int task_kill(struct task *t, int sig, int all, task_done_fn done, void *userdata, struct ember_error *e)
{
	const struct task_rule *rule = request(t, TEV_KILL, 0, e);

	if (!rule)
		return -e->code;
	switch (rule->act) {
	case TA_HALT_RESTART:
		if (!t->restart_timer)
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "task %s is not running", t->id);
		/* Between two attempts of a restart policy: stop restarting. */
		t->restart_timer = loop_source_free(t->restart_timer);
		break;
	case TA_PEND_SIGNAL:
		t->pending_signal = sig;
		break;
	default:
		if (all && t->cg && ENABLED(CONFIG_CGROUPS)) {
			if (busy(t))
				return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
						    "task %s is busy (another operation runs)", t->id);
			struct task_op *op = op_new(t, TEV_KILL, done, userdata);
			if (!op)
				return err_set(e, ENOMEM, "out of memory");
			op->cg = runtime_cgroup_ref(t->cg);
			op->sig = sig;
			if (op_start(op, "kill", 1, e) < 0) {
				op_free(op);
				return -e->code;
			}
			if (sig == SIGKILL)
				t->sent_kill = 1;
			return 1;
		}
		if (send_signal(t, sig, e) < 0)
			return -e->code;
		break;
	}
	return 0;
}

void task_stopped_by_user(struct task *t)
{
	struct ember_error e;

	t->user_stopped = 1;
	t->restart_timer = loop_source_free(t->restart_timer);
	if (t->restart.policy == RESTART_UNLESS_STOPPED && container_mark_stopped(t->d, t->ns, t->id, 1, &e) < 0)
		log_warn(&t->d->log, "container %s: %s", t->id, e.message);
}

int task_pause(struct task *t, int frozen, task_done_fn done, void *userdata, struct ember_error *e)
{
	if (!ENABLED(CONFIG_CGROUPS))
		return err_invalid(e, "this ember is built without cgroups (CONFIG_CGROUPS)");
	if (!request(t, frozen ? TEV_PAUSE : TEV_RESUME, 1, e))
		return -e->code;
	if (!t->cg)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT, "task %s has no cgroup", t->id);
	struct task_op *op = op_new(t, frozen ? TEV_PAUSED : TEV_RESUMED, done, userdata);
	if (!op)
		return err_set(e, ENOMEM, "out of memory");
	op->cg = runtime_cgroup_ref(t->cg);
	op->frozen = frozen;
	if (op_start(op, frozen ? "pause" : "resume", 1, e) < 0) {
		op_free(op);
		return -e->code;
	}
	return 0;
}

int task_delete(struct task *t, task_done_fn done, void *userdata, struct ember_error *e)
{
	if (!request(t, TEV_DELETE, 1, e))
		return -e->code;
	for (struct task_exec *x = t->execs; x; x = x->next)
		if (x->running)
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
					    "task %s: exec %s still runs (ember tasks kill --exec-id)", t->id, x->id);
	struct task_op *op = op_new(t, TEV_DELETE, done, userdata);
	if (!op)
		return err_set(e, ENOMEM, "out of memory");
	op->cg = ENABLED(CONFIG_CGROUPS) ? runtime_cgroup_ref(t->cg) : NULL;
	if (op_start(op, "delete", 1, e) < 0) {
		op_free(op);
		return -e->code;
	}
	return 0;
}

/* ---- exec ------------------------------------------------------------------------------ */

struct task_exec *task_exec_find(struct task *t, const char *exec_id)
{
	for (struct task_exec *x = t->execs; x; x = x->next)
		if (!strcmp(x->id, exec_id))
			return x;
	return NULL;
}

json_t *task_exec_json(const struct task_exec *x)
{
	json_t *j = json_pack("{s:s, s:I, s:s}", "exec_id", x->id, "pid", (json_int_t)x->pid, "status",
			      x->running ? "running" : "stopped");
	if (j && !x->running)
		json_object_set_new(j, "exit", exit_json(&x->exit));
	return j;
}

struct task_waiter *task_exec_wait(struct task_exec *x, task_wait_fn fn, void *userdata)
{
	if (!x->running) {
		fn(x->t, userdata);
		return NULL;
	}
	return waiters_add(&x->waiters, fn, userdata);
}

void task_exec_wait_cancel(struct task_exec *x, struct task_waiter *w)
{
	waiters_cancel(&x->waiters, w);
}

static void exec_exited(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct task_exec *x = userdata;
	siginfo_t si = { 0 };

	(void)s;
	(void)fd;
	(void)events;
	memset(&x->exit, 0, sizeof(x->exit));
	if (waitid((idtype_t)P_PIDFD, (id_t)x->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		exit_from_siginfo(&si, &x->exit);
	else
		x->exit.code = 255;
	timestamp_now(x->exit.at);
	x->running = 0;
	x->watch = loop_source_free(x->watch);
	close(x->pidfd);
	x->pidfd = -1;
	save_execs(x->t);
	events_publish(x->t->d, x->t->ns, "/tasks/exec-exit",
		       json_pack("{s:s, s:s, s:I, s:i}", "id", x->t->id, "exec_id", x->id, "pid", (json_int_t)x->pid,
				 "exit_code", x->exit.code));
	waiters_wake(&x->waiters, x->t);
}

int task_exec_start(struct task *t, const char *exec_id, json_t *process, const char *user, int stdio[3],
		    task_done_fn done, void *userdata, struct ember_error *e)
{
	size_t n = 0;
	int r = -1;

	if (!request(t, TEV_EXEC, 0, e))
		goto out;
	struct task_exec *old = task_exec_find(t, exec_id);
	if (old && old->running) {
		err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "exec %s already runs in task %s", exec_id, t->id);
		goto out;
	}
	for (struct task_exec *x = t->execs; x; x = x->next)
		n++;
	if (!old && n >= TASK_EXECS_MAX) {
		/* Forget the oldest finished one. */
		struct task_exec **pp, **gone = NULL;
		for (pp = &t->execs; *pp; pp = &(*pp)->next)
			if (!(*pp)->running)
				gone = pp;
		if (!gone) {
			err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, EBUSY, "task %s runs %d execs already", t->id,
				     TASK_EXECS_MAX);
			goto out;
		}
		struct task_exec *x = *gone;
		*gone = x->next;
		exec_free(x);
	}
	struct task_op *op = op_new(t, TEV_EXEC, done, userdata);
	if (!op || !(op->process = json_deep_copy(process)) || (user && !(op->user = strdup(user)))) {
		if (op)
			op_free(op);
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(op->exec_id, sizeof(op->exec_id), "%s", exec_id);
	for (int i = 0; i < 3; i++)
		op->stdio[i] = TAKE_FD(stdio[i]);
	op->want_pty = json_is_true(json_object_get(process, "terminal"));
	/* The task's pidfd, duplicated: the task may exit and close its own
	   while the job still joins it. */
	op->join_pidfd = fcntl(t->pidfd, F_DUPFD_CLOEXEC, 3);
	op->join_pid = t->pid;
	op->cg = ENABLED(CONFIG_CGROUPS) ? runtime_cgroup_ref(t->cg) : NULL;
	if (op->join_pidfd < 0) {
		err_sys(e, errno, "exec in task %s", t->id);
		op_free(op);
		goto out;
	}
	if (op_start(op, "exec", 0, e) < 0) {
		op_free(op);
		goto out;
	}
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		close_keep_errno(TAKE_FD(stdio[i]));
	return r < 0 ? -e->code : 0;
}

/* ---- start-up: re-adoption --------------------------------------------------------------- */

/* execs.json of an adopted task: the execs that ended keep their status;
   one still running is watched again when its pid is still its own. */
static void adopt_execs(struct task *t, int dir)
{
	char *data = NULL;
	size_t len;
	struct ember_error e;
	size_t i;
	json_t *xj;

	if (fs_read_file(dir, "execs.json", EXECS_JSON_MAX, &data, &len, &e) < 0)
		return;
	json_t *list = json_loadb(data, len, 0, NULL);
	free(data);
	json_array_foreach(list, i, xj) {
		const char *id = json_string_value(json_object_get(xj, "exec_id"));
		struct task_exec *x = id && !task_exec_find(t, id) ? calloc(1, sizeof(*x)) : NULL;
		if (!x)
			continue;
		x->t = t;
		x->pidfd = -1;
		snprintf(x->id, sizeof(x->id), "%s", id);
		x->pid = (pid_t)json_integer_value(json_object_get(xj, "pid"));
		exit_from_json(json_object_get(xj, "exit"), &x->exit);
		if (!strcmp(json_string_value(json_object_get(xj, "status")) ?: "", "running")) {
			/* Not our child any more: its status is unknown when it ends. */
			x->exit.known = 0;
			x->exit.code = 255;
			timestamp_now(x->exit.at);
		}
		x->next = t->execs;
		t->execs = x;
	}
	json_decref(list);
}

/* A start the crash cut: its child may have exec'd init before the loop
   wrote the task's record (or, for a restart, while the record still says
   stopped). Nobody was told it started: what runs in its cgroup is killed
   and the cgroup removed, so no container runs that no daemon knows of.
   cg: the task's cgroup if the caller opened it (this takes it), or NULL. */
static void undo_cut_start(struct daemon *d, const char *ns, const char *id, struct runtime_cgroup *cg)
{
	struct ember_error e;
	pid_t *pids = NULL;
	size_t n = 0;
	char rel[200];

	if (!ENABLED(CONFIG_CGROUPS))
		return;
	cgroup_rel(ns, id, rel, sizeof(rel));
	if (!cg && runtime_cgroup_open("/sys/fs/cgroup", rel, &cg, &e) < 0)
		return; /* none: nothing ran */
	if (runtime_cgroup_pids(cg, &pids, &n, &e) == 0 && n) {
		log_warn(&d->log, "task %s/%s: a start cut by the daemon's end left %zu process(es): killed", ns, id,
			 n);
		if (runtime_cgroup_kill(cg, SIGKILL, &e) < 0)
			log_warn(&d->log, "task %s/%s: %s", ns, id, e.message);
	}
	free(pids);
	if (runtime_cgroup_remove(cg, &e) < 0)
		log_warn(&d->log, "task %s/%s: %s", ns, id, e.message);
	runtime_cgroup_free(cg);
}

static int adopt_one(struct daemon *d, const char *ns, const char *id)
{
	struct ember_error e;
	struct task *t = task_new(d, ns, id);
	char *data = NULL;
	size_t len;

	if (!t)
		return -ENOMEM;
	_cleanup_close_ int dir = task_dir(t, 0, &e);
	if (dir < 0 || fs_read_file(dir, "task.json", TASK_JSON_MAX, &data, &len, &e) < 0) {
		/* A start that never got as far as its record: undone. */
		task_unlink(t);
		task_free(t);
		free(data);
		undo_cut_start(d, ns, id, NULL);
		_cleanup_close_ int nsfd = fs_open_dir(d->tasks_fd, ns, 0, 0, &e);
		if (nsfd >= 0 && fs_remove_tree(nsfd, id, &e) < 0)
			log_warn(&d->log, "task %s/%s: %s", ns, id, e.message);
		return 0;
	}
	json_t *j = json_loadb(data, len, 0, NULL);
	free(data);
	t->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	t->start_time = (uint64_t)json_integer_value(json_object_get(j, "start_time"));
	t->detached = json_is_true(json_object_get(j, "detached"));
	json_t *pty_fd = json_object_get(j, "pty_fd");
	t->pty_fd = json_is_integer(pty_fd) ? (int)json_integer_value(pty_fd) : -1;
	t->user_stopped = json_is_true(json_object_get(j, "user_stopped"));
	t->restarts = (unsigned)json_integer_value(json_object_get(j, "restarts"));
	snprintf(t->started_at, sizeof(t->started_at), "%s",
		 json_string_value(json_object_get(j, "started_at")) ?: "");
	const char *status = json_string_value(json_object_get(j, "status"));
	json_t *rec = NULL;
	if (container_get(d, ns, id, &rec, &e) == 0)
		(void)restart_parse(json_string_value(json_object_get(rec, "restart")), &t->restart, &e);
	json_decref(rec);
	if (ENABLED(CONFIG_CGROUPS)) {
		char rel[200];
		cgroup_rel(t->ns, t->id, rel, sizeof(rel));
		if (runtime_cgroup_open("/sys/fs/cgroup", rel, &t->cg, &e) < 0)
			t->cg = NULL;
	}
	adopt_execs(t, dir);
	t->started_ms = loop_now_ms();
	if (status && strcmp(status, "stopped") && t->pid > 0) {
		uint64_t st;
		int fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
		if (fd >= 0 && runtime_pid_start_time(t->pid, &st, &e) == 0 && st == t->start_time) {
			t->pidfd = fd;
			t->state = strcmp(status, "paused") ? TASK_RUNNING : TASK_PAUSED;
			if (watch(t, &e) == 0) {
				log_info(&d->log, "task %s/%s (pid %d) adopted", ns, id, (int)t->pid);
				json_decref(j);
				return 0;
			}
		} else if (fd >= 0) {
			close(fd); /* the pid belongs to someone else now */
		}
		/* Ended while no daemon watched: its init left the status. */
		t->state = TASK_RUNNING;
		json_decref(j);
		task_event(t, TEV_EXITED, NULL, NULL);
		return 0;
	}
	t->state = TASK_STOPPED;
	exit_from_json(json_object_get(j, "exit"), &t->exit);
	json_decref(j);
	/* Stopped, and then started again when the daemon ended? */
	if (ENABLED(CONFIG_CGROUPS) && t->cg)
		undo_cut_start(d, ns, id, TAKE_PTR(t->cg));
	return 0;
}

static void adopt_all(struct daemon *d)
{
	DIR *nsdir = fs_opendir_at(d->tasks_fd, ".");
	struct dirent *de;

	while (nsdir && (de = readdir(nsdir))) {
		if (!fs_name_is_component(de->d_name) || de->d_name[0] == '.')
			continue;
		DIR *ids = fs_opendir_at(d->tasks_fd, de->d_name);
		struct dirent *ie;
		while (ids && (ie = readdir(ids)))
			if (fs_name_is_component(ie->d_name) && ie->d_name[0] != '.')
				(void)adopt_one(d, de->d_name, ie->d_name);
		if (ids)
			closedir(ids);
	}
	if (nsdir)
		closedir(nsdir);
}

/* After a reboot /run is empty: containers whose policy says so start again. */
static int boot_one(const char *ns, json_t *rec, void *userdata)
{
	struct daemon *d = userdata;
	struct restart rp;
	struct ember_error e;
	const char *id = json_string_value(json_object_get(rec, "name"));
	int none[3] = { -1, -1, -1 };

	/* A roll-back at start-up starts what it restores. */
	if (!id || task_find(d, ns, id) || revisions_owns(d, ns, id) ||
	    restart_parse(json_string_value(json_object_get(rec, "restart")), &rp, &e) < 0)
		return 0;
	if (rp.policy == RESTART_ALWAYS ||
	    (rp.policy == RESTART_UNLESS_STOPPED && !json_is_true(json_object_get(rec, "user_stopped")))) {
		if (start_task(d, ns, id, none, 0, NULL, NULL, NULL, START_BOOT, NULL, &e) < 0)
			log_warn(&d->log, "container %s/%s: start (restart %s): %s", ns, id,
				 json_string_value(json_object_get(rec, "restart")), e.message);
	}
	return 0;
}

int tasks_start(struct daemon *d, struct ember_error *e)
{
	char path[PATH_MAX];

	if (!realpath(d->cfg.state, path))
		return err_sys(e, errno, "resolve the state directory %s", d->cfg.state);
	if (!(d->state_path = strdup(path)))
		return err_set(e, ENOMEM, "out of memory");
	_cleanup_close_ int state = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state < 0)
		return err_sys(e, errno, "open %s", path);
	if ((d->tasks_fd = fs_open_dir(state, "tasks", 1, 0711, e)) < 0)
		return err_wrap(e, "state %s", path);
	/* The binary that runs now, even if a package upgrade replaces the
	   file: every task's init is this version. */
	if (ENABLED(CONFIG_INIT) && (d->self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "open /proc/self/exe (for ember init)");
	if (ENABLED(CONFIG_CGROUPS)) {
		int mounted;
		if (runtime_cgroup_mount_if_none("/sys/fs/cgroup", &mounted, e) < 0)
			log_warn(&d->log, "%s: containers get no cgroup", e->message);
		else if (mounted)
			log_info(&d->log, "cgroup: nothing was mounted on /sys/fs/cgroup: mounted cgroup v2 there");
	}
	adopt_all(d);
	return 0;
}

void tasks_boot(struct daemon *d)
{
	struct ember_error e;

	if (meta_object_walk_all(&d->meta, "containers", boot_one, d, &e) < 0)
		log_warn(&d->log, "containers to start at boot: %s", e.message);
}

void tasks_stop(struct daemon *d)
{
	/* The tasks keep running: only the daemon's view of them goes. */
	while (d->tasks) {
		struct task *t = d->tasks;
		d->tasks = t->next;
		task_free(t);
	}
	close_keep_errno(d->tasks_fd);
	close_keep_errno(d->self_fd);
	d->tasks_fd = d->self_fd = -1;
	free(d->state_path);
	d->state_path = NULL;
}
