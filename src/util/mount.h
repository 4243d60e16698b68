/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_MOUNT_H
#define EMBER_UTIL_MOUNT_H

/*
 * Mounts described as containerd describes them (io.ember.Snapshots):
 * [{"type": "overlay"|"bind"|..., "source": ..., "options": [...]}]. The
 * flag options (ro, rw, bind, rbind, nosuid, nodev, noexec, ...) become
 * mount flags, the rest the file system's data ("lowerdir=...").
 */

#include <jansson.h>

#include <ember/error.h>

int mount_apply(json_t *mounts, const char *target, struct ember_error *e);
/* The mount(8) command line of one mount, for people (caller frees). */
char *mount_command(json_t *mount, const char *target);

#endif
