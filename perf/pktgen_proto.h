/*
 * Wire format shared by afxdp-pktgen and afxdp-sink, and by their XDP
 * programs.  Included from both the BPF side (clang -target bpf) and the C++
 * tools, so it uses only <linux/types.h> types and no C++.
 *
 * With --seq every UDP payload starts with a PktgenSeqHdr.  Sequence numbers
 * count per (run, stream, flow): a run is one generator process (a random
 * id, so a restarted generator does not look like reordering), a stream is
 * the generator CPU that built the frame (frames of one CPU leave in order;
 * frames of two CPUs interleave freely), and the flow is the index that also
 * picked the frame's UDP source port and source address.  A sink can then
 * count gaps (loss) and steps back (reordering) without knowing how many
 * threads the generator ran.
 */
#ifndef AFXDP_PERF_PKTGEN_PROTO_H
#define AFXDP_PERF_PKTGEN_PROTO_H

#include <linux/types.h>

#define PKTGEN_SEQ_MAGIC 0xaf5eU

/* All fields in network byte order. */
struct pktgen_seq_hdr {
    __be16 magic;
    __be16 run;
    __be16 stream;
    __be16 flow;
    __be64 seq;
};

/* Fixed layout of the frames the generator builds: Ethernet, IPv4 without
 * options or IPv6 without extension headers, UDP. */
#define PKTGEN_ETH_LEN 14
#define PKTGEN_IP4_LEN 20
#define PKTGEN_IP6_LEN 40
#define PKTGEN_UDP_LEN 8
#define PKTGEN_PAYLOAD_OFF4 (PKTGEN_ETH_LEN + PKTGEN_IP4_LEN + PKTGEN_UDP_LEN)
#define PKTGEN_PAYLOAD_OFF6 (PKTGEN_ETH_LEN + PKTGEN_IP6_LEN + PKTGEN_UDP_LEN)

/* Value of the sink's per-CPU counter array (one slot). */
struct sink_counters {
    __u64 packets;
    __u64 bytes;
    __u64 seq_packets; /* frames that carried a pktgen_seq_hdr */
    __u64 lost;        /* sum of forward gaps in a flow's sequence */
    __u64 reordered;   /* frames older than the newest seen in their flow */
    __u64 flows;       /* (run, stream, flow) keys first seen */
};

#endif /* AFXDP_PERF_PKTGEN_PROTO_H */
