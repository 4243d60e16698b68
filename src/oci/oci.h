/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_OCI_H
#define EMBER_OCI_H

/*
 * `ember oci`: runc's command line over ember's own executor (DESIGN.md
 * §2), for bundles (a directory with config.json and its rootfs). No
 * daemon: each command is one process, and a container's state is a
 * directory under --root (default CONFIG_OCI_ROOT):
 *
 *   <root>/<id>/state.json   {"ociVersion", "id", "status", "pid", "bundle",
 *                             "rootfs", "created", "annotations",
 *                             "start_time", "cgroup"}
 *
 *   <root>/<id>/exec.fifo    while created: the process waits until start
 *                             opens it (runtime.h's start_gate_fd)
 *
 * written atomically once the container's process runs. So far: spec,
 * create and start, run (in the foreground: the container is created,
 * started, waited for and deleted, as `runc run` without -d), state,
 * list, kill, delete.
 */

#ifdef CONFIG_OCI
int oci_main(int argc, char **argv);
#else
static inline int oci_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 127;
}
#endif

#endif
