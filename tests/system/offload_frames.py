#!/usr/bin/python3
"""Frames for offload_actions.sh: send one case's frames, capture what
arrives, and check every captured frame against what OVS's actions make of
the frame sent.

    offload_frames.py send CASE IFACE COUNT
    offload_frames.py sniff IFACE PCAP COUNT TIMEOUT
    offload_frames.py check CASE PCAP COUNT

A case is a frame to send and the rewrite the OpenFlow rule of the same
name in offload_actions.sh asks for.  check compares every byte of each
captured frame with the expected frame, except checksums, which must be
valid (recomputed from scratch by scapy and compared), because a correct
incremental update and a recomputation may differ in the representation
of zero; tests/bpf checks the incremental arithmetic bit by bit.

Runs under Debian's interpreter (/usr/bin/python3), which has scapy.
"""

import sys

from scapy.all import (ICMPv6EchoRequest, IP, IPv6, TCP, UDP, Dot1Q, Ether,
                       Raw, rdpcap, sendp, sniff, wrpcap)

SRC_MAC = "02:00:00:00:00:01"
DST_MAC = "02:00:00:00:00:02"
PAYLOAD = Raw(b"offload-actions-" + bytes(range(32)))


def base4(l4):
    return Ether(src=SRC_MAC, dst=DST_MAC) / IP(
        src="10.7.0.1", dst="10.7.0.2", tos=0x10, ttl=64) / l4 / PAYLOAD


def base6(l4):
    return Ether(src=SRC_MAC, dst=DST_MAC) / IPv6(
        src="fd07::1", dst="fd07::2", tc=0x10, fl=0x12345, hlim=64) / l4 / PAYLOAD


def udp():
    return UDP(sport=1000, dport=2000)


def tcp():
    return TCP(sport=1000, dport=2000, flags="S", seq=1)


# name -> (frame to send, function turning it into the expected frame)
def set_eth(p):
    p[Ether].src = "02:00:00:00:00:aa"
    p[Ether].dst = "02:00:00:00:00:bb"
    return p


def set_ipv4(p):
    p[IP].src = "10.9.9.1"
    p[IP].dst = "10.9.9.2"
    p[IP].tos = 0x28
    p[IP].ttl = 33
    return p


def set_ipv6(p):
    p[IPv6].src = "fd09::aa"
    p[IPv6].dst = "fd09::bb"
    return p


def set_ports(p):
    l4 = p[UDP] if UDP in p else p[TCP]
    l4.sport = 1111
    l4.dport = 2222
    return p


def push_vlan(p):
    eth = p[Ether]
    return Ether(src=eth.src, dst=eth.dst) / Dot1Q(vlan=100) / eth.payload


def pop_vlan(p):
    eth = p[Ether]
    return Ether(src=eth.src, dst=eth.dst) / p[Dot1Q].payload


def same(p):
    return p


def udp_zero_csum():
    p = base4(udp())
    p[UDP].chksum = 0
    return p


CASES = {
    "eth": (lambda: base4(udp()), set_eth),
    "ipv4_udp": (lambda: base4(udp()), set_ipv4),
    "ipv4_udp_nocsum": (udp_zero_csum, set_ipv4),
    "ipv4_tcp": (lambda: base4(tcp()), set_ipv4),
    "ipv6_udp": (lambda: base6(udp()), set_ipv6),
    "ipv6_tcp": (lambda: base6(tcp()), set_ipv6),
    "ipv6_icmp": (lambda: base6(ICMPv6EchoRequest(id=7, seq=1)), set_ipv6),
    "udp_ports": (lambda: base4(udp()), set_ports),
    "tcp_ports": (lambda: base4(tcp()), set_ports),
    "push_vlan": (lambda: base4(udp()), push_vlan),
    "pop_vlan": (lambda: Ether(src=SRC_MAC, dst=DST_MAC) / Dot1Q(vlan=100) /
                 IP(src="10.7.0.1", dst="10.7.0.2") / udp() / PAYLOAD,
                 pop_vlan),
    "hairpin": (lambda: base4(udp()), same),
    "partial": (lambda: base4(udp()), same),
}


