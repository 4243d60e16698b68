/* SPDX-License-Identifier: Apache-2.0 */
/* ember oci: runc's commands over ember's executor (oci.h). */
#include "oci/oci.h"
#include "oci/oci-internal.h"

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

/* One line on stderr, and in --log (runc's format: what containerd reads). */
static void log_line(const struct oci *o, const char *level, const char *msg)
{
	char now[TIMESTAMP_LEN];

	fprintf(stderr, "ember oci: %s%s\n", strcmp(level, "error") ? "warning: " : "", msg);
	FILE *f = o && o->log ? fopen(o->log, "ae") : NULL;
	if (f) {
		timestamp_now(now);
		json_t *j = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", now);
		char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (line && o->log_format && !strcmp(o->log_format, "json"))
			fprintf(f, "%s\n", line);
		else
			fprintf(f, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
		free(line);
		json_decref(j);
		fclose(f);
	}
}

int oci_fail(const struct oci *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(o, "error", msg);
	return 1;
}

void oci_warn(const struct oci *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(o, "warning", msg);
}

int oci_fail_e(const struct oci *o, const struct ember_error *e)
{
	return oci_fail(o, "%s", e->message);
}

const char *oci_opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strncmp(a, name, n) && a[n] == '=')
		return a + n + 1;
	if (!strcmp(a, name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int oci_is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	return !strcmp(a, name) || (!strncmp(a, name, n) && a[n] == '=');
}

int oci_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 1024 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") == n &&
	       strspn(id, ".") != n;
}

/* ---- state ------------------------------------------------------------------------------- */

int oci_root_fd(const struct oci *o, int create, struct ember_error *e)
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

	if (!oci_id_ok(id))
		return err_invalid(e, "invalid container id \"%.80s\"", id);
	snprintf(path, sizeof(path), "%s/state.json", id);
	if (rfd < 0 || fs_read_file(rfd, path, OCI_STATE_MAX, &data, &len, e) < 0) {
		if (e->code == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "container %s does not exist", id);
		return -e->code;
	}
	if (!(*out = json_loadb(data, len, 0, NULL)))
		return err_set(e, EIO, "container %s: its state.json does not parse", id);
	return 0;
}

int oci_state_read(const struct oci *o, const char *id, json_t **out, struct ember_error *e)
{
	_cleanup_close_ int rfd = oci_root_fd(o, 0, e);
	return state_read_at(rfd, id, out, e);
}

int oci_state_write(const struct oci *o, const char *id, json_t *st, struct ember_error *e)
{
	_cleanup_close_ int rfd = oci_root_fd(o, 0, e);
	if (rfd < 0)
		return -e->code;
	_cleanup_free_ char *text = json_dumps(st, JSON_COMPACT);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	_cleanup_close_ int dir = fs_open_dir(rfd, id, 0, 0, e);
	return dir < 0 ? -e->code : fs_write_atomic(dir, "state.json", text, strlen(text), 0600, e);
}

/* "created" while the process waits at its gate (exec.fifo is there),
   "running" once past it, while the process that started is there (pid
   and start time); else "stopped". */
/* Whether the freezer holds the container (pause). */
static int status_frozen(json_t *st)
{
	struct runtime_cgroup *cg = NULL;
	struct runtime_cgroup_stats cs;
	struct ember_error ignored;

	if (!ENABLED(CONFIG_CGROUPS) || !*(json_string_value(json_object_get(st, "cgroup")) ?: ""))
		return 0;
	int frozen = oci_cgroup_open(st, "", &cg, &ignored) == 0 && runtime_cgroup_stats(cg, &cs, &ignored) == 0 &&
		     cs.frozen;
	runtime_cgroup_free(cg);
	return frozen;
}

