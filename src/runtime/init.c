/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember init: the PID 1 of each container (contract in runtime.h).
 *
 * Every container pays for this process for as long as it runs, so it is
 * kept small: no heap, no jansson, one 16 KiB stack buffer, and main()
 * dispatches here before any other set-up. Its state is one struct on
 * the stack of runtime_init_main().
 *
 * Shape: block every signal and read them from a signalfd; fork; the child
 * sets up stdio and the terminal, unblocks signals and execs the program,
 * telling init through a CLOEXEC pipe only when exec failed (EOF means it
 * worked); init then polls the signalfd (forward, or reap on SIGCHLD) and
 * the log pipe (copy to the current log file) until the application has
 * exited and its output is drained.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/timestamp.h"

/* How long output is still copied after the application exited: a
   grandchild may hold the pipe open for ever. */
#define INIT_DRAIN_MS 2000
/* The longest init waits for the clock to pass the old log file's mtime
   before it switches files (a tick is at most 10 ms). */
#define INIT_SWITCH_WAIT_MS 50
#define INIT_PUMP_BUF 16384

/* What the child sends init when it could not exec the program. */
enum child_step { STEP_EXEC, STEP_EXEC_INTERP, STEP_DEVNULL, STEP_STDIO };
struct child_report {
	int step;
	int err;
};

struct init_log {
	int fd[2];
	int cur;       /* index in fd of the file being written */
	uint64_t size; /* bytes in fd[cur] */
	uint64_t max;
};

struct init {
	struct rt_init_options o;
	struct init_log log;
	pid_t self;
	int sfd;     /* signalfd of every signal */
	int pipe_rd; /* the application's stdout+stderr; -1 when not logging or at EOF */
	pid_t app;
	bool app_done;
	int app_status;
};

/* ---- options ---- */

static int parse_fd(const char *opt, const char *s, int *fd, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	char *end;
	long v;

	if (!s)
		return rt_bad(e, "%s: missing value", opt);
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > INT_MAX)
		return rt_bad(e, "%s: \"%s\" is not a file descriptor", opt, rt_quote(s, q));
	if (v < 3)
		return rt_bad(e, "%s: %ld is the application's stdio: use 3 or more", opt, v);
	*fd = (int)v;
	return 0;
}

int rt_init_parse(int argc, char **argv, struct rt_init_options *o, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	int nlog = 0, max_given = 0;
	int i;

	*o = (struct rt_init_options){ .report_fd = -1, .exit_fd = -1, .pty_fd = -1, .log_fd = { -1, -1 },
				       .log_max = RUNTIME_INIT_LOG_MAX };
	/* Every option takes a value: two arguments a step. */
	for (i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, RUNTIME_INIT_OPT_REPORT_FD)) {
			r = parse_fd(a, v, &o->report_fd, e);
		} else if (!strcmp(a, RUNTIME_INIT_OPT_EXIT_FD)) {
			r = parse_fd(a, v, &o->exit_fd, e);
		} else if (!strcmp(a, RUNTIME_INIT_OPT_PTY_FD)) {
			r = parse_fd(a, v, &o->pty_fd, e);
		} else if (!strcmp(a, RUNTIME_INIT_OPT_LOG_FD)) {
			if (nlog == 2)
				return rt_bad(e, "%s: given more than twice", a);
			r = parse_fd(a, v, &o->log_fd[nlog++], e);
		} else if (!strcmp(a, RUNTIME_INIT_OPT_LOG_MAX)) {
			char *end;

			if (!v)
				return rt_bad(e, "%s: missing value", a);
			errno = 0;
			o->log_max = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || errno || o->log_max > ((uint64_t)1 << 62))
				return rt_bad(e, "%s: \"%s\" is not a number of bytes", a, rt_quote(v, q));
			if (o->log_max < RUNTIME_INIT_LOG_MAX_MIN)
				return rt_bad(e, "%s: at least %" PRIu64 " bytes", a,
					      RUNTIME_INIT_LOG_MAX_MIN);
			max_given = 1;
			r = 0;
		} else {
			return rt_bad(e, "unknown option \"%s\"", rt_quote(a, q));
		}
		if (r < 0)
			return r;
	}
	if (nlog == 1)
		return rt_bad(e, "%s: give two files (one is written while the other keeps the older output)",
			      RUNTIME_INIT_OPT_LOG_FD);
	if (max_given && nlog == 0)
		return rt_bad(e, "%s without %s", RUNTIME_INIT_OPT_LOG_MAX, RUNTIME_INIT_OPT_LOG_FD);
	if (o->pty_fd >= 0 && nlog == 0)
		return rt_bad(e, "%s without %s", RUNTIME_INIT_OPT_PTY_FD, RUNTIME_INIT_OPT_LOG_FD);
	if (nlog == 2 && o->log_fd[0] == o->log_fd[1])
		return rt_bad(e, "%s: the two files must be different fds", RUNTIME_INIT_OPT_LOG_FD);
	if (i >= argc || !argv[i][0])
		return rt_bad(e, "no program to run (ember init [options] -- PATH ARG...)");
	o->argv = argv + i;
	return 0;
}

