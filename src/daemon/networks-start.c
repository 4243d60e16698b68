/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A start's network: the container's hosts, hostname and resolv.conf,
 * then (the before_setup hook, the child waiting) the bridge, the veth
 * with eth0 in the child's namespace, forwarding, and the NAT table
 * rewritten with the container in it. All of it or nothing: a step that
 * fails undoes the ones before.
 */
#include "daemon/networks-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#define RESOLV_MAX 8192
#define FILE_MAX 65536

/* ---- files ---------------------------------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
	int failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	if (!t->p && !(t->p = malloc(t->cap = 1024))) {
		t->failed = 1;
		return;
	}
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0 || t->len + (size_t)n >= FILE_MAX) {
			t->failed = 1;
			return;
		}
		if (t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		char *q = realloc(t->p, t->cap * 2);
		if (!q) {
			t->failed = 1;
			return;
		}
		t->p = q;
		t->cap *= 2;
	}
}

static int loopback(const char *addr)
{
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1");
}

/* The host's resolv.conf without loopback nameservers (they are the
   host's own, unreachable from the container), or with dns as the only
   ones. */
static void resolv_conf(struct network_start *s, struct text *t)
{
	struct networks *n = s->d->nets;
	json_t *dns = json_object_get(s->net, "dns");
	_cleanup_free_ char *host = NULL;
	size_t len, i;
	json_t *v;
	struct ember_error e;
	int dropped = 0;

	if (fs_read_file(AT_FDCWD, "/etc/resolv.conf", RESOLV_MAX, &host, &len, &e) < 0)
		host = NULL;
	for (char *line = host, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char word[16], addr[64];
		if (sscanf(line, " %15s %63s", word, addr) == 2 && !strcmp(word, "nameserver")) {
			if (json_array_size(dns))
				continue;
			if (loopback(addr)) {
				dropped = 1;
				continue;
			}
		}
		text_add(t, "%s\n", line);
	}
	json_array_foreach(dns, i, v)
		text_add(t, "nameserver %s\n", json_string_value(v));
	if (dropped && !n->resolv_said) {
		n->resolv_said = 1;
		log_info(&s->d->log, "network: containers' resolv.conf leaves out the host's loopback nameservers "
				     "(unreachable from a container; --dns gives others)");
	}
}

static void hosts_file(struct network_start *s, const char *hostname, struct text *t)
{
	const char *mode = json_string_value(json_object_get(s->net, "mode"));
	const char *addr = json_string_value(json_object_get(s->net, "address"));
	size_t i;
	json_t *h;

	text_add(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (!strcmp(mode, "bridge") && addr)
		text_add(t, "%s\t%s\n", addr, hostname);
	else
		text_add(t, "127.0.1.1\t%s\n", hostname);
	json_array_foreach(json_object_get(s->net, "add_hosts"), i, h)
		text_add(t, "%s\t%s\n", json_string_value(json_object_get(h, "address")),
			 json_string_value(json_object_get(h, "name")));
}

static int has_mount(json_t *spec, const char *dst)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (!strcmp(json_string_value(json_object_get(m, "destination")) ?: "", dst))
			return 1;
	return 0;
}

static int add_mount(json_t *spec, const char *dst, const char *src, int ro)
{
	json_t *ms = json_object_get(spec, "mounts");
	if (has_mount(spec, dst))
		return 0; /* the user's own */
	if (!ms) {
		ms = json_array();
		json_object_set_new(spec, "mounts", ms);
	}
	json_t *m = json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination", dst, "type", "bind", "source", src,
			      "options", "bind", "nosuid", "nodev", "noexec", ro ? "ro" : "rw");
	return m && json_array_append_new(ms, m) == 0 ? 0 : -1;
}

int networks_start_prepare(struct network_start *s, int dir, const char *dir_path, json_t *spec,
			   struct ember_error *e)
{
	const char *mode = json_string_value(json_object_get(s->net, "mode"));
	const char *hostname = json_string_value(json_object_get(spec, "hostname"));
	static const char *const names[] = { "hosts", "hostname", "resolv.conf" };
	char path[4096];

