#!/usr/bin/python3
"""Frames for offload_chained_marks.sh.

    chained_marks.py send IFACE ROUNDS
    chained_marks.py count IFACE SECONDS READY_FILE

send: ROUNDS rounds of three UDP frames, in this order: a small frame to
port 7000 (the marked, partially offloaded flow), a 3600-byte frame to
port 7001 (a drop flow) and a 3600-byte frame to port 7002 (forwarded).
A 3600-byte frame spans two buffers in a veth's XDP (more than a page less
headroom and tailroom) but fits one AF_XDP chunk, so in copy mode the
kernel hands it over in one descriptor: the case where a reader would find
the mark of the frame that used the chunk before.  Every payload is a
pattern that 'count' checks.

count: sniffs IFACE for SECONDS (creating READY_FILE once it listens) and
prints one line
"p7000 N p7001 N p7002 N bad N": frames per destination port, and frames
to those ports whose payload is not the pattern sent (cut, shifted or
overwritten).

Runs under Debian's interpreter (/usr/bin/python3), which has scapy.
"""

import sys

from scapy.all import IP, UDP, AsyncSniffer, Ether, Raw, sendp

SRC_MAC = "02:00:00:00:00:01"
DST_MAC = "02:00:00:00:00:02"
BIG = 3600  # Bytes of frame, without FCS.
PORTS = (7000, 7001, 7002)


def pattern(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def frame(dport, size):
    base = Ether(src=SRC_MAC, dst=DST_MAC) / IP(
        src="10.7.0.1", dst="10.7.0.2") / UDP(sport=1000, dport=dport)
    return base / Raw(pattern(size - len(base), dport & 0xFF))


def send(iface, rounds):
    one_round = [frame(7000, 100), frame(7001, BIG), frame(7002, BIG)]
    # Paced: a burst of large frames would overflow the capturing socket's
    # buffer, and the count would then say nothing about the switch.
    sendp(one_round * rounds, iface=iface, inter=0.001, verbose=False)


def count(iface, seconds, ready_file):
    def ready():
        with open(ready_file, "w"):
            pass

    sniffer = AsyncSniffer(iface=iface, filter="udp", started_callback=ready)
    sniffer.start()
    sniffer.join(timeout=seconds)
    if sniffer.running:
        sniffer.stop()
    counts = {p: 0 for p in PORTS}
    bad = 0
    for p in sniffer.results:
        if UDP not in p or p[UDP].dport not in counts:
            continue
        port = p[UDP].dport
        counts[port] += 1
        payload = bytes(p[UDP].payload)
        if payload != pattern(len(payload), port & 0xFF) or \
                len(p) != (BIG if port != 7000 else 100):
            bad += 1
    print("p7000 %d p7001 %d p7002 %d bad %d" %
          (counts[7000], counts[7001], counts[7002], bad))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "count":
        count(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