static const char *status_at(int rfd, json_t *st)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	char fifo[1100];

	/* A detached PID 1 is reaped by whoever inherited it, maybe late: a
	   zombie is stopped, and a pid reused since is somebody else. */
	if (!runtime_pid_alive(pid, (uint64_t)json_integer_value(json_object_get(st, "start_time"))))
		return "stopped";
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", json_string_value(json_object_get(st, "id")) ?: "");
	if (rfd >= 0 && faccessat(rfd, fifo, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return "created";
	return status_frozen(st) ? "paused" : "running";
}

const char *oci_status(const struct oci *o, json_t *st)
{
	struct ember_error ignored;
	_cleanup_close_ int rfd = oci_root_fd(o, 0, &ignored);
	return status_at(rfd, st);
}

static int state_remove(const struct oci *o, const char *id)
{
	struct ember_error e;
	_cleanup_close_ int fd = oci_root_fd(o, 0, &e);

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
		if ((v = oci_opt_value(argc, argv, &i, "--bundle")) || (v = oci_opt_value(argc, argv, &i, "-b")))
			bundle = v;
		else if (!strcmp(argv[i], "--rootless"))
			rootless = 1;
		else
			return oci_fail(o, "spec: unknown argument \"%.80s\"", argv[i]);
	}
	json_t *args = json_pack("[s]", "sh");
	struct runtime_spec_options so = {
		.id = "ember", .rootfs = "rootfs", .args = args, .terminal = true, .read_only = true,
	};
	int r = runtime_spec_build(&so, &spec, &e);
	json_decref(args);
	if (r < 0)
		return oci_fail_e(o, &e);
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
		return oci_fail(o, "spec: %s exists: remove it first", path);
	if (fd < 0)
		return oci_fail(o, "spec: %s: %s", path, strerror(errno));
	size_t n = text ? strlen(text) : 0;
	int ok = text && write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	close(fd);
	return ok ? 0 : oci_fail(o, "spec: write %s: %s", path, strerror(errno));
}

/* ---- run --------------------------------------------------------------------------------- */

struct run {
	const struct oci *o;
	const char *id, *bundle_arg, *pid_file, *console_path;
	char bundle[PATH_MAX], rootfs[PATH_MAX];
	json_t *spec, *state; /* the bundle's spec, the state.json written */
	struct runtime_cgroup *cg;
	struct runtime_started st;
	int made_state;
	int detach;       /* create, run -d: the container outlives the command */
	int preserve_fds; /* --preserve-fds */
	int console;      /* --console-socket, connected */
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
	/* The executor runs no hooks: they are ours, checked here. */
	json_t *hooks = json_incref(json_object_get(r->spec, "hooks"));
	json_object_del(r->spec, "hooks");
	int ok = oci_hooks_check(hooks, e) == 0 && runtime_spec_check(r->spec, e) == 0;
	if (hooks)
		json_object_set_new(r->spec, "hooks", hooks);
	if (!ok)
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

/* What state.json holds (NULL: out of memory). */
static json_t *state_make(struct run *r)
{
	char now[TIMESTAMP_LEN], rel[PATH_MAX];
	struct ember_error ignored;

	timestamp_now(now);
	if (cgroup_path(r, rel, sizeof(rel), &ignored) < 0)
		rel[0] = '\0';
	json_t *ann = json_object_get(r->spec, "annotations");
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:O, s:I, s:s, s:O}", "ociVersion",
			 json_string_value(json_object_get(r->spec, "ociVersion")) ?: RUNTIME_OCI_VERSION, "id", r->id,
			 "status", "running", "pid", (int)r->st.pid, "bundle", r->bundle, "rootfs", r->rootfs, "created",
			 now, "annotations", ann ? ann : json_object(), "start_time", (json_int_t)r->st.start_time,
			 "cgroup", rel, "spec", r->spec);
}

static int write_state(struct run *r, struct ember_error *e)
{
	json_t *st = state_make(r);

	json_decref(r->state);
	r->state = st;
	return st ? oci_state_write(r->o, r->id, st, e) : err_set(e, ENOMEM, "out of memory");
}

/* The hooks of kinds a and b, each given the state with status and pid. */
static int hooks_two(struct run *r, const char *a, const char *b, const char *status, pid_t pid,
		     struct ember_error *e)
{
	r->st.pid = pid;
	json_t *st = state_make(r), *hs = st ? oci_hook_state(st, status) : NULL;
	int rc = !hs					   ? err_set(e, ENOMEM, "out of memory")
		 : oci_hooks_run(NULL, r->spec, a, hs, e) < 0 ? -e->code
		 : b						   ? oci_hooks_run(NULL, r->spec, b, hs, e)
								   : 0;
	json_decref(hs);
	json_decref(st);
	return rc;
}

