/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Tasks: running containers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/services.h"
#include "daemon/images.h"
#include "snapshot/snapshot.h"
#include "daemon/tasks.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/kconfig.h"
#include "util/record.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct task_params {
	const char *namespace, *id, *signal, *exec_id, *cwd, *user, *image_path, *image;
	int attach, all, terminal, exit, tcp_established, file_locks;
	int64_t rows, cols;
	json_t *args, *env;
};

#define P_NS { "namespace", API_T_STRING, offsetof(struct task_params, namespace), 0 }
#define P_ID { "id", API_T_STRING, offsetof(struct task_params, id), API_MANDATORY }
#define P_END { NULL, 0, 0, 0 }

static int begin(struct api_call *call, json_t *params, const struct api_param *table, struct task_params *p)
{
	struct ember_error e;

	memset(p, 0, sizeof(*p));
	if (api_params_parse(call, params, table, p) < 0)
		return -1;
	p->namespace = daemon_namespace(p->namespace);
	if (meta_identifier_check("namespace", p->namespace, &e) < 0) {
		api_error_from(call, &e);
		return -1;
	}
	return 0;
}

/* The three stdio descriptors a client sent; refused when one is a
   directory (a host directory inside the container is a way out of it). */
static int take_stdio(struct api_call *call, int stdio[3])
{
	struct stat st;
	for (int i = 0; i < 3; i++) {
		stdio[i] = api_call_take_fd(call, (unsigned)i);
		const char *why = stdio[i] < 0 ? "send the task's stdin, stdout and stderr with the call"
				  : fstat(stdio[i], &st) == 0 && S_ISDIR(st.st_mode) ? "a directory cannot be stdio"
										      : NULL;
		if (why) {
			for (int k = 0; k <= i; k++)
				close_keep_errno(stdio[k]);
			api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "attach: %s", why);
			return -1;
		}
	}
	return 0;
}

/* A call waiting for a task's job (start, exec, kill, pause, delete). */
struct waiting {
	struct api_call *call; /* NULL once the client is gone */
	int started;           /* reply {pid} and the terminal's master */
	int unless_stopped;    /* a start: clear the container's user_stopped */
	json_t *reply;         /* a delete: {exit} as the task had it */
};

static void waiting_gone(struct api_call *call, void *userdata)
{
	struct waiting *w = userdata;

	(void)call;
	w->call = NULL;
}

static struct waiting *waiting_new(struct api_call *call, int started)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (!w) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return NULL;
	}
	w->call = call;
	w->started = started;
	return w;
}

/* The job answered (task_done_fn): reply to the call if it still waits. */
static void answered(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err, void *userdata)
{
	struct waiting *w = userdata;
	struct ember_error e;

	if (!err && w->unless_stopped && t && t->restart.policy == RESTART_UNLESS_STOPPED &&
	    container_mark_stopped(d, t->ns, t->id, 0, &e) < 0)
		log_warn(&d->log, "container %s: %s", t->id, e.message);
	if (w->call) {
		api_call_on_cancel(w->call, NULL, NULL);
		if (err)
			api_error_from(w->call, err);
		else if (w->started && pty >= 0)
			api_reply_fds(w->call, json_pack("{s:I}", "pid", (json_int_t)pid), &pty, 1);
		else if (w->started)
			api_reply(w->call, json_pack("{s:I}", "pid", (json_int_t)pid));
		else
			api_reply(w->call, json_incref(w->reply));
	}
	close_keep_errno(pty);
	json_decref(w->reply);
	free(w);
}

/* After a task_*() call that took w: refused (r < 0), answer now; else its
   job answers. */
static void waiting_begin(struct api_call *call, struct waiting *w, int r, const struct ember_error *e)
{
	if (r < 0) {
		json_decref(w->reply);
		free(w);
		api_error_from(call, e);
		return;
	}
	api_call_on_cancel(call, waiting_gone, w);
}

/* The task of the call's id; NULL: answered (NotFound). */
static struct task *find(struct api_call *call, struct daemon *d, const struct task_params *p)
{
	struct task *t = task_find(d, p->namespace, p->id);
	if (!t)
		api_error(call, EMBER_ERROR_NOT_FOUND, NULL, "no task %s (start it: ember tasks start %s)", p->id, p->id);
	return t;
}

