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
 *                             "start_time", "cgroup", "spec"}: spec is the
 *                             bundle's config.json as it was run (exec and
 *                             the hooks read it, not the bundle again)
 *
 *   <root>/<id>/exec.fifo    while created: the process waits until start
 *                             opens it (runtime.h's start_gate_fd)
 *
 * written atomically once the container's process waits at its gate.
 * Commands: spec, create, start, run (create + start; in the foreground
 * or -d), exec, state, list, kill, pause, resume, ps, delete, features,
 * update (resources into the cgroup and state.json's spec), events.
 * A container's status is worked out each time from what is there: its
 * PID 1 (pid and start time, not a zombie), the gate, the freezer. A
 * detached container's PID 1 is left to the nearest subreaper or init, as
 * runc leaves it; nothing of ember's watches it.
 */

#ifdef CONFIG_OCI
int oci_main(int argc, char **argv);
#endif

/*
 * checkpoint [--image-path DIR] [--work-path DIR] [--leave-running]
 *            [--tcp-established] [--file-locks] ID
 * restore [--image-path DIR] [--work-path DIR] [--bundle DIR] [--pid-file F]
 *         [-d] [--tcp-established] [--file-locks] ID
 * as runc has them (oci-checkpoint.c, CONFIG_CHECKPOINT): CRIU's images in
 * DIR (default ./checkpoint), its log in the work path (default the image
 * path). A restore is always detached: the restored process is left
 * running, its state.json written as create's. argv[0] is the command.
 */
#if defined(CONFIG_OCI) && defined(CONFIG_CHECKPOINT)
#include <ember/error.h>
/* checkpoint or restore; *gone: the id of a container a checkpoint
   without --leave-running ended, for the caller to delete. */
int oci_checkpoint_main(const char *root, int argc, char **argv, const char **gone, struct ember_error *e);
#endif

#ifdef CONFIG_OCI
#else
static inline int oci_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 127;
}
#endif

#endif
