/* SPDX-License-Identifier: Apache-2.0 */
/* ember logs, ember tasks attach: a detached task's output, from the two
   log files its init writes (the daemon passes them as descriptors). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

/* Print the last n lines (n < 0: all) of the two files, oldest first;
   *end1 gets the size of the newer one (where -f goes on). At most
   2 x the log size (a few MiB) is read. */
static void print_tail(int fds[2], long n, off_t *end1)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;

	for (int i = 0; i < 2; i++) {
		off_t size = fstat(fds[i], &st) == 0 ? st.st_size : 0;
		char *nb = realloc(buf, len + (size_t)size + 1);
		if (!nb)
			break;
		buf = nb;
		ssize_t r = size ? pread(fds[i], buf + len, (size_t)size, 0) : 0;
		if (r > 0)
			len += (size_t)r;
		if (i == 1)
			*end1 = r > 0 ? r : 0;
	}
	size_t from = 0;
	if (n >= 0 && len) {
		/* Count newlines back from the end; a final one ends the last line. */
		size_t k = len - (buf[len - 1] == '\n' ? 1 : 0);
		long lines = 0;
		from = 0;
		while (k > 0) {
			if (buf[k - 1] == '\n' && ++lines == n) {
				from = k;
				break;
			}
			k--;
		}
		if (n == 0)
			from = len;
	}
	if (buf)
		fwrite(buf + from, 1, len - from, stdout);
	fflush(stdout);
	free(buf);
}

/* Logs (master NULL) or Attach: the two log files, oldest first, and for
   Attach the terminal's master when the task has one (else -1). */
static int logs_call(struct cli *cli, const char *id, int fds[2], int *master, int *running)
{
	json_t *reply;
	if (cli_call(cli, master ? "io.ember.Tasks.Attach" : "io.ember.Tasks.Logs", cli_task_params(cli, id),
		     &reply) < 0)
		return -1;
	*running = json_is_true(json_object_get(reply, "running"));
	int terminal = master && json_is_true(json_object_get(reply, "terminal"));
	json_decref(reply);
	fds[0] = ember_client_take_fd(cli->client);
	fds[1] = ember_client_take_fd(cli->client);
	int pty = terminal ? ember_client_take_fd(cli->client) : -1;
	if (fds[0] < 0 || fds[1] < 0 || (terminal && pty < 0)) {
		int got[3] = { fds[0], fds[1], pty };
		for (int i = 0; i < 3; i++)
			if (got[i] >= 0)
				close(got[i]);
		fprintf(stderr, "ember: %s: the daemon sent no log files%s\n", master ? "attach" : "logs",
			terminal ? " or terminal" : "");
		return -1;
	}
	if (master)
		*master = pty;
	return 0;
}

static int logs_fetch(struct cli *cli, const char *id, int fds[2], int *running)
{
	return logs_call(cli, id, fds, NULL, running);
}

/* Following the newer log file from pos. */
struct follow {
	int fds[2];
	off_t pos;
	unsigned idle;
};

static void follow_drain(struct follow *f)
{
	char buf[16384];
	ssize_t r;

	while ((r = pread(f->fds[1], buf, sizeof(buf), f->pos)) > 0) {
		fwrite(buf, 1, (size_t)r, stdout);
		f->pos += r;
	}
	fflush(stdout);
}

/* Print what the newer file gained. Every few rounds without output, ask
   the daemon again: init may have switched files (drain the old one, go
   on with the new from its start), or the task ended. 1: go on; 0: the
   task ended and all its output is printed; -1: failed (said). */
static int follow_step(struct cli *cli, const char *id, struct follow *f)
{
	struct stat st;
	off_t before = f->pos;

	follow_drain(f);
	if (f->pos != before) {
		f->idle = 0;
		return 1;
	}
	if (fstat(f->fds[1], &st) == 0 && st.st_size < f->pos)
		f->pos = 0; /* emptied for reuse: the other file is newer now */
	if (++f->idle % 5)
		return 1;
	int nf[2], still;
	if (logs_fetch(cli, id, nf, &still) < 0)
		return -1;
	struct stat a0, b0;
	int switched = fstat(nf[1], &a0) == 0 && fstat(f->fds[1], &b0) == 0 &&
		       (a0.st_ino != b0.st_ino || a0.st_dev != b0.st_dev);
	if (switched) {
		follow_drain(f);
		f->pos = 0;
	}
	close(f->fds[0]);
	close(f->fds[1]);
	f->fds[0] = nf[0];
	f->fds[1] = nf[1];
	if (!still && !switched) {
		follow_drain(f);
		return 0;
	}
	return 1;
}