/* ---- messages ---- */

void rt_init_exec_message(char *buf, size_t size, const char *prog, int err, int interp)
{
	char q[RT_QUOTE_MAX], text[128];

	/* strerror in lower case, as Go and runc print it, but "I/O error"
	   keeps its capitals: only a capital before a small letter goes. */
	snprintf(text, sizeof(text), "%s", strerror(err));
	if (text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'a' && text[1] <= 'z')
		text[0] = (char)(text[0] - 'A' + 'a');
	snprintf(buf, size, "exec \"%s\": %s%s", rt_quote(prog, q), text,
		 interp ? " (the file exists: its ELF interpreter or #! interpreter is missing)" : "");
}

int rt_init_exit_json(char *buf, size_t size, pid_t pid, int st, const char *at)
{
	int n;

	if (WIFSIGNALED(st)) {
		char name[RUNTIME_SIGNAL_NAME_MAX];

		n = snprintf(buf, size,
			     "{\"pid\":%d,\"signal\":%d,\"signal_name\":\"%s\",\"core_dumped\":%s,\"exited_at\":\"%s\"}\n",
			     (int)pid, WTERMSIG(st), runtime_signal_name(WTERMSIG(st), name),
			     WCOREDUMP(st) ? "true" : "false", at);
	} else {
		n = snprintf(buf, size, "{\"pid\":%d,\"exit_code\":%d,\"exited_at\":\"%s\"}\n", (int)pid,
			     WEXITSTATUS(st), at);
	}
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Write all of buf at fd; 0 or -errno. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The start failed: say so on the report fd (ERRNO STEP TEXT, see
   runtime-internal.h), or as "ember init: TEXT" on stderr. */
static void report(const struct rt_init_options *o, int step, const struct ember_error *e)
{
	char msg[sizeof(e->message) + 32];
	size_t len = rt_report_format(msg, sizeof(msg), e->code, step, e->message);

	if (o->report_fd >= 0 && write_all(o->report_fd, msg, len) == 0)
		return;
	fprintf(stderr, "ember init: %s\n", e->message);
}

/* ---- signals ---- */

/* Every signal, including the ones libc keeps for itself (glibc's 32 and
   33, musl's 32 to 34), which sigfillset leaves out and glibc's
   sigprocmask drops: a signal 34 sent to the container would otherwise
   kill init. init uses no threads, timers or cancellation, so it may. */
static void sigset_all(sigset_t *s, int all)
{
	memset(s, all ? 0xff : 0, sizeof(*s));
}

static int sigmask_set(const sigset_t *s)
{
	return syscall(SYS_rt_sigprocmask, SIG_SETMASK, s, NULL, (size_t)(_NSIG / 8)) < 0 ? -errno : 0;
}

/* Default dispositions: an inherited SIG_IGN for SIGCHLD would make the
   kernel reap the application before init sees its status, and any
   SIG_IGN would survive into the application's exec. */
static void signals_default(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
}

/* ---- logs ---- */

static int64_t ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

/* Wait (briefly) until a timestamp taken now is newer than the mtime of
   the file being left, so that the file switched to is strictly newer
   after its first write (the order rule in runtime.h). The coarse clock
   is the one the kernel stamps files with. */
static void log_wait_newer(int fd)
{
	struct timespec now, d = { 0, 1000000 };
	struct stat st;

	if (fstat(fd, &st) < 0)
		return;
	for (int i = 0; i < INIT_SWITCH_WAIT_MS; i++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (ts_cmp(&now, &st.st_mtim) > 0)
			return;
		nanosleep(&d, NULL);
	}
}

/* One chunk from the pipe (n <= max). Errors drop the output: a full or
   broken log file must never stop or block the application. */
static void log_write(struct init_log *l, const char *buf, size_t n)
{
	if (rt_init_log_full(l->size, n, l->max)) {
		int next = !l->cur;

		log_wait_newer(l->fd[l->cur]);
		/* Failing, the file goes on growing past its share: the
		   log is kept, only its bound is lost. */
		if (ftruncate(l->fd[next], 0) == 0)
			(void)lseek(l->fd[next], 0, SEEK_SET);
		l->cur = next;
		l->size = 0;
	}
	while (n > 0) {
		ssize_t w = write(l->fd[l->cur], buf, n);

		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return; /* ENOSPC, EIO, EFBIG...: dropped */
		buf += w;
		n -= (size_t)w;
		l->size += (uint64_t)w;
	}
}

/* Copy what the pipe has. At EOF (every writer gone) stop watching it. */
static void pump(struct init *in)
{
	char buf[INIT_PUMP_BUF];
	size_t room = in->log.max < sizeof(buf) ? (size_t)in->log.max : sizeof(buf);
	ssize_t n = read(in->pipe_rd, buf, room);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* A terminal's master stays open while init runs: the daemon
		   takes copies of it by its number (pidfd_getfd). */
		if (in->pipe_rd != in->o.pty_fd)
			(void)close(in->pipe_rd);
		in->pipe_rd = -1;
		return;
	}
	log_write(&in->log, buf, (size_t)n);
}

