/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The part of a snapshotter that every backend shares: records, trees,
 * the crash rules and recovery (see snapshot.h). Backends (mounts.c,
 * btrfs.c) say how an active tree is filled and how a snapshot mounts;
 * btrfs's trees are subvolumes, made and removed by its own hooks.
 */
#include "snapshot/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metadata/metadata.h"
#include "snapshot/snapshot-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"
#include "util/timestamp.h"

#define MAX_KEY 1024

static const struct snapshot_backend *const backends[] = {
#ifdef CONFIG_SNAPSHOT_OVERLAY
	&snapshot_overlay,
#endif
#ifdef CONFIG_SNAPSHOT_NATIVE
	&snapshot_native,
#endif
#ifdef CONFIG_SNAPSHOT_BTRFS
	&snapshot_btrfs,
#endif
	NULL,
};

const char *const snapshot_backends[] = {
#ifdef CONFIG_SNAPSHOT_OVERLAY
	"overlay",
#endif
#ifdef CONFIG_SNAPSHOT_NATIVE
	"native",
#endif
#ifdef CONFIG_SNAPSHOT_BTRFS
	"btrfs",
#endif
	NULL,
};

static const char *const kind_names[] = { "committed", "active", "view" };

const char *snapshot_kind_name(enum snapshot_kind k)
{
	return kind_names[k];
}

static int kind_of(json_t *rec)
{
	const char *k = json_string_value(json_object_get(rec, "kind"));
	for (int i = 0; k && i < 3; i++)
		if (!strcmp(k, kind_names[i]))
			return i;
	return -1;
}

const char *snapshot_name(const struct snapshotter *sn)
{
	return sn->be->name;
}

int snapshot_whiteouts(const struct snapshotter *sn)
{
	return sn->be->whiteouts;
}

/* The backend's tree hooks, or NULL for plain directories (always, and
   the branches that use them gone, in a build without btrfs). */
static const struct snapshot_trees *trees_of(const struct snapshotter *sn)
{
	return ENABLED(CONFIG_SNAPSHOT_BTRFS) ? sn->be->trees : NULL;
}

/* A tree's directory (tmp/<id>, trees/<id>) and everything in it. */
static int tree_remove(struct snapshotter *sn, int dir_fd, const char *name, struct ember_error *e)
{
	const struct snapshot_trees *t = trees_of(sn);

	return t ? t->remove(dir_fd, name, e) : fs_remove_tree(dir_fd, name, e);
}

int snapshot_open(int root_fd, const char *root_path, const char *name, struct snapshotter **out,
		  struct ember_error *e)
{
	const struct snapshot_backend *be = NULL;

	if (name && !strcmp(name, "overlayfs"))
		name = "overlay";
	for (size_t i = 0; backends[i] && name; i++)
		if (!strcmp(backends[i]->name, name))
			be = backends[i];
	if (!be)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "snapshotter \"%.64s\" is not compiled in",
				    name ? name : "");
	struct snapshotter *sn = calloc(1, sizeof(*sn));
	if (!sn)
		return err_set(e, ENOMEM, "out of memory");
	sn->be = be;
	sn->dir_fd = sn->records_fd = sn->trees_fd = sn->tmp_fd = -1;
	if (asprintf(&sn->path, "%s/snapshots/%s", root_path, be->name) < 0) {
		sn->path = NULL;
		snapshot_close(sn);
		return err_set(e, ENOMEM, "out of memory");
	}
	_cleanup_close_ int top = fs_open_dir(root_fd, "snapshots", 1, 0700, e);
	if (top >= 0 && (sn->dir_fd = fs_open_dir(top, be->name, 1, 0700, e)) >= 0 && trees_of(sn) &&
	    trees_of(sn)->check(sn, e) < 0) {
		snapshot_close(sn);
		return -e->code; /* named already: the store cannot hold this backend */
	}
	if (top < 0 || sn->dir_fd < 0 ||
	    (sn->records_fd = fs_open_dir(sn->dir_fd, "records", 1, 0700, e)) < 0 ||
	    (sn->trees_fd = fs_open_dir(sn->dir_fd, "trees", 1, 0700, e)) < 0 ||
	    (sn->tmp_fd = fs_open_dir(sn->dir_fd, "tmp", 1, 0700, e)) < 0) {
		snapshot_close(sn);
		return err_wrap(e, "snapshotter %s", be->name);
	}
	*out = sn;
	return 0;
}

void snapshot_close(struct snapshotter *sn)
{
	if (!sn)
		return;
	close_keep_errno(sn->dir_fd);
	close_keep_errno(sn->records_fd);
	close_keep_errno(sn->trees_fd);
	close_keep_errno(sn->tmp_fd);
	free(sn->path);
	free(sn);
}

/* ---- records --------------------------------------------------------------- */

static int key_check(const char *key, struct ember_error *e)
{
	if (!key || !*key)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "a snapshot key may not be empty");
	if (strlen(key) > MAX_KEY)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "snapshot key \"%.40s...\" is longer than %d bytes",
				    key, MAX_KEY);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "snapshot key \"%.64s\" has a control character", key);
	return 0;
}

