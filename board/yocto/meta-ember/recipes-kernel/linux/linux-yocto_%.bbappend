# SPDX-License-Identifier: Apache-2.0
# The kernel options ember needs (board/buildroot/kernel.fragment, linked
# here as ember.cfg): linux-yocto merges every .cfg of SRC_URI into its
# configuration.
FILESEXTRAPATHS:prepend := "${THISDIR}/linux-yocto:"
SRC_URI += "file://ember.cfg"
