/* SPDX-License-Identifier: Apache-2.0 */
/* ember oci: runc's commands over ember's executor (oci.h). */
#include "oci/oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/timestamp.h"

#define BUNDLE_CONFIG_MAX ((size_t)4 << 20)
#define CGROUP_MNT "/sys/fs/cgroup"

struct oci {
	const char *root, *log, *log_format;
	int debug;
};

/* One line on stderr, and in --log (runc's format: what containerd reads). */
__attribute__((format(printf, 2, 3))) static int fail(const struct oci *o, const char *fmt, ...)
{
	char msg[1024], now[TIMESTAMP_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ember oci: %s\n", msg);
	FILE *f = o && o->log ? fopen(o->log, "ae") : NULL;
	if (f) {
		timestamp_now(now);
		json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", msg, "time", now);
		char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (line && o->log_format && !strcmp(o->log_format, "json"))
			fprintf(f, "%s\n", line);
		else
			fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", now, msg);
		free(line);
		json_decref(j);
		fclose(f);
	}
	return 1;
}

static int fail_e(const struct oci *o, const struct ember_error *e)
{
	return fail(o, "%s", e->message);
}

/* An option's value: "--name=value", or "--name value" (i advances). */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strncmp(a, name, n) && a[n] == '=')
		return a + n + 1;
	if (!strcmp(a, name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	return !strcmp(a, name) || (!strncmp(a, name, n) && a[n] == '=');
}

/* runc's ids: letters, digits, _ + - . (not only dots), at most 1024. */
static int id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 1024 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") == n &&
	       strspn(id, ".") != n;
}

/* ---- state ------------------------------------------------------------------------------- */

static int root_fd(const struct oci *o, int create, struct ember_error *e)
{
	if (create && fs_mkdir_p(o->root, 0700, e) < 0)
		return -e->code;
	int fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? err_sys(e, errno, "%s", o->root) : fd;
}

/* The state of container id, in the root directory open at rfd (< 0: the
   root is not there, e says why). */
static int state_read_at(int rfd, const char *id, json_t **out, struct ember_error *e)
{
	char path[1100];
	_cleanup_free_ char *data = NULL;
	size_t len;

	if (!id_ok(id))
		return err_invalid(e, "invalid container id \"%.80s\"", id);
	snprintf(path, sizeof(path), "%s/state.json", id);
	if (rfd < 0 || fs_read_file(rfd, path, 1 << 20, &data, &len, e) < 0) {
		if (e->code == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "container %s does not exist", id);
		return -e->code;
	}
	if (!(*out = json_loadb(data, len, 0, NULL)))
		return err_set(e, EIO, "container %s: its state.json does not parse", id);
	return 0;
}

static int state_read(const struct oci *o, const char *id, json_t **out, struct ember_error *e)
{
	_cleanup_close_ int rfd = root_fd(o, 0, e);
	return state_read_at(rfd, id, out, e);
}

/* "created" while the process waits at its gate (exec.fifo is there),
   "running" once past it, while the process that started is there (pid
   and start time); else "stopped". */
static const char *status_at(int rfd, json_t *st)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	uint64_t t;
	struct ember_error ignored;
	char fifo[1100];

	if (pid <= 0 || runtime_pid_start_time(pid, &t, &ignored) < 0 ||
	    t != (uint64_t)json_integer_value(json_object_get(st, "start_time")))
		return "stopped";
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", json_string_value(json_object_get(st, "id")) ?: "");
	return rfd >= 0 && faccessat(rfd, fifo, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? "created" : "running";
}

static const char *status_of(const struct oci *o, json_t *st)
{
	struct ember_error ignored;
	_cleanup_close_ int rfd = root_fd(o, 0, &ignored);
	return status_at(rfd, st);
}

static int state_remove(const struct oci *o, const char *id)
{
	struct ember_error e;
	_cleanup_close_ int fd = root_fd(o, 0, &e);

	return fd < 0 ? 0 : fs_remove_tree(fd, id, &e);
}

/* ---- spec -------------------------------------------------------------------------------- */

