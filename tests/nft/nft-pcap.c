/*
 * nft-pcap — crafts the TCP SYN traffic of the firewall replay test into a
 * pcap file (libpcap's pcap_dump), for tcpreplay into a test namespace.
 *
 *   nft-pcap OUT.pcap DST_MAC SRC_MAC SPEC...
 *   SPEC = SRC[+N],DST,PORT_LO[-PORT_HI][,REPEAT]
 *
 * SRC+N: N sources counting up from SRC (spoofed senders); every source
 * sends REPEAT SYNs (distinct source ports) to every port. IPv4 or IPv6,
 * valid checksums (so conntrack sees them as new, not invalid).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct spec {
	int family;
	uint8_t src[16], dst[16];
	unsigned n_src, port_lo, port_hi, repeat;
};

static uint16_t sport = 40000;

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int parse_spec(const char *arg, struct spec *sp)
{
	char buf[256], *src, *dst, *ports, *rep, *plus, *dash;

	snprintf(buf, sizeof buf, "%s", arg);
	src = strtok(buf, ",");
	dst = strtok(NULL, ",");
	ports = strtok(NULL, ",");
	rep = strtok(NULL, ",");
	if (!src || !dst || !ports)
		return -1;
	memset(sp, 0, sizeof *sp);
	sp->n_src = 1;
	sp->repeat = rep ? (unsigned)atoi(rep) : 1;
	if ((plus = strchr(src, '+'))) {
		*plus = '\0';
		sp->n_src = (unsigned)atoi(plus + 1);
	}
	if (inet_pton(AF_INET, src, sp->src) == 1 && inet_pton(AF_INET, dst, sp->dst) == 1)
		sp->family = AF_INET;
	else if (inet_pton(AF_INET6, src, sp->src) == 1 && inet_pton(AF_INET6, dst, sp->dst) == 1)
		sp->family = AF_INET6;
	else
		return -1;
	sp->port_lo = (unsigned)atoi(ports);
	sp->port_hi = (dash = strchr(ports, '-')) ? (unsigned)atoi(dash + 1) : sp->port_lo;
	if (sp->n_src < 1 || sp->repeat < 1 || sp->port_lo < 1 || sp->port_hi > 65535 ||
	    sp->port_hi < sp->port_lo)
		return -1;
	return 0;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void add_one(uint8_t *a, unsigned n, int alen)
{
	while (n--)
		for (int i = alen - 1; i >= 0 && ++a[i] == 0; i--)
			;
}

/* One SYN frame; returns its length. */
static size_t syn(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6],
		  const struct spec *sp, const uint8_t *src, uint16_t dport)
{
	int v4 = sp->family == AF_INET;
	size_t iplen = v4 ? 20 : 40, off = 14 + iplen;
	uint8_t *ip = f + 14, *tcp = f + off;
	uint32_t sum;

	memset(f, 0, 14 + iplen + 20);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = v4 ? 0x08 : 0x86;
	f[13] = v4 ? 0x00 : 0xdd;
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	sport = (uint16_t)(sport == 60999 ? 40000 : sport + 1);
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[7] = 1;                      /* seq */
	tcp[12] = 5 << 4;                /* header length */
	tcp[13] = 0x02;                  /* SYN */
	tcp[14] = 0xff;                  /* window */
	tcp[15] = 0xff;
	if (v4) {
		ip[0] = 0x45;
		ip[3] = 40;
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, sp->dst, 4);
		uint16_t c = fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		sum = sum16(ip + 12, 8, 0) + IPPROTO_TCP + 20;
	} else {
		ip[0] = 0x60;
		ip[5] = 20;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, sp->dst, 16);
		sum = sum16(ip + 8, 32, 0) + IPPROTO_TCP + 20;
	}
	uint16_t c = fold(sum16(tcp, 20, sum));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	return off + 20;
}

int main(int argc, char **argv)
{
	uint8_t dmac[6], smac[6], frame[128];
	pcap_t *p;
	pcap_dumper_t *d;
	unsigned long total = 0;

	if (argc < 5 || parse_mac(argv[2], dmac) < 0 || parse_mac(argv[3], smac) < 0) {
		fprintf(stderr, "usage: nft-pcap OUT.pcap DST_MAC SRC_MAC "
			"SRC[+N],DST,PORT[-PORT][,REPEAT]...\n");
		return 2;
	}
	p = pcap_open_dead(DLT_EN10MB, 65535);
	d = p ? pcap_dump_open(p, argv[1]) : NULL;
	if (!d) {
		fprintf(stderr, "nft-pcap: %s: %s\n", argv[1], p ? pcap_geterr(p) : "pcap");
		return 1;
	}
	for (int a = 4; a < argc; a++) {
		struct spec sp;
		if (parse_spec(argv[a], &sp) < 0) {
			fprintf(stderr, "nft-pcap: bad spec `%s'\n", argv[a]);
			return 2;
		}
		for (unsigned s = 0; s < sp.n_src; s++) {
			uint8_t src[16];
			memcpy(src, sp.src, 16);
			add_one(src, s, sp.family == AF_INET ? 4 : 16);
			for (unsigned port = sp.port_lo; port <= sp.port_hi; port++)
				for (unsigned r = 0; r < sp.repeat; r++) {
					struct pcap_pkthdr h = { .caplen = 0 };
					gettimeofday(&h.ts, NULL);
					h.caplen = h.len = (bpf_u_int32)syn(frame, dmac, smac, &sp,
									    src, (uint16_t)port);
					pcap_dump((u_char *)d, &h, frame);
					total++;
				}
		}
	}
	pcap_dump_close(d);
	pcap_close(p);
	printf("%lu\n", total);
	return 0;
}
