/*
 * pkt.h — decode one captured packet down to its TCP segment.
 *
 * Link layers: Ethernet (with 802.1Q / 802.1ad / QinQ tags), Linux cooked
 * capture v1 and v2, raw IP (DLT_RAW, LINKTYPE_RAW, DLT_IPV4, DLT_IPV6) and
 * BSD loopback (DLT_NULL). Network: IPv4 and IPv6 (extension headers
 * walked). Every length is checked against what was captured; nothing is
 * read past caplen. The payload is never copied: out->payload points into
 * the caller's buffer.
 */
#ifndef JGW_REPLAY_PKT_H
#define JGW_REPLAY_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pkt_status {
	PKT_OK = 0,
	PKT_NOT_TCP,          /* a well-formed packet that is not TCP over IP */
	PKT_FRAGMENT,         /* an IP fragment: not reassembled, counted */
	PKT_SHORT,            /* captured too short to hold the headers */
	PKT_MALFORMED,        /* a header breaks its own rules */
	PKT_UNSUPPORTED_LINK, /* a link type this decoder does not know */
	PKT_STATUS_COUNT
};

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

#define PKT_MAX_VLAN 2

struct pkt_tcp {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];    /* IPv4 in the first 4 bytes, rest zero */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;               /* PKT_TCP_* */
	const uint8_t *payload;      /* captured payload bytes, in the caller's buffer */
	uint32_t payload_len;        /* bytes captured (<= wire_len) */
	uint32_t wire_len;           /* payload length the IP header declares */
	uint16_t vlan[PKT_MAX_VLAN]; /* outermost first, VLAN ids */
	unsigned n_vlan;
};

/* True when pkt_decode knows the pcap link type (a DLT_ value). */
bool pkt_linktype_supported(int linktype);

/*
 * Decode caplen captured bytes of a packet of link type linktype. On PKT_OK
 * out describes the TCP segment; otherwise out is unspecified and why (when
 * not NULL) names the rule that failed, in a static string.
 */
enum pkt_status pkt_decode(int linktype, const uint8_t *data, size_t caplen,
			   struct pkt_tcp *out, const char **why);

/* Stable short name of a status, for counters: "ok", "not-tcp", ... */
const char *pkt_status_name(enum pkt_status status);

#endif
