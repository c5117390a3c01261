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
  xdp_adjust_meta_run bpf_xdp_adjust_meta(ctx, -8) succeeds when the
                      program runs (BPF_PROG_RUN), not only in the verifier,
                      which is all bpftool's probe checks.

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


def insn(code, regs, off, imm):
    return struct.pack("<BBhi", code, regs, off, imm)


# r0 = XDP_PASS (2); exit
PASS = insn(0xb7, 0, 0, 2) + insn(0x95, 0, 0, 0)
# r2 = -8; call bpf_xdp_adjust_meta (54); if r0 != 0 goto aborted;
# r0 = XDP_PASS; exit; aborted: r0 = XDP_ABORTED (0); exit
ADJUST_META = (insn(0xb7, 2, 0, -8) + insn(0x85, 0, 0, 54) +
               insn(0x55, 0, 2, 0) + PASS + insn(0xb7, 0, 0, 0) +
               insn(0x95, 0, 0, 0))


def test_run(insns, flags):
    """Loads INSNS as an XDP program and runs it once on a 64-byte frame;
    returns (None, retval) or (why, None)."""
    insns_buf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    vlog = ctypes.create_string_buffer(65536)
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf
    fd, e = bpf(BPF_PROG_LOAD, struct.pack(
        "IIQQIIQ", BPF_PROG_TYPE_XDP, len(insns) // 8,
        ctypes.addressof(insns_buf), ctypes.addressof(lic), 1, len(vlog),
        ctypes.addressof(vlog)))
    if fd < 0:
        # The verifier's reason is the line before its "processed ..." one.
        lines = [ln for ln in vlog.value.decode(errors="replace").splitlines()
                 if ln and not ln.startswith("processed ")]
        why = f": {lines[-1]}" if lines else ""
        return f"BPF_PROG_LOAD: {errno.errorcode.get(e, e)}{why}", None
    try:
        frame = ctypes.create_string_buffer(
            b"\xff" * 6 + b"\x02" + b"\0" * 5 + b"\x08\x00" + b"\0" * 50, 64)
        # prog_fd, retval, data_size_in, data_size_out, data_in, data_out,
        # repeat, duration, ctx_size_in, ctx_size_out, ctx_in, ctx_out,
        # flags, cpu, batch_size
        attr = struct.pack("IIIIQQIIIIQQIII", fd, 0, 64, 0,
                           ctypes.addressof(frame), 0, 1, 0, 0, 0, 0, 0,
                           flags, 0, 0)
        buf = ctypes.create_string_buffer(attr, 128)
        ret = libc.syscall(NR_BPF, BPF_PROG_TEST_RUN, buf, len(buf))
        if ret != 0:
            e = ctypes.get_errno()
            return f"BPF_PROG_TEST_RUN: {errno.errorcode.get(e, e)}", None
        return None, struct.unpack_from("I", buf, 4)[0]
    finally:
        os.close(fd)


def probe_xdp_live_frames():
    return test_run(PASS, BPF_F_TEST_XDP_LIVE_FRAMES)[0]


def probe_xdp_adjust_meta_run():
    why, retval = test_run(ADJUST_META, 0)
    if why is None and retval != 2:
        why = "the helper failed"
    return why


report("af_xdp_sg", probe_af_xdp_sg())
report("xdp_live_frames", probe_xdp_live_frames())
report("xdp_adjust_meta_run", probe_xdp_adjust_meta_run())
