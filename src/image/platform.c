/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/image-internal.h"
#include "util/cleanup.h"
#include "util/err.h"

/* The architecture this binary was built for, as GOARCH spells it. */
#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#elif defined(__powerpc64__)
#define HOST_ARCH "ppc64"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#elif defined(__loongarch64)
#define HOST_ARCH "loong64"
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "mips64le"
#elif defined(__mips64)
#define HOST_ARCH "mips64"
#elif defined(__mips__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "mipsle"
#elif defined(__mips__)
#define HOST_ARCH "mips"
#else
#define HOST_ARCH "" /* uname(2) decides */
#endif

#if defined(__ARM_ARCH)
#define HOST_ARM_ARCH __ARM_ARCH
#else
#define HOST_ARM_ARCH 7
#endif

/* Go's GOOS and GOARCH lists (go/build/syslist.go), for one-word specifiers. */
static const char *const known_os[] = {
	"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
	"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
};

static const char *const known_arch[] = {
	"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
	"mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
	"riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int field_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

int image_platform_field_check(const char *what, const char *s, size_t max, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	size_t n = strlen(s);

	if (n == 0)
		return image_bad(e, "%s: empty", what);
	if (n >= max)
		return image_bad(e, "%s: \"%s\" is longer than %zu characters", what, image_quote(s, q), max - 1);
	for (size_t i = 0; i < n; i++)
		if (!field_char(s[i]))
			return image_bad(e, "%s: \"%s\" has a character other than [A-Za-z0-9._-]", what,
					 image_quote(s, q));
	return 0;
}

/* Fields are always shorter than their buffers: checked on the way in,
   and normalisation only writes short constants. */
#define SET(field, value) snprintf((field), sizeof(field), "%s", (value))

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

void platform_normalize(struct platform *p)
{
	char *a = p->arch, *v = p->variant;

	lower(p->os);
	lower(a);
	lower(v);
	if (!p->os[0])
		SET(p->os, "linux");
	else if (strcmp(p->os, "macos") == 0)
		SET(p->os, "darwin");

	if (!strcmp(a, "i386") || !strcmp(a, "i486") || !strcmp(a, "i586") || !strcmp(a, "i686")) {
		SET(p->arch, "386");
		v[0] = '\0';
	} else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
		SET(p->arch, "amd64");
		if (!strcmp(v, "v1"))
			v[0] = '\0';
	} else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		SET(p->arch, "arm64");
		/* containerd now spells v8 as ""; ember keeps "v8", as Docker
		   Hub's indexes do. They match either way. */
		if (!v[0] || !strcmp(v, "8") || !strcmp(v, "v8.0"))
			SET(p->variant, "v8");
		else if (!strcmp(v, "9") || !strcmp(v, "9.0") || !strcmp(v, "v9.0"))
			SET(p->variant, "v9");
	} else if (!strcmp(a, "armhf")) {
		SET(p->arch, "arm");
		SET(p->variant, "v7");
	} else if (!strcmp(a, "armel")) {
		SET(p->arch, "arm");
		SET(p->variant, "v6");
	} else if (!strncmp(a, "armv", 4) && a[4] >= '5' && a[4] <= '8' && a[strlen(a) - 1] != 'b') {
		/* uname -m: armv5tel, armv6l, armv7l, armv8l (32-bit on arm64);
		   a trailing b is big-endian, another architecture. */
		if (!v[0])
			snprintf(p->variant, sizeof(p->variant), "v%c", a[4]);
		SET(p->arch, "arm");
	} else if (!strcmp(a, "arm")) {
		if (!v[0] || !strcmp(v, "7"))
			SET(p->variant, "v7");
		else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8"))
			snprintf(p->variant, sizeof(p->variant), "v%c", v[0]);
	} else if (!strcmp(a, "ppc64el")) {
		SET(p->arch, "ppc64le");
	} else if (!strcmp(a, "mips64el")) {
		SET(p->arch, "mips64le");
	} else if (!strcmp(a, "mipsel")) {
		SET(p->arch, "mipsle");
	} else if (!strcmp(a, "loongarch64")) {
		SET(p->arch, "loong64");
	}
}

void platform_default(struct platform *p)
{
	struct utsname u;
	int have_uname = uname(&u) == 0;

	memset(p, 0, sizeof(*p));
	SET(p->os, "linux");
	SET(p->arch, HOST_ARCH);
	if (!p->arch[0] && have_uname)
		snprintf(p->arch, sizeof(p->arch), "%.*s", (int)sizeof(p->arch) - 1, u.machine);
	if (strcmp(p->arch, "arm") == 0) {
		/* The kernel knows the CPU; the compiler only the baseline. */
		if (have_uname && !strncmp(u.machine, "armv", 4) && u.machine[4] >= '5' && u.machine[4] <= '8')
			snprintf(p->variant, sizeof(p->variant), "v%c", u.machine[4]);
		else if (have_uname && (!strcmp(u.machine, "aarch64") || !strcmp(u.machine, "arm64")))
			SET(p->variant, "v8");
		else
			snprintf(p->variant, sizeof(p->variant), "v%d", HOST_ARM_ARCH);
	}
	platform_normalize(p);
}