static int ns_dir(struct snapshotter *sn, const char *ns, int create, struct ember_error *e)
{
	if (meta_identifier_check("namespace", ns, e) < 0)
		return -e->code;
	int fd = openat(sn->records_fd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create)
		return fs_open_dir(sn->records_fd, ns, 1, 0700, e);
	/* Every failure fills e: callers may report it as it is. */
	if (fd < 0)
		return err_sys(e, errno, "snapshot records of namespace %s", ns);
	return fd;
}

int snapshot_get(struct snapshotter *sn, const char *ns, const char *key, json_t **out, struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];

	if (key_check(key, e) < 0)
		return -e->code;
	_cleanup_close_ int fd = ns_dir(sn, ns, 0, e);
	if (fd == -ENOENT)
		goto missing;
	if (fd < 0)
		return err_sys(e, -fd, "snapshot records of namespace %s", ns);
	meta_object_file_name(key, file);
	int r = record_read(fd, file, out, e);
	if (r == -ENOENT)
		goto missing;
	return r < 0 ? err_wrap(e, "snapshot %s", key) : 0;
missing:
	return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "snapshot \"%.200s\" not found (snapshotter %s)", key,
			    sn->be->name);
}

static int rec_put(struct snapshotter *sn, const char *ns, json_t *rec, struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];
	_cleanup_close_ int fd = ns_dir(sn, ns, 1, e);

	if (fd < 0)
		return fd == -ENOENT ? err_sys(e, ENOENT, "snapshot records") : -e->code;
	meta_object_file_name(json_string_value(json_object_get(rec, "key")), file);
	return record_write(fd, file, rec, e);
}

static int rec_delete(struct snapshotter *sn, const char *ns, const char *key, struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];
	_cleanup_close_ int fd = ns_dir(sn, ns, 0, e);

	if (fd < 0)
		return fd == -ENOENT ? 0 : err_sys(e, -fd, "snapshot records of %s", ns);
	meta_object_file_name(key, file);
	if (unlinkat(fd, file, 0) < 0 && errno != ENOENT)
		return err_sys(e, errno, "remove the record of snapshot %s", key);
	return fs_fsync_dir(fd, "snapshot records", e);
}

/* Tree ids are what fs_random_suffix() makes: short lowercase hex. A record
   naming anything else is damaged (and must not reach a path or a mount). */
static int id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n < 16 && strspn(id, "0123456789abcdef") == n;
}

static int rec_valid(json_t *rec)
{
	return json_is_string(json_object_get(rec, "key")) && kind_of(rec) >= 0 &&
	       id_valid(json_string_value(json_object_get(rec, "id")));
}

/* fn for each record of one namespace directory. damaged (may be NULL)
   counts what could not be read: recovery then removes no tree, since an
   unreadable record may name any. */
static int walk_ns(int fd, const char *ns, snapshot_walk_fn fn, void *userdata, unsigned *damaged,
		   struct ember_error *e)
{
	DIR *d = fs_opendir_at(fd, ".");
	if (!d) {
		if (damaged)
			(*damaged)++;
		return err_sys(e, errno, "read snapshot records of %s", ns);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		json_t *rec;
		struct ember_error ignored;
		if (record_read(fd, de->d_name, &rec, &ignored) < 0) {
			if (damaged)
				(*damaged)++;
			continue; /* written atomically: only damage makes this */
		}
		if (rec_valid(rec))
			r = fn(ns, rec, userdata);
		else if (damaged)
			(*damaged)++;
		json_decref(rec);
	}
	if (!de && errno && damaged)
		(*damaged)++;
	closedir(d);
	return r;
}

static int walk_all(struct snapshotter *sn, snapshot_walk_fn fn, void *userdata, unsigned *damaged,
		    struct ember_error *e)
{
	DIR *d = fs_opendir_at(sn->records_fd, ".");
	if (!d)
		return err_sys(e, errno, "read snapshot records");
	struct dirent *de;
	int r = 0;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = ns_dir(sn, de->d_name, 0, e);
		if (fd < 0) {
			if (damaged)
				(*damaged)++;
			continue;
		}
		r = walk_ns(fd, de->d_name, fn, userdata, damaged, e);
		close(fd);
		if (r < 0 && damaged) /* a namespace that cannot be read: count it, go on */
			r = 0;
	}
	if (!de && errno && damaged)
		(*damaged)++;
	closedir(d);
	return r;
}

int snapshot_walk_all(struct snapshotter *sn, snapshot_walk_fn fn, void *userdata, struct ember_error *e)
{
	return walk_all(sn, fn, userdata, NULL, e);
}

static int collect(const char *ns, json_t *rec, void *userdata)
{
	(void)ns;
	return json_array_append(userdata, rec) < 0 ? 1 : 0; /* 1: out of memory */
}

