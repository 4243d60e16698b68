/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint and restore jobs' work (see tasks.h): what CRIU needs from a task, and back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/networks.h"
#include "daemon/tasks.h"
#include "net/net.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mount.h"

/*
 * Next to CRIU's images, ember.json says what CRIU cannot: which of the
 * dumped tree's files were ember init's state files (outside the
 * container: CRIU dumps them as external "file[MNT:INO]" keys, and a
 * restore hands it the new task's files for them), and the options a
 * restore must repeat. ember init's own executable, the daemon's binary
 * mapped from the host's mount, is not in the container's mount namespace
 * either: it is external too ("ember"), and a restore hands CRIU the
 * restoring daemon's binary (CRIU refuses one of another size).
 */
#define CHECKPOINT_META "ember.json"
#define CHECKPOINT_META_MAX (64u << 10)

static const char *const state_files[] = { "exit", "log.0", "log.1" };
#define SELF_FILE "ember" /* in ember.json's files: init's executable */

/* Every bind mount's source must be on this host for a restore to mount
   it again; one that went (removed while the container ran) fails now,
   before CRIU freezes anything. */
static int binds_check(json_t *spec, const char *what, struct ember_error *e)
{
	json_t *m;
	size_t i;
	struct stat st;
	char q1[ERR_QUOTE_MAX], q2[ERR_QUOTE_MAX];

	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));
		if (!runtime_mount_is_bind(m) || !dst || !src || stat(src, &st) == 0)
			continue;
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, errno,
				    "%s: bind mount \"%s\": its source \"%s\" is not on the host (%s): CRIU could not "
				    "mount it again on restore",
				    what, err_quote(dst, q1), err_quote(src, q2), strerror(errno));
	}
	return 0;
}

static int open_task_dir(struct daemon *d, const char *ns, const char *id, struct ember_error *e)
{
	_cleanup_close_ int nsfd = fs_open_dir(d->tasks_fd, ns, 0, 0, e);
	if (nsfd < 0)
		return -e->code;
	return fs_open_dir(nsfd, id, 0, 0, e);
}