void svc_tasks_start(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "attach", API_T_BOOL, offsetof(struct task_params, attach), 0 },
		{ "rows", API_T_INT, offsetof(struct task_params, rows), 0 },
		{ "cols", API_T_INT, offsetof(struct task_params, cols), 0 },
		P_END,
	};
	struct daemon *d = ctx;
	struct task_params p;
	struct ember_error e;
	int stdio[3] = { -1, -1, -1 };
	json_t *rec;

	if (begin(call, params, table, &p) < 0)
		return;
	if (container_get(d, p.namespace, p.id, &rec, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	int terminal = json_is_true(json_object_get(json_object_get(json_object_get(rec, "spec"), "process"), "terminal"));
	json_decref(rec);
	if (p.rows < 0 || p.rows > 65535 || p.cols < 0 || p.cols > 65535) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "rows, cols: 0 .. 65535");
		return;
	}
	if (p.attach && !terminal) {
		if (take_stdio(call, stdio) < 0)
			return;
	} else if (p.attach) {
		/* With a terminal the pty is the stdio; nothing is detached. */
		stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	struct task_size size = { (unsigned)p.rows, (unsigned)p.cols };
	struct waiting *w = waiting_new(call, 1);
	if (!w) {
		for (int i = 0; i < 3; i++)
			close_keep_errno(stdio[i]);
		return;
	}
	w->unless_stopped = 1;
	int r = task_start(d, p.namespace, p.id, stdio, terminal && p.attach, &size, answered, w, &e);
	waiting_begin(call, w, r, &e);
}

void svc_tasks_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct daemon *d = ctx;
	struct task_params p;
	json_t *list = json_array();

	if (begin(call, params, table, &p) < 0) {
		json_decref(list);
		return;
	}
	for (struct task *t = d->tasks; t; t = t->next)
		if (!strcmp(t->ns, p.namespace))
			json_array_append_new(list, task_json(t));
	record_sort(list, "id");
	api_reply(call, json_pack("{s:o}", "tasks", list));
}

void svc_tasks_get(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	api_reply(call, json_pack("{s:o}", "task", task_json(t)));
}

/* The signal to stop a task: the container's (its image's StopSignal). */
static int stop_signal(struct daemon *d, const struct task *t)
{
	json_t *rec;
	struct ember_error e;
	int sig = SIGTERM;

	if (container_get(d, t->ns, t->id, &rec, &e) == 0) {
		const char *s = json_string_value(
			json_object_get(json_object_get(json_object_get(rec, "spec"), "annotations"), RUNTIME_ANN_STOP_SIGNAL));
		if (s && runtime_signal_parse(s, &sig, &e) < 0)
			sig = SIGTERM;
		json_decref(rec);
	}
	return sig;
}

void svc_tasks_kill(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID,
		{ "signal", API_T_STRING, offsetof(struct task_params, signal), 0 },
		{ "all", API_T_BOOL, offsetof(struct task_params, all), 0 },
		{ "exec_id", API_T_STRING, offsetof(struct task_params, exec_id), 0 },
		P_END,
	};
	struct daemon *d = ctx;
	struct task_params p;
	struct ember_error e;
	struct task *t;
	int sig;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, d, &p)))
		return;
	if (p.exec_id) {
		struct task_exec *x = task_exec_find(t, p.exec_id);
		if (!x || !x->running) {
			api_error(call, EMBER_ERROR_NOT_FOUND, NULL, "no exec %s running in task %s", p.exec_id, p.id);
			return;
		}
		if (runtime_signal_parse(p.signal ? p.signal : "SIGTERM", &sig, &e) < 0 ||
		    (syscall(SYS_pidfd_send_signal, x->pidfd, sig, NULL, 0) < 0 && err_sys(&e, errno, "kill") < 0)) {
			api_error_from(call, &e);
			return;
		}
		api_reply(call, NULL);
		return;
	}
	if (p.signal) {
		if (runtime_signal_parse(p.signal, &sig, &e) < 0) {
			api_error_from(call, &e);
			return;
		}
	} else {
		sig = stop_signal(d, t);
	}
	struct waiting *w = waiting_new(call, 0);
	if (!w)
		return;
	int r = task_kill(t, sig, p.all, answered, w, &e);
	/* Stopped on purpose: restart policies leave it down, and
	   unless-stopped stays down after a reboot too. */
	if (r >= 0 && (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == stop_signal(d, t)))
		task_stopped_by_user(t);
	if (r == 0) { /* sent already: no job */
		free(w);
		api_reply(call, NULL);
		return;
	}
	waiting_begin(call, w, r, &e);
}