/* prestart and createRuntime, in the runtime's namespaces, when the
   container has its namespaces and its rootfs, before its pivot_root
   (where runc runs them). */
static int hooks_parent(pid_t pid, void *data, struct ember_error *e)
{
	return hooks_two(data, "prestart", "createRuntime", "creating", pid, e);
}

/* In the container's process: createContainer before pivot_root, from
   the rootfs's directory (the spec's mounts in place) as runc runs it,
   and startContainer before the application's exec. Their state's pid
   is the process's own, as runc's (1 in a pid namespace). */
static int hooks_child(int point, void *data, struct ember_error *e)
{
	struct run *r = data;

	if (point == RUNTIME_HOOKS_START)
		return hooks_two(r, "startContainer", NULL, "created", getpid(), e);
	if (chdir(r->rootfs) < 0)
		return err_sys(e, errno, "hooks.createContainer: chdir %s", r->rootfs);
	return hooks_two(r, "createContainer", NULL, "creating", getpid(), e);
}

/* How long to wait for a step of 10 s that runs the hooks of kind too:
   their timeouts more (one without: as long as it takes). */
static int hooks_ms(json_t *spec, const char *kind)
{
	json_t *x;
	size_t i;
	long long ms = 10000;

	json_array_foreach(json_object_get(json_object_get(spec, "hooks"), kind), i, x) {
		json_int_t t = json_integer_value(json_object_get(x, "timeout"));
		ms += t > 0 ? t * 1000 : INT_MAX;
	}
	return ms < INT_MAX ? (int)ms : INT_MAX;
}

/* Wire the spec's hooks into s: the parent's only when there are any
   (they cost the child a round trip), and a setup timeout that leaves
   the createContainer hooks theirs. */
static void hooks_wire(struct run *r, struct runtime_start *s)
{
	json_t *h = json_object_get(r->spec, "hooks");

	s->hooks_data = r;
	if (json_array_size(json_object_get(h, "prestart")) || json_array_size(json_object_get(h, "createRuntime")))
		s->hooks_parent = hooks_parent;
	if (json_array_size(json_object_get(h, "createContainer")) ||
	    json_array_size(json_object_get(h, "startContainer")))
		s->hooks_child = hooks_child;
	s->timeout_ms = (unsigned)hooks_ms(r->spec, "createContainer");
}

/* A --preserve-fds count. */
static int preserve_parse(const struct oci *o, const char *cmd, const char *v, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > 1024)
		return oci_fail(o, "%s: --preserve-fds \"%.40s\": a count from 0 to 1024", cmd, v);
	*out = (int)n;
	return 0;
}

/* run's and create's arguments. */
static int parse_run(struct run *r, const char *cmd, int argc, char **argv)
{
	const char *v;
	int is_run = !strcmp(cmd, "run");

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((v = oci_opt_value(argc, argv, &i, "--bundle")) || (v = oci_opt_value(argc, argv, &i, "-b")))
			r->bundle_arg = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--pid-file")))
			r->pid_file = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--console-socket")))
			r->console_path = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--preserve-fds"))) {
			if (preserve_parse(r->o, cmd, v, &r->preserve_fds))
				return 1;
		} else if (!strcmp(a, "--no-pivot") || !strcmp(a, "--no-new-keyring") || !strcmp(a, "--no-subreaper"))
			; /* what ember does anyway: see usage() */
		else if (is_run && (!strcmp(a, "-d") || !strcmp(a, "--detach")))
			r->detach = 1;
		else if (!strcmp(a, "--keep"))
			return oci_fail(r->o, "%s: --keep is not supported", cmd);
		else if (a[0] == '-')
			return oci_fail(r->o, "%s: unknown option \"%.80s\"", cmd, a);
		else if (!r->id)
			r->id = a;
		else
			return oci_fail(r->o, "%s: one container id, not \"%.80s\" too", cmd, a);
	}
	if (!r->id)
		return oci_fail(r->o, "%s: give the container's id", cmd);
	if (!oci_id_ok(r->id))
		return oci_fail(r->o, "%s: invalid container id \"%.80s\"", cmd, r->id);
	if (!is_run)
		r->detach = 1;
	/* Now, before this process opens any: a closed one would otherwise
	   be filled by one of ours, and the container would get that. */
	for (int fd = 3; fd < 3 + r->preserve_fds; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return oci_fail(r->o, "%s: --preserve-fds %d: descriptor %d is not open", cmd, r->preserve_fds, fd);
	return 0;
}

