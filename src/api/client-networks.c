/* SPDX-License-Identifier: Apache-2.0 */
/* libember: io.ember.Networks, typed (see include/ember/networks.h). */
#include <ember/networks.h>

#include "api/client-typed.h"

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
	return client_call_member(client, "io.ember.Networks.Create", p, "network", network, err);
}

int ember_network_inspect(ember_client *client, const char *name, char **network, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Networks.Inspect", json_pack("{s:s?}", "name", name), "network", network, err);
}

int ember_network_list(ember_client *client, char **networks, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Networks.List", json_object(), "networks", networks, err);
}

int ember_network_remove(ember_client *client, const char *name, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Networks.Remove", json_pack("{s:s?}", "name", name), NULL, NULL, err);
}
