/* SPDX-License-Identifier: Apache-2.0 */
/* Tasks: start, supervision through pidfds, exits, restarts, re-adoption. */
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
#include "snapshot/snapshot.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define RESTART_BASE_MS 100u
#define RESTART_MAX_MS 60000u
#define RESTART_RESET_MS 10000u /* a run this long forgets earlier crashes */
#define TASK_JSON_MAX (64u << 10)
#define EXIT_FILE_MAX 4096u

struct task_waiter {
	struct task_waiter *next;
	task_wait_fn fn;
	void *userdata;
};

static void task_exited(struct task *t);

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

/* Run and free every waiter (t: what they waited for); NULL fn: free only. */
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

/* ---- restart policies ------------------------------------------------------------------ */

int restart_parse(const char *s, struct restart *out, struct ember_error *e)
{
	static const char *const names[] = { "no", "on-failure", "always", "unless-stopped" };
	char q[ERR_QUOTE_MAX];

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(s, names[i], n))
			continue;
		if (s[n] == '\0') {
			out->policy = (enum restart_policy)i;
			return 0;
		}
		if (i == RESTART_ON_FAILURE && s[n] == ':') {
			char *end;
			errno = 0;
			long v = strtol(s + n + 1, &end, 10);
			if (errno || *end || end == s + n + 1 || v < 1 || v > 1000000)
				break;
			out->policy = RESTART_ON_FAILURE;
			out->max = (int)v;
			return 0;
		}
	}
	return err_invalid(e, "restart: \"%s\": use no, on-failure[:N], always or unless-stopped", err_quote(s, q));
}

const char *restart_format(const struct restart *r, char buf[32])
{
	static const char *const names[] = { "no", "on-failure", "always", "unless-stopped" };
	if (r->policy == RESTART_ON_FAILURE && r->max)
		snprintf(buf, 32, "on-failure:%d", r->max);
	else
		snprintf(buf, 32, "%s", names[r->policy]);
	return buf;
}

/* ---- state on disk ------------------------------------------------------------------- */

static const char *status_name(enum task_status s)
{
	return s == TASK_RUNNING ? "running" : s == TASK_PAUSED ? "paused" : "stopped";
}

json_t *task_json(const struct task *t)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:I}", "id", t->id, "namespace", t->ns, "pid",
			      (json_int_t)t->pid, "start_time", (json_int_t)t->start_time, "status",
			      status_name(t->status), "started_at", t->started_at, "detached", t->detached, "restarts",
			      (json_int_t)t->restarts);
	if (j && t->status == TASK_STOPPED) {
		json_t *x = json_pack("{s:i, s:b, s:s, s:b}", "exit_code", t->exit.code, "oom", t->exit.oom, "exited_at",
				      t->exit.at, "known", t->exit.known);
		if (x && t->exit.signal) {
			char name[RUNTIME_SIGNAL_NAME_MAX];
			json_object_set_new(x, "signal", json_integer(t->exit.signal));
			json_object_set_new(x, "signal_name", json_string(runtime_signal_name(t->exit.signal, name)));
		}
		json_object_set_new(j, "exit", x);
	}
	if (j && t->user_stopped)
		json_object_set_new(j, "user_stopped", json_true());
	if (j && t->pty_fd >= 0)
		json_object_set_new(j, "pty_fd", json_integer(t->pty_fd));
	return j;
}

static int task_dir(struct task *t, int create, struct ember_error *e)
{
	_cleanup_close_ int nsfd = fs_open_dir(t->d->tasks_fd, t->ns, create, 0711, e);
	if (nsfd < 0)
		return -e->code;
	return fs_open_dir(nsfd, t->id, create, 0711, e);
}

static int task_save(struct task *t, struct ember_error *e)
{
	_cleanup_close_ int dir = task_dir(t, 0, e);
	if (dir < 0)
		return -e->code;
	json_t *j = task_json(t);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	/* tmpfs: the rename is what matters, fsync is cheap there. */
	int r = fs_write_atomic(dir, "task.json", text, strlen(text), 0600, e);
	free(text);
	return r;
}

