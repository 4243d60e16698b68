/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_TASKS_H
#define EMBER_DAEMON_TASKS_H

/*
 * Containers and their tasks (svc-containers.c, tasks.c, svc-tasks.c).
 *
 * A container is a record, meta/<ns>/containers/<id>.json: its OCI spec,
 * its image and active snapshot (key = the container's id) or a host
 * rootfs directory, labels and restart policy. A task is the running
 * container: `ember init` as its PID 1, a child of the daemon that cloned
 * it, or of whoever adopted it after the daemon went away. Its live state
 * is on tmpfs, <state>/tasks/<ns>/<id>/:
 *
 *   task.json   pid, start time (the pid's identity), status, exit status
 *   exit        written by `ember init` when the application ends
 *   log.0 log.1 a detached task's output, rotated between the two
 *   rootfs/     where the rootfs is mounted, in the container's namespace
 *
 * A new daemon reads every task.json and re-adopts live tasks (pidfd_open
 * plus the start time, so a reused pid is not mistaken for the task), and
 * reports the exit of those that ended while it was away, from `exit`.
 */

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "daemon/daemon.h"
#include "util/timestamp.h"

enum task_status { TASK_RUNNING, TASK_PAUSED, TASK_STOPPED };

struct task_exit {
	int code;   /* exit code, or 128 + signal */
	int signal; /* 0: exited */
	int oom;    /* the cgroup saw an OOM kill */
	int known;  /* 0: the task died while nobody could see how */
	char at[TIMESTAMP_LEN];
};

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };

struct restart {
	enum restart_policy policy;
	int max; /* on-failure:N, 0: no limit */
};

struct task_waiter;
struct runtime_cgroup;
struct task;

/* A process started in a running task (ember tasks exec). */
struct task_exec {
	struct task_exec *next;
	struct task *t;
	char id[80];
	pid_t pid;
	int pidfd;
	int running;
	struct task_exit exit;
	struct loop_source *watch;
	struct task_waiter *waiters;
};
#define TASK_EXECS_MAX 64

struct task {
	struct task *next;
	struct daemon *d;
	char ns[80], id[80];
	pid_t pid;
	int pidfd;
	uint64_t start_time;
	int is_child; /* ours to reap */
	enum task_status status;
	struct task_exit exit;
	char started_at[TIMESTAMP_LEN];
	struct loop_source *watch;
	struct task_waiter *waiters;
	struct runtime_cgroup *cg;
	int detached; /* output goes to log.0 / log.1 */
	int pty_fd;   /* detached with a terminal: the master's number in its init, else -1 */
	int user_stopped; /* a kill asked by a user: no restart */
	int sent_kill;    /* SIGKILL was sent to its init: how it ended if init could not say */
	/* restart policy */
	struct restart restart;
	unsigned restarts;       /* in a row, for the backoff */
	uint64_t started_ms;     /* loop time of the last start */
	struct loop_source *restart_timer;
	struct task_exec *execs;
};

#define TASK_LOG_MAX_DEFAULT ((int64_t)1 << 20)

int restart_parse(const char *s, struct restart *out, struct ember_error *e);
/* "no", "on-failure:3", ... into buf. */
const char *restart_format(const struct restart *r, char buf[32]);

/* Start-up: the state directory, the binary for `ember init`, and
   re-adoption of the tasks a previous daemon left. */
int tasks_start(struct daemon *d, struct ember_error *e);
void tasks_stop(struct daemon *d);

struct task *task_find(struct daemon *d, const char *ns, const char *id);
/* Start the container's task. stdio: the application's 0 1 2 (taken
   over; -1 each: detached, output to the logs). *pty gets the
   terminal's master when the spec asks for one. */
struct task_size {
	unsigned rows, cols; /* the client's terminal; 0: the spec's */
};
int task_start(struct daemon *d, const char *ns, const char *id, int stdio[3], int *pty,
	       const struct task_size *size, struct task **out, struct ember_error *e);
int task_kill(struct task *t, int sig, int all, struct ember_error *e);
/* Remove a stopped task's state (and cgroup). */
int task_delete(struct task *t, struct ember_error *e);
json_t *task_json(const struct task *t);
/* Write task.json (a failure is logged). */
void task_save_or_log(struct task *t);
/* Wait for the exit: fn runs once, at once when stopped already. */
typedef void (*task_wait_fn)(struct task *t, void *userdata);
struct task_waiter *task_wait(struct task *t, task_wait_fn fn, void *userdata);
void task_wait_cancel(struct task *t, struct task_waiter *w);

/* Start process (an OCI process object: args, env, cwd, user,
   capabilities, terminal) in the running task t, with stdio (or a pty
   into *pty when process.terminal). user: names to resolve in the
   container's /etc (runtime_user_resolve()), or NULL. */
int task_exec_start(struct task *t, const char *exec_id, json_t *process, const char *user, int stdio[3],
		    int *pty, struct task_exec **out, struct ember_error *e);
struct task_exec *task_exec_find(struct task *t, const char *exec_id);
struct task_waiter *task_exec_wait(struct task_exec *x, task_wait_fn fn, void *userdata);
void task_exec_wait_cancel(struct task_exec *x, struct task_waiter *w);
json_t *task_exec_json(const struct task_exec *x);

/* Record in the container that a user stopped it (unless-stopped keeps
   it down across reboots), or started it again. */
int container_mark_stopped(struct daemon *d, const char *ns, const char *id, int stopped, struct ember_error *e);

/* The container's record, NotFound when there is none. */
int container_get(struct daemon *d, const char *ns, const char *id, json_t **out, struct ember_error *e);

#endif