	if (!mode)
		return 0;
	if (!strcmp(mode, "host")) {
		/* The host's, read-only: the container shares its network. */
		if (add_mount(spec, "/etc/hosts", "/etc/hosts", 1) < 0 ||
		    (access("/etc/resolv.conf", F_OK) == 0 && add_mount(spec, "/etc/resolv.conf", "/etc/resolv.conf", 1) < 0))
			return err_set(e, ENOMEM, "out of memory");
		return 0;
	}
	if (!hostname)
		hostname = s->id;
	int bridge = !strcmp(mode, "bridge");
	for (size_t i = 0; i < (bridge ? 3u : 2u); i++) {
		struct text t = { 0 };
		if (i == 0)
			hosts_file(s, hostname, &t);
		else if (i == 1)
			text_add(&t, "%s\n", hostname);
		else
			resolv_conf(s, &t);
		if (t.failed) {
			free(t.p);
			return err_set(e, ENOMEM, "task state: %s: out of memory", names[i]);
		}
		int r = dir >= 0 ? fs_replace(dir, names[i], t.p ? t.p : "", t.len, 0644, e) : 0;
		free(t.p);
		if (r < 0)
			return err_wrap(e, "task state");
		snprintf(path, sizeof(path), "%s/%s", dir_path, names[i]);
		char dst[32];
		snprintf(dst, sizeof(dst), "/etc/%s", names[i]);
		/* Read-write, as Docker's: the file is the container's own
		   (in its task's state), and programs that edit /etc/hosts
		   at start (entrypoint scripts) keep working. */
		if (add_mount(spec, dst, path, 0) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- NAT ------------------------------------------------------------------------------ */

static int pub_from_json(json_t *p, const char *addr, struct net_publish *out, struct ember_error *e)
{
	const char *hip = json_string_value(json_object_get(p, "host_ip"));

	memset(out, 0, sizeof(*out));
	out->proto = strcmp(json_string_value(json_object_get(p, "proto")) ?: "", "udp") ? IPPROTO_TCP : IPPROTO_UDP;
	out->host_port = (uint16_t)json_integer_value(json_object_get(p, "host_port"));
	out->port = (uint16_t)json_integer_value(json_object_get(p, "port"));
	if (net_addr_parse(addr, &out->addr, e) < 0 || (hip && *hip && net_addr_parse(hip, &out->host_addr, e) < 0))
		return -e->code;
	return 0;
}

int network_nat_write(struct daemon *d, struct ember_error *e)
{
	struct networks *n = d->nets;
	size_t n_pub = 0, n_masq = 0, n_nets = json_object_size(n->active);
	const char *key;
	json_t *ep, *p;
	size_t i;

	if (!ENABLED(CONFIG_NET_NAT))
		return 0;
	json_object_foreach(n->active, key, ep)
		n_pub += json_array_size(json_object_get(ep, "publish"));
	struct net_publish *pubs = calloc(n_pub ? n_pub : 1, sizeof(*pubs));
	struct network *nets = calloc(n_nets ? n_nets : 1, sizeof(*nets));
	struct net_masq *masq = calloc(n_nets ? n_nets : 1, sizeof(*masq));
	int r = 0;
	n_pub = 0;
	if (!pubs || !nets || !masq) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(n->active, key, ep) {
		const char *name = json_string_value(json_object_get(ep, "network"));
		json_array_foreach(json_object_get(ep, "publish"), i, p)
			if ((r = pub_from_json(p, json_string_value(json_object_get(ep, "address")) ?: "", &pubs[n_pub++], e)) < 0)
				goto out;
		size_t k = 0;
		while (k < n_masq && strcmp(nets[k].name, name ?: ""))
			k++;
		if (k < n_masq || !name)
			continue;
		if ((r = network_load(n, name, &nets[n_masq], e)) < 0)
			goto out;
		masq[n_masq].subnet = &nets[n_masq].subnet;
		masq[n_masq].bridge = nets[n_masq].bridge;
		n_masq++;
	}
	/* Internal networks have no way out: no masquerade. */
	size_t m = 0;
	for (size_t k = 0; k < n_masq; k++)
		if (!nets[k].internal)
			masq[m++] = masq[k];
	if (!n->nft && (m || n_pub) && (r = net_nft_open(-1, &n->nft, e)) < 0)
		goto out;
	if (m || n_pub) {
		struct net_nat nat = { .table = NETWORK_NAT_TABLE, .masq = masq, .n_masq = m, .publish = pubs,
				       .n_publish = n_pub };
		r = net_nat_add(n->nft, &nat, e);
	} else if (n->nft) {
		r = net_nat_delete(n->nft, NETWORK_NAT_TABLE, e);
	}
out:
	for (size_t k = 0; nets && k < n_masq; k++)
		network_done(&nets[k]);
	free(nets);
	free(masq);
	free(pubs);
	return r;
}

/* ---- attach --------------------------------------------------------------------------- */

/* Whether an endpoint other than key is on network name: then its
   masquerade is in the table already (or stays there). */
static int network_in_use(struct networks *n, const char *name, const char *key)
{
	const char *k;
	json_t *ep;

	json_object_foreach(n->active, k, ep)
		if (strcmp(k, key) && !strcmp(json_string_value(json_object_get(ep, "network")) ?: "", name))
			return 1;
	return 0;
}

static int bridge_up(struct networks *n, const struct network *nw, struct net_link *out, struct ember_error *e)
{
	if (net_link_get(n->nl, nw->bridge, 0, out, e) == 0) {
		if (strcmp(out->kind, "bridge"))
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EEXIST,
					    "network \"%s\": device \"%s\" is not a bridge", nw->name, nw->bridge);
		return 0;
	}
	if (e->code != ENODEV)
		return -e->code;
	if (net_bridge_create(n->nl, nw->bridge, nw->mtu, e) < 0 || net_link_get(n->nl, nw->bridge, 0, out, e) < 0)
		return -e->code;
	if (net_addr_add(n->nl, out, &nw->gateway, nw->subnet.prefix, e) < 0) {
		struct ember_error ignored;
		(void)net_link_delete(n->nl, nw->bridge, &ignored);
		return -e->code;
	}
	return 0;
}

/* IPv4 forwarding in the daemon's namespace, for a network with a way out. */
static int forwarding(struct daemon *d, const char *name, struct ember_error *e)
{
	char c = '0';
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);

	if (fd < 0 || pread(fd, &c, 1, 0) != 1)
		return err_sys(e, errno, "network \"%s\": read /proc/sys/net/ipv4/ip_forward", name);
	if (c == '1')
		return 0;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		return err_sys(e, errno, "network \"%s\": enable IPv4 forwarding", name);
	log_info(&d->log, "network: IPv4 forwarding enabled (net.ipv4.ip_forward=1) for network \"%s\"", name);
	return 0;
}

/* The veth pair, its end in pid's network namespace. */
static int veth_into(struct networks *n, struct net_attach *a, pid_t pid, struct ember_error *e)
{
	char path[64];
	struct ember_error ignored;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return err_sys(e, errno, "open %s", path);
	a->netns_fd = nsfd;
	int r = net_attach(n->nl, a, e);
	if (r < 0 && e->code == EEXIST) {
		/* A previous start's with a pid used again, its namespace
		   going away (the kernel had not deleted it yet). */
		(void)net_link_delete(n->nl, a->veth, &ignored);
		r = net_attach(n->nl, a, e);
	}
	return r;
}

/* A published port that a socket of the daemon's network namespace holds
   (a host service): DNAT would take its traffic from outside without a
   word, so the start is refused, naming it. A bind that fails is taken;
   SO_REUSEADDR keeps connections in TIME_WAIT from counting. */
static int host_ports_free(json_t *net, struct ember_error *e)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(net, "publish"), i, p) {
		const char *proto = json_string_value(json_object_get(p, "proto")) ?: "tcp";
		const char *hip = json_string_value(json_object_get(p, "host_ip"));
		int port = (int)json_integer_value(json_object_get(p, "host_port"));
		struct net_addr a = { .family = AF_INET };
		struct sockaddr_storage ss = { 0 };
		socklen_t len;
		int one = 1;

		if (hip && *hip && net_addr_parse(hip, &a, e) < 0)
			return -e->code;
		if (a.family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			memcpy(&s6->sin6_addr, a.a, 16);
			len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			memcpy(&s4->sin_addr, a.a, 4);
			len = sizeof(*s4);
		}
		_cleanup_close_ int fd = socket(a.family, (strcmp(proto, "udp") ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_sys(e, errno, "publish %s/%d: socket", proto, port);
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE)
			return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EADDRINUSE,
					    "publish %s/%d: the host port is in use by a program of the host", proto, port);
	}
	return 0;
}