void task_save_or_log(struct task *t)
{
	struct ember_error e;
	if (task_save(t, &e) < 0)
		log_warn(&t->d->log, "task %s/%s: %s", t->ns, t->id, e.message);
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
#ifdef CONFIG_CGROUPS
	runtime_cgroup_free(t->cg);
#endif
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
	if (t->status == TASK_STOPPED) {
		fn(t, userdata);
		return NULL;
	}
	return waiters_add(&t->waiters, fn, userdata);
}

void task_wait_cancel(struct task *t, struct task_waiter *w)
{
	waiters_cancel(&t->waiters, w);
}

/* ---- containers ----------------------------------------------------------------------- */

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

/* ---- cgroups ------------------------------------------------------------------------------ */

#ifdef CONFIG_CGROUPS
static int cgroup_enter(pid_t pid, void *userdata, struct ember_error *e)
{
	struct task *t = userdata;
	return runtime_cgroup_enter(t->cg, pid, e);
}

static void cgroup_rel(const struct task *t, char *buf, size_t size)
{
	snprintf(buf, size, "ember/%s/%s", t->ns, t->id);
}
#endif

/* ---- starting ----------------------------------------------------------------------------- */

static void on_pidfd(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct task *t = userdata;
	(void)s;
	(void)fd;
	(void)events;
	task_exited(t);
}

static int watch(struct task *t, struct ember_error *e)
{
	t->watch = loop_add_io(t->d->loop, t->pidfd, EPOLLIN, on_pidfd, t, "task", e);
	return t->watch ? 0 : -e->code;
}

static int open_state_file(int dir, const char *name, int flags, struct ember_error *e)
{
	int fd = openat(dir, name, flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return err_sys(e, errno, "task state: %s", name);
	return fd;
}

#ifdef CONFIG_SECCOMP
static int seccomp_for(json_t *spec, struct runtime_seccomp *sc, int *have, struct ember_error *e)
{
	json_t *ann = json_object_get(spec, "annotations");
	json_t *profile = json_object_get(json_object_get(spec, "linux"), "seccomp");
	const char *want = json_string_value(json_object_get(ann, RUNTIME_ANN_SECCOMP));
	uint64_t caps = runtime_cap_mask(
		json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "effective"));

	*have = 0;
	if (!profile && !(want && !strcmp(want, "default")))
		return 0;
	if (runtime_seccomp_compile(profile, 0, caps, sc, e) < 0)
		return err_wrap(e, "seccomp");
	*have = 1;
	return 0;
}
#endif

