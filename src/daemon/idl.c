/* SPDX-License-Identifier: Apache-2.0 */
/* Lookup in the embedded interface descriptions (gen/idl.c holds the data). */
#include <string.h>

#include "daemon/daemon.h"

const char *idl_lookup(const char *interface)
{
	for (unsigned i = 0; i < idl_files_count; i++)
		if (!strcmp(idl_files[i].interface, interface))
			return idl_files[i].text;
	return NULL;
}