/* What a task's endpoint needs before its veth: an address in the
   subnet, its published ports free, the bridge up, forwarding. a gets
   what net_attach() wants but the veth's name. Locked. */
static int endpoint_prepare(struct network_start *s, struct network *nw, struct net_attach *a, struct ember_error *e)
{
	struct daemon *d = s->d;
	const char *name = json_string_value(json_object_get(s->net, "network"));
	const char *addr = json_string_value(json_object_get(s->net, "address"));
	struct net_link br;

	if (!name || !addr)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "the container has no address (no lease)");
	if (network_ports_check(d, s->ns, s->id, s->net, e) < 0 || host_ports_free(s->net, e) < 0 ||
	    network_load(d->nets, name, nw, e) < 0)
		return -e->code;
	*a = (struct net_attach){ .peer = "eth0", .mtu = nw->mtu, .prefix = nw->subnet.prefix, .gateway = nw->gateway };
	/* Internal: no way out, no default route (the bridge's address is
	   on the link, reachable all the same). */
	if (nw->internal)
		memset(&a->gateway, 0, sizeof(a->gateway));
	int r = net_addr_parse(addr, &a->addr, e);
	if (r == 0 && !net_subnet_contains(&nw->subnet, &a->addr))
		r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "address %s is not in the subnet", addr);
	if (r == 0)
		r = bridge_up(d->nets, nw, &br, e);
	if (r == 0 && !nw->internal)
		r = forwarding(d, name, e);
	a->bridge = br.index;
	return r;
}

