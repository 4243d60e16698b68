/* SPDX-License-Identifier: Apache-2.0 */
/* ember run, ember tasks ls|start|kill|wait|delete|exec|ps|pause|resume|metrics|checkpoint|restore. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

json_t *cli_task_params(const struct cli *cli, const char *id)
{
	return cli_with_namespace(cli, json_pack("{s:s}", "id", id));
}

int cli_exit_status(json_t *x)
{
	json_int_t code = json_integer_value(json_object_get(x, "exit_code"));
	return code >= 0 && code < 256 ? (int)code : 255;
}

/* ---- waiting, with signals forwarded ------------------------------------------------- */

struct waiter {
	int done;
	int status;
	int failed;
	struct ember_error err;
};

static int on_wait(ember_client *c, const char *params, unsigned flags, const struct ember_error *error, void *ud)
{
	struct waiter *w = ud;
	(void)c;
	(void)flags;
	w->done = 1;
	if (error) {
		w->failed = 1;
		w->err = *error;
		return 0;
	}
	json_t *j = json_loads(params, 0, NULL);
	w->status = cli_exit_status(json_object_get(j, "exit"));
	json_decref(j);
	return 0;
}

static void forward(struct cli *cli, const char *id, const char *exec_id, int sig)
{
	char name[16];
	snprintf(name, sizeof(name), "%d", sig);
	struct cli tmp = *cli;
	tmp.client = NULL;
	json_t *p = json_pack("{s:s, s:s}", "id", id, "signal", name);
	if (exec_id)
		json_object_set_new(p, "exec_id", json_string(exec_id));
	/* A second connection: the first one is busy waiting. */
	(void)cli_call(&tmp, "io.ember.Tasks.Kill", cli_with_namespace(cli, p), NULL);
	ember_client_free(tmp.client);
}

void cli_pass_winsize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

int cli_set_raw(int fd, struct termios *saved)
{
	struct termios t;
	if (tcgetattr(fd, saved) < 0)
		return -1;
	t = *saved;
	cfmakeraw(&t);
	return tcsetattr(fd, TCSANOW, &t);
}

/* Copy between our terminal and the task's pty until the task closes it. */
static void pump_pty(int master, int sfd, struct cli *cli, const char *id, const char *exec_id)
{
	char buf[16384];
	int in_open = 1;

	cli_pass_winsize(master);
	for (;;) {
		struct pollfd pf[3] = { { master, POLLIN, 0 }, { STDIN_FILENO, in_open ? POLLIN : 0, 0 }, { sfd, POLLIN, 0 } };
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					cli_pass_winsize(master);
				} else {
					forward(cli, id, exec_id, (int)si.ssi_signo);
				}
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return; /* EIO: every slave is closed, the task is done */
			if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
				return;
		}
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0;
				/* End of input: the terminal's EOF character. */
				char eot = 4;
				(void)!write(master, &eot, 1);
			} else if (write(master, buf, (size_t)n) < 0) {
				return;
			}
		}
	}
}

/* Start the task (method Start, or Exec with exec_id and p's settings)
   attached to this terminal or these stdio descriptors, wait for it, and
   return its exit status (or -1). Takes p (NULL: {id}). */
