/* SPDX-License-Identifier: Apache-2.0 */
/* CRIU's RPC messages (images/rpc.proto): criu_req out, criu_resp in. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime/runtime-internal.h"

/* Field numbers of rpc.proto. */
enum {
	REQ_TYPE = 1,
	REQ_OPTS = 2,
	REQ_NOTIFY_SUCCESS = 3,

	OPT_IMAGES_DIR_FD = 1,
	OPT_PID = 2,
	OPT_LEAVE_RUNNING = 3,
	OPT_TCP_ESTABLISHED = 5,
	OPT_FILE_LOCKS = 8,
	OPT_LOG_LEVEL = 9,
	OPT_LOG_FILE = 10,
	OPT_NOTIFY_SCRIPTS = 12,
	OPT_ROOT = 13,
	OPT_WORK_DIR_FD = 17,
	OPT_EXT_MNT = 23,
	OPT_MANAGE_CGROUPS = 24,
	OPT_RST_SIBLING = 26,
	OPT_INHERIT_FD = 27,
	OPT_MANAGE_CGROUPS_MODE = 34,
	OPT_EXTERNAL = 37,
	OPT_ORPHAN_PTS_MASTER = 50,
	OPT_NETWORK_LOCK = 64,

	KV_KEY = 1, /* ext_mount_map, inherit_fd: key */
	KV_VAL = 2, /* ext_mount_map: val; inherit_fd: fd */

	RESP_TYPE = 1,
	RESP_SUCCESS = 2,
	RESP_DUMP = 3,
	RESP_RESTORE = 4,
	RESP_NOTIFY = 5,
	RESP_CR_ERRNO = 7,
	RESP_CR_ERRMSG = 9,
	RESP_VERSION = 10,

	DUMP_RESTORED = 1,
	RESTORE_PID = 1,
	NOTIFY_SCRIPT = 1,
	NOTIFY_PID = 2,
	VERSION_MAJOR = 1,
	VERSION_MINOR = 2,
	VERSION_SUBLEVEL = 4,
};

static void put_flag(struct pb_buf *b, uint32_t field, bool v)
{
	if (v)
		pb_put_bool(b, field, true);
}

static void encode_opts(struct pb_buf *b, const struct rt_criu_opts *o)
{
	pb_put_int32(b, OPT_IMAGES_DIR_FD, o->images_dir_fd);
	if (o->pid > 0)
		pb_put_int32(b, OPT_PID, o->pid);
	put_flag(b, OPT_LEAVE_RUNNING, o->leave_running);
	put_flag(b, OPT_TCP_ESTABLISHED, o->tcp_established);
	put_flag(b, OPT_FILE_LOCKS, o->file_locks);
	if (o->log_level)
		pb_put_int32(b, OPT_LOG_LEVEL, o->log_level);
	if (o->log_file)
		pb_put_string(b, OPT_LOG_FILE, o->log_file);
	put_flag(b, OPT_NOTIFY_SCRIPTS, o->notify_scripts);
	if (o->root)
		pb_put_string(b, OPT_ROOT, o->root);
	if (o->work_dir_fd >= 0)
		pb_put_int32(b, OPT_WORK_DIR_FD, o->work_dir_fd);
	for (size_t i = 0; i < o->n_ext_mnt; i++) {
		struct pb_buf m = { 0 };
		pb_put_string(&m, KV_KEY, o->ext_mnt[i].key);
		pb_put_string(&m, KV_VAL, o->ext_mnt[i].val);
		pb_put_message(b, OPT_EXT_MNT, &m);
		pb_buf_done(&m);
	}
	put_flag(b, OPT_MANAGE_CGROUPS, o->manage_cgroups);
	put_flag(b, OPT_RST_SIBLING, o->rst_sibling);
	for (size_t i = 0; i < o->n_inherit_fd; i++) {
		struct pb_buf m = { 0 };
		pb_put_string(&m, KV_KEY, o->inherit_fd[i].key);
		pb_put_int32(&m, KV_VAL, o->inherit_fd[i].fd);
		pb_put_message(b, OPT_INHERIT_FD, &m);
		pb_buf_done(&m);
	}
	if (o->manage_cgroups_mode)
		pb_put_varint(b, OPT_MANAGE_CGROUPS_MODE, (uint64_t)o->manage_cgroups_mode);
	for (size_t i = 0; i < o->n_external; i++)
		pb_put_string(b, OPT_EXTERNAL, o->external[i]);
	put_flag(b, OPT_ORPHAN_PTS_MASTER, o->orphan_pts_master);
	if (o->network_lock)
		pb_put_varint(b, OPT_NETWORK_LOCK, (uint64_t)o->network_lock);
}

int rt_criu_req_encode(enum rt_criu_req_type type, const struct rt_criu_opts *o, bool notify_success,
		       struct pb_buf *out, struct ember_error *e)
{
	memset(out, 0, sizeof(*out));
	pb_put_varint(out, REQ_TYPE, (uint64_t)type);
	if (o) {
		struct pb_buf m = { 0 };
		encode_opts(&m, o);
		pb_put_message(out, REQ_OPTS, &m);
		pb_buf_done(&m);
	}
	if (type == RT_CRIU_NOTIFY)
		pb_put_bool(out, REQ_NOTIFY_SUCCESS, notify_success);
	if (out->failed) {
		pb_buf_done(out);
		return err_set(e, ENOMEM, "criu request: out of memory");
	}
	return 0;
}