/* The endpoint whose host end is veth goes into the active set, and the
   NAT table with it when that changes it; on failure the veth goes.
   Locked. */
static int endpoint_activate(struct network_start *s, const char *key, const char *veth, int internal,
			     struct ember_error *e)
{
	struct daemon *d = s->d;
	struct networks *n = d->nets;
	const char *name = json_string_value(json_object_get(s->net, "network"));
	struct ember_error ignored;
	int r = 0;

	json_t *old = json_incref(json_object_get(n->active, key));
	/* The table changes only with published ports or a network's first
	   container (its masquerade): most starts write nothing. */
	int write = json_array_size(json_object_get(s->net, "publish")) ||
		    json_array_size(json_object_get(old, "publish")) || (!internal && !network_in_use(n, name, key));
	json_object_set_new(n->active, key,
			    json_pack("{s:s, s:O, s:O}", "network", name, "address", json_object_get(s->net, "address"),
				      "publish", json_object_get(s->net, "publish")));
	if (write) {
		r = network_nat_write(d, e);
		if (r < 0) {
			(void)net_link_delete(n->nl, veth, &ignored);
			if (old)
				json_object_set(n->active, key, old);
			else
				json_object_del(n->active, key);
			(void)network_nat_write(d, &ignored);
		}
	}
	json_decref(old);
	return r;
}

static int attach_locked(struct network_start *s, pid_t pid, const char *key, struct ember_error *e)
{
	struct network nw = { 0 };
	struct net_attach a;
	char veth[NETWORK_VETH_LEN + 1];

	int r = endpoint_prepare(s, &nw, &a, e);
	if (r == 0) {
		network_veth_name(s->ns, s->id, pid, veth);
		a.veth = veth;
		r = veth_into(s->d->nets, &a, pid, e);
	}
	if (r == 0)
		r = endpoint_activate(s, key, veth, nw.internal, e);
	network_done(&nw);
	return r;
}

