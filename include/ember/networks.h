/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_NETWORKS_H
#define EMBER_NETWORKS_H

/*
 * libember: bridge networks (io.ember.Networks), typed. Each function is one
 * call on client (see client.h for connections, timeouts and errors); a
 * network comes back as the JSON text of the interface's Network object
 * (name, bridge, subnet, gateway, mtu, internal, containers_count, and for
 * inspect who holds which address), malloc'd, for the caller to free.
 *
 * Errors by name (err->name): EMBER_ERROR_NOT_FOUND for an unknown
 * network, EMBER_ERROR_ALREADY_EXISTS for a name or bridge device taken,
 * EMBER_ERROR_INVALID_ARGUMENT for a malformed or overlapping subnet,
 * EMBER_ERROR_FAILED_PRECONDITION for removing a network a container holds
 * an address on.
 */

#include <ember/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a new network may say; zero-initialise and set what you need. */
struct ember_network_options {
	const char *subnet;  /* "10.1.2.0/24"; NULL: a free /24 of the pool */
	const char *gateway; /* NULL: the subnet's first address */
	const char *bridge;  /* the bridge device; NULL: em-<name> */
	int mtu;             /* 0: the kernel's default */
	int internal;        /* non-zero: no outbound NAT, no default route */
};

/* Create network name (opts may be NULL); *network (if not NULL) gets it. */
int ember_network_create(ember_client *client, const char *name, const struct ember_network_options *opts,
			 char **network, struct ember_error *err);

/* One network, with the containers that hold its addresses. */
int ember_network_inspect(ember_client *client, const char *name, char **network, struct ember_error *err);

/* Every network, as a JSON array's text. */
int ember_network_list(ember_client *client, char **networks, struct ember_error *err);

/* Remove network name (refused while a container holds an address on it). */
int ember_network_remove(ember_client *client, const char *name, struct ember_error *err);

#ifdef __cplusplus
}
#endif

#endif
