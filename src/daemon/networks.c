/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Networks: their records, the leases of their addresses, the options a
 * container asks for, and the reconciliation at start-up (see
 * networks.h). A start's side (files, attach, NAT) is networks-start.c.
 */
#include "daemon/networks-internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/tasks.h"
#include "metadata/metadata.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"
#include "util/timestamp.h"

#define LEASE_TRIES 64

/* ---- names ---------------------------------------------------------------------------- */

void network_veth_name(const char *ns, const char *id, pid_t pid, char out[NETWORK_VETH_LEN + 1])
{
	char key[200];
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	snprintf(key, sizeof(key), "%s/%s/%d", ns, id, (int)pid);
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(out, NETWORK_VETH_LEN + 1, "em%010llx", (unsigned long long)(h & 0xffffffffffull));
}

int network_veth_name_is(const char *name)
{
	if (strlen(name) != NETWORK_VETH_LEN || strncmp(name, "em", 2))
		return 0;
	for (const char *p = name + 2; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return 0;
	return 1;
}

static int ifname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IFNAMSIZ)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

static void record_file(const char *name, char out[128])
{
	snprintf(out, 128, "%s.json", name);
}

/* ---- records -------------------------------------------------------------------------- */

void network_done(struct network *nw)
{
	json_decref(nw->rec);
	memset(nw, 0, sizeof(*nw));
}

static int parse_record(json_t *rec, struct network *out, struct ember_error *e)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	out->rec = rec;
	out->name = name ? name : "";
	out->bridge = json_string_value(json_object_get(rec, "bridge"));
	out->mtu = (unsigned)json_integer_value(json_object_get(rec, "mtu"));
	out->internal = json_is_true(json_object_get(rec, "internal"));
	if (!out->bridge || net_subnet_parse(json_string_value(json_object_get(rec, "subnet")), &out->subnet, e) < 0 ||
	    net_addr_parse(json_string_value(json_object_get(rec, "gateway")), &out->gateway, e) < 0) {
		out->rec = NULL;
		return err_set(e, EINVAL, "network \"%s\": damaged record", out->name);
	}
	return 0;
}

int network_load(struct networks *n, const char *name, struct network *out, struct ember_error *e)
{
	char file[128];
	json_t *rec;

	memset(out, 0, sizeof(*out));
	if (meta_identifier_check("network", name, e) < 0)
		return -e->code;
	record_file(name, file);
	if (record_read(n->nets_fd, file, &rec, e) < 0) {
		if (e->code == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "network \"%s\" not found", name);
		return err_wrap(e, "network \"%s\"", name);
	}
	if (parse_record(rec, out, e) < 0) {
		json_decref(rec);
		return -e->code;
	}
	return 0;
}

/* Every record, sorted by name. */
static int load_all(struct networks *n, json_t **out, struct ember_error *e)
{
	char **names;
	size_t count;

	if (fs_list_names(n->nets_fd, &names, &count, e) < 0)
		return -e->code;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < count; i++) {
		json_t *rec;
		size_t len = strlen(names[i]);
		if (len < 6 || strcmp(names[i] + len - 5, ".json"))
			continue;
		if (record_read(n->nets_fd, names[i], &rec, e) == 0)
			json_array_append_new(arr, rec);
	}
	fs_names_free(names, count);
	if (!arr || record_sort(arr, "name") < 0) {
		json_decref(arr);
		return err_set(e, ENOMEM, "out of memory");
	}
	*out = arr;
	return 0;
}

/* The leases of a network: addresses and who holds them. */
static int leases_of(struct networks *n, const char *name, json_t **out, struct ember_error *e)
{
	*out = json_array();
	if (!*out)
		return err_set(e, ENOMEM, "out of memory");
	_cleanup_close_ int dir = openat(n->leases_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "leases of network \"%s\"", name);
	char **names;
	size_t count;
	if (fs_list_names(dir, &names, &count, e) < 0)
		return -e->code;
	for (size_t i = 0; i < count; i++) {
		char *who = NULL;
		size_t len;
		if (fs_read_file(dir, names[i], 512, &who, &len, e) < 0)
			continue;
		char *slash = strchr(who, '/');
		if (slash) {
			*slash = '\0';
			json_array_append_new(*out, json_pack("{s:s, s:s, s:s}", "address", names[i], "namespace", who,
							      "id", slash + 1));
		}
		free(who);
	}
	fs_names_free(names, count);
	return 0;
}

