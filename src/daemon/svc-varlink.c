/* SPDX-License-Identifier: Apache-2.0 */
/* org.varlink.service: what every varlink service answers. */
#include <errno.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/services.h"
#include "util/cleanup.h"
#include "util/version.h"

void svc_varlink_get_info(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { { NULL, 0, 0, 0 } };
	json_t *ifaces;
	int dummy;

	(void)ctx;
	if (api_params_parse(call, params, table, &dummy) < 0)
		return;
	ifaces = json_array();
	/* The distinct interfaces of the sorted method table, plus io.ember
	   (which defines the shared errors and has no methods). */
	json_array_append_new(ifaces, json_string("io.ember"));
	for (size_t i = 0; i < api_methods_count; i++) {
		const char *name = api_methods[i].name;
		size_t len = (size_t)(strrchr(name, '.') - name);
		json_t *last = json_array_get(ifaces, json_array_size(ifaces) - 1);
		if (strlen(json_string_value(last)) == len && !strncmp(json_string_value(last), name, len))
			continue;
		json_array_append_new(ifaces, json_stringn(name, len));
	}
	api_reply(call, json_pack("{s:s, s:s, s:s, s:s, s:o}", "vendor", "ember", "product", "ember",
				  "version", EMBER_VERSION, "url", "",
				  "interfaces", ifaces));
}

void svc_varlink_get_interface_description(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "interface", API_T_STRING, 0, API_MANDATORY },
		{ NULL, 0, 0, 0 },
	};
	const char *iface = NULL;

	(void)ctx;
	if (api_params_parse(call, params, table, &iface) < 0)
		return;
	if (!ENABLED(CONFIG_API_INTROSPECTION)) {
		api_error(call, EMBER_VARLINK_METHOD_NOT_IMPLEMENTED,
			  json_pack("{s:s}", "method", api_call_method(call)),
			  "interface descriptions are not compiled in (CONFIG_API_INTROSPECTION)");
		return;
	}
	const char *text = idl_lookup(iface);
	if (text) {
		api_reply(call, json_pack("{s:s}", "description", text));
		return;
	}
	api_error(call, EMBER_VARLINK_INTERFACE_NOT_FOUND, json_pack("{s:s}", "interface", iface),
		  "unknown interface %s", iface);
}