int snapshot_list(struct snapshotter *sn, const char *ns, json_t **out, struct ember_error *e)
{
	json_t *arr = json_array();
	if (!arr)
		return err_set(e, ENOMEM, "out of memory");
	int fd = ns_dir(sn, ns, 0, e);
	if (fd >= 0) {
		int r = walk_ns(fd, ns, collect, arr, NULL, e);
		close(fd);
		if (r != 0) {
			json_decref(arr);
			return r < 0 ? r : err_set(e, ENOMEM, "out of memory");
		}
	} else if (fd != -ENOENT) {
		json_decref(arr);
		return fd;
	}
	if (record_sort(arr, "key") < 0) {
		json_decref(arr);
		return err_set(e, ENOMEM, "out of memory");
	}
	*out = arr;
	return 0;
}

struct child_ctx {
	const char *key;
	char child[256];
};

static int find_child(const char *ns, json_t *rec, void *userdata)
{
	struct child_ctx *c = userdata;
	const char *parent = json_string_value(json_object_get(rec, "parent"));

	(void)ns;
	if (parent && !strcmp(parent, c->key)) {
		snprintf(c->child, sizeof(c->child), "%s", json_string_value(json_object_get(rec, "key")));
		return 1;
	}
	return 0;
}

/* Whether a mount of this mount namespace uses tree id (as a bind source,
   an overlay upper or lower directory): by "/trees/<id>/" in
   /proc/self/mountinfo, which names bind roots relative to their file
   system and overlay directories absolutely. Ids are random, so the
   suffix alone is unambiguous. Unknown (no /proc): not mounted. */
static int tree_mounted(const char *id)
{
	char needle[40], line[8192];
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return 0;
	snprintf(needle, sizeof(needle), "/trees/%s/", id);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

struct id_ctx {
	const char *id;
	const char *ns, *key; /* the record to leave out */
	int found;
};

static int names_id(const char *ns, json_t *rec, void *userdata)
{
	struct id_ctx *c = userdata;

	if (strcmp(json_string_value(json_object_get(rec, "id")), c->id))
		return 0;
	if (c->ns && !strcmp(ns, c->ns) && !strcmp(json_string_value(json_object_get(rec, "key")), c->key))
		return 0;
	c->found = 1;
	return 1;
}

/* ---- trees ------------------------------------------------------------------ */

struct snapshot_extract {
	struct snapshotter *sn;
	char *ns;
	char *parent;      /* key, or NULL */
	char parent_id[16];
	enum snapshot_kind kind;
	char id[16];
	int dir_fd;        /* tmp/<id> */
	int fs_fd;         /* tmp/<id>/fs */
	struct snapshot_usage usage;
	int synced;
	int layer; /* an unpacked layer, which other namespaces may share */
};

int snapshot_extract_fd(const struct snapshot_extract *x)
{
	return x->fs_fd;
}

void snapshot_extract_abort(struct snapshot_extract *x)
{
	struct ember_error ignored;

	if (!x)
		return;
	close_keep_errno(x->fs_fd);
	close_keep_errno(x->dir_fd);
	if (x->id[0])
		(void)tree_remove(x->sn, x->sn->tmp_fd, x->id, &ignored);
	free(x->ns);
	free(x->parent);
	free(x);
}

static void free_extract(struct snapshot_extract *x)
{
	x->id[0] = '\0'; /* the tree moved into trees/: keep it */
	snapshot_extract_abort(x);
}

/* Look up parent: it must be committed. */
static int parent_id(struct snapshotter *sn, const char *ns, const char *parent, char id[16], struct ember_error *e)
{
	json_t *rec;

	if (snapshot_get(sn, ns, parent, &rec, e) < 0)
		return err_wrap(e, "parent");
	int k = kind_of(rec);
	const char *v = json_string_value(json_object_get(rec, "id"));
	int r = 0;
	if (k != SNAPSHOT_COMMITTED)
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL,
				 "parent snapshot \"%.200s\" is %s, not committed", parent, kind_names[k]);
	else if (!id_valid(v))
		r = err_set(e, EIO, "snapshot %s: its record names no valid tree", parent);
	else
		snprintf(id, 16, "%s", v);
	json_decref(rec);
	return r;
}

static int extract_new(struct snapshotter *sn, const char *ns, const char *parent, enum snapshot_kind kind,
		       struct snapshot_extract **out, struct ember_error *e)
{
	struct snapshot_extract *x = calloc(1, sizeof(*x));

