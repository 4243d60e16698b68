/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_METADATA_H
#define EMBER_METADATA_H

/*
 * Metadata records: one JSON file per object, written only through
 * fs_write_atomic() (DESIGN.md §4):
 *
 *   <root>/meta/<namespace>/namespace.json        {"name", "labels", "created_at", "updated_at"}
 *   <root>/meta/<namespace>/{images,containers,leases}/<escaped-name>.json
 *   <root>/meta/<namespace>/images-used/<escaped-name>.json   {"name", "last_used_at"}
 *
 * A namespace is created by building its directory under a temporary name
 * and renaming it into place, and deleted by renaming it to a temporary name
 * first, so a crash leaves it either fully there or absent; meta_recover()
 * removes the leftovers.
 */

#include <jansson.h>

#include <ember/error.h>

struct meta {
	int dir_fd; /* <root>/meta */
};

/* The object kinds a namespace holds, in the order Info reports them. */
#define META_KINDS { "images", "containers", "leases", "content", "revisions", "journal" }
/* Bookkeeping records beside the objects (the GC policy's last use of an
   image): never counted, and no reason to keep a namespace; recovered as
   the objects are. */
#define META_AUX_KINDS { "images-used" }

int meta_open(struct meta *m, int root_fd, struct ember_error *e);
void meta_close(struct meta *m);

struct meta_recovery {
	unsigned removed_tmp; /* temporary files and half-made or half-deleted namespaces */
};

/* Start-up recovery: cost grows with the number of namespaces, not objects. */
int meta_recover(struct meta *m, struct meta_recovery *stats, struct ember_error *e);

/* containerd's identifier rule: [A-Za-z0-9]+ joined by single . _ or -,
   at most 76 characters. kind names the object in the error ("namespace"). */
int meta_identifier_check(const char *kind, const char *name, struct ember_error *e);

/* Labels: an object of string values; keys 1..1024 bytes of printable
   text, key + value at most 4096 bytes, at most 64 KiB in all. */
int meta_labels_check(json_t *labels, struct ember_error *e);

/* Each returns new references in *out. */
int meta_namespace_list(struct meta *m, json_t **out, struct ember_error *e);
int meta_namespace_get(struct meta *m, const char *name, json_t **out, struct ember_error *e);
int meta_namespace_create(struct meta *m, const char *name, json_t *labels, json_t **out,
			  struct ember_error *e);
/* Refuses (FailedPrecondition) a namespace that still holds objects. */
int meta_namespace_delete(struct meta *m, const char *name, struct ember_error *e);
/* Merge labels (an empty value removes a key), or replace them all. */
int meta_namespace_set_labels(struct meta *m, const char *name, json_t *labels, int replace,
			      json_t **out, struct ember_error *e);

/*
 * Object records of one kind ("images", "leases", "content", ...) in a
 * namespace, keyed by a free-form name (escaped into a file name). label
 * names the object in errors ("image"). put creates the namespace when it
 * does not exist yet, as containerd does. get/delete: -ENOENT (NotFound).
 */
#define META_FILE_NAME_MAX 256
void meta_object_file_name(const char *name, char out[META_FILE_NAME_MAX]);
int meta_object_get(struct meta *m, const char *ns, const char *kind, const char *label,
		    const char *name, json_t **out, struct ember_error *e);
int meta_object_put(struct meta *m, const char *ns, const char *kind, const char *name, json_t *rec,
		    struct ember_error *e);
int meta_object_delete(struct meta *m, const char *ns, const char *kind, const char *label,
		       const char *name, struct ember_error *e);
/* A new array of the records, sorted by their "name". */
int meta_object_list(struct meta *m, const char *ns, const char *kind, json_t **out,
		     struct ember_error *e);
/* fn for every record of kind in every namespace; non-zero stops. */
typedef int (*meta_object_fn)(const char *ns, json_t *rec, void *userdata);
int meta_object_walk_all(struct meta *m, const char *kind, meta_object_fn fn, void *userdata,
			 struct ember_error *e);

/* Records of one kind across all namespaces (for Info). */
long meta_count(struct meta *m, const char *kind);

/* Every record file of every namespace read (check.c): fn for each one
   that does not parse or names nothing (kind "namespace" for
   namespace.json), with repaired set when repair moved it aside
   (<file>.damaged, kept). A non-zero return of fn stops. */
typedef int (*meta_damaged_fn)(const char *ns, const char *kind, const char *file, const char *why, int repaired,
			       void *userdata);
struct meta_check {
	meta_damaged_fn fn;
	void *userdata;
	unsigned namespaces, records; /* counted */
};
int meta_check(struct meta *m, int repair, struct meta_check *c, struct ember_error *e);

#endif