/* The IPv4 routes of the daemon's namespace (but the default one), from
   /proc/net/route: a new subnet must not hide what the host reaches. */
static size_t host_routes(struct net_subnet *out, size_t max)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char ifname[32];
		unsigned dst, gw, flags, refcnt, use, metric, mask;
		if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifname, &dst, &gw, &flags, &refcnt, &use, &metric, &mask) != 8 ||
		    mask == 0)
			continue;
		struct net_subnet s = { .net = { .family = AF_INET } };
		memcpy(s.net.a, &dst, 4); /* the file holds them in memory order */
		uint32_t m = ntohl(mask);
		while (m & 0x80000000u) {
			s.prefix++;
			m <<= 1;
		}
		out[n++] = s;
	}
	fclose(f);
	return n;
}

/* The first /24 (or the pool itself, when smaller) of the pool that
   overlaps no network and no route of the host. */
static int pick_subnet(struct networks *n, json_t *all, struct net_subnet *out, struct ember_error *e)
{
	struct net_subnet routes[256];
	size_t nr = host_routes(routes, ARRAY_SIZE(routes));
	unsigned prefix = n->pool.prefix > 24 ? n->pool.prefix : 24;
	uint32_t base;
	char buf[NET_SUBNET_STR_MAX];

	memcpy(&base, n->pool.net.a, 4);
	base = ntohl(base);
	uint64_t count = (uint64_t)1 << (prefix - n->pool.prefix);
	for (uint64_t i = 0; i < count && i < 65536; i++) {
		struct net_subnet c = { .net = { .family = AF_INET }, .prefix = prefix };
		uint32_t a = htonl(base + (uint32_t)(i << (32 - prefix)));
		memcpy(c.net.a, &a, 4);
		int taken = 0;
		for (size_t r = 0; !taken && r < nr; r++)
			taken = net_subnet_overlap(&c, &routes[r]);
		size_t k;
		json_t *rec;
		json_array_foreach(all, k, rec) {
			struct net_subnet s;
			struct ember_error ignored;
			if (!taken && net_subnet_parse(json_string_value(json_object_get(rec, "subnet")), &s, &ignored) == 0)
				taken = net_subnet_overlap(&c, &s);
		}
		if (!taken) {
			*out = c;
			return 0;
		}
	}
	return err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, ENOSPC,
			    "network: no free subnet in the pool %s (config.toml [network] subnet_pool)",
			    net_subnet_str(&n->pool, buf));
}

static int check_bridge_free(struct daemon *d, const char *bridge, json_t *all, struct ember_error *e)
{
	struct networks *n = d->nets;
	size_t k;
	json_t *rec;
	struct net_link l;

	json_array_foreach(all, k, rec) {
		if (!strcmp(json_string_value(json_object_get(rec, "bridge")) ?: "", bridge))
			return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
					    "network: bridge \"%s\" is network \"%s\"'s (give another with --bridge)", bridge,
					    json_string_value(json_object_get(rec, "name")));
	}
	if (net_link_get(n->nl, bridge, 0, &l, e) == 0)
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
				    "network: a device \"%s\" exists and is not ember's (give another with --bridge)", bridge);
	return e->code == ENODEV ? 0 : -e->code;
}

