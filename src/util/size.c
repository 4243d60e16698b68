/* SPDX-License-Identifier: Apache-2.0 */
/* Sizes with units (see size.h): the CLI's --memory-limit, ember oci update's flags. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/size.h"

#define DIGITS "0123456789"

/* The number at the start of s, as go-units' ParseFloat takes it, but
   without sign, hexadecimal, "inf" or "nan" (strtod would take them): its
   length, 0 when there is none. integral: no fraction nor exponent. */
static size_t number_len(const char *s, bool *integral)
{
	size_t n = strspn(s, DIGITS), frac = 0;

	*integral = s[n] != '.';
	if (s[n] == '.')
		frac = strspn(s + n + 1, DIGITS);
	if (!n && !frac)
		return 0;
	if (!*integral)
		n += 1 + frac;
	if (s[n] == 'e' || s[n] == 'E') {
		size_t sign = s[n + 1] == '+' || s[n + 1] == '-';
		size_t exp = strspn(s + n + 1 + sign, DIGITS);
		/* "1e" is the number 1 and the unit "e", which no unit is. */
		if (exp) {
			*integral = false;
			n += 1 + sign + exp;
		}
	}
	return n;
}

int size_parse(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	bool integral;
	size_t n = number_len(s, &integral);
	const char *p = s + n;
	int shift = 0;

	*out = 0;
	if (!n)
		return -1;
	if (*p == ' ')
		p++;
	const char *u = *p ? strchr(units, *p | 0x20) : NULL;
	if (u) {
		shift = 10 * (int)(u - units + 1);
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -1;
	/* Whole numbers exactly (a double has 53 bits); fractions in floating
	   point, as go-units computes them. */
	if (integral) {
		errno = 0;
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (errno || v > (unsigned long long)INT64_MAX >> shift)
			return -1;
		*out = (int64_t)(v << shift);
		return 0;
	}
	double v = strtod(s, NULL) * (double)(1ull << shift);
	/* 2^63 exactly: the first double beyond int64_t. */
	if (!(v < 9223372036854775808.0))
		return -1;
	*out = (int64_t)v;
	return 0;
}