struct wait_ctx {
	struct api_call *call;
	struct task *t;
	struct task_waiter *w;
};

static json_t *exit_json(const struct task *t)
{
	json_t *j = task_json(t);
	json_t *x = json_incref(json_object_get(j, "exit"));
	json_decref(j);
	return x ? x : json_object();
}

static void wait_done(struct task *t, void *userdata)
{
	struct wait_ctx *w = userdata;
	api_call_on_cancel(w->call, NULL, NULL);
	api_reply(w->call, json_pack("{s:o}", "exit", exit_json(t)));
	free(w);
}

static void wait_cancel(struct api_call *call, void *userdata)
{
	struct wait_ctx *w = userdata;
	(void)call;
	task_wait_cancel(w->t, w->w);
	free(w);
}

struct exec_wait_ctx {
	struct api_call *call;
	struct task_exec *x;
	struct task_waiter *w;
};

static void exec_wait_done(struct task *t, void *userdata)
{
	struct exec_wait_ctx *w = userdata;
	(void)t;
	api_call_on_cancel(w->call, NULL, NULL);
	json_t *j = task_exec_json(w->x);
	api_reply(w->call, json_pack("{s:O}", "exit", json_object_get(j, "exit")));
	json_decref(j);
	free(w);
}

static void exec_wait_cancel(struct api_call *call, void *userdata)
{
	struct exec_wait_ctx *w = userdata;
	(void)call;
	task_exec_wait_cancel(w->x, w->w);
	free(w);
}

static void wait_exec(struct api_call *call, struct task *t, const char *exec_id)
{
	struct task_exec *x = task_exec_find(t, exec_id);
	if (!x) {
		api_error(call, EMBER_ERROR_NOT_FOUND, NULL, "no exec %s in task %s", exec_id, t->id);
		return;
	}
	struct exec_wait_ctx *w = calloc(1, sizeof(*w));
	if (!w) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	w->call = call;
	w->x = x;
	if (!x->running) {
		exec_wait_done(t, w);
		return;
	}
	if (!(w->w = task_exec_wait(x, exec_wait_done, w))) {
		free(w);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	api_call_on_cancel(call, exec_wait_cancel, w);
}

void svc_tasks_wait(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "exec_id", API_T_STRING, offsetof(struct task_params, exec_id), 0 }, P_END,
	};
	struct task_params p;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	if (p.exec_id) {
		wait_exec(call, t, p.exec_id);
		return;
	}
	if (t->state == TASK_STOPPED) {
		api_reply(call, json_pack("{s:o}", "exit", exit_json(t)));
		return;
	}
	struct wait_ctx *w = calloc(1, sizeof(*w));
	if (!w) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	w->call = call;
	w->t = t;
	w->w = task_wait(t, wait_done, w);
	if (!w->w) {
		free(w);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	api_call_on_cancel(call, wait_cancel, w);
}

void svc_tasks_delete(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct ember_error e;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	struct waiting *w = waiting_new(call, 0);
	if (!w)
		return;
	w->reply = json_pack("{s:o}", "exit", t->state == TASK_STOPPED ? exit_json(t) : json_null());
	waiting_begin(call, w, task_delete(t, answered, w, &e), &e);
}

/* Reply with t's log files in the order they were written (see ember
   init); for Attach, with "terminal" and its master (-1: none) after them. */
