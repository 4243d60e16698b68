/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images shipped in the firmware (see preload.h). Which archives were
 * imported is kept in <root>/preload.json, by file name with its size and
 * modification time: an archive is imported once, again only when an
 * update replaced it; one that failed is reported and skipped until it
 * changes. A daemon killed in the middle of an import records nothing for
 * it, so the next start-up imports it again (what was stored is reused).
 */
#include "daemon/preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/tasks.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"

#define PRELOAD_RECORD "preload.json"
#define PRELOAD_NAMESPACE "default"

struct preload {
	struct daemon *d;
	char *dir;
	struct snapshotter *sn; /* the default; NULL: import only */
	json_t *done; /* file name -> {size, mtime_ns, images | error} */
	unsigned imported, failed, skipped;
};

static void preload_free(void *data)
{
	struct preload *p = data;

	json_decref(p->done);
	free(p->dir);
	free(p);
}

static json_int_t mtime_ns(const struct stat *st)
{
	return (json_int_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int same_file(json_t *rec, const struct stat *st)
{
	return json_integer_value(json_object_get(rec, "size")) == (json_int_t)st->st_size &&
	       json_integer_value(json_object_get(rec, "mtime_ns")) == mtime_ns(st);
}

static void one(struct job *j, struct preload *p, int dfd, const char *name)
{
	struct daemon *d = p->d;
	struct ember_error e;
	struct stat st;
	json_t *images = NULL;

	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_warn(&d->log, "preload: %s/%s: %s: skipped", p->dir, name, strerror(errno));
		close_keep_errno(fd);
		p->failed++;
		return;
	}
	json_t *rec = json_object_get(p->done, name);
	if (rec && same_file(rec, &st)) {
		close(fd);
		if (json_object_get(rec, "error"))
			log_warn(&d->log, "preload: %s/%s: skipped: it failed before (%s) and has not changed", p->dir,
				 name, json_string_value(json_object_get(rec, "error")));
		p->skipped++;
		return;
	}
	struct images_import_args a = {
		.ns = PRELOAD_NAMESPACE,
		.sn = p->sn,
		.fd = fd, /* taken */
		.runnable_only = 1,
	};
	int r = images_import_in(j, d, &a, &images, &e);
	json_t *entry = json_pack("{s:I, s:I}", "size", (json_int_t)st.st_size, "mtime_ns", mtime_ns(&st));
	if (r < 0 && e.code == ECANCELED) {
		json_decref(entry);
		return; /* the daemon stops: the next start-up imports it again */
	}
	if (r < 0) {
		log_warn(&d->log, "preload: %s/%s: %s: skipped", p->dir, name, e.message);
		json_object_set_new(entry, "error", json_string(e.message));
		p->failed++;
	} else {
		json_t *names = json_array();
		size_t i;
		json_t *im;
		json_array_foreach(images, i, im)
			json_array_append(names, json_object_get(im, "name"));
		char *list = json_dumps(names, JSON_COMPACT);
		log_info(&d->log, "preload: %s/%s: imported %s", p->dir, name, list ? list : "");
		free(list);
		json_object_set_new(entry, "images", names);
		p->imported++;
	}
	json_decref(images);
	json_object_set_new(p->done, name, entry);
	if (record_write(d->root_fd, PRELOAD_RECORD, p->done, &e) < 0)
		log_warn(&d->log, "preload: write %s: %s", PRELOAD_RECORD, e.message);
}

static int preload_run(struct job *j, void *data, struct ember_error *e)
{
	struct preload *p = data;
	size_t n;

	_cleanup_close_ int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0; /* nothing shipped */
		return err_sys(e, errno, "preload: %s", p->dir);
	}
	if (record_read(p->d->root_fd, PRELOAD_RECORD, &p->done, e) < 0) {
		if (e->code != ENOENT)
			log_warn(&p->d->log, "preload: %s: %s: every archive is imported again", PRELOAD_RECORD,
				 e->message);
		err_clear(e);
		p->done = NULL;
	}
	if (!json_is_object(p->done)) {
		json_decref(p->done);
		if (!(p->done = json_object()))
			return err_set(e, ENOMEM, "out of memory");
	}
	char **names;
	if (fs_list_names(dfd, &names, &n, e) < 0)
		return err_wrap(e, "preload: %s", p->dir);
	/* In name order; what is not a regular file is not an archive. */
	for (size_t i = 0; i < n && !job_cancelled(j); i++) {
		struct stat st;
		if (fstatat(dfd, names[i], &st, 0) == 0 && S_ISREG(st.st_mode))
			one(j, p, dfd, names[i]);
	}
	fs_names_free(names, n);
	return 0;
}

static void preload_done(struct daemon *d, void *data, int result, const struct ember_error *e)
{
	struct preload *p = data;

	if (result < 0 && e->code != ECANCELED)
		log_warn(&d->log, "%s", e->message);
	else if (p->imported || p->failed)
		log_info(&d->log, "preload: %u archive(s) imported, %u failed, %u already done", p->imported,
			 p->failed, p->skipped);
	if (ENABLED(CONFIG_RUNTIME_DAEMON))
		tasks_boot(d);
}

static const struct call_job_ops preload_ops = {
	.kind = "preload",
	.run = preload_run,
	.done = preload_done,
	.free = preload_free,
};

void preload_start(struct daemon *d)
{
	struct preload *p = NULL;
	const char *dir = d->cfg.preload;

	if (ENABLED(CONFIG_IMAGE_ARCHIVE) && dir && *dir && access(dir, F_OK) == 0 &&
	    (p = calloc(1, sizeof(*p))) && (p->dir = strdup(dir))) {
		p->d = d;
		struct ember_error e;
		if (ENABLED(CONFIG_IMAGE_UNPACK) && !(p->sn = snapshots_get(d, NULL, &e)))
			log_warn(&d->log, "preload: %s: archives are imported, not unpacked", e.message);
		if (call_job_start(d, NULL, &preload_ops, p, PRELOAD_NAMESPACE, dir))
			return; /* its end boots the containers */
		p = NULL; /* freed */
	}
	if (p)
		preload_free(p);
	if (ENABLED(CONFIG_RUNTIME_DAEMON))
		tasks_boot(d);
}