static int create_locked(struct daemon *d, const struct network_create *p, json_t **out, struct ember_error *e)
{
	struct networks *n = d->nets;
	struct network old;
	struct net_subnet s;
	struct net_addr gw;
	char bridge[IFNAMSIZ], sbuf[NET_SUBNET_STR_MAX], gbuf[NET_ADDR_STR_MAX], file[128], now[TIMESTAMP_LEN];
	_cleanup_(json_decrefp) json_t *all = NULL;

	if (network_load(n, p->name, &old, e) == 0) {
		network_done(&old);
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "network \"%s\" already exists", p->name);
	}
	if (e->code != ENOENT)
		return -e->code;
	if (p->mtu && (p->mtu < 68 || p->mtu > 65535))
		return err_invalid(e, "network \"%s\": mtu %lld: want 68 to 65535", p->name, (long long)p->mtu);
	if (p->bridge && !ifname_ok(p->bridge))
		return err_invalid(e, "network \"%s\": bridge \"%s\": 1 to %d letters, digits, '_', '.' or '-'", p->name,
				   p->bridge, IFNAMSIZ - 1);
	if (load_all(n, &all, e) < 0)
		return -e->code;
	if (p->subnet) {
		if (net_subnet_parse(p->subnet, &s, e) < 0)
			return err_wrap(e, "network \"%s\"", p->name);
		size_t k;
		json_t *rec;
		json_array_foreach(all, k, rec) {
			struct net_subnet o;
			const char *os = json_string_value(json_object_get(rec, "subnet"));
			if (net_subnet_parse(os, &o, e) == 0 && net_subnet_overlap(&s, &o))
				return err_invalid(e, "network \"%s\": subnet %s overlaps network \"%s\" (%s)", p->name,
						   net_subnet_str(&s, sbuf), json_string_value(json_object_get(rec, "name")), os);
		}
	} else if (pick_subnet(n, all, &s, e) < 0) {
		return err_wrap(e, "network \"%s\"", p->name);
	}
	if (p->gateway) {
		if (net_addr_parse(p->gateway, &gw, e) < 0 || net_subnet_check_gateway(&s, &gw, e) < 0)
			return err_wrap(e, "network \"%s\"", p->name);
	} else {
		net_subnet_gateway(&s, &gw);
	}
	if (p->bridge)
		snprintf(bridge, sizeof(bridge), "%s", p->bridge);
	else if (!strcmp(p->name, NETWORK_DEFAULT))
		snprintf(bridge, sizeof(bridge), "%s", NETWORK_DEFAULT_BRIDGE);
	else
		snprintf(bridge, sizeof(bridge), "em-%s", p->name);
	if (check_bridge_free(d, bridge, all, e) < 0)
		return err_wrap(e, "network \"%s\"", p->name);
	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:s}", "name", p->name, "driver", "bridge", "bridge",
				bridge, "subnet", net_subnet_str(&s, sbuf), "gateway", net_addr_str(&gw, gbuf), "mtu",
				(json_int_t)p->mtu, "internal", p->internal, "created_at", now);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	record_file(p->name, file);
	if (record_write(n->nets_fd, file, rec, e) < 0) {
		json_decref(rec);
		return err_wrap(e, "network \"%s\"", p->name);
	}
	*out = rec;
	return 0;
}

int networks_create(struct daemon *d, const struct network_create *p, json_t **out, struct ember_error *e)
{
	if (meta_identifier_check("network", p->name, e) < 0)
		return -e->code;
	pthread_mutex_lock(&d->nets->mu);
	int r = create_locked(d, p, out, e);
	pthread_mutex_unlock(&d->nets->mu);
	return r;
}

static json_t *with_leases(struct networks *n, json_t *rec, int full)
{
	json_t *leases;
	struct ember_error ignored;
	const char *name = json_string_value(json_object_get(rec, "name"));

	if (leases_of(n, name ? name : "", &leases, &ignored) < 0) {
		json_decref(leases);
		return rec;
	}
	json_object_set_new(rec, "containers_count", json_integer((json_int_t)json_array_size(leases)));
	if (full)
		json_object_set_new(rec, "containers", leases);
	else
		json_decref(leases);
	return rec;
}

int networks_list(struct daemon *d, json_t **out, struct ember_error *e)
{
	size_t k;
	json_t *rec;

	pthread_mutex_lock(&d->nets->mu);
	int r = load_all(d->nets, out, e);
	if (r == 0)
		json_array_foreach(*out, k, rec)
			with_leases(d->nets, rec, 0);
	pthread_mutex_unlock(&d->nets->mu);
	return r;
}

int networks_inspect(struct daemon *d, const char *name, json_t **out, struct ember_error *e)
{
	struct network nw;

	pthread_mutex_lock(&d->nets->mu);
	int r = network_load(d->nets, name, &nw, e);
	if (r == 0)
		*out = with_leases(d->nets, json_incref(nw.rec), 1);
	pthread_mutex_unlock(&d->nets->mu);
	if (r == 0)
		network_done(&nw);
	return r;
}

