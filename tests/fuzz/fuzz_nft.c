/*
 * fuzz_nft — libFuzzer on what the firewall module parses from outside:
 * NFLOG datagrams (packet headers are attacker-controlled) and address
 * prefixes (configuration, control socket). The first byte picks the
 * target: odd, NFLOG; even, a prefix.
 *
 * NFLOG input: records, all fed into one interval, then flushed:
 *   h, len, body[len]       (len is cut to what is left)
 *   h bit 0: IPv6 (else IPv4); bit 1: body is raw attribute bytes (else
 *   body[0] is the prefix length, then the prefix, then the packet);
 *   bits 2-7: the message is fed that many more times, each time with the
 *   packet's source moved (another /24 or /64, another host), so that small
 *   inputs fill the summariser's tables.
 * The summaries must be at most NFTLOG_TOP + 1 and add up to what went in.
 * tests/nft/nft-seeds.c writes the seed corpus (tests/fuzz/corpus/nft).
 */

/* Small tables: the full-table paths are reached with small inputs. */
#define NFTLOG_KEYS 8
#define NFTLOG_TOP 4
#define NFTLOG_SEEN_SLOTS 64
#include "filters/firewall/nftlog.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nft_log *fuzz_log;

struct sums {
	uint64_t n, packets, bytes;
};

static void sink(void *arg, const struct nft_drop *d)
{
	struct sums *s = arg;
	s->n++;
	s->packets += d->packets;
	s->bytes += d->bytes;
	if (strnlen(d->rule, sizeof d->rule) == sizeof d->rule || d->packets == 0 ||
	    (d->ports && d->dst_port > d->dst_port_max) || (!d->capped && d->sources == 0) ||
	    d->sources > d->packets || d->ports > d->packets)
		__builtin_trap();
}

/* One NFLOG message around the body: the kernel frames it (trusted), the
 * attributes and packet headers inside come from fuzz data. */
static size_t build(char *buf, size_t bufsize, uint8_t h, const uint8_t *body, size_t len)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	size_t room = bufsize - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof *nfg) - 2 * MNL_ATTR_HDRLEN - 8;

	if (len > room)
		len = room;
	memset(buf, 0, bufsize);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = (h & 1) ? NFPROTO_IPV6 : NFPROTO_IPV4;
	if (h & 2) {
		memcpy((char *)nlh + nlh->nlmsg_len, body, len);
		nlh->nlmsg_len += (uint32_t)len;
	} else if (len >= 1) {
		size_t plen = body[0] < len - 1 ? body[0] : len - 1;
		mnl_attr_put(nlh, NFULA_PREFIX, plen, body + 1);
		mnl_attr_put(nlh, NFULA_PAYLOAD, len - 1 - plen, body + 1 + plen);
	}
	return nlh->nlmsg_len;
}

/* Move the packet's source: byte 14 is in the key's prefix (IPv4 third
 * octet, IPv6 /64), the last address byte is the host. */
static void move_source(char *buf, uint8_t h, unsigned rep)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		uint8_t *p = mnl_attr_get_payload(a);
		size_t host = (h & 1) ? 23 : 15;
		if (mnl_attr_get_type(a) != NFULA_PAYLOAD || mnl_attr_get_payload_len(a) <= host)
			continue;
		p[14] = (uint8_t)(p[14] + rep);
		p[host] = (uint8_t)(p[host] + rep * 7);
	}
}

static void fuzz_nflog(const uint8_t *data, size_t size)
{
	static char buf[8192] __attribute__((aligned(4)));
	struct sums s = { 0, 0, 0 };
	uint64_t in_packets, in_bytes;

	if (!fuzz_log && !(fuzz_log = calloc(1, sizeof *fuzz_log)))
		return;
	while (size >= 2) {
		uint8_t h = data[0];
		size_t len = data[1] < size - 2 ? data[1] : size - 2;
		size_t n = build(buf, sizeof buf, h, data + 2, len);
		for (unsigned rep = 0; rep <= (unsigned)(h >> 2); rep++) {
			if (rep)
				move_source(buf, h, 1);
			(void)mnl_cb_run(buf, n, 0, 0, packet_cb, fuzz_log);
		}
		data += 2 + len;
		size -= 2 + len;
	}
	in_packets = fuzz_log->in_packets;
	in_bytes = fuzz_log->in_bytes;
	nft_log_flush(fuzz_log, sink, &s);
	if (s.n > NFTLOG_TOP + 1 || s.packets != in_packets || s.bytes != in_bytes ||
	    fuzz_log->in_packets != 0)
		__builtin_trap();
}

static void fuzz_prefix(const uint8_t *data, size_t size)
{
	char s[128], back[64];
	struct addr_prefix p, q;

	size = size >= sizeof s ? sizeof s - 1 : size;
	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_prefix_parse(s, &p)) {
		/* what we print, we read back as the same prefix */
		if (!addr_prefix_parse(addr_prefix_str(&p, back, sizeof back), &q) ||
		    memcmp(&p, &q, sizeof p) != 0)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_nflog(data + 1, size - 1);
	else
		fuzz_prefix(data + 1, size - 1);
	return 0;
}
