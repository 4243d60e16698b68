/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Images.Import and .Export: archives through a file descriptor the client sends, read and written by jobs (images-archive.c). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/images.h"
#include "daemon/services.h"
#include "util/cleanup.h"

/* The archive's descriptor: for export a regular file; for import a file
   or a pipe (the job's thread waits on it, never the loop). */
static int take_archive(struct api_call *call, int regular, int *fd)
{
	struct stat st;

	*fd = api_call_take_fd(call, 0);
	if (*fd < 0) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "%s needs the archive's file descriptor sent with the call", api_call_method(call));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !(S_ISREG(st.st_mode) || (!regular && S_ISFIFO(st.st_mode)))) {
		close(*fd);
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  regular ? "the archive must be a regular file" : "the archive must be a regular file or a pipe");
		return -1;
	}
	return 0;
}

void svc_images_export(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *platform;
		json_t *names;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "names", API_T_STRING_ARRAY, offsetof(struct p, names), API_MANDATORY },
		{ "platform", API_T_STRING, offsetof(struct p, platform), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct images_export_args a;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (!json_array_size(p.names)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "export: name at least one image");
		return;
	}
	if (take_archive(call, 1, &a.fd) < 0)
		return;
	a.ns = daemon_namespace(p.namespace);
	a.names = p.names;
	a.platform = p.platform;
	images_export(ctx, call, &a);
}

void svc_images_import(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *base_name, *snapshotter;
		json_t *labels;
		int no_unpack;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "base_name", API_T_STRING, offsetof(struct p, base_name), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct p, labels), 0 },
		{ "no_unpack", API_T_BOOL, offsetof(struct p, no_unpack), 0 },
		{ "snapshotter", API_T_STRING, offsetof(struct p, snapshotter), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;
	struct images_import_args a = { .fd = -1 };

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	a.ns = daemon_namespace(p.namespace);
	if (meta_identifier_check("namespace", a.ns, &e) < 0 || (p.labels && meta_labels_check(p.labels, &e) < 0)) {
		api_error_from(call, &e);
		return;
	}
	if (!p.no_unpack && ENABLED(CONFIG_IMAGE_UNPACK) && !(a.sn = snapshots_get(d, p.snapshotter, &e))) {
		api_error_from(call, &e);
		return;
	}
	if (!p.no_unpack && !ENABLED(CONFIG_IMAGE_UNPACK) && p.snapshotter) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "this ember was built without unpacking");
		return;
	}
	if (images_import_allowed(d, a.ns, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (take_archive(call, 0, &a.fd) < 0)
		return;
	a.base_name = p.base_name;
	a.labels = p.labels;
	images_import(d, call, &a);
}