static int cmd_spec(const struct oci *o, int argc, char **argv)
{
	const char *bundle = ".", *v;
	int rootless = 0;
	struct ember_error e;
	json_t *spec;

	for (int i = 1; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "--bundle")) || (v = opt_value(argc, argv, &i, "-b")))
			bundle = v;
		else if (!strcmp(argv[i], "--rootless"))
			rootless = 1;
		else
			return fail(o, "spec: unknown argument \"%.80s\"", argv[i]);
	}
	json_t *args = json_pack("[s]", "sh");
	struct runtime_spec_options so = {
		.id = "ember", .rootfs = "rootfs", .args = args, .terminal = true, .read_only = true,
	};
	int r = runtime_spec_build(&so, &spec, &e);
	json_decref(args);
	if (r < 0)
		return fail_e(o, &e);
	/* A bundle is for any OCI runtime: nothing of ember's own. */
	json_object_del(spec, "annotations");
	if (rootless) {
		/* The caller's ids are root inside; no network namespace to set up
		   and no cgroup to write (what an unprivileged user has). */
		json_t *lx = json_object_get(spec, "linux"), *ns = json_object_get(lx, "namespaces"), *x;
		size_t i;
		json_array_foreach(ns, i, x)
			if (!strcmp(json_string_value(json_object_get(x, "type")) ?: "", "network"))
				json_array_remove(ns, i--);
		json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
		json_object_set_new(lx, "uidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID",
								 (int)geteuid(), "size", 1));
		json_object_set_new(lx, "gidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID",
								 (int)getegid(), "size", 1));
		json_object_del(lx, "resources");
		json_t *ms = json_object_get(spec, "mounts");
		json_array_foreach(ms, i, x)
			if (!strcmp(json_string_value(json_object_get(x, "destination")) ?: "", "/sys/fs/cgroup"))
				json_array_remove(ms, i--);
	}
	_cleanup_free_ char *text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST)
		return fail(o, "spec: %s exists: remove it first", path);
	if (fd < 0)
		return fail(o, "spec: %s: %s", path, strerror(errno));
	size_t n = text ? strlen(text) : 0;
	int ok = text && write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	close(fd);
	return ok ? 0 : fail(o, "spec: write %s: %s", path, strerror(errno));
}

/* ---- run --------------------------------------------------------------------------------- */

struct run {
	const struct oci *o;
	const char *id, *bundle_arg, *pid_file;
	char bundle[PATH_MAX], rootfs[PATH_MAX];
	json_t *spec;
	struct runtime_cgroup *cg;
	struct runtime_started st;
	int made_state;
};