struct start_ctx {
	json_t *rec, *spec, *mounts;
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

/* A fresh state directory and the files init writes. again: the task ran
   before (a restart, or a start of a stopped task): its logs go on, as
   Docker's do, the newer file first for init. */
static int prepare_state(struct task *t, struct start_ctx *c, int again, struct ember_error *e)
{
	_cleanup_close_ int nsfd = fs_open_dir(t->d->tasks_fd, t->ns, 1, 0711, e);
	if (nsfd < 0)
		return -e->code;
	if (!again && fs_remove_tree(nsfd, t->id, e) < 0)
		return err_wrap(e, "task state");
	if ((c->dir = fs_open_dir(nsfd, t->id, 1, 0711, e)) < 0)
		return -e->code;
	if (mkdirat(c->dir, "rootfs", 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "task state: rootfs");
	if ((c->exit_fd = open_state_file(c->dir, "exit", O_RDWR | O_TRUNC, e)) < 0)
		return -e->code;
	int keep = again ? 0 : O_TRUNC;
	if (t->detached && ((c->log_fd[0] = open_state_file(c->dir, "log.0", O_WRONLY | keep, e)) < 0 ||
			    (c->log_fd[1] = open_state_file(c->dir, "log.1", O_WRONLY | keep, e)) < 0))
		return -e->code;
#ifdef CONFIG_INIT
	int first = 0;
	if (t->detached && again && runtime_log_order(c->log_fd[0], c->log_fd[1], &first, e) == 0 && first == 0) {
		/* log.0 is the older one: init goes on in log.1. */
		int tmp = c->log_fd[0];
		c->log_fd[0] = c->log_fd[1];
		c->log_fd[1] = tmp;
	}
#endif
	int n = snprintf(c->rootfs, sizeof(c->rootfs), "%s/tasks/%s/%s/rootfs", t->d->state_path, t->ns, t->id);
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

/* One start of t (new or restarted); on failure t is left stopped. */
static int task_launch(struct task *t, int again, int stdio[3], int *pty, const struct task_size *size,
		       struct ember_error *e)
{
	struct daemon *d = t->d;
	struct start_ctx c = { .dir = -1, .exit_fd = -1, .log_fd = { -1, -1 } };
	struct runtime_started st;
	int r;

	if ((r = container_get(d, t->ns, t->id, &c.rec, e)) < 0)
		goto out;
	c.spec = json_object_get(c.rec, "spec");
	if (size && size->rows && size->cols)
		json_object_set_new(json_object_get(c.spec, "process"), "consoleSize",
				    json_pack("{s:I, s:I}", "height", (json_int_t)size->rows, "width", (json_int_t)size->cols));
	if ((r = restart_parse(json_string_value(json_object_get(c.rec, "restart")), &t->restart, e)) < 0)
		goto out;
	if ((r = prepare_state(t, &c, again, e)) < 0 || (r = rootfs_mounts(d, t->ns, c.rec, &c.mounts, e)) < 0)
		goto out;

	struct runtime_start s = {
		.spec = c.spec,
		.rootfs_mounts = c.mounts,
		.rootfs = c.mounts ? c.rootfs : json_string_value(json_object_get(c.rec, "rootfs")),
		.self_fd = d->self_fd,
		.stdio = { stdio[0], stdio[1], stdio[2] },
		.exit_fd = c.exit_fd,
		.log_fd = { c.log_fd[0], c.log_fd[1] },
		.log_max = TASK_LOG_MAX_DEFAULT,
		.cgroup_fd = -1,
		.join_pidfd = -1,
		.user = json_string_value(json_object_get(json_object_get(c.spec, "annotations"), RUNTIME_ANN_USER)),
		/* Detached with a terminal: init holds it, for the logs and
		   for `tasks attach`. */
		.pty_to_init = t->detached,
	};
	if (!s.rootfs) {
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "container %s has no rootfs", t->id);
		goto out;
	}
#ifdef CONFIG_CGROUPS
	char rel[200];
	cgroup_rel(t, rel, sizeof(rel));
	t->cg = runtime_cgroup_free(t->cg);
	if ((r = runtime_cgroup_create("/sys/fs/cgroup", rel, &t->cg, e)) < 0 ||
	    (r = runtime_cgroup_set(t->cg, json_object_get(json_object_get(c.spec, "linux"), "resources"), e)) < 0)
		goto out;
	s.cgroup_fd = runtime_cgroup_fd(t->cg);
	if (s.cgroup_fd < 0) {
		s.before_setup = cgroup_enter;
		s.userdata = t;
	}
#endif
#ifdef CONFIG_SECCOMP
	struct runtime_seccomp sc = { 0 };
	int have_sc = 0;
	if ((r = seccomp_for(c.spec, &sc, &have_sc, e)) < 0)
		goto out;
	if (have_sc)
		s.seccomp = &sc;
#endif
	r = runtime_start(&s, &st, e);
#ifdef CONFIG_SECCOMP
	if (have_sc)
		runtime_seccomp_free(&sc);
#endif
	if (r < 0)
		goto out;
	t->pid = st.pid;
	t->pidfd = st.pidfd;
	t->start_time = st.start_time;
	t->is_child = 1;
	t->status = TASK_RUNNING;
	t->user_stopped = 0;
	t->sent_kill = 0;
	memset(&t->exit, 0, sizeof(t->exit));
	timestamp_now(t->started_at);
	t->started_ms = loop_now_ms();
	t->pty_fd = st.init_pty_fd;
	if (pty)
		*pty = st.pty_master;
	else if (st.pty_master >= 0)
		close(st.pty_master);
	if ((r = watch(t, e)) < 0) {
		/* Unwatchable: do not leave it running unseen; wait for the
		   kill to land (it is ours and dying) before reaping it. */
		siginfo_t si;
		(void)syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)t->pidfd, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
		task_exited(t);
		goto out;
	}
	task_save_or_log(t);
	events_publish(d, t->ns, "/tasks/start", json_pack("{s:s, s:I}", "id", t->id, "pid", (json_int_t)t->pid));
out:
	if (r < 0) {
#ifdef CONFIG_CGROUPS
		if (t->cg && t->pidfd < 0) {
			struct ember_error ignored;
			(void)runtime_cgroup_remove(t->cg, &ignored);
			t->cg = runtime_cgroup_free(t->cg);
		}
#endif
		if (c.dir >= 0 && t->pidfd < 0 && !again) {
			/* Nothing of a failed start stays behind (a task that ran
			   before keeps its state and logs: they tell why). */
			_cleanup_close_ int nsfd = fs_open_dir(d->tasks_fd, t->ns, 0, 0, &(struct ember_error){ 0 });
			if (nsfd >= 0)
				(void)fs_remove_tree(nsfd, t->id, &(struct ember_error){ 0 });
		}
	}
	start_ctx_done(&c);
	return r;
}

int task_start(struct daemon *d, const char *ns, const char *id, int stdio[3], int *pty,
	       const struct task_size *size, struct task **out, struct ember_error *e)
{
	struct task *t = task_find(d, ns, id);

	if (pty)
		*pty = -1;
	if (t && t->status != TASK_STOPPED)
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "task %s is already running (pid %d)", id,
				    (int)t->pid);
	int fresh = !t;
	if (fresh && !(t = task_new(d, ns, id)))
		return err_set(e, ENOMEM, "out of memory");
	t->restart_timer = loop_source_free(t->restart_timer);
	t->restarts = 0;
	t->detached = stdio[0] < 0 && stdio[1] < 0 && stdio[2] < 0;
	int r = task_launch(t, !fresh, stdio, pty, size, e);
	if (r < 0) {
		if (fresh) {
			task_unlink(t);
			task_free(t);
		}
		return r;
	}
	*out = t;
	return 0;
}

