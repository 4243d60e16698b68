/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_API_VARLINK_H
#define EMBER_API_VARLINK_H

/*
 * The varlink wire protocol, shared by the daemon and the client library:
 * every message is one JSON object followed by a NUL byte.
 *
 *   call:  {"method": "io.ember.Namespaces.List", "parameters": {...},
 *           "more": true, "oneway": true}
 *   reply: {"parameters": {...}, "continues": true, "error": "io.ember.NotFound"}
 *
 * Buffers are bounded: a peer can never make us hold more than `max` bytes.
 */

#include <stddef.h>
#include <jansson.h>

#include <ember/error.h>

/* ---- framing ---------------------------------------------------------- */

struct vl_reader {
	char *buf;
	size_t len;  /* bytes held */
	size_t cap;
	size_t max;  /* largest message, NUL included */
	size_t scan; /* bytes [0, scan) are known to hold no NUL */
	size_t msg;  /* length (with NUL) of the message handed out, or 0 */
};

void vl_reader_init(struct vl_reader *r, size_t max);
void vl_reader_done(struct vl_reader *r);

/* Room to read into, growing the buffer up to max. NULL with *avail == 0
   when the buffer is full of one incomplete message (the peer went over the
   limit), or on ENOMEM. */
char *vl_reader_space(struct vl_reader *r, size_t *avail);
void vl_reader_commit(struct vl_reader *r, size_t n);

/* The next complete message (NUL-terminated, len excludes the NUL): 1 and
   sets *msg and *len, 0 when none is complete yet, -EMSGSIZE when the buffer
   holds max bytes without a NUL. The message stays valid until
   vl_reader_consume(). */
int vl_reader_next(struct vl_reader *r, const char **msg, size_t *len);
void vl_reader_consume(struct vl_reader *r);

/* Bytes held that are not part of a complete message. */
size_t vl_reader_pending(const struct vl_reader *r);

struct vl_writer {
	char *buf;
	size_t off; /* first unsent byte */
	size_t len; /* end of data */
	size_t cap;
	size_t max; /* most unsent bytes held */
};

void vl_writer_init(struct vl_writer *w, size_t max);
void vl_writer_done(struct vl_writer *w);
/* Queue bytes; -ENOBUFS when bytes are already waiting and the total would
   exceed max (the peer is not reading), -ENOMEM. */
int vl_writer_append(struct vl_writer *w, const char *data, size_t len);
/* Write what the socket takes: 0 when everything is sent, 1 when bytes
   remain (EAGAIN), -errno on a dead peer. */
int vl_writer_flush(struct vl_writer *w, int fd);
size_t vl_writer_queued(const struct vl_writer *w);

/* ---- messages ---------------------------------------------------------- */

#define VL_MORE 1u
#define VL_ONEWAY 2u

struct vl_call {
	json_t *root;
	const char *method;     /* "interface.Method", validated */
	json_t *parameters;     /* an object (empty when absent); borrowed from root */
	unsigned flags;         /* VL_MORE, VL_ONEWAY */
	int upgrade;
};

/* Parse and validate a call. Errors (EINVAL, EBADMSG) name what is wrong. */
int vl_call_parse(const char *msg, size_t len, struct vl_call *call, struct ember_error *e);
void vl_call_done(struct vl_call *call);

struct vl_reply {
	json_t *root;
	json_t *parameters;     /* an object (empty when absent); borrowed */
	const char *error;      /* error name or NULL */
	int continues;
};

int vl_reply_parse(const char *msg, size_t len, struct vl_reply *reply, struct ember_error *e);
void vl_reply_done(struct vl_reply *reply);

/* Serialise a message, NUL included in *len. Return NULL on ENOMEM.
   params may be NULL; they are not consumed. */
char *vl_call_encode(const char *method, json_t *params, unsigned flags, size_t *len);
char *vl_reply_encode(json_t *params, const char *error, int continues, size_t *len);

/* "org.example.foo" — reverse-domain interface names. */
int vl_interface_name_valid(const char *s, size_t n);
/* "GetInfo" — method and error member names. */
int vl_member_name_valid(const char *s, size_t n);
/* "org.example.foo.Method": valid, and the interface part's length. */
int vl_qualified_name_split(const char *s, size_t *iface_len);

#endif
