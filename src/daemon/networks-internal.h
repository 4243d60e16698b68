/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_NETWORKS_INTERNAL_H
#define EMBER_DAEMON_NETWORKS_INTERNAL_H

/* Shared by networks.c (records, leases, start-up) and networks-start.c
   (a start's files, attach, NAT). */

#include <pthread.h>
#include <jansson.h>

#include "daemon/daemon.h"
#include "daemon/networks.h"
#include "net/net.h"

#define NETWORK_DEFAULT "bridge"
#define NETWORK_DEFAULT_BRIDGE "ember0"
#define NETWORK_POOL_DEFAULT "10.213.0.0/16"
#define NETWORK_NAT_TABLE "ember"
#define NETWORK_VETH_LEN 12 /* "em" + 10 hex */

struct networks {
	pthread_mutex_t mu; /* everything below, and the objects on disk and in the kernel */
	int nets_fd;        /* <root>/net/networks */
	int leases_fd;      /* <root>/net/leases */
	struct net_subnet pool;
	struct net_nl *nl;  /* rtnetlink, the daemon's namespace */
	struct net_nl *nft; /* CONFIG_NET_NAT: owns ember's table; opened on first need */
	json_t *active;     /* "ns/id" -> {"network", "address", "publish"}: tasks attached */
	int forwarding_said;
	int resolv_said;
};

/* A network's record, parsed. */
struct network {
	json_t *rec;
	const char *name, *bridge;
	struct net_subnet subnet;
	struct net_addr gateway;
	unsigned mtu;
	int internal;
};

/* Read a network's record (NotFound naming it). Locked. */
int network_load(struct networks *n, const char *name, struct network *out, struct ember_error *e);
void network_done(struct network *nw);

/* "em" + 10 hex of a hash of "ns/id/pid": the host end of a task's veth.
   One per start: a restart does not wait for the kernel to delete the
   previous start's pair with its namespace (tens of ms in rcu_barrier). */
void network_veth_name(const char *ns, const char *id, pid_t pid, char out[NETWORK_VETH_LEN + 1]);
int network_veth_name_is(const char *name);

/* Refused when another running container publishes one of net's host
   ports. Locked. */
int network_ports_check(struct daemon *d, const char *ns, const char *id, json_t *net, struct ember_error *e);

/* Rewrite ember's nf_tables table from n->active. Locked. */
int network_nat_write(struct daemon *d, struct ember_error *e);

#endif