/* ---- exits and restarts -------------------------------------------------------------- */

static void restart_fire(struct loop_source *s, void *userdata)
{
	struct task *t = userdata;
	struct ember_error e;
	int none[3] = { -1, -1, -1 };

	(void)s;
	t->restart_timer = loop_source_free(t->restart_timer);
	if (t->status != TASK_STOPPED)
		return;
	t->detached = 1;
	if (task_launch(t, 1, none, NULL, NULL, &e) < 0) {
		log_warn(&t->d->log, "task %s/%s: restart failed: %s", t->ns, t->id, e.message);
		events_publish(t->d, t->ns, "/tasks/restart-failed",
			       json_pack("{s:s, s:s}", "id", t->id, "error", e.message));
	}
}

static void restart_decide(struct task *t)
{
	const struct restart *rp = &t->restart;
	int failed = t->exit.code != 0 || t->exit.signal;
	struct ember_error e;

	if (t->user_stopped || rp->policy == RESTART_NO || (rp->policy == RESTART_ON_FAILURE && !failed))
		return;
	if (loop_now_ms() - t->started_ms >= RESTART_RESET_MS)
		t->restarts = 0;
	if (rp->policy == RESTART_ON_FAILURE && rp->max && t->restarts >= (unsigned)rp->max) {
		events_publish(t->d, t->ns, "/tasks/restart-gave-up",
			       json_pack("{s:s, s:i}", "id", t->id, "restarts", (int)t->restarts));
		return;
	}
	uint64_t delay = RESTART_BASE_MS;
	for (unsigned i = 0; i < t->restarts && delay < RESTART_MAX_MS; i++)
		delay *= 2;
	if (delay > RESTART_MAX_MS)
		delay = RESTART_MAX_MS;
	t->restarts++;
	t->restart_timer = loop_add_timer(t->d->loop, delay, 0, restart_fire, t, "restart", &e);
	if (!t->restart_timer) {
		log_warn(&t->d->log, "task %s/%s: restart: %s", t->ns, t->id, e.message);
		return;
	}
	char pol[32];
	events_publish(t->d, t->ns, "/tasks/restart",
		       json_pack("{s:s, s:s, s:I, s:i}", "id", t->id, "policy", restart_format(rp, pol), "delay_ms",
				 (json_int_t)delay, "attempt", (int)t->restarts));
}

