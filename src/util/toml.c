/* SPDX-License-Identifier: Apache-2.0 */
#include "util/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"

/*
 * A recursive-descent parser over a byte range. Invariants:
 *   - every byte is read through peek_at(), which returns -1 at and past len;
 *   - the whole input is checked to be UTF-8 without NUL before parsing, so
 *     any byte >= 0x80 met later belongs to a valid sequence and strings can
 *     be copied bytewise;
 *   - recursion happens only for arrays and inline tables, and parse_value()
 *     refuses a container deeper than TOML_MAX_DEPTH before recursing;
 *   - the tree under p->root owns every JSON value made so far, so freeing
 *     the root on error frees everything (values being built are held by
 *     cleanup variables until they are linked in).
 *
 * JSON objects carry no room for TOML's definition rules, so a side table
 * (struct flagmap, keyed by object address) records how each table and
 * array of tables came to be.
 */

enum {
	T_IMPLICIT = 1u << 0, /* parent created by a header, not defined yet */
	T_HEADER = 1u << 1,   /* defined by [a], an [[a]] element, the root */
	T_DOTTED = 1u << 2,   /* defined by dotted keys */
	T_INLINE = 1u << 3,   /* inline table: closed */
	A_TABLES = 1u << 4,   /* array made by [[a]] (other arrays: no entry) */
};

struct flag_slot {
	const json_t *obj;
	unsigned flags;
};

struct flagmap {
	struct flag_slot *slot;
	size_t cap; /* 0 or a power of two */
	size_t used;
};

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

struct key_part {
	char *name;
	size_t pos;
};

struct keypath {
	struct key_part *part;
	size_t n;
	size_t cap;
};

struct toml_line_rec {
	const json_t *table;
	char *key;
	size_t line;
};

struct toml_lines {
	struct toml_line_rec *v;
	size_t n;
	size_t cap;
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	size_t origin; /* where line 1 starts (after a byte order mark) */
	const char *source;
	struct ember_error *e;
	json_t *root;
	json_t *cur; /* the table key/value pairs go to */
	unsigned cur_depth;
	struct flagmap flags;
	struct buf buf; /* the string being scanned */
	struct toml_lines *lines; /* NULL: not asked for */
	size_t line_pos;          /* line_no is the line of this offset */
	size_t line_no;
};

/* json_decrefp() comes with jansson (>= 2.9). */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- errors ---- */

static int fail(struct parser *p, size_t at, const char *fmt, ...) ERR_PRINTF(3, 4);

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	size_t line = 1, col = 1;
	va_list ap;

	if (at > p->len)
		at = p->len;
	for (size_t i = p->origin; i < at; i++) {
		unsigned char c = (unsigned char)p->s[i];

		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xC0) != 0x80) {
			col++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(p->e, EINVAL, "%s:%zu:%zu: %s", p->source, line, col, what);
}

static int oom(struct parser *p)
{
	return err_set(p->e, ENOMEM, "%s: out of memory", p->source);
}

/*
 * Record that key of table was written at offset `at`. Keys are met in
 * increasing offsets, so counting line breaks on from the last record keeps
 * this linear in the input.
 */
static int note_line(struct parser *p, const json_t *table, const char *key, size_t at)
{
	struct toml_lines *l = p->lines;

	if (!l)
		return 0;
	if (at < p->line_pos) {
		p->line_pos = p->origin;
		p->line_no = 1;
	}
	for (; p->line_pos < at && p->line_pos < p->len; p->line_pos++)
		if (p->s[p->line_pos] == '\n')
			p->line_no++;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct toml_line_rec *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return oom(p);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = strdup(key);
	if (!l->v[l->n].key)
		return oom(p);
	l->v[l->n].table = table;
	l->v[l->n].line = p->line_no;
	l->n++;
	return 0;
}

/* ---- input ---- */

static int peek_at(const struct parser *p, size_t at)
{
	return at < p->len ? (unsigned char)p->s[at] : -1;
}

static int peek(const struct parser *p)
{
	return peek_at(p, p->pos);
}

/* Length of the line break at `at` (LF or CRLF), or 0. */
static size_t newline_len(const struct parser *p, size_t at)
{
	int c = peek_at(p, at);

	if (c == '\n')
		return 1;
	if (c == '\r' && peek_at(p, at + 1) == '\n')
		return 2;
	return 0;
}

static bool at_line_end(const struct parser *p)
{
	return p->pos >= p->len || newline_len(p, p->pos) > 0;
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
	       c == '-';
}

/*
 * Length of the UTF-8 sequence at s[i] and its code point, or 0 when the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and values
 * above U+10FFFF are invalid).
 */