	if (!x)
		return err_set(e, ENOMEM, "out of memory");
	x->sn = sn;
	x->kind = kind;
	x->dir_fd = x->fs_fd = -1;
	x->ns = strdup(ns);
	x->parent = parent ? strdup(parent) : NULL;
	if (!x->ns || (parent && !x->parent)) {
		snapshot_extract_abort(x);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (parent && parent_id(sn, ns, parent, x->parent_id, e) < 0) {
		snapshot_extract_abort(x);
		return -e->code;
	}
	for (int tries = 0;; tries++) {
		char suffix[13];
		fs_random_suffix(suffix);
		snprintf(x->id, sizeof(x->id), "%s", suffix);
		struct stat st;
		int taken = fstatat(sn->trees_fd, x->id, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!taken && mkdirat(sn->tmp_fd, x->id, 0700) == 0)
			break;
		if (taken)
			errno = EEXIST;
		if (errno != EEXIST || tries > 64) {
			err_sys(e, errno, "create a snapshot tree in %s/tmp", sn->path);
			x->id[0] = '\0';
			snapshot_extract_abort(x);
			return -e->code;
		}
	}
	/* Subvolumes (btrfs) are made later, by fill or prepare. */
	if ((x->dir_fd = fs_open_dir(sn->tmp_fd, x->id, 0, 0, e)) < 0 ||
	    (!trees_of(sn) && (x->fs_fd = fs_open_dir(x->dir_fd, "fs", 1, 0755, e)) < 0) ||
	    (sn->be->work_dir && kind == SNAPSHOT_ACTIVE && mkdirat(x->dir_fd, "work", 0700) < 0 &&
	     err_sys(e, errno, "create the work directory"))) {
		snapshot_extract_abort(x);
		return -e->code;
	}
	*out = x;
	return 0;
}

int snapshot_extract_begin(struct snapshotter *sn, const char *ns, const char *parent,
			   struct snapshot_extract **out, struct ember_error *e)
{
	return extract_new(sn, ns, parent, SNAPSHOT_COMMITTED, out, e);
}

/* The parent's tree (x->parent is set). */
static int parent_tree(struct snapshot_extract *x, struct ember_error *e)
{
	char path[32];

	snprintf(path, sizeof(path), "%s/fs", x->parent_id);
	int fd = openat(x->sn->trees_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open the tree of snapshot %s", x->parent);
	return fd;
}

/* btrfs: the tree of a new snapshot, name in its directory: a writable
   snapshot of the parent or a new subvolume; a view's is an empty
   directory (it mounts its parent). */
static int trees_make(struct snapshot_extract *x, const char *name, struct ember_error *e)
{
	if (x->kind == SNAPSHOT_VIEW) {
		x->fs_fd = fs_open_dir(x->dir_fd, "fs", 1, 0755, e);
		return x->fs_fd < 0 ? -e->code : 0;
	}
	_cleanup_close_ int src = x->parent ? parent_tree(x, e) : -1;
	if (x->parent && src < 0)
		return -e->code;
	if (trees_of(x->sn)->make(x->dir_fd, name, src, e) < 0)
		return x->parent ? err_wrap(e, "snapshot of %s", x->parent) : -e->code;
	x->fs_fd = openat(x->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return x->fs_fd < 0 ? err_sys(e, errno, "open the new tree") : 0;
}

int snapshot_extract_fill(struct snapshot_extract *x, struct ember_error *e)
{
	/* btrfs: the layer goes into rw, which sync seals. */
	if (trees_of(x->sn))
		return trees_make(x, "rw", e);
	if (!x->sn->be->copy_parent || !x->parent)
		return 0;
	_cleanup_close_ int src = parent_tree(x, e);
	if (src < 0)
		return -e->code;
	if (snapshot_tree_copy(src, x->fs_fd, e) < 0)
		return err_wrap(e, "copy snapshot %s", x->parent);
	return 0;
}

int snapshot_extract_sync(struct snapshot_extract *x, struct ember_error *e)
{
	const struct snapshot_trees *t = trees_of(x->sn);

	if (t) {
		/* The layer becomes a read-only snapshot of what was unpacked,
		   and all of it (rw's removal too) on disk before any record.
		   Usage is not recorded: quota groups or a walk say it when
		   asked (a walk here would read the whole tree per layer). */
		close(x->fs_fd);
		x->fs_fd = -1;
		if (t->seal(x->dir_fd, e) < 0)
			return err_wrap(e, "seal the layer");
		if (syncfs(x->dir_fd) < 0)
			return err_sys(e, errno, "sync the snapshot tree");
		x->synced = 1;
		return 0;
	}
	/* One file system's dirty data, not the whole machine's. */
	if (syncfs(x->fs_fd) < 0)
		return err_sys(e, errno, "sync the snapshot tree");
	if (snapshot_tree_usage(x->fs_fd, &x->usage, e) < 0)
		return -e->code;
	x->synced = 1;
	return 0;
}

static json_t *new_record(const char *key, enum snapshot_kind kind, const char *parent, const char *id,
			  json_t *labels, const struct snapshot_usage *u)
{
	char now[TIMESTAMP_LEN];

	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "key", key, "kind", kind_names[kind], "id", id,
				"labels", labels ? json_deep_copy(labels) : json_object(), "created_at", now,
				"updated_at", now);
	if (rec && parent)
		json_object_set_new(rec, "parent", json_string(parent));
	if (rec && u)
		json_object_set_new(rec, "usage", json_pack("{s:I, s:I}", "size", (json_int_t)u->bytes, "inodes",
							    (json_int_t)u->inodes));
	return rec;
}

/* Move the finished tree into trees/ and write its record. */
static int extract_install(struct snapshot_extract *x, const char *key, json_t *labels, json_t **out,
			   struct ember_error *e)
{
	struct snapshotter *sn = x->sn;

	if (renameat(sn->tmp_fd, x->id, sn->trees_fd, x->id) < 0)
		return err_sys(e, errno, "move snapshot tree %s into place", x->id);
	char id[16];
	memcpy(id, x->id, sizeof(id));
	x->id[0] = '\0';
	if (fs_fsync_dir(sn->trees_fd, "snapshot trees", e) < 0 || fs_fsync_dir(sn->tmp_fd, "snapshot tmp", e) < 0)
		goto undo;
	json_t *rec = new_record(key, x->kind, x->parent, id, labels, x->synced && !trees_of(sn) ? &x->usage : NULL);
	if (rec && x->layer && json_object_set_new(rec, "layer", json_true()) < 0)
		json_decref(TAKE_PTR(rec));
	if (!rec) {
		err_set(e, ENOMEM, "out of memory");
		goto undo;
	}
	if (rec_put(sn, x->ns, rec, e) < 0) {
		/* The record may be in place though its directory's fsync failed:
		   the tree goes only once the record surely does not name it. */
		struct ember_error ignored;
		int gone = rec_delete(sn, x->ns, key, &ignored) == 0;
		json_decref(rec);
		if (gone)
			goto undo;
		return -e->code;
	}
	if (out)
		*out = rec;
	else
		json_decref(rec);
	return 0;
undo:;
	struct ember_error ignored;
	(void)tree_remove(sn, sn->trees_fd, id, &ignored);
	return -e->code;
}

int snapshot_extract_commit(struct snapshot_extract *x, const char *key, const char *parent, json_t *labels,
			    struct ember_error *e)
{
	json_t *old;
	char pid[16];

	if (!x->synced)
		return err_set(e, EINVAL, "snapshot %s: commit before sync", key);
	if (key_check(key, e) < 0)
		return -e->code;
	if (parent && parent_id(x->sn, x->ns, parent, pid, e) < 0)
		return err_wrap(e, "commit %s", key);
	if (parent && (!x->parent || strcmp(x->parent, parent))) {
		free(x->parent);
		if (!(x->parent = strdup(parent)))
			return err_set(e, ENOMEM, "out of memory");
	}
	if (snapshot_get(x->sn, x->ns, key, &old, e) == 0) {
		int k = kind_of(old);
		json_decref(old);
		if (k != SNAPSHOT_COMMITTED)
			return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
					    "snapshot \"%.200s\" exists and is %s", key, kind_names[k]);
		snapshot_extract_abort(x); /* another pull made the same layer */
		return 0;
	} else if (e->code != ENOENT) {
		return -e->code;
	}
	x->layer = 1;
	int r = extract_install(x, key, labels, NULL, e);
	if (r < 0)
		return r;
	free_extract(x);
	return 0;
}

/* A committed layer of another namespace that ns may name too: made by an
   unpack (a snapshot committed through the API may hold anything under
   any key), on the same parent. *out: its record. 0 if none. */
static int shareable(struct snapshotter *sn, const char *ns, const char *key, const char *parent, json_t **out,
		     struct ember_error *e)
{
	DIR *d = fs_opendir_at(sn->records_fd, ".");
	struct dirent *de;

