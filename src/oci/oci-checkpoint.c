/* SPDX-License-Identifier: Apache-2.0 */
/* ember oci checkpoint and restore, as runc has them, through CRIU (runtime.h). */
#include "oci/oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "net/net.h"
#include "oci/oci-internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/kconfig.h"
#include "util/timestamp.h"

#define STATE_MAX ((size_t)1 << 20)
#define BUNDLE_CONFIG_MAX ((size_t)4 << 20)
#define CGROUP_MNT "/sys/fs/cgroup"
/* Next to CRIU's images: what the container's stdio were (runc keeps
   the same in descriptors.json), so that a restore hands CRIU its own. */
#define STDIO_FILE "ember-stdio.json"

struct ck_args {
	const char *id, *image_path, *work_path, *bundle, *pid_file, *console_path;
	int leave_running, tcp_established, file_locks, detach;
};

static int parse(int argc, char **argv, int restore, struct ck_args *a, struct ember_error *e)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if ((v = oci_opt_value(argc, argv, &i, "--image-path")))
			a->image_path = v;
		else if ((v = oci_opt_value(argc, argv, &i, "--work-path")))
			a->work_path = v;
		else if (restore && ((v = oci_opt_value(argc, argv, &i, "--bundle")) || (v = oci_opt_value(argc, argv, &i, "-b"))))
			a->bundle = v;
		else if (restore && (v = oci_opt_value(argc, argv, &i, "--pid-file")))
			a->pid_file = v;
		else if (restore && (v = oci_opt_value(argc, argv, &i, "--console-socket")))
			a->console_path = v;
		else if (restore && (!strcmp(s, "-d") || !strcmp(s, "--detach")))
			a->detach = 1;
		else if (!restore && !strcmp(s, "--leave-running"))
			a->leave_running = 1;
		else if (!strcmp(s, "--tcp-established"))
			a->tcp_established = 1;
		else if (!strcmp(s, "--file-locks"))
			a->file_locks = 1;
		else if (s[0] == '-')
			return err_invalid(e, "%s: unknown option \"%.80s\"", argv[0], s);
		else if (!a->id)
			a->id = s;
		else
			return err_invalid(e, "%s: one container id, not \"%.80s\" too", argv[0], s);
	}
	if (!a->id)
		return err_invalid(e, "%s: which container? (%s ID)", argv[0], argv[0]);
	if (strchr(a->id, '/') || !strcmp(a->id, ".") || !strcmp(a->id, ".."))
		return err_invalid(e, "invalid container id \"%.80s\"", a->id);
	/* runc's default: ./checkpoint; the work path defaults to it. */
	if (!a->image_path)
		a->image_path = "checkpoint";
	if (!a->work_path)
		a->work_path = a->image_path;
	return 0;
}

static int read_json(int dirfd, const char *name, size_t max, json_t **out, struct ember_error *e)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	json_error_t je;

	if (fs_read_file(dirfd, name, max, &data, &len, e) < 0)
		return -e->code;
	if (!(*out = json_loadb(data, len, 0, &je)))
		return err_invalid(e, "%s: %s (line %d)", name, je.text, je.line);
	return 0;
}