/* The task's PID 1 is gone: collect how, record it, tell everyone. */
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
			t->exit.known = 1;
			if (si.si_code == CLD_EXITED) {
				t->exit.code = si.si_status;
			} else {
				t->exit.signal = si.si_status;
				t->exit.code = 128 + si.si_status;
			}
		} else if (t->sent_kill) {
			t->exit.known = 1;
			t->exit.signal = SIGKILL;
			t->exit.code = 128 + SIGKILL;
		} else {
			t->exit.code = 255;
		}
		timestamp_now(t->exit.at);
	}
#ifdef CONFIG_CGROUPS
	struct runtime_cgroup_stats cs;
	if (t->cg && runtime_cgroup_stats(t->cg, &cs, &e) == 0 && cs.oom_kills > 0)
		t->exit.oom = 1;
#endif
	t->status = TASK_STOPPED;
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
	restart_decide(t);
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
	if (j && !x->running) {
		json_t *ex = json_pack("{s:i, s:b, s:s, s:b}", "exit_code", x->exit.code, "oom", 0, "exited_at", x->exit.at,
				       "known", x->exit.known);
		if (ex && x->exit.signal)
			json_object_set_new(ex, "signal", json_integer(x->exit.signal));
		json_object_set_new(j, "exit", ex);
	}
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
	if (waitid((idtype_t)P_PIDFD, (id_t)x->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
		x->exit.known = 1;
		if (si.si_code == CLD_EXITED) {
			x->exit.code = si.si_status;
		} else {
			x->exit.signal = si.si_status;
			x->exit.code = 128 + si.si_status;
		}
	} else {
		x->exit.code = 255;
	}
	timestamp_now(x->exit.at);
	x->running = 0;
	x->watch = loop_source_free(x->watch);
	close(x->pidfd);
	x->pidfd = -1;
	events_publish(x->t->d, x->t->ns, "/tasks/exec-exit",
		       json_pack("{s:s, s:s, s:I, s:i}", "id", x->t->id, "exec_id", x->id, "pid", (json_int_t)x->pid,
				 "exit_code", x->exit.code));
	waiters_wake(&x->waiters, x->t);
}

int task_exec_start(struct task *t, const char *exec_id, json_t *process, const char *user, int stdio[3],
		    int *pty, struct task_exec **out, struct ember_error *e)
{
	struct daemon *d = t->d;
	json_t *rec = NULL;
	struct runtime_started st;
	size_t n = 0;
	int r;

	if (t->status != TASK_RUNNING)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "task %s is not running", t->id);
	struct task_exec *old = task_exec_find(t, exec_id);
	if (old && old->running)
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "exec %s already runs in task %s", exec_id,
				    t->id);
	for (struct task_exec *x = t->execs; x; x = x->next)
		n++;
	if (!old && n >= TASK_EXECS_MAX) {
		/* Forget the oldest finished one. */
		struct task_exec **pp, **gone = NULL;
		for (pp = &t->execs; *pp; pp = &(*pp)->next)
			if (!(*pp)->running)
				gone = pp;
		if (!gone)
			return err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, EBUSY, "task %s runs %d execs already",
					    t->id, TASK_EXECS_MAX);
		struct task_exec *x = *gone;
		*gone = x->next;
		exec_free(x);
	}
	if ((r = container_get(d, t->ns, t->id, &rec, e)) < 0)
		return r;
	json_t *cspec = json_object_get(rec, "spec");
	json_t *ann = json_object_get(cspec, "annotations");
	json_t *spec = json_pack("{s:O, s:o}", "process", process, "annotations", ann ? json_incref(ann) : json_object());
	struct runtime_start s = {
		.spec = spec,
		.self_fd = -1,
		.stdio = { stdio[0], stdio[1], stdio[2] },
		.exit_fd = -1,
		.log_fd = { -1, -1 },
		.cgroup_fd = -1,
		.join_pidfd = t->pidfd,
		.join_pid = t->pid,
		.user = user,
	};