static int load_bundle(struct run *r, struct ember_error *e)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	json_error_t je;

	if (!realpath(r->bundle_arg, r->bundle))
		return err_sys(e, errno, "bundle %s", r->bundle_arg);
	_cleanup_close_ int fd = open(r->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "bundle %s", r->bundle);
	if (fs_read_file(fd, "config.json", BUNDLE_CONFIG_MAX, &data, &len, e) < 0)
		return err_wrap(e, "bundle %s: config.json", r->bundle);
	if (!(r->spec = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
		return err_invalid(e, "bundle %s: config.json: %s (line %d)", r->bundle, je.text, je.line);
	if (runtime_spec_check(r->spec, e) < 0)
		return err_wrap(e, "bundle %s: config.json", r->bundle);
	const char *root = json_string_value(json_object_get(json_object_get(r->spec, "root"), "path"));
	if (!root)
		return err_invalid(e, "bundle %s: config.json: root.path: missing", r->bundle);
	char p[2 * PATH_MAX + 2];
	if (root[0] == '/')
		snprintf(p, sizeof(p), "%s", root);
	else
		snprintf(p, sizeof(p), "%s/%s", r->bundle, root);
	struct stat sb;
	if (!realpath(p, r->rootfs) || stat(r->rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return err_invalid(e, "bundle %s: rootfs %s: not a directory", r->bundle, p);
	return 0;
}

/* linux.cgroupsPath below the cgroup mount, or ember-oci/<id>. */
static int cgroup_path(struct run *r, char *rel, size_t size, struct ember_error *e)
{
	const char *p = json_string_value(json_object_get(json_object_get(r->spec, "linux"), "cgroupsPath"));

	if (!p || !*p) {
		snprintf(rel, size, "ember-oci/%s", r->id);
		return 0;
	}
	if (strchr(p, ':'))
		return err_invalid(e, "linux.cgroupsPath \"%.80s\": a systemd slice path; ember writes cgroups itself", p);
	while (*p == '/')
		p++;
	if (!*p || strstr(p, ".."))
		return err_invalid(e, "linux.cgroupsPath \"%.80s\": not a path below the cgroup mount", p);
	snprintf(rel, size, "%s", p);
	return 0;
}

static int cg_enter(pid_t pid, void *userdata, struct ember_error *e)
{
	return runtime_cgroup_enter(userdata, pid, e);
}

static int write_state(struct run *r, struct ember_error *e)
{
	char now[TIMESTAMP_LEN], rel[PATH_MAX];
	_cleanup_close_ int fd = root_fd(r->o, 0, e);
	struct ember_error ignored;

	if (fd < 0)
		return -e->code;
	timestamp_now(now);
	if (cgroup_path(r, rel, sizeof(rel), &ignored) < 0)
		rel[0] = '\0';
	json_t *ann = json_object_get(r->spec, "annotations");
	json_t *st = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:O, s:I, s:s}", "ociVersion",
			       json_string_value(json_object_get(r->spec, "ociVersion")) ?: RUNTIME_OCI_VERSION, "id",
			       r->id, "status", "running", "pid", (int)r->st.pid, "bundle", r->bundle, "rootfs", r->rootfs,
			       "created", now, "annotations", ann ? ann : json_object(), "start_time",
			       (json_int_t)r->st.start_time, "cgroup", rel);
	char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	_cleanup_close_ int dir = fs_open_dir(fd, r->id, 0, 0, e);
	int rc = dir < 0 ? -e->code : fs_write_atomic(dir, "state.json", text, strlen(text), 0600, e);
	free(text);
	return rc;
}

/* Copy what is readable from one descriptor to another; 0 at end. */
static int pump(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return 0;
		off += w;
	}
	return 1;
}

/* In the foreground: signals go to the container, a terminal is relayed,
   until the process ends. Its status, as a shell gives it. */
static int wait_foreground(struct run *r)
{
	sigset_t set;
	struct termios saved;
	int raw = 0, pty = r->st.pty_master, in_open = pty >= 0;

	sigemptyset(&set);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS && s != SIGILL &&
		    s != SIGFPE && s != SIGTTIN && s != SIGTTOU && s != SIGTSTP && s < SIGRTMIN)
			sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (pty >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			(void)ioctl(pty, TIOCSWINSZ, &ws);
	}
	for (;;) {
		struct pollfd p[4] = {
			{ r->st.pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { pty, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
		};
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH && pty >= 0) {
					struct winsize ws;
					if (ioctl(0, TIOCGWINSZ, &ws) == 0)
						(void)ioctl(pty, TIOCSWINSZ, &ws);
				} else {
					(void)syscall(SYS_pidfd_send_signal, r->st.pidfd, (int)si.ssi_signo, NULL, 0);
				}
			}
		}
		if (pty >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && !pump(pty, 1))
			pty = -1; /* the terminal closed: the process is ending */
		if (in_open && (p[3].revents & (POLLIN | POLLHUP)) && !pump(0, r->st.pty_master))
			in_open = 0;
		if (p[0].revents & POLLIN)
			break;
	}
	/* What the terminal still holds. */
	while (pty >= 0 && pump(pty, 1) > 0) {
		struct pollfd q = { pty, POLLIN, 0 };
		if (poll(&q, 1, 0) <= 0)
			break;
	}
	if (raw)
		(void)tcsetattr(0, TCSANOW, &saved);
	siginfo_t si = { 0 };
	int status = 255;
	if (waitid(P_PIDFD, (id_t)r->st.pidfd, &si, WEXITED) == 0)
		status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	close_keep_errno(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return status;
}

