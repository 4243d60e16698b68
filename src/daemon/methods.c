/* SPDX-License-Identifier: Apache-2.0 */
/* Every API method, sorted by name (api_method_find() bisects; a unit test
   checks the order and that each method matches its .varlink file). */
#include "daemon/server.h"
#include "daemon/services.h"
#include "util/cleanup.h"

const struct api_method api_methods[] = {
#ifdef CONFIG_RUNTIME_DAEMON
	{ "io.ember.Containers.Create", svc_containers_create, API_ASYNC },
	{ "io.ember.Containers.Delete", svc_containers_delete, API_ASYNC },
	{ "io.ember.Containers.Get", svc_containers_get, 0 },
	{ "io.ember.Containers.List", svc_containers_list, 0 },
	{ "io.ember.Containers.SetLabels", svc_containers_set_labels, 0 },
#endif
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Content.AbortIngest", svc_content_abort_ingest, 0 },
	{ "io.ember.Content.Delete", svc_content_delete, API_ASYNC },
	{ "io.ember.Content.GarbageCollect", svc_content_garbage_collect, API_ASYNC },
	{ "io.ember.Content.Info", svc_content_info, 0 },
	{ "io.ember.Content.List", svc_content_list, 0 },
	{ "io.ember.Content.ListIngests", svc_content_list_ingests, 0 },
	{ "io.ember.Content.Read", svc_content_read, API_ASYNC },
	{ "io.ember.Content.SetLabels", svc_content_set_labels, 0 },
#endif
	{ "io.ember.Events.Subscribe", svc_events_subscribe, API_STREAM | API_ASYNC },
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Images.Check", svc_images_check, API_ASYNC },
	{ "io.ember.Images.Delete", svc_images_delete, API_ASYNC },
#endif
#ifdef CONFIG_IMAGE_ARCHIVE
	{ "io.ember.Images.Export", svc_images_export, API_ASYNC },
#endif
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Images.Get", svc_images_get, 0 },
#endif
#ifdef CONFIG_IMAGE_ARCHIVE
	{ "io.ember.Images.Import", svc_images_import, API_ASYNC },
#endif
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Images.List", svc_images_list, 0 },
#endif
#ifdef CONFIG_PULL
	{ "io.ember.Images.Pull", svc_images_pull, API_STREAM | API_ASYNC },
#endif
#ifdef CONFIG_PUSH
	{ "io.ember.Images.Push", svc_images_push, API_STREAM | API_ASYNC },
#endif
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Images.Tag", svc_images_tag, 0 },
#endif
#ifdef CONFIG_IMAGE_UNPACK
	{ "io.ember.Images.Unpack", svc_images_unpack, API_ASYNC },
#endif
	{ "io.ember.Jobs.Cancel", svc_jobs_cancel, 0 },
	{ "io.ember.Jobs.List", svc_jobs_list, 0 },
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.Leases.AddResource", svc_leases_add_resource, 0 },
	{ "io.ember.Leases.Create", svc_leases_create, 0 },
	{ "io.ember.Leases.Delete", svc_leases_delete, 0 },
	{ "io.ember.Leases.DeleteResource", svc_leases_delete_resource, 0 },
	{ "io.ember.Leases.List", svc_leases_list, 0 },
#endif
	{ "io.ember.Namespaces.Create", svc_namespaces_create, 0 },
	{ "io.ember.Namespaces.Delete", svc_namespaces_delete, 0 },
	{ "io.ember.Namespaces.Get", svc_namespaces_get, 0 },
	{ "io.ember.Namespaces.GetVerification", svc_namespaces_get_verification, 0 },
	{ "io.ember.Namespaces.List", svc_namespaces_list, 0 },
	{ "io.ember.Namespaces.SetLabels", svc_namespaces_set_labels, 0 },
#if defined(CONFIG_NET) && defined(CONFIG_RUNTIME_DAEMON)
	{ "io.ember.Networks.Create", svc_networks_create, API_ASYNC },
	{ "io.ember.Networks.Inspect", svc_networks_inspect, API_ASYNC },
	{ "io.ember.Networks.List", svc_networks_list, API_ASYNC },
	{ "io.ember.Networks.Remove", svc_networks_remove, API_ASYNC },
#endif
#if defined(CONFIG_REVISIONS) && defined(CONFIG_RUNTIME_DAEMON) && defined(CONFIG_CONTENT_STORE)
	{ "io.ember.Revisions.Apply", svc_revisions_apply, API_ASYNC },
	{ "io.ember.Revisions.Commit", svc_revisions_commit, API_ASYNC },
	{ "io.ember.Revisions.Get", svc_revisions_get, 0 },
	{ "io.ember.Revisions.List", svc_revisions_list, 0 },
	{ "io.ember.Revisions.Lock", svc_revisions_lock, API_ASYNC },
	{ "io.ember.Revisions.Remove", svc_revisions_remove, API_ASYNC },
	{ "io.ember.Revisions.Rollback", svc_revisions_rollback, API_ASYNC },
	{ "io.ember.Revisions.Stage", svc_revisions_stage, API_ASYNC },
	{ "io.ember.Revisions.Status", svc_revisions_status, 0 },
	{ "io.ember.Revisions.Unlock", svc_revisions_unlock, API_ASYNC },
#endif
#ifdef CONFIG_SNAPSHOTS_STORE
	{ "io.ember.Snapshots.Commit", svc_snapshots_commit, 0 },
	{ "io.ember.Snapshots.Info", svc_snapshots_info, 0 },
	{ "io.ember.Snapshots.List", svc_snapshots_list, 0 },
	{ "io.ember.Snapshots.Mounts", svc_snapshots_mounts, 0 },
	{ "io.ember.Snapshots.Prepare", svc_snapshots_prepare, API_ASYNC },
	{ "io.ember.Snapshots.Remove", svc_snapshots_remove, 0 },
	{ "io.ember.Snapshots.SetLabels", svc_snapshots_set_labels, 0 },
	{ "io.ember.Snapshots.Usage", svc_snapshots_usage, 0 },
	{ "io.ember.Snapshots.View", svc_snapshots_view, API_ASYNC },
#endif
#ifdef CONFIG_CONTENT_STORE
	{ "io.ember.System.Check", svc_system_check, API_ASYNC },
	{ "io.ember.System.DiskUsage", svc_system_disk_usage, API_ASYNC },
#endif
	{ "io.ember.System.Info", svc_system_info, 0 },
	{ "io.ember.System.Version", svc_system_version, 0 },
#ifdef CONFIG_RUNTIME_DAEMON
	{ "io.ember.Tasks.Attach", svc_tasks_attach, 0 },
#ifdef CONFIG_CHECKPOINT
	{ "io.ember.Tasks.Checkpoint", svc_tasks_checkpoint, API_ASYNC },
#endif
	{ "io.ember.Tasks.Delete", svc_tasks_delete, API_ASYNC },
	{ "io.ember.Tasks.Exec", svc_tasks_exec, API_ASYNC },
	{ "io.ember.Tasks.Get", svc_tasks_get, 0 },
	{ "io.ember.Tasks.Kill", svc_tasks_kill, API_ASYNC },
	{ "io.ember.Tasks.List", svc_tasks_list, 0 },
	{ "io.ember.Tasks.Logs", svc_tasks_logs, 0 },
	{ "io.ember.Tasks.Metrics", svc_tasks_metrics, 0 },
	{ "io.ember.Tasks.Pause", svc_tasks_pause, API_ASYNC },
	{ "io.ember.Tasks.Pids", svc_tasks_pids, 0 },
#ifdef CONFIG_CHECKPOINT
	{ "io.ember.Tasks.Restore", svc_tasks_restore, API_ASYNC },
#endif
	{ "io.ember.Tasks.Resume", svc_tasks_resume, API_ASYNC },
	{ "io.ember.Tasks.Start", svc_tasks_start, API_ASYNC },
	{ "io.ember.Tasks.Wait", svc_tasks_wait, API_ASYNC },
#endif
	{ "org.varlink.service.GetInfo", svc_varlink_get_info, 0 },
	{ "org.varlink.service.GetInterfaceDescription", svc_varlink_get_interface_description, 0 },
};

const size_t api_methods_count = ARRAY_SIZE(api_methods);