char *platform_string(const struct platform *p, char buf[PLATFORM_STRING_MAX])
{
	int n;

	if (p->os_version[0])
		n = snprintf(buf, PLATFORM_STRING_MAX, "%s(%s)/%s", p->os, p->os_version, p->arch);
	else
		n = snprintf(buf, PLATFORM_STRING_MAX, "%s/%s", p->os, p->arch);
	if (n > 0 && p->variant[0] && (size_t)n < PLATFORM_STRING_MAX)
		snprintf(buf + n, PLATFORM_STRING_MAX - n, "/%s", p->variant);
	return buf;
}

int platform_equal(const struct platform *a, const struct platform *b)
{
	return !strcmp(a->os, b->os) && !strcmp(a->arch, b->arch) && !strcmp(a->variant, b->variant) &&
	       !strcmp(a->os_version, b->os_version);
}

int platform_parse(const char *s, struct platform *p, struct ember_error *e)
{
	char buf[PLATFORM_STRING_MAX], q[IMAGE_QUOTE_MAX], what[IMAGE_QUOTE_MAX + 16];
	struct platform t = { 0 };
	char *parts[3];
	size_t n = 0;
	int r;

	memset(p, 0, sizeof(*p));
	if (!s || !*s)
		return image_bad(e, "platform: empty");
	snprintf(what, sizeof(what), "platform \"%s\"", image_quote(s, q));
	if (strlen(s) >= sizeof(buf))
		return image_bad(e, "%s: too long", what);
	if (strchr(s, '*'))
		return image_bad(e, "%s: wildcards are not supported", what);
	memcpy(buf, s, strlen(s) + 1);
	for (char *c = buf, *start = buf;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		if (n == ARRAY_SIZE(parts))
			return image_bad(e, "%s: want os/arch[/variant]", what);
		parts[n++] = start;
		if (*c == '\0')
			break;
		*c = '\0';
		start = c + 1;
	}

	/* The first part may carry an OS version: "windows(10.0.17763)". */
	char *paren = strchr(parts[0], '(');
	if (paren) {
		size_t len = strlen(paren);
		if (len < 2 || paren[len - 1] != ')')
			return image_bad(e, "%s: want os(version)", what);
		paren[len - 1] = '\0';
		*paren = '\0';
		if (paren[1] != '\0') {
			r = image_platform_field_check(what, paren + 1, sizeof(t.os_version), e);
			if (r < 0)
				return r;
			SET(t.os_version, paren + 1);
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = image_platform_field_check(what, parts[i], PLATFORM_FIELD_MAX, e);
		if (r < 0)
			return r;
	}

	if (n == 1) {
		lower(parts[0]);
		if (in_list(parts[0], known_os, ARRAY_SIZE(known_os))) {
			struct platform host;
			platform_default(&host);
			SET(t.os, parts[0]);
			SET(t.arch, host.arch);
			SET(t.variant, host.variant);
		} else {
			SET(t.os, "linux");
			SET(t.arch, parts[0]);
			platform_normalize(&t);
			if (!in_list(t.arch, known_arch, ARRAY_SIZE(known_arch)))
				return image_bad(e, "%s: unknown operating system or architecture", what);
		}
	} else {
		SET(t.os, parts[0]);
		SET(t.arch, parts[1]);
		if (n == 3)
			SET(t.variant, parts[2]);
	}
	platform_normalize(&t);
	*p = t;
	return 0;
}

/* ---- matching ---- */

struct candidate {
	const char *arch;
	char variant[PLATFORM_FIELD_MAX]; /* the want's own variant is first */
};

#define VECTOR_MAX 32

static void push(struct candidate *v, size_t *n, const char *arch, const char *variant)
{
	if (*n < VECTOR_MAX) {
		v[*n].arch = arch;
		snprintf(v[*n].variant, sizeof(v[*n].variant), "%s", variant);
		(*n)++;
	}
}

static void push_arm64(struct candidate *v, size_t *n, int major, int minor)
{
	char variant[12];

	if (minor == 0)
		snprintf(variant, sizeof(variant), "v%d", major);
	else
		snprintf(variant, sizeof(variant), "v%d.%d", major, minor);
	push(v, n, "arm64", variant);
}

/* "vN" → N, else -1. */
static int variant_number(const char *v)
{
	if (v[0] != 'v' || v[1] < '1' || v[1] > '9' || (v[2] != '\0' && (v[2] < '0' || v[2] > '9' || v[3])))
		return -1;
	return v[2] ? (v[1] - '0') * 10 + (v[2] - '0') : v[1] - '0';
}

/* The ordered list of (arch, variant) that satisfy a normalised want,
   best first: containerd's platformVector(). */
static size_t platform_vector(const struct platform *want, struct candidate *v)
{
	const char *a = want->arch, *var = want->variant;
	size_t n = 0;
	int level;

	push(v, &n, a, var);
	if (!strcmp(a, "amd64")) {
		level = variant_number(var);
		for (int l = level - 1; l >= 1; l--) {
			char s[16];
			snprintf(s, sizeof(s), "v%d", l);
			push(v, &n, "amd64", l == 1 ? "" : s);
		}
		push(v, &n, "386", "");
	} else if (!strcmp(a, "arm")) {
		level = variant_number(var);
		for (int l = level - 1; l >= 5; l--) {
			char s[16];
			snprintf(s, sizeof(s), "v%d", l);
			push(v, &n, "arm", s);
		}
	} else if (!strcmp(a, "arm64")) {
		/* v8, v8.N, v9, v9.N; minors are one digit, as in containerd. */
		int major = -1, minor = 0;
		if (var[0] == 'v' && (var[1] == '8' || var[1] == '9')) {
			if (var[2] == '\0')
				major = var[1] - '0';
			else if (var[2] == '.' && var[3] >= '0' && var[3] <= '9' && var[4] == '\0')
				major = var[1] - '0', minor = var[3] - '0';
		}
		if (major < 0)
			return n;
		if (major == 9) {
			for (int m = minor - 1; m >= 0; m--)
				push_arm64(v, &n, 9, m);
			/* v9.0 forked from v8.5: v9.N runs v8.(N+5) code, to v8.9. */
			minor = minor + 5 > 9 ? 9 : minor + 5;
			push_arm64(v, &n, 8, minor);
		}
		for (int m = minor - 1; m >= 0; m--)
			push_arm64(v, &n, 8, m);
		/* AArch32: every arm64 CPU containerd knows runs arm/v8 and older. */
		for (int l = 8; l >= 5; l--) {
			char s[12];
			snprintf(s, sizeof(s), "v%d", l);
			push(v, &n, "arm", s);
		}
	}
	return n;
}

int platform_match(const struct platform *want, const struct platform *have)
{
	struct candidate v[VECTOR_MAX];
	struct platform w = *want, h = *have;

	platform_normalize(&w);
	platform_normalize(&h);
	if (strcmp(w.os, h.os) != 0)
		return 0;
	if (w.os_version[0] && h.os_version[0] && strcmp(w.os_version, h.os_version) != 0)
		return 0;
	size_t n = platform_vector(&w, v);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].arch, h.arch) && !strcmp(v[i].variant, h.variant))
			return PLATFORM_MATCH_EXACT - (int)i;
	return 0;
}

