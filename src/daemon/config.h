/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_CONFIG_H
#define EMBER_DAEMON_CONFIG_H

/*
 * The daemon's configuration file, containerd-shaped (TOML subset, see
 * util/toml.h):
 *
 *   version = 1
 *   root  = "/var/lib/ember"         # persistent store
 *   state = "/run/ember"             # runtime state (tmpfs)
 *
 *   [api]
 *   address = "/run/ember/ember.sock"
 *   group   = "ember"                # name or number: may use the API
 *
 *   [debug]
 *   level = "info"                   # debug, info, warn, error
 *   log   = "stderr"                 # or "syslog"
 *
 *   [registry]
 *   config_path   = "/etc/ember/certs.d"  # <host>/hosts.toml, as containerd
 *   docker_config = "/root/.docker/config.json"  # credentials (default: none)
 *   stall_timeout = 30               # seconds without a byte before a retry
 *
 *   [registry.auths."registry.example.com"]   # credentials, as in config.json
 *   username = "fleet"
 *   password = "..."                 # or auth = base64("user:password")
 *
 *   [images]
 *   preload = "/usr/share/ember/images"  # archives imported once at start-up
 *                                    # (default: CONFIG_DEFAULT_PRELOAD)
 *
 *   [network]
 *   subnet_pool = "10.213.0.0/16"    # networks' subnets (/24s) come from it
 *
 *   [snapshots]
 *   default    = "overlay"           # "native", "btrfs": for pull and images mount
 *   drop_blobs = false               # remove a layer's blob once unpacked
 *                                    # (default: CONFIG_UNPACK_DROP_BLOBS)
 *
 *   [verify]                         # signed images (daemon/verify.h)
 *   policy = "none"                  # or "require": every namespace's default
 *   keys   = ["/etc/ember/keys/fleet.pub"]   # PEM public keys (SPKI), ECDSA P-256 or RSA
 *
 *   [verify.namespaces.prod]         # one namespace's own policy and keys
 *   policy = "require"               # (either left out: [verify]'s)
 *   keys   = ["/etc/ember/keys/prod.pub"]
 *
 *   [gc]                             # removal of unused images (daemon/gc.h)
 *   free_low  = "10%"                # below this much free space ...
 *   free_high = "20%"                # ... remove unused images until this
 *   keep      = 3                    # images per repository (0: no limit)
 *   min_age   = 300                  # seconds: younger images never go
 *   interval  = 60                   # seconds between free-space checks
 *
 * Unknown keys are reported as warnings and ignored, so a newer file still
 * starts an older daemon. Wrong types and bad values are errors.
 */

#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/log.h"

/* A free-space watermark: bytes, or a percentage of the file system's
   size; 0 (either way): not set. */
struct gc_level {
	uint64_t n;
	int percent; /* n is 0..100 */
};

/* [gc]: the image removal policy (see daemon/gc.h). */
struct gc_policy {
	struct gc_level free_low, free_high;
	long keep;      /* images per repository; 0: no limit */
	long min_age_s; /* an image used or stored this recently stays */
	long interval_s;
};

/* [verify] and [verify.namespaces.NAME] (daemon/verify.h). */
enum verify_mode { VERIFY_UNSET, VERIFY_NONE, VERIFY_REQUIRE };
struct verify_rule {
	char *ns;              /* NULL: [verify], the default */
	enum verify_mode mode;
	char **keys;           /* absolute paths, NULL-terminated; NULL: not set */
};

struct daemon_config {
	char *root;
	char *state;
	char *address;
	char *group;      /* NULL: only root (and the daemon's uid) */
	enum log_level level;
	int use_syslog;
	char *certs_dir;     /* [registry] config_path */
	char *docker_config; /* NULL: none */
	char *auths;         /* [registry.auths] as docker config.json text, or NULL */
	long stall_timeout_s;
	char *snapshotter;   /* [snapshots] default; NULL: CONFIG_DEFAULT_SNAPSHOTTER */
	int drop_blobs;      /* [snapshots] drop_blobs */
	char *preload;       /* [images] preload: a directory of archives */
	char *subnet_pool;   /* [network] subnet_pool; NULL: 10.213.0.0/16 */
	struct gc_policy gc; /* [gc] */
	long revisions_keep; /* [revisions] keep: old revisions kept beside the committed one */
	struct verify_rule *verify; /* [0]: [verify]; then one per namespace table */
	size_t n_verify;
	char *warnings;   /* newline-separated, for the caller to log */
};

/* Defaults, then the file (a missing file is fine unless required). */
int config_load(struct daemon_config *cfg, const char *path, int required, struct ember_error *e);
/* The same from text in memory (source names it in messages). */
int config_parse(struct daemon_config *cfg, const char *text, size_t len, const char *source,
		 struct ember_error *e);
void config_done(struct daemon_config *cfg);

/* A watermark in bytes on a file system of size bytes. */
uint64_t config_gc_level_bytes(const struct gc_level *l, uint64_t size);
/* "10%" or "512 MiB" (for messages). */
void config_gc_level_format(const struct gc_level *l, char *buf, size_t len);

/* Resolve a group name or number. */
int config_group_resolve(const char *group, gid_t *gid, struct ember_error *e);

#endif