/* Whether a detached container's terminal and --console-socket go
   together, as runc asks. */
static int console_check(struct run *r, struct ember_error *e)
{
	int terminal = json_is_true(json_object_get(json_object_get(r->spec, "process"), "terminal"));

	if (terminal && r->detach && !r->console_path)
		return err_invalid(e, "process.terminal: a detached container's terminal goes to --console-socket: give one");
	if (r->console_path && (!terminal || !r->detach))
		return err_invalid(e, "--console-socket: only for the terminal (process.terminal) of a detached container "
				      "(create, run -d)");
	return 0;
}

/* The container's state directory, its process set up and waiting at
   its gate (exec.fifo), its state written, the hooks before start run. */
static int container_start(struct run *r, struct ember_error *e)
{
	_cleanup_close_ int rfd = oci_root_fd(r->o, 1, e);
	struct runtime_seccomp sc;
	int have_sc = 0;
	char rel[PATH_MAX];

	if (rfd < 0)
		return -e->code;
	/* Before anything is made: a wrong path leaves nothing behind. */
	if (r->console_path && (r->console = oci_console_connect(r->console_path, e)) < 0)
		return -e->code;
	if (mkdirat(rfd, r->id, 0700) < 0)
		return errno == EEXIST ? err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "container with id %s exists", r->id)
				       : err_sys(e, errno, "%s/%s", r->o->root, r->id);
	r->made_state = 1;
	/* Always through the gate (run too): the hooks that come before the
	   application run while it waits there. */
	char fifo[1100];
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", r->id);
	/* Any user the process becomes may write it; only root reads. */
	_cleanup_close_ int gate_fd = -1;
	if (mkfifoat(rfd, fifo, 0622) < 0 || fchmodat(rfd, fifo, 0622, 0) < 0 ||
	    (gate_fd = openat(rfd, fifo, O_PATH | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "%s/%s", r->o->root, fifo);
	if (load_bundle(r, e) < 0 || cgroup_path(r, rel, sizeof(rel), e) < 0 || console_check(r, e) < 0)
		return -e->code;
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
		.preserve_fds = r->preserve_fds,
	};
	hooks_wire(r, &s);
	/* What poststop gets should the setup fail (the pid comes later). */
	if (!(r->state = state_make(r)))
		return err_set(e, ENOMEM, "out of memory");
	int rc = 0;
	if (ENABLED(CONFIG_CGROUPS)) {
		json_t *lx = json_object_get(r->spec, "linux");
		if (runtime_cgroup_create(OCI_CGROUP_MNT, rel, &r->cg, e) < 0 ||
		    runtime_cgroup_set(r->cg, json_object_get(lx, "resources"), e) < 0 ||
		    (ENABLED(CONFIG_CGROUP_DEVICES) && runtime_cgroup_devices(r->cg, lx, e) < 0))
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
	if (r->console >= 0 && r->st.pty_master >= 0) {
		int sock = r->console;
		r->console = -1;
		if (oci_console_send(sock, r->st.pty_master, e) < 0)
			return -e->code;
		/* The receiver holds the terminal now; ours would keep it open. */
		close(r->st.pty_master);
		r->st.pty_master = -1;
	}
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

/* Let the process at the gate of container id run its application. */
static int gate_pass(const struct oci *o, const char *id, json_t *spec, struct ember_error *e)
{
	char fifo[1100];

	_cleanup_close_ int rfd = oci_root_fd(o, 0, e);
	if (rfd < 0)
		return -e->code;
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", id);
	/* Not blocking: a process that died at the gate would hold us forever. */
	_cleanup_close_ int fd = openat(rfd, fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "start %s: %s/%s", id, o->root, fifo);
	struct pollfd p = { fd, POLLIN, 0 };
	char byte;
	if (poll(&p, 1, hooks_ms(spec, "startContainer")) <= 0 || read(fd, &byte, 1) != 1)
		return err_set(e, EIO, "start %s: its process did not pass the gate (%s)", id,
			       json_array_size(json_object_get(json_object_get(spec, "hooks"), "startContainer"))
				       ? "a startContainer hook failed, or it died"
				       : "did it die?");
	(void)unlinkat(rfd, fifo, 0);
	return 0;
}

/* Started: the poststart hooks, whose failures are only warnings. */
static void poststart(const struct oci *o, json_t *st)
{
	struct ember_error e;
	json_t *hs = oci_hook_state(st, "running");

	if (hs)
		(void)oci_hooks_run(o, json_object_get(st, "spec"), "poststart", hs, &e);
	json_decref(hs);
}

static void poststop(const struct oci *o, json_t *st)
{
	struct ember_error e;
	json_t *hs = oci_hook_state(st, "stopped");

	if (hs)
		(void)oci_hooks_run(o, json_object_get(st, "spec"), "poststop", hs, &e);
	json_decref(hs);
}

/* What a run or a failed create leaves: nothing. */
static void container_end(struct run *r)
{
	if (r->st.pidfd >= 0) {
		/* Without a cgroup (or before it is there) this is all of it. */
		(void)syscall(SYS_pidfd_send_signal, r->st.pidfd, SIGKILL, NULL, 0);
		(void)waitid((idtype_t)3 /* P_PIDFD */, (id_t)r->st.pidfd, &(siginfo_t){ 0 }, WEXITED | WNOHANG);
	}
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
	close_keep_errno(r->console);
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(r->cg);
	close_keep_errno(r->st.pidfd);
	close_keep_errno(r->st.pty_master);
	json_decref(r->state);
	json_decref(r->spec);
}

static int cmd_run(const struct oci *o, int argc, char **argv)
{
	struct run r = { .o = o, .bundle_arg = ".", .st = { .pidfd = -1, .pty_master = -1 }, .console = -1 };
	struct ember_error e;
	int rc;

	if (parse_run(&r, "run", argc, argv))
		return 1;
	/* Created first, as create does: the hooks run before the
	   application, which then passes its gate. */
	if (container_start(&r, &e) < 0 || gate_pass(o, r.id, r.spec, &e) < 0) {
		rc = oci_fail_e(o, &e);
		container_end(&r);
		if (r.state)
			poststop(o, r.state);
		run_done(&r);
		return rc;
	}
	poststart(o, r.state);
	if (r.detach) {
		/* As with runc: the container's PID 1 is left to whoever
		   inherits it (the nearest subreaper, or init), which reaps it;
		   state tells it stopped by its pid and start time. */
		rc = 0;
	} else {
		rc = oci_wait_foreground(r.st.pidfd, r.st.pty_master);
		container_end(&r);
		poststop(o, r.state);
	}
	run_done(&r);
	return rc;
}

/* Created: set up, waiting before the application runs (start runs it). */
static int cmd_create(const struct oci *o, int argc, char **argv)
{
	struct run r = { .o = o, .bundle_arg = ".", .st = { .pidfd = -1, .pty_master = -1 }, .console = -1 };
	struct ember_error e;
	int rc = 0;

	if (parse_run(&r, "create", argc, argv))
		return 1;
	if (container_start(&r, &e) < 0) {
		rc = oci_fail_e(o, &e);
		container_end(&r);
		if (r.state)
			poststop(o, r.state);
	}
	run_done(&r);
	return rc;
}

static int cmd_start(const struct oci *o, int argc, char **argv)
{
	struct ember_error e;
	json_t *st;

	if (argc != 2)
		return oci_fail(o, "start: give one container id");
	if (oci_state_read(o, argv[1], &st, &e) < 0)
		return oci_fail_e(o, &e);
	const char *status = oci_status(o, st);
	int rc = 0;
	if (strcmp(status, "created"))
		rc = oci_fail(o, "cannot start a container that is %s: %s", status, argv[1]);
	else if (gate_pass(o, argv[1], json_object_get(st, "spec"), &e) < 0)
		rc = oci_fail_e(o, &e);
	else
		poststart(o, st);
	json_decref(st);
	return rc;
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
	_cleanup_close_ int rfd = oci_root_fd(o, 0, &ignored);
	return state_public_at(rfd, st);
}

static int cmd_state(const struct oci *o, int argc, char **argv)
{
	struct ember_error e;
	json_t *st;

	if (argc != 2)
		return oci_fail(o, "state: give one container id");
	if (oci_state_read(o, argv[1], &st, &e) < 0)
		return oci_fail_e(o, &e);
	json_t *pub = state_public(o, st);
	json_decref(st);
	char *text = pub ? json_dumps(pub, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(pub);
	if (!text)
		return oci_fail(o, "out of memory");
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
		else if ((v = oci_opt_value(argc, argv, &i, "--format")) || (v = oci_opt_value(argc, argv, &i, "-f")))
			json = !strcmp(v, "json");
		else
			return oci_fail(o, "list: unknown argument \"%.80s\"", argv[i]);
	}
	json_t *all = json_array();
	_cleanup_close_ int fd = oci_root_fd(o, 0, &e);
	char **names = NULL;
	size_t n = 0;
	if (fd >= 0 && fs_list_names(fd, &names, &n, &e) < 0) {
		json_decref(all);
		return oci_fail_e(o, &e);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *st;
		if (oci_id_ok(names[i]) && state_read_at(fd, names[i], &st, &e) == 0) {
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

/* A container's process (created or running) as a pidfd; -1 (e filled)
   if it is gone. */
int oci_live_pidfd(const struct oci *o, json_t *st, const char *id, struct ember_error *e)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));

	if (!strcmp(oci_status(o, st), "stopped"))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "container %s is not running", id);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return err_sys(e, errno, "container %s: pidfd_open", id);
	/* The pid could have been reused between the check and the open. */
	if (!strcmp(oci_status(o, st), "stopped")) {
		close(fd);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "container %s is not running", id);
	}
	return fd;
}