/* ---- the child ---- */

/* exec prog as execvp would, but never through /bin/sh, and with the
   errno worth reporting. *interp: prog exists, so ENOENT is about its
   interpreter. */
static int child_exec(char **argv, int *interp)
{
	const char *prog = argv[0], *path;
	char buf[PATH_MAX];
	size_t plen = strlen(prog);
	int eacces = 0;

	*interp = 0;
	if (strchr(prog, '/')) {
		execve(prog, argv, environ);
		*interp = errno == ENOENT && access(prog, F_OK) == 0;
		return errno;
	}
	path = getenv("PATH");
	if (!path)
		path = &RUNTIME_DEFAULT_PATH[sizeof("PATH=") - 1];
	if (plen > NAME_MAX)
		return ENAMETOOLONG;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);

		/* An empty entry is the current directory, as in execvp. */
		if (dlen + plen + 3 <= sizeof(buf)) {
			if (dlen)
				memcpy(buf, p, dlen);
			else
				buf[dlen++] = '.';
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, prog, plen + 1);
			execve(buf, argv, environ);
			switch (errno) {
			case ENOENT:
				if (access(buf, F_OK) == 0) {
					*interp = 1;
					return ENOENT;
				}
				break;
			case EACCES:
				eacces = 1;
				break;
			case ENOTDIR:
			case ENAMETOOLONG:
			case ELOOP:
				break;
			default:
				return errno;
			}
		}
		p = end;
		if (!*p)
			break;
	}
	return eacces ? EACCES : ENOENT;
}

/* The terminal on stdin (-t): make the application its foreground
   process group, as a shell does. When the terminal is already init's
   controlling terminal, the application takes a process group of its own
   in init's session; otherwise a new session that acquires it. Failing
   is not fatal: the application then runs without job control. */
static void child_take_tty(void)
{
	if (tcgetsid(0) == getsid(0)) {
		/* SIGTTOU is still blocked: a background group may do this. */
		(void)setpgid(0, 0);
		(void)tcsetpgrp(0, getpid());
		return;
	}
	(void)setsid();
	(void)ioctl(0, TIOCSCTTY, 0);
}

static _Noreturn void child_fail(int errfd, int step, int err)
{
	struct child_report r = { step, err };

	(void)write_all(errfd, (const char *)&r, sizeof(r));
	_exit(RUNTIME_INIT_EXIT_EXEC);
}

static _Noreturn void child_run(struct init *in, int errfd, int log_wr)
{
	sigset_t none;
	int interp, err;

	if (log_wr >= 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0)
			child_fail(errfd, STEP_DEVNULL, errno);
		if (dup2(null, 0) < 0 || dup2(log_wr, 1) < 0 || dup2(log_wr, 2) < 0)
			child_fail(errfd, STEP_STDIO, errno);
	}
	if (isatty(0))
		child_take_tty();
	else
		(void)setsid();
	sigset_all(&none, 0);
	if (sigmask_set(&none) < 0)
		child_fail(errfd, STEP_STDIO, errno);
	err = child_exec(in->o.argv, &interp);
	child_fail(errfd, interp ? STEP_EXEC_INTERP : STEP_EXEC, err);
}

/* ---- init ---- */

static void reap(struct init *in)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return; /* none left to reap now, or no children at all */
		if (pid == in->app && !in->app_done) {
			in->app_done = true;
			in->app_status = st;
		}
	}
}

