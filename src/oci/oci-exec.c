/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember oci exec: a process in a container's namespaces, root and cgroup,
 * by the executor's runtime_exec() (what the daemon's task exec uses).
 * Its process is the container's own process (from the spec kept in the
 * state) with runc's flags on top, or a whole process.json (-p).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "oci/oci-internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#define EXEC_PROCESS_MAX ((size_t)1 << 20)
#define EXEC_FAILED 255 /* runc's status when exec itself fails */

struct exec_opts {
	const char *id, *process_file, *pid_file, *console_path, *cwd, *user;
	int tty, detach, no_new_privs, preserve_fds;
	json_t *env, *caps; /* arrays of strings */
	char **args;
	int nargs;
};

#define exec_fail(o, ...) (oci_fail((o), __VA_ARGS__), EXEC_FAILED)

/* Options, the id, then the command (as runc: nothing after the id is an
   option of exec's). 0, or an exit status. */
static int exec_parse(const struct oci *o, int argc, char **argv, struct exec_opts *x)
{
	const char *v;
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if ((v = oci_opt_value(argc, argv, &i, "--process")) || (v = oci_opt_value(argc, argv, &i, "-p")))
			x->process_file = v;
		else if (!strcmp(a, "-t") || !strcmp(a, "--tty"))
			x->tty = 1;
		else if (!strcmp(a, "-d") || !strcmp(a, "--detach"))
			x->detach = 1;
		else if ((v = oci_opt_value(argc, argv, &i, "--env")) || (v = oci_opt_value(argc, argv, &i, "-e")))
			json_array_append_new(x->env, json_string(v));
		else if ((v = oci_opt_value(argc, argv, &i, "--cwd")))
			x->cwd = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--user")) || (v = oci_opt_value(argc, argv, &i, "-u")))
			x->user = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--cap")) || (v = oci_opt_value(argc, argv, &i, "-c")))
			json_array_append_new(x->caps, json_string(v));
		else if ((v = oci_opt_value(argc, argv, &i, "--pid-file")))
			x->pid_file = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--console-socket")))
			x->console_path = v;
		else if (!strcmp(a, "--no-new-privs"))
			x->no_new_privs = 1;
		else if ((v = oci_opt_value(argc, argv, &i, "--preserve-fds"))) {
			char *end;
			long n = strtol(v, &end, 10);
			if (end == v || *end || n < 0 || n > 1024)
				return exec_fail(o, "exec: --preserve-fds \"%.40s\": a count from 0 to 1024", v);
			x->preserve_fds = (int)n;
		} else if (a[0] == '-' && a[1] == '-' && !a[2]) {
			i++;
			break;
		} else
			return exec_fail(o, "exec: unknown or unsupported option \"%.80s\"", a);
	}
	if (i >= argc)
		return exec_fail(o, "exec: give the container's id");
	x->id = argv[i++];
	x->args = argv + i;
	x->nargs = argc - i;
	if (!x->process_file && x->nargs == 0)
		return exec_fail(o, "exec: give the process: -p process.json, or its arguments after the id");
	if (x->process_file && x->nargs)
		return exec_fail(o, "exec: -p %.80s and arguments: give one of them", x->process_file);
	for (int fd = 3; fd < 3 + x->preserve_fds; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return exec_fail(o, "exec: --preserve-fds %d: descriptor %d is not open", x->preserve_fds, fd);
	return 0;
}

/* "UID[:GID]", numbers (runc's -u). */
static int user_apply(json_t *process, const char *user, struct ember_error *e)
{
	char *end;
	json_t *u = json_object_get(process, "user");

	if (!u)
		json_object_set_new(process, "user", u = json_pack("{s:i, s:i}", "uid", 0, "gid", 0));
	errno = 0;
	unsigned long uid = strtoul(user, &end, 10);
	if (errno || end == user || (*end && *end != ':') || uid > 0xfffffffeUL || user[0] == '-')
		return err_invalid(e, "exec: --user \"%.80s\": UID[:GID], numbers", user);
	json_object_set_new(u, "uid", json_integer((json_int_t)uid));
	if (*end == ':') {
		const char *g = end + 1;
		unsigned long gid = strtoul(g, &end, 10);
		if (errno || end == g || *end || gid > 0xfffffffeUL || g[0] == '-')
			return err_invalid(e, "exec: --user \"%.80s\": UID[:GID], numbers", user);
		json_object_set_new(u, "gid", json_integer((json_int_t)gid));
	}
	return 0;
}