int oci_cgroup_open(json_t *st, const char *id, struct runtime_cgroup **cg, struct ember_error *e)
{
	const char *rel = json_string_value(json_object_get(st, "cgroup")) ?: "";

	*cg = NULL;
	if (!ENABLED(CONFIG_CGROUPS))
		return err_unsupported(e, "container %s: cgroups are not in this build (CONFIG_CGROUPS)", id);
	if (!*rel)
		return err_set(e, ENOENT, "container %s has no cgroup", id);
	return runtime_cgroup_open(OCI_CGROUP_MNT, rel, cg, e) < 0 ? err_wrap(e, "container %s", id) : 0;
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
		return oci_fail(o, "kill: give the container's id");
	if (runtime_signal_parse(sig_s, &sig, &e) < 0)
		return oci_fail_e(o, &e);
	if (oci_state_read(o, id, &st, &e) < 0)
		return oci_fail_e(o, &e);
	int fd = oci_live_pidfd(o, st, id, &e);
	int r = fd < 0 ? -1 : 0;
	if (r == 0 && all && ENABLED(CONFIG_CGROUPS)) {
		struct runtime_cgroup *cg = NULL;
		r = oci_cgroup_open(st, id, &cg, &e) < 0 || runtime_cgroup_kill(cg, sig, &e) < 0 ? -1 : 0;
		runtime_cgroup_free(cg);
	} else if (r == 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0) {
		r = err_sys(&e, errno, "kill container %s", id);
	}
	close_keep_errno(fd);
	json_decref(st);
	return r < 0 ? oci_fail_e(o, &e) : 0;
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
			return oci_fail(o, "delete: one container id, not \"%.80s\" too", argv[i]);
	}
	if (!id)
		return oci_fail(o, "delete: give the container's id");
	if (oci_state_read(o, id, &st, &e) < 0) {
		/* runc: --force on what is not there is no error. */
		return force && e.code == ENOENT ? 0 : oci_fail_e(o, &e);
	}
	const char *rel = json_string_value(json_object_get(st, "cgroup")) ?: "";
	const char *status = oci_status(o, st);
	if (strcmp(status, "stopped")) {
		/* A created one goes, as with runc; a running or paused one
		   with --force. */
		if (!force && strcmp(status, "created")) {
			int r = oci_fail(o, "cannot delete container %s that is not stopped: %s", id, status);
			json_decref(st);
			return r;
		}
		if (!strcmp(status, "paused") && ENABLED(CONFIG_CGROUPS)) {
			/* Thawed, or SIGKILL would wait for a resume. */
			struct runtime_cgroup *cg = NULL;
			struct ember_error ignored;
			if (oci_cgroup_open(st, id, &cg, &ignored) == 0)
				(void)runtime_cgroup_freeze(cg, false, &ignored);
			runtime_cgroup_free(cg);
		}
		int fd = oci_live_pidfd(o, st, id, &e);
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
		if (runtime_cgroup_open(OCI_CGROUP_MNT, rel, &cg, &ignored) == 0) {
			(void)runtime_cgroup_kill(cg, SIGKILL, &ignored);
			(void)runtime_cgroup_remove(cg, &ignored);
		}
		runtime_cgroup_free(cg);
	}
	if (state_remove(o, id) < 0) {
		json_decref(st);
		return oci_fail(o, "delete %s: its state directory stays", id);
	}
	poststop(o, st);
	json_decref(st);
	return 0;
}

