/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images shipped in the firmware: at start-up, every OCI or docker save
 * archive in [images] preload that was not imported yet is imported (and
 * unpacked into the default snapshotter) into the default namespace, one
 * after another, as a job; a damaged one is reported in one log line and
 * skipped. Then the containers that start at boot start.
 */
#ifndef EMBER_DAEMON_PRELOAD_H
#define EMBER_DAEMON_PRELOAD_H

struct daemon;

/* Starts the job, or (nothing to import) boots the containers now. */
void preload_start(struct daemon *d);

#endif