/* "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" into each of the sets a
   process runs with (the check that follows knows the names). */
static int caps_apply(json_t *process, json_t *caps, struct ember_error *e)
{
	static const char *const sets[] = { "bounding", "effective", "permitted" };
	json_t *pc = json_object_get(process, "capabilities"), *c;
	size_t i;
	char name[64];

	if (!json_array_size(caps))
		return 0;
	if (!pc)
		json_object_set_new(process, "capabilities", pc = json_object());
	json_array_foreach(caps, i, c) {
		const char *v = json_string_value(c);
		size_t off = strncasecmp(v, "CAP_", 4) ? 4 : 0;
		if (strlen(v) + off >= sizeof(name))
			return err_invalid(e, "exec: --cap \"%.40s...\": no such capability", v);
		snprintf(name, sizeof(name), "%s%s", off ? "CAP_" : "", v);
		for (char *q = name; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
			json_t *set = json_object_get(pc, sets[k]);
			if (!set)
				json_object_set_new(pc, sets[k], set = json_array());
			json_array_append_new(set, json_string(name));
		}
	}
	return 0;
}

/* The process to run: -p's, or the container's with the flags applied. */
static int exec_process(const struct exec_opts *x, json_t *spec, json_t **out, struct ember_error *e)
{
	json_t *p;

	if (x->process_file) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		json_error_t je;
		if (fs_read_file(AT_FDCWD, x->process_file, EXEC_PROCESS_MAX, &data, &len, e) < 0)
			return err_wrap(e, "exec: -p %s", x->process_file);
		if (!(p = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
			return err_invalid(e, "exec: -p %s: %s (line %d)", x->process_file, je.text, je.line);
		if (!json_is_object(p)) {
			json_decref(p);
			return err_invalid(e, "exec: -p %s: not a JSON object (a spec's \"process\")", x->process_file);
		}
		*out = p;
		return 0;
	}
	if (!(p = json_deep_copy(json_object_get(spec, "process"))))
		return err_set(e, ENOMEM, "out of memory");
	json_t *args = json_array();
	for (int i = 0; i < x->nargs; i++)
		json_array_append_new(args, json_string(x->args[i]));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(x->tty));
	json_object_del(p, "consoleSize");
	json_t *env = json_object_get(p, "env");
	if (!env)
		json_object_set_new(p, "env", env = json_array());
	json_array_extend(env, x->env);
	if (x->cwd)
		json_object_set_new(p, "cwd", json_string(x->cwd));
	if (x->no_new_privs)
		json_object_set_new(p, "noNewPrivileges", json_true());
	if ((x->user && user_apply(p, x->user, e) < 0) || caps_apply(p, x->caps, e) < 0) {
		json_decref(p);
		return -e->code;
	}
	*out = p;
	return 0;
}

/* The spec the executor gets: the container's with process replaced,
   checked whole (so a process ember cannot run is refused naming its
   field), then cut to what an exec needs. */