	if (!d)
		return err_sys(e, errno, "read %s/records", sn->path);
	*out = NULL;
	while (!*out && (de = readdir(d))) {
		json_t *rec;
		struct ember_error ignored;
		if (de->d_name[0] == '.' || !strcmp(de->d_name, ns) ||
		    snapshot_get(sn, de->d_name, key, &rec, &ignored) < 0)
			continue;
		const char *p = json_string_value(json_object_get(rec, "parent"));
		if (kind_of(rec) == SNAPSHOT_COMMITTED && json_is_true(json_object_get(rec, "layer")) &&
		    id_valid(json_string_value(json_object_get(rec, "id"))) &&
		    (parent ? p && !strcmp(p, parent) : !p))
			*out = rec;
		else
			json_decref(rec);
	}
	closedir(d);
	return 0;
}

int snapshot_share(struct snapshotter *sn, const char *ns, const char *key, const char *parent,
		   struct ember_error *e)
{
	json_t *rec, *src;
	char pid[16];

	if (snapshot_get(sn, ns, key, &rec, e) == 0) {
		int k = kind_of(rec);
		json_decref(rec);
		return k == SNAPSHOT_COMMITTED;
	}
	if (e->code != ENOENT)
		return -e->code;
	if (parent && parent_id(sn, ns, parent, pid, e) < 0)
		return e->code == ENOENT ? 0 : err_wrap(e, "share %s", key);
	if (shareable(sn, ns, key, parent, &src, e) < 0)
		return -e->code;
	if (!src)
		return 0;
	json_t *u = json_object_get(src, "usage");
	struct snapshot_usage usage = {
		.bytes = (uint64_t)json_integer_value(json_object_get(u, "size")),
		.inodes = (uint64_t)json_integer_value(json_object_get(u, "inodes")),
	};
	rec = new_record(key, SNAPSHOT_COMMITTED, parent, json_string_value(json_object_get(src, "id")), NULL,
			 json_is_object(u) ? &usage : NULL);
	json_decref(src);
	if (!rec || json_object_set_new(rec, "layer", json_true()) < 0) {
		json_decref(rec);
		return err_set(e, ENOMEM, "out of memory");
	}
	/* The tree is committed and on disk already: the record is all. */
	int r = rec_put(sn, ns, rec, e);
	json_decref(rec);
	return r < 0 ? err_wrap(e, "share snapshot %s", key) : 1;
}

/* ---- the API's operations ---------------------------------------------------- */

static int must_be_new(struct snapshotter *sn, const char *ns, const char *key, struct ember_error *e)
{
	json_t *old;

	if (key_check(key, e) < 0)
		return -e->code;
	if (snapshot_get(sn, ns, key, &old, e) == 0) {
		json_decref(old);
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "snapshot \"%.200s\" already exists", key);
	}
	return e->code == ENOENT ? 0 : -e->code;
}

