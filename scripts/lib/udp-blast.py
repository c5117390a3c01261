#!/usr/bin/env python3
"""Sends minimum-size UDP frames out of one interface as fast as one
Python thread can, for a fixed time.  A stand-in traffic source for
scripts/demo.sh when the perf/ generator is not built: it needs no
packages, only root (AF_PACKET).  Prints the number of frames sent."""

import argparse
import socket
import struct
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload_len):
    payload = bytes(payload_len)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src_ip),
                     socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def mac(text):
    return bytes(int(b, 16) for b in text.split(":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src-ip", required=True)
    ap.add_argument("--dst-ip", required=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--flows", type=int, default=16,
                    help="distinct UDP source ports")
    ap.add_argument("--payload", type=int, default=22,
                    help="UDP payload bytes (22 gives a 64-byte frame)")
    args = ap.parse_args()

    with open(f"/sys/class/net/{args.dev}/address") as f:
        src_mac = mac(f.read().strip())
    frames = [frame(src_mac, mac(args.dst_mac), args.src_ip, args.dst_ip,
                    10000 + i, 9, args.payload) for i in range(args.flows)]

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.dev, 0))
    send = s.send
    sent = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        for f in frames * 64:
            try:
                send(f)
                sent += 1
            except BlockingIOError:
                pass
            except OSError:  # ENOBUFS: the device queue is full
                pass
    print(sent)


if __name__ == "__main__":
    main()