/* ---- the role -------------------------------------------------------------------------- */

#ifdef CONFIG_CHECKPOINT
/* checkpoint, restore: oci-checkpoint.c. */
static int cmd_checkpoint(const struct oci *o, int argc, char **argv)
{
	struct ember_error e;
	const char *gone;

	if (oci_checkpoint_main(o->root, argc, argv, &gone, &e) < 0)
		return oci_fail_e(o, &e);
	/* The dump ended it: deleted, as runc's checkpoint does (its cgroup,
	   its state, the poststop hooks); restore makes it again. */
	char *del[] = { "delete", (char *)gone, NULL };
	return gone ? cmd_delete(o, 2, del) : 0;
}
#endif

static const struct {
	const char *name;
	int (*run)(const struct oci *o, int argc, char **argv);
	const char *usage;
} commands[] = {
#ifdef CONFIG_CHECKPOINT
	{ "checkpoint", cmd_checkpoint,
	  "checkpoint [--image-path DIR] [--work-path DIR] [--leave-running] [--tcp-established] [--file-locks] ID" },
#endif
	{ "create", cmd_create,
	  "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--preserve-fds N]\n"
	  "         [--no-pivot] [--no-new-keyring] ID" },
	{ "delete", cmd_delete, "delete [--force] ID" },
	{ "events", oci_cmd_events, "events [--stats] [--interval DURATION] ID   (JSON lines: stats, oom)" },
	{ "exec", oci_cmd_exec,
	  "exec [-p process.json] [-t] [-d] [--env K=V] [--cwd DIR] [--user UID[:GID]]\n"
	  "         [--cap CAP] [--no-new-privs] [--pid-file FILE] [--console-socket SOCKET]\n"
	  "         [--preserve-fds N] ID [ARGS...]" },
	{ "features", oci_cmd_features, "features   (what this ember supports, as JSON)" },
	{ "kill", cmd_kill, "kill [--all] ID [SIGNAL]" },
	{ "list", cmd_list, "list [--quiet] [--format table|json]" },
	{ "pause", oci_cmd_pause, "pause ID   (the cgroup freezer)" },
	{ "ps", oci_cmd_ps, "ps [--format table|json] ID [PS-OPTIONS]" },
	{ "resume", oci_cmd_resume, "resume ID" },
#ifdef CONFIG_CHECKPOINT
	{ "restore", cmd_checkpoint,
	  "restore [--image-path DIR] [--work-path DIR] [--bundle DIR] [--pid-file F] [--console-socket SOCKET]\n"
	  "         [-d] ID   (detached)" },
#endif
	{ "run", cmd_run,
	  "run [-d] [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--preserve-fds N]\n"
	  "         [--no-pivot] [--no-new-keyring] ID" },
	{ "spec", cmd_spec, "spec [--bundle DIR] [--rootless]" },
	{ "start", cmd_start, "start ID" },
	{ "state", cmd_state, "state ID" },
	{ "update", oci_cmd_update,
	  "update [-r FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N]\n"
	  "         [--cpu-share N] [--cpu-quota N] [--cpu-period N] [--cpu-rt-period N] [--cpu-rt-runtime N]\n"
	  "         [--cpuset-cpus LIST] [--cpuset-mems LIST] [--pids-limit N] ID" },
};