static int attached(struct cli *cli, const char *method, json_t *p, const char *id, const char *exec_id,
		    int terminal)
{
	struct ember_error e;
	sigset_t set;
	int status = -1;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0 || cli_connect(cli) < 0)
		return -1;
	if (!terminal) {
		int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
		ember_client_attach_fds(cli->client, fds, 3);
	}
	if (!p) {
		p = cli_task_params(cli, id);
		json_object_set_new(p, "attach", json_true());
	}
	struct winsize ws;
	if (terminal && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		/* Set before the application runs, not after it asked. */
		json_object_set_new(p, "rows", json_integer(ws.ws_row));
		json_object_set_new(p, "cols", json_integer(ws.ws_col));
	}
	if (cli_call(cli, method, p, NULL) < 0)
		return -1;
	if (terminal) {
		int master = ember_client_take_fd(cli->client);
		if (master < 0) {
			fprintf(stderr, "ember: the daemon sent no terminal\n");
			return -1;
		}
		struct termios saved;
		int raw = isatty(STDIN_FILENO) && cli_set_raw(STDIN_FILENO, &saved) == 0;
		pump_pty(master, sfd, cli, id, exec_id);
		if (raw)
			(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		close(master);
	}

	struct waiter w = { 0 };
	json_t *wp = cli_task_params(cli, id);
	if (exec_id)
		json_object_set_new(wp, "exec_id", json_string(exec_id));
	_cleanup_free_ char *text = json_dumps(wp, JSON_COMPACT);
	json_decref(wp);
	if (ember_call_async(cli->client, "io.ember.Tasks.Wait", text, 0, on_wait, &w, &e) < 0) {
		cli_error(cli, &e);
		return -1;
	}
	while (!w.done) {
		struct pollfd pf[2] = { { ember_client_get_fd(cli->client), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGWINCH)
				forward(cli, id, exec_id, (int)si.ssi_signo);
		}
		if (pf[0].revents && ember_client_process(cli->client, &e) < 0 && !w.done) {
			cli_error(cli, &e);
			return -1;
		}
	}
	if (w.failed) {
		cli_error(cli, &w.err);
		return -1;
	}
	status = w.status;
	return status;
}

static int remove_all(struct cli *cli, const char *id)
{
	int r = 0;
	if (cli_call(cli, "io.ember.Tasks.Delete", cli_task_params(cli, id), NULL) < 0)
		r = -1;
	if (cli_call(cli, "io.ember.Containers.Delete", cli_task_params(cli, id), NULL) < 0)
		r = -1;
	return r;
}

/* ---- ember run -------------------------------------------------------------------------- */

#ifdef CONFIG_CHECKPOINT
static int restore_image(struct cli *cli, const char *ref, const char *id, json_t **reply);
#endif

static int run_restore(struct cli *cli, const struct cli_args *a);

static int run_run(struct cli *cli, const struct cli_args *a)
{
	json_t *params;
	int detach = cli_flag(a, "detach") > 0, rm = cli_flag(a, "rm") > 0, tty = cli_flag(a, "tty") > 0;

	if (detach && rm) {
		cli_usage_error("--rm and -d: a detached task is removed with `ember tasks delete` and `ember containers rm`");
		return CLI_TASK_FAILED;
	}
	if (cli_flag(a, "restore") > 0)
		return run_restore(cli, a);
	if (cli_container_params(cli, a, 0, &params))
		return CLI_TASK_FAILED;
	const char *id = json_string_value(json_object_get(params, "id"));
	_cleanup_free_ char *idc = strdup(id);
	if (!idc || cli_call(cli, "io.ember.Containers.Create", params, NULL) < 0)
		return CLI_TASK_FAILED;
	if (detach) {
		json_t *reply;
		if (cli_call(cli, "io.ember.Tasks.Start", cli_task_params(cli, idc), &reply) < 0)
			return cli_task_failed(cli);
		if (cli->json)
			cli_print_json(reply);
		json_decref(reply);
		return CLI_OK;
	}
	int status = attached(cli, "io.ember.Tasks.Start", NULL, idc, NULL, tty);
	if (status < 0) {
		int failed = cli_task_failed(cli);
		/* Nothing started: what create made goes (ctr keeps it). */
		if (rm)
			(void)cli_call(cli, "io.ember.Containers.Delete", cli_task_params(cli, idc), NULL);
		return failed;
	}
	if (rm && remove_all(cli, idc) < 0)
		return CLI_TASK_FAILED;
	return status;
}

static const struct cli_opt run_opts[] = {
	{ "rm", 0, NULL, "remove the task and the container when it exits" },
	{ "restore", 0, NULL, "REF is a checkpoint image: restore its task (detached) in the new container ID" },
	{ "detach", 'd', NULL, "do not wait: output goes to the logs (ember logs ID; with -t, ember tasks attach ID)" },
	CLI_CONTAINER_OPTS,
	{ NULL, 0, NULL, NULL },
};

/* ember run --restore REF ID: REF is a checkpoint image, whose task is
   restored detached (CRIU gives it no client's stdio or terminal). */