/* run's and create's arguments. */
static int parse_run(struct run *r, const char *cmd, int argc, char **argv)
{
	const char *v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((v = opt_value(argc, argv, &i, "--bundle")) || (v = opt_value(argc, argv, &i, "-b")))
			r->bundle_arg = v;
		else if ((v = opt_value(argc, argv, &i, "--pid-file")))
			r->pid_file = v;
		else if (!strcmp(a, "--no-pivot") || !strcmp(a, "--no-new-keyring") || !strcmp(a, "--no-subreaper"))
			; /* ember pivots always, makes no keyring, is no subreaper: nothing to turn off */
		else if (!strcmp(a, "-d") || !strcmp(a, "--detach") || is_opt(a, "--console-socket") ||
			 is_opt(a, "--preserve-fds") || !strcmp(a, "--keep"))
			return fail(r->o, "%s: %s is not supported yet%s", cmd, a,
				    strcmp(cmd, "run") ? "" : ": ember oci runs a container in the foreground");
		else if (a[0] == '-')
			return fail(r->o, "%s: unknown option \"%.80s\"", cmd, a);
		else if (!r->id)
			r->id = a;
		else
			return fail(r->o, "%s: one container id, not \"%.80s\" too", cmd, a);
	}
	if (!r->id)
		return fail(r->o, "%s: give the container's id", cmd);
	if (!id_ok(r->id))
		return fail(r->o, "%s: invalid container id \"%.80s\"", cmd, r->id);
	return 0;
}

/* The container's state directory, its process started (at the gate
   gate_fd, or running), its state written. */
static int container_start(struct run *r, int gate, struct ember_error *e)
{
	_cleanup_close_ int rfd = root_fd(r->o, 1, e);
	struct runtime_seccomp sc;
	int have_sc = 0;
	char rel[PATH_MAX];

	if (rfd < 0)
		return -e->code;
	if (mkdirat(rfd, r->id, 0700) < 0)
		return errno == EEXIST ? err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "container with id %s exists", r->id)
				       : err_sys(e, errno, "%s/%s", r->o->root, r->id);
	r->made_state = 1;
	_cleanup_close_ int gate_fd = -1;
	if (gate) {
		char fifo[1100];
		snprintf(fifo, sizeof(fifo), "%s/exec.fifo", r->id);
		/* Any user the process becomes may write it; only root reads. */
		if (mkfifoat(rfd, fifo, 0622) < 0 || fchmodat(rfd, fifo, 0622, 0) < 0 ||
		    (gate_fd = openat(rfd, fifo, O_PATH | O_CLOEXEC)) < 0)
			return err_sys(e, errno, "%s/%s", r->o->root, fifo);
	}
	if (load_bundle(r, e) < 0 || cgroup_path(r, rel, sizeof(rel), e) < 0)
		return -e->code;
	if (gate && json_is_true(json_object_get(json_object_get(r->spec, "process"), "terminal")))
		return err_invalid(e, "process.terminal: a created container's terminal goes to --console-socket, "
				      "which ember oci does not take yet");
	if (runtime_seccomp_for(r->spec, &sc, &have_sc, e) < 0)
		return -e->code;
	struct runtime_start s = {
		.spec = r->spec,
		.rootfs = r->rootfs,
		.self_fd = -1, /* the application is PID 1, as with runc */
		.stdio = { 0, 1, 2 },
		.exit_fd = -1,
		.log_fd = { -1, -1 },
		.cgroup_fd = -1,
		.join_pidfd = -1,
		.start_gate_fd = gate_fd,
		.seccomp = have_sc ? &sc : NULL,
	};
	int rc = 0;
	if (ENABLED(CONFIG_CGROUPS)) {
		if (runtime_cgroup_create(CGROUP_MNT, rel, &r->cg, e) < 0 ||
		    runtime_cgroup_set(r->cg, json_object_get(json_object_get(r->spec, "linux"), "resources"), e) < 0)
			rc = -e->code;
		s.cgroup_fd = r->cg ? runtime_cgroup_fd(r->cg) : -1;
		if (s.cgroup_fd < 0) {
			s.before_setup = cg_enter;
			s.userdata = r->cg;
		}
	}
	if (rc == 0)
		rc = runtime_start(&s, &r->st, e);
	if (ENABLED(CONFIG_SECCOMP) && have_sc)
		runtime_seccomp_free(&sc);
	if (rc < 0)
		return rc;
	if (write_state(r, e) < 0)
		return -e->code;
	if (r->pid_file) {
		char pid[24];
		snprintf(pid, sizeof(pid), "%d", (int)r->st.pid);
		if (fs_write_path(r->pid_file, pid, strlen(pid), 0644, e) < 0)
			return -e->code;
	}
	return 0;
}