static int remove_locked(struct daemon *d, const char *name, struct ember_error *e)
{
	struct networks *n = d->nets;
	struct network nw;
	_cleanup_(json_decrefp) json_t *leases = NULL;
	char file[128];

	if (network_load(n, name, &nw, e) < 0)
		return -e->code;
	if (leases_of(n, name, &leases, e) < 0) {
		network_done(&nw);
		return -e->code;
	}
	if (json_array_size(leases)) {
		json_t *l = json_array_get(leases, 0);
		int r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				     "network \"%s\" is used by %zu container(s): %s/%s first (ember containers rm)", name,
				     json_array_size(leases), json_string_value(json_object_get(l, "namespace")),
				     json_string_value(json_object_get(l, "id")));
		network_done(&nw);
		return r;
	}
	if (net_link_delete(n->nl, nw.bridge, e) < 0 && e->code != ENODEV) {
		network_done(&nw);
		return err_wrap(e, "network \"%s\"", name);
	}
	network_done(&nw);
	record_file(name, file);
	if (unlinkat(n->nets_fd, file, 0) < 0)
		return err_sys(e, errno, "network \"%s\": remove its record", name);
	if (fs_fsync_dir(n->nets_fd, "net/networks", e) < 0)
		return -e->code;
	(void)unlinkat(n->leases_fd, name, AT_REMOVEDIR);
	return 0;
}

int networks_remove(struct daemon *d, const char *name, struct ember_error *e)
{
	pthread_mutex_lock(&d->nets->mu);
	int r = remove_locked(d, name, e);
	pthread_mutex_unlock(&d->nets->mu);
	return r;
}

/* ---- a container's options ------------------------------------------------------------ */

static int port_parse(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* "[HOSTIP:]HOSTPORT:PORT[/tcp|udp]" into {"proto", "host_ip", "host_port", "port"}. */
static int publish_parse(const char *s, json_t **out, struct ember_error *e)
{
	char buf[128], q[ERR_QUOTE_MAX];
	const char *proto = "tcp";
	struct net_addr a;
	unsigned hp, cp;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			goto bad;
	}
	char *last = strrchr(buf, ':');
	if (!last)
		goto bad;
	*last = '\0';
	char *hport = strrchr(buf, ':');
	const char *hip = "";
	if (hport) {
		*hport++ = '\0';
		hip = buf;
		if (net_addr_parse(hip, &a, e) < 0 || a.family != AF_INET)
			goto bad;
	} else {
		hport = buf;
	}
	if (port_parse(hport, strlen(hport), &hp) < 0 || port_parse(last + 1, strlen(last + 1), &cp) < 0)
		goto bad;
	*out = json_pack("{s:s, s:s, s:i, s:i}", "proto", proto, "host_ip", hip, "host_port", (int)hp, "port", (int)cp);
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
bad:
	return err_invalid(e, "options: publish \"%s\": want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]",
			   err_quote(s, q));
}

/* Whether two published ports take the same host port. */
static int publish_clash(json_t *a, json_t *b)
{
	const char *ia = json_string_value(json_object_get(a, "host_ip")) ?: "";
	const char *ib = json_string_value(json_object_get(b, "host_ip")) ?: "";
	return json_integer_value(json_object_get(a, "host_port")) == json_integer_value(json_object_get(b, "host_port")) &&
	       !strcmp(json_string_value(json_object_get(a, "proto")) ?: "", json_string_value(json_object_get(b, "proto")) ?: "") &&
	       (!*ia || !*ib || !strcmp(ia, ib));
}

static int hostname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
			return 0;
	return 1;
}