#ifdef CONFIG_CGROUPS
	if (t->cg) {
		s.cgroup_fd = runtime_cgroup_fd(t->cg);
		if (s.cgroup_fd < 0) {
			s.before_setup = cgroup_enter;
			s.userdata = t;
		}
	}
#endif
#ifdef CONFIG_SECCOMP
	struct runtime_seccomp sc = { 0 };
	int have_sc = 0;
	json_t *sspec = json_pack("{s:O, s:o, s:o}", "process", process, "annotations",
				  ann ? json_incref(ann) : json_object(), "linux",
				  json_object_get(cspec, "linux") ? json_incref(json_object_get(cspec, "linux")) : json_object());
	r = sspec ? seccomp_for(sspec, &sc, &have_sc, e) : err_set(e, ENOMEM, "out of memory");
	json_decref(sspec);
	if (r < 0) {
		json_decref(spec);
		json_decref(rec);
		return r;
	}
	if (have_sc)
		s.seccomp = &sc;
#endif
	r = spec ? runtime_start(&s, &st, e) : err_set(e, ENOMEM, "out of memory");
#ifdef CONFIG_SECCOMP
	if (have_sc)
		runtime_seccomp_free(&sc);
#endif
	json_decref(spec);
	json_decref(rec);
	if (r < 0)
		return err_wrap(e, "exec in task %s", t->id);
	struct task_exec *x = old;
	if (!x) {
		if (!(x = calloc(1, sizeof(*x)))) {
			(void)syscall(SYS_pidfd_send_signal, st.pidfd, SIGKILL, NULL, 0);
			close(st.pidfd);
			return err_set(e, ENOMEM, "out of memory");
		}
		x->t = t;
		snprintf(x->id, sizeof(x->id), "%s", exec_id);
		x->next = t->execs;
		t->execs = x;
	}
	x->pid = st.pid;
	x->pidfd = st.pidfd;
	x->running = 1;
	x->watch = loop_add_io(d->loop, x->pidfd, EPOLLIN, exec_exited, x, "exec", e);
	if (!x->watch) {
		/* Unwatchable: it must not run unseen; ours to reap once dead. */
		siginfo_t si;
		(void)syscall(SYS_pidfd_send_signal, st.pidfd, SIGKILL, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)st.pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(st.pidfd);
		x->pidfd = -1;
		x->running = 0;
		if (st.pty_master >= 0)
			close(st.pty_master);
		return -e->code;
	}
	if (pty)
		*pty = st.pty_master;
	else if (st.pty_master >= 0)
		close(st.pty_master);
	events_publish(d, t->ns, "/tasks/exec-started",
		       json_pack("{s:s, s:s, s:I}", "id", t->id, "exec_id", exec_id, "pid", (json_int_t)x->pid));
	*out = x;
	return 0;
}

int task_kill(struct task *t, int sig, int all, struct ember_error *e)
{
	if (t->status == TASK_STOPPED)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "task %s is not running", t->id);
#ifdef CONFIG_CGROUPS
	if (all && t->cg) {
		if (runtime_cgroup_kill(t->cg, sig, e) < 0)
			return -e->code;
		if (sig == SIGKILL)
			t->sent_kill = 1;
		return 0;
	}
#else
	(void)all;
#endif
	if (syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) < 0)
		return err_sys(e, errno, "kill task %s", t->id);
	if (sig == SIGKILL)
		t->sent_kill = 1;
	return 0;
}

int task_delete(struct task *t, struct ember_error *e)
{
	if (t->status != TASK_STOPPED)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				    "task %s is running: kill it first (ember tasks kill %s)", t->id, t->id);
	for (struct task_exec *x = t->execs; x; x = x->next)
		if (x->running)
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
					    "task %s: exec %s still runs (ember tasks kill --exec-id)", t->id, x->id);