static void reply_logs(struct api_call *call, struct daemon *d, struct task *t, int attach, int master)
{
	struct ember_error e;
	int fds[2] = { -1, -1 };
	struct stat st[2];

	if (!t->detached) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
			  "task %s is attached to a client: its output is not logged", t->id);
		return;
	}
	if (!ENABLED(CONFIG_INIT)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "no logs: this ember runs applications as PID 1 without ember init (CONFIG_INIT)");
		return;
	}
	char path[200];
	snprintf(path, sizeof(path), "%s/%s", t->ns, t->id);
	_cleanup_close_ int dir = fs_open_dir(d->tasks_fd, path, 0, 0, &e);
	if (dir < 0) {
		api_error_from(call, &e);
		return;
	}
	for (int i = 0; i < 2; i++) {
		fds[i] = openat(dir, i ? "log.1" : "log.0", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] < 0 || fstat(fds[i], &st[i]) < 0) {
			err_sys(&e, errno, "task %s: log.%d", t->id, i);
			close_keep_errno(fds[0]);
			close_keep_errno(fds[1]);
			api_error_from(call, &e);
			return;
		}
	}
	int first = 0;
	if (ENABLED(CONFIG_INIT) && runtime_log_order(fds[0], fds[1], &first, &e) < 0) {
		close(fds[0]);
		close(fds[1]);
		api_error_from(call, &e);
		return;
	}
	int order[3] = { fds[first], fds[!first], master };
	json_t *reply = json_pack("{s:s, s:b}", "status", t->state == TASK_STOPPED ? "stopped" : "running", "running",
				  t->state != TASK_STOPPED);
	if (reply && attach)
		json_object_set_new(reply, "terminal", json_boolean(master >= 0));
	api_reply_fds(call, reply, order, master >= 0 ? 3 : 2);
	close(fds[0]);
	close(fds[1]);
}

void svc_tasks_logs(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	reply_logs(call, ctx, t, 0, -1);
}

/* A client joins a detached task: its logs to follow and, with a
   terminal, a copy of the master init holds (input, window size). */
void svc_tasks_attach(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct task *t;
	struct ember_error e;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	if (t->state != TASK_RUNNING && t->state != TASK_PAUSED) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "task %s is not running", p.id);
		return;
	}
	_cleanup_close_ int master = -1;
	struct stat st;
	if (t->pty_fd >= 0 && (master = (int)syscall(SYS_pidfd_getfd, t->pidfd, t->pty_fd, 0)) < 0) {
		err_sys(&e, errno, "task %s: take its terminal from its init", p.id);
		api_error_from(call, &e);
		return;
	}
	/* Only a pty master (the ptmx device, 5:2) goes to the client, whatever
	   sits at that number. */
	if (master >= 0 && (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
			    minor(st.st_rdev) != 2)) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "task %s: its init holds no terminal at %d",
			  p.id, t->pty_fd);
		return;
	}
	reply_logs(call, ctx, t, 1, master);
}

void svc_tasks_pids(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	json_t *list = json_array();
	pid_t *pids = NULL;
	size_t n = 0;
	struct ember_error e;
	if (ENABLED(CONFIG_CGROUPS) && t->cg && t->state != TASK_STOPPED && runtime_cgroup_pids(t->cg, &pids, &n, &e) == 0)
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_pack("{s:I}", "pid", (json_int_t)pids[i]));
	free(pids);
	if (!json_array_size(list) && (t->state == TASK_RUNNING || t->state == TASK_PAUSED))
		json_array_append_new(list, json_pack("{s:I}", "pid", (json_int_t)t->pid));
	api_reply(call, json_pack("{s:o}", "processes", list));
}

/* Pause and Resume: the freezer waits until the kernel says it is done,
   so they are jobs. */
static void freeze(struct api_call *call, json_t *params, void *ctx, int frozen)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct ember_error e;
	struct task *t;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	struct waiting *w = waiting_new(call, 0);
	if (w)
		waiting_begin(call, w, task_pause(t, frozen, answered, w, &e), &e);
}

#ifdef CONFIG_CHECKPOINT
/* An image path a client gives: absolute (the daemon's cwd means nothing
   to it); none: the task's default under the daemon's root. */
static int image_path(struct api_call *call, struct daemon *d, const struct task_params *p, char *buf, size_t size)
{
	struct ember_error e;

	if (!p->image_path) {
		if (task_checkpoint_path(d, p->namespace, p->id, buf, size, &e) == 0)
			return 0;
		api_error_from(call, &e);
		return -1;
	}
	if (p->image_path[0] != '/' || strlen(p->image_path) >= size) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "image_path: an absolute path, shorter than %zu", size);
		return -1;
	}
	snprintf(buf, size, "%s", p->image_path);
	return 0;
}