static void signals(struct init *in)
{
	struct signalfd_siginfo si[8];
	ssize_t n = read(in->sfd, si, sizeof(si));
	bool child = false;

	if (n < 0)
		return; /* EAGAIN, EINTR: poll again */
	for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
		int sig = (int)si[i].ssi_signo;

		if (sig == SIGCHLD) {
			child = true;
			continue;
		}
		/* What init raised itself (SIGPIPE from a report pipe whose
		   reader left, SIGXFSZ from a log file at RLIMIT_FSIZE) is
		   not the application's business. */
		if ((pid_t)si[i].ssi_pid == in->self && si[i].ssi_code == SI_USER)
			continue;
		/* Once reaped, the pid may belong to someone else. */
		if (!in->app_done)
			(void)kill(in->app, sig);
	}
	if (child)
		reap(in);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until the application has exited and its output is copied (or the
   drain time is up). Never returns early: init outlives the application. */
static void loop(struct init *in)
{
	int64_t deadline = -1;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = in->sfd, .events = POLLIN },
					 { .fd = in->pipe_rd, .events = POLLIN } };
		int timeout = -1, r;

		if (in->app_done) {
			if (deadline < 0)
				deadline = now_ms() + INIT_DRAIN_MS;
			if (in->pipe_rd < 0 || now_ms() >= deadline)
				return;
			timeout = (int)(deadline - now_ms());
		}
		r = poll(pfd, in->pipe_rd >= 0 ? 2 : 1, timeout);
		if (r < 0) {
			/* ENOMEM: try again a little later. */
			if (errno != EINTR)
				(void)nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
			continue;
		}
		if (pfd[0].revents)
			signals(in);
		if (in->pipe_rd >= 0 && pfd[1].revents)
			pump(in);
	}
}

static void write_exit_file(const struct init *in)
{
	char at[TIMESTAMP_LEN], buf[256];
	int n;

	if (in->o.exit_fd < 0)
		return;
	timestamp_now(at);
	n = rt_init_exit_json(buf, sizeof(buf), in->app, in->app_status, at);
	if (n < 0)
		return;
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = pwrite(in->o.exit_fd, buf + off, (size_t)n - off, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "ember init: write exit file: %s\n", strerror(w < 0 ? errno : EIO));
			return;
		}
		off += (size_t)w;
	}
	/* A longer earlier content past n would be read as part of it. */
	if (ftruncate(in->o.exit_fd, n) < 0)
		fprintf(stderr, "ember init: cut the exit file: %s\n", strerror(errno));
}

/* 0-2 closed by whoever started init would be taken by the pipes below
   and then clobbered by dup2 in the child. */
static void stdio_open(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			(void)open("/dev/null", O_RDWR); /* takes fd: the lowest free */
}

static int fd_cloexec(const char *opt, int fd, struct ember_error *e)
{
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return err_sys(e, errno, "%s %d", opt, fd);
	return 0;
}

/* Everything up to a running application. Returns 0, or -errno with the
   report line in e and *step saying whether the application could not be
   executed (RT_STEP_EXEC) or init failed before (RT_STEP_SETUP). */