def frame(case):
    """The frame sent for 'case', built to bytes (checksums filled in)."""
    return Ether(bytes(CASES[case][0]()))


# Each layer with a checksum, and the name scapy gives the field.
CSUM_FIELDS = ((IP, "chksum"), (UDP, "chksum"), (TCP, "chksum"),
               (ICMPv6EchoRequest, "cksum"))


def expected(case):
    """The frame OVS's actions make of it, with checksums recomputed."""
    p = CASES[case][1](frame(case))
    zero_udp = UDP in p and p[UDP].chksum == 0
    for layer, field in CSUM_FIELDS:
        if layer in p:
            delattr(p[layer], field)
    if IP in p:
        del p[IP].len
    p = Ether(bytes(p))
    if zero_udp:
        # A zero UDP checksum means none, and stays zero (RFC 768; OVS's
        # packet_set_ipv4_addr()).
        p[UDP].chksum = 0
        p = Ether(bytes(p))
    return bytes(p)


def checksums_valid(raw):
    """Whether every checksum in 'raw' equals a recomputation (a zero UDP
    checksum over IPv4 counts as valid: none)."""
    p = Ether(raw)
    for layer, field in CSUM_FIELDS:
        if layer not in p:
            continue
        got = getattr(p[layer], field)
        if layer is UDP and got == 0 and IP in p:
            continue
        q = Ether(raw)
        delattr(q[layer], field)
        want = getattr(Ether(bytes(q))[layer], field)
        if got != want:
            return "%s checksum 0x%04x, expected 0x%04x" % (
                layer.__name__, got, want)
    return None


def cmd_send(case, iface, count):
    sendp(frame(case), iface=iface, count=int(count), inter=0.001,
          verbose=False)


def cmd_sniff(iface, pcap, count, timeout):
    # Only frames arriving on 'iface' (not those sent from it, as in the
    # hairpin case) that carry our payload.
    got = sniff(iface=iface, count=int(count), timeout=float(timeout),
                filter="inbound", lfilter=lambda p: PAYLOAD.load in bytes(p))
    wrpcap(pcap, got)


def without_checksums(raw):
    """'raw' with its checksum fields zeroed, for comparing the rest."""
    p = Ether(raw)
    for layer, field in CSUM_FIELDS:
        if layer in p:
            setattr(p[layer], field, 0)
    return bytes(p)


def read_frames(pcap):
    try:
        return [bytes(p) for p in rdpcap(pcap)]
    except FileNotFoundError:
        return []


def cmd_check(case, pcap, count):
    want = expected(case)
    frames = read_frames(pcap)
    if len(frames) != int(count):
        sys.exit("%s: %d frames arrived, expected %s" % (
            case, len(frames), count))
    for i, raw in enumerate(frames):
        bad = checksums_valid(raw)
        if bad:
            sys.exit("%s: frame %d: %s" % (case, i, bad))
        if UDP in Ether(want) and Ether(want)[UDP].chksum == 0 and \
                Ether(raw)[UDP].chksum != 0:
            sys.exit("%s: frame %d: a zero UDP checksum became 0x%04x" % (
                case, i, Ether(raw)[UDP].chksum))
        if without_checksums(raw) != without_checksums(want):
            sys.exit("%s: frame %d differs from the expected frame:\n"
                     "got  %s\nwant %s" % (case, i, raw.hex(), want.hex()))
    print("%s: %d frames as expected" % (case, len(frames)))


def main(argv):
    cmds = {"send": (cmd_send, 3), "sniff": (cmd_sniff, 4),
            "check": (cmd_check, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) != cmds[argv[1]][1] + 2:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