void svc_tasks_checkpoint(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID,
		{ "image_path", API_T_STRING, offsetof(struct task_params, image_path), 0 },
		{ "exit", API_T_BOOL, offsetof(struct task_params, exit), 0 },
		{ "tcp_established", API_T_BOOL, offsetof(struct task_params, tcp_established), 0 },
		{ "file_locks", API_T_BOOL, offsetof(struct task_params, file_locks), 0 },
		{ "image", API_T_STRING, offsetof(struct task_params, image), 0 },
		P_END,
	};
	struct daemon *d = ctx;
	struct task_params p;
	struct ember_error e;
	struct task *t;
	char path[PATH_MAX];

	if (begin(call, params, table, &p) < 0 || !(t = find(call, d, &p)) ||
	    image_path(call, d, &p, path, sizeof(path)) < 0)
		return;
	/* An image alone: the directory is a scratch one beside the default. */
	int scratch = p.image && !p.image_path;
	char *slash = strrchr(path, '/');
	if (scratch && slash && strlen(path) + 8 < sizeof(path)) {
		memmove(slash + 2, slash + 1, strlen(slash + 1) + 1);
		slash[1] = '.';
		strcat(path, ".image");
	}
	struct waiting *w = waiting_new(call, 0);
	if (!w)
		return;
	w->reply = scratch ? json_pack("{s:s}", "image", p.image) : json_pack("{s:s}", "image_path", path);
	if (w->reply && p.image && !scratch)
		json_object_set_new(w->reply, "image", json_string(p.image));
	struct task_checkpoint_options o = {
		.image_path = path, .exit = p.exit, .tcp_established = p.tcp_established, .file_locks = p.file_locks,
		.image = p.image, .remove = scratch,
	};
	int r = task_checkpoint(t, &o, answered, w, &e);
	waiting_begin(call, w, r, &e);
}

void svc_tasks_restore(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "image_path", API_T_STRING, offsetof(struct task_params, image_path), 0 }, P_END,
	};
	struct daemon *d = ctx;
	struct task_params p;
	struct ember_error e;
	json_t *rec;
	char path[PATH_MAX];

	if (begin(call, params, table, &p) < 0 || image_path(call, d, &p, path, sizeof(path)) < 0)
		return;
	if (container_get(d, p.namespace, p.id, &rec, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	json_decref(rec);
	struct waiting *w = waiting_new(call, 1);
	if (!w)
		return;
	int r = task_restore(d, p.namespace, p.id, path, answered, w, &e);
	waiting_begin(call, w, r, &e);
}
#endif

void svc_tasks_pause(struct api_call *call, json_t *params, void *ctx)
{
	freeze(call, params, ctx, 1);
}

void svc_tasks_resume(struct api_call *call, json_t *params, void *ctx)
{
	freeze(call, params, ctx, 0);
}

void svc_tasks_metrics(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct task_params p;
	struct ember_error e;
	struct task *t;
	struct runtime_cgroup_stats st;

	if (begin(call, params, table, &p) < 0 || !(t = find(call, ctx, &p)))
		return;
	if (!ENABLED(CONFIG_CGROUPS)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "this ember is built without cgroups (CONFIG_CGROUPS)");
		return;
	}
	if (!t->cg || runtime_cgroup_stats(t->cg, &st, &e) < 0) {
		if (!t->cg)
			err_set_name(&e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT, "task %s has no cgroup", p.id);
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I}, s:I, s:b}", "memory", "usage",
				  (json_int_t)st.memory_usage, "max_usage", (json_int_t)st.memory_max_usage, "limit",
				  (json_int_t)st.memory_limit, "cpu", "usage_ns", (json_int_t)st.cpu_usage_ns, "user_ns",
				  (json_int_t)st.cpu_user_ns, "system_ns", (json_int_t)st.cpu_system_ns, "pids", "current",
				  (json_int_t)st.pids_current, "limit", (json_int_t)st.pids_limit, "oom_kills",
				  (json_int_t)st.oom_kills, "frozen", st.frozen));
}

