#!/usr/bin/python3
"""Kernel features bpftool's probe does not cover, asked of the kernel itself.

Run by kernel-matrix/guest.sh (as root) for each kernel of the matrix;
prints one "feature NAME available|NOT available (why)" line each:

  af_xdp_sg           bind() of an AF_XDP socket with XDP_USE_SG (copy
                      mode, on lo): multi-buffer AF_XDP, frames larger than
                      one chunk (Linux 6.6).
  xdp_live_frames     BPF_PROG_RUN of an XDP program with
                      BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18); some kernels
                      refuse it.

Plain syscalls through ctypes, so the answer is the running kernel's and
needs nothing but Debian's python3.  Struct layouts: include/uapi/linux/
if_xdp.h and bpf.h (their first, stable members only).
"""

import ctypes
import errno
import mmap
import os
import socket
import struct

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

AF_XDP = 44
SOL_XDP = 283
XDP_RX_RING, XDP_UMEM_REG = 2, 4
XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING = 5, 6
XDP_COPY, XDP_USE_SG = 1 << 1, 1 << 4

NR_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_TEST_RUN = 5, 10
BPF_PROG_TYPE_XDP = 6
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1


def report(name, err):
    if err is None:
        print(f"feature {name} available")
    else:
        print(f"feature {name} NOT available ({err})")


def probe_af_xdp_sg():
    frames, chunk = 64, 4096
    area = mmap.mmap(-1, frames * chunk)
    sock = socket.socket(AF_XDP, socket.SOCK_RAW, 0)
    try:
        addr = ctypes.addressof(ctypes.c_char.from_buffer(area))
        # struct xdp_umem_reg: addr, len, chunk_size, headroom, flags (+pad)
        sock.setsockopt(SOL_XDP, XDP_UMEM_REG,
                        struct.pack("QQIIII", addr, frames * chunk, chunk,
                                    0, 0, 0))
        for ring in (XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING,
                     XDP_RX_RING):
            sock.setsockopt(SOL_XDP, ring, 32)
        # struct sockaddr_xdp: family, flags, ifindex, queue_id, shared fd
        sa = struct.pack("HHIII", AF_XDP, XDP_COPY | XDP_USE_SG,
                         socket.if_nametoindex("lo"), 0, 0)
        if libc.bind(sock.fileno(), ctypes.c_char_p(sa), len(sa)) != 0:
            e = ctypes.get_errno()
            return f"bind: {errno.errorcode.get(e, e)}"
        return None
    except OSError as e:
        return f"{e.strerror}"
    finally:
        # The area stays mapped until exit: ctypes still points into it.
        sock.close()


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    ret = libc.syscall(NR_BPF, cmd, buf, len(buf))
    return ret, ctypes.get_errno()


def probe_xdp_live_frames():
    # r0 = XDP_PASS (2); exit
    insns = struct.pack("<BBhi", 0xb7, 0, 0, 2) + struct.pack("<BBhi",
                                                              0x95, 0, 0, 0)
    insns_buf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    # prog_type, insn_cnt, insns, license (the rest zero)
    fd, e = bpf(BPF_PROG_LOAD, struct.pack(
        "IIQQ", BPF_PROG_TYPE_XDP, 2, ctypes.addressof(insns_buf),
        ctypes.addressof(lic)))
    if fd < 0:
        return f"BPF_PROG_LOAD: {errno.errorcode.get(e, e)}"
    try:
        frame = ctypes.create_string_buffer(
            b"\xff" * 6 + b"\x02" + b"\0" * 5 + b"\x08\x00" + b"\0" * 50, 64)
        # prog_fd, retval, data_size_in, data_size_out, data_in, data_out,
        # repeat, duration, ctx_size_in, ctx_size_out, ctx_in, ctx_out,
        # flags, cpu, batch_size
        attr = struct.pack("IIIIQQIIIIQQIII", fd, 0, 64, 0,
                           ctypes.addressof(frame), 0, 1, 0, 0, 0, 0, 0,
                           BPF_F_TEST_XDP_LIVE_FRAMES, 0, 0)
        ret, e = bpf(BPF_PROG_TEST_RUN, attr)
        if ret != 0:
            return f"BPF_PROG_TEST_RUN: {errno.errorcode.get(e, e)}"
        return None
    finally:
        os.close(fd)


report("af_xdp_sg", probe_af_xdp_sg())
report("xdp_live_frames", probe_xdp_live_frames())