static int start(struct init *in, int *step, struct ember_error *e)
{
	struct rt_init_options *o = &in->o;
	sigset_t all;
	int logp[2] = { -1, -1 }, errp[2];
	struct child_report r;
	ssize_t n;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (in->self != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "become a subreaper");
	sigset_all(&all, 1);
	if (sigmask_set(&all) < 0)
		return err_sys(e, errno, "block signals");
	signals_default();
	in->sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (in->sfd < 0)
		return err_sys(e, errno, "signalfd");
	if (fd_cloexec(RUNTIME_INIT_OPT_REPORT_FD, o->report_fd, e) < 0 ||
	    fd_cloexec(RUNTIME_INIT_OPT_EXIT_FD, o->exit_fd, e) < 0 ||
	    fd_cloexec(RUNTIME_INIT_OPT_PTY_FD, o->pty_fd, e) < 0 ||
	    fd_cloexec(RUNTIME_INIT_OPT_LOG_FD, o->log_fd[0], e) < 0 ||
	    fd_cloexec(RUNTIME_INIT_OPT_LOG_FD, o->log_fd[1], e) < 0)
		return -e->code;
	if (o->log_fd[0] >= 0) {
		struct stat st;

		/* Go on after what the file holds (a restarted task). */
		if (fstat(o->log_fd[0], &st) < 0)
			return err_sys(e, errno, "%s %d", RUNTIME_INIT_OPT_LOG_FD, o->log_fd[0]);
		in->log = (struct init_log){ .fd = { o->log_fd[0], o->log_fd[1] },
					     .size = (uint64_t)st.st_size, .max = o->log_max };
		(void)lseek(o->log_fd[0], 0, SEEK_END);
		/* A terminal: the application keeps it as its stdio. */
		if (o->pty_fd < 0 && pipe2(logp, O_CLOEXEC) < 0)
			return err_sys(e, errno, "pipe");
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close_keep_errno(logp[0]);
		close_keep_errno(logp[1]);
		return err_sys(e, errno, "pipe");
	}
	in->app = fork();
	if (in->app < 0) {
		close_keep_errno(logp[0]);
		close_keep_errno(logp[1]);
		close_keep_errno(errp[0]);
		close_keep_errno(errp[1]);
		return err_sys(e, errno, "fork");
	}
	if (in->app == 0) {
		(void)close(errp[0]);
		child_run(in, errp[1], logp[1]);
	}
	(void)close(errp[1]);
	if (logp[1] >= 0)
		(void)close(logp[1]);
	in->pipe_rd = o->pty_fd >= 0 ? o->pty_fd : logp[0];
	do
		n = read(errp[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	(void)close(errp[0]);
	if (n == 0) {
		/* exec closed the pipe: the application runs. init's own copies
		   of the terminal's slave go, so that the master reads EIO (the
		   end) once the application's are closed. */
		if (o->pty_fd >= 0) {
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			for (int fd = 0; null >= 0 && fd < 3; fd++)
				(void)dup2(null, fd);
			if (null > 2)
				(void)close(null);
		}
		return 0;
	}

	/* Not started: collect the child before saying so. */
	if (in->pipe_rd >= 0)
		(void)close(TAKE_FD(in->pipe_rd));
	while (waitpid(in->app, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(r))
		return err_set(e, EIO, "start %s: lost the child's report", o->argv[0]);
	switch (r.step) {
	case STEP_EXEC:
	case STEP_EXEC_INTERP:
		rt_init_exec_message(e->message, sizeof(e->message), o->argv[0], r.err,
				     r.step == STEP_EXEC_INTERP);
		e->code = r.err > 0 ? r.err : EIO;
		snprintf(e->name, sizeof(e->name), "%s", EMBER_ERROR_EXEC_FAILED);
		*step = RT_STEP_EXEC;
		return -e->code;
	case STEP_DEVNULL:
		return err_sys(e, r.err, "open /dev/null for the application's stdin");
	default:
		return err_sys(e, r.err, "set up the application's stdio");
	}
}

int runtime_init_main(int argc, char **argv)
{
	struct init in = { .self = getpid(), .sfd = -1, .pipe_rd = -1, .app = -1 };
	struct ember_error e;

	if (rt_init_parse(argc, argv, &in.o, &e) < 0) {
		report(&in.o, RT_STEP_SETUP, &e);
		return RUNTIME_INIT_EXIT_USAGE;
	}
	/* A session of its own, in the container: not the daemon's, which
	   is outside its pid namespace (CRIU cannot dump a tree whose
	   session leader it cannot see). Its application takes another.
	   Not when stdin is the controlling terminal of the session init is
	   in (a shell ran it): a new session would lose that terminal, and
	   the application could not be its foreground group. */
	if (!isatty(0) || tcgetsid(0) != getsid(0))
		(void)setsid();
	stdio_open();
	int step = RT_STEP_SETUP;
	if (start(&in, &step, &e) < 0) {
		report(&in.o, step, &e);
		return RUNTIME_INIT_EXIT_EXEC;
	}
	/* Started: EOF without a byte tells the executor so. */
	if (in.o.report_fd >= 0)
		(void)close(TAKE_FD(in.o.report_fd));
	reap(&in); /* a fast application may be gone already */
	loop(&in);
	write_exit_file(&in);
	if (WIFSIGNALED(in.app_status))
		return 128 + WTERMSIG(in.app_status);
	return WEXITSTATUS(in.app_status);
}

/* ---- the reader's side ---- */

int runtime_log_order(int fd_a, int fd_b, int *first, struct ember_error *e)
{
	struct stat a, b;

	if (fstat(fd_a, &a) < 0 || fstat(fd_b, &b) < 0)
		return err_sys(e, errno, "stat log file");
	/* The file written last is strictly newer; a tie means A. */
	*first = ts_cmp(&b.st_mtim, &a.st_mtim) > 0 ? 0 : 1;
	return 0;
}
