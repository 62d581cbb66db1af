/*
 * pkt.c — link, IP and TCP header decoding with strict bounds.
 */
#include <string.h>
#include <sys/socket.h>

#include <pcap/dlt.h>

#include "filters/engine/jmsg.h"
#include "filters/replay/pkt.h"

#define LINKTYPE_RAW_VALUE 101  /* LINKTYPE_RAW as stored in files */

#define ETHERTYPE_IPV4   0x0800
#define ETHERTYPE_IPV6   0x86DD
#define ETHERTYPE_8021Q  0x8100
#define ETHERTYPE_8021AD 0x88A8
#define ETHERTYPE_QINQ   0x9100

/* More tags than this is not a network we serve: refuse rather than loop. */
#define MAX_TAGS 4

static const char *const status_names[PKT_STATUS_COUNT] = {
	[PKT_OK] = "ok",
	[PKT_NOT_TCP] = "not-tcp",
	[PKT_FRAGMENT] = "ip-fragment",
	[PKT_SHORT] = "short",
	[PKT_MALFORMED] = "malformed",
	[PKT_UNSUPPORTED_LINK] = "unsupported-link",
};

const char *pkt_status_name(enum pkt_status status)
{
	if ((unsigned)status >= PKT_STATUS_COUNT)
		return "unknown";
	return status_names[status];
}

bool pkt_linktype_supported(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB: case DLT_RAW: case LINKTYPE_RAW_VALUE: case DLT_IPV4:
	case DLT_IPV6: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_NULL:
		return true;
	default:
		return false;
	}
}

static enum pkt_status fail(const char **why, enum pkt_status st, const char *msg)
{
	if (why)
		*why = msg;
	return st;
}

static bool is_vlan_type(uint16_t type)
{
	return type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD || type == ETHERTYPE_QINQ;
}

/* Strip VLAN tags starting at *off, whose ethertype is *type. */
static enum pkt_status strip_tags(const uint8_t *d, size_t caplen, size_t *off,
				  uint16_t *type, struct pkt_tcp *out, const char **why)
{
	unsigned tags = 0;

	while (is_vlan_type(*type)) {
		if (++tags > MAX_TAGS)
			return fail(why, PKT_MALFORMED, "too many VLAN tags");
		if (caplen - *off < 4)
			return fail(why, PKT_SHORT, "VLAN tag cut");
		if (out->n_vlan < PKT_MAX_VLAN)
			out->vlan[out->n_vlan++] = jmsg_be16(d + *off) & 0x0FFF;
		*type = jmsg_be16(d + *off + 2);
		*off += 4;
	}
	return PKT_OK;
}

static enum pkt_status decode_tcp(const uint8_t *d, size_t avail, size_t wire,
				  struct pkt_tcp *out, const char **why)
{
	size_t doff;

	if (wire < 20)
		return fail(why, PKT_MALFORMED, "TCP header longer than the IP payload");
	if (avail < 20)
		return fail(why, PKT_SHORT, "TCP header cut");
	doff = (size_t)(d[12] >> 4) * 4;
	if (doff < 20)
		return fail(why, PKT_MALFORMED, "TCP data offset below 5");
	if (doff > wire)
		return fail(why, PKT_MALFORMED, "TCP data offset past the IP payload");
	if (doff > avail)
		return fail(why, PKT_SHORT, "TCP options cut");
	out->sport = jmsg_be16(d);
	out->dport = jmsg_be16(d + 2);
	out->seq = jmsg_be32(d + 4);
	out->ack = jmsg_be32(d + 8);
	out->flags = d[13] & 0x1F;
	out->payload = d + doff;
	out->wire_len = (uint32_t)(wire - doff);
	out->payload_len = (uint32_t)(avail - doff < wire - doff ? avail - doff : wire - doff);
	return PKT_OK;
}

static enum pkt_status decode_ipv4(const uint8_t *d, size_t avail, struct pkt_tcp *out,
				   const char **why)
{
	size_t ihl, total;
	uint16_t frag;

	if (avail < 20)
		return fail(why, PKT_SHORT, "IPv4 header cut");
	if (d[0] >> 4 != 4)
		return fail(why, PKT_MALFORMED, "IPv4 version is not 4");
	ihl = (size_t)(d[0] & 0x0F) * 4;
	if (ihl < 20)
		return fail(why, PKT_MALFORMED, "IPv4 header length below 5");
	total = jmsg_be16(d + 2);
	if (total < ihl)
		return fail(why, PKT_MALFORMED, "IPv4 total length below its header length");
	if (avail < ihl)
		return fail(why, PKT_SHORT, "IPv4 options cut");
	frag = jmsg_be16(d + 6);
	if (frag & 0x3FFF)  /* MF set or a non-zero offset */
		return fail(why, PKT_FRAGMENT, "IPv4 fragment");
	out->family = AF_INET;
	memcpy(out->src, d + 12, 4);
	memcpy(out->dst, d + 16, 4);
	if (d[9] != 6)
		return fail(why, PKT_NOT_TCP, "IPv4 protocol is not TCP");
	/* Link padding may follow the datagram; the capture may stop short. */
	if (avail > total)
		avail = total;
	return decode_tcp(d + ihl, avail - ihl, total - ihl, out, why);
}