int networks_options(json_t *o, json_t **out, struct ember_error *e)
{
	const char *mode = json_string_value(json_object_get(o, "net"));
	const char *name = NULL;
	char q[ERR_QUOTE_MAX];
	size_t i;
	json_t *v;

	*out = NULL;
	if (json_is_true(json_object_get(o, "net_host"))) {
		if (mode && strcmp(mode, "host"))
			return err_invalid(e, "options: net_host and net \"%s\" disagree", err_quote(mode, q));
		mode = "host";
	}
	if (!mode && !json_object_get(o, "publish") && !json_object_get(o, "dns") && !json_object_get(o, "add_host"))
		return 0; /* as before networks: the image's own /etc files */
	if (!mode)
		mode = "none";
	if (!strncmp(mode, "bridge:", 7)) {
		name = mode + 7;
		mode = "bridge";
		if (meta_identifier_check("network", name, e) < 0)
			return err_wrap(e, "options: net");
	} else if (!strcmp(mode, "bridge")) {
		name = NETWORK_DEFAULT;
	} else if (strcmp(mode, "none") && strcmp(mode, "host")) {
		return err_invalid(e, "options: net \"%s\": want none, host, bridge or bridge:NAME", err_quote(mode, q));
	}
	json_t *net = json_pack("{s:s}", "mode", mode);
	if (!net)
		return err_set(e, ENOMEM, "out of memory");
	if (name)
		json_object_set_new(net, "network", json_string(name));
	json_t *pubs = json_object_get(o, "publish"), *dns = json_object_get(o, "dns"), *hosts = json_object_get(o, "add_host");
	if (json_array_size(pubs) && strcmp(mode, "bridge")) {
		json_decref(net);
		return err_invalid(e, "options: publish needs net bridge");
	}
	if (json_array_size(pubs) && !ENABLED(CONFIG_NET_NAT)) {
		json_decref(net);
		return err_unsupported(e, "options: publish: this ember is built without CONFIG_NET_NAT");
	}
	if (json_array_size(dns) && strcmp(mode, "bridge")) {
		json_decref(net);
		return err_invalid(e, "options: dns needs net bridge");
	}
	if (json_array_size(hosts) && !strcmp(mode, "host")) {
		json_decref(net);
		return err_invalid(e, "options: add_host: net host uses the host's /etc/hosts");
	}
	json_t *arr = json_array();
	json_object_set_new(net, "publish", arr);
	json_array_foreach(pubs, i, v) {
		json_t *p, *w;
		size_t k;
		if (!json_is_string(v) || publish_parse(json_string_value(v), &p, e) < 0) {
			json_decref(net);
			return json_is_string(v) ? -e->code : err_invalid(e, "options: publish[%zu]: a string", i);
		}
		json_array_foreach(arr, k, w) {
			if (publish_clash(p, w)) {
				json_decref(p);
				json_decref(net);
				return err_invalid(e, "options: publish: host port %s/%lld given twice",
						   json_string_value(json_object_get(w, "proto")),
						   (long long)json_integer_value(json_object_get(w, "host_port")));
			}
		}
		json_array_append_new(arr, p);
	}
	arr = json_array();
	json_object_set_new(net, "dns", arr);
	json_array_foreach(dns, i, v) {
		struct net_addr a;
		if (!json_is_string(v) || net_addr_parse(json_string_value(v), &a, e) < 0) {
			json_decref(net);
			return err_invalid(e, "options: dns[%zu]: an IP address", i);
		}
		json_array_append(arr, v);
	}
	arr = json_array();
	json_object_set_new(net, "add_hosts", arr);
	json_array_foreach(hosts, i, v) {
		const char *s = json_string_value(v), *colon = s ? strchr(s, ':') : NULL;
		char host[256];
		struct net_addr a;
		if (!colon || (size_t)(colon - s) >= sizeof(host)) {
			json_decref(net);
			return err_invalid(e, "options: add_host \"%s\": want NAME:IP", s ? err_quote(s, q) : "");
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		if (!hostname_ok(host) || net_addr_parse(colon + 1, &a, e) < 0) {
			json_decref(net);
			return err_invalid(e, "options: add_host \"%s\": want NAME:IP", err_quote(s, q));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s}", "name", host, "address", colon + 1));
	}
	*out = net;
	return 0;
}

/* ---- leases --------------------------------------------------------------------------- */

/* A published port of net that a running container of another has. */
static int ports_taken(struct networks *n, const char *key, json_t *net, struct ember_error *e)
{
	const char *other;
	json_t *ep, *p, *w;
	size_t i, k;

	json_object_foreach(n->active, other, ep) {
		if (!strcmp(other, key))
			continue;
		json_array_foreach(json_object_get(net, "publish"), i, p) {
			json_array_foreach(json_object_get(ep, "publish"), k, w) {
				if (publish_clash(p, w))
					return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EADDRINUSE,
							    "publish %s/%lld: the host port is published by container %s",
							    json_string_value(json_object_get(p, "proto")),
							    (long long)json_integer_value(json_object_get(p, "host_port")), other);
			}
		}
	}
	return 0;
}

