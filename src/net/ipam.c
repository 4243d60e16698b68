/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Addresses and subnets, and the next free address of a subnet: pure code.
 *
 * A subnet's host part fits 64 bits (IPv4: at most 24, IPv6: at most 64,
 * NET_PREFIX6_MIN), so an address inside one is its offset from the
 * network address, a uint64_t.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"

static unsigned addr_bits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

int net_addr_parse(const char *s, struct net_addr *out, struct ember_error *e)
{
	char q[ERR_QUOTE_MAX];

	memset(out, 0, sizeof(*out));
	if (s && inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (s && inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return err_invalid(e, "address \"%s\": not an IPv4 or IPv6 address", err_quote(s ? s : "", q));
}

const char *net_addr_str(const struct net_addr *a, char buf[NET_ADDR_STR_MAX])
{
	if ((a->family != AF_INET && a->family != AF_INET6) || !inet_ntop(a->family, a->a, buf, NET_ADDR_STR_MAX))
		snprintf(buf, NET_ADDR_STR_MAX, "(no address)");
	return buf;
}

const char *net_subnet_str(const struct net_subnet *s, char buf[NET_SUBNET_STR_MAX])
{
	char a[NET_ADDR_STR_MAX];

	snprintf(buf, NET_SUBNET_STR_MAX, "%s/%u", net_addr_str(&s->net, a), s->prefix);
	return buf;
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, addr_bits(a->family) / 8) == 0;
}

/* The first `prefix` bits of a and b are the same. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Clear every bit after the first prefix ones. */
static void mask_host(uint8_t *a, unsigned bits, unsigned prefix)
{
	for (unsigned i = prefix; i < bits; i++)
		a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

bool net_subnet_contains(const struct net_subnet *s, const struct net_addr *a)
{
	return a->family == s->net.family && prefix_equal(s->net.a, a->a, s->prefix);
}

bool net_subnet_overlap(const struct net_subnet *a, const struct net_subnet *b)
{
	return net_subnet_contains(a, &b->net) || net_subnet_contains(b, &a->net);
}

/* Ranges no container network may use: IPv4 "this network", loopback,
   multicast and reserved; IPv6 the ::/64 of loopback and mapped IPv4,
   link-local and multicast. */
static const char *reserved(const struct net_subnet *s)
{
	const uint8_t *a = s->net.a;

	if (s->net.family == AF_INET) {
		if (a[0] == 0 || a[0] == 127)
			return a[0] ? "loopback" : "\"this network\" (0.0.0.0/8)";
		if (a[0] >= 224)
			return a[0] < 240 ? "multicast" : "reserved (240.0.0.0/4)";
		return NULL;
	}
	static const uint8_t zero[8];
	if (!memcmp(a, zero, 8))
		return "loopback and mapped IPv4 (::/64)";
	if (a[0] == 0xff)
		return "multicast";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	return NULL;
}

int net_subnet_parse(const char *s, struct net_subnet *out, struct ember_error *e)
{
	char q[ERR_QUOTE_MAX], text[NET_SUBNET_STR_MAX];
	struct ember_error ignored;

	memset(out, 0, sizeof(*out));
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash == s || (size_t)(slash - s) >= NET_ADDR_STR_MAX)
		return err_invalid(e, "subnet \"%s\": not ADDRESS/PREFIX (e.g. 10.89.0.0/24)",
				   err_quote(s ? s : "", q));
	char addr[NET_ADDR_STR_MAX];
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	struct net_addr a;
	if (net_addr_parse(addr, &a, &ignored) < 0)
		return err_invalid(e, "subnet \"%s\": not an IPv4 or IPv6 address before the '/'", err_quote(s, q));

	const char *p = slash + 1;
	unsigned prefix = 0;
	size_t nd = strspn(p, "0123456789");
	if (nd == 0 || nd > 3 || p[nd] != '\0')
		return err_invalid(e, "subnet \"%s\": the prefix length is not a number", err_quote(s, q));
	for (size_t i = 0; i < nd; i++)
		prefix = prefix * 10 + (unsigned)(p[i] - '0');
	unsigned lo = a.family == AF_INET ? NET_PREFIX4_MIN : NET_PREFIX6_MIN;
	unsigned hi = a.family == AF_INET ? NET_PREFIX4_MAX : NET_PREFIX6_MAX;
	if (prefix < lo || prefix > hi)
		return err_invalid(e, "subnet \"%s\": the prefix length must be %u to %u for %s", err_quote(s, q), lo,
				   hi, a.family == AF_INET ? "IPv4" : "IPv6");

	struct net_subnet sn = { .net = a, .prefix = prefix };
	mask_host(sn.net.a, addr_bits(a.family), prefix);
	if (!net_addr_equal(&sn.net, &a))
		return err_invalid(e, "subnet \"%s\": host bits are set (the subnet is %s)", err_quote(s, q),
				   net_subnet_str(&sn, text));
	const char *why = reserved(&sn);
	if (why)
		return err_invalid(e, "subnet \"%s\": %s addresses are not for containers", err_quote(s, q), why);
	*out = sn;
	return 0;
}

/* ---- offsets inside a subnet ---- */

static uint64_t low64(const struct net_addr *a)
{
	const uint8_t *p = a->a + (a->family == AF_INET6 ? 8 : 0);
	unsigned n = a->family == AF_INET6 ? 8 : 4;
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static unsigned host_bits(const struct net_subnet *s)
{
	return addr_bits(s->net.family) - s->prefix;
}

/* An address of s (inside it) as its offset from the network address. */
static uint64_t offset_of(const struct net_subnet *s, const struct net_addr *a)
{
	unsigned hb = host_bits(s);
	uint64_t mask = hb >= 64 ? UINT64_MAX : ((uint64_t)1 << hb) - 1;

	return low64(a) & mask;
}

static void addr_at(const struct net_subnet *s, uint64_t off, struct net_addr *out)
{
	*out = s->net;
	uint8_t *p = out->a + (s->net.family == AF_INET6 ? 8 : 0);
	unsigned n = s->net.family == AF_INET6 ? 8 : 4;
	uint64_t v = low64(&s->net) | off;

	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

/* The highest offset a container may have: IPv4 keeps the broadcast. */
static uint64_t last_offset(const struct net_subnet *s)
{
	unsigned hb = host_bits(s);
	uint64_t all = hb >= 64 ? UINT64_MAX : ((uint64_t)1 << hb) - 1;

	return s->net.family == AF_INET ? all - 1 : all;
}

void net_subnet_gateway(const struct net_subnet *s, struct net_addr *gw)
{
	addr_at(s, 1, gw);
}

int net_subnet_check_gateway(const struct net_subnet *s, const struct net_addr *gw, struct ember_error *e)
{
	char a[NET_ADDR_STR_MAX], n[NET_SUBNET_STR_MAX];

	if (!net_subnet_contains(s, gw))
		return err_invalid(e, "gateway %s: not in subnet %s", net_addr_str(gw, a), net_subnet_str(s, n));
	uint64_t off = offset_of(s, gw);
	if (off == 0 || off > last_offset(s))
		return err_invalid(e, "gateway %s: the %s address of subnet %s", net_addr_str(gw, a),
				   off == 0 ? "network" : "broadcast", net_subnet_str(s, n));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int net_ipam_next(const struct net_subnet *s, const struct net_addr *gw, const struct net_addr *used,
		  size_t n_used, struct net_addr *out, struct ember_error *e)
{
	char n[NET_SUBNET_STR_MAX];

	_cleanup_free_ uint64_t *taken = malloc((n_used + 1) * sizeof(*taken));
	if (!taken)
		return err_sys(e, ENOMEM, "subnet %s: next free address", net_subnet_str(s, n));
	size_t k = 0;
	if (gw && net_subnet_contains(s, gw))
		taken[k++] = offset_of(s, gw);
	for (size_t i = 0; i < n_used; i++)
		if (net_subnet_contains(s, &used[i]))
			taken[k++] = offset_of(s, &used[i]);
	qsort(taken, k, sizeof(*taken), cmp_u64);

	/* The lowest offset from 1 up that no one has: walk the sorted list
	   while it holds the candidate. */
	uint64_t want = 1, last = last_offset(s);
	for (size_t i = 0; i < k && want <= last; i++) {
		if (taken[i] == want)
			want++;
		else if (taken[i] > want)
			break;
	}
	if (want > last || want == 0)
		return err_set(e, ENOSPC, "subnet %s: no free address (%zu taken, the gateway included)", net_subnet_str(s, n), k);
	addr_at(s, want, out);
	return 0;
}
