/* SPDX-License-Identifier: Apache-2.0 */
/* Holds (see holds.h): one counted set of keys, under one mutex. */
#include "daemon/holds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct holds {
	pthread_mutex_t lock;
	json_t *count;    /* key -> how many holders hold it */
	json_t *deferred; /* keys released during a GC, still counted */
	unsigned gcs;     /* collections running */
};

struct hold {
	struct holds *hs;
	json_t *keys; /* this holder's, each once */
};

struct holds *holds_new(void)
{
	struct holds *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return NULL;
	hs->count = json_object();
	hs->deferred = json_array();
	if (!hs->count || !hs->deferred) {
		holds_free(hs);
		return NULL;
	}
	pthread_mutex_init(&hs->lock, NULL);
	return hs;
}

void holds_free(struct holds *hs)
{
	if (!hs)
		return;
	json_decref(hs->count);
	json_decref(hs->deferred);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
}

struct hold *hold_new(struct holds *hs)
{
	struct hold *h = calloc(1, sizeof(*h));

	if (!h || !(h->keys = json_object())) {
		free(h);
		return NULL;
	}
	h->hs = hs;
	return h;
}

static int add(struct hold *h, const char *key)
{
	struct holds *hs = h->hs;
	int r = 0;

	pthread_mutex_lock(&hs->lock);
	if (!json_object_get(h->keys, key)) {
		json_int_t n = json_integer_value(json_object_get(hs->count, key));
		if (json_object_set_new(h->keys, key, json_true()) < 0 ||
		    json_object_set_new(hs->count, key, json_integer(n + 1)) < 0) {
			json_object_del(h->keys, key);
			r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&hs->lock);
	return r;
}

int hold_blob(struct hold *h, const char *digest)
{
	char key[160];

	snprintf(key, sizeof(key), "blob %s", digest);
	return add(h, key);
}

static void snapshot_key(char *buf, size_t size, const char *snapshotter, const char *ns, const char *key)
{
	snprintf(buf, size, "snapshot %s %s %s", snapshotter, ns, key);
}

int hold_snapshot(struct hold *h, const char *snapshotter, const char *ns, const char *key)
{
	char k[1024];

	snapshot_key(k, sizeof(k), snapshotter, ns, key);
	return add(h, k);
}

static void image_key(char *buf, size_t size, const char *ns, const char *name)
{
	snprintf(buf, size, "image %s %s", ns, name);
}

int hold_image(struct hold *h, const char *ns, const char *name)
{
	char k[1024];

	image_key(k, sizeof(k), ns, name);
	return add(h, k);
}

int holds_image_held(struct holds *hs, const char *ns, const char *name)
{
	char k[1024];

	image_key(k, sizeof(k), ns, name);
	return json_object_get(hs->count, k) != NULL;
}

/* Under the lock. */
static void drop(struct holds *hs, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(hs->count, key));

	if (n <= 1)
		json_object_del(hs->count, key);
	else
		json_object_set_new(hs->count, key, json_integer(n - 1));
}

void hold_release(struct hold *h)
{
	if (!h)
		return;
	struct holds *hs = h->hs;
	const char *key;
	json_t *v;

	pthread_mutex_lock(&hs->lock);
	json_object_foreach(h->keys, key, v) {
		/* Out of memory for the deferral: keep it held for good, which
		   is safe (GC only keeps too much). */
		if (hs->gcs && json_array_append_new(hs->deferred, json_string(key)) < 0)
			continue;
		if (!hs->gcs)
			drop(hs, key);
	}
	pthread_mutex_unlock(&hs->lock);
	json_decref(h->keys);
	free(h);
}

void holds_gc_begin(struct holds *hs)
{
	pthread_mutex_lock(&hs->lock);
	hs->gcs++;
	pthread_mutex_unlock(&hs->lock);
}

void holds_gc_end(struct holds *hs)
{
	size_t i;
	json_t *k;

	pthread_mutex_lock(&hs->lock);
	if (hs->gcs && --hs->gcs == 0) {
		json_array_foreach(hs->deferred, i, k)
			drop(hs, json_string_value(k));
		json_array_clear(hs->deferred);
	}
	pthread_mutex_unlock(&hs->lock);
}

void holds_lock(struct holds *hs)
{
	pthread_mutex_lock(&hs->lock);
}

void holds_unlock(struct holds *hs)
{
	pthread_mutex_unlock(&hs->lock);
}

int holds_blob_held(struct holds *hs, const char *digest)
{
	char key[160];

	snprintf(key, sizeof(key), "blob %s", digest);
	return json_object_get(hs->count, key) != NULL;
}

static int held_except(struct holds *hs, const char *key, const struct hold *h)
{
	json_int_t n = json_integer_value(json_object_get(hs->count, key));
	return n - (h && json_object_get(h->keys, key) ? 1 : 0) > 0;
}

int holds_blob_held_except(struct holds *hs, const char *digest, const struct hold *h)
{
	char key[160];

	snprintf(key, sizeof(key), "blob %s", digest);
	return held_except(hs, key, h);
}

/* Held in ns, or in every namespace (HOLD_ANY_NS). */
int holds_snapshot_held_except(struct holds *hs, const char *snapshotter, const char *ns, const char *key,
			       const struct hold *h)
{
	char k[1024];

	snapshot_key(k, sizeof(k), snapshotter, ns, key);
	if (held_except(hs, k, h))
		return 1;
	snapshot_key(k, sizeof(k), snapshotter, HOLD_ANY_NS, key);
	return held_except(hs, k, h);
}

int holds_snapshot_held(struct holds *hs, const char *snapshotter, const char *ns, const char *key)
{
	return holds_snapshot_held_except(hs, snapshotter, ns, key, NULL);
}
