/* SPDX-License-Identifier: Apache-2.0 */
/* Namespaces' signature policies: the config's keys, the labels' (verify.h). */
#include "daemon/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

/* "fleet" for /etc/ember/keys/fleet.pub. */
static void key_name(const char *path, char out[SIG_KEY_NAME_MAX])
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(out, SIG_KEY_NAME_MAX, "%s", base);
	char *dot = strrchr(out, '.');
	if (dot && dot != out && (!strcmp(dot, ".pub") || !strcmp(dot, ".pem")))
		*dot = '\0';
}

static int load_key(const char *path, struct sig_keyset *ks, struct ember_error *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	char name[SIG_KEY_NAME_MAX];
	struct sig_key k;

	if (fs_read_file(AT_FDCWD, path, SIG_PEM_MAX, &text, &len, e) < 0)
		return err_wrap(e, "key %s", path);
	key_name(path, name);
	if (sig_key_parse_pem(text, len, name, &k, e) < 0)
		return err_wrap(e, "key %s", path);
	return sig_keyset_add(ks, &k, e);
}

int verify_start(struct daemon *d, struct ember_error *e)
{
	if (!d->cfg.n_verify)
		return 0;
	d->verify_keys = calloc(d->cfg.n_verify, sizeof(*d->verify_keys));
	if (!d->verify_keys)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < d->cfg.n_verify; i++)
		for (char **k = d->cfg.verify[i].keys; k && *k; k++)
			if (load_key(*k, &d->verify_keys[i], e) < 0)
				return err_wrap(e, "config [verify%s%s]", d->cfg.verify[i].ns ? ".namespaces." : "",
						d->cfg.verify[i].ns ? d->cfg.verify[i].ns : "");
	return 0;
}

void verify_stop(struct daemon *d)
{
	for (size_t i = 0; d->verify_keys && i < d->cfg.n_verify; i++)
		sig_keyset_done(&d->verify_keys[i]);
	free(d->verify_keys);
	d->verify_keys = NULL;
}

static const char *type_name(enum sig_key_type t)
{
	return t == SIG_KEY_EC_P256 ? "ecdsa-p256" : "rsa";
}

static int add_keys(struct verify_policy *p, const struct sig_keyset *from, const char *source, struct ember_error *e)
{
	json_t *list = json_object_get(p->json, "keys");

	for (size_t i = 0; from && i < from->n; i++) {
		const struct sig_key *k = &from->keys[i];
		if (sig_keyset_add(p->keys, k, e) < 0)
			return -e->code;
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", k->name, "fingerprint",
							  k->fingerprint, "type", type_name(k->type), "source",
							  source)) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* One ember.io/verify* label: its value checked; a key label's key parsed. */
static int label_parse(const char *key, json_t *v, struct sig_key *k, int *is_key, struct ember_error *e)
{
	const char *s = json_string_value(v);

	*is_key = 0;
	if (!strcmp(key, VERIFY_LABEL)) {
		if (!s || (strcmp(s, "none") && strcmp(s, "require") && *s))
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "label %s must be \"none\" or \"require\"", key);
		return 0;
	}
	if (strncmp(key, VERIFY_KEY_LABEL, sizeof(VERIFY_KEY_LABEL) - 1))
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "label %s: unknown (%s, or %sNAME with a PEM public key)", key, VERIFY_LABEL,
				    VERIFY_KEY_LABEL);
	const char *name = key + sizeof(VERIFY_KEY_LABEL) - 1;
	if (!*name || strlen(name) >= SIG_KEY_NAME_MAX)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "label %s: the key name must be 1 to %d bytes",
				    key, SIG_KEY_NAME_MAX - 1);
	if (!s || !*s)
		return 0; /* removing it */
	*is_key = 1;
	if (sig_key_parse_pem(s, strlen(s), name, k, e) < 0)
		return err_wrap(e, "label %s", key);
	return 0;
}

int verify_labels_check(json_t *labels, struct ember_error *e)
{
	const char *key;
	json_t *v;
	struct sig_key k;
	int is_key;

	json_object_foreach(labels, key, v)
		if (!strncmp(key, VERIFY_LABEL, sizeof(VERIFY_LABEL) - 1) && label_parse(key, v, &k, &is_key, e) < 0)
			return -e->code;
	return 0;
}

int verify_policy_get(struct daemon *d, const char *ns, struct verify_policy *out, struct ember_error *e)
{
	const struct verify_rule *def = d->cfg.n_verify ? &d->cfg.verify[0] : NULL, *own = NULL;
	const struct sig_keyset *keys = d->verify_keys ? &d->verify_keys[0] : NULL;
	const char *key;
	json_t *v, *rec = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 1; i < d->cfg.n_verify; i++)
		if (!strcmp(d->cfg.verify[i].ns, ns))
			own = &d->cfg.verify[i];
	if (own && own->keys)
		keys = &d->verify_keys[own - d->cfg.verify];
	enum verify_mode mode = own && own->mode != VERIFY_UNSET ? own->mode : def ? def->mode : VERIFY_UNSET;
	out->require = mode == VERIFY_REQUIRE;
	out->keys = calloc(1, sizeof(*out->keys));
	out->json = json_pack("{s:s, s:[]}", "policy", "none", "keys");
	if (!out->keys || !out->json) {
		verify_policy_done(out);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (add_keys(out, keys, "config", e) < 0)
		goto fail;
	if (meta_namespace_get(&d->meta, ns, &rec, e) < 0 && e->code != ENOENT)
		goto fail;
	json_object_foreach(json_object_get(rec, "labels"), key, v) {
		struct sig_key k;
		int is_key;
		if (strncmp(key, VERIFY_LABEL, sizeof(VERIFY_LABEL) - 1))
			continue;
		/* Checked when set; a record edited by hand fails here, by name. */
		if (label_parse(key, v, &k, &is_key, e) < 0) {
			err_wrap(e, "namespace %s", ns);
			goto fail;
		}
		if (!strcmp(key, VERIFY_LABEL) && !strcmp(json_string_value(v), "require"))
			out->require = 1;
		if (is_key && add_keys(out, &(struct sig_keyset){ &k, 1 }, "label", e) < 0)
			goto fail;
	}
	json_decref(rec);
	json_object_set_new(out->json, "policy", json_string(out->require ? "require" : "none"));
	return 0;
fail:
	json_decref(rec);
	verify_policy_done(out);
	return -e->code;
}

void verify_policy_done(struct verify_policy *p)
{
	if (p->keys) {
		sig_keyset_done(p->keys);
		free(p->keys);
	}
	json_decref(p->json);
	memset(p, 0, sizeof(*p));
}

int verify_image_check(const struct verify_policy *p, const char *ns, json_t *image, struct ember_error *e)
{
	const char *name = json_string_value(json_object_get(image, "name")) ?: "?";
	const char *digest = json_string_value(json_object_get(json_object_get(image, "target"), "digest"));
	json_t *ver = json_object_get(image, "verified");
	const char *fp = json_string_value(json_object_get(ver, "fingerprint"));
	const char *vd = json_string_value(json_object_get(ver, "digest"));

	if (!ver || !fp || !vd || !digest)
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "image %s was not verified, and namespace %s requires signed images: pull it again", name,
				    ns);
	if (strcmp(vd, digest))
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "image %s: its signature was verified for %s, not for its target %s", name, vd, digest);
	for (size_t i = 0; i < p->keys->n; i++)
		if (!strcmp(p->keys->keys[i].fingerprint, fp))
			return 0;
	return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
			    "image %s was verified by key %s, which namespace %s no longer trusts", name, fp, ns);
}