static int bridge_mode(const struct network_start *s, char *key, size_t size)
{
	snprintf(key, size, "%s/%s", s->ns, s->id);
	return s->net && !strcmp(json_string_value(json_object_get(s->net, "mode")) ?: "", "bridge");
}

int networks_attach(struct network_start *s, pid_t pid, struct ember_error *e)
{
	char key[200];

	if (!bridge_mode(s, key, sizeof(key)))
		return 0;
	pthread_mutex_lock(&s->d->nets->mu);
	int r = attach_locked(s, pid, key, e);
	pthread_mutex_unlock(&s->d->nets->mu);
	if (r < 0)
		return err_wrap(e, "network \"%s\"", json_string_value(json_object_get(s->net, "network")));
	s->attached = 1;
	return 0;
}

/* A restore: CRIU makes the veth pair again (eth0 with its addresses and
   routes from its images), its host end by a temporary name on the
   bridge (its external "veth[eth0]:NAME@BRIDGE"); the name is a start's
   once the pid is known. */
int networks_restore_prepare(struct network_start *s, char *ext, size_t size, struct ember_error *e)
{
	char key[200];
	struct network nw = { 0 };
	struct net_attach a;

	ext[0] = '\0';
	if (!bridge_mode(s, key, sizeof(key)))
		return 0;
	pthread_mutex_lock(&s->d->nets->mu);
	int r = endpoint_prepare(s, &nw, &a, e);
	/* Not a start's name (network_veth_name_is()): the start-up sweep
	   leaves it be. */
	network_veth_name(s->ns, s->id, 0, s->restore_veth);
	s->restore_veth[1] = 'r';
	if (r == 0 && snprintf(ext, size, "veth[eth0]:%s@%s", s->restore_veth, nw.bridge) >= (int)size)
		r = err_invalid(e, "bridge name too long");
	s->restore_mtu = nw.mtu;
	s->restore_internal = nw.internal;
	network_done(&nw);
	pthread_mutex_unlock(&s->d->nets->mu);
	return r < 0 ? err_wrap(e, "network \"%s\"", json_string_value(json_object_get(s->net, "network"))) : 0;
}

int networks_restore_attach(struct network_start *s, pid_t pid, struct ember_error *e)
{
	char key[200], veth[NETWORK_VETH_LEN + 1];
	struct net_link_change down = { .master = NET_KEEP, .up = 0 }, name = { .master = NET_KEEP, .up = NET_KEEP },
			       up = { .master = NET_KEEP, .up = 1 };
	struct networks *n = s->d->nets;

	if (!bridge_mode(s, key, sizeof(key)))
		return 0;
	network_veth_name(s->ns, s->id, pid, veth);
	name.rename = veth;
	up.mtu = s->restore_mtu; /* CRIU's host end has the default */
	pthread_mutex_lock(&n->mu);
	int r = 0;
	if (net_link_set(n->nl, s->restore_veth, &down, e) < 0 || net_link_set(n->nl, s->restore_veth, &name, e) < 0 ||
	    net_link_set(n->nl, veth, &up, e) < 0)
		r = -e->code;
	if (r == 0)
		r = endpoint_activate(s, key, veth, s->restore_internal, e);
	pthread_mutex_unlock(&n->mu);
	if (r < 0)
		return err_wrap(e, "network \"%s\"", json_string_value(json_object_get(s->net, "network")));
	s->attached = 1;
	return 0;
}

void networks_detach(struct daemon *d, const char *ns, const char *id)
{
	struct networks *n = d->nets;
	char key[200];
	struct ember_error e;

	if (!n)
		return;

	snprintf(key, sizeof(key), "%s/%s", ns, id);
	pthread_mutex_lock(&n->mu);
	json_t *ep = json_object_get(n->active, key);
	if (ep) {
		const char *name = json_string_value(json_object_get(ep, "network")) ?: "";
		int write = json_array_size(json_object_get(ep, "publish")) || !network_in_use(n, name, key);
		json_object_del(n->active, key);
		if (write && network_nat_write(d, &e) < 0)
			log_warn(&d->log, "network: container %s gone: %s", key, e.message);
	}
	pthread_mutex_unlock(&n->mu);
}