static int run_restore(struct cli *cli, const struct cli_args *a)
{
	if (!ENABLED(CONFIG_CHECKPOINT)) {
		cli_usage_error("--restore: this ember is built without checkpoint/restore (CONFIG_CHECKPOINT)");
		return CLI_TASK_FAILED;
	}
	int other = 0;
	for (int i = 0; i < a->nopts; i++)
		other |= a->opts[i].opt >= run_opts && a->opts[i].opt < run_opts + ARRAY_SIZE(run_opts) &&
			 strcmp(a->opts[i].opt->name, "restore") && strcmp(a->opts[i].opt->name, "detach");
	if (a->npos != 2 || other) {
		cli_usage_error("--restore REF ID: the checkpoint gives the command and the container's settings, and "
				"the task is restored detached: no CMD and no option but -d");
		return CLI_TASK_FAILED;
	}
	json_t *reply = NULL;
#ifdef CONFIG_CHECKPOINT
	if (restore_image(cli, a->pos[0], a->pos[1], &reply) < 0)
		return CLI_TASK_FAILED;
#endif
	if (cli->json)
		cli_print_json(reply);
	json_decref(reply);
	return CLI_OK;
}

const struct cli_command cli_cmd_run = {
	.name = "run",
	.args = "REF ID [CMD [ARG...]]",
	.summary = "create a container and run its task",
	.help = CLI_HELP("Attached by default: the task gets this terminal (-t) or these stdin, stdout and\n"
			 "stderr, signals are forwarded, and ember exits with the task's exit status;\n"
			 "125 when ember itself failed, 126 when the command cannot be invoked, 127\n"
			 "when it was not found (Docker's convention). With --rootfs DIR: ember run\n"
			 "--rootfs DIR ID [CMD...]."),
	.opts = run_opts,
	.min_args = 1,
	.max_args = -1,
	.flags = CLI_STOP_AT_ARGS | CLI_TASK_STATUS,
	.run = run_run,
};

/* ---- ember tasks ---------------------------------------------------------------------- */

static int tasks_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *t;
	size_t i;

	if (cli_call(cli, "io.ember.Tasks.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "tasks");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, t)
			puts(json_string_value(json_object_get(t, "id")));
	} else {
		static const char *const head[] = { "TASK", "PID", "STATUS" };
		struct cli_table *tb = cli_table_new(head, 3);
		json_array_foreach(list, i, t) {
			char pid[24], status[64];
			snprintf(pid, sizeof(pid), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(t, "pid")));
			const char *st = json_string_value(json_object_get(t, "status"));
			json_t *x = json_object_get(t, "exit");
			if (x)
				snprintf(status, sizeof(status), "%s (exit %d%s)", st, cli_exit_status(x),
					 json_is_true(json_object_get(x, "oom")) ? ", OOM" : "");
			else
				snprintf(status, sizeof(status), "%s", st);
			const char *row[] = { json_string_value(json_object_get(t, "id")), pid, status };
			cli_table_add(tb, row);
		}
		cli_table_print_free(tb);
	}
	json_decref(reply);
	return CLI_OK;
}

static int tasks_start(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_flag(a, "detach")) {
		if (cli_call(cli, "io.ember.Tasks.Start", cli_task_params(cli, a->pos[0]), &reply) < 0)
			return cli_task_failed(cli);
		if (cli->json)
			cli_print_json(reply);
		json_decref(reply);
		return CLI_OK;
	}
	if (cli_call(cli, "io.ember.Containers.Get", cli_task_params(cli, a->pos[0]), &reply) < 0)
		return CLI_TASK_FAILED;
	int terminal = json_is_true(json_object_get(
		json_object_get(json_object_get(json_object_get(reply, "container"), "spec"), "process"), "terminal"));
	json_decref(reply);
	int status = attached(cli, "io.ember.Tasks.Start", NULL, a->pos[0], NULL, terminal);
	return status < 0 ? cli_task_failed(cli) : status;
}

static int tasks_kill(struct cli *cli, const struct cli_args *a)
{
	json_t *p = cli_task_params(cli, a->pos[0]);
	if (cli_arg(a, "signal"))
		json_object_set_new(p, "signal", json_string(cli_arg(a, "signal")));
	if (cli_flag(a, "all"))
		json_object_set_new(p, "all", json_true());
	if (cli_arg(a, "exec-id"))
		json_object_set_new(p, "exec_id", json_string(cli_arg(a, "exec-id")));
	return cli_call(cli, "io.ember.Tasks.Kill", p, NULL) < 0 ? CLI_FAILED : CLI_OK;
}