static int exec_spec(json_t *spec, json_t *process, json_t **out, struct ember_error *e)
{
	json_t *full = json_deep_copy(spec);

	if (!full)
		return err_set(e, ENOMEM, "out of memory");
	json_object_set(full, "process", process);
	/* The container's hooks ran when it was made; an exec runs none. */
	json_object_del(full, "hooks");
	int r = runtime_spec_check(full, e);
	json_decref(full);
	if (r < 0)
		return err_wrap(e, "exec");
	json_t *ann = json_object_get(spec, "annotations"), *lx = json_object_get(spec, "linux");
	*out = json_pack("{s:O, s:o, s:o}", "process", process, "annotations", ann ? json_incref(ann) : json_object(),
			 "linux", lx ? json_incref(lx) : json_object());
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

static int cg_enter(pid_t pid, void *userdata, struct ember_error *e)
{
	return runtime_cgroup_enter(userdata, pid, e);
}

/* Started: the executor's result in *st. */
static int exec_start(const struct exec_opts *x, json_t *st, json_t *spec, int join_pidfd,
		      struct runtime_started *out, struct ember_error *e)
{
	struct runtime_cgroup *cg = NULL;
	struct runtime_seccomp sc;
	int have_sc = 0;

	struct runtime_start s = {
		.spec = spec,
		.self_fd = -1,
		.stdio = { 0, 1, 2 },
		.exit_fd = -1,
		.log_fd = { -1, -1 },
		.cgroup_fd = -1,
		.join_pidfd = join_pidfd,
		.join_pid = (pid_t)json_integer_value(json_object_get(st, "pid")),
		.preserve_fds = x->preserve_fds,
	};
	if (ENABLED(CONFIG_CGROUPS) && *(json_string_value(json_object_get(st, "cgroup")) ?: "")) {
		if (oci_cgroup_open(st, x->id, &cg, e) < 0)
			return -e->code;
		s.cgroup_fd = runtime_cgroup_fd(cg);
		if (s.cgroup_fd < 0) {
			s.before_setup = cg_enter;
			s.userdata = cg;
		}
	}
	int r = runtime_seccomp_for(spec, &sc, &have_sc, e);
	if (r == 0 && have_sc)
		s.seccomp = &sc;
	if (r == 0)
		r = runtime_exec(&s, out, e);
	if (ENABLED(CONFIG_SECCOMP) && have_sc)
		runtime_seccomp_free(&sc);
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(cg);
	return r < 0 ? err_wrap(e, "exec in container %s", x->id) : 0;
}

static int exec_run(const struct oci *o, struct exec_opts *x, struct ember_error *e)
{
	json_t *st = NULL, *process = NULL, *spec = NULL;
	struct runtime_started out = { .pidfd = -1, .pty_master = -1 };
	int console = -1, join = -1, rc = -1;

	if (oci_state_read(o, x->id, &st, e) < 0)
		goto done;
	const char *status = oci_status(o, st);
	if (strcmp(status, "running") && strcmp(status, "created")) {
		err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "cannot exec in a %s container: %s", status, x->id);
		goto done;
	}
	if (!json_is_object(json_object_get(st, "spec"))) {
		err_set(e, ENOTSUP, "container %s: its state keeps no spec (made by an older ember oci): recreate it", x->id);
		goto done;
	}
	if (exec_process(x, json_object_get(st, "spec"), &process, e) < 0 ||
	    exec_spec(json_object_get(st, "spec"), process, &spec, e) < 0)
		goto done;
	int terminal = json_is_true(json_object_get(process, "terminal"));
	if (terminal && x->detach && !x->console_path) {
		err_invalid(e, "exec: a detached terminal (-t -d) goes to --console-socket: give one");
		goto done;
	}
	if (x->console_path && (!terminal || !x->detach)) {
		err_invalid(e, "exec: --console-socket: only for the terminal of a detached process (-t -d)");
		goto done;
	}
	if (x->console_path && (console = oci_console_connect(x->console_path, e)) < 0)
		goto done;
	if ((join = oci_live_pidfd(o, st, x->id, e)) < 0 || exec_start(x, st, spec, join, &out, e) < 0)
		goto done;
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)out.pid);
	if (x->pid_file && fs_write_path(x->pid_file, pid, strlen(pid), 0644, e) < 0)
		goto done;
	if (console >= 0 && out.pty_master >= 0) {
		int sock = console, m = out.pty_master;
		console = out.pty_master = -1;
		rc = oci_console_send(sock, m, e);
		close(m);
		if (rc < 0)
			goto done;
	}
	/* Detached, the process is left to whoever inherits it, as the
	   container's PID 1 is. */
	rc = x->detach ? 0 : oci_wait_foreground(out.pidfd, out.pty_master);
done:
	if (rc < 0 && out.pidfd >= 0) {
		/* Started, then a step after failed: nothing is left running. */
		(void)syscall(SYS_pidfd_send_signal, out.pidfd, SIGKILL, NULL, 0);
		(void)waitid((idtype_t)3 /* P_PIDFD */, (id_t)out.pidfd, &(siginfo_t){ 0 }, WEXITED);
	}
	close_keep_errno(out.pidfd);
	close_keep_errno(out.pty_master);
	close_keep_errno(console);
	close_keep_errno(join);
	json_decref(spec);
	json_decref(process);
	json_decref(st);
	return rc;
}

int oci_cmd_exec(const struct oci *o, int argc, char **argv)
{
	struct exec_opts x = { .env = json_array(), .caps = json_array() };
	struct ember_error e;

	int rc = exec_parse(o, argc, argv, &x);
	if (rc == 0 && (rc = exec_run(o, &x, &e)) < 0)
		rc = (oci_fail_e(o, &e), EXEC_FAILED);
	json_decref(x.env);
	json_decref(x.caps);
	return rc;
}
