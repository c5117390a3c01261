/*
 * ovs-flow-keys: OVS's own parse of Ethernet frames, as the XDP fast path's
 * key would hold it.  For tests/bpf/ovs_differential_test.cpp, which runs
 * the same frames through bpf/flow/parse.h and compares.
 *
 * Built by scripts/build-ovs.sh against the libopenvswitch.a it builds,
 * so the parser on the other side is exactly the one ovs-vswitchd runs:
 * flow_extract() (lib/flow.c: miniflow_extract() expanded), with
 * flow_limit_vlans(1) as ovs-vswitchd sets it for the default vlan-limit.
 *
 * Input, on stdin: one frame per line, in hex.  Output, on stdout, one line
 * per frame: struct afxdp_flow_key (bpf/flow/flow_layout.h, mask_id 0) in
 * hex, filled from struct flow field by field, then a space and the comma
 * separated names of the fields OVS extracted that the key cannot hold
 * ("-" for none).  MPLS labels and NSH are not named: the fast path keeps
 * no such fields on purpose, and user space never offloads a flow that
 * matches them (bpf/flow/parse.h).
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/flow/flow_layout.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"

static int
hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses the hex line 'line' into 'buf'; returns its length, or -1. */
static int
parse_hex(const char *line, uint8_t *buf, size_t size)
{
    size_t n = 0;

    while (isxdigit((unsigned char) line[0])) {
        if (!isxdigit((unsigned char) line[1]) || n >= size) {
            return -1;
        }
        buf[n++] = hex_value(line[0]) << 4 | hex_value(line[1]);
        line += 2;
    }
    return n;
}

static int
is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Fills 'key' from 'flow' and clears in 'flow' every field it took, and
 * the metadata no frame sets. */
static void
take_key(struct flow *flow, struct afxdp_flow_key *key)
{
    bool ip4 = flow->dl_type == htons(ETH_TYPE_IP);
    bool ip6 = flow->dl_type == htons(ETH_TYPE_IPV6);
    bool arp = flow->dl_type == htons(ETH_TYPE_ARP)
               || flow->dl_type == htons(ETH_TYPE_RARP);

    memset(key, 0, sizeof *key);
    memcpy(key->dl_dst, &flow->dl_dst, 6);
    memcpy(key->dl_src, &flow->dl_src, 6);
    key->dl_type = flow->dl_type;
    key->vlan_tci = flow->vlans[0].tci;
    key->vlan_tpid = flow->vlans[0].tpid;
    key->nw_frag = flow->nw_frag;
    key->nw_tos = flow->nw_tos;
    key->nw_ttl = flow->nw_ttl;
    key->nw_proto = flow->nw_proto;
    key->tp_src = flow->tp_src;
    key->tp_dst = flow->tp_dst;
    key->tcp_flags = flow->tcp_flags;
    key->ipv6_label = flow->ipv6_label;
    if (ip4 || arp) {
        memcpy(&key->addr[AFXDP_ADDR_IPV4_SRC], &flow->nw_src, 4);
        memcpy(&key->addr[AFXDP_ADDR_IPV4_DST], &flow->nw_dst, 4);
        flow->nw_src = flow->nw_dst = 0;
    }
    if (ip6) {
        memcpy(&key->addr[AFXDP_ADDR_IPV6_SRC], &flow->ipv6_src, 16);
        memcpy(&key->addr[AFXDP_ADDR_IPV6_DST], &flow->ipv6_dst, 16);
        memset(&flow->ipv6_src, 0, sizeof flow->ipv6_src);
        memset(&flow->ipv6_dst, 0, sizeof flow->ipv6_dst);
    }
    if (arp) {
        memcpy(&key->addr[AFXDP_ADDR_ARP_SHA], &flow->arp_sha, 6);
        memcpy(&key->addr[AFXDP_ADDR_ARP_THA], &flow->arp_tha, 6);
        memset(&flow->arp_sha, 0, sizeof flow->arp_sha);
        memset(&flow->arp_tha, 0, sizeof flow->arp_tha);
    }

    memset(&flow->dl_dst, 0, sizeof flow->dl_dst);
    memset(&flow->dl_src, 0, sizeof flow->dl_src);
    flow->dl_type = 0;
    memset(&flow->vlans[0], 0, sizeof flow->vlans[0]);
    flow->nw_frag = flow->nw_tos = flow->nw_ttl = flow->nw_proto = 0;
    flow->tp_src = flow->tp_dst = 0;
    flow->tcp_flags = 0;
    flow->ipv6_label = 0;
    /* Not in the key by design (see above), and metadata. */
    memset(flow->mpls_lse, 0, sizeof flow->mpls_lse);
    memset(&flow->nsh, 0, sizeof flow->nsh);
    flow->packet_type = 0;
    memset(&flow->in_port, 0, sizeof flow->in_port);
}

/* Prints the names of what 'flow' still holds after take_key(). */
static void
print_rest(const struct flow *flow)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } fields[] = {
#define FIELD(f) { #f, offsetof(struct flow, f), sizeof ((struct flow *) 0)->f }
        FIELD(vlans[1]), FIELD(nw_src), FIELD(nw_dst), FIELD(ipv6_src),
        FIELD(ipv6_dst), FIELD(nd_target), FIELD(arp_sha), FIELD(arp_tha),
        FIELD(igmp_group_ip4),
#undef FIELD
    };
    const char *sep = "";
    int named = 0;

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!is_zero((const uint8_t *) flow + fields[i].offset,
                     fields[i].size)) {
            printf("%s%s", sep, fields[i].name);
            sep = ",";
            named = 1;
        }
    }
    if (!named) {
        printf(is_zero(flow, sizeof *flow) ? "-" : "other");
    } else {
        struct flow copy = *flow;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            memset((uint8_t *) &copy + fields[i].offset, 0, fields[i].size);
        }
        if (!is_zero(&copy, sizeof copy)) {
            printf(",other");
        }
    }
}

int
main(void)
{
    static char line[65536 * 2 + 16];
    static uint8_t frame[65536];

    /* ovs-vswitchd's default: other_config:vlan-limit=1. */
    flow_limit_vlans(1);

    while (fgets(line, sizeof line, stdin)) {
        int len = parse_hex(line, frame, sizeof frame);
        if (len < 0) {
            fprintf(stderr, "ovs-flow-keys: bad input line\n");
            return 1;
        }

        struct dp_packet *packet = dp_packet_clone_data(frame, len);
        struct flow flow;
        struct afxdp_flow_key key;

        flow_extract(packet, &flow);
        dp_packet_delete(packet);
        take_key(&flow, &key);

        const uint8_t *k = (const uint8_t *) &key;
        for (size_t i = 0; i < sizeof key; i++) {
            printf("%02x", k[i]);
        }
        putchar(' ');
        print_rest(&flow);
        putchar('\n');
    }
    return ferror(stdin) || fflush(stdout) ? 1 : 0;
}
