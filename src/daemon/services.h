/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_SERVICES_H
#define EMBER_DAEMON_SERVICES_H

/* The API handlers, one file per interface; daemon/methods.c lists them. */

#include <jansson.h>

#include "daemon/server.h"

#define HANDLER(name) void name(struct api_call *call, json_t *params, void *ctx)

HANDLER(svc_varlink_get_info);
HANDLER(svc_varlink_get_interface_description);
HANDLER(svc_system_version);
HANDLER(svc_system_info);
HANDLER(svc_namespaces_list);
HANDLER(svc_namespaces_get);
HANDLER(svc_namespaces_create);
HANDLER(svc_namespaces_delete);
HANDLER(svc_namespaces_set_labels);
HANDLER(svc_events_subscribe);

#undef HANDLER

#endif
