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

/* afxdp-pktgen --mix: the kinds of frames it interleaves.  Every kind but
 * VALID is malformed or unusual on purpose; only VALID frames carry a
 * sequence header (the others have its magic cleared), so a sink counts
 * exactly the valid ones.  All are IPv4-based. */
enum pktgen_kind {
    PKTGEN_KIND_VALID,     /* IPv4/UDP with a sequence header, UDP csum 0 */
    PKTGEN_KIND_RUNT,      /* 14..59 bytes: below the Ethernet minimum */
    PKTGEN_KIND_ETHERTYPE, /* random EtherType (also < 0x600: 802.3) */
    PKTGEN_KIND_BAD_IP,    /* IPv4: bad version, IHL or total length */
    PKTGEN_KIND_TRUNC_L3,  /* IPv4, IPv6 or ARP header cut short */
    PKTGEN_KIND_TRUNC_L4,  /* full IPv4 header, TCP/UDP/ICMP/SCTP cut */
    PKTGEN_KIND_RANDOM,    /* random bytes, random MACs included */
    PKTGEN_KIND_OVERSIZE,  /* the largest frame the generator can build */
    PKTGEN_KIND_VLAN,      /* 802.1Q/802.1ad tags cut short or stacked */
    PKTGEN_KIND_N,
};

/* Most entries of the --mix pattern (one kind per frame, repeated). */
#define PKTGEN_MIX_MAX 64
/* Bytes of a valid frame the program writes whole: Ethernet, IPv4, UDP and
 * the sequence header, rounded up to 8-byte words. */
#define PKTGEN_MIX_HEAD 64

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
