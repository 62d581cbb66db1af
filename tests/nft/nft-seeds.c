/*
 * nft-seeds — writes the seed corpus of fuzz_nft (tests/nft/fuzz_nft.c
 * describes the input format) into a directory: nfnetlink_log messages of
 * IPv4 and IPv6 TCP, UDP, SCTP, ICMP, fragments, options and extension
 * headers, truncated and malformed headers, raw attribute sequences,
 * multi-record intervals that fill the summariser's tables, and address
 * prefixes. `make seeds-nft` runs it on tests/fuzz/corpus/nft.
 *
 *   nft-seeds DIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink_log.h>

#define MAX_SEED 4096

struct seed {
	uint8_t b[MAX_SEED];
	size_t n;
};

static const char *dir;

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof s->b) {
		fprintf(stderr, "nft-seeds: seed too long\n");
		exit(1);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void save(const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		fprintf(stderr, "nft-seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* Packets: IPv4 and IPv6 headers, a transport header after them. */
static size_t ipv4(uint8_t *p, uint8_t proto, const char *src, size_t opt_words,
		   uint16_t frag, uint16_t total)
{
	size_t hl = 20 + opt_words * 4;
	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | (hl / 4));
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, "10.77.0.16", p + 16);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1;                    /* NOP options */
	return hl;
}

static size_t ipv6(uint8_t *p, uint8_t next, const char *src, uint16_t payload)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(payload >> 8);
	p[5] = (uint8_t)payload;
	p[6] = next;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, "fd00:77::16", p + 24);
	return 40;
}

static size_t ports(uint8_t *p, uint16_t sport, uint16_t dport, size_t len)
{
	memset(p, 0, len);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	if (len >= 14)
		p[13] = 0x02;                /* TCP SYN */
	return len;
}

/* One record: h, len, then (not raw) prefix length, prefix, packet. */
static void record(struct seed *s, int v6, unsigned repeat, const char *prefix,
		   const uint8_t *pkt, size_t len)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	if (1 + plen + len > 255 || repeat > 63) {
		fprintf(stderr, "nft-seeds: record too long\n");
		exit(1);
	}
	put8(s, (uint8_t)((repeat << 2) | (v6 ? 1 : 0)));
	put8(s, (uint8_t)(1 + plen + len));
	put8(s, (uint8_t)plen);
	put(s, prefix ? prefix : "", plen);
	put(s, pkt, len);
}

static void raw_attr(struct seed *s, uint16_t type, const void *p, uint16_t len)
{
	uint16_t hdr[2] = { (uint16_t)(4 + len), type };
	static const uint8_t pad[4];
	put(s, hdr, sizeof hdr);
	put(s, p, len);
	put(s, pad, (4 - len % 4) % 4);
}

/* One NFLOG seed of a single packet. */
static void one(const char *name, int v6, const char *prefix, const uint8_t *pkt, size_t len)
{
	struct seed s = { .n = 0 };
	put8(&s, 1);
	record(&s, v6, 0, prefix, pkt, len);
	save(name, &s);
}

static void packets(void)
{
	uint8_t p[128];
	size_t n;

	n = ipv4(p, IPPROTO_TCP, "203.0.113.66", 0, 0, 40);
	one("v4-tcp-syn", 0, "input", p, n + ports(p + n, 40000, 7443, 20));
	n = ipv4(p, IPPROTO_UDP, "10.16.0.10", 0, 0, 28);
	one("v4-udp-dns", 0, "output", p, n + ports(p + n, 5353, 53, 8));
	n = ipv4(p, IPPROTO_ICMP, "198.51.100.7", 0, 0, 28);
	p[n] = 8;                            /* echo request */
	one("v4-icmp-echo", 0, "input", p, n + 8);
	n = ipv4(p, IPPROTO_SCTP, "198.51.100.8", 0, 0, 32);
	one("v4-sctp", 0, "input", p, n + ports(p + n, 9899, 9899, 12));
	n = ipv4(p, IPPROTO_TCP, "198.51.100.9", 4, 0, 56);
	one("v4-options", 0, "invalid", p, n + ports(p + n, 1, 22, 20));
	n = ipv4(p, IPPROTO_TCP, "198.51.100.10", 0, 0x2000, 1500);   /* MF */
	one("v4-frag-first", 0, "input", p, n + ports(p + n, 1, 80, 20));
	n = ipv4(p, IPPROTO_TCP, "198.51.100.10", 0, 185, 520);       /* offset */
	one("v4-frag-later", 0, "input", p, n + 20);
	n = ipv4(p, IPPROTO_TCP, "198.51.100.11", 0, 0, 40);
	one("v4-truncated-ip", 0, "input", p, 19);
	one("v4-truncated-tcp", 0, "input", p, n + 3);
	p[0] = 0x4f;                         /* IHL 60 bytes, copy of 40 */
	one("v4-ihl-past-copy", 0, "input", p, 40);
	p[0] = 0x44;                         /* IHL below 20 */
	one("v4-ihl-short", 0, "input", p, 40);
	n = ipv4(p, IPPROTO_TCP, "198.51.100.12", 0, 0, 40);
	one("v4-as-v6", 1, "input", p, n + ports(p + n, 1, 443, 20));
	one("v4-no-prefix", 0, NULL, p, n + 20);
	one("v4-long-prefix", 0, "a-prefix-longer-than-the-rule-field", p, n + 20);

	n = ipv6(p, IPPROTO_TCP, "2001:db8::1", 20);
	one("v6-tcp-syn", 1, "wan-rate", p, n + ports(p + n, 40000, 7443, 20));
	n = ipv6(p, IPPROTO_UDP, "2001:db8::2", 8);
	one("v6-udp", 1, "output", p, n + ports(p + n, 123, 123, 8));
	n = ipv6(p, IPPROTO_ICMPV6, "fe80::1", 8);
	p[n] = 135;                          /* neighbour solicitation */
	one("v6-icmpv6-ns", 1, "input", p, n + 8);
	n = ipv6(p, 0, "2001:db8::3", 28);   /* hop-by-hop first */
	p[n] = IPPROTO_TCP;
	one("v6-ext-hop", 1, "input", p, n + 8 + ports(p + n + 8, 1, 7000, 20));
	n = ipv6(p, 44, "2001:db8::4", 16);  /* fragment header */
	p[n] = IPPROTO_UDP;
	one("v6-frag", 1, "input", p, n + 16);
	one("v6-truncated", 1, "input", p, 39);
	n = ipv6(p, IPPROTO_TCP, "2001:db8::5", 20);
	one("v6-as-v4", 0, "input", p, n + 20);
}

