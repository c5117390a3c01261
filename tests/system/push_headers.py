#!/usr/bin/python3
"""Frames for tests/system/push_headers.sh.

  push_headers.py send IFACE SRC_MAC DST_MAC SRC_IP DST_IP DPORT N
      sends N IPv4/UDP frames out of IFACE (AF_PACKET): frame i is
      SIZES[i % 3] bytes long, has IP id i and a payload pattern of i.
  push_headers.py check PCAP SRC_MAC DST_MAC SRC_IP DST_IP DPORT N KIND ARGS
      checks that the capture PCAP holds exactly those N frames, each once,
      with one header pushed after the MAC addresses and every other byte
      as sent.  KIND ARGS is "vlan TPID VID PCP" or "mpls LABEL TTL".

Plain sockets and the classic pcap format (what tcpdump -w writes), so
that the bytes compared are exactly those on the wire; libpcap puts back a
VLAN tag that the receiving kernel moved into packet metadata, with its
TPID.
"""

import socket
import struct
import sys

SIZES = (60, 1000, 1514)  # 1514: a full 1500-byte IPv4 packet.
DLT_EN10MB = 1


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(i, src_mac, dst_mac, src_ip, dst_ip, dport):
    size = SIZES[i % len(SIZES)]
    payload_len = size - 14 - 20 - 8
    payload = bytes((i * 7 + k) & 0xff for k in range(payload_len))
    udp = struct.pack("!HHHH", 1024 + i % 1000, dport, 8 + payload_len, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + payload_len, i,
                     0x4000, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return (mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + ip +
            udp + payload)


def frames(args):
    src_mac, dst_mac, src_ip, dst_ip = args[:4]
    dport, n = int(args[4]), int(args[5])
    return [frame(i, src_mac, dst_mac, src_ip, dst_ip, dport)
            for i in range(n)]


def send(iface, args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for f in frames(args):
        s.send(f)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: no pcap header" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != DLT_EN10MB:
        raise ValueError("%s: link type %d, not Ethernet" % (path, linktype))
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        if incl != orig:
            raise ValueError("frame %d truncated in the capture (%d of %d)"
                             % (len(out), incl, orig))
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def check(path, args):
    sent = frames(args)
    kind, params = args[6], [int(x, 0) for x in args[7:]]
    got = read_pcap(path)
    errors = []
    seen = {}
    for n, r in enumerate(got):
        if len(r) < 18 + 20:
            errors.append("frame %d: only %d bytes" % (n, len(r)))
            continue
        if kind == "vlan":
            tpid, vid, pcp = params
            r_tpid, tci = struct.unpack("!HH", r[12:16])
            if (r_tpid, tci & 0xfff, tci >> 13) != (tpid, vid, pcp):
                errors.append("frame %d: TPID 0x%04x VID %d PCP %d, expected "
                              "0x%04x %d %d" % (n, r_tpid, tci & 0xfff,
                                                tci >> 13, tpid, vid, pcp))
                continue
        elif kind == "mpls":
            label, ttl = params
            etype, lse = struct.unpack("!HI", r[12:18])
            fields = (etype, lse >> 12, (lse >> 8) & 1, lse & 0xff)
            if fields != (0x8847, label, 1, ttl):
                errors.append("frame %d: EtherType 0x%04x label %d S %d TTL "
                              "%d, expected 0x8847 %d 1 %d"
                              % ((n,) + fields + (label, ttl)))
                continue
        else:
            raise ValueError("unknown kind " + kind)
        # Either way the IP header starts at byte 18; its id is frame i's i.
        ip_id = struct.unpack("!H", r[22:24])[0]
        if ip_id >= len(sent):
            errors.append("frame %d: unknown IP id %d" % (n, ip_id))
            continue
        s = sent[ip_id]
        # VLAN: everything but the 4-byte tag is as sent (the original
        # EtherType follows the tag).  MPLS: the EtherType became 0x8847 and
        # the label stack entry sits in front of the IP packet; the MACs and
        # the whole IP packet are as sent.
        if kind == "vlan":
            same = r[:12] == s[:12] and r[16:] == s[12:]
        else:
            same = r[:12] == s[:12] and r[18:] == s[14:]
        if len(r) != len(s) + 4:
            errors.append("frame %d (IP id %d): %d bytes, expected %d"
                          % (n, ip_id, len(r), len(s) + 4))
            continue
        if not same:
            errors.append("frame %d (IP id %d): bytes around the pushed "
                          "header differ from those sent" % (n, ip_id))
            continue
        seen[ip_id] = seen.get(ip_id, 0) + 1
    missing = [i for i in range(len(sent)) if i not in seen]
    dups = sorted(i for i, c in seen.items() if c > 1)
    if missing:
        errors.append("%d frames never arrived (IP ids %s)"
                      % (len(missing), missing[:10]))
    if dups:
        errors.append("frames arrived more than once (IP ids %s)" % dups[:10])
    for e in errors[:20]:
        print(e, file=sys.stderr)
    print("%d frames captured, %d of %d sent arrived intact with the %s "
          "header %s" % (len(got), len(seen), len(sent), kind,
                         " ".join(args[7:])))
    return 1 if errors else 0


def main():
    if len(sys.argv) >= 9 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3:])
        return 0
    if len(sys.argv) >= 11 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