int network_ports_check(struct daemon *d, const char *ns, const char *id, json_t *net, struct ember_error *e)
{
	char key[200];
	snprintf(key, sizeof(key), "%s/%s", ns, id);
	return ports_taken(d->nets, key, net, e);
}

static int lease_take(struct networks *n, const struct network *nw, const char *who, struct net_addr *out,
		      struct ember_error *e)
{
	_cleanup_close_ int dir = fs_open_dir(n->leases_fd, nw->name, 1, 0755, e);
	char abuf[NET_ADDR_STR_MAX], sbuf[NET_SUBNET_STR_MAX];

	if (dir < 0)
		return err_wrap(e, "network \"%s\": leases", nw->name);
	for (int t = 0; t < LEASE_TRIES; t++) {
		char **names;
		size_t count, nu = 0;
		if (fs_list_names(dir, &names, &count, e) < 0)
			return -e->code;
		struct net_addr *used = calloc(count ? count : 1, sizeof(*used));
		if (!used) {
			fs_names_free(names, count);
			return err_set(e, ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < count; i++) {
			struct ember_error ignored;
			if (net_addr_parse(names[i], &used[nu], &ignored) == 0)
				nu++;
		}
		fs_names_free(names, count);
		int r = net_ipam_next(&nw->subnet, &nw->gateway, used, nu, out, e);
		free(used);
		if (r < 0)
			return err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, ENOSPC,
					    "network \"%s\": no free address in %s", nw->name,
					    net_subnet_str(&nw->subnet, sbuf));
		net_addr_str(out, abuf);
		/* The creation is the claim: another daemon's thread, or this
		   one's after a crash, sees the file and takes the next. */
		int fd = openat(dir, abuf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return err_sys(e, errno, "network \"%s\": lease %s", nw->name, abuf);
		/* No fsync: the container record, written durably next, is
		   what keeps the address across a power cut; start-up makes
		   the leases agree with the records (reconcile_leases()). */
		size_t len = strlen(who);
		int ok = write(fd, who, len) == (ssize_t)len;
		int code = errno;
		close(fd);
		if (!ok) {
			(void)unlinkat(dir, abuf, 0);
			return err_sys(e, code, "network \"%s\": lease %s", nw->name, abuf);
		}
		return 0;
	}
	return err_set(e, EAGAIN, "network \"%s\": no address after %d tries", nw->name, LEASE_TRIES);
}

static int lease_locked(struct daemon *d, const char *ns, const char *id, json_t *net, struct ember_error *e)
{
	struct networks *n = d->nets;
	const char *name = json_string_value(json_object_get(net, "network"));
	struct network nw;
	struct net_addr a;
	char who[200], abuf[NET_ADDR_STR_MAX];

	snprintf(who, sizeof(who), "%s/%s", ns, id);
	if (ports_taken(n, who, net, e) < 0)
		return -e->code;
	if (network_load(n, name, &nw, e) < 0) {
		if (e->code != ENOENT || strcmp(name, NETWORK_DEFAULT))
			return -e->code;
		/* The default network, on first use. */
		struct network_create p = { .name = NETWORK_DEFAULT };
		json_t *rec;
		if (create_locked(d, &p, &rec, e) < 0)
			return -e->code;
		log_info(&d->log, "network %s created on first use: %s on %s", NETWORK_DEFAULT,
			 json_string_value(json_object_get(rec, "subnet")), NETWORK_DEFAULT_BRIDGE);
		json_decref(rec);
		if (network_load(n, name, &nw, e) < 0)
			return -e->code;
	}
	int r = lease_take(n, &nw, who, &a, e);
	if (r == 0)
		json_object_set_new(net, "address", json_string(net_addr_str(&a, abuf)));
	network_done(&nw);
	return r;
}

int networks_lease(struct daemon *d, const char *ns, const char *id, json_t *net, struct ember_error *e)
{
	if (!net || strcmp(json_string_value(json_object_get(net, "mode")) ?: "", "bridge"))
		return 0;
	pthread_mutex_lock(&d->nets->mu);
	int r = lease_locked(d, ns, id, net, e);
	pthread_mutex_unlock(&d->nets->mu);
	return r;
}

void networks_release(struct daemon *d, const char *ns, const char *id, json_t *net)
{
	const char *name = json_string_value(json_object_get(net, "network"));
	const char *addr = json_string_value(json_object_get(net, "address"));
	char who[200];
	char *had = NULL;
	size_t len;
	struct ember_error e;

	if (!name || !addr || !fs_name_is_component(name) || !fs_name_is_component(addr))
		return;
	snprintf(who, sizeof(who), "%s/%s", ns, id);
	pthread_mutex_lock(&d->nets->mu);
	_cleanup_close_ int dir = openat(d->nets->leases_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Only its own: an address it held may be another's now. */
	if (dir >= 0 && fs_read_file(dir, addr, 512, &had, &len, &e) == 0 && !strcmp(had, who))
		(void)unlinkat(dir, addr, 0);
	free(had);
	pthread_mutex_unlock(&d->nets->mu);
}

/* ---- start-up ------------------------------------------------------------------------- */

/* A record's address with no lease file, or one naming another: a cut
   power took the file (leases are not synced), or a delete cut short
   left the previous holder's. The record is the truth. */
static int lease_restore(const char *ns, json_t *rec, void *userdata)
{
	struct daemon *d = userdata;
	json_t *net = json_object_get(rec, "network");
	const char *name = json_string_value(json_object_get(net, "network"));
	const char *addr = json_string_value(json_object_get(net, "address"));
	const char *id = json_string_value(json_object_get(rec, "id"));
	char who[200], *had = NULL;
	size_t len;
	struct ember_error e;

	if (strcmp(json_string_value(json_object_get(net, "mode")) ?: "", "bridge") || !name || !addr || !id ||
	    !fs_name_is_component(name) || !fs_name_is_component(addr))
		return 0;
	snprintf(who, sizeof(who), "%s/%s", ns, id);
	_cleanup_close_ int dir = fs_open_dir(d->nets->leases_fd, name, 1, 0755, &e);
	if (dir < 0)
		return 0;
	int ok = fs_read_file(dir, addr, 512, &had, &len, &e) == 0 && !strcmp(had, who);
	free(had);
	if (!ok && fs_replace(dir, addr, who, strlen(who), 0644, &e) == 0)
		log_info(&d->log, "network \"%s\": lease %s of container %s restored from its record", name, addr, who);
	return 0;
}

/* The leases made to agree with the container records: the records'
   restored, then those of no container (a create cut short) removed. */
static void reconcile_leases(struct daemon *d)
{
	struct networks *n = d->nets;
	char **nets;
	size_t count;
	struct ember_error e;

	if (meta_object_walk_all(&d->meta, "containers", lease_restore, d, &e) < 0)
		log_warn(&d->log, "network: leases from the container records: %s", e.message);
	if (fs_list_names(n->leases_fd, &nets, &count, &e) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		_cleanup_close_ int dir = openat(n->leases_fd, nets[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char **addrs;
		size_t na;
		if (dir < 0 || fs_list_names(dir, &addrs, &na, &e) < 0)
			continue;
		(void)fs_remove_tmp(dir, &e);
		for (size_t k = 0; k < na; k++) {
			char *who = NULL;
			size_t len;
			json_t *rec = NULL;
			int keep = 0;
			if (fs_read_file(dir, addrs[k], 512, &who, &len, &e) == 0) {
				char *slash = strchr(who, '/');
				if (slash) {
					*slash = '\0';
					if (container_get(d, who, slash + 1, &rec, &e) == 0) {
						json_t *net = json_object_get(rec, "network");
						keep = !strcmp(json_string_value(json_object_get(net, "address")) ?: "", addrs[k]);
					} else {
						keep = e.code != ENOENT; /* unreadable: keep it, to be safe */
					}
					json_decref(rec);
				}
			}
			free(who);
			if (!keep && unlinkat(dir, addrs[k], 0) == 0)
				log_info(&d->log, "network \"%s\": lease %s of no container removed", nets[i], addrs[k]);
		}
		fs_names_free(addrs, na);
	}
	fs_names_free(nets, count);
}

struct veth_walk {
	struct daemon *d;
	json_t *keep; /* veth names of running tasks */
	char (*gone)[IFNAMSIZ];
	size_t n_gone, max;
};

static int veth_seen(const struct net_link *l, void *data, struct ember_error *e)
{
	struct veth_walk *w = data;

	(void)e;
	if (strcmp(l->kind, "veth") || !network_veth_name_is(l->name) || json_object_get(w->keep, l->name))
		return 0;
	if (w->n_gone == w->max) {
		size_t max = w->max ? 2 * w->max : 16;
		void *p = realloc(w->gone, max * sizeof(*w->gone));
		if (!p)
			return 0;
		w->gone = p;
		w->max = max;
	}
	snprintf(w->gone[w->n_gone++], IFNAMSIZ, "%s", l->name);
	return 0;
}

/* The running tasks' endpoints (their records say), and the veths of no
   running task deleted. */
static void reconcile_links(struct daemon *d)
{
	struct networks *n = d->nets;
	struct veth_walk w = { .d = d, .keep = json_object() };
	struct ember_error e;
	char veth[NETWORK_VETH_LEN + 1], key[200];

	for (struct task *t = d->tasks; t && w.keep; t = t->next) {
		json_t *rec;
		if (t->state != TASK_RUNNING && t->state != TASK_PAUSED)
			continue;
		if (container_get(d, t->ns, t->id, &rec, &e) < 0)
			continue;
		json_t *net = json_object_get(rec, "network");
		if (!strcmp(json_string_value(json_object_get(net, "mode")) ?: "", "bridge")) {
			network_veth_name(t->ns, t->id, t->pid, veth);
			json_object_set_new(w.keep, veth, json_true());
			snprintf(key, sizeof(key), "%s/%s", t->ns, t->id);
			json_object_set_new(n->active, key,
					    json_pack("{s:O, s:O, s:O}", "network", json_object_get(net, "network"), "address",
						      json_object_get(net, "address"), "publish", json_object_get(net, "publish")));
		}
		json_decref(rec);
	}
	if (w.keep && net_link_dump(n->nl, veth_seen, &w, &e) < 0)
		log_warn(&d->log, "network: list links: %s", e.message);
	for (size_t i = 0; i < w.n_gone; i++) {
		if (net_link_delete(n->nl, w.gone[i], &e) == 0)
			log_info(&d->log, "network: veth %s of no running container deleted", w.gone[i]);
		else if (e.code != ENODEV)
			log_warn(&d->log, "network: %s", e.message);
	}
	free(w.gone);
	json_decref(w.keep);
}

int networks_start(struct daemon *d, struct ember_error *e)
{
	struct networks *n = calloc(1, sizeof(*n));

	if (!n || !(n->active = json_object())) {
		free(n);
		return err_set(e, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&n->mu, NULL);
	n->nets_fd = n->leases_fd = -1;
	d->nets = n;
	const char *pool = d->cfg.subnet_pool ? d->cfg.subnet_pool : NETWORK_POOL_DEFAULT;
	int bad = net_subnet_parse(pool, &n->pool, e) < 0;
	if (bad || n->pool.net.family != AF_INET) {
		char why[sizeof(e->message)];
		snprintf(why, sizeof(why), "%s", bad ? e->message : "want an IPv4 subnet");
		return err_set(e, EINVAL, "config: [network] subnet_pool \"%s\": %s", pool, why);
	}
	_cleanup_close_ int net = fs_open_dir(d->root_fd, "net", 1, 0711, e);
	if (net < 0 || (n->nets_fd = fs_open_dir(net, "networks", 1, 0755, e)) < 0 ||
	    (n->leases_fd = fs_open_dir(net, "leases", 1, 0755, e)) < 0)
		return err_wrap(e, "root %s/net", d->cfg.root);
	(void)fs_remove_tmp(n->nets_fd, e);
	if (net_nl_open(-1, &n->nl, e) < 0)
		return -e->code;
	reconcile_leases(d);
	reconcile_links(d);
	if (ENABLED(CONFIG_NET_NAT) && json_object_size(n->active) && network_nat_write(d, e) < 0)
		log_warn(&d->log, "network: NAT of the running containers: %s", e->message);
	return 0;
}

void networks_stop(struct daemon *d)
{
	struct networks *n = d->nets;

	if (!n)
		return;
	close_keep_errno(n->nets_fd);
	close_keep_errno(n->leases_fd);
	net_nl_free(n->nl);
	net_nl_free(n->nft);
	json_decref(n->active);
	pthread_mutex_destroy(&n->mu);
	free(n);
	d->nets = NULL;
}