/* ember.json, and which files are init's (keys in c->files). */
static int write_meta(struct daemon *d, const char *ns, const char *id, const struct task_checkpoint_options *o,
		      struct runtime_checkpoint *c, struct ember_error *e)
{
	_cleanup_close_ int dir = open_task_dir(d, ns, id, e);
	if (dir < 0)
		return -e->code;
	json_t *files = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(state_files); i++) {
		_cleanup_close_ int fd = openat(dir, state_files[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct runtime_criu_file *f = &c->files[c->n_files];
		if (fd < 0)
			continue;
		if (runtime_criu_file_key(fd, f->key, e) < 0) {
			json_decref(files);
			return -e->code;
		}
		f->fd = -1;
		c->n_files++;
		json_object_set_new(files, state_files[i], json_string(f->key));
	}
	if (d->self_fd >= 0) {
		struct runtime_criu_file *f = &c->files[c->n_files];
		if (runtime_criu_file_key(d->self_fd, f->key, e) < 0) {
			json_decref(files);
			return -e->code;
		}
		f->fd = -1;
		c->n_files++;
		json_object_set_new(files, SELF_FILE, json_string(f->key));
	}
	json_t *meta = json_pack("{s:o, s:b, s:b, s:s, s:s}", "files", files, "tcp_established", o->tcp_established,
				 "file_locks", o->file_locks, "namespace", ns, "id", id);
	if (meta && o->pty_fd >= 0)
		json_object_set_new(meta, "pty_fd", json_integer(o->pty_fd));
	_cleanup_free_ char *text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
	json_decref(meta);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	return fs_write_atomic(c->images_fd, CHECKPOINT_META, text, strlen(text), 0600, e);
}

/* The spec as the task runs it: the record's, and the mounts its start
   added for its network (hosts, hostname, resolv.conf from its state
   directory), which are bind mounts CRIU must know as external too. */
static int dump_spec(struct daemon *d, const char *ns, const char *id, json_t *rec, json_t **spec,
		     struct ember_error *e)
{
	char dir[PATH_MAX];
	struct network_start net = { .d = d, .ns = ns, .id = id, .net = json_object_get(rec, "network") };

	*spec = json_deep_copy(json_object_get(rec, "spec"));
	if (!*spec)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(dir, sizeof(dir), "%s/tasks/%s/%s", d->state_path, ns, id);
	return net.net ? networks_start_prepare(&net, -1, dir, *spec, e) : 0;
}

static int dump(struct daemon *d, const char *ns, const char *id, json_t *rec, const struct task_checkpoint_options *o,
		struct runtime_checkpoint *c, struct ember_error *e)
{
	char rootfs[PATH_MAX];

	if (binds_check(c->spec, "container", e) < 0 || fs_mkdir_p(o->image_path, 0700, e) < 0)
		return -e->code;
	_cleanup_close_ int images = open(o->image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (images < 0)
		return err_sys(e, errno, "%s", o->image_path);
	c->images_fd = images;
	if (write_meta(d, ns, id, o, c, e) < 0)
		return -e->code;
	snprintf(rootfs, sizeof(rootfs), "%s/tasks/%s/%s/rootfs", d->state_path, ns, id);
	c->work_path = o->image_path;
	c->rootfs = rootfs;
	c->leave_running = !o->exit;
	c->tcp_established = o->tcp_established;
	c->file_locks = o->file_locks;
	if (runtime_checkpoint(c, e) < 0)
		return -e->code;
	if (!o->image)
		return 0;
	/* Dumped: with --exit the task is gone, and the directory stays
	   whatever becomes of the image. */
	if (checkpoint_image_write(d, ns, rec, images, o->image, e) < 0)
		return err_wrap(e, "the images are in %s", o->image_path);
	struct ember_error ignored;
	if (o->remove)
		(void)fs_remove_tree(AT_FDCWD, o->image_path, &ignored);
	return 0;
}

int task_dump_run(struct daemon *d, const char *ns, const char *id, pid_t pid, int cgroup,
		  const struct task_checkpoint_options *o, struct ember_error *e)
{
	char bin[PATH_MAX];
	json_t *rec = NULL;
	struct runtime_checkpoint c = { .pid = pid, .images_fd = -1, .work_fd = -1, .manage_cgroups = cgroup };

	/* Why it cannot work, first: no criu, then a container CRIU cannot take. */
	if (runtime_criu_find(bin, sizeof(bin), e) < 0 || container_get(d, ns, id, &rec, e) < 0)
		return err_wrap(e, "checkpoint %s", id);
	if (o->image && checkpoint_image_check(d, ns, rec, e) < 0) {
		json_decref(rec);
		return err_wrap(e, "checkpoint %s", id);
	}
	int r = dump_spec(d, ns, id, rec, &c.spec, e);
	if (r == 0)
		r = dump(d, ns, id, rec, o, &c, e);
	json_decref(c.spec);
	json_decref(rec);
	return r < 0 ? err_wrap(e, "checkpoint %s", id) : 0;
}

/* The files CRIU is to restore init's state files from: the new task's;
   and the number of init's terminal master (pty_fd, -1: none). */
static int restore_files(struct daemon *d, int images_fd, int state_dir, struct runtime_checkpoint *c, int *pty_fd,
			 struct ember_error *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_error_t je;
	const char *name;
	json_t *v;

	if (fs_read_file(images_fd, CHECKPOINT_META, CHECKPOINT_META_MAX, &text, &len, e) < 0)
		return err_wrap(e, "not a checkpoint of ember");
	json_t *meta = json_loadb(text, len, 0, &je);
	json_t *files = json_object_get(meta, "files");
	if (!json_is_object(files)) {
		json_decref(meta);
		return err_invalid(e, "%s: no \"files\" object", CHECKPOINT_META);
	}
	c->tcp_established = json_is_true(json_object_get(meta, "tcp_established"));
	c->file_locks = json_is_true(json_object_get(meta, "file_locks"));
	json_t *pty = json_object_get(meta, "pty_fd");
	*pty_fd = -1;
	if (pty && (!json_is_integer(pty) || json_integer_value(pty) < 0 || json_integer_value(pty) > INT_MAX)) {
		json_decref(meta);
		return err_invalid(e, "%s: \"pty_fd\" is not a descriptor number", CHECKPOINT_META);
	}
	if (pty)
		*pty_fd = (int)json_integer_value(pty);
	json_object_foreach(files, name, v) {
		size_t k = 0;
		while (k < ARRAY_SIZE(state_files) && strcmp(name, state_files[k]))
			k++;
		int self = k == ARRAY_SIZE(state_files) && !strcmp(name, SELF_FILE);
		const char *key = json_string_value(v);
		if ((k == ARRAY_SIZE(state_files) && !self) || !key || strlen(key) >= sizeof(c->files[0].key) ||
		    c->n_files == RUNTIME_CHECKPOINT_FILES_MAX) {
			json_decref(meta);
			return err_invalid(e, "%s: files: unexpected entry", CHECKPOINT_META);
		}
		int fd;
		if (self && d->self_fd < 0) {
			json_decref(meta);
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
					    "the checkpoint's ember init needs this daemon's binary (no ember init here)");
		}
		/* The daemon's binary for init's executable; init writes the
		   exit file at offset 0, appends to the logs. */
		if (self)
			fd = fcntl(d->self_fd, F_DUPFD_CLOEXEC, 3);
		else
			fd = openat(state_dir, name, (k == 0 ? O_RDWR : O_WRONLY | O_APPEND) | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			json_decref(meta);
			return err_sys(e, errno, "task state: %s", name);
		}
		struct runtime_criu_file *f = &c->files[c->n_files++];
		snprintf(f->key, sizeof(f->key), "%s", key);
		f->fd = fd;
	}
	json_decref(meta);
	return 0;
}

/* CRIU mounts the container's root from a path: the snapshot goes there
   in the daemon's namespace, private so that taking it away again once
   CRIU has its copy reaches no other. */
static int mount_rootfs(json_t *mounts, const char *rootfs, struct ember_error *e)
{
	_cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "restore: %s", rootfs);
	if (mount_apply(mounts, fd, rootfs, e) < 0)
		return -e->code;
	if (mount(NULL, rootfs, NULL, MS_PRIVATE, NULL) < 0) {
		int err = errno;
		(void)umount2(rootfs, MNT_DETACH);
		return err_sys(e, err, "restore: make %s private", rootfs);
	}
	return 0;
}

