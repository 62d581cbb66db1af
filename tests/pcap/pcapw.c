/*
 * pcapw.c — a small deterministic pcap / pcapng writer.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/pcap/pcapw.h"

#define DEF_SNAPLEN 262144

struct pw_file {
	FILE *fp;
	enum pw_format format;
	enum pw_link link;
	uint32_t snaplen;
	bool failed;
};

static uint32_t linktype_of(enum pw_link link)
{
	switch (link) {
	case PW_ETH: return 1;
	case PW_SLL: return 113;
	case PW_SLL2: return 276;
	default: return 101;   /* LINKTYPE_RAW */
	}
}

bool pw_ep_set(struct pw_ep *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->port = port;
	if (inet_pton(AF_INET, addr, ep->addr) == 1) {
		ep->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, addr, ep->addr) == 1) {
		ep->family = AF_INET6;
		return true;
	}
	return false;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The MAC of an endpoint: stable, made from its address. */
static void mac_of(const struct pw_ep *ep, uint8_t mac[6])
{
	const uint8_t *a = ep->addr + (ep->family == AF_INET ? 0 : 12);

	mac[0] = 0x02;
	mac[1] = 0x77;
	memcpy(mac + 2, a, 4);
}

size_t pw_build(enum pw_link link, const struct pw_seg *s, uint8_t *out, size_t cap)
{
	size_t l2, ip_len = s->src->family == AF_INET ? 20 : 40, tcp_len = 20;
	size_t total;
	uint16_t ethertype = s->src->family == AF_INET ? 0x0800 : 0x86DD;
	uint8_t *ip, *tcp;
	uint32_t sum;

	switch (link) {
	case PW_ETH: l2 = 14 + 4 * s->n_vlan; break;
	case PW_SLL: l2 = 16; break;
	case PW_SLL2: l2 = 20; break;
	default: l2 = 0; break;
	}
	total = l2 + ip_len + tcp_len + s->len;
	if (total > cap || ip_len + tcp_len + s->len > 0xFFFF)
		return 0;
	memset(out, 0, l2 + ip_len + tcp_len);
	if (link == PW_ETH) {
		uint8_t *p = out + 12;

		mac_of(s->dst, out);
		mac_of(s->src, out + 6);
		if (s->n_vlan == 2) {
			put16(p, 0x88A8);
			put16(p + 2, s->vlan[0]);
			p += 4;
		}
		if (s->n_vlan >= 1) {
			put16(p, 0x8100);
			put16(p + 2, s->vlan[s->n_vlan - 1]);
			p += 4;
		}
		put16(p, ethertype);
	} else if (link == PW_SLL) {
		put16(out, 0);          /* to us */
		put16(out + 2, 1);      /* ARPHRD_ETHER */
		put16(out + 4, 6);
		mac_of(s->src, out + 6);
		put16(out + 14, ethertype);
	} else if (link == PW_SLL2) {
		put16(out, ethertype);
		put32(out + 4, 2);      /* ifindex */
		put16(out + 8, 1);
		out[10] = 0;
		out[11] = 6;
		mac_of(s->src, out + 12);
	}
	ip = out + l2;
	tcp = ip + ip_len;
	if (s->src->family == AF_INET) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(ip_len + tcp_len + s->len));
		put16(ip + 6, 0x4000);  /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, s->src->addr, 4);
		memcpy(ip + 16, s->dst->addr, 4);
		put16(ip + 10, fold(sum16(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(tcp_len + s->len));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, s->src->addr, 16);
		memcpy(ip + 24, s->dst->addr, 16);
	}
	put16(tcp, s->src->port);
	put16(tcp + 2, s->dst->port);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = 5 << 4;
	tcp[13] = s->flags;
	put16(tcp + 14, 65535);
	if (s->len)
		memcpy(tcp + tcp_len, s->payload, s->len);
	/* Pseudo-header checksum, so that other tools read the file cleanly. */
	if (s->src->family == AF_INET) {
		sum = sum16(0, ip + 12, 8);
	} else {
		sum = sum16(0, ip + 8, 32);
	}
	sum += 6 + (uint32_t)(tcp_len + s->len);
	sum = sum16(sum, tcp, tcp_len + s->len);
	put16(tcp + 16, fold(sum));
	return total;
}