static int logs_run(struct cli *cli, const struct cli_args *a)
{
	struct follow f = { .pos = 0 };
	int running, r = 1;
	long tail = -1;

	if (cli_arg(a, "tail")) {
		char *end;
		tail = strtol(cli_arg(a, "tail"), &end, 10);
		if (*end || end == cli_arg(a, "tail") || tail < 0)
			return cli_usage_error("--tail: \"%s\" is not a number of lines", cli_arg(a, "tail"));
	}
	if (logs_fetch(cli, a->pos[0], f.fds, &running) < 0)
		return CLI_FAILED;
	print_tail(f.fds, tail, &f.pos);
	while (cli_flag(a, "follow") && (r = follow_step(cli, a->pos[0], &f)) > 0)
		if (f.idle)
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	close(f.fds[0]);
	close(f.fds[1]);
	return r < 0 ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt logs_opts[] = {
	{ "follow", 'f', NULL, "keep printing output as the task writes it, until it exits" },
	{ "tail", 0, "N", "only the last N lines" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_logs = {
	.name = "logs",
	.args = "ID",
	.summary = "print a detached task's output",
	.help = CLI_HELP("Output is kept in two files of 1 MiB each, so the last 1-2 MiB are there."),
	.opts = logs_opts,
	.min_args = 1,
	.max_args = 1,
	.run = logs_run,
};

/* ---- ember tasks attach ----------------------------------------------------------------- */

/* Docker's detach keys: Ctrl-P Ctrl-Q. */
#define ATTACH_KEY1 0x10
#define ATTACH_KEY2 0x11
#define ATTACH_READ 2048 /* bytes of typed input read at a time */

struct attach {
	int master;  /* -1: no terminal */
	int held;    /* a Ctrl-P is waiting for the next key */
	int in_open;
	char out[2 * ATTACH_READ + 1]; /* typed, not yet taken by the terminal */
	size_t n_out;
};

/* Typed input, kept for the task's terminal. 1: the user asked to detach
   (what came before the keys still goes). */
static int attach_input(struct attach *at)
{
	char buf[ATTACH_READ];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0) {
		at->in_open = 0;
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (at->held) {
			at->held = 0;
			if (buf[i] == ATTACH_KEY2)
				return 1;
			at->out[at->n_out++] = ATTACH_KEY1;
		}
		if (buf[i] == ATTACH_KEY1)
			at->held = 1;
		else
			at->out[at->n_out++] = buf[i];
	}
	return 0;
}

/* The master is shared with init (blocking): write only what poll said it
   takes room for, a little at a time, so that a task that reads no input
   never blocks the client (nor its detach keys). */
static void attach_output(struct attach *at)
{
	ssize_t w = write(at->master, at->out, at->n_out < 64 ? at->n_out : 64);
	if (w < 0) {
		if (errno != EINTR && errno != EAGAIN) {
			at->in_open = 0;
			at->n_out = 0;
		}
		return;
	}
	memmove(at->out, at->out + w, at->n_out - (size_t)w);
	at->n_out -= (size_t)w;
}

static int attach_run(struct cli *cli, const struct cli_args *a)
{
	const char *id = a->pos[0];
	struct follow f = { .pos = 0 };
	struct attach at = { .master = -1, .in_open = 1 };
	json_t *reply;
	struct stat st;
	sigset_t set;
	int running;

	if (logs_call(cli, id, f.fds, &at.master, &running) < 0)
		return CLI_TASK_FAILED;
	/* From now on, as `docker attach` shows it. */
	f.pos = fstat(f.fds[1], &st) == 0 ? st.st_size : 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct termios saved;
	int raw = 0;
	if (at.master >= 0) {
		cli_pass_winsize(at.master);
		raw = isatty(STDIN_FILENO) && cli_set_raw(STDIN_FILENO, &saved) == 0;
	}
	int r = 1, detached = 0;
	while (r > 0 && !detached) {
		/* Room in the buffer for a whole read of stdin, else drain it first. */
		int can_read = at.master >= 0 && at.in_open && at.n_out <= sizeof(at.out) - (ATTACH_READ + 1);
		struct pollfd pf[3] = { { sfd, POLLIN, 0 },
					{ can_read ? STDIN_FILENO : -1, POLLIN, 0 },
					{ at.n_out ? at.master : -1, POLLOUT, 0 } };
		if (poll(pf, 3, f.idle ? 50 : 0) < 0 && errno != EINTR)
			break;
		if (pf[2].revents & POLLOUT)
			attach_output(&at);
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo != SIGWINCH)
					detached = 1; /* the task goes on: only the client leaves */
				else if (at.master >= 0)
					cli_pass_winsize(at.master);
			}
		}
		if (pf[1].revents & (POLLIN | POLLHUP) && attach_input(&at))
			detached = 1;
		if (!detached)
			r = follow_step(cli, id, &f);
	}
	/* What was typed before the detach keys, as far as it is taken. */
	while (at.n_out && poll(&(struct pollfd){ at.master, POLLOUT, 0 }, 1, 200) > 0)
		attach_output(&at);
	if (raw)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (at.master >= 0)
		close(at.master);
	close(f.fds[0]);
	close(f.fds[1]);
	if (r < 0)
		return CLI_TASK_FAILED;
	if (detached)
		return CLI_OK;
	/* The task ended: its status is ours, as with an attached run. */
	if (cli_call(cli, "io.ember.Tasks.Wait", cli_task_params(cli, id), &reply) < 0)
		return CLI_TASK_FAILED;
	int status = cli_exit_status(json_object_get(reply, "exit"));
	json_decref(reply);
	return status;
}

const struct cli_command cli_cmd_tasks_attach = {
	.name = "attach",
	.args = "ID",
	.summary = "follow a detached task's output; with a terminal, type into it",
	.help = CLI_HELP("Output from now on (ember logs has what came before). With a terminal (run -d -t)\n"
			 "this terminal's input and size go to the task's. Ctrl-P Ctrl-Q (or a signal, without\n"
			 "a terminal) detaches and leaves the task running; when the task exits, ember exits\n"
			 "with its status."),
	.min_args = 1,
	.max_args = 1,
	.flags = CLI_TASK_STATUS,
	.run = attach_run,
};
