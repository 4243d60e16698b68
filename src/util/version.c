/* SPDX-License-Identifier: Apache-2.0 */
#include "util/version.h"

const char *const ember_features[] = {
#include "ember-features.h"
};
const size_t ember_features_count = sizeof(ember_features) / sizeof(ember_features[0]);

void version_print(FILE *f, int json)
{
	if (json) {
		fprintf(f, "{\"version\":\"%s\",\"revision\":\"%s\",\"features\":[", EMBER_VERSION,
			EMBER_REVISION);
		for (size_t i = 0; i < ember_features_count; i++)
			fprintf(f, "%s\"%s\"", i ? "," : "", ember_features[i]);
		fputs("]}\n", f);
		return;
	}
	fprintf(f, "ember %s\nrevision: %s\nfeatures:", EMBER_VERSION, EMBER_REVISION);
	for (size_t i = 0; i < ember_features_count; i++)
		fprintf(f, " %s", ember_features[i]);
	fputc('\n', f);
}