/* What a run or a failed create leaves: nothing. */
static void container_end(struct run *r)
{
	if (ENABLED(CONFIG_CGROUPS) && r->cg) {
		struct ember_error ignored;
		(void)runtime_cgroup_kill(r->cg, SIGKILL, &ignored);
		(void)runtime_cgroup_remove(r->cg, &ignored);
	}
	if (r->made_state)
		(void)state_remove(r->o, r->id);
}

static void run_done(struct run *r)
{
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(r->cg);
	close_keep_errno(r->st.pidfd);
	close_keep_errno(r->st.pty_master);
	json_decref(r->spec);
}

static int cmd_run(const struct oci *o, int argc, char **argv)
{
	struct run r = { .o = o, .bundle_arg = ".", .st = { .pidfd = -1, .pty_master = -1 } };
	struct ember_error e;
	int rc;

	if (parse_run(&r, "run", argc, argv))
		return 1;
	if (container_start(&r, 0, &e) < 0) {
		rc = fail_e(o, &e);
	} else {
		rc = wait_foreground(&r);
	}
	container_end(&r);
	run_done(&r);
	return rc;
}

/* Created: set up, waiting before the application runs (start runs it). */
static int cmd_create(const struct oci *o, int argc, char **argv)
{
	struct run r = { .o = o, .bundle_arg = ".", .st = { .pidfd = -1, .pty_master = -1 } };
	struct ember_error e;
	int rc = 0;

	if (parse_run(&r, "create", argc, argv))
		return 1;
	if (container_start(&r, 1, &e) < 0) {
		rc = fail_e(o, &e);
		container_end(&r);
	}
	run_done(&r);
	return rc;
}

