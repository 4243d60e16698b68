/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_NETWORKS_H
#define EMBER_DAEMON_NETWORKS_H

/*
 * Container networks (CONFIG_NET): the daemon's side of src/net.
 *
 * On disk, under the root (DESIGN.md §4's crash rules):
 *
 *   net/networks/<name>.json          a network: bridge device, subnet,
 *                                     gateway, mtu, internal
 *   net/leases/<network>/<address>    an address, claimed by creating the
 *                                     file (O_EXCL); it holds
 *                                     "<namespace>/<container id>"
 *
 * A lease is taken when a container with --net bridge[:NAME] is created
 * (before its record is written) and released when it is deleted (after
 * its record is gone). The record, written durably, is the truth; the
 * lease files are the claim between a running daemon's threads and are
 * not synced: start-up restores the lease of every record that has an
 * address and removes those of no record (a create cut short), so a
 * crash or a power cut never leaves a record whose address another
 * container could take. The container's record holds its "network"
 * object: {"mode": "none"|"host"|"bridge", "network", "address",
 * "publish": [...], "dns": [...], "add_hosts": [...]}.
 *
 * Jobs call everything here from their threads: one mutex (in struct
 * networks) orders the network objects (records, bridges, leases of one
 * network, the nf_tables table). The NAT table is owned by the daemon's
 * nf_tables socket and rewritten from the running endpoints as a whole.
 */

#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <jansson.h>

#include <ember/error.h>

#include "util/err.h"

struct daemon;
struct networks;

/* What a container create asks for (its options' net, publish, dns,
   add_host), checked and turned into the record's "network" object. */
struct network_create {
	const char *name, *subnet, *gateway, *bridge;
	int64_t mtu;
	int internal;
};

/* A start's network: set up by networks_start_prepare() in the start job,
   attached by networks_attach() (the before_setup hook). */
struct network_start {
	struct daemon *d;
	const char *ns, *id;
	json_t *net; /* the record's "network" (borrowed) */
	int attached;
	/* A restore's: CRIU's host end of the veth, and what the network's
	   record said of it (networks_restore_prepare()). */
	char restore_veth[16];
	unsigned restore_mtu;
	int restore_internal;
};

#if defined(CONFIG_NET) && defined(CONFIG_RUNTIME_DAEMON)

/* Start-up, after the tasks are adopted: the directories, leases without
   a container, veths of no running task, the NAT table of the running
   ones, (forwarding as before). */
int networks_start(struct daemon *d, struct ember_error *e);
void networks_stop(struct daemon *d);

/* Networks.* (from jobs): a new array, object, or nothing. */
int networks_list(struct daemon *d, json_t **out, struct ember_error *e);
int networks_inspect(struct daemon *d, const char *name, json_t **out, struct ember_error *e);
int networks_create(struct daemon *d, const struct network_create *p, json_t **out, struct ember_error *e);
int networks_remove(struct daemon *d, const char *name, struct ember_error *e);

/* Containers.Create's options into *net (NULL: no network option at
   all: loopback only and the image's own /etc files, as before networks
   existed); -EINVAL naming the option. Pure. */
int networks_options(json_t *options, json_t **net, struct ember_error *e);
/* A container is created (a job): its bridge network's lease, into net
   ("address", "network"). Nothing for other modes. */
int networks_lease(struct daemon *d, const char *ns, const char *id, json_t *net, struct ember_error *e);
/* Its record is gone (or was never written): its lease goes. */
void networks_release(struct daemon *d, const char *ns, const char *id, json_t *net);

/* The start job, before the clone: hosts, hostname, resolv.conf in the
   task's state directory (dir, path) and their mounts added to spec.
   dir -1: only the mounts, of the files a start wrote (a checkpoint's). */
int networks_start_prepare(struct network_start *s, int dir, const char *dir_path, json_t *spec,
			   struct ember_error *e);
/* The before_setup hook's part: the bridge, the veth, eth0, NAT. */
int networks_attach(struct network_start *s, pid_t pid, struct ember_error *e);
/* A restore, in the start job: before CRIU, the checks and the bridge of
   a start, and CRIU's external for eth0's veth into ext ("" for no
   bridge network); after CRIU restored pid's tree, its host end named
   as a start names it, up, and the NAT table as a start writes it. */
int networks_restore_prepare(struct network_start *s, char *ext, size_t size, struct ember_error *e);
int networks_restore_attach(struct network_start *s, pid_t pid, struct ember_error *e);
/* The task is deleted, or its start failed after the attach: its
   published ports and (last of its network) masquerade go. */
void networks_detach(struct daemon *d, const char *ns, const char *id);

#else

static inline int networks_start(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline void networks_stop(struct daemon *d)
{
	(void)d;
}
static inline int networks_options(json_t *options, json_t **net, struct ember_error *e)
{
	(void)e;
	*net = NULL;
	const char *mode = json_string_value(json_object_get(options, "net"));
	if ((mode && strcmp(mode, "none") && strcmp(mode, "host")) || json_object_get(options, "publish") ||
	    json_object_get(options, "dns") || json_object_get(options, "add_host"))
		return err_unsupported(e, "options: bridge networks: this ember is built without CONFIG_NET");
	return 0;
}
static inline int networks_lease(struct daemon *d, const char *ns, const char *id, json_t *net,
				 struct ember_error *e)
{
	(void)d, (void)ns, (void)id, (void)net, (void)e;
	return 0;
}
static inline void networks_release(struct daemon *d, const char *ns, const char *id, json_t *net)
{
	(void)d, (void)ns, (void)id, (void)net;
}
static inline int networks_start_prepare(struct network_start *s, int dir, const char *dir_path, json_t *spec,
					 struct ember_error *e)
{
	(void)s, (void)dir, (void)dir_path, (void)spec, (void)e;
	return 0;
}
static inline int networks_attach(struct network_start *s, pid_t pid, struct ember_error *e)
{
	(void)s, (void)pid, (void)e;
	return 0;
}
static inline int networks_restore_prepare(struct network_start *s, char *ext, size_t size, struct ember_error *e)
{
	(void)s, (void)size, (void)e;
	ext[0] = '\0';
	return 0;
}
static inline int networks_restore_attach(struct network_start *s, pid_t pid, struct ember_error *e)
{
	(void)s, (void)pid, (void)e;
	return 0;
}
static inline void networks_detach(struct daemon *d, const char *ns, const char *id)
{
	(void)d, (void)ns, (void)id;
}

#endif

#endif