int task_restore_run(struct daemon *d, int state_dir, json_t *spec, json_t *mounts, const char *rootfs,
		     const struct runtime_cgroup *cg, const char *image_path, const char *log_path,
		     const char *net_external, struct runtime_started *out, struct ember_error *e)
{
	char bin[PATH_MAX], work[PATH_MAX];
	struct runtime_checkpoint c = { .spec = spec, .rootfs = rootfs, .images_fd = -1, .work_fd = -1, .cg = cg };
	int mounted = 0, pty_fd = -1, r;

	if (runtime_criu_find(bin, sizeof(bin), e) < 0 || binds_check(spec, "restore", e) < 0)
		return -e->code;
	c.work_path = image_path;
	if (log_path) {
		/* The log's directory is CRIU's work directory, its name the log's. */
		const char *slash = strrchr(log_path, '/');
		if (!slash || slash == log_path || !slash[1] || (size_t)(slash - log_path) >= sizeof(work))
			return err_invalid(e, "restore: log path %s", log_path);
		snprintf(work, sizeof(work), "%.*s", (int)(slash - log_path), log_path);
		c.work_path = work;
		c.log_name = slash + 1;
		c.work_fd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c.work_fd < 0)
			return err_sys(e, errno, "restore: %s", work);
	}
	c.images_fd = open(image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.images_fd < 0) {
		r = err_sys(e, errno, "restore: %s", image_path);
		goto out;
	}
	if ((r = restore_files(d, c.images_fd, state_dir, &c, &pty_fd, e)) < 0) {
		err_wrap(e, "restore: %s", image_path);
		goto out;
	}
	if (mounts) {
		if ((r = mount_rootfs(mounts, rootfs, e)) < 0)
			goto out;
		mounted = 1;
	}
	c.manage_cgroups = cg != NULL;
	c.net_external = net_external;
	r = runtime_restore(&c, out, e);
	char lock[32];
	if (r == 0 && ENABLED(CONFIG_NET_NAT) && runtime_criu_netlock(c.images_fd, lock) &&
	    net_nat_delete_in(out->pid, lock, e) < 0) {
		r = err_wrap(e, "restore: CRIU's network lock");
		/* Restored, but cut off: it goes (it is our child). */
		if (syscall(SYS_pidfd_send_signal, out->pidfd, SIGKILL, NULL, 0) == 0)
			(void)waitid((idtype_t)3 /* P_PIDFD */, (id_t)out->pidfd, &(siginfo_t){ 0 }, WEXITED);
		out->pidfd = close_keep_errno(out->pidfd);
	}
	/* Restored at the same number in the same init. */
	if (r == 0)
		out->init_pty_fd = pty_fd;
	/* Restored: the log joins the images, where a restore leaves it,
	   and goes with them (the directories share a file system). */
	if (r == 0 && c.log_name)
		(void)renameat(c.work_fd, c.log_name, c.images_fd, "restore.log");
out:
	if (mounted)
		(void)umount2(rootfs, MNT_DETACH);
	for (size_t i = 0; i < c.n_files; i++)
		close_keep_errno(c.files[i].fd);
	close_keep_errno(c.images_fd);
	close_keep_errno(c.work_fd);
	return r;
}