#ifdef CONFIG_CGROUPS
	if (t->cg && runtime_cgroup_remove(t->cg, e) < 0)
		return err_wrap(e, "task %s", t->id);
#endif
	_cleanup_close_ int nsfd = fs_open_dir(t->d->tasks_fd, t->ns, 0, 0, e);
	if (nsfd >= 0 && fs_remove_tree(nsfd, t->id, e) < 0)
		return err_wrap(e, "task %s", t->id);
	events_publish(t->d, t->ns, "/tasks/delete", json_pack("{s:s}", "id", t->id));
	task_unlink(t);
	task_free(t);
	return 0;
}

/* ---- start-up: re-adoption --------------------------------------------------------------- */

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
		/* A start that never got as far as its record. */
		task_unlink(t);
		task_free(t);
		free(data);
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
	json_t *x = json_object_get(j, "exit");
	json_t *rec = NULL;
	if (container_get(d, ns, id, &rec, &e) == 0)
		(void)restart_parse(json_string_value(json_object_get(rec, "restart")), &t->restart, &e);
	json_decref(rec);
#ifdef CONFIG_CGROUPS
	char rel[200];
	cgroup_rel(t, rel, sizeof(rel));
	if (runtime_cgroup_open("/sys/fs/cgroup", rel, &t->cg, &e) < 0)
		t->cg = NULL;
#endif
	t->started_ms = loop_now_ms();
	if (status && strcmp(status, "stopped") && t->pid > 0) {
		uint64_t st;
		int fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
		if (fd >= 0 && runtime_pid_start_time(t->pid, &st, &e) == 0 && st == t->start_time) {
			t->pidfd = fd;
			t->status = strcmp(status, "paused") ? TASK_RUNNING : TASK_PAUSED;
			if (watch(t, &e) == 0) {
				log_info(&d->log, "task %s/%s (pid %d) adopted", ns, id, (int)t->pid);
				json_decref(j);
				return 0;
			}
		} else if (fd >= 0) {
			close(fd); /* the pid belongs to someone else now */
		}
		/* Ended while no daemon watched: its init left the status. */
		t->status = TASK_RUNNING;
		json_decref(j);
		task_exited(t);
		return 0;
	}
	t->status = TASK_STOPPED;
	t->exit.code = (int)json_integer_value(json_object_get(x, "exit_code"));
	t->exit.signal = (int)json_integer_value(json_object_get(x, "signal"));
	t->exit.oom = json_is_true(json_object_get(x, "oom"));
	t->exit.known = json_is_true(json_object_get(x, "known"));
	snprintf(t->exit.at, sizeof(t->exit.at), "%s", json_string_value(json_object_get(x, "exited_at")) ?: "");
	json_decref(j);
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
	struct task *t;
	int none[3] = { -1, -1, -1 };

	if (!id || task_find(d, ns, id) ||
	    restart_parse(json_string_value(json_object_get(rec, "restart")), &rp, &e) < 0)
		return 0;
	if (rp.policy == RESTART_ALWAYS ||
	    (rp.policy == RESTART_UNLESS_STOPPED && !json_is_true(json_object_get(rec, "user_stopped")))) {
		if (task_start(d, ns, id, none, NULL, NULL, &t, &e) < 0)
			log_warn(&d->log, "container %s/%s: start (restart %s): %s", ns, id,
				 json_string_value(json_object_get(rec, "restart")), e.message);
		else
			log_info(&d->log, "container %s/%s started (restart policy)", ns, id);
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
#ifdef CONFIG_INIT
	/* The binary that runs now, even if a package upgrade replaces the
	   file: every task's init is this version. */
	d->self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (d->self_fd < 0)
		return err_sys(e, errno, "open /proc/self/exe (for ember init)");
#endif
	adopt_all(d);
	(void)meta_object_walk_all(&d->meta, "containers", boot_one, d, e);
	return 0;
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