static enum pkt_status decode_ipv6(const uint8_t *d, size_t avail, struct pkt_tcp *out,
				   const char **why)
{
	size_t plen, off = 40;
	uint8_t next;

	if (avail < 40)
		return fail(why, PKT_SHORT, "IPv6 header cut");
	if (d[0] >> 4 != 6)
		return fail(why, PKT_MALFORMED, "IPv6 version is not 6");
	plen = jmsg_be16(d + 4);
	if (plen == 0)
		return fail(why, PKT_NOT_TCP, "IPv6 jumbogram or empty payload");
	out->family = AF_INET6;
	memcpy(out->src, d + 8, 16);
	memcpy(out->dst, d + 24, 16);
	next = d[6];
	if (avail > 40 + plen)
		avail = 40 + plen;
	for (;;) {
		size_t len;

		switch (next) {
		case 6:
			return decode_tcp(d + off, avail - off, 40 + plen - off, out, why);
		case 0: case 43: case 60:  /* hop-by-hop, routing, destination options */
			if (avail - off < 8 || 40 + plen - off < 8)
				return fail(why, PKT_SHORT, "IPv6 extension header cut");
			len = ((size_t)d[off + 1] + 1) * 8;
			break;
		case 51:  /* authentication header */
			if (avail - off < 8 || 40 + plen - off < 8)
				return fail(why, PKT_SHORT, "IPv6 AH cut");
			len = ((size_t)d[off + 1] + 2) * 4;
			break;
		case 44:
			return fail(why, PKT_FRAGMENT, "IPv6 fragment");
		default:
			return fail(why, PKT_NOT_TCP, "IPv6 next header is not TCP");
		}
		if (len > 40 + plen - off)
			return fail(why, PKT_MALFORMED, "IPv6 extension header past the payload");
		if (len > avail - off)
			return fail(why, PKT_SHORT, "IPv6 extension header cut");
		next = d[off];
		off += len;
	}
}

static enum pkt_status decode_ethertype(uint16_t type, const uint8_t *d, size_t avail,
					struct pkt_tcp *out, const char **why)
{
	switch (type) {
	case ETHERTYPE_IPV4:
		return decode_ipv4(d, avail, out, why);
	case ETHERTYPE_IPV6:
		return decode_ipv6(d, avail, out, why);
	default:
		return fail(why, PKT_NOT_TCP, "link protocol is not IP");
	}
}

static enum pkt_status decode_raw(const uint8_t *d, size_t caplen, struct pkt_tcp *out,
				  const char **why)
{
	if (caplen < 1)
		return fail(why, PKT_SHORT, "empty packet");
	switch (d[0] >> 4) {
	case 4:
		return decode_ipv4(d, caplen, out, why);
	case 6:
		return decode_ipv6(d, caplen, out, why);
	default:
		return fail(why, PKT_MALFORMED, "raw packet is neither IPv4 nor IPv6");
	}
}

enum pkt_status pkt_decode(int linktype, const uint8_t *d, size_t caplen,
			   struct pkt_tcp *out, const char **why)
{
	size_t off;
	uint16_t type;
	enum pkt_status st;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = "";
	switch (linktype) {
	case DLT_EN10MB:
		if (caplen < 14)
			return fail(why, PKT_SHORT, "Ethernet header cut");
		off = 14;
		type = jmsg_be16(d + 12);
		break;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return fail(why, PKT_SHORT, "SLL header cut");
		off = 16;
		type = jmsg_be16(d + 14);
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return fail(why, PKT_SHORT, "SLL2 header cut");
		off = 20;
		type = jmsg_be16(d);
		break;
	case DLT_NULL: {
		uint32_t af;

		if (caplen < 4)
			return fail(why, PKT_SHORT, "loopback header cut");
		/* Host byte order of the capturing machine: accept either. */
		af = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
		if (af > 0xFFFF)
			af = jmsg_be32(d);
		if (af != 2 && af != 10 && af != 24 && af != 28 && af != 30)
			return fail(why, PKT_NOT_TCP, "loopback family is not IP");
		return decode_raw(d + 4, caplen - 4, out, why);
	}
	case DLT_RAW: case LINKTYPE_RAW_VALUE:
		return decode_raw(d, caplen, out, why);
	case DLT_IPV4:
		return decode_ipv4(d, caplen, out, why);
	case DLT_IPV6:
		return decode_ipv6(d, caplen, out, why);
	default:
		return fail(why, PKT_UNSUPPORTED_LINK, "unsupported link type");
	}
	st = strip_tags(d, caplen, &off, &type, out, why);
	if (st != PKT_OK)
		return st;
	return decode_ethertype(type, d + off, caplen - off, out, why);
}