static void usage(FILE *f)
{
	fputs("Usage: ember oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...\n\n"
	      "runc's commands over ember's executor, for OCI bundles.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fputs("\ncreate and run:\n"
	      "  --console-socket SOCKET  with process.terminal: the terminal's master goes to the unix\n"
	      "                           socket SOCKET (SCM_RIGHTS), as runc sends it\n"
	      "  --preserve-fds N         descriptors 3 .. 3+N-1 go to the container's process\n"
	      "  --no-pivot               accepted: ember uses pivot_root, and where it cannot (its / is no\n"
	      "                           mount point, as in a chroot) binds / and chroots by itself\n"
	      "  --no-new-keyring         accepted: ember never makes a session keyring; the container\n"
	      "                           keeps the caller's, which is what this asks for\n"
	      "  -d, --detach (run)       return once the container runs; its PID 1 is left to the nearest\n"
	      "                           subreaper or init, as with runc\n"
	      "\nupdate: sizes as runc takes them (64m, 1g, -1 unlimited); 0 or \"\" leaves a value as it\n"
	      "was; -r reads a linux.resources JSON and ignores the flags. The new values go to the\n"
	      "cgroup and to the container's state.json. --kernel-memory and --kernel-memory-tcp are\n"
	      "ignored with a warning, as runc 1.1 does; --blkio-weight, --l3-cache-schema and\n"
	      "--mem-bw-schema are refused (no blkio controller, no Intel RDT here).\n"
	      "\nevents: a stats line every --interval (default 5s), an oom line when the OOM killer\n"
	      "acts in the cgroup, until SIGINT/SIGTERM or, as runc's, the container's deletion (v1) or\n"
	      "stop (v2); --stats prints one.\n"
	      "\n--systemd-cgroup is accepted and changes nothing: ember writes the cgroup itself, at\n"
	      "linux.cgroupsPath (a path below each hierarchy; a systemd \"slice:prefix:name\" is refused).\n",
	      f);
}