static int open_dirs(const struct ck_args *a, int create, int *images, int *work, struct ember_error *e)
{
	if (create && (fs_mkdir_p(a->image_path, 0700, e) < 0 || fs_mkdir_p(a->work_path, 0700, e) < 0))
		return -e->code;
	if ((*images = open(a->image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "%s", a->image_path);
	if ((*work = open(a->work_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(e, errno, "%s", a->work_path);
	return 0;
}

/* The bundle's config.json. */
static int bundle_spec(const char *bundle, json_t **spec, struct ember_error *e)
{
	_cleanup_close_ int fd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "bundle %s", bundle);
	if (read_json(fd, "config.json", BUNDLE_CONFIG_MAX, spec, e) < 0)
		return err_wrap(e, "bundle %s", bundle);
	return 0;
}

/* A pty's slave (Unix 98 ptys: majors 136 to 143). The terminal's slave
   is the container's own, in its devpts: CRIU dumps it, with no master
   (runtime_checkpoint's terminal), rather than as an external file. */
static int pty_slave(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

/* What the container's stdio are ("pipe:[123]", "socket:[45]", ...), as
   /proc/<pid>/fd shows them; a file ("/dev/null", a log: the caller's,
   outside the container's mounts, which CRIU cannot reach) as CRIU's
   external key "file[MNT:INO]", into c->files: the restorer's own stdio
   stands for it. */
static json_t *stdio_links(pid_t pid, struct runtime_checkpoint *c)
{
	json_t *list = json_array();
	for (int fd = 0; fd < 3; fd++) {
		char path[64], link[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		_cleanup_close_ int f = link[0] == '/' ? open(path, O_PATH | O_CLOEXEC) : -1;
		struct ember_error ignored;
		char key[48];
		if (f >= 0 && !pty_slave(f) && runtime_criu_file_key(f, key, &ignored) == 0) {
			size_t k = 0;
			while (k < c->n_files && strcmp(c->files[k].key, key))
				k++;
			if (k == c->n_files && k < RUNTIME_CHECKPOINT_FILES_MAX) {
				memcpy(c->files[k].key, key, sizeof(key));
				c->files[c->n_files++].fd = -1;
			}
			snprintf(link, sizeof(link), "%s", key);
		}
		json_array_append_new(list, json_string(link));
	}
	return list;
}

static int checkpoint(const char *root, const struct ck_args *a, struct ember_error *e)
{
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[PATH_MAX];
	json_t *st = NULL, *spec = NULL;
	uint64_t t;

	snprintf(name, sizeof(name), "%s/state.json", a->id);
	if (rfd < 0 || read_json(rfd, name, STATE_MAX, &st, e) < 0)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "container %s does not exist", a->id);
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	const char *bundle = json_string_value(json_object_get(st, "bundle"));
	int r = 0;
	if (pid <= 0 || runtime_pid_start_time(pid, &t, e) < 0 ||
	    t != (uint64_t)json_integer_value(json_object_get(st, "start_time")))
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ESRCH, "container %s is not running", a->id);
	else if (!bundle)
		r = err_invalid(e, "container %s: state.json has no bundle", a->id);
	else
		r = bundle_spec(bundle, &spec, e);
	int images = -1, work = -1;
	struct runtime_checkpoint c = {
		.pid = pid, .images_fd = -1, .work_fd = -1, .work_path = a->work_path, .spec = spec,
		.rootfs = json_string_value(json_object_get(st, "rootfs")), .leave_running = a->leave_running,
		.tcp_established = a->tcp_established, .file_locks = a->file_locks,
		.manage_cgroups = ENABLED(CONFIG_CGROUPS),
		.terminal = json_is_true(json_object_get(json_object_get(spec, "process"), "terminal")),
	};
	if (r == 0)
		r = open_dirs(a, 1, &images, &work, e);
	if (r == 0) {
		json_t *io = stdio_links(pid, &c);
		_cleanup_free_ char *text = json_dumps(io, JSON_COMPACT);
		json_decref(io);
		r = text ? fs_write_atomic(images, STDIO_FILE, text, strlen(text), 0600, e)
			 : err_set(e, ENOMEM, "out of memory");
	}
	if (r == 0) {
		c.images_fd = images;
		c.work_fd = work;
		c.spec = spec;
		r = runtime_checkpoint(&c, e);
	}
	close_keep_errno(images);
	close_keep_errno(work);
	json_decref(spec);
	json_decref(st);
	return r < 0 ? err_wrap(e, "checkpoint %s", a->id) : 0;
}

/* state.json as create writes it, for the restored process. */
static int write_state(const char *root, const struct ck_args *a, const char *bundle, const char *rootfs,
		       const char *rel, json_t *spec, const struct runtime_started *s, struct ember_error *e)
{
	char now[TIMESTAMP_LEN];
	_cleanup_close_ int rfd = (fs_mkdir_p(root, 0700, e) < 0) ? -1 : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return e->code ? -e->code : err_sys(e, errno, "%s", root);
	_cleanup_close_ int dir = fs_open_dir(rfd, a->id, 1, 0700, e);
	if (dir < 0)
		return -e->code;
	timestamp_now(now);
	json_t *ann = json_object_get(spec, "annotations");
	json_t *st = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:O, s:I, s:s}", "ociVersion",
			       json_string_value(json_object_get(spec, "ociVersion")) ?: RUNTIME_OCI_VERSION, "id",
			       a->id, "status", "running", "pid", (int)s->pid, "bundle", bundle, "rootfs", rootfs,
			       "created", now, "annotations", ann ? ann : json_object(), "start_time",
			       (json_int_t)s->start_time, "cgroup", rel);
	_cleanup_free_ char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	return fs_write_atomic(dir, "state.json", text, strlen(text), 0600, e);
}

/* The container's stdio that were pipes, sockets or the caller's files
   (external keys): ours now (runc's inherit_fd); anything else CRIU
   reopens itself. */
static void stdio_files(int images, struct runtime_checkpoint *c)
{
	json_t *io = NULL, *v;
	size_t i;
	struct ember_error ignored;

	if (read_json(images, STDIO_FILE, 4096, &io, &ignored) < 0)
		return;
	json_array_foreach(io, i, v) {
		const char *link = json_string_value(v);
		if (i < 3 && link &&
		    (!strncmp(link, "pipe:", 5) || !strncmp(link, "socket:", 7) || !strncmp(link, "file[", 5)) &&
		    strlen(link) < sizeof(c->files[0].key)) {
			snprintf(c->files[c->n_files].key, sizeof(c->files[0].key), "%s", link);
			c->files[c->n_files++].fd = (int)i;
		}
	}
	json_decref(io);
}

static int restore(const char *root, const struct ck_args *a, struct ember_error *e)
{
	char bundle[PATH_MAX], rootfs[PATH_MAX], rel[PATH_MAX], p[2 * PATH_MAX];
	json_t *spec = NULL;
	struct runtime_cgroup *cg = NULL;
	struct runtime_started s = { .pidfd = -1, .pty_master = -1 };
	int images = -1, work = -1, console = -1, r;

	if (!realpath(a->bundle ? a->bundle : ".", bundle))
		return err_sys(e, errno, "restore %s: bundle %s", a->id, a->bundle ? a->bundle : ".");
	if ((r = bundle_spec(bundle, &spec, e)) < 0)
		goto out;
	/* A terminal's new master goes where runc sends it: the console
	   socket, connected before CRIU starts so that a wrong one fails
	   with nothing restored. */
	int terminal = json_is_true(json_object_get(json_object_get(spec, "process"), "terminal"));
	if (terminal && !a->console_path)
		r = err_invalid(e, "process.terminal: the restored container's terminal goes to --console-socket: give one");
	else if (!terminal && a->console_path)
		r = err_invalid(e, "--console-socket: only for a container with a terminal (process.terminal)");
	else if ((r = open_dirs(a, 0, &images, &work, e)) == 0 && terminal &&
		 (console = oci_console_connect(a->console_path, e)) < 0)
		r = -e->code;
	if (r < 0)
		goto out;
	const char *rp = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
	snprintf(p, sizeof(p), rp && rp[0] == '/' ? "%s" : "%s/%s", rp && rp[0] == '/' ? rp : bundle, rp ? rp : "rootfs");
	if (!realpath(p, rootfs)) {
		r = err_sys(e, errno, "rootfs %s", p);
		goto out;
	}
	const char *cp = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
	while (cp && *cp == '/')
		cp++;
	snprintf(rel, sizeof(rel), cp && *cp ? "%s" : "ember-oci/%s", cp && *cp ? cp : a->id);
	if (ENABLED(CONFIG_CGROUPS) && (r = runtime_cgroup_create(CGROUP_MNT, rel, &cg, e)) < 0)
		goto out;
	if (ENABLED(CONFIG_CGROUP_DEVICES) && cg && (r = runtime_cgroup_devices(cg, json_object_get(spec, "linux"), e)) < 0)
		goto out;
	struct runtime_checkpoint c = {
		.images_fd = images, .work_fd = work, .work_path = a->work_path, .spec = spec, .rootfs = rootfs,
		.tcp_established = a->tcp_established, .file_locks = a->file_locks, .manage_cgroups = cg != NULL,
		.cg = cg, .terminal = terminal,
	};
	stdio_files(images, &c);
	if ((r = runtime_restore(&c, &s, e)) < 0)
		goto out;
	char lock[32];
	if (ENABLED(CONFIG_NET_NAT) && runtime_criu_netlock(images, lock) && (r = net_nat_delete_in(s.pid, lock, e)) < 0) {
		err_wrap(e, "CRIU's network lock");
		goto out;
	}
	if (terminal && (r = oci_console_send(TAKE_FD(console), s.pty_master, e)) < 0)
		goto out;
	if ((r = write_state(root, a, bundle, rootfs, cg ? rel : "", spec, &s, e)) < 0)
		goto out;
	if (a->pid_file) {
		FILE *f = fopen(a->pid_file, "we");
		if (!f || fprintf(f, "%d", (int)s.pid) < 0 || fclose(f) != 0) {
			r = err_sys(e, errno, "--pid-file %s", a->pid_file);
			goto out;
		}
	}
out:
	/* Restored but not handed over (its terminal, its state): it goes,
	   before its cgroup does. */
	if (r < 0 && s.pidfd >= 0 && syscall(SYS_pidfd_send_signal, s.pidfd, SIGKILL, NULL, 0) == 0)
		(void)waitid((idtype_t)3 /* P_PIDFD */, (id_t)s.pidfd, &(siginfo_t){ 0 }, WEXITED);
	if (r < 0 && ENABLED(CONFIG_CGROUPS) && cg)
		(void)runtime_cgroup_remove(cg, &(struct ember_error){ 0 });
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(cg);
	close_keep_errno(console);
	close_keep_errno(s.pty_master);
	close_keep_errno(s.pidfd);
	close_keep_errno(images);
	close_keep_errno(work);
	json_decref(spec);
	return r < 0 ? err_wrap(e, "restore %s", a->id) : 0;
}

int oci_checkpoint_main(const char *root, int argc, char **argv, const char **gone, struct ember_error *e)
{
	struct ck_args a;
	int restoring = !strcmp(argv[0], "restore");

	*gone = NULL;
	if (parse(argc, argv, restoring, &a, e) < 0)
		return -e->code;
	if (restoring)
		return restore(root, &a, e);
	if (checkpoint(root, &a, e) < 0)
		return -e->code;
	if (!a.leave_running)
		*gone = a.id;
	return 0;
}