/* A string field into buf: cut, and anything but printable ASCII as '?',
   since it ends up in one-line messages. */
static void copy_text(char *buf, size_t size, const struct pb_field *f)
{
	size_t n = f->len < size - 1 ? f->len : size - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = f->data[i] >= 0x20 && f->data[i] < 0x7f ? (char)f->data[i] : '?';
	buf[n] = '\0';
}

/* Each nested message: its fields, handed to fn. */
typedef int (*field_fn)(struct rt_criu_resp *r, const struct pb_field *f, bool *seen, struct ember_error *e);

static int decode_nested(const struct pb_field *outer, struct rt_criu_resp *r, field_fn fn, const char *what,
			 bool *seen, struct ember_error *e)
{
	struct pb_reader rd;
	struct pb_field f;
	int k;

	if (outer->wire != PB_LEN)
		return err_set(e, EBADMSG, "criu response: %s: not a message", what);
	pb_reader_init(&rd, outer->data, outer->len);
	while ((k = pb_next(&rd, &f, e)) > 0)
		if (fn(r, &f, seen, e) < 0)
			return err_wrap(e, "criu response: %s", what);
	return k < 0 ? err_wrap(e, "criu response: %s", what) : 0;
}

static int want_varint(const struct pb_field *f, struct ember_error *e)
{
	return f->wire == PB_VARINT ? 0 : err_set(e, EBADMSG, "field %u: not a varint", f->num);
}

static int dump_field(struct rt_criu_resp *r, const struct pb_field *f, bool *seen, struct ember_error *e)
{
	(void)seen;
	if (f->num == DUMP_RESTORED) {
		if (want_varint(f, e) < 0)
			return -e->code;
		r->dump_restored = f->v != 0;
	}
	return 0;
}

static int restore_field(struct rt_criu_resp *r, const struct pb_field *f, bool *seen, struct ember_error *e)
{
	if (f->num == RESTORE_PID) {
		if (want_varint(f, e) < 0)
			return -e->code;
		r->restore_pid = pb_int32(f);
		*seen = true;
	}
	return 0;
}

static int notify_field(struct rt_criu_resp *r, const struct pb_field *f, bool *seen, struct ember_error *e)
{
	(void)seen;
	if (f->num == NOTIFY_SCRIPT) {
		if (f->wire != PB_LEN)
			return err_set(e, EBADMSG, "script: not a string");
		copy_text(r->notify_script, sizeof(r->notify_script), f);
	} else if (f->num == NOTIFY_PID) {
		if (want_varint(f, e) < 0)
			return -e->code;
		r->notify_pid = pb_int32(f);
	}
	return 0;
}

static int version_field(struct rt_criu_resp *r, const struct pb_field *f, bool *seen, struct ember_error *e)
{
	(void)seen;
	int *to = f->num == VERSION_MAJOR ? &r->version_major
		  : f->num == VERSION_MINOR ? &r->version_minor
		  : f->num == VERSION_SUBLEVEL ? &r->version_sublevel
					      : NULL;
	if (!to)
		return 0;
	if (want_varint(f, e) < 0)
		return -e->code;
	*to = pb_int32(f);
	return 0;
}

int rt_criu_resp_decode(const void *data, size_t len, struct rt_criu_resp *r, struct ember_error *e)
{
	struct pb_reader rd;
	struct pb_field f;
	bool have_type = false, have_success = false, have_pid = false;
	int k;

	memset(r, 0, sizeof(*r));
	r->version_major = r->version_minor = r->version_sublevel = -1;
	pb_reader_init(&rd, data, len);
	while ((k = pb_next(&rd, &f, e)) > 0) {
		switch (f.num) {
		case RESP_TYPE:
		case RESP_SUCCESS:
		case RESP_CR_ERRNO:
			if (want_varint(&f, e) < 0)
				return err_wrap(e, "criu response");
			if (f.num == RESP_TYPE) {
				r->type = pb_int32(&f);
				have_type = true;
			} else if (f.num == RESP_SUCCESS) {
				r->success = f.v != 0;
				have_success = true;
			} else {
				r->cr_errno = pb_int32(&f);
			}
			break;
		case RESP_CR_ERRMSG:
			if (f.wire != PB_LEN)
				return err_set(e, EBADMSG, "criu response: cr_errmsg: not a string");
			copy_text(r->cr_errmsg, sizeof(r->cr_errmsg), &f);
			break;
		case RESP_DUMP:
			if (decode_nested(&f, r, dump_field, "dump", NULL, e) < 0)
				return -e->code;
			break;
		case RESP_RESTORE:
			/* Merged as proto2 merges a repeated nested message. */
			if (decode_nested(&f, r, restore_field, "restore", &have_pid, e) < 0)
				return -e->code;
			if (!have_pid)
				return err_set(e, EBADMSG, "criu response: restore: no pid");
			break;
		case RESP_NOTIFY:
			if (decode_nested(&f, r, notify_field, "notify", NULL, e) < 0)
				return -e->code;
			break;
		case RESP_VERSION:
			if (decode_nested(&f, r, version_field, "version", NULL, e) < 0)
				return -e->code;
			break;
		default:
			break; /* unknown to ember: skipped */
		}
	}
	if (k < 0)
		return err_wrap(e, "criu response");
	if (!have_type || !have_success)
		return err_set(e, EBADMSG, "criu response: no %s", have_type ? "success" : "type");
	return 0;
}