static void wr(struct pw_file *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f->fp) != n)
		f->failed = true;
}

/* Little-endian on every machine, so that the corpus regenerates byte for
 * byte anywhere (readers take either order from the magic). */
static void wr16(struct pw_file *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	wr(f, b, 2);
}

static void wr32(struct pw_file *f, uint32_t v)
{
	wr16(f, (uint16_t)v);
	wr16(f, (uint16_t)(v >> 16));
}

struct pw_file *pw_open(const char *path, enum pw_format format, enum pw_link link,
			uint32_t snaplen)
{
	struct pw_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fp = fopen(path, "wb");
	if (!f->fp) {
		free(f);
		return NULL;
	}
	f->format = format;
	f->link = link;
	f->snaplen = snaplen ? snaplen : DEF_SNAPLEN;
	if (format == PW_PCAP) {
		wr32(f, 0xa1b2c3d4);
		wr16(f, 2);
		wr16(f, 4);
		wr32(f, 0);
		wr32(f, 0);
		wr32(f, f->snaplen);
		wr32(f, linktype_of(link));
	} else {
		/* Section header block, then one interface description block. */
		wr32(f, 0x0A0D0D0A);
		wr32(f, 28);
		wr32(f, 0x1A2B3C4D);
		wr16(f, 1);
		wr16(f, 0);
		wr32(f, 0xFFFFFFFF);
		wr32(f, 0xFFFFFFFF);
		wr32(f, 28);
		wr32(f, 1);
		wr32(f, 20);
		wr16(f, (uint16_t)linktype_of(link));
		wr16(f, 0);
		wr32(f, f->snaplen);
		wr32(f, 20);
	}
	return f;
}

bool pw_write(struct pw_file *f, uint64_t ts_us, const uint8_t *pkt, size_t len)
{
	uint32_t cap = len > f->snaplen ? f->snaplen : (uint32_t)len;
	static const uint8_t pad[4];

	if (f->format == PW_PCAP) {
		wr32(f, (uint32_t)(ts_us / 1000000));
		wr32(f, (uint32_t)(ts_us % 1000000));
		wr32(f, cap);
		wr32(f, (uint32_t)len);
		wr(f, pkt, cap);
	} else {
		uint32_t padded = (cap + 3) & ~3u;

		wr32(f, 6);                 /* enhanced packet block */
		wr32(f, 32 + padded);
		wr32(f, 0);                 /* interface 0, microseconds by default */
		wr32(f, (uint32_t)(ts_us >> 32));
		wr32(f, (uint32_t)ts_us);
		wr32(f, cap);
		wr32(f, (uint32_t)len);
		wr(f, pkt, cap);
		wr(f, pad, padded - cap);
		wr32(f, 32 + padded);
	}
	return !f->failed;
}

bool pw_segment(struct pw_file *f, uint64_t ts_us, const struct pw_seg *seg)
{
	size_t cap = 128 + seg->len, n;
	uint8_t *buf = malloc(cap);
	bool ok;

	if (!buf)
		return false;
	n = pw_build(f->link, seg, buf, cap);
	ok = n && pw_write(f, ts_us, buf, n);
	explicit_bzero(buf, cap);
	free(buf);
	if (!ok)
		f->failed = true;
	return ok;
}

enum pw_link pw_link_of(const struct pw_file *f)
{
	return f->link;
}

bool pw_close(struct pw_file *f)
{
	bool ok;

	if (!f)
		return false;
	ok = !f->failed && fflush(f->fp) == 0 && !ferror(f->fp);
	ok = fclose(f->fp) == 0 && ok;
	free(f);
	return ok;
}