static int cmd_start(const struct oci *o, int argc, char **argv)
{
	struct ember_error e;
	json_t *st;
	char fifo[1100];

	if (argc != 2)
		return fail(o, "start: give one container id");
	if (state_read(o, argv[1], &st, &e) < 0)
		return fail_e(o, &e);
	const char *status = status_of(o, st);
	json_decref(st);
	if (strcmp(status, "created"))
		return fail(o, "cannot start a container that is %s: %s", status, argv[1]);
	_cleanup_close_ int rfd = root_fd(o, 0, &e);
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", argv[1]);
	/* Not blocking: a process that died at the gate would hold us forever. */
	_cleanup_close_ int fd = rfd < 0 ? -1 : openat(rfd, fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(o, "start %s: %s/%s: %s", argv[1], o->root, fifo, strerror(errno));
	struct pollfd p = { fd, POLLIN, 0 };
	char byte;
	if (poll(&p, 1, 10000) <= 0 || read(fd, &byte, 1) != 1)
		return fail(o, "start %s: its process did not pass the gate (did it die?)", argv[1]);
	(void)unlinkat(rfd, fifo, 0);
	return 0;
}

/* ---- state, list, kill, delete ----------------------------------------------------------- */

static json_t *state_public_at(int rfd, json_t *st)
{
	return json_pack("{s:O, s:O, s:O, s:s, s:O, s:O, s:O, s:s}", "ociVersion", json_object_get(st, "ociVersion"),
			 "id", json_object_get(st, "id"), "pid", json_object_get(st, "pid"), "status", status_at(rfd, st),
			 "bundle", json_object_get(st, "bundle"), "rootfs", json_object_get(st, "rootfs"), "created",
			 json_object_get(st, "created"), "owner", "");
}

static json_t *state_public(const struct oci *o, json_t *st)
{
	struct ember_error ignored;
	_cleanup_close_ int rfd = root_fd(o, 0, &ignored);
	return state_public_at(rfd, st);
}

static int cmd_state(const struct oci *o, int argc, char **argv)
{
	struct ember_error e;
	json_t *st;

	if (argc != 2)
		return fail(o, "state: give one container id");
	if (state_read(o, argv[1], &st, &e) < 0)
		return fail_e(o, &e);
	json_t *pub = state_public(o, st);
	json_decref(st);
	char *text = pub ? json_dumps(pub, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(pub);
	if (!text)
		return fail(o, "out of memory");
	puts(text);
	free(text);
	return 0;
}

static int cmd_list(const struct oci *o, int argc, char **argv)
{
	int quiet = 0, json = 0;
	const char *v;
	struct ember_error e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if ((v = opt_value(argc, argv, &i, "--format")) || (v = opt_value(argc, argv, &i, "-f")))
			json = !strcmp(v, "json");
		else
			return fail(o, "list: unknown argument \"%.80s\"", argv[i]);
	}
	json_t *all = json_array();
	_cleanup_close_ int fd = root_fd(o, 0, &e);
	char **names = NULL;
	size_t n = 0;
	if (fd >= 0 && fs_list_names(fd, &names, &n, &e) < 0) {
		json_decref(all);
		return fail_e(o, &e);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *st;
		if (id_ok(names[i]) && state_read_at(fd, names[i], &st, &e) == 0) {
			json_array_append_new(all, state_public_at(fd, st));
			json_decref(st);
		}
	}
	fs_names_free(names, n);
	size_t i;
	json_t *c;
	if (json) {
		char *text = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(text ? text : "[]");
		free(text);
	} else if (quiet) {
		json_array_foreach(all, i, c)
			puts(json_string_value(json_object_get(c, "id")));
	} else {
		printf("%-12s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
		json_array_foreach(all, i, c)
			printf("%-12s %-8lld %-10s %-40s %-31s %s\n", json_string_value(json_object_get(c, "id")),
			       (long long)json_integer_value(json_object_get(c, "pid")),
			       json_string_value(json_object_get(c, "status")),
			       json_string_value(json_object_get(c, "bundle")),
			       json_string_value(json_object_get(c, "created")), "root");
	}
	json_decref(all);
	return 0;
}

/* A running container's process as a pidfd; -1 (e filled) if it is not. */
/* A container's process (created or running) as a pidfd; -1 (e filled)
   if it is gone. */
static int live_pidfd(const struct oci *o, json_t *st, const char *id, struct ember_error *e)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));

	if (!strcmp(status_of(o, st), "stopped"))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "container %s is not running", id);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return err_sys(e, errno, "container %s: pidfd_open", id);
	/* The pid could have been reused between the check and the open. */
	if (!strcmp(status_of(o, st), "stopped")) {
		close(fd);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "container %s is not running", id);
	}
	return fd;
}

static int cmd_kill(const struct oci *o, int argc, char **argv)
{
	const char *id = NULL, *sig_s = "SIGTERM";
	int all = 0, sig;
	struct ember_error e;
	json_t *st;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-a") || !strcmp(argv[i], "--all"))
			all = 1;
		else if (!id)
			id = argv[i];
		else
			sig_s = argv[i];
	}
	if (!id)
		return fail(o, "kill: give the container's id");
	if (runtime_signal_parse(sig_s, &sig, &e) < 0)
		return fail_e(o, &e);
	if (state_read(o, id, &st, &e) < 0)
		return fail_e(o, &e);
	int fd = live_pidfd(o, st, id, &e);
	int r = fd < 0 ? -1 : 0;
	if (r == 0 && all && ENABLED(CONFIG_CGROUPS)) {
		struct runtime_cgroup *cg = NULL;
		r = runtime_cgroup_open(CGROUP_MNT, json_string_value(json_object_get(st, "cgroup")) ?: "", &cg, &e) < 0 ||
				    runtime_cgroup_kill(cg, sig, &e) < 0
			    ? -1
			    : 0;
		runtime_cgroup_free(cg);
	} else if (r == 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0) {
		r = err_sys(&e, errno, "kill container %s", id);
	}
	close_keep_errno(fd);
	json_decref(st);
	return r < 0 ? fail_e(o, &e) : 0;
}

