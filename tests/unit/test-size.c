/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "util/size.h"

#define KI 1024LL
#define MI (1024LL * KI)
#define GI (1024LL * MI)
#define TI (1024LL * GI)
#define PI (1024LL * TI)

static void assert_size(const char *s, int64_t want)
{
	int64_t got = -2;

	if (size_parse(s, &got) < 0)
		fail_msg("\"%s\" refused, want %lld", s, (long long)want);
	if (got != want)
		fail_msg("\"%s\" is %lld, want %lld", s, (long long)got, (long long)want);
}

static void assert_not_size(const char *s)
{
	int64_t got = -2;

	if (size_parse(s, &got) == 0)
		fail_msg("\"%s\" taken as %lld", s, (long long)got);
	assert_int_equal(got, 0);
}

static void test_plain_bytes(void **state)
{
	(void)state;
	assert_size("0", 0);
	assert_size("4096", 4096);
	assert_size("007", 7);
	/* Exactly, beyond a double's 53 bits. */
	assert_size("9007199254740993", 9007199254740993LL);
	assert_size("9223372036854775807", INT64_MAX);
	assert_size("12b", 12);
	assert_size("12B", 12);
	/* go-units' pattern has the "i" apart from the unit. */
	assert_size("12i", 12);
	assert_size("12iB", 12);
}

static void test_units_any_case(void **state)
{
	(void)state;
	assert_size("1k", KI);
	assert_size("64m", 64 * MI);
	assert_size("2G", 2 * GI);
	assert_size("3t", 3 * TI);
	assert_size("5P", 5 * PI);
	assert_size("2kb", 2 * KI);
	assert_size("2KB", 2 * KI);
	assert_size("2KiB", 2 * KI);
	assert_size("2kib", 2 * KI);
	assert_size("2Ki", 2 * KI);
	assert_size("8191p", 8191 * PI);
}

static void test_space_before_the_unit(void **state)
{
	(void)state;
	assert_size("48 MiB", 48 * MI);
	assert_size("48 m", 48 * MI);
	assert_size("48 b", 48);
	assert_size("48 ", 48);
}

static void test_fractions(void **state)
{
	(void)state;
	assert_size("1.5g", 3 * GI / 2);
	assert_size("1.5 GiB", 3 * GI / 2);
	assert_size("0.5k", 512);
	assert_size(".5m", MI / 2);
	assert_size("2.m", 2 * MI);
	assert_size("1e3", 1000);
	assert_size("1E3k", 1000 * KI);
	assert_size("15e-1k", 1536);
	/* A fraction of a byte is dropped. */
	assert_size("1.9", 1);
	assert_size("0.0001k", 0);
}

static void test_malformed(void **state)
{
	(void)state;
	assert_not_size("");
	assert_not_size(" ");
	assert_not_size("-1");
	assert_not_size("-1m");
	assert_not_size("+1");
	assert_not_size(" 1");
	assert_not_size("k");
	assert_not_size(".");
	assert_not_size(".k");
	assert_not_size("12x");
	assert_not_size("12kk");
	assert_not_size("12bi");
	assert_not_size("12  m");
	assert_not_size("12m ");
	assert_not_size("1.5.5m");
	assert_not_size("1e");
	assert_not_size("1e+");
	assert_not_size("0x10");
	assert_not_size("inf");
	assert_not_size("nan");
	assert_not_size("1,5m");
}

static void test_overflow(void **state)
{
	(void)state;
	assert_not_size("99999999999p");
	assert_not_size("8192p");
	assert_not_size("8192.0p");
	assert_not_size("9223372036854775808");
	assert_not_size("99999999999999999999999");
	assert_not_size("1e400");
	assert_not_size("9.3e18");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_bytes),
		cmocka_unit_test(test_units_any_case),
		cmocka_unit_test(test_space_before_the_unit),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