int snapshot_prepare(struct snapshotter *sn, const char *ns, const char *key, const char *parent,
		     enum snapshot_kind kind, json_t *labels, json_t **out, struct ember_error *e)
{
	struct snapshot_extract *x;

	if (kind == SNAPSHOT_COMMITTED)
		return err_set(e, EINVAL, "prepare makes active snapshots or views");
	if (must_be_new(sn, ns, key, e) < 0)
		return -e->code;
	if (extract_new(sn, ns, parent && *parent ? parent : NULL, kind, &x, e) < 0)
		return -e->code;
	int r = 0;
	if (trees_of(sn)) {
		/* A snapshot (btrfs) is on disk once made. */
		r = trees_make(x, "fs", e);
	} else if (kind == SNAPSHOT_ACTIVE && x->parent && sn->be->copy_parent) {
		/* A container may run on this copy: on disk before it is recorded. */
		r = snapshot_extract_fill(x, e);
		if (r == 0 && syncfs(x->fs_fd) < 0)
			r = err_sys(e, errno, "sync the copy of %s", x->parent);
	}
	if (r == 0)
		r = extract_install(x, key, labels, out, e);
	if (r < 0) {
		snapshot_extract_abort(x);
		return r;
	}
	free_extract(x);
	return 0;
}

static int tree_fd(struct snapshotter *sn, json_t *rec, struct ember_error *e)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	char path[32];

	if (!id_valid(id))
		return err_set(e, EIO, "snapshot %s: its record names no valid tree",
			       json_string_value(json_object_get(rec, "key")));
	snprintf(path, sizeof(path), "%s/fs", id);
	int fd = openat(sn->trees_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open the tree of snapshot %s", json_string_value(json_object_get(rec, "key")));
	return fd;
}

int snapshot_commit(struct snapshotter *sn, const char *ns, const char *name, const char *key,
		    json_t *labels, json_t **out, struct ember_error *e)
{
	json_t *rec;
	struct snapshot_usage u;

	if (must_be_new(sn, ns, name, e) < 0 || snapshot_get(sn, ns, key, &rec, e) < 0)
		return -e->code;
	int r = 0;
	if (kind_of(rec) != SNAPSHOT_ACTIVE) {
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "snapshot \"%.200s\" is %s, not active",
				 key, json_string_value(json_object_get(rec, "kind")));
		goto out;
	}
	if (tree_mounted(json_string_value(json_object_get(rec, "id")))) {
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				 "snapshot \"%.200s\" is mounted: unmount it before committing", key);
		goto out;
	}
	int fd = tree_fd(sn, rec, e);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	const struct snapshot_trees *t = trees_of(sn);
	/* btrfs: read-only from now on (recovery makes the tree of an active
	   record writable again, should the record below not be written). */
	if (t && t->set_readonly(fd, 1, e) < 0)
		r = err_wrap(e, "commit %s", key);
	else if (syncfs(fd) < 0)
		r = err_sys(e, errno, "sync snapshot %s", key);
	else if (!t)
		r = snapshot_tree_usage(fd, &u, e);
	if (r < 0 && t) {
		struct ember_error ignored;
		(void)t->set_readonly(fd, 0, &ignored);
	}
	if (r < 0 || !t) {
		close(fd);
		fd = -1;
	}
	if (r < 0)
		goto out;
	json_t *merged = json_is_object(json_object_get(rec, "labels")) ? json_deep_copy(json_object_get(rec, "labels"))
									 : json_object();
	if (merged && labels)
		json_object_update(merged, labels);
	json_t *c = new_record(name, SNAPSHOT_COMMITTED, json_string_value(json_object_get(rec, "parent")),
			       json_string_value(json_object_get(rec, "id")), merged, t ? NULL : &u);
	json_decref(merged);
	if (!c)
		r = err_set(e, ENOMEM, "out of memory");
	/* Committed record first: a crash between the two leaves both, and
	   recovery drops the active one. */
	if (c)
		r = rec_put(sn, ns, c, e);
	if (r < 0 && fd >= 0) {
		struct ember_error ignored;
		(void)t->set_readonly(fd, 0, &ignored);
	}
	close_keep_errno(fd);
	if (r == 0) {
		/* Committed now. An active record left behind is dropped by
		   recovery, and removal never takes a tree another record names.
		   work/ stays: it is overlayfs's, and small. */
		struct ember_error ignored;
		(void)rec_delete(sn, ns, key, &ignored);
	}
	if (r == 0 && out)
		*out = json_incref(c);
	json_decref(c);