static int cmd_delete(const struct oci *o, int argc, char **argv)
{
	const char *id = NULL;
	int force = 0;
	struct ember_error e;
	json_t *st;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			force = 1;
		else if (!id)
			id = argv[i];
		else
			return fail(o, "delete: one container id, not \"%.80s\" too", argv[i]);
	}
	if (!id)
		return fail(o, "delete: give the container's id");
	if (state_read(o, id, &st, &e) < 0) {
		/* runc: --force on what is not there is no error. */
		return force && e.code == ENOENT ? 0 : fail_e(o, &e);
	}
	const char *rel = json_string_value(json_object_get(st, "cgroup")) ?: "";
	const char *status = status_of(o, st);
	if (strcmp(status, "stopped")) {
		/* A created one goes, as with runc; a running one with --force. */
		if (!force && !strcmp(status, "running")) {
			json_decref(st);
			return fail(o, "cannot delete container %s that is not stopped: running", id);
		}
		int fd = live_pidfd(o, st, id, &e);
		if (fd >= 0) {
			(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			struct pollfd p = { fd, POLLIN, 0 };
			(void)poll(&p, 1, 5000);
			close(fd);
		}
	}
	if (ENABLED(CONFIG_CGROUPS) && *rel) {
		struct runtime_cgroup *cg = NULL;
		struct ember_error ignored;
		if (runtime_cgroup_open(CGROUP_MNT, rel, &cg, &ignored) == 0) {
			(void)runtime_cgroup_kill(cg, SIGKILL, &ignored);
			(void)runtime_cgroup_remove(cg, &ignored);
		}
		runtime_cgroup_free(cg);
	}
	json_decref(st);
	return state_remove(o, id) < 0 ? fail(o, "delete %s: its state directory stays", id) : 0;
}

/* ---- the role -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(const struct oci *o, int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "create", cmd_create, "create [--bundle DIR] [--pid-file FILE] ID" },
	{ "delete", cmd_delete, "delete [--force] ID" },
	{ "kill", cmd_kill, "kill [--all] ID [SIGNAL]" },
	{ "list", cmd_list, "list [--quiet] [--format table|json]" },
	{ "run", cmd_run, "run [--bundle DIR] [--pid-file FILE] ID   (in the foreground)" },
	{ "spec", cmd_spec, "spec [--bundle DIR] [--rootless]" },
	{ "start", cmd_start, "start ID" },
	{ "state", cmd_state, "state ID" },
};

static void usage(FILE *f)
{
	fputs("Usage: ember oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...\n\n"
	      "runc's commands over ember's executor, for OCI bundles.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int oci_main(int argc, char **argv)
{
	struct oci o = { .root = CONFIG_OCI_ROOT, .log_format = "text" };
	const char *v;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((v = opt_value(argc, argv, &i, "--root")))
			o.root = v;
		else if ((v = opt_value(argc, argv, &i, "--log")))
			o.log = v;
		else if ((v = opt_value(argc, argv, &i, "--log-format")))
			o.log_format = v;
		else if (!strcmp(a, "--debug"))
			o.debug = 1;
		else if (!strcmp(a, "--systemd-cgroup"))
			; /* accepted: ember writes the cgroup itself, at linux.cgroupsPath */
		else if ((v = opt_value(argc, argv, &i, "--rootless")))
			; /* accepted: ember finds out what it may do itself */
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("ember oci (runc-compatible) spec %s\n", RUNTIME_OCI_VERSION);
			return 0;
		} else {
			fail(&o, "unknown option \"%.80s\" (see: ember oci --help)", a);
			return 2;
		}
	}
	if (strcmp(o.log_format, "text") && strcmp(o.log_format, "json")) {
		fail(&o, "--log-format %.40s: use text or json", o.log_format);
		return 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		if (!strcmp(argv[i], commands[k].name))
			return commands[k].run(&o, argc - i, argv + i);
	fail(&o, "unknown command \"%.80s\" (see: ember oci --help)", argv[i]);
	return 2;
}