/* Raw attribute sequences: the framing of NFLOG attributes itself. */
static void raw(void)
{
	uint8_t p[64];
	size_t n = ipv4(p, IPPROTO_TCP, "192.0.2.1", 0, 0, 40);
	uint8_t hdr[4] = { 0x08, 0x00, 3, 0 };   /* hw protocol, hook */
	struct seed s = { .n = 0 };
	uint8_t body[256];
	size_t bn;

	ports(p + n, 1, 8080, 20);
	struct seed a = { .n = 0 };
	raw_attr(&a, NFULA_PACKET_HDR, hdr, sizeof hdr);
	raw_attr(&a, NFULA_PREFIX, "input", 6);
	raw_attr(&a, NFULA_PAYLOAD, p, (uint16_t)(n + 20));
	raw_attr(&a, 60, "x", 1);            /* a type beyond NFULA_MAX */
	bn = a.n;
	memcpy(body, a.b, bn);
	put8(&s, 1);
	put8(&s, 2);
	put8(&s, (uint8_t)bn);
	put(&s, body, bn);
	save("raw-attrs", &s);

	/* an attribute longer than the message */
	s.n = 0;
	put8(&s, 1);
	put8(&s, 2);
	put8(&s, 8);
	put(&s, (uint16_t[]){ 200, NFULA_PAYLOAD }, 4);
	put(&s, p, 4);
	save("raw-attr-overrun", &s);

	/* a prefix without its terminating zero */
	s.n = 0;
	a.n = 0;
	raw_attr(&a, NFULA_PREFIX, "wan-conn", 8);
	raw_attr(&a, NFULA_PAYLOAD, p, (uint16_t)(n + 20));
	put8(&s, 1);
	put8(&s, 2);
	put8(&s, (uint8_t)a.n);
	put(&s, a.b, a.n);
	save("raw-prefix-unterminated", &s);
}

/* Several records in one interval: more keys than the fuzzer's small
 * table, repeated sources, a scan, both families. */
static void intervals(void)
{
	uint8_t p[128];
	struct seed s = { .n = 0 };
	size_t n;

	put8(&s, 1);
	for (uint16_t port = 20; port < 30; port++) {
		n = ipv4(p, IPPROTO_TCP, "203.0.113.66", 0, 0, 40);
		record(&s, 0, 0, "input", p, n + ports(p + n, 40000, port, 20));
	}
	n = ipv4(p, IPPROTO_TCP, "198.51.100.1", 0, 0, 40);
	record(&s, 0, 40, "input", p, n + ports(p + n, 40000, 7443, 20));
	n = ipv6(p, IPPROTO_TCP, "2001:db8::1", 20);
	record(&s, 1, 20, "wan-rate", p, n + ports(p + n, 40000, 7443, 20));
	n = ipv4(p, IPPROTO_UDP, "10.16.0.10", 0, 0, 28);
	record(&s, 0, 63, "output", p, n + ports(p + n, 5353, 53, 8));
	save("interval-mixed", &s);

	s.n = 0;
	put8(&s, 1);
	n = ipv4(p, IPPROTO_TCP, "10.77.0.66", 0, 0, 40);
	for (unsigned i = 0; i < 40; i++) {
		uint16_t port = (uint16_t)(1 + i * 1637);
		record(&s, 0, 0, "input", p, n + ports(p + n, 40000, port, 20));
	}
	save("interval-scan", &s);
}

static void prefixes(void)
{
	static const char *const list[] = {
		"192.0.2.1", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0", "::1",
		"::ffff:192.0.2.1", "fd00:77::13", "10.0.0.1/24", "10.0.0.0/33", "1.2.3.4/",
		"/24", "fe80::1%lo", "1.2.3.4.5", "10.0.0.0/0024", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	};
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
		struct seed s = { .n = 0 };
		char name[32];
		put8(&s, 0);
		put(&s, list[i], strlen(list[i]));
		snprintf(name, sizeof name, "prefix-%02zu", i + 1);
		save(name, &s);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nft-seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	packets();
	raw();
	intervals();
	prefixes();
	return 0;
}