/* The container's process with the exec's changes. */
static json_t *exec_process(struct daemon *d, const struct task *t, const struct task_params *p, struct ember_error *e)
{
	json_t *rec;
	const char *k;
	json_t *v;
	size_t i;

	if (container_get(d, t->ns, t->id, &rec, e) < 0)
		return NULL;
	json_t *proc = json_deep_copy(json_object_get(json_object_get(rec, "spec"), "process"));
	json_decref(rec);
	if (!proc) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	(void)k;
	json_object_set(proc, "args", p->args);
	json_object_set_new(proc, "terminal", json_boolean(p->terminal));
	json_object_del(proc, "consoleSize");
	if (p->terminal && p->rows > 0 && p->cols > 0)
		json_object_set_new(proc, "consoleSize", json_pack("{s:I, s:I}", "height", (json_int_t)p->rows, "width",
								   (json_int_t)p->cols));
	if (p->cwd)
		json_object_set_new(proc, "cwd", json_string(p->cwd));
	json_t *env = json_object_get(proc, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(proc, "env", env);
	}
	json_array_foreach(p->env, i, v) {
		const char *kv = json_string_value(v), *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			json_decref(proc);
			err_invalid(e, "env[%zu]: not KEY=VALUE", i);
			return NULL;
		}
		/* getenv() takes the first: replace, do not append a second. */
		size_t n = (size_t)(eq - kv) + 1, j;
		json_t *old;
		int replaced = 0;
		json_array_foreach(env, j, old) {
			if (!strncmp(json_string_value(old) ?: "", kv, n)) {
				json_array_set(env, j, v);
				replaced = 1;
				break;
			}
		}
		if (!replaced)
			json_array_append(env, v);
	}
	return proc;
}

void svc_tasks_exec(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID,
		{ "exec_id", API_T_STRING, offsetof(struct task_params, exec_id), API_MANDATORY },
		{ "args", API_T_STRING_ARRAY, offsetof(struct task_params, args), API_MANDATORY },
		{ "env", API_T_STRING_ARRAY, offsetof(struct task_params, env), 0 },
		{ "cwd", API_T_STRING, offsetof(struct task_params, cwd), 0 },
		{ "user", API_T_STRING, offsetof(struct task_params, user), 0 },
		{ "terminal", API_T_BOOL, offsetof(struct task_params, terminal), 0 },
		{ "rows", API_T_INT, offsetof(struct task_params, rows), 0 },
		{ "cols", API_T_INT, offsetof(struct task_params, cols), 0 },
		P_END,
	};
	struct daemon *d = ctx;
	struct task_params p;
	struct ember_error e;
	struct task *t;
	int stdio[3] = { -1, -1, -1 };

	if (begin(call, params, table, &p) < 0 || !(t = find(call, d, &p)))
		return;
	if (meta_identifier_check("exec id", p.exec_id, &e) < 0 ||
	    (!json_array_size(p.args) && err_invalid(&e, "args: give the command to run") < 0) ||
	    (p.cwd && p.cwd[0] != '/' && err_invalid(&e, "cwd: must be an absolute path") < 0)) {
		api_error_from(call, &e);
		return;
	}
	if (p.rows < 0 || p.rows > 65535 || p.cols < 0 || p.cols > 65535) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "rows, cols: 0 .. 65535");
		return;
	}
	if (!p.terminal && take_stdio(call, stdio) < 0)
		return;
	json_t *proc = exec_process(d, t, &p, &e);
	const char *user = p.user;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	if (!user && container_get(d, t->ns, t->id, &rec, &e) == 0)
		user = json_string_value(
			json_object_get(json_object_get(json_object_get(rec, "spec"), "annotations"), RUNTIME_ANN_USER));
	struct waiting *w = proc ? waiting_new(call, 1) : NULL;
	if (!w) {
		json_decref(proc);
		for (int i = 0; i < 3; i++)
			close_keep_errno(stdio[i]);
		if (!proc)
			api_error_from(call, &e);
		return;
	}
	int r = task_exec_start(t, p.exec_id, proc, user, stdio, answered, w, &e);
	json_decref(proc);
	waiting_begin(call, w, r, &e);
}