static size_t utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
	unsigned char c = s[i];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (len - i < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		unsigned char b = s[i + k];

		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (b & 0x3F);
	}
	*cp = v;
	return n;
}

/* Name the character at `at` for a message. */
static const char *describe(const struct parser *p, size_t at, char *buf, size_t size)
{
	int c = peek_at(p, at);
	uint32_t cp;

	if (c < 0)
		return "end of input";
	if (newline_len(p, at))
		return "end of line";
	if (c == '\r')
		return "a carriage return without a line feed";
	if (c > 0x20 && c < 0x7f) {
		snprintf(buf, size, "'%c'", c);
		return buf;
	}
	if (c == ' ')
		return "a space";
	if (c == '\t')
		return "a tab";
	if (utf8_decode((const unsigned char *)p->s, p->len, at, &cp) == 0)
		cp = (uint32_t)c;
	snprintf(buf, size, "U+%04" PRIX32, cp);
	return buf;
}

static int check_encoding(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	uint32_t cp;

	for (size_t i = 0; i < p->len;) {
		size_t n;

		if (s[i] == 0)
			return fail(p, i, "NUL byte in input");
		n = utf8_decode(s, p->len, i, &cp);
		if (n == 0)
			return fail(p, i, "invalid UTF-8 (byte 0x%02X)", s[i]);
		i += n;
	}
	return 0;
}

/* ---- small containers ---- */

static int buf_put(struct parser *p, const char *d, size_t n)
{
	struct buf *b = &p->buf;

	if (n == 0)
		return 0;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 64;
		char *nd;

		while (cap - b->len < n)
			cap *= 2;
		nd = realloc(b->data, cap);
		if (!nd)
			return oom(p);
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, d, n);
	b->len += n;
	return 0;
}

static int buf_putc(struct parser *p, char c)
{
	return buf_put(p, &c, 1);
}

static size_t flag_hash(const json_t *j)
{
	uint64_t h = (uint64_t)(uintptr_t)j;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

static unsigned flags_get(const struct flagmap *m, const json_t *j)
{
	if (m->cap == 0)
		return 0;
	for (size_t i = flag_hash(j) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->slot[i].obj == j)
			return m->slot[i].flags;
		if (!m->slot[i].obj)
			return 0;
	}
}

static struct flag_slot *flags_probe(struct flag_slot *slot, size_t cap, const json_t *j)
{
	size_t i = flag_hash(j) & (cap - 1);

	while (slot[i].obj && slot[i].obj != j)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

static int flags_set(struct parser *p, const json_t *j, unsigned flags)
{
	struct flagmap *m = &p->flags;
	struct flag_slot *s;

	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct flag_slot *slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return oom(p);
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].obj)
				*flags_probe(slot, cap, m->slot[i].obj) = m->slot[i];
		free(m->slot);
		m->slot = slot;
		m->cap = cap;
	}
	s = flags_probe(m->slot, m->cap, j);
	if (!s->obj) {
		s->obj = j;
		m->used++;
	}
	s->flags = flags;
	return 0;
}

static void keypath_done(struct keypath *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->part[i].name);
	free(k->part);
	k->part = NULL;
	k->n = k->cap = 0;
}