static int tasks_wait(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Tasks.Wait", cli_task_params(cli, a->pos[0]), &reply) < 0)
		return CLI_TASK_FAILED;
	json_t *x = json_object_get(reply, "exit");
	if (cli->json)
		cli_print_json(x);
	int status = cli_exit_status(x);
	json_decref(reply);
	return status;
}

static int tasks_delete(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;
	for (int i = 0; i < a->npos; i++) {
		json_t *reply;
		if (cli_call(cli, "io.ember.Tasks.Delete", cli_task_params(cli, a->pos[i]), &reply) < 0) {
			failed = 1;
			continue;
		}
		if (cli->json)
			cli_print_json(json_object_get(reply, "exit"));
		json_decref(reply);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int tasks_ps(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *p;
	size_t i;

	if (cli_call(cli, "io.ember.Tasks.Pids", cli_task_params(cli, a->pos[0]), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "processes");
	if (cli->json) {
		cli_print_json(list);
	} else {
		puts("PID");
		json_array_foreach(list, i, p)
			printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(p, "pid")));
	}
	json_decref(reply);
	return CLI_OK;
}

static int simple(struct cli *cli, const struct cli_args *a, const char *method)
{
	return cli_call(cli, method, cli_task_params(cli, a->pos[0]), NULL) < 0 ? CLI_FAILED : CLI_OK;
}

static int tasks_pause(struct cli *cli, const struct cli_args *a)
{
	return simple(cli, a, "io.ember.Tasks.Pause");
}

static int tasks_resume(struct cli *cli, const struct cli_args *a)
{
	return simple(cli, a, "io.ember.Tasks.Resume");
}

#ifdef CONFIG_CHECKPOINT
/* --image-path for the daemon: absolute (its cwd is not ours). */
static int put_image_path(json_t *params, const struct cli_args *a)
{
	const char *path = cli_arg(a, "image-path");
	char cwd[PATH_MAX], buf[PATH_MAX];

	if (!path)
		return 0;
	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) || (size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= sizeof(buf))
			return cli_usage_error("--image-path: too long");
		path = buf;
	}
	json_object_set_new(params, "image_path", json_string(path));
	return 0;
}

static int tasks_checkpoint(struct cli *cli, const struct cli_args *a)
{
	json_t *params = cli_task_params(cli, a->pos[0]), *reply;
	int r = put_image_path(params, a);

	if (r) {
		json_decref(params);
		return r;
	}
	if (cli_flag(a, "exit"))
		json_object_set_new(params, "exit", json_true());
	if (cli_flag(a, "tcp-established"))
		json_object_set_new(params, "tcp_established", json_true());
	if (cli_flag(a, "file-locks"))
		json_object_set_new(params, "file_locks", json_true());
	if (cli_arg(a, "image"))
		json_object_set_new(params, "image", json_string(cli_arg(a, "image")));
	if (cli_call(cli, "io.ember.Tasks.Checkpoint", params, &reply) < 0)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(reply);
	else if (json_object_get(reply, "image_path"))
		puts(json_string_value(json_object_get(reply, "image_path")));
	json_decref(reply);
	return CLI_OK;
}

/* A new container from the checkpoint image ref, its task restored; the
   container goes again when the restore fails. */
static int restore_image(struct cli *cli, const char *ref, const char *id, json_t **reply)
{
	json_t *params = cli_task_params(cli, id);

	json_object_set_new(params, "checkpoint", json_string(ref));
	if (cli_call(cli, "io.ember.Containers.Create", params, NULL) < 0)
		return -1;
	if (cli_call(cli, "io.ember.Tasks.Restore", cli_task_params(cli, id), reply) == 0)
		return 0;
	(void)cli_call(cli, "io.ember.Containers.Delete", cli_task_params(cli, id), NULL);
	return -1;
}

