/* SPDX-License-Identifier: Apache-2.0 */
/* ember oci: the runtime spec's hooks. */
#include <jansson.h>

#include "oci/oci-internal.h"

json_t *oci_hooks_supported(void)
{
	return json_array();
}