int oci_main(int argc, char **argv)
{
	struct oci o = { .root = CONFIG_OCI_ROOT, .log_format = "text" };
	const char *v;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((v = oci_opt_value(argc, argv, &i, "--root")))
			o.root = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--log")))
			o.log = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--log-format")))
			o.log_format = v;
		else if (!strcmp(a, "--debug"))
			o.debug = 1;
		else if (!strcmp(a, "--systemd-cgroup"))
			; /* accepted: ember writes the cgroup itself, at linux.cgroupsPath */
		else if ((v = oci_opt_value(argc, argv, &i, "--rootless")))
			; /* accepted: ember finds out what it may do itself */
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("ember oci (runc-compatible) spec %s\n", RUNTIME_OCI_VERSION);
			return 0;
		} else {
			oci_fail(&o, "unknown option \"%.80s\" (see: ember oci --help)", a);
			return 2;
		}
	}
	if (strcmp(o.log_format, "text") && strcmp(o.log_format, "json")) {
		oci_fail(&o, "--log-format %.40s: use text or json", o.log_format);
		return 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		if (!strcmp(argv[i], commands[k].name))
			return commands[k].run(&o, argc - i, argv + i);
	oci_fail(&o, "unknown command \"%.80s\" (see: ember oci --help)", argv[i]);
	return 2;
}