static int tasks_restore(struct cli *cli, const struct cli_args *a)
{
	json_t *params, *reply;
	int r;

	if (cli_arg(a, "image")) {
		if (cli_arg(a, "image-path"))
			return cli_usage_error("--image or --image-path, not both");
		if (restore_image(cli, cli_arg(a, "image"), a->pos[0], &reply) < 0)
			return CLI_FAILED;
	} else {
		params = cli_task_params(cli, a->pos[0]);
		if ((r = put_image_path(params, a))) {
			json_decref(params);
			return r;
		}
		if (cli_call(cli, "io.ember.Tasks.Restore", params, &reply) < 0)
			return CLI_FAILED;
	}
	if (cli->json)
		cli_print_json(reply);
	else
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(reply, "pid")));
	json_decref(reply);
	return CLI_OK;
}

static const struct cli_opt checkpoint_opts[] = {
	{ "image-path", 0, "DIR", "where the images go (default: <root>/checkpoints/<namespace>/<id>)" },
	{ "exit", 0, NULL, "stop the task once it is checkpointed (default: it goes on running)" },
	{ "tcp-established", 0, NULL, "checkpoint established TCP connections" },
	{ "file-locks", 0, NULL, "checkpoint file locks" },
	{ "image", 0, "REF", "store it as image REF too, in containerd's layout (ember push REF sends it)" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt restore_opts[] = {
	{ "image-path", 0, "DIR", "the checkpoint (default: <root>/checkpoints/<namespace>/<id>)" },
	{ "image", 0, "REF", "a new container ID from the checkpoint image REF (pulled or imported)" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_command checkpoint_cmd = {
	.name = "checkpoint", .args = "ID", .summary = "checkpoint a running task with CRIU",
	.opts = checkpoint_opts, .min_args = 1, .max_args = 1, .run = tasks_checkpoint,
};
static const struct cli_command restore_cmd = {
	.name = "restore", .args = "ID", .summary = "start a container's task from its checkpoint (detached)",
	.opts = restore_opts, .min_args = 1, .max_args = 1, .run = tasks_restore,
};
#define CHECKPOINT_CMD &checkpoint_cmd,
#define RESTORE_CMD &restore_cmd,
#else
#define CHECKPOINT_CMD
#define RESTORE_CMD
#endif

static int tasks_metrics(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Tasks.Metrics", cli_task_params(cli, a->pos[0]), &reply) < 0)
		return CLI_FAILED;
	if (cli->json) {
		cli_print_json(reply);
	} else {
		char usage[16], limit[16];
		json_t *m = json_object_get(reply, "memory");
		cli_format_size(json_integer_value(json_object_get(m, "usage")), usage);
		json_int_t l = json_integer_value(json_object_get(m, "limit"));
		if (l > 0)
			cli_format_size(l, limit);
		else
			snprintf(limit, sizeof(limit), "none");
		printf("memory   %s (limit %s)\n", usage, limit);
		printf("cpu      %.3f s\n",
		       (double)json_integer_value(json_object_get(json_object_get(reply, "cpu"), "usage_ns")) / 1e9);
		printf("pids     %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(json_object_get(reply, "pids"), "current")));
		printf("oom      %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(reply, "oom_kills")));
		printf("frozen   %s\n", json_is_true(json_object_get(reply, "frozen")) ? "yes" : "no");
	}
	json_decref(reply);
	return CLI_OK;
}

static int tasks_exec(struct cli *cli, const struct cli_args *a)
{
	char gen[32];
	const char *exec_id = cli_arg(a, "exec-id");
	int tty = cli_flag(a, "tty") > 0;

	if (a->npos < 2) {
		cli_usage_error("give the task's ID and the command to run");
		return CLI_TASK_FAILED;
	}
	if (!exec_id) {
		snprintf(gen, sizeof(gen), "exec-%d", (int)getpid());
		exec_id = gen;
	}
	json_t *args = json_array(), *env = NULL;
	for (int i = 1; i < a->npos; i++)
		json_array_append_new(args, json_string(a->pos[i]));
	json_t *p = json_pack("{s:s, s:s, s:o, s:b}", "id", a->pos[0], "exec_id", exec_id, "args", args, "terminal", tty);
	for (int i = 0; i < a->nopts; i++)
		if (!strcmp(a->opts[i].opt->name, "env")) {
			if (!env)
				env = json_array();
			json_array_append_new(env, json_string(a->opts[i].value));
		}
	if (env)
		json_object_set_new(p, "env", env);
	if (cli_arg(a, "cwd"))
		json_object_set_new(p, "cwd", json_string(cli_arg(a, "cwd")));
	if (cli_arg(a, "user"))
		json_object_set_new(p, "user", json_string(cli_arg(a, "user")));
	int status = attached(cli, "io.ember.Tasks.Exec", cli_with_namespace(cli, p), a->pos[0], exec_id, tty);
	return status < 0 ? cli_task_failed(cli) : status;
}

static const struct cli_opt exec_opts[] = {
	{ "exec-id", 0, "ID", "a name for the process (default: exec-<pid>)" },
	{ "tty", 't', NULL, "allocate a terminal" },
	{ "env", 'e', "KEY=VALUE", "set an environment variable (repeatable)" },
	{ "cwd", 0, "DIR", "working directory" },
	{ "user", 'u', "USER[:GROUP]", "run as this user" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt start_opts[] = {
	{ "detach", 'd', NULL, "do not attach: output goes to the task's logs" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt kill_opts[] = {
	{ "signal", 's', "SIGNAL", "signal name or number (default: the container's stop signal)" },
	{ "all", 'a', NULL, "every process of the task, not only its init" },
	{ "exec-id", 0, "ID", "signal this exec of the task instead" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list tasks", .opts = ls_opts, .run = tasks_ls,
};
static const struct cli_command start_cmd = {
	.name = "start", .args = "ID", .summary = "start a container's task (attached unless -d)",
	.opts = start_opts, .min_args = 1, .max_args = 1, .flags = CLI_TASK_STATUS, .run = tasks_start,
};
static const struct cli_command kill_cmd = {
	.name = "kill", .args = "ID", .summary = "signal a task (default: its stop signal)",
	.opts = kill_opts, .min_args = 1, .max_args = 1, .run = tasks_kill,
};
static const struct cli_command exec_cmd = {
	.name = "exec", .args = "ID CMD [ARG...]", .summary = "run a process in a running task (attached)",
	.opts = exec_opts, .min_args = 2, .max_args = -1, .flags = CLI_STOP_AT_ARGS | CLI_TASK_STATUS,
	.run = tasks_exec,
};
static const struct cli_command wait_cmd = {
	.name = "wait", .args = "ID", .summary = "wait for a task to exit; exits with its status",
	.min_args = 1, .max_args = 1, .flags = CLI_TASK_STATUS, .run = tasks_wait,
};
static const struct cli_command delete_cmd = {
	.name = "delete", .aliases = "rm remove del", .args = "ID...", .summary = "remove stopped tasks",
	.min_args = 1, .max_args = -1, .run = tasks_delete,
};
static const struct cli_command ps_cmd = {
	.name = "ps", .aliases = "pids", .args = "ID", .summary = "list a task's processes",
	.min_args = 1, .max_args = 1, .run = tasks_ps,
};
static const struct cli_command pause_cmd = {
	.name = "pause", .args = "ID", .summary = "freeze a task's processes", .min_args = 1, .max_args = 1,
	.run = tasks_pause,
};
static const struct cli_command resume_cmd = {
	.name = "resume", .args = "ID", .summary = "thaw a paused task", .min_args = 1, .max_args = 1,
	.run = tasks_resume,
};
static const struct cli_command metrics_cmd = {
	.name = "metrics", .aliases = "metric", .args = "ID", .summary = "memory, CPU and pids of a task",
	.min_args = 1, .max_args = 1, .run = tasks_metrics,
};

static const struct cli_command *const tasks_sub[] = {
	&cli_cmd_tasks_attach, CHECKPOINT_CMD &delete_cmd, &exec_cmd, &kill_cmd, &ls_cmd, &metrics_cmd, &pause_cmd,
	&ps_cmd, RESTORE_CMD &resume_cmd, &start_cmd, &wait_cmd, NULL,
};

const struct cli_command cli_cmd_tasks = {
	.name = "tasks",
	.aliases = "task t",
	.summary = "manage tasks (running containers)",
	.sub = tasks_sub,
};
