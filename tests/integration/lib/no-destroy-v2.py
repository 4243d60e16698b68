#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# no-destroy-v2.py PROGRAM [ARGS...]: run PROGRAM as a kernel before Linux
# 5.7 would: a seccomp filter answers ioctl(BTRFS_IOC_SNAP_DESTROY_V2)
# with ENOTTY (the ioctl is unknown), every other call goes through. For
# btrfs.bats: the snapshotter then destroys subvolumes by name.
import ctypes
import errno
import os
import platform
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
# _IOW(0x94, 63, struct btrfs_ioctl_vol_args_v2), a 4096-byte struct.
DESTROY_V2 = (1 << 30) | (4096 << 16) | (0x94 << 8) | 63
ARCHES = {"x86_64": (0xC000003E, 16), "aarch64": (0xC00000B7, 29)}

BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06


class Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]


def main():
    arch, nr_ioctl = ARCHES[platform.machine()]
    insns = [
        (BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (BPF_JEQ_K, 0, 5, arch),
        (BPF_LD_W_ABS, 0, 0, 0),  # .nr
        (BPF_JEQ_K, 0, 3, nr_ioctl),
        (BPF_LD_W_ABS, 0, 0, 24),  # .args[1], low word (little-endian)
        (BPF_JEQ_K, 0, 1, DESTROY_V2),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.ENOTTY),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ]
    prog_insns = (Filter * len(insns))(*[Filter(*i) for i in insns])
    prog = Prog(len(insns), prog_insns)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        sys.exit("no-destroy-v2.py: seccomp: %s" % os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[1], sys.argv[1:])


main()
