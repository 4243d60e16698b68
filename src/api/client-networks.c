/* SPDX-License-Identifier: Apache-2.0 */
/* libember: io.ember.Networks, typed (see include/ember/networks.h). */
#include <ember/networks.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "util/cleanup.h"
#include "util/err.h"

/* One call with params (taken), the reply's member key as JSON text. */
static int call(ember_client *c, const char *method, json_t *params, const char *key, char **out,
		struct ember_error *err)
{
	struct ember_error local;
	_cleanup_free_ char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	_cleanup_free_ char *reply = NULL;

	json_decref(params);
	if (!err)
		err = &local;
	if (!text)
		return err_set(err, ENOMEM, "%s: out of memory", method);
	int r = ember_call(c, method, text, key ? &reply : NULL, err);
	if (r < 0 || !key)
		return r;
	json_t *j = json_loads(reply, 0, NULL);
	json_t *v = json_object_get(j, key);
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s)
		return err_set(err, EPROTO, "%s: the reply has no \"%s\"", method, key);
	if (out)
		*out = s;
	else
		free(s);
	return 0;
}

int ember_network_create(ember_client *client, const char *name, const struct ember_network_options *opts,
			 char **network, struct ember_error *err)
{
	json_t *p = json_pack("{s:s?}", "name", name);

	if (p && opts) {
		if (opts->subnet)
			json_object_set_new(p, "subnet", json_string(opts->subnet));
		if (opts->gateway)
			json_object_set_new(p, "gateway", json_string(opts->gateway));
		if (opts->bridge)
			json_object_set_new(p, "bridge", json_string(opts->bridge));
		if (opts->mtu)
			json_object_set_new(p, "mtu", json_integer(opts->mtu));
		if (opts->internal)
			json_object_set_new(p, "internal", json_true());
	}
	return call(client, "io.ember.Networks.Create", p, "network", network, err);
}

int ember_network_inspect(ember_client *client, const char *name, char **network, struct ember_error *err)
{
	return call(client, "io.ember.Networks.Inspect", json_pack("{s:s?}", "name", name), "network", network, err);
}

int ember_network_list(ember_client *client, char **networks, struct ember_error *err)
{
	return call(client, "io.ember.Networks.List", json_object(), "networks", networks, err);
}

int ember_network_remove(ember_client *client, const char *name, struct ember_error *err)
{
	return call(client, "io.ember.Networks.Remove", json_pack("{s:s?}", "name", name), NULL, NULL, err);
}
