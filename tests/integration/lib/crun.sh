#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Debian's crun, the tests' second reference runtime. It refuses this
# host's hybrid cgroups ("cgroups in hybrid mode not supported") unless the
# cgroup2 mount beside the v1 ones is hidden: so a private mount namespace
# of its own, where /sys/fs/cgroup/unified is unmounted, then crun exec'd
# (the same pid: signals sent to this reach crun).
exec unshare -m sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
