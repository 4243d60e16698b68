/* SPDX-License-Identifier: Apache-2.0 */
/* Every API method, sorted by name (api_method_find() bisects; a unit test
   checks the order and that each method matches its .varlink file). */
#include "daemon/server.h"
#include "daemon/services.h"
#include "util/cleanup.h"

const struct api_method api_methods[] = {
	{ "io.ember.Events.Subscribe", svc_events_subscribe, API_STREAM | API_ASYNC },
	{ "io.ember.Namespaces.Create", svc_namespaces_create, 0 },
	{ "io.ember.Namespaces.Delete", svc_namespaces_delete, 0 },
	{ "io.ember.Namespaces.Get", svc_namespaces_get, 0 },
	{ "io.ember.Namespaces.List", svc_namespaces_list, 0 },
	{ "io.ember.Namespaces.SetLabels", svc_namespaces_set_labels, 0 },
	{ "io.ember.System.Info", svc_system_info, 0 },
	{ "io.ember.System.Version", svc_system_version, 0 },
	{ "org.varlink.service.GetInfo", svc_varlink_get_info, 0 },
	{ "org.varlink.service.GetInterfaceDescription", svc_varlink_get_interface_description, 0 },
};

const size_t api_methods_count = ARRAY_SIZE(api_methods);