out:
	json_decref(rec);
	return r;
}

int snapshot_remove(struct snapshotter *sn, const char *ns, const char *key, struct ember_error *e)
{
	char id[SNAPSHOT_ID_MAX];

	if (snapshot_remove_record(sn, ns, key, id, e) < 0)
		return -e->code;
	snapshot_remove_tree(sn, id);
	return 0;
}

int snapshot_remove_record(struct snapshotter *sn, const char *ns, const char *key, char id[SNAPSHOT_ID_MAX],
			   struct ember_error *e)
{
	json_t *rec;

	if (snapshot_get(sn, ns, key, &rec, e) < 0)
		return -e->code;
	struct child_ctx c = { .key = key };
	int fd = ns_dir(sn, ns, 0, e);
	if (fd >= 0) {
		(void)walk_ns(fd, ns, find_child, &c, NULL, e);
		close(fd);
	}
	if (c.child[0]) {
		json_decref(rec);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				    "snapshot \"%.150s\" is the parent of \"%.150s\"", key, c.child);
	}
	const char *rid = json_string_value(json_object_get(rec, "id"));
	if (!id_valid(rid)) {
		json_decref(rec);
		return err_set(e, EIO, "snapshot %.200s: its record names no valid tree", key);
	}
	snprintf(id, SNAPSHOT_ID_MAX, "%s", rid);
	json_decref(rec);
	/* A tree that another record names stays (a layer shared by
	   namespaces): its mounts are that record's. */
	struct id_ctx ic = { id, ns, key, 0 };
	struct ember_error ignored;
	if (tree_mounted(id) && (walk_all(sn, names_id, &ic, NULL, &ignored) < 0 || !ic.found))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				    "snapshot \"%.200s\" is mounted: unmount it first", key);
	/* Record first: a crash then leaves a tree without a record, which
	   recovery removes; never a record without its tree. */
	return rec_delete(sn, ns, key, e);
}

void snapshot_remove_tree(struct snapshotter *sn, const char *id)
{
	struct id_ctx ic = { id, NULL, NULL, 0 };
	struct ember_error ignored;

	if (walk_all(sn, names_id, &ic, NULL, &ignored) == 0 && !ic.found)
		(void)tree_remove(sn, sn->trees_fd, id, &ignored); /* on failure recovery retries */
}

int snapshot_set_labels(struct snapshotter *sn, const char *ns, const char *key, json_t *labels,
			json_t **out, struct ember_error *e)
{
	json_t *rec;
	char now[TIMESTAMP_LEN];

	if (snapshot_get(sn, ns, key, &rec, e) < 0)
		return -e->code;
	json_t *cur = json_object_get(rec, "labels");
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v) {
		if (!*json_string_value(v))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	timestamp_now(now);
	json_object_set_new(rec, "updated_at", json_string(now));
	int r = rec_put(sn, ns, rec, e);
	if (r == 0 && out)
		*out = json_incref(rec);
	json_decref(rec);
	return r;
}

int snapshot_mounts(struct snapshotter *sn, const char *ns, const char *key, json_t **out,
		    struct ember_error *e)
{
	json_t *rec;
	json_t *chain = json_array(); /* tree ids: the snapshot, then its parents */

	if (!chain)
		return err_set(e, ENOMEM, "out of memory");
	if (snapshot_get(sn, ns, key, &rec, e) < 0) {
		json_decref(chain);
		return -e->code;
	}
	int kind = kind_of(rec);
	int r = 0;
	for (json_t *cur = json_incref(rec); cur;) {
		if (!id_valid(json_string_value(json_object_get(cur, "id")))) {
			r = err_set(e, EIO, "snapshot %s: a record of its chain names no valid tree", key);
			json_decref(cur);
			break;
		}
		json_array_append(chain, json_object_get(cur, "id"));
		const char *parent = json_string_value(json_object_get(cur, "parent"));
		json_t *next = NULL;
		if (parent && json_array_size(chain) > 512)
			r = err_set(e, ELOOP, "snapshot %s: more than 512 parents", key);
		else if (parent && snapshot_get(sn, ns, parent, &next, e) < 0)
			r = err_wrap(e, "snapshot %s", key);
		json_decref(cur);
		cur = r < 0 ? json_decref(next), NULL : next;
	}
	if (r == 0)
		r = sn->be->mounts(sn, kind, chain, out, e);
	json_decref(chain);
	json_decref(rec);
	return r;
}

int snapshot_usage(struct snapshotter *sn, const char *ns, const char *key, struct snapshot_usage *u,
		   struct ember_error *e)
{
	json_t *rec;