/* ---- JSON ---- */

static int get_field(json_t *obj, const char *key, const char *where, int required, char *out, size_t size,
		     struct ember_error *e)
{
	char what[160];
	json_t *v = json_object_get(obj, key);

	snprintf(what, sizeof(what), "%s%s%s", where, where[0] ? "." : "", key);
	if (!v || json_is_null(v)) {
		if (required)
			return image_bad(e, "%s: missing", what);
		return 0;
	}
	if (!json_is_string(v))
		return image_bad(e, "%s: not a string", what);
	/* An empty optional field is the same as an absent one. */
	if (!required && json_string_length(v) == 0)
		return 0;
	int r = image_platform_field_check(what, json_string_value(v), size, e);
	if (r < 0)
		return r;
	snprintf(out, size, "%s", json_string_value(v));
	return 0;
}

int platform_from_json(json_t *obj, const char *where, struct platform *p, struct ember_error *e)
{
	int r;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return image_bad(e, "%s: not an object", where);
	if ((r = get_field(obj, "architecture", where, 1, p->arch, sizeof(p->arch), e)) < 0 ||
	    (r = get_field(obj, "os", where, 1, p->os, sizeof(p->os), e)) < 0 ||
	    (r = get_field(obj, "variant", where, 0, p->variant, sizeof(p->variant), e)) < 0 ||
	    (r = get_field(obj, "os.version", where, 0, p->os_version, sizeof(p->os_version), e)) < 0) {
		memset(p, 0, sizeof(*p));
		return r;
	}
	return 0;
}

json_t *platform_to_json(const struct platform *p)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "architecture", json_string(p->arch)) < 0 ||
	    json_object_set_new(o, "os", json_string(p->os)) < 0 ||
	    (p->variant[0] && json_object_set_new(o, "variant", json_string(p->variant)) < 0) ||
	    (p->os_version[0] && json_object_set_new(o, "os.version", json_string(p->os_version)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