/* Render parts [0, n) of k the way TOML writes them, for messages. */
static const char *key_str(const struct keypath *k, size_t n, char *out, size_t size)
{
	size_t o = 0;
	bool cut = false;

	/* Reserve room for "..." and the NUL. */
	if (size < 8) {
		out[0] = '\0';
		return out;
	}
	size -= 4;
	for (size_t i = 0; i < n && !cut; i++) {
		const unsigned char *s = (const unsigned char *)k->part[i].name;
		bool bare = *s != '\0';
		char tmp[8];

		if (o + 3 > size) {
			cut = true;
			break;
		}
		for (const unsigned char *q = s; *q; q++)
			bare = bare && is_bare(*q);
		if (i > 0)
			out[o++] = '.';
		if (!bare)
			out[o++] = '"';
		for (; *s && !cut; s++) {
			size_t tl;

			if (*s == '"' || *s == '\\')
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *s);
			else if (is_control(*s))
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04X", *s);
			else
				tl = (size_t)snprintf(tmp, sizeof(tmp), "%c", *s);
			if (o + tl + 2 > size) {
				cut = true;
				break;
			}
			memcpy(out + o, tmp, tl);
			o += tl;
		}
		if (!bare && !cut)
			out[o++] = '"';
	}
	if (cut) {
		/* Do not leave half a UTF-8 sequence before the ellipsis. */
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
		if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
			o--;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

#define KEY_STR_MAX 128

/* ---- whitespace and comments ---- */

static void skip_ws(struct parser *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		p->pos++;
}

/* At '#': skip to the end of the line, leaving the line break. */
static int skip_comment(struct parser *p)
{
	p->pos++;
	while (!at_line_end(p)) {
		int c = peek(p);

		if (is_control(c))
			return fail(p, p->pos, "control character U+%04X in a comment",
				    (unsigned)c);
		p->pos++;
	}
	return 0;
}

/* Skip whitespace, comments and line breaks (inside arrays). */
static int skip_blank(struct parser *p)
{
	for (;;) {
		size_t nl;

		skip_ws(p);
		if (peek(p) == '#') {
			int r = skip_comment(p);

			if (r < 0)
				return r;
		}
		nl = newline_len(p, p->pos);
		if (nl == 0)
			return 0;
		p->pos += nl;
	}
}

/* After a value or header: optional comment, then a line break or the end. */
static int end_of_line(struct parser *p, const char *after)
{
	char d[16];

	skip_ws(p);
	if (peek(p) == '#') {
		int r = skip_comment(p);

		if (r < 0)
			return r;
	}
	if (p->pos >= p->len)
		return 0;
	if (newline_len(p, p->pos)) {
		p->pos += newline_len(p, p->pos);
		return 0;
	}
	return fail(p, p->pos, "expected the end of the line after %s, found %s", after,
		    describe(p, p->pos, d, sizeof(d)));
}

/* ---- strings ---- */

static int put_utf8(struct parser *p, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_put(p, b, n);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At a backslash in a basic string: decode one escape into p->buf. */
static int scan_escape(struct parser *p)
{
	size_t at = p->pos;
	int c = peek_at(p, at + 1);
	size_t digits;
	uint32_t cp = 0;
	char d[16];

	switch (c) {
	case 'b':
		p->pos += 2;
		return buf_putc(p, '\b');
	case 't':
		p->pos += 2;
		return buf_putc(p, '\t');
	case 'n':
		p->pos += 2;
		return buf_putc(p, '\n');
	case 'f':
		p->pos += 2;
		return buf_putc(p, '\f');
	case 'r':
		p->pos += 2;
		return buf_putc(p, '\r');
	case '"':
		p->pos += 2;
		return buf_putc(p, '"');
	case '\\':
		p->pos += 2;
		return buf_putc(p, '\\');
	case 'u':
		digits = 4;
		break;
	case 'U':
		digits = 8;
		break;
	default:
		if (c > 0x20 && c < 0x7f)
			return fail(p, at, "invalid escape sequence '\\%c'", c);
		return fail(p, at, "invalid escape sequence: backslash followed by %s",
			    describe(p, at + 1, d, sizeof(d)));
	}
	for (size_t i = 0; i < digits; i++) {
		int h = hex_value(peek_at(p, at + 2 + i));

		if (h < 0)
			return fail(p, at, "invalid escape sequence: '\\%c' needs %zu hex digits",
				    c, digits);
		cp = (cp << 4) | (uint32_t)h;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return fail(p, at, "escape '\\%c%.*s' is not a Unicode scalar value", c,
			    (int)digits, p->s + at + 2);
	if (cp == 0)
		return fail(p, at, "escape '\\%c%.*s' (NUL) is not allowed in strings", c,
			    (int)digits, p->s + at + 2);
	p->pos = at + 2 + digits;
	return put_utf8(p, cp);
}

static int control_in_string(struct parser *p)
{
	return fail(p, p->pos, "control character U+%04X in a string (use an escape sequence)",
		    (unsigned)peek(p));
}

/* Copy a run of ordinary characters (not `stop`, '\\', controls). */
static int copy_run(struct parser *p, int stop, bool escapes)
{
	size_t start = p->pos;

	for (;;) {
		int c = peek(p);

		if (c < 0 || c == stop || (escapes && c == '\\') || is_control(c))
			break;
		p->pos++;
	}
	return buf_put(p, p->s + start, p->pos - start);
}

/* Single-line "basic" (escapes) or 'literal' string into p->buf. */
static int scan_string(struct parser *p)
{
	size_t start = p->pos;
	int q = peek(p);
	bool escapes = q == '"';

	p->buf.len = 0;
	p->pos++;
	for (;;) {
		int c, r = copy_run(p, q, escapes);

		if (r < 0)
			return r;
		c = peek(p);
		if (c == q) {
			p->pos++;
			return 0;
		}
		if (c < 0 || at_line_end(p))
			return fail(p, start, "unterminated string");
		if (c == '\\')
			r = scan_escape(p);
		else
			r = control_in_string(p);
		if (r < 0)
			return r;
	}
}

/* Multi-line """basic""" or '''literal''' string into p->buf. */
static int scan_ml_string(struct parser *p)
{
	size_t start = p->pos;
	int q = peek(p);
	bool escapes = q == '"';

	p->buf.len = 0;
	p->pos += 3;
	p->pos += newline_len(p, p->pos);
	for (;;) {
		int c, r = copy_run(p, q, escapes);
		size_t nl;

		if (r < 0)
			return r;
		c = peek(p);
		if (c < 0)
			return fail(p, start, "unterminated multi-line string");
		if (c == q) {
			size_t n = 0;

			while (n < 6 && peek_at(p, p->pos + n) == q)
				n++;
			if (n == 6)
				return fail(p, p->pos,
					    "too many quotes at the end of a multi-line string");
			if (n >= 3) {
				/* Up to two quotes right before the delimiter are content. */
				r = buf_put(p, p->s + p->pos, n - 3);
				p->pos += n;
				return r;
			}
			r = buf_put(p, p->s + p->pos, n);
			p->pos += n;
		} else if ((nl = newline_len(p, p->pos)) > 0) {
			p->pos += nl;
			r = buf_putc(p, '\n');
		} else if (c == '\\') {
			size_t i = p->pos + 1;

			while (peek_at(p, i) == ' ' || peek_at(p, i) == '\t')
				i++;
			if (newline_len(p, i) == 0) {
				r = scan_escape(p);
			} else {
				/* Line-ending backslash: drop whitespace up to the next text. */
				p->pos = i;
				for (;;) {
					int w = peek(p);

					if (w == ' ' || w == '\t')
						p->pos++;
					else if ((nl = newline_len(p, p->pos)) > 0)
						p->pos += nl;
					else
						break;
				}
			}
		} else {
			r = control_in_string(p);
		}
		if (r < 0)
			return r;
	}
}

/* ---- keys ---- */

static int key_push(struct parser *p, struct keypath *k, const char *name, size_t len, size_t pos)
{
	char *s;

	/* Every part but the last is a table: more parts than this nest too deep. */
	if (k->n > TOML_MAX_DEPTH)
		return fail(p, pos, "nesting deeper than %d levels", TOML_MAX_DEPTH);
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4;
		struct key_part *np = realloc(k->part, cap * sizeof(*np));

		if (!np)
			return oom(p);
		k->part = np;
		k->cap = cap;
	}
	s = malloc(len + 1);
	if (!s)
		return oom(p);
	memcpy(s, name, len);
	s[len] = '\0';
	k->part[k->n].name = s;
	k->part[k->n].pos = pos;
	k->n++;
	return 0;
}

/* A key, dotted or not; leaves trailing whitespace skipped. */
static int parse_key(struct parser *p, struct keypath *k)
{
	for (;;) {
		size_t start = p->pos;
		int c = peek(p), r;
		char d[16];

		if (c == '"' || c == '\'') {
			if (peek_at(p, start + 1) == c && peek_at(p, start + 2) == c)
				return fail(p, start, "multi-line strings cannot be keys");
			r = scan_string(p);
			if (r < 0)
				return r;
			r = key_push(p, k, p->buf.data ? p->buf.data : "", p->buf.len, start);
		} else if (is_bare(c)) {
			while (is_bare(peek(p)))
				p->pos++;
			r = key_push(p, k, p->s + start, p->pos - start, start);
		} else {
			return fail(p, start, "expected a key, found %s",
				    describe(p, start, d, sizeof(d)));
		}
		if (r < 0)
			return r;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->pos++;
		skip_ws(p);
	}
}

/* ---- values ---- */

static int parse_value(struct parser *p, unsigned depth, json_t **out);
static int parse_keyval(struct parser *p, json_t *table, unsigned depth);

static bool looking_at(const struct parser *p, size_t at, const char *word)
{
	size_t n = strlen(word);

	return p->len - at >= n && memcmp(p->s + at, word, n) == 0 && !is_bare(peek_at(p, at + n));
}

static int digit_value(int c, unsigned base)
{
	int v = hex_value(c);

	return v >= 0 && (unsigned)v < base ? v : -1;
}

static int parse_number(struct parser *p, json_t **out)
{
	size_t start = p->pos, i = start, run = 0;
	bool sign = false, neg = false;
	unsigned base = 10;
	uint64_t mag = 0, limit;
	int c = peek_at(p, i), next;
	char d[16];

	if (c == '+' || c == '-') {
		sign = true;
		neg = c == '-';
		c = peek_at(p, ++i);
	}
	if (looking_at(p, i, "inf") || looking_at(p, i, "nan"))
		return fail(p, start, "inf and nan are not supported (no floats)");
	if (!is_digit(c))
		return fail(p, start, "invalid number");
	while (is_digit(peek_at(p, i + run)))
		run++;
	next = peek_at(p, i + run);
	if (!sign && ((run == 4 && next == '-') || (run == 2 && next == ':')))
		return fail(p, start, "dates and times are not supported");

	next = peek_at(p, i + 1);
	if (c == '0' && (next == 'x' || next == 'o' || next == 'b')) {
		static const char *const names[] = { "hexadecimal", "octal", "binary" };
		const char *name = names[next == 'x' ? 0 : next == 'o' ? 1 : 2];

		if (sign)
			return fail(p, start, "a sign is not allowed on %s integers", name);
		base = next == 'x' ? 16 : next == 'o' ? 8 : 2;
		i += 2;
		if (digit_value(peek_at(p, i), base) < 0)
			return fail(p, i, "expected %s digits, found %s", name,
				    describe(p, i, d, sizeof(d)));
	} else if (c == '0' && (is_digit(next) || next == '_')) {
		return fail(p, start, "leading zeros are not allowed in integers");
	}

	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (;;) {
		int v;

		c = peek_at(p, i);
		v = digit_value(c, base);
		if (v < 0) {
			if (c != '_')
				break;
			if (digit_value(peek_at(p, i + 1), base) < 0)
				return fail(p, i, "'_' in an integer must be between digits");
			i++;
			continue;
		}
		if (mag > (limit - (uint64_t)v) / base)
			return fail(p, start, "integer out of range (must fit in 64 bits, signed)");
		mag = mag * base + (uint64_t)v;
		i++;
	}
	if (base == 10 && (c == '.' || c == 'e' || c == 'E'))
		return fail(p, start, "floats are not supported");
	if (is_bare(c))
		return fail(p, i, "invalid character %s in an integer",
			    describe(p, i, d, sizeof(d)));
	p->pos = i;
	if (!neg)
		*out = json_integer((json_int_t)mag);
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = json_integer(INT64_MIN);
	else
		*out = json_integer(-(json_int_t)mag);
	return *out ? 0 : oom(p);
}

static int parse_array(struct parser *p, unsigned depth, json_t **out)
{
	size_t start = p->pos;
	_cleanup_json_ json_t *arr = json_array();

	if (!arr)
		return oom(p);
	p->pos++;
	for (;;) {
		json_t *v;
		int c, r = skip_blank(p);
		char d[16];

		if (r < 0)
			return r;
		c = peek(p);
		if (c < 0)
			return fail(p, start, "unterminated array");
		if (c == ']')
			break;
		r = parse_value(p, depth + 1, &v);
		if (r < 0)
			return r;
		if (json_array_append_new(arr, v) < 0)
			return oom(p);
		r = skip_blank(p);
		if (r < 0)
			return r;
		c = peek(p);
		if (c == ',') {
			p->pos++;
			continue;
		}
		if (c == ']')
			break;
		if (c < 0)
			return fail(p, start, "unterminated array");
		return fail(p, p->pos, "expected ',' or ']' in an array, found %s",
			    describe(p, p->pos, d, sizeof(d)));
	}
	p->pos++;
	*out = TAKE_PTR(arr);
	return 0;
}

static int parse_inline_table(struct parser *p, unsigned depth, json_t **out)
{
	size_t start = p->pos;
	_cleanup_json_ json_t *t = json_object();
	int r;

	if (!t)
		return oom(p);
	r = flags_set(p, t, T_INLINE);
	if (r < 0)
		return r;
	p->pos++;
	skip_ws(p);
	if (peek(p) == '}') {
		p->pos++;
		*out = TAKE_PTR(t);
		return 0;
	}
	for (;;) {
		char d[16];
		size_t comma;
		int c;

		if (at_line_end(p))
			break;
		r = parse_keyval(p, t, depth);
		if (r < 0)
			return r;
		skip_ws(p);
		c = peek(p);
		if (c == '}') {
			p->pos++;
			*out = TAKE_PTR(t);
			return 0;
		}
		if (c != ',') {
			if (at_line_end(p))
				break;
			return fail(p, p->pos, "expected ',' or '}' in an inline table, found %s",
				    describe(p, p->pos, d, sizeof(d)));
		}
		comma = p->pos++;
		skip_ws(p);
		if (peek(p) == '}')
			return fail(p, comma, "trailing comma in an inline table");
	}
	if (p->pos >= p->len)
		return fail(p, start, "unterminated inline table");
	return fail(p, p->pos, "line break in an inline table (inline tables are one line)");
}

static int parse_value(struct parser *p, unsigned depth, json_t **out)
{
	size_t start = p->pos;
	int c = peek(p), r;
	char d[16];

	*out = NULL;
	switch (c) {
	case '"':
	case '\'':
		if (peek_at(p, start + 1) == c && peek_at(p, start + 2) == c)
			r = scan_ml_string(p);
		else
			r = scan_string(p);
		if (r < 0)
			return r;
		*out = json_stringn(p->buf.data ? p->buf.data : "", p->buf.len);
		return *out ? 0 : oom(p);
	case '[':
	case '{':
		if (depth > TOML_MAX_DEPTH)
			return fail(p, start, "nesting deeper than %d levels", TOML_MAX_DEPTH);
		if (c == '[')
			return parse_array(p, depth, out);
		return parse_inline_table(p, depth, out);
	case 't':
	case 'f':
		if (looking_at(p, start, "true")) {
			p->pos += 4;
			*out = json_true();
			return 0;
		}
		if (looking_at(p, start, "false")) {
			p->pos += 5;
			*out = json_false();
			return 0;
		}
		break;
	case 'i':
	case 'n':
		if (looking_at(p, start, "inf") || looking_at(p, start, "nan"))
			return parse_number(p, out);
		break;
	case '+':
	case '-':
		return parse_number(p, out);
	default:
		if (is_digit(c))
			return parse_number(p, out);
		if (c < 0 || at_line_end(p) || c == '#')
			return fail(p, start, "expected a value, found %s",
				    describe(p, start, d, sizeof(d)));
		break;
	}
	return fail(p, start, "invalid value starting with %s (strings must be quoted)",
		    describe(p, start, d, sizeof(d)));
}

/* ---- keys and tables ---- */

/* What `what` is, for a message saying it cannot be used as a table. */
static const char *kind_of(const struct parser *p, const json_t *what)
{
	unsigned f = flags_get(&p->flags, what);

	if (json_is_array(what))
		return f & A_TABLES ? "an array of tables" : "an array";
	if (json_is_object(what))
		return f & T_INLINE ? "an inline table" : "a table defined by a header";
	return "a value, not a table";
}

static int parse_keyval(struct parser *p, json_t *table, unsigned depth)
{
	_cleanup_(keypath_done) struct keypath k = { 0 };
	struct key_part *last;
	json_t *v;
	char ks[KEY_STR_MAX], d[16];
	int r = parse_key(p, &k);

	if (r < 0)
		return r;
	last = &k.part[k.n - 1];
	if (peek(p) != '=') {
		if (at_line_end(p) || peek(p) == '#')
			return fail(p, p->pos, "key '%s' has no value (expected '=')",
				    key_str(&k, k.n, ks, sizeof(ks)));
		return fail(p, p->pos, "expected '=' after key '%s', found %s",
			    key_str(&k, k.n, ks, sizeof(ks)), describe(p, p->pos, d, sizeof(d)));
	}
	p->pos++;
	skip_ws(p);
	if (at_line_end(p) || peek(p) == '#')
		return fail(p, p->pos, "missing value for key '%s'",
			    key_str(&k, k.n, ks, sizeof(ks)));

	for (size_t i = 0; i + 1 < k.n; i++) {
		json_t *child = json_object_get(table, k.part[i].name);

		depth++;
		if (!child) {
			if (depth > TOML_MAX_DEPTH)
				return fail(p, k.part[i].pos, "nesting deeper than %d levels",
					    TOML_MAX_DEPTH);
			child = json_object();
			if (!child || json_object_set_new(table, k.part[i].name, child) < 0)
				return oom(p);
			r = flags_set(p, child, T_DOTTED);
			if (r == 0)
				r = note_line(p, table, k.part[i].name, k.part[i].pos);
			if (r < 0)
				return r;
		} else {
			unsigned f = flags_get(&p->flags, child);

			if (!json_is_object(child) || (f & (T_INLINE | T_HEADER)))
				return fail(p, k.part[i].pos,
					    "cannot add to '%s' with dotted keys: it is %s",
					    key_str(&k, i + 1, ks, sizeof(ks)), kind_of(p, child));
			if (f & T_IMPLICIT) {
				r = flags_set(p, child, T_DOTTED);
				if (r < 0)
					return r;
			}
		}
		table = child;
	}
	if (json_object_get(table, last->name))
		return fail(p, last->pos, "duplicate key '%s'", key_str(&k, k.n, ks, sizeof(ks)));
	r = parse_value(p, depth + 1, &v);
	if (r < 0)
		return r;
	if (json_object_set_new(table, last->name, v) < 0)
		return oom(p);
	return note_line(p, table, last->name, last->pos);
}

/* A header's path runs into `what` (parts [0, n)), which is no table. */
static int not_a_table(struct parser *p, const struct keypath *k, size_t n, const json_t *what,
		       bool aot)
{
	char ks[KEY_STR_MAX], ks2[KEY_STR_MAX];

	return fail(p, k->part[n - 1].pos, "cannot define %s%s%s: '%s' is %s", aot ? "[[" : "[",
		    key_str(k, k->n, ks, sizeof(ks)), aot ? "]]" : "]",
		    key_str(k, n, ks2, sizeof(ks2)), kind_of(p, what));
}

static int parse_header(struct parser *p)
{
	_cleanup_(keypath_done) struct keypath k = { 0 };
	size_t start = p->pos;
	bool aot = peek_at(p, start + 1) == '[';
	json_t *t = p->root, *child;
	unsigned depth = 0, f;
	char ks[KEY_STR_MAX], d[16];
	int r;

	p->pos += aot ? 2 : 1;
	skip_ws(p);
	r = parse_key(p, &k);
	if (r < 0)
		return r;
	if (aot && peek(p) == ']' && peek_at(p, p->pos + 1) != ']')
		return fail(p, p->pos + 1, "expected ']]' to close the header, found ']' and %s",
			    describe(p, p->pos + 1, d, sizeof(d)));
	if (peek(p) != ']')
		return fail(p, p->pos, "expected '%s' to close the header, found %s",
			    aot ? "]]" : "]", describe(p, p->pos, d, sizeof(d)));
	p->pos += aot ? 2 : 1;

	for (size_t i = 0; i + 1 < k.n; i++) {
		child = json_object_get(t, k.part[i].name);
		if (!child) {
			if (++depth > TOML_MAX_DEPTH)
				return fail(p, k.part[i].pos, "nesting deeper than %d levels",
					    TOML_MAX_DEPTH);
			child = json_object();
			if (!child || json_object_set_new(t, k.part[i].name, child) < 0)
				return oom(p);
			r = flags_set(p, child, T_IMPLICIT);
			if (r == 0)
				r = note_line(p, t, k.part[i].name, k.part[i].pos);
			if (r < 0)
				return r;
			t = child;
			continue;
		}
		f = flags_get(&p->flags, child);
		if (json_is_object(child) && !(f & T_INLINE)) {
			depth++;
			t = child;
		} else if (json_is_array(child) && (f & A_TABLES)) {
			/* An array of tables is never empty: [[a]] makes one element. */
			depth += 2;
			t = json_array_get(child, json_array_size(child) - 1);
		} else {
			return not_a_table(p, &k, i + 1, child, aot);
		}
	}

	child = json_object_get(t, k.part[k.n - 1].name);
	f = child ? flags_get(&p->flags, child) : 0;
	if (aot) {
		json_t *elem;

		if (!child) {
			if (depth + 2 > TOML_MAX_DEPTH)
				return fail(p, k.part[k.n - 1].pos, "nesting deeper than %d levels",
					    TOML_MAX_DEPTH);
			child = json_array();
			if (!child || json_object_set_new(t, k.part[k.n - 1].name, child) < 0)
				return oom(p);
			r = flags_set(p, child, A_TABLES);
			if (r == 0)
				r = note_line(p, t, k.part[k.n - 1].name, k.part[k.n - 1].pos);
			if (r < 0)
				return r;
		} else if (!json_is_array(child) || !(f & A_TABLES)) {
			if (json_is_object(child))
				return fail(p, start, "cannot define [[%s]]: it is already a table",
					    key_str(&k, k.n, ks, sizeof(ks)));
			return not_a_table(p, &k, k.n, child, aot);
		}
		elem = json_object();
		if (!elem || json_array_append_new(child, elem) < 0)
			return oom(p);
		r = flags_set(p, elem, T_HEADER);
		if (r < 0)
			return r;
		p->cur = elem;
		p->cur_depth = depth + 2;
		return 0;
	}

	if (!child) {
		if (depth + 1 > TOML_MAX_DEPTH)
			return fail(p, k.part[k.n - 1].pos, "nesting deeper than %d levels",
				    TOML_MAX_DEPTH);
		child = json_object();
		if (!child || json_object_set_new(t, k.part[k.n - 1].name, child) < 0)
			return oom(p);
		r = note_line(p, t, k.part[k.n - 1].name, k.part[k.n - 1].pos);
		if (r < 0)
			return r;
	} else if (!json_is_object(child)) {
		if (json_is_array(child) && (f & A_TABLES))
			return fail(p, start,
				    "cannot define [%s]: it is already an array of tables",
				    key_str(&k, k.n, ks, sizeof(ks)));
		return not_a_table(p, &k, k.n, child, aot);
	} else if (f != T_IMPLICIT) {
		const char *how = "by an earlier header";

		if (f & T_INLINE)
			how = "as an inline table";
		else if (f & T_DOTTED)
			how = "by dotted keys";

		return fail(p, start, "table [%s] is already defined %s",
			    key_str(&k, k.n, ks, sizeof(ks)), how);
	}
	r = flags_set(p, child, T_HEADER);
	if (r < 0)
		return r;
	p->cur = child;
	p->cur_depth = depth + 1;
	return 0;
}

static int parse_document(struct parser *p)
{
	for (;;) {
		int r = 0;
		size_t nl;

		skip_ws(p);
		if (p->pos >= p->len)
			return 0;
		nl = newline_len(p, p->pos);
		if (nl > 0) {
			p->pos += nl;
			continue;
		}
		if (peek(p) == '[') {
			r = parse_header(p);
			if (r == 0)
				r = end_of_line(p, "a table header");
		} else if (peek(p) != '#') {
			r = parse_keyval(p, p->cur, p->cur_depth);
			if (r == 0)
				r = end_of_line(p, "a value");
		} else {
			r = end_of_line(p, "a comment");
		}
		if (r < 0)
			return r;
	}
}

static void parser_done(struct parser *p)
{
	json_decref(p->root);
	free(p->flags.slot);
	free(p->buf.data);
}

static json_t *parse(const char *text, size_t len, const char *source, struct toml_lines *lines,
		     struct ember_error *e)
{
	_cleanup_(parser_done) struct parser p = {
		.s = text,
		.len = len,
		.source = source ? source : "<input>",
		.e = e,
		.lines = lines,
		.line_no = 1,
	};

	if (!text && len > 0) {
		err_set(e, EINVAL, "%s: no input", p.source);
		return NULL;
	}
	if (len > TOML_MAX_SIZE) {
		fail(&p, TOML_MAX_SIZE, "input is larger than %d bytes", TOML_MAX_SIZE);
		return NULL;
	}
	if (check_encoding(&p) < 0)
		return NULL;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		p.pos = p.origin = p.line_pos = 3;
	p.root = json_object();
	if (!p.root) {
		oom(&p);
		return NULL;
	}
	if (flags_set(&p, p.root, T_HEADER) < 0)
		return NULL;
	p.cur = p.root;
	if (parse_document(&p) < 0)
		return NULL;
	return TAKE_PTR(p.root);
}

json_t *toml_parse(const char *text, size_t len, const char *source, struct ember_error *e)
{
	return parse(text, len, source, NULL, e);
}

json_t *toml_parse_lines(const char *text, size_t len, const char *source,
			 struct toml_lines **lines, struct ember_error *e)
{
	struct toml_lines *l = calloc(1, sizeof(*l));
	json_t *doc;

	*lines = NULL;
	if (!l) {
		err_set(e, ENOMEM, "%s: out of memory", source ? source : "<input>");
		return NULL;
	}
	doc = parse(text, len, source, l, e);
	if (!doc)
		toml_lines_free(l);
	else
		*lines = l;
	return doc;
}

size_t toml_line(const struct toml_lines *lines, const json_t *table, const char *key)
{
	if (!lines || !table || !key)
		return 0;
	for (size_t i = 0; i < lines->n; i++)
		if (lines->v[i].table == table && strcmp(lines->v[i].key, key) == 0)
			return lines->v[i].line;
	return 0;
}

void toml_lines_free(struct toml_lines *lines)
{
	if (!lines)
		return;
	for (size_t i = 0; i < lines->n; i++)
		free(lines->v[i].key);
	free(lines->v);
	free(lines);
}

json_t *toml_parse_file(const char *path, struct ember_error *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *data = NULL;
	size_t len = 0, cap;
	struct stat st;

	if (fd < 0) {
		err_sys(e, errno, "open %s", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		err_sys(e, errno, "stat %s", path);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && st.st_size > TOML_MAX_SIZE) {
		err_set(e, EFBIG, "read %s: file is larger than %d bytes", path, TOML_MAX_SIZE);
		return NULL;
	}
	/* One byte over the limit tells a too-big file (that grew) apart. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	data = malloc(cap);
	if (!data) {
		err_set(e, ENOMEM, "read %s: out of memory", path);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap * 2 > TOML_MAX_SIZE + 1 ? TOML_MAX_SIZE + 1 : cap * 2;
			char *nd;

			if (cap == TOML_MAX_SIZE + 1)
				break;
			nd = realloc(data, ncap);
			if (!nd) {
				err_set(e, ENOMEM, "read %s: out of memory", path);
				return NULL;
			}
			data = nd;
			cap = ncap;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_sys(e, errno, "read %s", path);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TOML_MAX_SIZE) {
		err_set(e, EFBIG, "read %s: file is larger than %d bytes", path, TOML_MAX_SIZE);
		return NULL;
	}
	return toml_parse(data, len, path, e);
}
