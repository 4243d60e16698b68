/* SPDX-License-Identifier: Apache-2.0 */
#include "util/timestamp.h"

#include <stdio.h>
#include <time.h>

void timestamp_now(char out[TIMESTAMP_LEN])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, TIMESTAMP_LEN, "%.19s.%09ldZ", base, ts.tv_nsec);
}

void timestamp_format(time_t t, char out[TIMESTAMP_LEN])
{
	struct tm tm;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, TIMESTAMP_LEN, "%.19sZ", base);
}
