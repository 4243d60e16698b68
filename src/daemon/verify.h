/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_VERIFY_H
#define EMBER_DAEMON_VERIFY_H

/*
 * Signed images (CONFIG_SIGNATURES): each namespace's verification policy,
 * "none" or "require" with a set of public keys. It comes from the config
 * ([verify], [verify.namespaces.NAME]: config.h), then from the
 * namespace's labels, which an OTA agent sets through the API:
 *
 *   ember.io/verify            "require" (or "none")
 *   ember.io/verify.key.NAME   a PEM public key (SubjectPublicKeyInfo)
 *
 * Labels only add: a namespace requires signatures when its config or its
 * label says so, and its keys are the config's and its labels'. The device
 * owner's config cannot be loosened through the API.
 *
 * A pull into a "require" namespace verifies the image's cosign signature
 * before anything of it is stored (remote.h, pull_options.verify); the
 * image record says which key verified it ("verified"). Stages of a
 * revision in such a namespace take only images so verified, and a tag
 * there keeps an image in its repository (the signature names it).
 */

#include <errno.h>
#include <string.h>
#include <jansson.h>

#include <ember/error.h>

#include "daemon/daemon.h"
#include "util/err.h"

#define VERIFY_LABEL "ember.io/verify"
#define VERIFY_KEY_LABEL "ember.io/verify.key."

struct sig_keyset;

struct verify_policy {
	int require;
	struct sig_keyset *keys; /* NULL without CONFIG_SIGNATURES */
	json_t *json;            /* {"policy", "keys": [{"name", "fingerprint", "type", "source"}]} */
};

#ifdef CONFIG_SIGNATURES
/* Read the config's key files (a bad one fails the start, naming it). */
int verify_start(struct daemon *d, struct ember_error *e);
void verify_stop(struct daemon *d);
/* The policy of namespace ns (which need not exist yet). */
int verify_policy_get(struct daemon *d, const char *ns, struct verify_policy *out, struct ember_error *e);
/* Labels about to be set on a namespace: the verify ones must be valid. */
int verify_labels_check(json_t *labels, struct ember_error *e);
/* Is the image record one that p accepts (verified, for its target, by a
   key p still trusts)? 0 yes, else -EACCES with the reason in e. */
int verify_image_check(const struct verify_policy *p, const char *ns, json_t *image, struct ember_error *e);
void verify_policy_done(struct verify_policy *p);
#else
static inline int verify_start(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline void verify_stop(struct daemon *d)
{
	(void)d;
}
/* Without the code, a namespace the config makes require signatures
   refuses every image (the caller says why). */
static inline int verify_policy_get(struct daemon *d, const char *ns, struct verify_policy *out,
				    struct ember_error *e)
{
	(void)e;
	out->require = 0;
	out->keys = NULL;
	out->json = NULL;
	for (size_t i = 0; i < d->cfg.n_verify; i++)
		if (!d->cfg.verify[i].ns || !strcmp(d->cfg.verify[i].ns, ns))
			if (d->cfg.verify[i].mode != VERIFY_UNSET)
				out->require = d->cfg.verify[i].mode == VERIFY_REQUIRE;
	return 0;
}
static inline int verify_labels_check(json_t *labels, struct ember_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(labels, key, v)
		if (!strncmp(key, VERIFY_LABEL, sizeof(VERIFY_LABEL) - 1))
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP,
					    "label %s: this ember was built without signed images (CONFIG_SIGNATURES)", key);
	return 0;
}
static inline int verify_image_check(const struct verify_policy *p, const char *ns, json_t *image,
				     struct ember_error *e)
{
	(void)p;
	(void)image;
	return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
			    "namespace %s requires signed images, and this ember was built without them "
			    "(CONFIG_SIGNATURES)", ns);
}
static inline void verify_policy_done(struct verify_policy *p)
{
	json_decref(p->json);
	p->json = NULL;
}
#endif

#endif