	if (snapshot_get(sn, ns, key, &rec, e) < 0)
		return -e->code;
	json_t *usage = json_object_get(rec, "usage");
	int r = 0;
	if (kind_of(rec) == SNAPSHOT_COMMITTED && json_is_object(usage)) {
		u->bytes = (uint64_t)json_integer_value(json_object_get(usage, "size"));
		u->inodes = (uint64_t)json_integer_value(json_object_get(usage, "inodes"));
	} else {
		const struct snapshot_trees *t = trees_of(sn);
		int fd = tree_fd(sn, rec, e);
		r = fd < 0 ? fd : t ? t->usage(fd, u, e) : 0;
		if (r == 0) /* not counted by the file system: walk */
			r = snapshot_tree_usage(fd, u, e);
		r = r < 0 ? r : 0;
		close_keep_errno(fd);
	}
	json_decref(rec);
	return r;
}

/* ---- recovery ----------------------------------------------------------------- */

struct recover_ctx {
	struct snapshotter *sn;
	json_t *ids;       /* id -> kind of the first record naming it */
	json_t *stale;     /* [ns, key] of active records whose commit finished */
	unsigned damaged;
};

static int note_id(const char *ns, json_t *rec, void *userdata)
{
	struct recover_ctx *rc = userdata;
	const char *id = json_string_value(json_object_get(rec, "id"));
	json_t *have = json_object_get(rc->ids, id);
	int k = kind_of(rec);

	if (!have) {
		if (json_object_set_new(rc->ids, id, json_pack("{s:i, s:s, s:O}", "kind", k, "ns", ns, "key",
								 json_object_get(rec, "key"))) < 0)
			rc->damaged++; /* out of memory: as unsure as damage */
		return 0;
	}
	int hk = (int)json_integer_value(json_object_get(have, "kind"));
	/* One tree named twice: only a commit interrupted between writing the
	   committed record and deleting the active one does that. */
	if (k == SNAPSHOT_ACTIVE && hk == SNAPSHOT_COMMITTED)
		json_array_append_new(rc->stale, json_pack("[s, O]", ns, json_object_get(rec, "key")));
	else if (k == SNAPSHOT_COMMITTED && hk == SNAPSHOT_ACTIVE) {
		json_array_append_new(rc->stale, json_pack("[O, O]", json_object_get(have, "ns"),
							   json_object_get(have, "key")));
		json_object_set_new(rc->ids, id, json_pack("{s:i}", "kind", k));
	}
	return 0;
}

/* btrfs: a commit sets its tree read-only before it writes the committed
   record; cut in between, the tree of an active record is writable again. */
static void trees_writable(struct snapshotter *sn, json_t *ids)
{
	const char *id;
	json_t *v;
	char path[32];

	json_object_foreach(ids, id, v) {
		if (json_integer_value(json_object_get(v, "kind")) != SNAPSHOT_ACTIVE)
			continue;
		snprintf(path, sizeof(path), "%s/fs", id);
		int fd = openat(sn->trees_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct ember_error ignored;
		if (fd >= 0)
			(void)trees_of(sn)->set_readonly(fd, 0, &ignored);
		close_keep_errno(fd);
	}
}

int snapshot_recover(struct snapshotter *sn, struct snapshot_recovery *st, struct ember_error *e)
{
	struct recover_ctx rc = { sn, json_object(), json_array(), 0 };
	struct dirent *de;
	int r = 0;

	memset(st, 0, sizeof(*st));
	if (!rc.ids || !rc.stale) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	/* Trees being built: nothing names them. */
	DIR *d = fs_opendir_at(sn->tmp_fd, ".");
	if (!d) {
		r = err_sys(e, errno, "read %s/tmp", sn->path);
		goto out;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    tree_remove(sn, sn->tmp_fd, de->d_name, e) == 0)
			st->removed_tmp++;
	closedir(d);
	(void)fs_remove_tmp(sn->records_fd, e);

	d = fs_opendir_at(sn->records_fd, ".");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = ns_dir(sn, de->d_name, 0, e);
		if (fd >= 0) {
			(void)fs_remove_tmp(fd, e);
			close(fd);
		}
	}
	if (d)
		closedir(d);
	/* Strict: a record, namespace or directory that cannot be read may name
	   any tree, and then no tree is removed. */
	r = walk_all(sn, note_id, &rc, &rc.damaged, e);
	if (r < 0)
		goto out;
	size_t i;
	json_t *s;
	json_array_foreach(rc.stale, i, s) {
		if (rec_delete(sn, json_string_value(json_array_get(s, 0)), json_string_value(json_array_get(s, 1)), e) == 0)
			st->removed_records++;
	}
	if (trees_of(sn))
		trees_writable(sn, rc.ids);
	if (rc.damaged)
		goto out;
	d = fs_opendir_at(sn->trees_fd, ".");
	if (!d) {
		r = err_sys(e, errno, "read %s/trees", sn->path);
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (json_object_get(rc.ids, de->d_name))
			continue;
		struct ember_error ignored;
		if (tree_remove(sn, sn->trees_fd, de->d_name, &ignored) == 0)
			st->removed_orphans++;
	}
	closedir(d);
	if (st->removed_orphans)
		(void)fs_fsync_dir(sn->trees_fd, "snapshot trees", e);
out:
	json_decref(rc.ids);
	json_decref(rc.stale);
	return r < 0 ? err_wrap(e, "recover snapshotter %s", sn->be->name) : 0;
}
