/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_TOML_H
#define EMBER_UTIL_TOML_H

/*
 * TOML configuration files
 * ========================
 *
 * ember reads its configuration (/etc/ember/config.toml) and registry host
 * files (certs.d/<host>/hosts.toml, as containerd writes them) with a parser
 * for a subset of TOML 1.0. The result is a JSON object: tables become
 * objects, arrays become arrays, and strings, integers and booleans become
 * the matching JSON values.
 *
 * Supported
 *
 *   Comments   '#' to the end of the line. Blank lines. LF or CRLF line
 *              endings; space and tab are whitespace. A UTF-8 byte order
 *              mark at the very start is ignored.
 *
 *   Keys       bare (letters A-Z a-z, digits, '_' and '-'), "basic quoted"
 *              (with the escapes below) and 'literal quoted'. Dotted keys
 *              create nested tables: `a.b = 1` is `{"a": {"b": 1}}`;
 *              whitespace around the dots is allowed.
 *
 *   Tables     `[a]`, `[a.b]`, `[a."quoted key"]`, e.g.
 *              `[host."https://mirror:5000"]` and
 *              `[host."https://mirror:5000".header]`. The keys that follow
 *              a header, up to the next header, go into that table.
 *              Arrays of tables: each `[[a]]` appends a new table to the
 *              array a; `[a.b]` after `[[a]]` is a table inside the last
 *              element of a.
 *
 *   Strings    "basic", with the escapes \b \t \n \f \r \" \\ \uXXXX and
 *              \UXXXXXXXX (Unicode scalar values, written as UTF-8);
 *              'literal', taken as written; multi-line """basic""" and
 *              '''literal'''. In multi-line strings a newline right after
 *              the opening delimiter is dropped, CRLF becomes LF, and in
 *              """basic""" ones a backslash at the end of a line removes
 *              itself, the line break and all whitespace and line breaks
 *              that follow. One or two quotes may sit right before the
 *              closing delimiter ("""a "quote"""" is `a "quote"`).
 *
 *   Integers   decimal with an optional sign and '_' between digits
 *              (`-1_000`, no leading zeros), hexadecimal `0xff`, octal
 *              `0o755`, binary `0b1010` (no sign, '_' between digits).
 *              Every integer must fit in a signed 64-bit integer.
 *
 *   Booleans   true, false.
 *
 *   Arrays     `[1, "two", [3, 4], { five = 5 }]`: mixed types and nesting
 *              are allowed; an array may span lines, hold comments and end
 *              with a trailing comma, e.g. `client = [["cert.pem",
 *              "key.pem"]]`.
 *
 *   Inline     `{ a = 1, b.c = "x" }`: on one line (a value inside may still
 *   tables     span lines, like a multi-line array), with no trailing comma.
 *              An inline table is complete: neither headers nor dotted keys
 *              can add to it later.
 *
 * Not supported, and rejected with an error that says so: floats
 * (including inf and nan), dates and times of any kind. Also rejected: the
 * escape \u0000 (a NUL would silently cut C strings short), and TOML 1.1
 * additions (\e, \xHH, newlines and trailing commas in inline tables).
 *
 * The TOML rules on defining things are enforced. Each key is set once. A
 * table is defined once: by a header, by dotted keys, or as an inline
 * table; a header may still define a table that an earlier header created
 * only as a parent (`[a.b]` then `[a]`), and a header may add a sub-table
 * to a table made by dotted keys. Dotted keys cannot reach into a table
 * defined by a header, an inline table, or an array. `[[a]]` appends only
 * to an array created by `[[a]]`, never to an array value.
 *
 * Limits: at most TOML_MAX_SIZE bytes of input (1 MiB); tables and arrays
 * nest at most TOML_MAX_DEPTH (64) levels below the root, counting every
 * table of a dotted key or header and every array (`[[a]]` counts two: the
 * array and its element). The input must be valid UTF-8 without NUL bytes;
 * strings and comments may not hold control characters other than tab (in
 * multi-line strings, line breaks too).
 *
 * Errors read "<source>:<line>:<column>: <what was wrong>", lines and columns
 * counting from 1 and columns counting characters, e.g.
 *
 *     /etc/ember/config.toml:12:9: duplicate key 'root'
 */

#include <stddef.h>

#include <ember/error.h>
#include <jansson.h>

#define TOML_MAX_SIZE (1024 * 1024)
#define TOML_MAX_DEPTH 64

/*
 * Parse TOML text (len bytes, need not be NUL-terminated) into a new JSON
 * object, which the caller owns. source names the text in messages (a file
 * name; NULL reads as "<input>"). On error returns NULL and fills e with code
 * EINVAL (ENOMEM when out of memory) and a one-line message
 * "<source>:<line>:<col>: <what was wrong>".
 */
json_t *toml_parse(const char *text, size_t len, const char *source, struct ember_error *e);

/*
 * Where keys were written, for messages about values that parse but do not
 * fit (a wrong type, a bad URL): toml_parse_lines() is toml_parse() that
 * also records, for every key set in every table (including tables made by
 * headers, dotted keys and inline tables), the line it was written on. On
 * error *lines is NULL. The records point at tables of the returned
 * document, so use them only while it lives.
 */
struct toml_lines;

json_t *toml_parse_lines(const char *text, size_t len, const char *source,
			 struct toml_lines **lines, struct ember_error *e);

/* The line (from 1) where key was set in table, or 0 if it is not known. */
size_t toml_line(const struct toml_lines *lines, const json_t *table, const char *key);

void toml_lines_free(struct toml_lines *lines);

/*
 * Read and parse the file at path. Errors name the path: open and read
 * errors carry their errno (e.g. ENOENT), a file larger than TOML_MAX_SIZE
 * fails with EFBIG, parse errors as toml_parse().
 */
json_t *toml_parse_file(const char *path, struct ember_error *e);

#endif
