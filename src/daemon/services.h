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
HANDLER(svc_system_check);
HANDLER(svc_system_disk_usage);
HANDLER(svc_namespaces_list);
HANDLER(svc_namespaces_get);
HANDLER(svc_namespaces_create);
HANDLER(svc_namespaces_delete);
HANDLER(svc_namespaces_set_labels);
HANDLER(svc_namespaces_get_verification);
HANDLER(svc_events_subscribe);
HANDLER(svc_images_list);
HANDLER(svc_images_get);
HANDLER(svc_images_delete);
HANDLER(svc_images_tag);
HANDLER(svc_images_pull);
HANDLER(svc_images_push);
HANDLER(svc_images_check);
HANDLER(svc_images_export);
HANDLER(svc_images_import);
HANDLER(svc_images_unpack);
HANDLER(svc_jobs_list);
HANDLER(svc_jobs_cancel);
HANDLER(svc_revisions_stage);
HANDLER(svc_revisions_list);
HANDLER(svc_revisions_get);
HANDLER(svc_revisions_remove);
HANDLER(svc_revisions_apply);
HANDLER(svc_revisions_commit);
HANDLER(svc_revisions_rollback);
HANDLER(svc_revisions_status);
HANDLER(svc_revisions_lock);
HANDLER(svc_revisions_unlock);
HANDLER(svc_leases_create);
HANDLER(svc_leases_list);
HANDLER(svc_leases_delete);
HANDLER(svc_leases_add_resource);
HANDLER(svc_leases_delete_resource);
HANDLER(svc_content_list);
HANDLER(svc_content_info);
HANDLER(svc_content_delete);
HANDLER(svc_content_set_labels);
HANDLER(svc_content_list_ingests);
HANDLER(svc_content_abort_ingest);
HANDLER(svc_content_garbage_collect);
HANDLER(svc_content_read);
HANDLER(svc_snapshots_list);
HANDLER(svc_snapshots_info);
HANDLER(svc_snapshots_prepare);
HANDLER(svc_snapshots_view);
HANDLER(svc_snapshots_commit);
HANDLER(svc_snapshots_remove);
HANDLER(svc_snapshots_mounts);
HANDLER(svc_snapshots_usage);
HANDLER(svc_snapshots_set_labels);

HANDLER(svc_containers_create);
HANDLER(svc_containers_list);
HANDLER(svc_containers_get);
HANDLER(svc_containers_delete);
HANDLER(svc_containers_set_labels);
HANDLER(svc_tasks_start);
HANDLER(svc_tasks_checkpoint);
HANDLER(svc_tasks_restore);
HANDLER(svc_tasks_list);
HANDLER(svc_tasks_get);
HANDLER(svc_tasks_kill);
HANDLER(svc_tasks_wait);
HANDLER(svc_tasks_delete);
HANDLER(svc_tasks_exec);
HANDLER(svc_tasks_logs);
HANDLER(svc_tasks_attach);
HANDLER(svc_tasks_pids);
HANDLER(svc_tasks_pause);
HANDLER(svc_tasks_resume);
HANDLER(svc_tasks_metrics);
HANDLER(svc_networks_list);
HANDLER(svc_networks_inspect);
HANDLER(svc_networks_create);
HANDLER(svc_networks_remove);

#undef HANDLER

#endif
